import { describe, expect, it } from 'vitest';
import { computeFindings, failOnHits, FINDING_IDS, type PolicyDoc } from '../../src/analysis/findings.js';
import { correlate } from '../../src/analysis/correlate.js';
import type { AccessRecord, Explanation, Finding, Flow } from '../../src/model/records.js';
import type { Inventory } from '../../src/readers/inventory.js';
import type { ProxyView } from '../../src/analysis/proxies.js';
import { decision, exchange, explanation, flow, inventory, pod, proxyOf, record, site, T0, tls } from './report-fixtures.js';

function run(p: { flows?: Flow[]; records?: AccessRecord[]; explanations?: Explanation[]; proxies?: ProxyView[]; inventory?: Inventory | null; policies?: PolicyDoc[]; showSecrets?: boolean }): Finding[] {
  const flows = p.flows ?? [];
  const records = p.records ?? [];
  const explanations = p.explanations ?? [];
  const proxies = p.proxies ?? [];
  const c = correlate(flows, records, explanations, proxies, p.inventory ?? null, { skewMs: 2000 });
  return computeFindings({ flows, records, explanations, proxies, policies: p.policies ?? [], correlation: c, showSecrets: p.showSecrets ?? false });
}

// Every pod started well before the events of these tests (T0 - 1 h): they own their IPs throughout.
const STARTED = { createdMs: T0 - 3_600_000 };
const INV = inventory([
  pod('sleep-7f9c-abcde', 'legacy', '10.0.0.5', 'sleep', 'sleep', { sidecar: false, ...STARTED }),
  pod('details-v1-5f4d-xyz12', 'default', '10.0.0.7', 'bookinfo-details', 'details', STARTED),
  pod('productpage-v1-1234-aaaaa', 'default', '10.0.0.8', 'bookinfo-productpage', 'productpage', STARTED),
  pod('debug-shell-99', 'default', '10.0.0.9', 'default', 'debug-shell', STARTED),
]);

const ids = (fs: Finding[]): string[] => fs.map((f) => f.id);

describe('plaintext-flow', () => {
  it('names the source workload and namespace of cleartext between workloads, with file#frame evidence', () => {
    const fs = run({ flows: [flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', frames: [11, 12, 13, 20] })], inventory: INV });
    const f = fs.find((x) => x.id === 'plaintext-flow')!;
    expect(f).toBeDefined();
    expect(f.severity).toBe('high');
    expect(f.summary).toContain('legacy/sleep');
    expect(f.summary).toContain('default/details');
    expect(f.details?.sourceNamespace).toBe('legacy');
    expect(f.details?.sourceWorkload).toBe('sleep');
    expect(f.evidence[0]).toMatchObject({ file: 'cap.pcap', frame: 11, frames: [11, 20] });
    expect(f.fix).toMatch(/STRICT/);
    expect(f.fix).toMatch(/inject a sidecar into legacy\/sleep/);
  });

  it('groups connections between the same pair and port, counting them', () => {
    const fs = run({ flows: [flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080' }), flow({ client: '10.0.0.5:40002', server: '10.0.0.7:9080', startMs: T0 + 1000 })], inventory: INV });
    const f = fs.filter((x) => x.id === 'plaintext-flow');
    expect(f).toHaveLength(1);
    expect(f[0]!.details?.occurrences).toBe(2);
    expect(f[0]!.evidence).toHaveLength(2);
  });

  it('ignores the sidecar-local leg and loopback traffic', () => {
    const fs = run({ flows: [flow({ client: '127.0.0.6:40000', server: '10.0.0.7:9080', sidecarLocal: true }), flow({ client: '127.0.0.1:5000', server: '127.0.0.1:15000' })], inventory: INV });
    expect(ids(fs)).not.toContain('plaintext-flow');
  });

  it('does not fire for mTLS flows', () => {
    const fs = run({ flows: [flow({ client: '10.0.0.8:40000', server: '10.0.0.7:9080', security: 'mtls', tls: tls(), protocol: 'tls', evidence: ['istio-alpn'] })], inventory: INV });
    expect(fs).toEqual([]);
  });
});

describe('plaintext-accepted', () => {
  const proxy = proxyOf({ source: 'details-dump.json', ip: '10.0.0.7', pod: 'details-v1-5f4d-xyz12', namespace: 'default', mtls: [{ port: null, mode: 'PERMISSIVE', listener: 'virtualInbound' }] });

  it('flags plaintext answered on a PERMISSIVE port and says what STRICT would do', () => {
    const fs = run({ flows: [flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', http: [exchange()] })], proxies: [proxy], inventory: INV });
    const f = fs.find((x) => x.id === 'plaintext-accepted')!;
    expect(f).toBeDefined();
    expect(f.details?.mode).toBe('PERMISSIVE');
    expect(f.summary).toMatch(/under STRICT it would have been refused/);
    expect(String(f.details?.underStrict)).toContain('filter_chain_not_found');
  });

  it('flags a plaintext inbound request logged by the server sidecar', () => {
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', node: proxy.nodeId! });
    const fs = run({ records: [r], proxies: [proxy], inventory: INV });
    const f = fs.find((x) => x.id === 'plaintext-accepted')!;
    expect(f.evidence[0]).toEqual({ file: 'access.log', line: r.ref.line });
    expect(ids(fs)).toContain('plaintext-flow');
  });

  it('does not fire when the record shows mTLS, or when TLS is unknown', () => {
    const mtls = record({ from: '10.0.0.8:40000', to: '10.0.0.7:9080', attrs: { tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'], dnsSans: [], subject: '', peerCertificateValidated: true } } });
    const unknown = record({ from: '10.0.0.5:40001', to: '10.0.0.7:9080', unknown: ['tls', 'sni'] });
    expect(ids(run({ records: [mtls, unknown], proxies: [proxy], inventory: INV }))).not.toContain('plaintext-accepted');
  });
});

describe('cleartext-secret', () => {
  const f = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', http: [exchange({ path: '/api', headers: { authorization: ['Bearer eyJhbGciOi.secret-part'], cookie: ['session=s3cr3t'], 'x-request-id': ['r1'] } })] });

  it('reports Authorization and Cookie seen in cleartext, with values redacted', () => {
    const fs = run({ flows: [f], inventory: INV });
    const secrets = fs.filter((x) => x.id === 'cleartext-secret');
    expect(secrets.map((s) => s.details?.header).sort()).toEqual(['authorization', 'cookie']);
    expect(secrets.every((s) => s.severity === 'critical')).toBe(true);
    const text = JSON.stringify(fs);
    expect(text).not.toContain('secret-part');
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain('Bearer [redacted]');
    expect(secrets[0]!.evidence[0]).toMatchObject({ file: 'cap.pcap', frame: 4 });
  });

  it('shows the values with --show-secrets', () => {
    const text = JSON.stringify(run({ flows: [f], inventory: INV, showSecrets: true }));
    expect(text).toContain('eyJhbGciOi.secret-part');
  });

  it('ignores secrets on the sidecar-local leg', () => {
    const local = { ...f, client: { ip: '127.0.0.6', port: 40000 }, sidecarLocal: true };
    expect(ids(run({ flows: [local], inventory: INV }))).not.toContain('cleartext-secret');
  });
});

describe('rbac-denied', () => {
  it('says who was denied, by which policy and how often', () => {
    const recs = [1, 2, 3].map((i) =>
      record({ from: `10.0.0.8:4000${i}`, to: '10.0.0.7:9080', timeMs: T0 + i * 1000, responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[0]]', attrs: { http: { method: 'GET', path: '/admin', headers: {} }, tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'], dnsSans: [], subject: '', peerCertificateValidated: true } } }),
    );
    const fs = run({ records: recs, inventory: INV });
    const f = fs.filter((x) => x.id === 'rbac-denied');
    expect(f).toHaveLength(1);
    expect(f[0]!.details?.occurrences).toBe(3);
    expect(f[0]!.details?.policy).toBe('ns[default]-policy[deny-admin]-rule[0]');
    expect(f[0]!.summary).toContain('spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
    expect(f[0]!.summary).toContain('AuthorizationPolicy default/deny-admin rule 0');
    expect(f[0]!.details?.examples).toEqual(['GET /admin']);
    expect(f[0]!.evidence.map((e) => e.line)).toEqual(recs.map((r) => r.ref.line));
  });

  it('names the condition from the replayed decision', () => {
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    const d = decision({ decision: 'DENY', policy: null, filters: [{ name: 'envoy.filters.http.rbac', kind: 'http', action: 'ALLOW', shadow: false, result: 'DENY', effectivePolicy: null, policies: [] }], closestMiss: [{ policy: 'ns[default]-policy[details]-rule[0]', failedConditions: 1, failing: [], summary: 'principal: none (plaintext) — needs spiffe://cluster.local/ns/default/sa/bookinfo-productpage' }] });
    const fs = run({ records: [r], explanations: [explanation(r, { decision: d })], inventory: INV });
    const f = fs.find((x) => x.id === 'rbac-denied')!;
    expect(String(f.details?.condition)).toContain('closest ALLOW policy ns[default]-policy[details]-rule[0]');
    expect(f.fix).toMatch(/No ALLOW policy matched/);
  });

  it('reads network RBAC denies from CONNECTION_TERMINATION_DETAILS', () => {
    const r = record({ kind: 'tcp', from: '10.0.0.5:40000', to: '10.0.0.7:3306', responseCode: 0, responseCodeDetails: undefined, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' });
    const f = run({ records: [r], inventory: INV }).find((x) => x.id === 'rbac-denied')!;
    expect(f.details?.layer).toBe('network');
  });
});

describe('verdict-mismatch', () => {
  it('reports records whose reconstructed decision differs from the logged one', () => {
    const r = record({ from: '10.0.0.8:40000', to: '10.0.0.7:9080', responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    const e = explanation(r, { verdict: 'disagrees', decision: decision({ decision: 'ALLOW' }), reason: 'Envoy denied but the config allows: config drift' });
    const f = run({ records: [r], explanations: [e], inventory: INV }).find((x) => x.id === 'verdict-mismatch')!;
    expect(f.severity).toBe('high');
    expect(f.details?.reconstructed).toBe('ALLOW');
    expect(String(f.details?.logged)).toContain('DENY');
    expect(f.summary).toMatch(/config drift/);
  });

  it('stays quiet when the replay agrees', () => {
    const r = record({ from: '10.0.0.8:40000', to: '10.0.0.7:9080' });
    expect(ids(run({ records: [r], explanations: [explanation(r)], inventory: INV }))).not.toContain('verdict-mismatch');
  });
});

describe('identity-address-mismatch (stolen keys)', () => {
  const stolen = 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage';

  it('flags a SPIFFE identity presented from the IP of a pod with another service account (capture)', () => {
    const f = flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', protocol: 'tls', evidence: ['client-certificate'], tls: tls({ uriSans: [stolen] }) });
    const fs = run({ flows: [f], inventory: INV });
    const hit = fs.find((x) => x.id === 'identity-address-mismatch')!;
    expect(hit).toBeDefined();
    expect(hit.severity).toBe('critical');
    expect(hit.details?.presentedIdentity).toBe(stolen);
    expect(hit.details?.addressOwner).toMatchObject({ namespace: 'default', pod: 'debug-shell-99', serviceAccount: 'default' });
    expect(hit.summary).toContain('10.0.0.9');
    expect(fs[0]!.id).toBe('identity-address-mismatch');
  });

  it('flags a server certificate whose identity is not the one of the pod at the server address', () => {
    const f = flow({ client: '10.0.0.8:51000', server: '10.0.0.9:9080', security: 'mtls', tls: tls({ uriSans: [stolen], serverUriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-details'] }) });
    const hit = run({ flows: [f], inventory: INV }).filter((x) => x.id === 'identity-address-mismatch');
    expect(hit).toHaveLength(1);
    expect(hit[0]!.details).toMatchObject({ presentedIdentity: 'spiffe://cluster.local/ns/default/sa/bookinfo-details', source: 'capture (server certificate)' });
  });

  it('flags it from the server sidecar log too (peer URI SAN + downstream remote address)', () => {
    const r = record({ from: '10.0.0.9:51000', to: '10.0.0.7:9080', attrs: { tls: { uriSans: [stolen], dnsSans: [], subject: '', peerCertificateValidated: true } } });
    expect(ids(run({ records: [r], inventory: INV }))).toContain('identity-address-mismatch');
  });

  it('does not fire when the identity matches the address owner, or the address is unknown', () => {
    const own = flow({ client: '10.0.0.8:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: [stolen] }) });
    const unknownIp = flow({ client: '10.9.9.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: [stolen] }) });
    expect(ids(run({ flows: [own, unknownIp], inventory: INV }))).not.toContain('identity-address-mismatch');
  });

  it('IP ownership has a time: outside the pod\'s lifetime the finding is not CRITICAL and says ownership is unverified', () => {
    const f = flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: [stolen] }) });
    const at = f.startMs!;
    const later = inventory([pod('debug-shell-99', 'default', '10.0.0.9', 'default', 'debug-shell', { createdMs: at + 60_000 })]);
    const before = run({ flows: [f], inventory: later }).find((x) => x.id === 'identity-address-mismatch')!;
    expect(before.severity).toBe('high');
    expect(before.summary).toContain('who owned that address then is unverified');
    expect(before.summary).toContain('started only at');
    expect(before.details?.ownership).toMatchObject({ verified: false, basis: 'metadata.creationTimestamp → no deletionTimestamp: running when the inventory was taken' });
    const gone = inventory([pod('debug-shell-99', 'default', '10.0.0.9', 'default', 'debug-shell', { createdMs: at - 3_600_000, deletedMs: at - 60_000 })]);
    const after = run({ flows: [f], inventory: gone }).find((x) => x.id === 'identity-address-mismatch')!;
    expect(after.severity).toBe('high');
    expect(after.details?.ownership).toMatchObject({ verified: false });
    expect(String((after.details?.ownership as Record<string, unknown>).unverifiedBecause)).toContain('was gone by');
    const timeless = inventory([pod('debug-shell-99', 'default', '10.0.0.9', 'default', 'debug-shell')]);
    expect(run({ flows: [f], inventory: timeless }).find((x) => x.id === 'identity-address-mismatch')!.severity).toBe('high');
    // inside the lifetime (status.startTime wins over creation): CRITICAL
    const inside = inventory([pod('debug-shell-99', 'default', '10.0.0.9', 'default', 'debug-shell', { createdMs: at - 120_000, startedMs: at - 60_000 })]);
    const hit = run({ flows: [f], inventory: inside }).find((x) => x.id === 'identity-address-mismatch')!;
    expect(hit.severity).toBe('critical');
    expect(hit.details?.ownership).toMatchObject({ verified: true, basis: 'status.startTime → no deletionTimestamp: running when the inventory was taken' });
  });

  it('a reused IP is judged against the pod that held it at the time', () => {
    const f = flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: [stolen] }) });
    const at = f.startMs!;
    // productpage held 10.0.0.9 until a minute after the connection; the debug shell got it later
    const reused = inventory([
      pod('productpage-v1-old', 'default', '10.0.0.9', 'bookinfo-productpage', 'productpage', { createdMs: at - 3_600_000, deletedMs: at + 60_000, phase: 'Running' }),
      pod('debug-shell-99', 'default', '10.0.0.9', 'default', 'debug-shell', { createdMs: at + 120_000 }),
    ]);
    expect(ids(run({ flows: [f], inventory: reused }))).not.toContain('identity-address-mismatch');
    const g = flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: [stolen] }), startMs: at + 600_000 });
    const hit = run({ flows: [g], inventory: reused }).find((x) => x.id === 'identity-address-mismatch')!;
    expect(hit.severity).toBe('critical');
    expect(hit.details?.addressOwner).toMatchObject({ pod: 'debug-shell-99' });
  });

  it('uses the service account from the config dump node metadata when there is no inventory', () => {
    const p = proxyOf({ source: 'debug.json', ip: '10.0.0.9', pod: 'debug-shell-99', namespace: 'default', sa: 'default' });
    const f = flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: [stolen] }) });
    const hit = run({ flows: [f], proxies: [p] }).find((x) => x.id === 'identity-address-mismatch')!;
    expect(hit.details?.addressOwner).toMatchObject({ resolvedFrom: 'config-dump', serviceAccount: 'default' });
    // a config dump says who had the address, not since when: ownership at the time is unverified
    expect(hit.severity).toBe('high');
    expect(hit.details?.ownership).toMatchObject({ verified: false });
  });
});

describe('allow-nothing-in-effect and http-only-fields-on-tcp', () => {
  const httpSite = site({ kind: 'http', chain: 'virtualInbound-catchall-http', rules: { action: 'ALLOW', policies: { 'ns[default]-policy[httpbin]-rule[0]': { permissions: [{ header: { name: ':method' } }], principals: [{ any: true }] } } }, jsonPath: '$.http' });
  const tcpSite = site({ kind: 'network', chain: 'virtualInbound', rules: { action: 'ALLOW', policies: {} }, jsonPath: '$.tcp' });
  const proxy = proxyOf({ source: 'httpbin.json', ip: '10.0.0.7', pod: 'httpbin-1', namespace: 'default', rbac: [httpSite, tcpSite] });

  it('reports an enforced TCP ALLOW filter with no policies as info when no TCP traffic reached the proxy', () => {
    const fs = run({ proxies: [proxy] });
    const an = fs.find((x) => x.id === 'allow-nothing-in-effect')!;
    expect(an.severity).toBe('info');
    expect(fs.find((x) => x.id === 'http-only-fields-on-tcp')!.severity).toBe('info');
    expect(an.evidence[0]).toEqual({ file: 'httpbin.json', path: '$.tcp' });
    const ho = fs.find((x) => x.id === 'http-only-fields-on-tcp')!;
    expect(ho.details?.policy).toBe('ns[default]-policy[httpbin]');
    expect(ho.summary).toMatch(/absent from the TCP chains/);
  });

  it('raises both to medium when plain TCP connections reached the proxy', () => {
    const f = flow({ client: '10.0.0.8:40000', server: '10.0.0.7:3306', protocol: 'tcp', evidence: [] });
    const fs = run({ proxies: [proxy], flows: [f] });
    expect(fs.find((x) => x.id === 'allow-nothing-in-effect')!.severity).toBe('medium');
    expect(fs.find((x) => x.id === 'http-only-fields-on-tcp')!.severity).toBe('medium');
  });

  it('merges the dumps of one proxy taken at different times into one finding', () => {
    const older = { ...proxyOf({ source: 'stage1/httpbin.json', ip: '10.0.0.7', pod: 'httpbin-1', namespace: 'default', rbac: [httpSite, tcpSite] }), asOfMs: T0 - 60_000 };
    const fs = run({ proxies: [{ ...proxy, asOfMs: T0 }, older] }).filter((x) => x.id === 'allow-nothing-in-effect');
    expect(fs).toHaveLength(1);
    expect(fs[0]!.details?.dumps).toEqual(['httpbin.json', 'stage1/httpbin.json']);
  });

  it('raises both to high when TCP connections were denied by it', () => {
    const r = record({ kind: 'tcp', node: proxy.nodeId!, from: '10.0.0.8:40000', to: '10.0.0.7:3306', responseCode: 0, responseCodeDetails: undefined, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' });
    const fs = run({ proxies: [proxy], records: [r] });
    expect(fs.find((x) => x.id === 'allow-nothing-in-effect')!.severity).toBe('high');
    expect(fs.find((x) => x.id === 'http-only-fields-on-tcp')!.severity).toBe('high');
    expect(fs.find((x) => x.id === 'allow-nothing-in-effect')!.evidence).toContainEqual(r.ref);
  });

  it('reads HTTP-only fields from an AuthorizationPolicy that selects a proxy with TCP chains', () => {
    const p2 = proxyOf({ source: 'db.json', ip: '10.0.0.7', pod: 'db-1', namespace: 'default', rbac: [tcpSite] });
    const pol: PolicyDoc = { file: 'policy.yaml', line: 1, kind: 'AuthorizationPolicy', name: 'db', namespace: 'default', spec: { action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'], ports: ['3306'] } }] }] }, annotations: {} };
    const f = run({ proxies: [p2], policies: [pol] }).find((x) => x.id === 'http-only-fields-on-tcp' && x.details?.policy === 'default/db')!;
    expect(f.details?.fields).toEqual(['rules[0].to.operation.methods']);
    expect(f.evidence[0]).toMatchObject({ file: 'policy.yaml', line: 1 });
  });

  it('treats Istio\'s rendering of an empty ALLOW policy (not_rule any / not_id any) as allow-nothing, high with observed denials', () => {
    const an = site({ kind: 'http', chain: '0.0.0.0_9080', rules: { action: 'ALLOW', policies: { 'ns[default]-policy[allow-nothing]-rule[0]': { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } } }, jsonPath: '$.an' });
    const p = proxyOf({ source: 'details.json', ip: '10.0.0.7', pod: 'details-1', namespace: 'default', rbac: [an] });
    const r = record({ node: p.nodeId!, from: '10.0.0.8:40000', to: '10.0.0.7:9080', responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    const f = run({ proxies: [p], records: [r] }).find((x) => x.id === 'allow-nothing-in-effect')!;
    expect(f.severity).toBe('high');
    expect(f.details?.policies).toEqual(['ns[default]-policy[allow-nothing]-rule[0]']);
    expect(f.evidence).toContainEqual(r.ref);
  });

  it('does not fire for a policy without HTTP-only fields', () => {
    const p2 = proxyOf({ source: 'db.json', ip: '10.0.0.7', pod: 'db-1', namespace: 'default', rbac: [tcpSite] });
    const pol: PolicyDoc = { file: 'policy.yaml', kind: 'AuthorizationPolicy', name: 'db', namespace: 'default', spec: { rules: [{ to: [{ operation: { ports: ['3306'] } }] }] }, annotations: {} };
    expect(run({ proxies: [p2], policies: [pol] }).filter((x) => x.id === 'http-only-fields-on-tcp')).toEqual([]);
  });
});

describe('dry-run-would-deny', () => {
  it('reports a shadow policy that would deny allowed traffic', () => {
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080' });
    const d = decision({ decision: 'ALLOW', filters: [{ name: 'envoy.filters.http.rbac', kind: 'http', action: 'DENY', shadow: true, result: 'DENY', effectivePolicy: 'ns[default]-policy[deny-legacy]-rule[0]', policies: [] }] });
    const f = run({ records: [r], explanations: [explanation(r, { decision: d })], inventory: INV }).find((x) => x.id === 'dry-run-would-deny')!;
    expect(f.details?.policy).toBe('ns[default]-policy[deny-legacy]-rule[0]');
    expect(f.details?.sources).toEqual(['legacy/sleep']);
  });

  it('reads the shadow engine of a filter that also enforces (Istio puts dry-run rules in shadow_rules)', () => {
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080' });
    const shadow = { name: 'envoy.filters.http.rbac', kind: 'http' as const, action: 'ALLOW' as const, shadow: true, result: 'DENY' as const, effectivePolicy: null, policies: [] };
    const d = decision({ decision: 'ALLOW', filters: [{ name: 'envoy.filters.http.rbac', kind: 'http', action: 'ALLOW', shadow: false, result: 'ALLOW', effectivePolicy: 'ns[default]-policy[details]-rule[0]', policies: [], shadowDecision: shadow }] });
    const f = run({ records: [r], explanations: [explanation(r, { decision: d })], inventory: INV }).find((x) => x.id === 'dry-run-would-deny')!;
    expect(f.details?.policy).toBe('none');
    expect(f.details?.action).toBe('ALLOW');
  });

  it('ignores CUSTOM (ext_authz) shadow rules', () => {
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080' });
    const d = decision({ decision: 'ALLOW', filters: [{ name: 'envoy.filters.http.rbac', kind: 'http', action: 'DENY', shadow: true, result: 'DENY', effectivePolicy: 'istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]', policies: [] }] });
    expect(ids(run({ records: [r], explanations: [explanation(r, { decision: d })] }))).not.toContain('dry-run-would-deny');
  });
});

describe('strict-rejected-plaintext', () => {
  it('reports NR filter_chain_not_found on the server sidecar', () => {
    const r = record({ kind: 'tcp', from: '10.0.0.5:40000', to: '10.0.0.7:9080', cluster: '-', upstreamCluster: undefined, responseCode: 0, responseFlags: 'NR', responseCodeDetails: 'filter_chain_not_found' });
    const f = run({ records: [r], inventory: INV }).find((x) => x.id === 'strict-rejected-plaintext')!;
    expect(f.summary).toContain('legacy/sleep');
    expect(f.evidence[0]).toEqual(r.ref);
  });

  it('reports plaintext on the wire to a STRICT port', () => {
    const p = proxyOf({ source: 'details.json', ip: '10.0.0.7', pod: 'details-v1', namespace: 'default', mtls: [{ port: 9080, mode: 'STRICT', listener: 'virtualInbound' }] });
    const fs = run({ flows: [flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', bytes: { clientToServer: 80, serverToClient: 0 } })], proxies: [p], inventory: INV });
    expect(ids(fs)).toContain('strict-rejected-plaintext');
    expect(ids(fs)).not.toContain('plaintext-accepted');
  });
});

describe('finding ids and --fail-on', () => {
  it('every id is documented in the stable list', () => {
    expect(FINDING_IDS).toHaveLength(16);
  });

  it('maps --fail-on conditions to finding ids', () => {
    const fs: Finding[] = [{ id: 'rbac-denied', severity: 'medium', summary: '', evidence: [] }, { id: 'identity-address-mismatch', severity: 'critical', summary: '', evidence: [] }];
    expect(failOnHits(fs, new Set(['plaintext', 'denied', 'identity', 'mismatch']))).toEqual(['denied', 'identity']);
    expect(failOnHits(fs, new Set(['plaintext']))).toEqual([]);
  });

  it('orders findings by severity, deterministically', () => {
    const fs = run({
      flows: [flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080' }), flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'] }) })],
      inventory: INV,
    });
    expect(ids(fs)).toEqual(['identity-address-mismatch', 'plaintext-flow']);
    expect(JSON.stringify(fs)).toBe(JSON.stringify(run({ flows: [flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080' }), flow({ client: '10.0.0.9:51000', server: '10.0.0.7:9080', security: 'mtls', tls: tls({ uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'] }) })], inventory: INV })));
  });
});
