import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { SHARED, hasShared, describeShared } from '../helpers/cli.js';
import { parseRbacFilter, evaluateRbacFilter, closestMiss } from '../../src/rbac/index.js';
import { composeDecision } from '../../src/envoy/decide.js';
import { toSnakeCase } from '../../src/envoy/normalize.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const BUILDER = `${SHARED}fixtures/istio/pilot/pkg/security/authz/builder/testdata/`;
const load = (rel: string) => parse(readFileSync(BUILDER + rel, 'utf8')) as { name: string; typedConfig: Record<string, unknown> };
const filter = (rel: string) => parseRbacFilter(load(rel), { kind: 'http' });

describeShared('Istio builder goldens (needs ../shared)', () => {
  it('every golden RBAC output parses (camelCase, http and tcp)', () => {
    let n = 0;
    for (const dir of ['http', 'tcp']) {
      for (const f of readdirSync(BUILDER + dir).filter((x) => /-out\d?\.yaml$/.test(x))) {
        const doc = load(`${dir}/${f}`);
        if (!String(doc.typedConfig['@type']).includes('.rbac.')) continue;
        const rf = parseRbacFilter(doc, { kind: 'http' });
        expect(rf.kind).toBe(dir === 'tcp' ? 'network' : 'http');
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  it('single-policy: a request meeting every condition of rule[1] is allowed; one condition off is denied', () => {
    const f = filter('http/single-policy-out.yaml');
    const req: RequestAttrs = {
      source: { address: '172.22.2.5', port: 4000 },
      directRemote: { address: '10.1.0.1' },
      destination: { address: '10.0.0.9', port: 9101 },
      // principal AND namespace both read the URI SANs: Envoy checks every SAN, so two SANs satisfy both.
      tls: { uriSans: ['spiffe://rule[1]-from[0]-principal[1]', 'spiffe://td/ns/rule[1]-from[0]-ns[1]/sa/x'], dnsSans: [], subject: '', peerCertificateValidated: true },
      http: { method: 'rule[1]-to[0]-method[1]', path: 'rule[1]-to[0]-path[1]?q=1', authority: 'RULE[1]-TO[0]-HOST[1]', headers: {} },
      metadata: { 'envoy.filters.http.jwt_authn': { payload: { iss: 'rule[1]-from[0]-requestPrincipal[1]', sub: '' } } },
    };
    const ok = evaluateRbacFilter(f, req);
    expect([ok.result, ok.effectivePolicy]).toEqual(['ALLOW', 'ns[foo]-policy[httpbin]-rule[1]']);
    const off = evaluateRbacFilter(f, { ...req, destination: { address: '10.0.0.9', port: 9999 } });
    expect(off.result).toBe('DENY');
    const cm = closestMiss(off);
    expect(cm[0]).toMatchObject({ policy: 'ns[foo]-policy[httpbin]-rule[1]', failedConditions: 1 });
    expect(cm[0]!.failing[0]).toMatchObject({ node: 'destination_port', attribute: 'destination.port', actual: 9999 });
    const plaintext = evaluateRbacFilter(f, { ...req, tls: undefined });
    expect(plaintext.result).toBe('DENY');
  });

  it('allow-nil-rule (allow nothing) denies; allow-empty-rule allows; deny-empty-rule denies all', () => {
    const any: RequestAttrs = { http: { method: 'GET', path: '/', headers: {} } };
    expect(evaluateRbacFilter(filter('http/allow-nil-rule-out.yaml'), any).result).toBe('DENY');
    expect(evaluateRbacFilter(filter('http/allow-empty-rule-out.yaml'), any).result).toBe('ALLOW');
    const d = evaluateRbacFilter(filter('http/deny-empty-rule-out.yaml'), any);
    expect(d.result).toBe('DENY');
    expect(d.effectivePolicy).toMatch(/^ns\[foo\]-policy\[.*\]-rule\[0\]$/);
  });

  it('deny-and-allow: the DENY filter denies spiffe://deny, not others', () => {
    const f = filter('http/deny-and-allow-out1.yaml');
    const mk = (san: string): RequestAttrs => ({ tls: { uriSans: [san], dnsSans: [], subject: '', peerCertificateValidated: true }, http: { method: 'GET', path: '/', headers: {} } });
    expect(evaluateRbacFilter(f, mk('spiffe://deny')).result).toBe('DENY');
    expect(evaluateRbacFilter(f, mk('spiffe://other')).result).toBe('ALLOW');
  });

  it('audit (LOG) never denies and sets the access-log hint', () => {
    const d = evaluateRbacFilter(filter('http/audit-full-rule-out.yaml'), { http: { method: 'GET', path: '/', headers: {} } });
    expect(d.result).toBe('ALLOW');
    expect(d.action).toBe('LOG');
  });

  it('dry-run-mix: enforced rules decide, shadow rules only write metadata', () => {
    const f = filter('http/dry-run-mix-out.yaml');
    const d = evaluateRbacFilter(f, { http: { method: 'GET', path: '/allow', headers: {} } });
    expect(d.result).toBe('DENY');
    expect(d.dynamicMetadata?.['envoy.filters.http.rbac']).toMatchObject({ istio_dry_run_allow_shadow_effective_policy_id: 'ns[foo]-policy[httpbin-1]-rule[0]', istio_dry_run_allow_shadow_engine_result: 'allowed' });
  });

  it('CUSTOM: shadow RBAC + ext_authz — the request would be sent to the provider, or not', () => {
    const rbac = filter('http/custom-grpc-provider-out1.yaml');
    const ext = toSnakeCase(load('http/custom-grpc-provider-out2.yaml').typedConfig) as Record<string, unknown>;
    const steps = [{ type: 'rbac' as const, filter: rbac }, { type: 'ext_authz' as const, kind: 'http' as const, name: 'envoy.filters.http.ext_authz', config: ext }];
    const sent = composeDecision(steps, { http: { method: 'GET', path: '/httpbin1', headers: {} } });
    expect(sent.decision).toBe('UNDECIDABLE');
    expect(sent.filters[1]!.custom).toEqual({ provider: 'default', wouldBeSent: true });
    expect(sent.reasons?.join(' ')).toContain('would be sent to ext_authz provider default');
    const notSent = composeDecision(steps, { http: { method: 'GET', path: '/other', headers: {} } });
    expect(notSent.decision).toBe('ALLOW');
    expect(notSent.filters[1]!.custom?.wouldBeSent).toBe(false);
  });

  it('tcp/allow-only-http: rules {} denies every TCP connection', () => {
    const f = filter('tcp/allow-only-http-out.yaml');
    expect(f.kind).toBe('network');
    const d = composeDecision([{ type: 'rbac', filter: f }], { destination: { address: '10.0.0.1', port: 80 } });
    expect(d).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: null, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' });
  });

  it('tcp/allow-both-http-tcp: only the namespace + port rule survives for TCP', () => {
    const f = filter('tcp/allow-both-http-tcp-out.yaml');
    const mk = (san: string | null, port: number): RequestAttrs => ({ destination: { address: '10.0.0.1', port }, ...(san ? { tls: { uriSans: [san], dnsSans: [], subject: '', peerCertificateValidated: true } } : {}) });
    expect(evaluateRbacFilter(f, mk('spiffe://cluster.local/ns/ns-1/sa/a', 80)).result).toBe('ALLOW');
    expect(evaluateRbacFilter(f, mk('spiffe://cluster.local/ns/ns-1/sa/a', 81)).result).toBe('DENY');
    expect(evaluateRbacFilter(f, mk(null, 80)).result).toBe('DENY');
  });

  it('tcp/deny-both-http-tcp parses and its HTTP-only rules became deny-alls', () => {
    const f = filter('tcp/deny-both-http-tcp-out.yaml');
    const d = evaluateRbacFilter(f, { destination: { address: '10.0.0.1', port: 1 } });
    expect(d.result).toBe('DENY');
  });
});

describeShared('authz config dump RBAC filters (needs ../shared)', () => {
  const dump = JSON.parse(readFileSync(`${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`, 'utf8')) as { configs: Record<string, unknown>[] };
  const listeners = dump.configs.flatMap((c) => ((c.dynamic_listeners as { name: string; active_state: { listener: Record<string, unknown> } }[]) ?? []));
  const vi = listeners.find((l) => l.name === 'virtualInbound')!.active_state.listener as { filter_chains: { name: string; filters: { name: string; typed_config: Record<string, unknown> }[] }[] };
  const httpChain = vi.filter_chains.find((c) => c.name === '0.0.0.0_80')!;
  const hcm = httpChain.filters.find((f) => f.name === 'envoy.filters.network.http_connection_manager')!.typed_config as { http_filters: { name: string; typed_config: Record<string, unknown> }[] };
  const allow = parseRbacFilter(hcm.http_filters.find((f) => f.name === 'envoy.filters.http.rbac')!, { kind: 'http' });
  const sleep = 'spiffe://cluster.local/ns/default/sa/sleep';
  const base = (over: Partial<RequestAttrs> = {}): RequestAttrs => ({
    filterState: { 'io.istio.peer_principal': sleep },
    metadata: { istio_authn: { 'request.auth.claims': { iss: ['https://accounts.google.com'] } } },
    http: { method: 'GET', path: '/info', headers: {} },
    ...over,
  });
  it.each([
    ['GET /info from sleep with a Google JWT', base(), 'ALLOW'],
    ['POST /data', base({ http: { method: 'POST', path: '/data', headers: {} } }), 'ALLOW'],
    ['GET /info?x=1 (query stripped)', base({ http: { method: 'GET', path: '/info?x=1', headers: {} } }), 'ALLOW'],
    ['POST /data/x (exact path)', base({ http: { method: 'POST', path: '/data/x', headers: {} } }), 'DENY'],
    ['GET /data', base({ http: { method: 'GET', path: '/data', headers: {} } }), 'DENY'],
    ['namespace test principal', base({ filterState: { 'io.istio.peer_principal': 'spiffe://cluster.local/ns/test/sa/x' } }), 'ALLOW'],
    ['no peer principal (plaintext)', base({ filterState: {} }), 'DENY'],
    ['wrong issuer', base({ metadata: { istio_authn: { 'request.auth.claims': { iss: ['https://evil'] } } } }), 'DENY'],
    ['issuer as a string, not a list', base({ metadata: { istio_authn: { 'request.auth.claims': { iss: 'https://accounts.google.com' } } } }), 'DENY'],
  ])('%s → %s', (_n, req, expected) => {
    expect(evaluateRbacFilter(allow, req).result).toBe(expected);
  });
  it('the network RBAC filters (rules: {}) deny every TCP connection', () => {
    const tcp = vi.filter_chains.filter((c) => c.filters.some((f) => f.name === 'envoy.filters.network.rbac'));
    expect(tcp.length).toBe(3);
    for (const c of tcp) {
      const f = parseRbacFilter(c.filters.find((x) => x.name === 'envoy.filters.network.rbac')!, { kind: 'network' });
      expect(evaluateRbacFilter(f, { destination: { address: '10.244.0.5', port: 9000 } }).result).toBe('DENY');
    }
  });
});
