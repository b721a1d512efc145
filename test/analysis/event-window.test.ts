/**
 * EventWindow (request-events.ts) groups records that come one at a time in canonical order, in a window,
 * into the same events as groupRequestEvents over every record in that order: same ids, same records.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { CorrelationIndex } from '../../src/analysis/correlate.js';
import { EventWindow, groupRequestEvents, pairZtunnelLegs, type EventRecord, type RequestEvent } from '../../src/analysis/request-events.js';
import type { AccessRecord, Flow } from '../../src/model/records.js';
import { legRecord } from './report-fixtures.js';

function canonical(records: AccessRecord[]): AccessRecord[] {
  const seq = new Map(records.map((r, i) => [r, i]));
  const timed = records.filter((r) => r.timeMs !== undefined).sort((a, b) => a.timeMs! - b.timeMs! || seq.get(a)! - seq.get(b)!);
  return [...timed, ...records.filter((r) => r.timeMs === undefined)];
}

const describeEvents = (events: RequestEvent[]): string[] => events.map((e) => `${e.id}:${e.records.map((r) => `${r.ref.file}:${r.ref.line}`).join(',')}|${e.flow?.id ?? ''}|${e.exchange ?? ''}`);

/** Both groupings of the same records; the window's events in the order their first record came back. */
function both(flows: Flow[], input: AccessRecord[], skewMs = 2000): { whole: string[]; window: string[]; out: EventRecord[] } {
  const records = canonical(input);
  const idx = new CorrelationIndex(flows, [], null, { skewMs });
  for (const r of records) idx.correlateRecord(r);
  const whole = groupRequestEvents({ records, recordFlow: idx.recordFlow, recordWire: idx.recordWire, recordDirection: idx.recordDirection, skewMs });
  const pairs = pairZtunnelLegs(records, skewMs);
  const maxDurationMs = Math.max(0, ...records.map((r) => r.durationMs ?? 0));
  const w = new EventWindow({ recordFlow: idx.recordFlow, recordWire: idx.recordWire, recordDirection: idx.recordDirection, skewMs, maxDurationMs }, records.filter((r) => r.timeMs === undefined).map((r) => ({ r, ztunnelPair: pairs.get(r) })));
  const out: EventRecord[] = [];
  for (const r of records) if (r.timeMs !== undefined) out.push(...w.push(r, pairs.get(r)));
  out.push(...w.end());
  return { whole: describeEvents(whole.events), window: describeEvents(out.filter((x) => x.first).map((x) => x.event)), out };
}

describe('EventWindow', () => {
  it('groups every bundled sample into the events groupRequestEvents makes (records in canonical order)', async () => {
    let events = 0;
    for (const s of ['bookinfo-authz', 'bank-breach', 'legacy-plaintext', 'tcp-echo', 'wordpress-mtls', 'ambient-bookinfo', 'details-path', 'bookinfo-netpol']) {
      const ev = await gatherEvidence([join(REPO, 'samples', s)]);
      const { whole, window } = both(ev.flows, ev.records);
      expect(window, s).toEqual(whole);
      events += whole.length;
    }
    expect(events).toBeGreaterThan(50);
  }, 120_000);

  it('gives the same events on a random mix of legs, retries, long durations and records without a time', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 40; round++) {
      const records: AccessRecord[] = [];
      for (let i = 0; i < 300; i++) {
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
      const { whole, window, out } = both([], records);
      expect(window).toEqual(whole);
      // every record once, timed ones in canonical order before those without a time
      expect(out.length).toBe(records.length);
      expect(new Set(out.map((x) => x.record)).size).toBe(records.length);
      const times = out.map((x) => x.record.timeMs ?? Infinity);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });
});
