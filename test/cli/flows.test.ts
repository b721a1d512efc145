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

  it('-o json follows the DESIGN.md flows contract and redacts secrets', async () => {
    const r = await runCli(['flows', pod, '-o', 'json']);
    expect(r.code).toBe(0);
    const flows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
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
    const flows = JSON.parse(r.stdout) as Array<{ security: string; evidence: string[]; packets: number }>;
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
    const flows = JSON.parse(r.stdout) as Array<{ client: { port: number }; sidecarLocal: boolean; configCheck?: { mode: string; port: number | string; consistent: boolean | null; note: string; matchedBy: string } }>;
    expect(flows).toHaveLength(2);
    const leaked = flows.find((f) => f.client.port === 40003)!;
    expect(leaked.configCheck).toMatchObject({ mode: 'PERMISSIVE', port: 80, consistent: true, matchedBy: 'only-dump' });
    expect(leaked.configCheck!.note).toMatch(/plaintext accepted by a PERMISSIVE port/);
    expect(flows.find((f) => f.sidecarLocal)!.configCheck).toBeUndefined();
    const table = await runCli(['flows', pod, '--config', dump]);
    expect(table.stdout).toMatch(/PORT MODE/);
    expect(table.stdout).toMatch(/10\.44\.9\.9:40003\s+10\.44\.1\.27:80\s+plaintext\s+cleartext-http\s+PERMISSIVE/);
  });
});
