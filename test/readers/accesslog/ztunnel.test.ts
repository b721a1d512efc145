/**
 * ztunnel access logs: plain (tabs or spaces, quoted and bare values), JSON, pre-1.22 span lines,
 * every `error` string ztunnel's tests assert (tests/namespaced.rs: the policy rejection and the
 * HBONE ip mismatch) and the other Error variants of src/proxy.rs classified; a log mixing ztunnel
 * and Envoy lines split by content; unknown ztunnel messages counted and named.
 */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { classifyZtunnelError, parseKeyValues, parseZtunnelLine, readAccessLogs, newStats, isAccessLog } from '../../../src/readers/accesslog/index.js';
import type { AccessRecord } from '../../../src/model/records.js';
import { detectContent } from '../../../src/readers/detect.js';

const T = '\t';
const OUT = `2024-05-04T09:59:05.028771Z${T}info${T}access${T}connection complete${T}src.addr=10.244.1.12:58508 src.workload="curl-7656cf8794-r7zb9" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/curl" dst.addr=10.244.1.10:15008 dst.hbone_addr="10.244.1.10:9080" dst.service="productpage.default.svc.cluster.local" dst.workload="productpage-v1-87d54dd59-fn6vw" dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-productpage" direction="outbound" bytes_sent=80 bytes_recv=175 duration="1ms"`;
const DENY = `2026-10-09T11:39:41.876395Z${T}error${T}access${T}connection complete${T}src.addr=10.244.0.14:58564 src.workload="shuttle-7b5db664c-hmlqb" src.namespace="starfleet" src.identity="spiffe://cluster.local/ns/starfleet/sa/shuttle" dst.addr=10.244.0.8:15008 dst.hbone_addr=10.244.0.8:9080 dst.service="cargo.starfleet.svc.cluster.local" dst.workload="cargo-v1-6f787f8bd5-h2bpn" dst.namespace="starfleet" dst.identity="spiffe://cluster.local/ns/starfleet/sa/starfleet-cargo" direction="inbound" bytes_sent=0 bytes_recv=0 duration="0ms" error="connection closed due to policy rejection: allow policies exist, but none allowed"`;

async function read(text: string): Promise<{ recs: AccessRecord[]; stats: ReturnType<typeof newStats> }> {
  const stats = newStats();
  const recs: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path: 'zt.log', stream: Readable.from([text]) }, { stats })) recs.push(r);
  return { recs, stats };
}

describe('ztunnel access-log lines', () => {
  it('reads a plain outbound line: addresses, HBONE target, workloads, identities, bytes, duration', async () => {
    const { recs } = await read(OUT + '\n');
    expect(recs).toHaveLength(1);
    const r = recs[0]!;
    expect(r.format).toBe('ztunnel');
    expect(r.time).toBe('2024-05-04T09:59:05.028771Z');
    expect(r.ztunnel).toMatchObject({ message: 'connection complete', direction: 'outbound', srcIdentity: 'spiffe://cluster.local/ns/default/sa/curl', dstAddr: '10.244.1.10:15008', dstHboneAddr: '10.244.1.10:9080', dstWorkload: 'productpage-v1-87d54dd59-fn6vw' });
    expect(r.attrs.destination).toEqual({ address: '10.244.1.10', port: 9080 });
    expect(r.attrs.source).toEqual({ address: '10.244.1.12', port: 58508 });
    expect(r).toMatchObject({ bytesSent: 80, bytesReceived: 175, durationMs: 1, kind: 'tcp' });
    // Outbound: src.identity is the local workload, not a peer the destination authorizes.
    expect(r.attrs.tls).toBeUndefined();
    expect(r.unknown).toContain('tls');
  });
  it('reads an inbound policy rejection (bare dst.hbone_addr) with the peer identity and the classified error', async () => {
    const { recs } = await read(DENY + '\n');
    const r = recs[0]!;
    expect(r.attrs.tls?.uriSans).toEqual(['spiffe://cluster.local/ns/starfleet/sa/shuttle']);
    expect(r.attrs.destination).toEqual({ address: '10.244.0.8', port: 9080 });
    expect(r.ztunnel?.level).toBe('error');
    expect(r.ztunnel?.error).toMatchObject({ cause: 'policy-rejection', rejection: 'not-allowed' });
    expect(r.connectionTerminationDetails).toBe('connection closed due to policy rejection: allow policies exist, but none allowed');
  });
  it('accepts space-separated copies (as pasted in docs) and kubectl --timestamps prefixes', async () => {
    const spaced = OUT.replace(/\t/g, '  ');
    const { recs } = await read(`${spaced}\n2024-05-04T09:59:06.000000000Z ${OUT}\n`);
    expect(recs).toHaveLength(2);
    expect(recs.every((r) => r.ztunnel?.dstHboneAddr === '10.244.1.10:9080')).toBe(true);
  });
  it('reads LOG_FORMAT=json lines', async () => {
    const j = JSON.stringify({ level: 'info', time: '2024-05-04T09:59:05.028771Z', scope: 'access', message: 'connection complete', 'src.addr': '10.244.1.12:58508', 'src.identity': 'spiffe://cluster.local/ns/default/sa/curl', 'dst.addr': '10.244.1.10:15008', 'dst.hbone_addr': '10.244.1.10:9080', direction: 'inbound', bytes_sent: 175, bytes_recv: 80, duration: '1ms' });
    const { recs } = await read(j + '\n');
    expect(recs[0]).toMatchObject({ format: 'ztunnel-json', bytesSent: 175, bytesReceived: 80 });
    expect(recs[0]!.attrs.tls?.uriSans[0]).toBe('spiffe://cluster.local/ns/default/sa/curl');
  });
  it('an early deny (`connection failed`) carries addresses, direction and error only: the identity is unknown', async () => {
    const { recs } = await read(`2025-01-01T00:00:00.000001Z${T}warn${T}access${T}connection failed${T}src.addr=10.0.0.1:1234 dst.addr=10.0.0.2:15008 dst.hbone_addr=10.0.0.2:80 direction="inbound" error="connection closed due to policy rejection: explicitly denied by: ns1/deny-all"\n`);
    expect(recs[0]!.unknown).toContain('tls');
    expect(recs[0]!.ztunnel?.error).toMatchObject({ rejection: 'explicitly-denied', policy: 'ns1/deny-all' });
  });
  it('reads pre-1.22 span lines as far as they carry facts', async () => {
    const text = [
      '2023-08-14T09:33:24.969996Z  INFO inbound{id=ec177a563e4899869359422b5cdd1df4 peer_ip=10.240.2.16 peer_id=spiffe://cluster.local/ns/ambient-demo/sa/sleep}: ztunnel::proxy::inbound: got CONNECT request to 10.240.1.11:80',
      '2023-08-14T09:33:25.226403Z  INFO outbound{id=9d99723a61c9496532d34acec5c77126}: ztunnel::proxy::outbound: proxy to 10.240.1.11:80 using HBONE via 10.240.1.11:15008 type Direct',
      '2023-06-28T23:43:39.212939Z  INFO outbound{id=d5d9157a8ffceb216bc7133392e9f073}: ztunnel::proxy::outbound: complete dur=87.687768ms',
      '2024-04-25T10:00:00.000000Z  WARN proxy{uid=abc}:inbound{id=1 peer_ip=10.0.0.5 peer_id=spiffe://cluster.local/ns/x/sa/y}: ztunnel::proxy::inbound: RBAC rejected conn=10.0.0.5(spiffe://cluster.local/ns/x/sa/y)->10.0.0.6:80',
    ].join('\n') + '\n';
    const { recs } = await read(text);
    expect(recs).toHaveLength(4);
    expect(recs.every((r) => r.format === 'ztunnel-legacy')).toBe(true);
    expect(recs[0]!.attrs).toMatchObject({ source: { address: '10.240.2.16' }, destination: { address: '10.240.1.11', port: 80 } });
    expect(recs[0]!.attrs.tls?.uriSans).toEqual(['spiffe://cluster.local/ns/ambient-demo/sa/sleep']);
    expect(recs[1]!.ztunnel).toMatchObject({ direction: 'outbound', dstHboneAddr: '10.240.1.11:80', dstAddr: '10.240.1.11:15008' });
    expect(recs[2]!.durationMs).toBeCloseTo(87.687768, 5);
    expect(recs[3]!.ztunnel?.error).toMatchObject({ cause: 'policy-rejection', rejection: 'unspecified' });
    expect(recs[3]!.attrs.destination).toEqual({ address: '10.0.0.6', port: 80 });
  });
  it('splits a log that mixes ztunnel and Envoy lines by content, and counts proxy own-log lines', async () => {
    const envoy = '[2024-05-04T09:59:05.100Z] "GET /productpage HTTP/1.1" 200 - via_upstream - "-" 0 5293 20 19 "-" "curl/8.5.0" "4f4a-1" "productpage:9080" "10.244.1.10:9080" inbound|9080|| 127.0.0.6:43539 10.244.1.10:9080 10.244.1.12:0 outbound_.9080_._.productpage.default.svc.cluster.local default';
    const xds = `2024-05-04T09:59:00.000000Z${T}info${T}xds::client${T}received response type_url="type.googleapis.com/istio.workload.Address" size=3`;
    const state = `2024-05-04T09:59:00.000000Z${T}info${T}ztunnel::state${T}allow policy match policy=default/allow`;
    const { recs, stats } = await read([OUT, envoy, xds, state, DENY].join('\n') + '\n');
    expect(recs.map((r) => r.format)).toEqual(['ztunnel', 'istio', 'ztunnel']);
    expect(stats.other).toBe(2);
    expect(stats.skipped).toBe(0);
  });
  it('ztunnelOnly (the waypoint callers\' pre-pass) yields the same ztunnel records and passes over Envoy text and JSON lines unparsed', async () => {
    const envoy = '[2024-05-04T09:59:05.100Z] "GET /productpage HTTP/1.1" 200 - via_upstream - "-" 0 5293 20 19 "-" "curl/8.5.0" "4f4a-1" "productpage:9080" "10.244.1.10:9080" inbound|9080|| 127.0.0.6:43539 10.244.1.10:9080 10.244.1.12:0 outbound_.9080_._.productpage.default.svc.cluster.local default';
    const json = '{"start_time":"2024-05-04T09:59:05.100Z","response_code":200,"downstream_remote_address":"10.244.1.12:1234"}';
    const pretty = '{\n  "start_time": "2024-05-04T09:59:05.100Z",\n  "response_code": 403\n}';
    const text = [OUT, envoy, json, pretty, `[pod/ztunnel-x/istio-proxy] ${DENY}`, 'not a log line'].join('\n') + '\n';
    const all = await read(text);
    const stats = newStats();
    const only: AccessRecord[] = [];
    for await (const r of readAccessLogs({ path: 'zt.log', stream: Readable.from([text]) }, { stats, ztunnelOnly: true })) only.push(r);
    expect(all.recs.map((r) => r.format)).toEqual(['ztunnel', 'istio', 'json', 'json', 'ztunnel']);
    expect(only).toEqual(all.recs.filter((r) => r.ztunnel));
    expect(only.map((r) => r.node)).toEqual([undefined, 'ztunnel-x']);
    expect(stats.skipped).toBe(0); // the line that fits nothing is not even looked at
    expect(all.stats.skipped).toBe(1);
  });
  it('counts and names an unknown access message instead of dropping it', async () => {
    const { recs, stats } = await read(`2030-01-01T00:00:00.000000Z${T}info${T}access${T}connection resumed${T}src.addr=1.1.1.1:1\n${DENY}\n`);
    expect(recs).toHaveLength(1);
    expect(stats.ztunnelUnknown).toEqual({ 'connection resumed': 1 });
    expect(stats.skipped).toBe(1);
    expect(stats.diagnostics[0]!.message).toMatch(/unknown message "connection resumed"/);
  });
  it('is detected by content as an access log (plain and JSON)', () => {
    expect(isAccessLog(OUT + '\n' + DENY + '\n')).toBe(true);
    expect(detectContent(Buffer.from(OUT + '\n'), true).kind).toBe('access-log');
    const j = JSON.stringify({ level: 'error', time: '2024-05-04T09:59:05Z', scope: 'access', message: 'connection complete', 'src.addr': '1.1.1.1:2', direction: 'inbound', error: 'x' });
    expect(detectContent(Buffer.from(j + '\n'), true).kind).toBe('access-log');
  });
  it('parses Rust Debug-quoted values with escapes', () => {
    expect(parseKeyValues('a="x \\"y\\" \\u{e9}" b=1')).toEqual({ a: 'x "y" é', b: '1' });
    expect(parseKeyValues('a="unterminated')).toBeNull();
    expect(parseZtunnelLine('not a log line')).toBeNull();
  });
});

describe('ztunnel error causes (src/proxy.rs Error and AuthorizationRejectionError)', () => {
  const cases: [string, string, Record<string, unknown>?][] = [
    // asserted by ztunnel's tests/namespaced.rs
    ['connection closed due to policy rejection: allow policies exist, but none allowed', 'policy-rejection', { rejection: 'not-allowed' }],
    ['ip mismatch: 10.0.0.2 != 10.0.0.3', 'ip-mismatch'],
    // the other rejection reasons and causes
    ['connection closed due to policy rejection: explicitly denied by: istio-system/istio_converted_static_strict', 'policy-rejection', { rejection: 'explicitly-denied', policy: 'istio-system/istio_converted_static_strict' }],
    ['connection closed due to policy rejection: workload not found', 'policy-rejection', { rejection: 'workload-not-found' }],
    ['connection closed due to policy rejection: workload mismatch', 'policy-rejection', { rejection: 'workload-mismatch' }],
    ['connection closed due to policy rejection', 'policy-rejection', { rejection: 'unspecified' }],
    ['connection closed due to policy change', 'policy-change'],
    ['connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed', 'network-policy-timeout'],
    ['connection closed: peer certificate revoked by CRL', 'cert-revoked'],
    ['tls error: invalid peer certificate: UnknownIssuer', 'tls'],
    ['identity error: failed to fetch certificate', 'identity'],
    ['http2 handshake failed: connection reset', 'http2-handshake'],
    ['h2 failed: stream no longer needed', 'h2'],
    ['http status: 401 Unauthorized', 'http-status', { status: 401 }],
    ['http status: 503 Service Unavailable', 'http-status', { status: 503 }],
    ['unknown waypoint: /10.96.1.1', 'unknown-waypoint'],
    ['no healthy upstream: 10.0.0.9:80', 'no-healthy-upstream'],
    ['connection failed: Connection refused (os error 111)', 'connection-failed'],
    ['io error: Connection reset by peer (os error 104)', 'io'],
    ['no ip addresses were resolved for workload: x', 'dns'],
    ['no service for target address: 10.0.0.1:80', 'routing'],
    ['connection closed due to connection drain', 'drain'],
    ['something new', 'other'],
  ];
  for (const [text, cause, extra] of cases) {
    it(`${text} → ${cause}`, () => {
      const e = classifyZtunnelError(text);
      expect(e.cause).toBe(cause);
      if (extra) expect(e).toMatchObject(extra);
      expect(e.meaning.length).toBeGreaterThan(0);
    });
  }
});
