import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, SHARED, hasShared } from '../helpers/cli.js';
import { buildCapture } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { http1Conversation } from '../../src/synth/http.js';
import { runTlsSession, ISTIO_ALPN, istioSni } from '../../src/synth/tls-session.js';
import { PcapWriter } from '../../src/synth/pcap-writer.js';

let dir = '';
let pod = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshsleuth-flows-'));
  const app = http1Conversation([{ request: { path: '/status/200', host: 'httpbin:8000', headers: [['authorization', 'Bearer s3cr3t-token']] }, response: { status: 200 } }]);
  const mtls = await runTlsSession({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app });
  const conv = (msgs: typeof app, client: { ip: string; port: number }, server: { ip: string; port: number }, startMs: number) =>
    tcpConversation(msgs.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client, server, startMs });
  pod = join(dir, 'pod.pcap');
  writeFileSync(
    pod,
    buildCapture([
      { packets: conv(mtls.messages, { ip: '10.44.1.23', port: 40001 }, { ip: '10.44.1.27', port: 80 }, 1_763_800_000_000) },
      { packets: conv(app, { ip: '127.0.0.6', port: 40002 }, { ip: '10.44.1.27', port: 80 }, 1_763_800_000_010) },
      { packets: conv(app, { ip: '10.44.9.9', port: 40003 }, { ip: '10.44.1.27', port: 80 }, 1_763_800_000_020) },
    ]),
  );
});

describe('meshsleuth flows', () => {
  it('prints a table with the verdicts and a summary line', async () => {
    const r = await runCli(['flows', pod]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CLIENT\s+SERVER\s+SECURITY\s+EVIDENCE/);
    expect(r.stdout).toMatch(/10\.44\.1\.23:40001\s+10\.44\.1\.27:80\s+mtls\*\s+istio-alpn,istio-sni,tls13-certificates-encrypted/);
    expect(r.stdout).toMatch(/127\.0\.0\.6:40002\s+10\.44\.1\.27:80\s+plaintext \(sidecar-local\)\s+cleartext-http/);
    expect(r.stdout).toMatch(/3 flows: 1 mtls \(1 inferred\), 2 plaintext \(1 sidecar-local\)/);
    expect(r.stderr).toBe('');
  });

  it('-o json follows the DESIGN.md flows contract (flows, UDP conversations, per-file frame accounting) and redacts secrets', async () => {
    const r = await runCli(['flows', pod, '-o', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { flows: Array<Record<string, unknown>>; udp: unknown[]; stats: Array<{ frames: number; tcpFrames: number }> };
    const flows = doc.flows;
    expect(doc.udp).toEqual([]);
    expect(doc.stats[0]).toMatchObject({ tcpFrames: doc.stats[0]!.frames });
    expect(flows).toHaveLength(3);
    const f = flows[0]!;
    for (const k of ['client', 'server', 'security', 'evidence', 'tls', 'protocol', 'http', 'sidecarLocal', 'frames']) expect(f).toHaveProperty(k);
    expect(f.client).toEqual({ ip: '10.44.1.23', port: 40001 });
    expect(f.tls).toMatchObject({ version: 'TLSv1.3', sni: 'outbound_.80_._.httpbin.foo.svc.cluster.local'.replace('80', '8000'), alpn: ['istio-http/1.1', 'istio', 'http/1.1'], clientCertificateRequested: null, uriSans: [] });
    const plain = flows[2]!;
    expect(plain.tls).toBeNull();
    expect(plain.protocol).toBe('http/1.1');
    expect(JSON.stringify(plain.http)).toContain('Bearer [redacted]');
    expect(r.stdout).not.toContain('s3cr3t');
    expect(r.stderr).toMatch(/3 flows/);
    const shown = await runCli(['flows', pod, '-o', 'json', '--show-secrets']);
    expect(shown.stdout).toContain('s3cr3t-token');
  });

  it('-o ndjson streams one flow per line; filters by verdict, port and host', async () => {
    const r = await runCli(['flows', pod, '-o', 'ndjson', '--security', 'plaintext']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { security: string; client: { port: number } });
    expect(lines.map((l) => [l.security, l.client.port])).toEqual([['plaintext', 40002], ['plaintext', 40003]]);
    const byPort = await runCli(['flows', pod, '-o', 'ndjson', '--port', '40001']);
    expect(byPort.stdout.trim().split('\n')).toHaveLength(1);
    const byHost = await runCli(['flows', pod, '-o', 'ndjson', '--host', 'httpbin.foo.svc.cluster.local']);
    expect(byHost.stdout.trim().split('\n')).toHaveLength(1);
    const local = await runCli(['flows', pod, '-o', 'ndjson', '--security', 'sidecar-local']);
    expect(local.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('--fail-on plaintext exits 1 for plaintext that left the pod, not for the sidecar-local leg', async () => {
    const r = await runCli(['flows', pod, '--fail-on', 'plaintext']);
    expect(r.code).toBe(1);
    const onlyLocal = await runCli(['flows', pod, '--fail-on', 'plaintext', '--port', '40002']);
    expect(onlyLocal.code).toBe(0);
    const bad = await runCli(['flows', pod, '--fail-on', 'cleartext']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--fail-on: unknown condition 'cleartext'/);
  });

  it('reads standard input with `-`', async () => {
    const r = await runCli(['flows', '-', '-o', 'ndjson'], { input: readFileSync(pod) });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('bad input: not a capture → exit 2 with the offset; other files still processed', async () => {
    const notCap = join(dir, 'dump.json');
    writeFileSync(notCap, '{"configs": []}');
    const r = await runCli(['flows', notCap, pod, '-o', 'ndjson']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dump\.json, offset 0: expected a pcap or pcapng capture/);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('a corrupt record length: error with offset and frame, flows before it kept, exit 2', async () => {
    const buf = Buffer.from(readFileSync(pod));
    let off = 24;
    for (let i = 0; i < 4; i++) off += 16 + buf.readUInt32LE(off + 8);
    buf.writeUInt32LE(0x7fffff00, off + 8);
    const p = join(dir, 'corrupt.pcap');
    writeFileSync(p, buf);
    const r = await runCli(['flows', p, '-o', 'ndjson']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`error: .*corrupt\\.pcap, frame 5, offset ${off}: corrupt pcap record`));
    expect(r.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(1);
  });

  it('an unknown link type is a warning naming the first frame', async () => {
    const w = new PcapWriter({ linkType: 147 });
    w.add({ timeNs: 1n, data: new Uint8Array(40) });
    const p = join(dir, 'user0.pcap');
    writeFileSync(p, w.toBuffer());
    const r = await runCli(['flows', p]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*user0\.pcap, frame 1: unsupported link type 147/);
    expect(r.stdout).toMatch(/^0 flows/m);
  });

  it.skipIf(!hasShared)('derived-cut-mid-packet.pcap: warning with offset 9079 and frame 15, the flow is still reported (needs ../shared)', async () => {
    const r = await runCli(['flows', SHARED + 'captures/derived-cut-mid-packet.pcap', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*derived-cut-mid-packet\.pcap, frame 15, offset 9079: file cut short/);
    const flows = (JSON.parse(r.stdout) as { flows: Array<{ security: string; evidence: string[]; packets: number }> }).flows;
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ security: 'tls', evidence: ['certificate-request', 'handshake-incomplete'], packets: 14 });
  });

  it.skipIf(!hasShared)('zeek-snaplen-truncated-smtp.pcap: payload not captured is unknown, never plaintext (needs ../shared)', async () => {
    const r = await runCli(['flows', SHARED + 'captures/zeek-snaplen-truncated-smtp.pcap', '--fail-on', 'plaintext']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/unknown\s+payload-not-captured/);
    expect(r.stdout).toMatch(/1 flow: 1 unknown/);
  });

  it.skipIf(!hasShared)('--config: plaintext accepted by a PERMISSIVE port is said so (needs ../shared)', async () => {
    const dump = SHARED + 'fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml';
    // options before and after the capture: repeated options must not swallow positionals
    const r = await runCli(['flows', '--config', dump, pod, '-o', 'json', '--security', 'plaintext', '--fail-on', 'config-mismatch']);
    expect(r.code).toBe(0);
    const flows = (JSON.parse(r.stdout) as { flows: Array<{ client: { port: number }; sidecarLocal: boolean; configCheck?: { mode: string; port: number | string; consistent: boolean | null; note: string; matchedBy: string } }> }).flows;
    expect(flows).toHaveLength(2);
    const leaked = flows.find((f) => f.client.port === 40003)!;
    expect(leaked.configCheck).toMatchObject({ mode: 'PERMISSIVE', port: 80, consistent: true, matchedBy: 'only-dump' });
    expect(leaked.configCheck!.note).toMatch(/plaintext accepted by a PERMISSIVE port/);
    expect(flows.find((f) => f.sidecarLocal)!.configCheck).toBeUndefined();
    const table = await runCli(['flows', pod, '--config', dump]);
    expect(table.stdout).toMatch(/PORT MODE/);
    expect(table.stdout).toMatch(/10\.44\.9\.9:40003\s+10\.44\.1\.27:80\s+plaintext\s+cleartext-http\s+PERMISSIVE/);
  });
  it.skipIf(!hasShared)('a DNS-only capture lists its UDP conversations (Zeek conn.log style) instead of a bare "0 flows"; stderr accounts for every frame (needs ../shared)', async () => {
    const f = SHARED + 'captures/zeek-pcapng-multi-interface.pcapng';
    const r = await runCli(['flows', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/UDP conversations \(listed, not judged for security\)/);
    expect(r.stdout).toMatch(/172\.17\.0\.2:36343\s+1\.1\.1\.1:53\s+dns\s+\S+\s+0\.014s\s+1\/1\s+54\/172\s+SF/);
    expect(r.stdout).toMatch(/^0 flows; 3 UDP conversations \(listed, not judged\)$/m);
    expect(r.stderr).toMatch(/zeek-pcapng-multi-interface\.pcapng: 6 frames, 0 TCP; not analysed: 6 UDP \(3 conversations\)/);
    const j = JSON.parse((await runCli(['flows', f, '-o', 'json'])).stdout) as { flows: unknown[]; udp: Array<{ connState: string; service: string | null; bytes: { clientToServer: number; serverToClient: number } }>; stats: Array<{ frames: number; skipped: Record<string, number> }> };
    expect(j.flows).toEqual([]);
    expect(j.udp.map((u) => `${u.service} ${u.connState} ${u.bytes.clientToServer}/${u.bytes.serverToClient}`)).toEqual(['dns SF 54/172', 'dns SF 28/124', 'dns SF 28/140']);
    expect(j.stats[0]).toMatchObject({ frames: 6, tcpFrames: 0, skipped: { udp: 6 } });
  });

  it.skipIf(!hasShared)('an overlay capture: flows come out of the tunnel, stderr names what was decapsulated and what was not analysed (needs ../shared)', async () => {
    const r = await runCli(['flows', SHARED + 'external/captures/zeek-erspan.pcap', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { flows: Array<{ tunnel: { kind: string; key?: number; outer: { src: string; dst: string } } | null }>; stats: Array<{ frames: number; tcpFrames: number; skipped: Record<string, number> }> };
    expect(j.flows).toHaveLength(5);
    for (const f of j.flows) expect(f.tunnel?.kind).toBe('gre');
    const s = j.stats[0]!;
    expect(s.tcpFrames + Object.values(s.skipped).reduce((a, b) => a + b, 0)).toBe(s.frames);
    expect(r.stderr).toMatch(/287 frames, 106 TCP; decapsulated: 248 gre; not analysed: 10 ARP, 48 UDP \(9 conversations\), 84 ICMP; 55 IP fragments reassembled into 16 datagrams/);
  });
});
