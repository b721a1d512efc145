/**
 * `--keylog` on flows and report: TLS sessions in the key log are decrypted (proven mtls, the HTTP
 * inside listed and redacted), the others counted as "no key for client_random"; a key log that is
 * not one is refused naming the file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';
import { buildCapture } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { http1Conversation } from '../../src/synth/http.js';
import { ISTIO_ALPN, istioSni, runTlsSession } from '../../src/synth/tls-session.js';

const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-keylog-cli-'));
const cap = join(dir, 'ev', 'node.pcap');
const keylog = join(dir, 'sslkeys.log');

beforeAll(async () => {
  const app = http1Conversation([{ request: { path: '/details/0', host: 'details:9080', headers: [['authorization', 'Bearer s3cr3t']] }, response: { status: 200, body: '{}' } }]);
  const flows = [];
  let keys = '';
  for (const [i, client] of [[0, 'default/bookinfo-productpage'], [1, 'default/bookinfo-reviews']] as const) {
    const s = await runTlsSession({ version: 'TLSv1.3', server: 'default/bookinfo-details', client, sni: istioSni(9080, 'details.default.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app });
    // only the first session's keys are logged
    if (i === 0) keys += s.keylog;
    flows.push({ packets: tcpConversation(s.messages.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: { ip: '10.244.1.5', port: 40000 + i }, server: { ip: '10.244.2.7', port: 9080 }, startMs: 1_700_000_000_000 + i * 1000 }) });
  }
  mkdirSync(join(dir, 'ev'));
  writeFileSync(cap, buildCapture(flows));
  writeFileSync(keylog, keys);
  writeFileSync(join(dir, 'junk.bin'), Buffer.from([0, 1, 2, 3]));
});

describe('--keylog', () => {
  it('flows: the logged session is proven mtls with its client identity and its request; the other counted as no key', async () => {
    const r = await runCli(['flows', cap, '--keylog', keylog, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { flows: { inferred: boolean; evidence: string[]; tls: { uriSans: string[]; decryption: { status: string } }; http: { path: string; headers: Record<string, string[]> }[] }[]; decryption: Record<string, number> };
    expect(doc.decryption).toEqual({ sessions: 2, decrypted: 1, noKey: 1, failed: 0, unsupported: 0 });
    const [a, b] = doc.flows;
    expect(a!.inferred).toBe(false);
    expect(a!.evidence).toEqual(['client-certificate', 'decrypted']);
    expect(a!.tls.uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-productpage']);
    expect(a!.http[0]!.path).toBe('/details/0');
    expect(a!.http[0]!.headers.authorization).toEqual(['Bearer [redacted]']);
    expect(b!.inferred).toBe(true);
    expect(b!.tls.decryption.status).toBe('no-key');
    expect(r.stderr).toContain('key log: 2 TLS sessions: 1 decrypted, 1 no key for client_random');
    const t = await runCli(['flows', cap, '--keylog', keylog]);
    expect(t.stdout).toMatch(/mtls\s+client-certificate,decrypted\s+tls.*client=ns\/default\/sa\/bookinfo-productpage.*GET details:9080\/details\/0 → 200/);
    expect(t.stdout).toContain('2 flows: 2 mtls (1 inferred)');
    // worker threads read the key log themselves: the same output
    const t2 = await runCli(['flows', cap, cap, '--keylog', keylog, '--threads', '2']);
    const t1 = await runCli(['flows', cap, cap, '--keylog', keylog, '--threads', '1']);
    expect(t2.stdout).toBe(t1.stdout);
    expect(t2.stdout).toContain('4 flows: 4 mtls (2 inferred)');
  });

  it('report: the decrypted flow is proven in the report too', async () => {
    const r = await runCli(['report', join(dir, 'ev'), '--keylog', keylog, '-o', join(dir, 'r.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('key log: 2 TLS sessions: 1 decrypted, 1 no key for client_random');
  });

  it('the README example (test/fixtures/capture/istio-tls13-details.*): one session proven, one inferred', async () => {
    const r = await runCli(['flows', 'istio-tls13-details.pcap', '--keylog', 'istio-tls13-details.keylog'], { cwd: join(REPO, 'test/fixtures/capture') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/10\.244\.1\.5:40000\s+10\.244\.2\.7:9080\s+mtls\s+client-certificate,decrypted .*client=ns\/default\/sa\/bookinfo-productpage server=ns\/default\/sa\/bookinfo-details\s+GET details:9080\/details\/0 → 200/);
    expect(r.stdout).toMatch(/10\.244\.1\.7:40001\s+10\.244\.2\.7:9080\s+mtls\*/);
    expect(r.stderr).toContain('key log: 2 TLS sessions: 1 decrypted, 1 no key for client_random');
  });

  it('a file that is not a key log is refused naming it (exit 2)', async () => {
    const r = await runCli(['flows', cap, '--keylog', join(dir, 'junk.bin')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, 'junk.bin'));
  });
});
