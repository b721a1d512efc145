/**
 * Large evidence stays readable: the report lists exemplar records and timeline events with exact
 * counts, and every count (summary, graph, findings) is the same as when everything is listed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel, type ReportModel } from '../../src/analysis/report-model.js';
import { writeFleetEvidence } from '../../src/synth/fleet.js';

const SAMPLE = join(import.meta.dirname, '../../samples/bookinfo-authz');
const LINES = 600;
const SMALL = { requests: { listAll: 50, perKind: 2, perKindUnexplained: 4, max: 10_000 }, timeline: { listAll: 40, perSignature: 2, max: 10_000 } };
const HUGE = { requests: { listAll: 1e9, perKind: 1e9, perKindUnexplained: 1e9, max: 1e9 }, timeline: { listAll: 1e9, perSignature: 1e9, max: 1e9 } };

describe.skipIf(!existsSync(SAMPLE))('report on large evidence: exemplars with exact counts (needs samples/bookinfo-authz)', () => {
  let dir: string;
  let full: ReportModel;
  let agg: ReportModel;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshsleuth-agg-'));
    await writeFleetEvidence(dir, { lines: LINES, sample: SAMPLE });
    const ev = await gatherEvidence([dir]);
    const opts = { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00.000Z' };
    full = buildReportModel(ev, { ...opts, limits: HUGE });
    agg = buildReportModel(ev, { ...opts, limits: SMALL });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every record and event when under the limits (no aggregate in the summary)', () => {
    expect(full.requests).toHaveLength(LINES);
    expect(full.summary.aggregated).toBeUndefined();
    expect(full.timeline).toHaveLength(full.summary.timelineEvents);
  });

  it('counts stay exact: summary, graph and findings are those of the full listing', () => {
    const { aggregated, ...rest } = agg.summary;
    expect(rest).toEqual(full.summary);
    expect(agg.graph).toEqual(full.graph);
    expect(agg.findings).toEqual(full.findings);
    expect(aggregated).toEqual({ requests: { listed: agg.requests.length, total: LINES }, timeline: { listed: agg.timeline.length, total: full.timeline.length }, flows: { listed: 0, total: 0 } });
  });

  it('every record is listed or counted on an exemplar of its kind; every record a finding cites is listed', () => {
    expect(agg.requests.length).toBeLessThan(LINES / 4);
    const counted = agg.requests.reduce((n, r) => n + 1 + (r.more?.count ?? 0), 0);
    expect(counted).toBe(LINES);
    const cited = full.requests.filter((r) => r.findings.length > 0).map((r) => `${r.ref.file}:${r.ref.line}`);
    const listed = new Set(agg.requests.map((r) => `${r.ref.file}:${r.ref.line}`));
    for (const k of cited) expect(listed.has(k), k).toBe(true);
    // An exemplar is the record itself, as the full listing shows it.
    const byRef = new Map(full.requests.map((r) => [`${r.ref.file}:${r.ref.line}`, r]));
    for (const r of agg.requests) {
      const { more, ...view } = r;
      expect(view).toEqual(byRef.get(`${r.ref.file}:${r.ref.line}`));
      if (more) expect(Date.parse(more.until ?? '')).toBeGreaterThanOrEqual(Date.parse(r.time ?? ''));
    }
  });

  it('every timeline event is listed or counted; per kind the earliest are listed, the last counted one is named', () => {
    expect(agg.timeline.length).toBeLessThan(full.timeline.length / 2);
    expect(agg.timeline.reduce((n, e) => n + 1 + (e.more?.count ?? 0), 0)).toBe(full.timeline.length);
    const times = agg.timeline.map((e) => e.timeMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const last = full.timeline[full.timeline.length - 1]!;
    const same = (a: { file: string; line?: number }): boolean => a.file === last.ref.file && a.line === last.ref.line;
    expect(agg.timeline.some((e) => same(e.ref) || (e.more !== undefined && same(e.more.last)))).toBe(true);
    for (const e of agg.timeline.filter((x) => x.findings.length > 0)) expect(full.timeline.some((x) => x.ref.file === e.ref.file && x.ref.line === e.ref.line)).toBe(true);
  });

  it('a global cap bounds the listing whatever the number of kinds, and says how many were left out', () => {
    const ev = { requests: { ...SMALL.requests, max: 5 }, timeline: { ...SMALL.timeline, max: 3 } };
    return gatherEvidence([dir]).then((g) => {
      const m = buildReportModel(g, { skewMs: 2000, showSecrets: false, limits: ev });
      expect(m.requests.filter((r) => r.findings.length === 0).length).toBeLessThanOrEqual(5);
      expect(m.timeline.filter((e) => e.findings.length === 0).length).toBeLessThanOrEqual(3);
      expect(m.summary.aggregated?.requests.total).toBe(LINES);
      expect(m.summary.timelineEvents).toBe(full.timeline.length);
    });
  }, 60_000);
});

describe('report on a large capture: connections listed as exemplars with exact counts', () => {
  it('lists the first connections of each kind, counts the rest on the last one listed, and keeps every count', async () => {
    const { tcpConversation } = await import('../../src/synth/tcp.js');
    const { buildCapture } = await import('../../src/synth/capture.js');
    const { writeFileSync } = await import('node:fs');
    const packets = [];
    for (let i = 0; i < 300; i++) {
      // Only the SYN of each: 200 from one client to :8080, 100 from another to :9090.
      const client = { ip: i < 200 ? '10.1.0.1' : '10.1.0.2', port: 40000 + i };
      packets.push(tcpConversation([], { client, server: { ip: '10.0.0.2', port: i < 200 ? 8080 : 9090 }, startMs: 1_700_000_000_000 + i, close: 'none', isnClient: i })[0]!);
    }
    const d = mkdtempSync(join(tmpdir(), 'meshsleuth-agg-flows-'));
    try {
      writeFileSync(join(d, 'syn.pcap'), buildCapture([{ packets }]));
      const ev = await gatherEvidence([d]);
      const opts = { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00.000Z' };
      const all = buildReportModel(ev, { ...opts, limits: HUGE });
      const m = buildReportModel(ev, { ...opts, limits: { ...HUGE, flows: { listAll: 10, perKind: 2, max: 100 } } });
      expect(all.flows).toHaveLength(300);
      expect(m.flows).toHaveLength(4);
      expect(m.flows.map((f) => f.more?.count ?? 0).sort((a, b) => a - b)).toEqual([0, 0, 98, 198]);
      expect(m.summary.aggregated?.flows).toEqual({ listed: 4, total: 300 });
      const { aggregated, ...rest } = m.summary;
      expect(aggregated).toBeDefined();
      expect(rest).toEqual(all.summary);
      expect(m.graph).toEqual(all.graph);
      // Unresolved addresses beyond the limit are one node, 'other addresses'; every connection still counts on an edge.
      const g = buildReportModel(ev, { ...opts, limits: { ...HUGE, graphAddresses: 2 } });
      expect(g.graph.nodes.map((n) => n.id)).toEqual(['ip:*', 'ip:10.0.0.2', 'ip:10.1.0.1']);
      expect(g.graph.nodes[0]).toMatchObject({ label: 'other addresses', addresses: 1, ips: ['10.1.0.2'] });
      const total = (mm: typeof g): number => mm.graph.edges.reduce((n, e) => n + Object.values(e.flows).reduce((a, b) => a + b, 0), 0);
      expect(total(g)).toBe(300);
      expect(total(all)).toBe(300);
      expect(all.graph.nodes).toHaveLength(3);
      expect(all.graph.nodes.some((n) => n.id === 'ip:*')).toBe(false);
      const last = m.flows.find((f) => f.more?.count === 198)!;
      expect(last.more!.last).toEqual({ file: all.flows[199]!.file, frame: all.flows[199]!.frames[0] });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});
