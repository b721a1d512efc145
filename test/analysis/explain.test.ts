import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import {
  decisionChange, deciderOver, explainRecord, NotFromProxyError, explanationPasses, ExplainAggregator, inferSecurity, loggedOutcome,
  recordPasses, sanitizePolicyId, summaryLine, type Decider, type DeciderOptions,
} from '../../src/analysis/explain.js';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';
import { decideRequest } from '../../src/envoy/decide.js';
import type { Decision } from '../../src/model/decision.js';
import type { RequestAttrs } from '../../src/model/attrs.js';
import type { AccessRecord } from '../../src/model/records.js';
import { SHARED, hasShared, describeShared } from '../helpers/cli.js';

const ALLOWED_MTLS =
  '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 3 1 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "127.0.0.1:80" inbound|8000|| 127.0.0.1:41854 10.44.1.27:80 10.44.1.23:37652 outbound_.8000_._.httpbin.foo.svc.cluster.local default';
const DENIED_NAMED =
  '[2024-05-01T10:00:00.000Z] "GET /status/200 HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[starfleet]-policy[probe-deny-status]-rule[0]] - "-" 0 19 0 - "-" "curl/8.0" "r-1" "probe:8000" "-" inbound|8080|| - 10.244.0.14:8080 10.244.0.12:54616 outbound_.8000_._.probe.starfleet.svc.cluster.local default';
const PLAIN_DENIED_NONE =
  '[2024-05-01T10:00:01.000Z] "POST /data HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "curl/8.0" "r-2" "httpbin:80" "-" inbound|80|| - 10.244.0.14:80 10.244.0.99:54620 - -';
const TCP_DENIED =
  '[2022-09-27T18:28:59.313Z] "- - -" 0 - - rbac_access_denied_matched_policy[none] "-" 233 0 1 - "-" "-" "-" "-" "-" - - 10.64.0.135:15008 10.64.3.51:45702 - - capture inbound listener';
const NO_CHAIN =
  '[2024-05-01T10:00:02.000Z] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - 10.244.0.14:80 10.244.0.77:40000 - -';
const TCP_NO_DATA =
  '[2024-05-01T10:00:03.000Z] "- - -" 0 - - - "-" 0 0 5 - "-" "-" "-" "-" "-" inbound|5432|| - 10.244.0.14:5432 10.244.0.12:40001 - -';

async function records(text: string): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path: 'a.log', stream: Readable.from([text]) })) out.push(r);
  return out;
}

function decision(d: Partial<Decision> & Pick<Decision, 'decision'>): Decision {
  return { policy: null, responseCodeDetails: null, filters: [], ...d };
}

const allow: Decider = () => decision({ decision: 'ALLOW' });
const denyNone: Decider = () => decision({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });

describe('plaintext vs mTLS per record, with the evidence used', () => {
  it('Istio SNI on the server sidecar → mTLS inferred, identity unknown', async () => {
    const [r] = await records(ALLOWED_MTLS);
    const inf = inferSecurity(r!);
    expect(inf.security).toBe('mtls');
    expect(inf.evidence[0]).toMatch(/istio-sni/);
    expect(inf.attrs.tls).toBeDefined();
    expect(inf.attrs.alpn).toBeUndefined(); // left to the engine (an Istio client's ALPN for the protocol)
    expect(inf.unknown).toEqual(expect.arrayContaining(['tls.uriSans', 'filterState']));
    expect(inf.unknown).not.toContain('tls');
  });

  it('SNI logged as "-" → plaintext inferred: no TLS, no peer principal in filter state', async () => {
    const [r] = await records(PLAIN_DENIED_NONE);
    const inf = inferSecurity(r!);
    expect(inf.security).toBe('plaintext');
    expect(inf.evidence[0]).toMatch(/requested-server-name: - \(plaintext inferred\)/);
    expect(inf.attrs.tls).toBeUndefined();
    expect(inf.unknown).not.toContain('tls');
    expect(inf.unknown).not.toContain('filterState');
  });

  it('a format without SNI or TLS fields leaves security unknown', async () => {
    const out: AccessRecord[] = [];
    for await (const x of readAccessLogs({ path: 'e.log', stream: Readable.from(['[2019-11-07T16:33:58.856Z] "POST /kv.KV/Set HTTP/1.1" 200 - 15 7 3 1 "172.24.0.3" "python-requests/2.22.0" "c11cf735-0647-4e67-965c-5b1e362a5532" "grpc" "172.24.0.2:8081"']) })) out.push(x);
    const inf = inferSecurity(out[0]!);
    expect(inf.security).toBe('unknown');
    expect(inf.unknown).toContain('tls');
  });

  it('a logged peer URI SAN proves mTLS and fills the peer principal', async () => {
    const fmt = '%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_PEER_URI_SAN% %REQUESTED_SERVER_NAME% "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%';
    const out: AccessRecord[] = [];
    for await (const x of readAccessLogs({ path: 'c.log', stream: Readable.from(['10.0.0.1:5000 10.0.0.2:8080 spiffe://cluster.local/ns/foo/sa/bar outbound_.8080_._.x.foo.svc.cluster.local "GET /" 200 via_upstream']) }, { format: fmt })) out.push(x);
    const inf = inferSecurity(out[0]!);
    expect(inf.security).toBe('mtls');
    expect(inf.evidence).toEqual(['peer-uri-san']);
    expect(inf.attrs.filterState).toEqual({ 'io.istio.peer_principal': 'spiffe://cluster.local/ns/foo/sa/bar' });
    expect(inf.unknown).not.toContain('filterState');
  });
});

describe('what Envoy logged', () => {
  it('classifies HTTP and TCP RBAC denies, via_upstream, filter_chain_not_found, and connections RBAC never saw', async () => {
    const rs = await records([ALLOWED_MTLS, DENIED_NAMED, TCP_DENIED, NO_CHAIN, TCP_NO_DATA].join('\n'));
    expect(rs.map((r) => loggedOutcome(r))).toEqual([
      { outcome: 'allowed', detail: 'via_upstream' },
      { outcome: 'denied', policy: 'ns[starfleet]-policy[probe-deny-status]-rule[0]', detail: 'rbac_access_denied_matched_policy[ns[starfleet]-policy[probe-deny-status]-rule[0]]' },
      { outcome: 'denied', policy: 'none', detail: 'rbac_access_denied_matched_policy[none]' },
      { outcome: 'no-filter-chain', detail: 'filter_chain_not_found' },
      { outcome: 'not-evaluated', detail: 'no bytes from downstream (network RBAC never ran)' },
    ]);
  });

  it('sanitizes whitespace in policy ids as Envoy does', () => {
    expect(sanitizePolicyId('ab df  xy\tz')).toBe('ab_df__xy_z');
  });
});

describe('verdicts', () => {
  it('agrees when the config denies by the logged policy, or allows what was allowed', async () => {
    const [a, d] = await records(`${ALLOWED_MTLS}\n${DENIED_NAMED}`);
    expect(explainRecord(a!, allow)).toMatchObject({ verdict: 'agrees', logged: 'allowed', security: 'mtls' });
    const byPolicy: Decider = () => decision({ decision: 'DENY', policy: 'ns[starfleet]-policy[probe-deny-status]-rule[0]' });
    expect(explainRecord(d!, byPolicy)).toMatchObject({ verdict: 'agrees', loggedPolicy: 'ns[starfleet]-policy[probe-deny-status]-rule[0]' });
  });

  it('disagrees, naming config drift, when the logged policy is not in the config', async () => {
    const [, d] = await records(`${ALLOWED_MTLS}\n${DENIED_NAMED}`);
    const e = explainRecord(d!, allow);
    expect(e.verdict).toBe('disagrees');
    expect(e.reason).toMatch(/policy ns\[starfleet\]-policy\[probe-deny-status\]-rule\[0\] is not in this config \(config drift/);
    const e2 = explainRecord(d!, denyNone);
    expect(e2.verdict).toBe('disagrees');
    expect(e2.reason).toMatch(/both deny, but Envoy logged ns\[starfleet\].* and the config gives none/);
  });

  it('disagrees when Envoy allowed what the config denies', async () => {
    const [a] = await records(ALLOWED_MTLS);
    expect(explainRecord(a!, denyNone)).toMatchObject({ verdict: 'disagrees', reason: expect.stringMatching(/Envoy allowed \(via_upstream\) but the config denies by no ALLOW match/) });
  });

  it('is undecidable, naming the attribute the log lacked, when the engine cannot decide', async () => {
    const [a] = await records(ALLOWED_MTLS);
    const seen: DeciderOptions[] = [];
    const und: Decider = (_req, opts) => {
      seen.push(opts);
      return decision({
        decision: 'UNDECIDABLE',
        reasons: ['envoy.filters.http.rbac: no policy matched for certain'],
        filters: [{ name: 'envoy.filters.http.rbac', kind: 'http', action: 'ALLOW', shadow: false, result: 'UNDECIDABLE', effectivePolicy: null, policies: [{ name: 'ns[foo]-policy[p]-rule[0]', matched: 'undecidable', trace: { node: 'policy', matched: 'undecidable', detail: '' }, undecidableReason: 'principal (filter state io.istio.peer_principal): the evidence does not carry this filter state' }] }],
      });
    };
    const e = explainRecord(a!, und);
    expect(e.verdict).toBe('undecidable');
    expect(e.missing).toEqual(expect.arrayContaining(['filterState']));
    expect(e.reason).toMatch(/the log does not carry filterState.*DOWNSTREAM_PEER_URI_SAN/);
    expect(seen[0]!.kind).toBe('http');
    expect(seen[0]!.unknown).toContain('tls.uriSans');
  });

  it('a waypoint\'s record and a sidecar\'s record given the same (memoized) decision each get their own identity hint', async () => {
    // the same request as logged by a sidecar (Istio SNI: mTLS inferred) and by a waypoint (inbound-vip cluster: HBONE)
    const [side, way] = await records(`${ALLOWED_MTLS}\n${ALLOWED_MTLS.replace('inbound|8000||', 'inbound-vip|8000|http|httpbin.foo.svc.cluster.local')}`);
    const shared = decision({
      decision: 'UNDECIDABLE',
      filters: [{ name: 'envoy.filters.http.rbac', kind: 'http', action: 'ALLOW', shadow: false, result: 'UNDECIDABLE', effectivePolicy: null, policies: [{ name: 'ns[foo]-policy[p]-rule[0]', matched: 'undecidable', trace: { node: 'policy', matched: 'undecidable', detail: '' }, undecidableReason: 'principal (filter state io.istio.peer_principal): the evidence does not carry this filter state' }] }],
    });
    const same: Decider = () => shared;
    for (let i = 0; i < 2; i++) {
      expect(explainRecord(side!, same).reason).toMatch(/DOWNSTREAM_PEER_URI_SAN/);
      expect(explainRecord(way!, same).reason).toMatch(/client ztunnel's outbound record to this waypoint/);
    }
  });

  it('TCP: replays through the network filters; filter_chain_not_found agrees only with a config that has no chain', async () => {
    const [t, n] = await records(`${TCP_DENIED}\n${NO_CHAIN}`);
    const kinds: string[] = [];
    const net: Decider = (req, o) => {
      kinds.push(o.kind);
      expect(req.http).toBeUndefined();
      return decision({ decision: 'DENY', connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' });
    };
    expect(explainRecord(t!, net).verdict).toBe('agrees');
    expect(kinds).toEqual(['network']);
    const noChain: Decider = () => decision({ decision: 'DENY', responseCodeDetails: 'filter_chain_not_found' });
    expect(explainRecord(n!, noChain)).toMatchObject({ verdict: 'agrees', logged: 'no-filter-chain' });
    expect(explainRecord(n!, allow)).toMatchObject({ verdict: 'disagrees' });
    // a config that finds no chain cannot "agree" with an RBAC deny
    expect(explainRecord(t!, noChain).verdict).toBe('disagrees');
  });

  it('a decider that throws makes the record undecidable, not a crash', async () => {
    const [a] = await records(ALLOWED_MTLS);
    const e = explainRecord(a!, () => {
      throw new Error('no dump for this proxy');
    });
    expect(e).toMatchObject({ verdict: 'undecidable', reason: 'could not evaluate: no dump for this proxy', decision: null });
  });
});

describe('summary, grouping, filters', () => {
  it('prints the summary line in the documented shape', () => {
    expect(summaryLine({ records: 1204, allowed: 1150, denied: 54, deniedBy: { 'ns[foo]-policy[deny-post]-rule[0]': 41, none: 13 }, noChain: 0, undecidable: 0, agrees: 1204, disagreements: 0 }))
      .toBe('1,204 records: 1,150 allowed, 54 denied (41 by ns[foo]-policy[deny-post]-rule[0], 13 by no ALLOW match); 0 disagreements');
  });

  it('aggregates explanations by decision and policy with counts', async () => {
    const rs = await records([ALLOWED_MTLS, ALLOWED_MTLS, PLAIN_DENIED_NONE, DENIED_NAMED].join('\n'));
    const byPolicy: Decider = (req) => (req.http?.path === '/data' ? decision({ decision: 'DENY' }) : req.http?.path === '/status/200' ? decision({ decision: 'DENY', policy: 'ns[starfleet]-policy[probe-deny-status]-rule[0]' }) : decision({ decision: 'ALLOW' }));
    const agg = new ExplainAggregator();
    for (const r of rs) agg.add(explainRecord(r, byPolicy));
    expect(summaryLine(agg.summary)).toBe('4 records: 2 allowed, 2 denied (1 by no ALLOW match, 1 by ns[starfleet]-policy[probe-deny-status]-rule[0]); 0 disagreements');
    expect(agg.groupList().map((g) => [g.decision, g.policy, g.verdict, g.count, g.example])).toEqual([
      ['ALLOW', '-', 'agrees', 2, 'a.log:1'],
      ['DENY', 'none', 'agrees', 1, 'a.log:3'],
      ['DENY', 'ns[starfleet]-policy[probe-deny-status]-rule[0]', 'agrees', 1, 'a.log:4'],
    ]);
  });

  it('filters by time, source IP/CIDR, denial and policy', async () => {
    const rs = await records([ALLOWED_MTLS, PLAIN_DENIED_NONE, DENIED_NAMED].join('\n'));
    expect(rs.filter((r) => recordPasses(r, { sinceMs: Date.parse('2024-01-01T00:00:00Z') })).length).toBe(2);
    expect(rs.filter((r) => recordPasses(r, { untilMs: Date.parse('2021-01-01T00:00:00Z') })).length).toBe(1);
    expect(rs.filter((r) => recordPasses(r, { source: '10.244.0.0/16' })).length).toBe(2);
    expect(rs.filter((r) => recordPasses(r, { source: '10.244.0.99' })).length).toBe(1);
    const es = rs.map((r) => explainRecord(r, allow));
    expect(es.filter((e) => explanationPasses(e, { denied: true })).length).toBe(2);
    expect(es.filter((e) => explanationPasses(e, { policy: 'starfleet' })).length).toBe(1);
  });

  it('replay against a proposed config lists decisions that would change, before/after', async () => {
    const rs = await records([ALLOWED_MTLS, PLAIN_DENIED_NONE, DENIED_NAMED].join('\n'));
    const proposed: Decider = (req) => (req.http?.path === '/status/418' ? decision({ decision: 'DENY', policy: 'ns[foo]-policy[new deny]-rule[0]' }) : decision({ decision: 'DENY' }));
    const changes = rs.map((r) => decisionChange(explainRecord(r, proposed)));
    expect(changes[0]).toMatchObject({ before: { decision: 'ALLOW', source: 'log' }, after: { decision: 'DENY', policy: 'ns[foo]-policy[new_deny]-rule[0]' } });
    expect(changes[1]).toBeNull(); // denied by none before and after
    expect(changes[2]).toMatchObject({ before: { decision: 'DENY', policy: 'ns[starfleet]-policy[probe-deny-status]-rule[0]' }, after: { decision: 'DENY', policy: 'none' } });
  });
});

describe('choosing the dump of the record\'s proxy', () => {
  const dumpA = { source: 'a.json', node: { id: 'sidecar~10.0.0.1~a-1.ns~ns.svc.cluster.local', pod: 'a-1', ips: ['10.0.0.1'] } };
  const dumpB = { source: 'b.json', node: { id: 'sidecar~10.0.0.2~b-1.ns~ns.svc.cluster.local', pod: 'b-1', ips: ['10.0.0.2'] } };

  it('picks by node id / pod, else by destination IP, and refuses when none fits', async () => {
    const used: string[] = [];
    const d = deciderOver([dumpA, dumpB], (dump) => {
      used.push(dump.source);
      return decision({ decision: 'ALLOW' });
    }, false);
    const req = (ip: string): RequestAttrs => ({ destination: { address: ip, port: 80 } });
    d(req('10.0.0.2'), { unknown: [], kind: 'http' });
    d(req('10.9.9.9'), { unknown: [], kind: 'http', record: { node: 'a-1' } as AccessRecord });
    expect(used).toEqual(['b.json', 'a.json']);
    expect(() => d(req('10.9.9.9'), { unknown: [], kind: 'http' })).toThrow(/none of the 2 config dumps/);
  });

  it('picks by the log file name (kubectl logs <pod> > <pod>.<ns>.istio-proxy.log) and, for outbound records, by the source IP', () => {
    const used: string[] = [];
    const d = deciderOver([dumpA, dumpB], (dump) => {
      used.push(dump.source);
      return decision({ decision: 'ALLOW' });
    });
    const rec = (file: string, cluster: string) => ({ ref: { file }, upstreamCluster: cluster }) as AccessRecord;
    const req: RequestAttrs = { source: { address: '10.0.0.1', port: 5000 }, destination: { address: '10.0.0.2', port: 80 } };
    const fromB: RequestAttrs = { source: { address: '10.0.0.2', port: 5000 }, destination: { address: '10.96.0.9', port: 80 } };
    d(fromB, { unknown: [], kind: 'http', record: rec('logs/b-1.ns.istio-proxy.log', 'outbound|80||x.ns.svc.cluster.local') });
    d(req, { unknown: [], kind: 'http', record: rec('x.log', 'outbound|80||b.ns.svc.cluster.local') });
    d(req, { unknown: [], kind: 'http', record: rec('x.log', 'inbound|80||') });
    expect(used).toEqual(['b.json', 'a.json', 'b.json']);
    // b's log, but an outbound record whose source is a's workload: b did not write it
    expect(() => d(req, { unknown: [], kind: 'http', record: rec('logs/b-1.ns.istio-proxy.log', 'outbound|80||b.ns.svc.cluster.local') })).toThrow(NotFromProxyError);
  });

  it('memoizes decisions, leaving source ports and request ids out of the key', () => {
    let calls = 0;
    const d = deciderOver([dumpA], () => {
      calls++;
      return decision({ decision: 'ALLOW' });
    });
    const mk = (port: number, rid: string, path = '/'): RequestAttrs => ({ source: { address: '10.0.0.9', port }, destination: { address: '10.0.0.1', port: 80 }, http: { method: 'GET', path, headers: { 'x-request-id': [rid] } } });
    d(mk(1000, 'a'), { unknown: [], kind: 'http' });
    d(mk(1001, 'b'), { unknown: [], kind: 'http' });
    expect(calls).toBe(1);
    d(mk(1001, 'b', '/other'), { unknown: [], kind: 'http' });
    expect(calls).toBe(2);
  });

  it('keeps source ports in the key when the config reads them', () => {
    let calls = 0;
    const d = deciderOver([{ ...dumpA, rbac: { source_port: 1 } }], () => {
      calls++;
      return decision({ decision: 'ALLOW' });
    });
    d({ source: { address: '10.0.0.9', port: 1 } }, { unknown: [], kind: 'network' });
    d({ source: { address: '10.0.0.9', port: 2 } }, { unknown: [], kind: 'network' });
    expect(calls).toBe(2);
  });
});

describeShared('replay through the real engine on the authz fixture (needs ../shared)', () => {
  it('reproduces Envoy\'s verdicts: plaintext [none] deny agrees; TCP deny-all agrees; mTLS without logged identity is undecidable; a foreign policy is drift', async () => {
    const { dumps } = await loadConfigDumps([SHARED + 'fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml']);
    const decide = deciderOver(dumps, (dump, req, o) => decideRequest(dump, req, { unknown: o.unknown }));
    const lines = [
      // plaintext GET /info to port 80 (PERMISSIVE): the ALLOW policy needs a peer principal → [none]
      '[2024-05-01T10:00:00.100Z] "GET /info HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "curl/8.0" "r-1" "httpbin:80" "-" inbound|80|| - 10.244.0.14:80 10.244.0.12:54616 - -',
      // mTLS (Istio SNI) GET /info allowed: the identity is not in the default format
      '[2024-05-01T10:00:01.100Z] "GET /info HTTP/1.1" 200 - via_upstream - "-" 0 135 3 1 "-" "curl/8.0" "r-2" "httpbin:80" "10.244.0.14:80" inbound|80|| 127.0.0.6:41854 10.244.0.14:80 10.244.0.12:54618 outbound_.80_._.httpbin.default.svc.cluster.local default',
      // TCP to a catch-all port: network RBAC rules {} denies every connection
      '[2024-05-01T10:00:02.100Z] "- - -" 0 - - rbac_access_denied_matched_policy[none] "-" 233 0 1 - "-" "-" "-" "-" "-" inbound|9000|| - 10.244.0.14:9000 10.244.0.12:45702 - -',
      // denied by a policy this dump does not have
      '[2024-05-01T10:00:03.100Z] "POST /data HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]] - "-" 0 19 0 - "-" "curl/8.0" "r-4" "httpbin:80" "-" inbound|80|| - 10.244.0.14:80 10.244.0.12:54620 - -',
    ];
    const rs = await records(lines.join('\n'));
    const es = rs.map((r) => explainRecord(r, decide));
    expect(es.map((e) => e.verdict)).toEqual(['agrees', 'undecidable', 'agrees', 'disagrees']);
    expect(es[0]!.decision).toMatchObject({ decision: 'DENY', policy: null, listener: 'virtualInbound' });
    expect(es[1]!.reason).toMatch(/does not carry/);
    expect(es[2]!.decision!.filters[0]).toMatchObject({ kind: 'network', action: 'ALLOW', result: 'DENY' });
    expect(es[3]!.reason).toMatch(/not in this config \(config drift/);
  });
});
