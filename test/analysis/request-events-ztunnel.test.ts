/**
 * Ambient: the client ztunnel's outbound record and the destination ztunnel's inbound record of one HBONE tunnel are
 * one request event — joined by client pod IP, the tunnel's target (dst.hbone_addr) and overlapping connection
 * intervals (± skew), never by port (outbound ztunnel logs the app's ephemeral port, inbound the HBONE connection's).
 * Several fitting partners: no merge, whatever the record order.
 */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import { groupRequestEvents, pairZtunnelLegs } from '../../src/analysis/request-events.js';
import { RecordFacts } from '../../src/analysis/record-facts.js';
import type { AccessRecord } from '../../src/model/records.js';
import type { Direction, HostPort, RecordLink } from '../../src/analysis/correlate.js';

const T = '\t';
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
/** The client ztunnel's record: src.addr = the app's socket; dst.addr = the target's IP on 15008. */
const out = (time: string, client: string, durationMs: number, target = '10.244.2.21', via = target): string =>
  `${time}${T}info${T}access${T}connection complete${T}src.addr=${client} src.workload="sleep-5b8d7f6c4-jw9zt" src.namespace="default" src.identity="${SLEEP}" dst.addr=${via}:15008 dst.hbone_addr=${target}:9080 dst.workload="ratings-v1" direction="outbound" bytes_sent=0 bytes_recv=0 duration="${durationMs}ms"`;
/** The destination ztunnel's record: src.addr = the HBONE connection's peer (another port). */
const inb = (time: string, client: string, durationMs: number, target = '10.244.2.21'): string =>
  `${time}${T}error${T}access${T}connection complete${T}src.addr=${client} src.workload="sleep-5b8d7f6c4-jw9zt" src.namespace="default" src.identity="${SLEEP}" dst.addr=${target}:9080 dst.hbone_addr=${target}:9080 dst.workload="ratings-v1" direction="inbound" bytes_sent=0 bytes_recv=0 duration="${durationMs}ms" error="connection closed due to policy rejection: explicitly denied by: bookinfo/ratings-deny-other-namespaces"`;

async function records(path: string, lines: string[]): Promise<AccessRecord[]> {
  const res: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path, stream: Readable.from([lines.join('\n') + '\n']) })) res.push(r);
  return res;
}

/** Groups as correlate.ts does for records joined to no capture (wire legs from src.addr/destination). */
function group(recs: AccessRecord[], skewMs = 2000): string[][] {
  const recordWire = new RecordFacts<AccessRecord, { client?: HostPort; server?: HostPort }>('wire');
  const recordDirection = new RecordFacts<AccessRecord, Direction>('direction');
  for (const r of recs) {
    const s = r.attrs.source;
    const d = r.attrs.destination;
    recordWire.set(r, { ...(s ? { client: { ip: s.address, port: s.port } } : {}), ...(d ? { server: { ip: d.address, port: d.port } } : {}) });
    recordDirection.set(r, 'unknown');
  }
  const { events } = groupRequestEvents({ records: recs, recordFlow: new RecordFacts<AccessRecord, RecordLink>('flow'), recordWire, recordDirection, skewMs });
  return events.map((e) => e.records.map((r) => `${r.ref.file}:${r.ref.line}`).sort());
}

describe('ztunnel outbound ↔ inbound records of one tunnel', () => {
  it('are one event although the client ports differ (app socket vs HBONE connection)', async () => {
    const a = await records('client.log', [out('2026-11-23T14:00:12.243806Z', '10.244.1.15:45892', 3)]);
    const b = await records('server.log', [inb('2026-11-23T14:00:12.241415Z', '10.244.1.15:39470', 0)]);
    expect(group([...a, ...b])).toEqual([['client.log:1', 'server.log:1']]);
  });

  it('are not paired across client IPs, targets, or connections further apart than the skew window', async () => {
    const a = await records('client.log', [
      out('2026-11-23T14:00:12.243806Z', '10.244.1.16:45892', 3),
      out('2026-11-23T14:00:12.243806Z', '10.244.1.15:45893', 3, '10.244.2.22'),
      out('2026-11-23T14:00:20.000000Z', '10.244.1.15:45894', 3),
    ]);
    const b = await records('server.log', [inb('2026-11-23T14:00:12.241415Z', '10.244.1.15:39470', 0)]);
    expect(group([...a, ...b]).length).toBe(4);
    // the same 8 s apart pair with a window wide enough: the interval overlap decides
    expect(pairZtunnelLegs([a[2]!, ...b], 10_000).size).toBe(2);
  });

  it('a tunnel to a waypoint (dst.addr on another IP) is not paired with the target workload\'s inbound record', async () => {
    const a = await records('client.log', [out('2026-11-23T14:00:12.243806Z', '10.244.1.15:45892', 3, '10.244.2.21', '10.244.2.30')]);
    const b = await records('server.log', [inb('2026-11-23T14:00:12.241415Z', '10.244.1.15:39470', 0)]);
    expect(pairZtunnelLegs([...a, ...b], 2000).size).toBe(0);
  });

  it('several fitting partners: nothing merged, in any record order', async () => {
    const a = await records('client.log', [
      out('2026-11-23T14:00:12.243806Z', '10.244.1.15:45892', 3),
      out('2026-11-23T14:00:12.300000Z', '10.244.1.15:45900', 3),
    ]);
    const b = await records('server.log', [inb('2026-11-23T14:00:12.241415Z', '10.244.1.15:39470', 0)]);
    expect(group([...a, ...b]).length).toBe(3);
    expect(group([...b, ...a]).length).toBe(3);
    // two inbound records for one outbound: the same
    const c = await records('server2.log', [inb('2026-11-23T14:00:12.242000Z', '10.244.1.15:39480', 0)]);
    expect(group([a[0]!, ...b, ...c]).length).toBe(3);
    expect(group([...c, ...b, a[0]!]).length).toBe(3);
  });
});
