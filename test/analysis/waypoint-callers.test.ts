/**
 * A waypoint's record joined to the client ztunnel's outbound record that names the caller: client pod IP (never the
 * port: ztunnel logs the app's socket, the waypoint sees the pooled HBONE connection), dst.hbone_addr = the waypoint
 * record's downstream local address, the request inside the ztunnel connection's lifetime (± skew); several records
 * with different identities are ambiguous and named; no record leaves the identity-based decision undecidable.
 */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import { explainWithWaypointCaller, waypointCallerOf, WaypointCallerIndex } from '../../src/analysis/waypoint-callers.js';
import { explainRecord } from '../../src/analysis/explain.js';
import { decideRequest } from '../../src/envoy/decide.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';
import type { AccessRecord } from '../../src/model/records.js';

const T = '\t';
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const PP = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage';
/** A client ztunnel's outbound record of a tunnel through the waypoint 10.244.2.30 to the reviews VIP. */
const zt = (time: string, client: string, identity: string | null, durationMs: number, hbone = '10.96.20.20:9080', via = '10.244.2.30:15008'): string =>
  `${time}${T}info${T}access${T}connection complete${T}src.addr=${client} src.workload="w"${identity ? ` src.identity="${identity}"` : ''} dst.addr=${via} dst.hbone_addr=${hbone} dst.service="reviews.bookinfo.svc.cluster.local" dst.workload="waypoint-6f9c8d7b5-k2x4n" direction="outbound" bytes_sent=1 bytes_recv=2 duration="${durationMs}ms"`;
/** The waypoint's record (Istio TEXT format): downstream remote = the HBONE connection's peer (another port). */
const wp = (time: string, code: number, details: string, remote: string, local = '10.96.20.20:9080'): string =>
  `[${time}] "GET /reviews/0 HTTP/1.1" ${code} - ${details} - "-" 0 19 3 - "-" "curl/8.5.0" "rid" "reviews.bookinfo:9080" "-" inbound-vip|9080|http|reviews.bookinfo.svc.cluster.local - ${local} ${remote} - default`;

async function records(path: string, lines: string[]): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path, stream: Readable.from([lines.join('\n') + '\n']) })) out.push(r);
  return out;
}

async function waypointDecider(): Promise<(r: AccessRecord) => ReturnType<typeof explainRecord>> {
  const { dumps } = await loadConfigDumps(['samples/ambient-bookinfo/config_dumps/waypoint-6f9c8d7b5-k2x4n.bookinfo.json']);
  return (r) => explainRecord(r, (req, o) => decideRequest(dumps[0]!, req, { unknown: o.unknown }));
}

describe('waypoint callers from the client ztunnel log', () => {
  it('takes only outbound records through another host on 15008 (a waypoint), with their connection span', async () => {
    const [toWaypoint, direct, inbound] = await records('zt.log', [
      zt('2026-11-23T14:00:09.854058Z', '10.244.1.15:45880', SLEEP, 3),
      zt('2026-11-23T14:00:12.243806Z', '10.244.1.15:45892', SLEEP, 3, '10.244.2.21:9080', '10.244.2.21:15008'),
      zt('2026-11-23T14:00:12.243806Z', '10.244.1.15:45892', SLEEP, 3).replace('direction="outbound"', 'direction="inbound"'),
    ]);
    expect(waypointCallerOf(toWaypoint!)).toMatchObject({ clientIp: '10.244.1.15', hbone: '10.96.20.20:9080', via: '10.244.2.30:15008', identity: SLEEP, ref: 'zt.log:1', endMs: Date.parse('2026-11-23T14:00:09.854Z'), startMs: Date.parse('2026-11-23T14:00:09.851Z') });
    expect(waypointCallerOf(direct!)).toBeNull();
    expect(waypointCallerOf(inbound!)).toBeNull();
  });

  it('decides the waypoint deny with the caller ztunnel logged, joined by client IP (not port), VIP and time, and says where the identity came from', async () => {
    const explain = await waypointDecider();
    const ix = new WaypointCallerIndex();
    for (const r of await records('zt.log', [zt('2026-11-23T14:00:09.854058Z', '10.244.1.15:45880', SLEEP, 3)])) ix.addRecord(r);
    const [rec] = await records('wp.log', [wp('2026-11-23T14:00:09.852Z', 403, 'rbac_access_denied_matched_policy[none]', '10.244.1.15:39456')]);
    const alone = explain(rec!);
    expect(alone.verdict).toBe('undecidable');
    const e = explainWithWaypointCaller(rec!, ix, 2000, explain);
    expect(e.verdict).toBe('agrees');
    expect(e.decision?.decision).toBe('DENY');
    expect(e.decision?.policy).toBeNull();
    expect(e.reason).toContain(`caller ${SLEEP} (io.istio.peer_principal) from the client ztunnel's outbound record zt.log:1`);
    expect(e.reason).toMatch(/closest miss .*reviews-get-from-productpage.*needs exact "spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-productpage"/);
    expect(e.identityEvidence).toContain(`src.identity ${SLEEP} in the client ztunnel's record zt.log:1`);
    expect(e.record).toBe(rec);
  });

  it('the allowed request is decided with its ALLOW policy once productpage is the caller', async () => {
    const explain = await waypointDecider();
    const ix = new WaypointCallerIndex();
    for (const r of await records('zt.log', [zt('2026-11-23T14:00:05.121214Z', '10.244.1.10:50412', PP, 9)])) ix.addRecord(r);
    const [rec] = await records('wp.log', [wp('2026-11-23T14:00:05.113Z', 200, 'via_upstream', '10.244.1.10:41872')]);
    const e = explainWithWaypointCaller(rec!, ix, 2000, explain);
    expect([e.verdict, e.decision?.decision, e.decision?.policy]).toEqual(['agrees', 'ALLOW', 'ns[bookinfo]-policy[reviews-get-from-productpage]-rule[0]']);
  });

  it('another client IP, another VIP, or a connection outside the skew window is no join: undecidable, saying what was looked for', async () => {
    const explain = await waypointDecider();
    const [rec] = await records('wp.log', [wp('2026-11-23T14:00:09.852Z', 403, 'rbac_access_denied_matched_policy[none]', '10.244.1.15:39456')]);
    for (const line of [
      zt('2026-11-23T14:00:09.854058Z', '10.244.1.99:45880', SLEEP, 3),
      zt('2026-11-23T14:00:09.854058Z', '10.244.1.15:45880', SLEEP, 3, '10.96.20.40:9080'),
      zt('2026-11-23T14:00:30.000000Z', '10.244.1.15:45880', SLEEP, 3),
    ]) {
      const ix = new WaypointCallerIndex();
      for (const r of await records('zt.log', [line])) ix.addRecord(r);
      const e = explainWithWaypointCaller(rec!, ix, 2000, explain);
      expect(e.verdict).toBe('undecidable');
      expect(e.reason).toContain('no client ztunnel outbound record from 10.244.1.15 to 10.96.20.20:9080 (dst.hbone_addr) whose connection spans the request (±2000 ms)');
    }
    // the skew is what widens the window: 30 s away is a join with a 60 s skew
    const ix = new WaypointCallerIndex();
    for (const r of await records('zt.log', [zt('2026-11-23T14:00:30.000000Z', '10.244.1.15:45880', SLEEP, 3)])) ix.addRecord(r);
    expect(explainWithWaypointCaller(rec!, ix, 60_000, explain).verdict).toBe('agrees');
  });

  it('two overlapping records with different identities are ambiguous: undecidable, naming both', async () => {
    const explain = await waypointDecider();
    const ix = new WaypointCallerIndex();
    for (const r of await records('zt.log', [zt('2026-11-23T14:00:09.854058Z', '10.244.1.15:45880', SLEEP, 3), zt('2026-11-23T14:00:09.900000Z', '10.244.1.15:45990', PP, 100)])) ix.addRecord(r);
    const [rec] = await records('wp.log', [wp('2026-11-23T14:00:09.852Z', 403, 'rbac_access_denied_matched_policy[none]', '10.244.1.15:39456')]);
    const e = explainWithWaypointCaller(rec!, ix, 2000, explain);
    expect(e.verdict).toBe('undecidable');
    expect(e.reason).toContain(`the caller's identity is ambiguous: 2 client ztunnel records from 10.244.1.15 to 10.96.20.20:9080 span the request with different identities: zt.log:1 (${SLEEP}), zt.log:2 (${PP})`);
    expect(e.missing).toContain('a unique client ztunnel record for the caller');
    // the same identity twice (two app connections of one pod) is not ambiguous
    const same = new WaypointCallerIndex();
    for (const r of await records('zt.log', [zt('2026-11-23T14:00:09.854058Z', '10.244.1.15:45880', SLEEP, 3), zt('2026-11-23T14:00:09.900000Z', '10.244.1.15:45990', SLEEP, 100)])) same.addRecord(r);
    const e2 = explainWithWaypointCaller(rec!, same, 2000, explain);
    expect(e2.verdict).toBe('agrees');
    expect(e2.reason).toContain('zt.log:1 (+1 more with the same identity)');
  });

  it('a candidate without src.identity does not decide: undecidable, naming the record', async () => {
    const explain = await waypointDecider();
    const ix = new WaypointCallerIndex();
    for (const r of await records('zt.log', [zt('2026-11-23T14:00:09.854058Z', '10.244.1.15:45880', null, 3)])) ix.addRecord(r);
    const [rec] = await records('wp.log', [wp('2026-11-23T14:00:09.852Z', 403, 'rbac_access_denied_matched_policy[none]', '10.244.1.15:39456')]);
    const e = explainWithWaypointCaller(rec!, ix, 2000, explain);
    expect(e.verdict).toBe('undecidable');
    expect(e.reason).toContain('the client ztunnel record zt.log:1 does not log src.identity');
  });
});
