/**
 * FactsReplay (pass-facts.ts) hands a later report pass's records over exactly as pass 1's EventWindow did —
 * same order, same events (ids, records inbound first, flow, exchange), same per-record facts (proxy,
 * direction, wire leg, flow link, sidecar-local leg) — from the side log pass 1 wrote, without joining or grouping
 * again; with the side log in a file and in memory.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { CorrelationIndex } from '../../src/analysis/correlate.js';
import { EventWindow, pairZtunnelLegs, type EventRecord, type RequestEvent } from '../../src/analysis/request-events.js';
import { RecordFacts } from '../../src/analysis/record-facts.js';
import { eventNumber, FactsReplay, ROW, writeRow } from '../../src/analysis/pass-facts.js';
import { SideLog } from '../../src/analysis/side-log.js';
import type { ProxyView } from '../../src/analysis/proxies.js';
import type { AccessRecord, Flow } from '../../src/model/records.js';
import { legRecord } from './report-fixtures.js';

function canonical(records: AccessRecord[]): AccessRecord[] {
  const seq = new Map(records.map((r, i) => [r, i]));
  const timed = records.filter((r) => r.timeMs !== undefined).sort((a, b) => a.timeMs! - b.timeMs! || seq.get(a)! - seq.get(b)!);
  return [...timed, ...records.filter((r) => r.timeMs === undefined)];
}

const refOf = (r: AccessRecord): string => `${r.ref.file}:${r.ref.line}`;

/** One handed-over record: its event and the facts set on it, as text. */
function describeHand(idx: CorrelationIndex, x: EventRecord): string {
  const r = x.record;
  const e: RequestEvent = x.event;
  const l = idx.recordFlow.get(r);
  const leg = idx.recordLocalLeg.get(r);
  return [
    refOf(r),
    e.id,
    x.first,
    e.records.map(refOf).join(','),
    e.flow?.id ?? '',
    e.exchange ?? '',
    Object.keys(e).join(','),
    idx.recordProxy.get(r)?.source ?? '',
    idx.recordDirection.get(r) ?? '',
    JSON.stringify(idx.recordWire.get(r) ?? null),
    l ? `${l.flow.id}/${l.exchange}/${l.by}/${l.offsetMs}/${refOf(l.record)}/${Object.keys(l).join(',')}` : '',
    leg ? `${leg.flow.id}/${leg.exchange}/${leg.by}/${leg.xfcc}/${refOf(leg.record)}` : '',
  ].join('|');
}

/** Pass 1 (correlate + EventWindow, rows written) and a later pass (FactsReplay over copies of the timed records): both hand-overs described. */
function passes(flows: Flow[], proxies: ProxyView[], input: AccessRecord[], sidePath: string | null, skewMs = 2000): { first: string[]; later: string[]; legs: number } {
  const records = canonical(input);
  const timed = records.filter((r) => r.timeMs !== undefined);
  const untimed = records.filter((r) => r.timeMs === undefined);
  const idx = new CorrelationIndex(flows, proxies, null, { skewMs });
  const pairs = pairZtunnelLegs(records, skewMs);
  for (const r of untimed) idx.correlateRecord(r);
  const maxDurationMs = Math.max(0, ...records.map((r) => r.durationMs ?? 0));
  const proxyNo = new Map(proxies.map((p, i) => [p, i]));
  const flowNo = new Map(flows.map((f, i) => [f, i]));
  const side = new SideLog(ROW, sidePath);
  const recordEvent = new RecordFacts<AccessRecord, RequestEvent>('event');
  const first: string[] = [];
  const untimedEventNo: number[] = [];
  let legs = 0;
  const w = new EventWindow({ recordFlow: idx.recordFlow, recordWire: idx.recordWire, recordDirection: idx.recordDirection, skewMs, maxDurationMs }, untimed.map((r) => ({ r, ztunnelPair: pairs.get(r) })));
  let visited = 0;
  const hand = (out: EventRecord[]): void => {
    for (const x of out) {
      writeRow(side, idx, x.record, eventNumber(x.event), x.first, x.event, proxyNo, flowNo);
      if (visited++ >= timed.length) untimedEventNo.push(eventNumber(x.event));
      if (idx.recordLocalLeg.get(x.record)) legs++;
      first.push(describeHand(idx, x));
    }
  };
  for (const r of timed) {
    idx.correlateRecord(r);
    hand(w.push(r, pairs.get(r)));
  }
  hand(w.end());
  side.seal();

  // The later pass: fresh copies of the timed records (as a spill hands them back), the same untimed ones.
  const later: string[] = [];
  const facts = new FactsReplay(side.reader(), idx, recordEvent, proxies, flows, untimed, untimedEventNo, (x) => {
    expect(recordEvent.get(x.record)).toBe(x.event);
    later.push(describeHand(idx, x));
  });
  for (const r of timed) {
    const copy = { ...r };
    facts.apply(copy);
    facts.push(copy);
  }
  facts.end();
  facts.close();
  return { first, later, legs };
}

describe('FactsReplay', () => {
  it('hands every bundled sample over as EventWindow did, facts included (side log in a file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pass-facts-test-'));
    try {
      let handed = 0;
      let legs = 0;
      let linked = 0;
      for (const s of ['bookinfo-authz', 'bank-breach', 'legacy-plaintext', 'tcp-echo', 'wordpress-mtls', 'ambient-bookinfo', 'details-path', 'bookinfo-netpol']) {
        const ev = await gatherEvidence([join(REPO, 'samples', s)]);
        const got = passes(ev.flows, ev.proxies, ev.records, join(dir, `${s}.bin`));
        expect(got.later, s).toEqual(got.first);
        handed += got.first.length;
        legs += got.legs;
        linked += got.first.filter((d) => d.split('|')[9] !== '').length;
      }
      expect(handed).toBeGreaterThan(100);
      expect(linked).toBeGreaterThan(10);
      expect(legs).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('hands a random mix of legs, retries, long durations and records without a time over as EventWindow did (side log in memory and in a file, past one chunk)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pass-facts-test-'));
    try {
      let seed = 11;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      // records in events of several records; of those, events of timed records that records without a time joined
      let multi = 0;
      let mixed = 0;
      for (let round = 0; round < 12; round++) {
        const records: AccessRecord[] = [];
        // past 4,096 rows in some rounds: the side log's chunks
        const n = round % 4 === 0 ? 5000 : 300;
        for (let i = 0; i < n; i++) {
          const leg = rand(12);
          const untimed = rand(20) === 0;
          records.push(
            legRecord(i, {
              dir: rand(2) ? 'inbound' : 'outbound',
              client: `10.0.0.${leg % 4}:${40000 + (leg % 3)}`,
              server: `10.0.1.${leg % 2}:8080`,
              kind: rand(3) === 0 ? 'tcp' : 'http',
              ...(rand(2) ? { requestId: `rid-${rand(6)}` } : {}),
              ...(untimed ? {} : { timeMs: 1_700_000_000_000 + rand(8_000 + round * 1000) }),
              ...(rand(5) === 0 ? { durationMs: rand(10_000) } : {}),
            }),
          );
        }
        const got = passes([], [], records, round % 2 ? join(dir, `r${round}.bin`) : null);
        expect(got.later).toEqual(got.first);
        expect(got.first.length).toBe(n);
        // events of several records, some joined by records without a time
        const untimedRefs = new Set(records.filter((r) => r.timeMs === undefined).map((r) => `${r.ref.file}:${r.ref.line}`));
        for (const d of got.first) {
          const members = d.split('|')[3]!.split(',');
          if (members.length > 1) multi++;
          if (members.some((m) => untimedRefs.has(m)) && members.some((m) => !untimedRefs.has(m))) mixed++;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
