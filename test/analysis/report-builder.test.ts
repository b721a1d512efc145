/**
 * The report's views built incrementally (issue 17, streaming report): ReportViewsBuilder fed one request
 * event and one record at a time — from a correlation whose whole-input lists cannot be read and whose
 * per-record lookups answer only for the record being added and the records of its event, with FlowFacts
 * collected as a streaming pass would — gives the model buildReportModel gives, in either order of events
 * and records.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel, ReportViewsBuilder, type BuildOptions, type Evidence, type ReportModel } from '../../src/analysis/report-model.js';
import { correlate, type Correlation } from '../../src/analysis/correlate.js';
import { FLOW_RECORD_REFS, FlowFactsCollector } from '../../src/analysis/flow-facts.js';
import type { RecordLookup } from '../../src/analysis/record-facts.js';
import type { RequestEvent } from '../../src/analysis/request-events.js';
import type { AccessRecord } from '../../src/model/records.js';
import { renderHtml } from '../../src/report/html.js';
import { exchange, flow, inventory, pod, record, T0 } from './report-fixtures.js';

const OPTS: BuildOptions = { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00.000Z' };
/** Exemplar limits small enough that a sample lists exemplars and counts the rest. */
const TINY: BuildOptions['limits'] = { requests: { listAll: 3, perKind: 1, perKindUnexplained: 1, max: 10 }, timeline: { listAll: 3, perSignature: 1, max: 3 }, flows: { listAll: 3, perKind: 1, max: 3 } };

const LISTS = new Set<PropertyKey>(['events', 'flowEvents', 'flowRecords', 'links']);
const LOOKUPS = ['recordProxy', 'recordDirection', 'recordWire', 'recordFlow', 'recordLocalLeg', 'recordEvent', 'explanationFor'] as const;

/**
 * `c` as a streaming driver can offer it: reading a whole-input list throws, and so does asking a
 * per-record lookup about a record outside the ones `allow` names (the record being added and its event's).
 */
function guarded(c: Correlation): { c: Correlation; allow(rs: readonly AccessRecord[]): void; asked: () => number } {
  let allowed = new Set<AccessRecord>();
  let asked = 0;
  const check = (r: AccessRecord, what: string): void => {
    asked++;
    if (!allowed.has(r)) throw new Error(`${what} asked about ${r.ref.file}:${r.ref.line}, not a record of what is being added`);
  };
  const wrap = <V,>(name: string, l: RecordLookup<AccessRecord, V>): RecordLookup<AccessRecord, V> => ({
    get: (r) => (check(r, name), l.get(r)),
    has: (r) => (check(r, name), l.has(r)),
    set: () => {
      throw new Error(`the builder set ${name}`);
    },
  });
  const wrapped = new Map<PropertyKey, unknown>(LOOKUPS.map((k) => [k, wrap(k, c[k] as RecordLookup<AccessRecord, unknown>)]));
  const proxy = new Proxy(c, {
    get(t, p, recv) {
      if (LISTS.has(p)) throw new Error(`the builder read c.${String(p)}`);
      if (wrapped.has(p)) return wrapped.get(p);
      if (p === 'securityOf') return (r: AccessRecord) => (check(r, 'securityOf'), t.securityOf(r));
      return Reflect.get(t, p, recv);
    },
  });
  return { c: proxy, allow: (rs) => (allowed = new Set(rs)), asked: () => asked };
}

/**
 * The views of `ev` built as a streaming driver would: FlowFacts from one pass over the records (each
 * event when its first record comes), then the builder — every event before every record (`events-first`,
 * buildReportModel's order) or each event right before its first record (`interleaved`).
 */
function viaBuilder(ev: Evidence, c: Correlation, findings: ReportModel['findings'], opts: BuildOptions, order: 'events-first' | 'interleaved'): { model: ReportModel; asked: number } {
  const facts = new FlowFactsCollector();
  const eventOf = (r: AccessRecord): RequestEvent => c.recordEvent.get(r)!;
  const met = new Set<RequestEvent>();
  for (const r of ev.records) {
    const e = eventOf(r);
    if (!met.has(e)) {
      met.add(e);
      facts.addEvent(e);
    }
    const l = c.recordFlow.get(r);
    if (l) facts.addRecord(r, l.flow, c.recordDirection.get(r));
  }
  const g = guarded(c);
  const b = new ReportViewsBuilder({ inputs: ev.inputs, hashes: ev.hashes, items: ev.items, problems: ev.problems, unreadable: ev.unreadable, flows: ev.flows, ...(ev.attempts ? { attempts: ev.attempts } : {}), proxies: ev.proxies, inventory: ev.inventory, diagnostics: ev.diagnostics, ...(ev.window ? { window: ev.window } : {}), correlation: g.c, findings, flowFacts: facts }, opts);
  g.allow([]);
  b.addFlows();
  const added = new Set<RequestEvent>();
  const addEvent = (e: RequestEvent): void => {
    g.allow(e.records);
    added.add(e);
    b.addEvent(e);
  };
  if (order === 'events-first') for (const e of met) addEvent(e);
  for (const r of ev.records) {
    const e = eventOf(r);
    if (!added.has(e)) addEvent(e);
    g.allow(e.records);
    b.addRecord(r);
  }
  g.allow([]);
  return { model: b.finish(), asked: g.asked() };
}

/** The reference model (buildReportModel) and the correlation it used. */
function reference(ev: Evidence, opts: BuildOptions): { json: string; model: ReportModel; c: Correlation } {
  const c = ev.correlation && ev.correlation.skewMs === opts.skewMs ? ev.correlation : correlate(ev.flows, ev.records, ev.explanations, ev.proxies, ev.inventory, { skewMs: opts.skewMs });
  const model = buildReportModel({ ...ev, correlation: c }, opts);
  return { json: JSON.stringify(model), model, c };
}

const SAMPLES = existsSync(join(REPO, 'samples')) ? readdirSync(join(REPO, 'samples')).filter((s) => !s.startsWith('_') && existsSync(join(REPO, 'samples', s, 'README.md'))) : [];

describe('ReportViewsBuilder: the model buildReportModel gives, from one event and one record at a time', () => {
  it.skipIf(SAMPLES.length === 0)('on every bundled sample, without reading the correlation\'s lists or any other record\'s facts, in either order (needs samples/)', async () => {
    let asked = 0;
    for (const s of SAMPLES) {
      const ev = await gatherEvidence([join(REPO, 'samples', s)]);
      const ref = reference(ev, OPTS);
      for (const order of ['events-first', 'interleaved'] as const) {
        const got = viaBuilder(ev, ref.c, ref.model.findings, OPTS, order);
        expect(JSON.stringify(got.model) === ref.json, `${s}, ${order}`).toBe(true);
        asked += got.asked;
      }
      // (no sample joins more than FLOW_RECORD_REFS records to one flow: every view lists them all)
      expect(ref.model.flows.every((f) => f.recordsNotListed === undefined)).toBe(true);
    }
    // the guard was in the way of every per-record fact the builder read
    expect(asked).toBeGreaterThan(1000);
  }, 300_000);

  it.skipIf(!SAMPLES.includes('bank-breach'))('with exemplar limits (requests, timeline and flows listed as exemplars with counts), in either order (needs samples/bank-breach)', async () => {
    const ev = await gatherEvidence([join(REPO, 'samples', 'bank-breach')]);
    const opts = { ...OPTS, limits: TINY };
    const ref = reference(ev, opts);
    expect(ref.model.summary.aggregated).toBeDefined();
    for (const list of [ref.model.requests, ref.model.timeline, ref.model.flows]) expect(list.some((x) => x.more)).toBe(true);
    // (past `max`, a kind met for the first time lists no exemplar to count on: counted in the summary only)
    expect(ref.model.requests.reduce((n, r) => n + 1 + (r.more?.count ?? 0), 0)).toBeLessThan(ev.records.length);
    for (const order of ['events-first', 'interleaved'] as const) expect(JSON.stringify(viaBuilder(ev, ref.c, ref.model.findings, opts, order).model) === ref.json, order).toBe(true);
  }, 120_000);

  it('past the address limit, the first addresses met in call order get nodes of their own: events first, an event\'s leg wins; interleaved, a record added before a later event\'s leg wins; counts are exact either way', () => {
    // a → b captured, with a cleartext exchange: the server sidecar's inbound record and the client sidecar's
    // outbound record (whose upstream host is c) are one event (same x-request-id on that flow); then d → b.
    const [a, b, c, d] = ['10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.0.4'];
    const f = flow({ client: `${a}:5000`, server: `${b}:80`, http: [exchange({ headers: { 'x-request-id': ['R1'] } })] });
    const inbound = record({ from: `${a}:5000`, to: `${b}:80`, requestId: 'R1', cluster: 'inbound|80||' });
    const outbound = record({ requestId: 'R1', cluster: 'outbound|80||c.default.svc.cluster.local', upstreamHost: `${c}:80`, fields: { UPSTREAM_LOCAL_ADDRESS: `${a}:5000` } });
    const later = record({ from: `${d}:6000`, to: `${b}:80`, timeMs: T0 + 500 });
    const ev: Evidence = { inputs: [], hashes: new Map(), items: new Map(), problems: new Map(), unreadable: new Map(), flows: [f], records: [inbound, outbound, later], explanations: [], proxies: [], inventory: null, policies: [], diagnostics: [] };
    const opts = { ...OPTS, limits: { graphAddresses: 3 } };
    const ref = reference(ev, opts);
    expect(ref.c.recordEvent.get(outbound)).toBe(ref.c.recordEvent.get(inbound));
    const ids = (m: ReportModel) => m.graph.nodes.map((n) => n.id);
    expect(ids(ref.model)).toEqual(['ip:*', `ip:${a}`, `ip:${b}`, `ip:${d}`]);
    expect(ref.model.graph.nodes[0]).toMatchObject({ addresses: 1, ips: [c] });
    const first = viaBuilder(ev, ref.c, ref.model.findings, opts, 'events-first').model;
    expect(JSON.stringify(first) === ref.json).toBe(true);
    const interleaved = viaBuilder(ev, ref.c, ref.model.findings, opts, 'interleaved').model;
    expect(ids(interleaved)).toEqual(['ip:*', `ip:${a}`, `ip:${b}`, `ip:${c}`]);
    expect(interleaved.graph.nodes[0]).toMatchObject({ addresses: 1, ips: [d] });
    expect(interleaved.requests.find((r) => r.ref === later.ref)?.clientNode).toBe('ip:*');
    expect(interleaved.summary).toEqual(ref.model.summary);
    const requests = (m: ReportModel) => m.graph.edges.reduce((n, e) => n + e.requests.allowed + e.requests.denied + e.requests.rejected, 0);
    expect(requests(interleaved)).toBe(2);
    expect(requests(ref.model)).toBe(2);
  });
});

describe('flow views list the first records joined to a flow and count the rest', () => {
  const INV = inventory([pod('sleep-1', 'legacy', '10.0.0.5', 'sleep', 'sleep'), pod('details-1', 'default', '10.0.0.7', 'bookinfo-details', 'details')]);
  const evidence = (n: number): Evidence => {
    const f = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', startMs: T0, durMs: 60_000, protocol: 'tcp', evidence: [] });
    const records = Array.from({ length: n }, (_, i) => record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', timeMs: T0 + 10 * i, kind: 'tcp' }));
    return { inputs: [], hashes: new Map(), items: new Map(), problems: new Map(), unreadable: new Map(), flows: [f], records, explanations: [], proxies: [], inventory: INV, policies: [], diagnostics: [] };
  };

  it(`${FLOW_RECORD_REFS + 50} records joined to one connection: its view lists the first ${FLOW_RECORD_REFS} and says 50 more (the count stays exact everywhere else)`, () => {
    const ev = evidence(FLOW_RECORD_REFS + 50);
    const m = buildReportModel(ev, OPTS);
    const [view] = m.flows;
    expect(view!.records).toEqual(ev.records.slice(0, FLOW_RECORD_REFS).map((r) => r.ref));
    expect(view!.recordsNotListed).toBe(50);
    expect(renderHtml(m)).toContain('and 50 more</span>');
    expect(m.summary.records.correlatedWithCapture).toBe(FLOW_RECORD_REFS + 50);
    expect(m.requests.filter((r) => r.flow !== null)).toHaveLength(FLOW_RECORD_REFS + 50);
  });

  it(`${FLOW_RECORD_REFS} records: all listed, no recordsNotListed key`, () => {
    const ev = evidence(FLOW_RECORD_REFS);
    const [view] = buildReportModel(ev, OPTS).flows;
    expect(view!.records).toHaveLength(FLOW_RECORD_REFS);
    expect('recordsNotListed' in view!).toBe(false);
  });
});
