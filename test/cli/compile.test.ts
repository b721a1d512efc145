import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCli } from '../helpers/cli.js';

const S = 'test/istio/compile/scenarios/';

describe('meshsleuth compile', () => {
  it('prints the RBAC filters in camelCase (as istioctl and Istio goldens spell them) and the mTLS per port', async () => {
    const r = await runCli(['compile', `${S}bookinfo.yaml`, '--workload', 'default/details-v1', '--inventory', `${S}bookinfo-workloads.yaml`]);
    expect(r.code).toBe(0);
    const doc = parseYaml(r.stdout) as { workload: { labels: object; serviceAccount: string; ports: object[] }; httpFilters: { name: string; typedConfig: { rules: { policies: Record<string, { principals: unknown[] }> } } }[]; mtls: { ports: object[] } };
    expect(doc.workload.labels).toEqual({ app: 'details', version: 'v1' });
    expect(doc.workload.serviceAccount).toBe('bookinfo-details');
    expect(doc.mtls.ports).toEqual([{ port: 9080, protocol: 'http', mode: 'PERMISSIVE' }]);
    expect(doc.httpFilters[0]!.name).toBe('envoy.filters.http.rbac');
    const p = doc.httpFilters[0]!.typedConfig.rules.policies['ns[default]-policy[details-viewer]-rule[0]']!;
    expect(p.principals).toEqual([{ andIds: { ids: [{ orIds: { ids: [{ authenticated: { principalName: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }] } }] } }]);
    expect(r.stderr).toContain('skipped rule ns[default]-policy[details-viewer]-rule[0] on TCP filter chain: ":method" is HTTP only');
  });

  it('-o table summarises chains per port and filters', async () => {
    const r = await runCli(['compile', `${S}tcp-echo-methods.yaml`, `${S}peerauthn.yaml`, '--workload', 'foo/tcp-echo', '--labels', 'app=tcp-echo', '--ports', '9000/tcp,9001/tcp,9002/tcp', '-o', 'table']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/9001\s+tcp\s+DISABLE\s+plaintext TCP/);
    expect(r.stdout).toMatch(/9002\s+tcp\s+STRICT\s+tls\+mTLS TCP/);
    expect(r.stdout).toMatch(/tcp\s+envoy\.filters\.network\.rbac\s+ALLOW 0 \(denies all\)/);
  });

  it('--config-dump prints a synthetic /config_dump that check can decide requests against', async () => {
    const dump = await runCli(['compile', `${S}deny-all-details.yaml`, '--workload', 'default/details-v1', '--inventory', `${S}bookinfo-workloads.yaml`, '--ip', '10.244.0.21', '--config-dump', '-o', 'json']);
    expect(dump.code).toBe(0);
    const d = JSON.parse(dump.stdout) as { configs: { '@type': string; dynamic_active_clusters?: { cluster: { name: string; transport_socket_matches?: unknown[] } }[] }[] };
    // the inventory's Services give the sidecar its outbound clusters (auto mTLS: no DestinationRule)
    expect(d.configs.map((c) => c['@type'])).toEqual(['type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump']);
    const clusters = d.configs[2]!.dynamic_active_clusters!.map((c) => c.cluster);
    expect(clusters.some((c) => c.name === 'outbound|9080||details.default.svc.cluster.local' && c.transport_socket_matches?.length === 2)).toBe(true);
    const file = join(mkdtempSync(join(tmpdir(), 'ms-compile-')), 'proposed.json');
    writeFileSync(file, dump.stdout);
    const deny = await runCli(['check', file, '--from', 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage', '--dest-ip', '10.244.0.21', '--port', '9080', '--method', 'GET', '--path', '/health', '-o', 'json']);
    expect(JSON.parse(deny.stdout)).toMatchObject({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    const allow = await runCli(['check', file, '--from', 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage', '--dest-ip', '10.244.0.21', '--port', '9080', '--method', 'GET', '--path', '/details/0', '-o', 'json']);
    expect(JSON.parse(allow.stdout)).toMatchObject({ decision: 'ALLOW', policy: 'ns[default]-policy[details-viewer]-rule[0]' });
  });

  it('a policy istiod would reject: the complaint with file, line and path on stderr; --fail-on invalid exits 1', async () => {
    const r = await runCli(['compile', '-', '--workload', 'foo/httpbin', '--labels', 'app=httpbin', '--fail-on', 'invalid'], {
      input: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: both, namespace: foo}\nspec:\n  selector: {matchLabels: {app: httpbin}}\n  targetRef: {kind: Service, name: httpbin}\n  rules: [{}]\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: <stdin>, line 5, at doc[0].spec: invalid policy both.foo: only one of targetRefs or workloadSelector can be set (istiod rejects it; skipped)');
  });

  it('bad usage exits 2 with one line', async () => {
    const r = await runCli(['compile', `${S}bookinfo.yaml`, '--workload', 'default/details-v1', '--ports', '9080/http,abc']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("--ports: expected <port>[/<protocol>] (e.g. 9080/http), found 'abc'");
    const v = await runCli(['compile', `${S}bookinfo.yaml`, '--workload', 'default/details-v1', '--istio-version', '9.9']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('--istio-version: unsupported Istio version');
    const missing = await runCli(['compile', 'nope.yaml', '--workload', 'default/details-v1']);
    expect(missing.code).toBe(2);
  });

  it('a YAML syntax error names the file and line (exit 2)', async () => {
    const r = await runCli(['compile', '-', '--workload', 'foo/x'], { input: 'apiVersion: v1\nkind: [oops\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/<stdin>, line \d+, at doc\[0\]: expected valid YAML/);
  });

  it('--mesh-config (the istio ConfigMap) supplies extension providers and trust domain aliases', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-mesh-'));
    writeFileSync(join(dir, 'istio.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    trustDomain: td1\n    trustDomainAliases: ["cluster.local"]\n    extensionProviders:\n    - name: opa\n      envoyExtAuthzGrpc: {service: opa/opa-ext.opa.svc.cluster.local, port: 9191, timeout: 0.5s}\n');
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ext, namespace: foo}\nspec:\n  action: CUSTOM\n  provider: {name: opa}\n  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: foo}\nspec:\n  rules: [{from: [{source: {principals: ["cluster.local/ns/foo/sa/sleep"]}}]}]\n');
    const r = await runCli(['compile', join(dir, 'p.yaml'), '--workload', 'foo/httpbin', '--labels', 'app=httpbin', '--mesh-config', join(dir, 'istio.yaml'), '-o', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { httpFilters: { name: string; typedConfig: Record<string, unknown> }[] };
    expect(d.httpFilters.map((f) => f.name)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.ext_authz', 'envoy.filters.http.rbac']);
    expect(d.httpFilters[1]!.typedConfig.grpcService).toEqual({ envoyGrpc: { clusterName: 'outbound|9191||opa-ext.opa.svc.cluster.local', authority: 'opa-ext.opa.svc.cluster.local' }, timeout: '0.500s' });
    expect(JSON.stringify(d.httpFilters[2]!.typedConfig)).toContain('"exact":"spiffe://td1/ns/foo/sa/sleep"}}},{"authenticated":{"principalName":{"exact":"spiffe://cluster.local/ns/foo/sa/sleep"}');
  });
});
