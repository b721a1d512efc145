/**
 * FindingsBuilder (issue 17, streaming report): findings computed one record at a time, with only the
 * facts a streaming pass has — the correlation's lookups for the record being added and the records of its
 * event, FlowFacts collected in one pass, flow-level indexes — give exactly the whole-input findings.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { correlate, type Correlation } from '../../src/analysis/correlate.js';
import { computeFindings, FindingsBuilder, loggedRbacDeny, matchesNothing, MAX_EVIDENCE, type PolicyDoc } from '../../src/analysis/findings.js';
import type { ProxyView } from '../../src/analysis/proxies.js';
import { proxyOf, record, site, T0 } from './report-fixtures.js';
import { FlowFactsCollector } from '../../src/analysis/flow-facts.js';
import type { RecordLookup } from '../../src/analysis/record-facts.js';
import type { AccessRecord, EvidenceRef, Explanation, Finding } from '../../src/model/records.js';

type Evidence = Awaited<ReturnType<typeof gatherEvidence>>;

const SAMPLES = join(REPO, 'samples');
const sampleDirs = existsSync(SAMPLES) ? readdirSync(SAMPLES).filter((s) => !s.startsWith('_') && !s.endsWith('.md')).sort() : [];

/** Every bundled sample gathered as one incident: sidecar, ambient, captures, dumps, policies together. */
let all: Promise<Evidence> | undefined;
const allSamples = (): Promise<Evidence> => (all ??= gatherEvidence(sampleDirs.map((s) => join(SAMPLES, s))));

/**
 * The records `k` times over (each copy a new record on its own line, with a copy of its explanation), the
 * copies interleaved record by record: past MAX_EVIDENCE per finding, and with the proxies' records mixed.
 */
function cloned(ev: Evidence, k: number): { records: AccessRecord[]; explanations: Explanation[] } {
  const exFor = new Map<AccessRecord, Explanation>();
  for (const e of ev.explanations) exFor.set(e.record, e);
  const records: AccessRecord[] = [];
  const explanations: Explanation[] = [];
  for (const r of ev.records) {
    for (let i = 0; i < k; i++) {
      const c: AccessRecord = { ...r, ref: { ...r.ref, line: (r.ref.line ?? 0) + i * 1_000_000 } };
      records.push(c);
      const e = exFor.get(r);
      if (e) explanations.push({ ...e, record: c });
    }
  }
  return { records, explanations };
}

const WHOLE_INPUT = ['events', 'flowEvents', 'flowRecords', 'links'] as const;
const PER_RECORD = ['recordProxy', 'recordDirection', 'recordWire', 'recordFlow', 'recordLocalLeg', 'recordEvent', 'explanationFor'] as const;

/**
 * The correlation as a streaming pass has it: reading a whole-input list throws, and a per-record lookup
 * throws unless it asks about the record being added or a record of its event (`current()`).
 */
function streamingView(c: Correlation, current: () => ReadonlySet<AccessRecord>): Correlation {
  const check = (what: string, r: AccessRecord): void => {
    if (!current().has(r)) throw new Error(`${what} asked about ${r.ref.file}:${r.ref.line ?? r.ref.index} outside the record being added and its event`);
  };
  const lookup = <V>(name: string, l: RecordLookup<AccessRecord, V>): RecordLookup<AccessRecord, V> => ({
    get: (r) => (check(name, r), l.get(r)),
    has: (r) => (check(name, r), l.has(r)),
    set: () => {
      throw new Error(`${name}.set: the builder must not write facts`);
    },
  });
  const wrapped = new Map<PropertyKey, unknown>(PER_RECORD.map((k) => [k, lookup(k, c[k] as RecordLookup<AccessRecord, unknown>)]));
  wrapped.set('securityOf', (r: AccessRecord) => (check('securityOf', r), c.securityOf(r)));
  return new Proxy(c, {
    get(target, p, receiver) {
      if ((WHOLE_INPUT as readonly PropertyKey[]).includes(p)) throw new Error(`the builder read c.${String(p)}, a whole-input list`);
      return wrapped.has(p) ? wrapped.get(p) : Reflect.get(target, p, receiver);
    },
  });
}

/** The builder fed as the streaming report feeds it: FlowFacts from one pass, then one record at a time. */
function streamedFindings(ev: Evidence, records: AccessRecord[], c: Correlation, showSecrets: boolean): Finding[] {
  // pass 1: FlowFacts in record order (an event when its first record comes), without c.events or c.links
  const facts = new FlowFactsCollector();
  const seenEvents = new Set<unknown>();
  for (const r of records) {
    const e = c.recordEvent.get(r);
    if (e && !seenEvents.has(e)) {
      seenEvents.add(e);
      facts.addEvent(e);
    }
    const link = c.recordFlow.get(r);
    if (link) facts.addRecord(r, link.flow, c.recordDirection.get(r));
  }
  let now: ReadonlySet<AccessRecord> = new Set();
  const b = new FindingsBuilder({ flows: ev.flows, proxies: ev.proxies, policies: ev.policies, correlation: streamingView(c, () => now), showSecrets, ztunnels: ev.ztunnels, flowFacts: facts });
  b.addFlows();
  for (const r of records) {
    now = new Set([r, ...(c.recordEvent.get(r)?.records ?? [])]);
    b.addRecord(r);
    now = new Set();
  }
  return b.finish();
}

const refKey = (r: EvidenceRef): string => `${r.file}:${r.line ?? ''}:${r.index ?? ''}`;

describe.skipIf(sampleDirs.length === 0)('FindingsBuilder: one record at a time, the same findings (needs samples/)', () => {
  it('every sample as one incident: the builder with per-record lookups only and FlowFacts from one pass gives computeFindings\' findings', async () => {
    const ev = await allSamples();
    for (const skewMs of [2000, 0]) {
      const c = correlate(ev.flows, ev.records, ev.explanations, ev.proxies, ev.inventory, { skewMs });
      const whole = computeFindings({ flows: ev.flows, records: ev.records, explanations: ev.explanations, proxies: ev.proxies, policies: ev.policies, correlation: c, showSecrets: skewMs === 0, ztunnels: ev.ztunnels });
      const ids = new Set(whole.map((f) => f.id));
      // the samples exercise the capture, record and end-of-run parts (ambient included)
      for (const id of ['plaintext-flow', 'plaintext-accepted', 'strict-rejected-plaintext', 'identity-address-mismatch', 'rbac-denied', 'allow-nothing-in-effect', 'http-only-fields-on-tcp', 'ztunnel-policy-rejected', 'ambient-allow-http-fields']) expect(ids, id).toContain(id);
      expect(streamedFindings(ev, ev.records, c, skewMs === 0)).toEqual(whole);
    }
  }, 120_000);

  it('records 60 times over, interleaved: the same findings, counts exact past the first MAX_EVIDENCE refs', async () => {
    const ev = await allSamples();
    const { records, explanations } = cloned(ev, 60);
    const c = correlate(ev.flows, records, explanations, ev.proxies, ev.inventory, { skewMs: 2000 });
    const whole = computeFindings({ flows: ev.flows, records, explanations, proxies: ev.proxies, policies: ev.policies, correlation: c, ztunnels: ev.ztunnels });
    expect(whole.some((f) => f.evidence.length === MAX_EVIDENCE && (f.details?.occurrences as number) > MAX_EVIDENCE)).toBe(true);
    expect(streamedFindings(ev, records, c, false)).toEqual(whole);
  }, 120_000);

  it('end-of-run findings count every denial and cite the first ones in record order (from tallies, not record lists)', async () => {
    const ev = await allSamples();
    const { records, explanations } = cloned(ev, 60);
    const c = correlate(ev.flows, records, explanations, ev.proxies, ev.inventory, { skewMs: 2000 });
    const findings = computeFindings({ flows: ev.flows, records, explanations, proxies: ev.proxies, policies: ev.policies, correlation: c, ztunnels: ev.ztunnels });
    // HTTP-only fields on TCP, from a policy: TCP records with a logged RBAC deny at the proxies it selects.
    const fromPolicy = findings.filter((f) => f.id === 'http-only-fields-on-tcp' && Array.isArray(f.details?.proxies) && (f.details?.tcpDenials as number) > 0);
    expect(fromPolicy.length).toBeGreaterThan(0);
    for (const f of fromPolicy) {
      const ids = new Set(f.details?.proxies as string[]);
      const denied = records.filter((r) => r.kind === 'tcp' && loggedRbacDeny(r) && ids.has(c.recordProxy.get(r)?.identity ?? ''));
      expect(f.details?.tcpDenials).toBe(denied.length);
      expect(f.details?.occurrences).toBe(denied.length);
      expect(f.evidence.slice(1).map(refKey)).toEqual(denied.slice(0, MAX_EVIDENCE - 1).map((r) => refKey(r.ref)));
      expect(f.details?.firstSeen).toBe(new Date(denied[0]!.timeMs!).toISOString());
      expect(f.details?.lastSeen).toBe(new Date(denied[denied.length - 1]!.timeMs!).toISOString());
    }
    // Allow-nothing in effect with observed `[none]` denials: every one counted, the first ones cited in record order,
    // dump by dump (the group's dumps newest first), of the filter kinds that allow nothing at that dump.
    const observed = findings.filter((f) => f.id === 'allow-nothing-in-effect' && (f.details?.observedDenials as number) > 0);
    expect(observed.length).toBeGreaterThan(0);
    const bySource = new Map(ev.proxies.map((p) => [p.source, p]));
    const allowsNothing = (p: ProxyView): string[] => p.rbac.filter((x) => x.inbound && x.rules && x.rules.action === 'ALLOW' && Object.values(x.rules.policies).every(matchesNothing)).map((x) => x.kind);
    for (const f of observed) {
      const expected = (f.details?.dumps as string[]).flatMap((src) => {
        const p = bySource.get(src)!;
        const kinds = allowsNothing(p);
        return records.filter((r) => loggedRbacDeny(r)?.policy === 'none' && c.recordProxy.get(r) === p && kinds.includes(r.kind === 'tcp' ? 'network' : 'http'));
      });
      expect(f.details?.observedDenials).toBe(expected.length);
      expect(expected.length).toBeGreaterThan(MAX_EVIDENCE);
      expect(f.evidence).toHaveLength(MAX_EVIDENCE);
      const cited = f.evidence.filter((e) => e.path === undefined).map(refKey);
      expect(cited.length).toBeGreaterThan(0);
      expect(cited).toEqual(expected.slice(0, cited.length).map((r) => refKey(r.ref)));
    }
  }, 120_000);
});

describe('FindingsBuilder: tallies of several proxies and filter kinds merge in record order', () => {
  // Two proxies of one namespace, each with HTTP and TCP ALLOW filters that allow nothing, and an
  // AuthorizationPolicy with HTTP-only fields selecting both.
  const nothing = { 'ns[default]-policy[allow-nothing]-rule[0]': { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } };
  const sites = [site({ kind: 'http', chain: '0.0.0.0_3306', rules: { action: 'ALLOW', policies: nothing }, jsonPath: '$.http' }), site({ kind: 'network', chain: 'virtualInbound', rules: { action: 'ALLOW', policies: nothing }, jsonPath: '$.tcp' })];
  const a = proxyOf({ source: 'db-a.json', ip: '10.0.0.7', pod: 'db-a', namespace: 'default', rbac: sites });
  const b = proxyOf({ source: 'db-b.json', ip: '10.0.0.9', pod: 'db-b', namespace: 'default', rbac: sites });
  const pol: PolicyDoc = { file: 'policy.yaml', line: 1, kind: 'AuthorizationPolicy', name: 'db', namespace: 'default', spec: { action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'], ports: ['3306'] } }] }] }, annotations: {} };
  const tcpDeny = (p: ProxyView, ip: string, i: number): AccessRecord => record({ kind: 'tcp', node: p.nodeId!, from: `10.0.1.1:${20000 + i}`, to: `${ip}:3306`, timeMs: T0 + i * 10, responseCode: 0, responseCodeDetails: undefined, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' });
  const httpDeny = (p: ProxyView, ip: string, i: number): AccessRecord => record({ node: p.nodeId!, from: `10.0.1.2:${30000 + i}`, to: `${ip}:3306`, timeMs: T0 + i * 10 + 5, responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
  // a, b, a, b, ... TCP denials; every third step an HTTP denial at a
  const records: AccessRecord[] = [];
  for (let i = 0; i < 60; i++) {
    records.push(tcpDeny(a, '10.0.0.7', i), tcpDeny(b, '10.0.0.9', i));
    if (i % 3 === 0) records.push(httpDeny(a, '10.0.0.7', i));
  }

  it('counts every denial and cites the first MAX_EVIDENCE in record order, streamed or whole', () => {
    const c = correlate([], records, [], [a, b], null, { skewMs: 2000 });
    expect(records.every((r) => c.recordProxy.get(r) !== undefined)).toBe(true);
    const ev = { flows: [], proxies: [a, b], policies: [pol], ztunnels: [] } as unknown as Evidence;
    const whole = computeFindings({ flows: [], records, explanations: [], proxies: [a, b], policies: [pol], correlation: c });
    expect(streamedFindings(ev, records, c, false)).toEqual(whole);

    const tcp = records.filter((r) => r.kind === 'tcp');
    const fromPolicy = whole.find((f) => f.id === 'http-only-fields-on-tcp' && f.details?.policy === 'default/db')!;
    expect(fromPolicy.details?.tcpDenials).toBe(120);
    expect(fromPolicy.evidence.slice(1).map(refKey)).toEqual(tcp.slice(0, MAX_EVIDENCE - 1).map((r) => refKey(r.ref)));
    expect(fromPolicy.details?.firstSeen).toBe(new Date(tcp[0]!.timeMs!).toISOString());
    expect(fromPolicy.details?.lastSeen).toBe(new Date(tcp[tcp.length - 1]!.timeMs!).toISOString());

    const atA = records.filter((r) => c.recordProxy.get(r) === a);
    const an = whole.find((f) => f.id === 'allow-nothing-in-effect' && f.details?.dump === 'db-a.json')!;
    expect(an.details?.observedDenials).toBe(80);
    expect(an.details?.occurrences).toBe(80);
    expect(an.evidence.slice(0, 2)).toEqual([{ file: 'db-a.json', path: '$.http' }, { file: 'db-a.json', path: '$.tcp' }]);
    expect(an.evidence.slice(2).map(refKey)).toEqual(atA.slice(0, MAX_EVIDENCE - 2).map((r) => refKey(r.ref)));
    expect(an.details?.lastSeen).toBe(new Date(atA[atA.length - 1]!.timeMs!).toISOString());
  });
});

describe('FindingsBuilder: the order of the calls', () => {
  const empty = (): FindingsBuilder => {
    const c = correlate([], [], [], [], null, { skewMs: 2000 });
    return new FindingsBuilder({ flows: [], proxies: [], policies: [], correlation: c, flowFacts: new FlowFactsCollector() });
  };
  it('a record before the captures is refused (a request seen in both counts once only when the captures come first)', () => {
    expect(() => empty().addRecord({ kind: 'http', ref: { file: 'a.log', line: 1 }, fields: {}, attrs: {}, unknown: [] } as unknown as AccessRecord)).toThrow(/addFlows\(\) must come first/);
  });
  it('finish once, and no record after it', () => {
    const b = empty();
    b.addFlows();
    expect(b.finish()).toEqual([]);
    expect(() => b.finish()).toThrow(/called twice/);
    expect(() => b.addFlows()).toThrow(/called twice/);
  });
});
