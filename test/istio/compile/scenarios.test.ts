/**
 * The seed scenarios' policies (Bookinfo viewers, tcp-echo, deny-all + details-viewer) compiled for
 * their workloads: the structure istiod would produce, and what the RBAC engine then decides.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileForWorkload, type EnvoyFilter, type WorkloadSpec, type CompileOptions } from '../../../src/istio/compile/index.js';
import { parseRbacFilter, evaluateRbacFilter } from '../../../src/rbac/index.js';
import type { RequestAttrs } from '../../../src/model/attrs.js';

const DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));
const load = (...files: string[]) => files.flatMap((f) => parseK8sObjects(readFileSync(DIR + f, 'utf8'), f).objects);

const bookinfo = (app: string): WorkloadSpec => ({ namespace: 'default', name: `${app}-v1`, labels: { app, version: 'v1' }, ports: [{ port: 9080, protocol: 'http' }] });
const tcpEcho: WorkloadSpec = { namespace: 'foo', name: 'tcp-echo', labels: { app: 'tcp-echo' }, ports: [9000, 9001, 9002].map((port) => ({ port, protocol: 'tcp' })) };

function compile(files: string[], w: WorkloadSpec, opts: CompileOptions = {}) {
  return compileForWorkload(load(...files), w, opts);
}

/** Runs the filters in order as Envoy does: any enforced DENY stops the request. */
function decide(filters: EnvoyFilter[], kind: 'http' | 'network', req: RequestAttrs): { decision: 'ALLOW' | 'DENY' | 'UNDECIDABLE'; policy: string | null } {
  for (const f of filters) {
    if (!/rbac/.test(f.name)) continue;
    const d = evaluateRbacFilter(parseRbacFilter(f.typed_config, { kind, name: f.name }), req);
    if (d.enforcing === false || d.shadow) continue;
    if (d.result === 'UNDECIDABLE') return { decision: 'UNDECIDABLE', policy: null };
    if (d.result === 'DENY') return { decision: 'DENY', policy: d.effectivePolicy };
  }
  return { decision: 'ALLOW', policy: null };
}

const spiffe = (sa: string, ns = 'default') => ({ uriSans: [`spiffe://cluster.local/ns/${ns}/sa/${sa}`], dnsSans: [], subject: '', peerCertificateValidated: true });
const http = (method: string, path: string, tlsSa?: string, port = 9080): RequestAttrs => ({
  source: { address: '10.0.0.5', port: 40000 },
  directRemote: { address: '10.0.0.5', port: 40000 },
  remote: { address: '10.0.0.5', port: 40000 },
  destination: { address: '10.0.0.9', port },
  ...(tlsSa ? { tls: spiffe(tlsSa) } : {}),
  http: { method, path, authority: 'details:9080', headers: {} },
});
const tcp = (port: number): RequestAttrs => ({ source: { address: '10.0.0.5', port: 40000 }, directRemote: { address: '10.0.0.5', port: 40000 }, remote: { address: '10.0.0.5', port: 40000 }, destination: { address: '10.0.0.9', port }, tls: spiffe('sleep', 'foo') });

describe('Bookinfo viewers', () => {
  it('productpage: allow-nothing + GET for anyone, merged into one ALLOW filter', () => {
    const c = compile(['bookinfo.yaml'], bookinfo('productpage'));
    expect(c.httpFilters).toHaveLength(1);
    const rules = c.httpFilters[0]!.typed_config.rules as { action?: string; policies: Record<string, unknown> };
    expect(rules.action).toBeUndefined();
    expect(Object.keys(rules.policies).sort()).toEqual(['ns[default]-policy[allow-nothing]-rule[0]', 'ns[default]-policy[productpage-viewer]-rule[0]']);
    expect(decide(c.httpFilters, 'http', http('GET', '/productpage'))).toEqual({ decision: 'ALLOW', policy: null });
    expect(decide(c.httpFilters, 'http', http('POST', '/productpage')).decision).toBe('DENY');
  });

  it('details: only bookinfo-productpage may GET; plaintext and other identities are denied', () => {
    const c = compile(['bookinfo.yaml'], bookinfo('details'));
    const p = (c.httpFilters[0]!.typed_config.rules as { policies: Record<string, unknown> }).policies['ns[default]-policy[details-viewer]-rule[0]'];
    expect(p).toEqual({
      permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }] } }] } }],
      principals: [{ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }] } }] } }],
    });
    expect(decide(c.httpFilters, 'http', http('GET', '/details/0', 'bookinfo-productpage')).decision).toBe('ALLOW');
    expect(decide(c.httpFilters, 'http', http('GET', '/details/0', 'sleep')).decision).toBe('DENY');
    expect(decide(c.httpFilters, 'http', http('GET', '/details/0')).decision).toBe('DENY');
    expect(decide(c.httpFilters, 'http', http('DELETE', '/details/0', 'bookinfo-productpage')).decision).toBe('DENY');
  });

  it('reviews and ratings trust different callers', () => {
    const reviews = compile(['bookinfo.yaml'], bookinfo('reviews'));
    const ratings = compile(['bookinfo.yaml'], bookinfo('ratings'));
    expect(decide(reviews.httpFilters, 'http', http('GET', '/reviews/0', 'bookinfo-productpage')).decision).toBe('ALLOW');
    expect(decide(reviews.httpFilters, 'http', http('GET', '/reviews/0', 'bookinfo-reviews')).decision).toBe('DENY');
    expect(decide(ratings.httpFilters, 'http', http('GET', '/ratings/0', 'bookinfo-reviews')).decision).toBe('ALLOW');
    expect(decide(ratings.httpFilters, 'http', http('GET', '/ratings/0', 'bookinfo-productpage')).decision).toBe('DENY');
    expect(ratings.policies.map((p) => p.name).sort()).toEqual(['allow-nothing', 'ratings-viewer']);
  });

  it('the viewers use only HTTP fields, so the TCP filter keeps only allow-nothing (TCP denied)', () => {
    const c = compile(['bookinfo.yaml'], bookinfo('details'));
    expect(Object.keys((c.tcpFilters[0]!.typed_config.rules as { policies: object }).policies)).toEqual(['ns[default]-policy[allow-nothing]-rule[0]']);
    expect(c.diagnostics.some((d) => /skipped rule ns\[default\]-policy\[details-viewer\]-rule\[0\] on TCP filter chain/.test(d.message))).toBe(true);
  });

  it('istio 1.19 renders the same policy with filter_state principals and string_match headers', () => {
    const c = compile(['bookinfo.yaml'], bookinfo('details'), { istioVersion: '1.19' });
    const p = (c.httpFilters[0]!.typed_config.rules as { policies: Record<string, { principals: unknown[] }> }).policies['ns[default]-policy[details-viewer]-rule[0]']!;
    expect(JSON.stringify(p.principals)).toContain('"filter_state":{"key":"io.istio.peer_principal","string_match":{"exact":"spiffe://cluster.local/ns/default/sa/bookinfo-productpage"}}');
    expect(JSON.stringify(p)).toContain('"exact_match":"GET"');
    expect(decide(c.httpFilters, 'http', { ...http('GET', '/details/0'), filterState: { 'io.istio.peer_principal': 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } }).decision).toBe('ALLOW');
  });
});

describe('tcp-echo', () => {
  it('ALLOW ports 9000/9001: 9002 is denied', () => {
    const c = compile(['tcp-echo.yaml'], tcpEcho);
    expect(c.tcpFilters).toHaveLength(1);
    expect(decide(c.tcpFilters, 'network', tcp(9000)).decision).toBe('ALLOW');
    expect(decide(c.tcpFilters, 'network', tcp(9001)).decision).toBe('ALLOW');
    expect(decide(c.tcpFilters, 'network', tcp(9002))).toEqual({ decision: 'DENY', policy: null });
  });

  it('ALLOW methods GET on port 9000 → the rule is dropped on TCP: rules {} denies every connection', () => {
    const c = compile(['tcp-echo-methods.yaml'], tcpEcho);
    expect(c.tcpFilters[0]!.typed_config).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', rules: {}, shadow_rules_stat_prefix: 'istio_dry_run_allow_', stat_prefix: 'tcp.' });
    for (const port of [9000, 9001, 9002]) expect(decide(c.tcpFilters, 'network', tcp(port)).decision).toBe('DENY');
  });

  it('DENY methods only → the field is dropped and the rule denies all TCP (and istiod warns)', () => {
    const c = compile(['tcp-echo-deny-methods.yaml'], tcpEcho);
    const rules = c.tcpFilters[0]!.typed_config.rules as { action: string; policies: Record<string, unknown> };
    expect(rules.action).toBe('DENY');
    expect(rules.policies['ns[foo]-policy[tcp-policy]-rule[0]']).toEqual({ permissions: [{ and_rules: { rules: [{ any: true }] } }], principals: [{ and_ids: { ids: [{ any: true }] } }] });
    expect(decide(c.tcpFilters, 'network', tcp(9001))).toEqual({ decision: 'DENY', policy: 'ns[foo]-policy[tcp-policy]-rule[0]' });
    expect(c.diagnostics.some((d) => d.severity === 'warning' && /deny all traffic to TCP ports/.test(d.message))).toBe(true);
  });

  it('DENY methods + port 9000 → only the port survives on TCP: 9000 denied, 9001 allowed', () => {
    const c = compile(['tcp-echo-deny-methods-port.yaml'], tcpEcho);
    expect(decide(c.tcpFilters, 'network', tcp(9000))).toEqual({ decision: 'DENY', policy: 'ns[foo]-policy[tcp-policy]-rule[0]' });
    expect(decide(c.tcpFilters, 'network', tcp(9001)).decision).toBe('ALLOW');
  });

  it('PeerAuthentication: mesh STRICT, namespace PERMISSIVE, workload UNSET with port-level DISABLE/STRICT', () => {
    const c = compile(['tcp-echo.yaml', 'peerauthn.yaml'], tcpEcho);
    expect(c.mtls.workload).toBe('PERMISSIVE');
    expect(c.mtls.ports).toEqual([
      { port: 9000, protocol: 'tcp', mode: 'PERMISSIVE' },
      { port: 9001, protocol: 'tcp', mode: 'DISABLE' },
      { port: 9002, protocol: 'tcp', mode: 'STRICT' },
    ]);
    expect(c.mtls.appliedPeerAuthentications).toEqual(['istio-system/default', 'foo/default', 'foo/tcp-echo']);
    // A portLevelMtls port the workload does not declare still gets (pass-through) chains of its own.
    const undeclared = compile(['peerauthn.yaml'], { ...tcpEcho, ports: [{ port: 9000, protocol: 'tcp' }] });
    expect(undeclared.mtls.ports).toEqual([
      { port: 9000, protocol: 'tcp', mode: 'PERMISSIVE' },
      { port: 9001, protocol: 'auto', mode: 'DISABLE', passthrough: true },
      { port: 9002, protocol: 'auto', mode: 'STRICT', passthrough: true },
    ]);
    // Another workload in foo gets the namespace mode; one in another namespace the mesh mode.
    expect(compile(['peerauthn.yaml'], { ...tcpEcho, labels: { app: 'other' } }).mtls.ports.map((p) => p.mode)).toEqual(['PERMISSIVE', 'PERMISSIVE', 'PERMISSIVE']);
    expect(compile(['peerauthn.yaml'], { ...tcpEcho, namespace: 'bar' }).mtls.workload).toBe('STRICT');
  });
});

describe('deny-all + details-viewer with paths /details/*', () => {
  it('only GET /details/* from productpage passes', () => {
    const c = compile(['deny-all-details.yaml'], bookinfo('details'));
    const p = (c.httpFilters[0]!.typed_config.rules as { policies: Record<string, { permissions: unknown[] }> }).policies['ns[default]-policy[details-viewer]-rule[0]']!;
    expect(JSON.stringify(p.permissions)).toContain('{"url_path":{"path":{"prefix":"/details/"}}}');
    expect(decide(c.httpFilters, 'http', http('GET', '/details/0', 'bookinfo-productpage')).decision).toBe('ALLOW');
    expect(decide(c.httpFilters, 'http', http('GET', '/health', 'bookinfo-productpage')).decision).toBe('DENY');
    expect(decide(c.httpFilters, 'http', http('GET', '/details', 'bookinfo-productpage')).decision).toBe('DENY');
    // deny-all is namespace-wide: productpage gets it too.
    expect(decide(compile(['deny-all-details.yaml'], bookinfo('productpage')).httpFilters, 'http', http('GET', '/productpage', 'sleep')).decision).toBe('DENY');
  });
});
