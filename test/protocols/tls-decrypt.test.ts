/**
 * Proof from key logs: TLS sessions recorded with their NSS key log (Node's real TLS and
 * `openssl s_client/s_server -keylogfile`) are decrypted. TLS 1.3 shows the encrypted client
 * Certificate, so an Istio flow is proven mtls with the client's SPIFFE id (not inferred); the
 * HTTP/1.1 and HTTP/2 inside is listed like cleartext. Sessions without keys keep today's verdict
 * and say "no key for client_random". The key schedule is checked against OpenSSL's own KDFs.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { captureBuffer, captureFile } from '../../src/readers/capture/index.js';
import { createStreamDecoder, KeyLog, parseKeyLog } from '../../src/protocols/index.js';
import { hkdfExpandLabel, prf12, RecordCipher, suiteParams, tls13Keys, nextTrafficSecret, type SuiteParams } from '../../src/protocols/tls/decrypt.js';
import type { Flow } from '../../src/model/records.js';
import { buildCapture } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { h2Conversation, http1Conversation } from '../../src/synth/http.js';
import { ISTIO_ALPN, istioSni, runTlsSession, type TlsSessionOptions, type WireMessage } from '../../src/synth/tls-session.js';
import { SHARED, hasShared } from '../helpers/cli.js';
import { opensslMissing, opensslSession } from '../helpers/openssl.js';

const SNI = istioSni(9080, 'details.default.svc.cluster.local');
const app = http1Conversation([
  { request: { path: '/details/0', host: 'details:9080', headers: [['authorization', 'Bearer secret-token']] }, response: { status: 200, body: '{"id":0}' } },
  { request: { path: '/details/1', host: 'details:9080' }, response: { status: 404, body: 'no' } },
]);

async function flowsOf(messages: readonly WireMessage[], keys: KeyLog | null, port = 9080): Promise<Flow[]> {
  const packets = tcpConversation(
    messages.map((m) => ({ dir: m.dir, bytes: m.bytes })),
    { client: { ip: '10.244.1.5', port: 40000 }, server: { ip: '10.244.2.7', port }, startMs: 1_700_000_000_000, mss: 1400 },
  );
  const out: Flow[] = [];
  const decoder = keys ? () => createStreamDecoder({ keys }) : () => createStreamDecoder();
  for await (const f of flowsFromCapture(captureBuffer('t.pcap', buildCapture([{ packets }])), { decoder })) out.push(f);
  return out;
}

async function session(o: Partial<TlsSessionOptions>) {
  return runTlsSession({ version: 'TLSv1.3', server: 'default/bookinfo-details', client: 'default/bookinfo-productpage', sni: SNI, alpn: ISTIO_ALPN.http11, app, ...o });
}

describe('key log parsing', () => {
  it('keeps secrets by client random and names bad lines by file and line', () => {
    const cr = 'ab'.repeat(32);
    const text = `# comment\nCLIENT_RANDOM ${cr} ${'11'.repeat(48)}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET ${cr} ${'22'.repeat(32)}\nBOGUS ${cr} 00\nCLIENT_RANDOM ${cr.slice(2)} ${'11'.repeat(48)}\nEXPORTER_SECRET ${cr} ${'33'.repeat(32)}\n`;
    const { keys, diagnostics } = parseKeyLog(text, 'k.log');
    const s = keys.get(Buffer.from(cr, 'hex'))!;
    expect(s.master!.toString('hex')).toBe('11'.repeat(48));
    expect(s.clientHandshake!.toString('hex')).toBe('22'.repeat(32));
    expect(diagnostics.map((d) => [d.location.line, d.message])).toEqual([
      [4, expect.stringMatching(/unknown key log label "BOGUS"/)],
      [5, expect.stringMatching(/32-byte client random/)],
    ]);
  });
});

describe('key schedule agrees with OpenSSL', () => {
  const skip = opensslMissing();
  it.skipIf(skip !== null)('TLS 1.2 PRF (SHA-256 and SHA-384) and HKDF-Expand-Label equal `openssl kdf` (needs openssl)', () => {
    const secret = Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex');
    const seed = Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex');
    for (const digest of ['sha256', 'sha384'] as const) {
      const r = spawnSync('openssl', ['kdf', '-keylen', '100', '-kdfopt', `digest:${digest.toUpperCase()}`, '-kdfopt', `hexsecret:${secret.toString('hex')}`, '-kdfopt', `hexseed:${Buffer.concat([Buffer.from('test label'), seed]).toString('hex')}`, 'TLS1-PRF'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(prf12(digest, secret, 'test label', seed, 100).toString('hex')).toBe(r.stdout.trim().replace(/:/g, '').toLowerCase());
    }
    const prk = Buffer.alloc(32, 7);
    const label = Buffer.from('tls13 key');
    const info = Buffer.concat([Buffer.from([0, 16, label.length]), label, Buffer.from([0])]);
    const r = spawnSync('openssl', ['kdf', '-keylen', '16', '-kdfopt', 'digest:SHA256', '-kdfopt', 'mode:EXPAND_ONLY', '-kdfopt', `hexkey:${prk.toString('hex')}`, '-kdfopt', `hexinfo:${info.toString('hex')}`, 'HKDF'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(hkdfExpandLabel('sha256', prk, 'key', new Uint8Array(0), 16).toString('hex')).toBe(r.stdout.trim().replace(/:/g, '').toLowerCase());
  });
  if (skip) it('OpenSSL KDF comparison', () => console.log(`skipped: ${skip}`));

  it('seals and opens records in sequence; a KeyUpdate rekeys; a wrong key fails the tag', () => {
    for (const suite of [0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xcca8]) {
      const p = suiteParams(suite) as SuiteParams;
      const tls13 = suite >> 8 === 0x13;
      const keys = tls13 ? tls13Keys(p, Buffer.alloc(32, 1)) : { key: Buffer.alloc(p.keyLength, 2), iv: Buffer.alloc(p.fixedIvLength, 3) };
      const w = new RecordCipher(p, keys, tls13);
      const r = new RecordCipher(p, keys, tls13);
      for (const msg of ['first', 'second', 'third']) {
        const s = w.seal(23, 0x0303, Buffer.from(msg));
        expect(r.open(s.type, 0x0303, s.body)).toEqual({ ok: true, type: 23, plaintext: Buffer.from(msg) });
      }
      const bad = new RecordCipher(p, { key: Buffer.alloc(p.keyLength, 9), iv: keys.iv }, tls13);
      const s = w.seal(23, 0x0303, Buffer.from('x'));
      expect(bad.open(s.type, 0x0303, s.body)).toMatchObject({ ok: false, reason: expect.stringMatching(/authentication tag/) });
    }
    const p = suiteParams(0x1301) as SuiteParams;
    const next = nextTrafficSecret('sha256', Buffer.alloc(32, 1));
    expect(next).toHaveLength(32);
    expect(next.equals(Buffer.alloc(32, 1))).toBe(false);
    expect(suiteParams(0x002f)).toMatchObject({ unsupported: expect.stringMatching(/TLS_RSA_WITH_AES_128_CBC_SHA is not decrypted/) });
    expect(p.aead).toBe('aes-128-gcm');
  });
});

describe('decrypting sessions recorded with their key log (Node TLS)', () => {
  it('TLS 1.3 Istio mTLS: proven mtls with the client SPIFFE id, HTTP/1.1 listed; without keys it stays inferred', async () => {
    const s = await session({});
    const { keys } = parseKeyLog(s.keylog, 'node.keylog');
    const [f] = await flowsOf(s.messages, keys);
    expect(f!.security).toBe('mtls');
    expect(f!.inferred).toBe(false);
    expect(f!.evidence).toEqual(['client-certificate', 'decrypted']);
    expect(f!.tls).toMatchObject({ version: 'TLSv1.3', clientCertificateRequested: true, clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'], serverUriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-details'], alpnSelected: 'http/1.1' });
    expect(f!.tls!.decryption).toMatchObject({ status: 'decrypted', failed: 0, protocol: 'http/1.1' });
    expect(f!.http.map((h) => `${h.method} ${h.path} ${h.status}`)).toEqual(['GET /details/0 200', 'GET /details/1 404']);
    const [plain] = await flowsOf(s.messages, null);
    expect(plain!.inferred).toBe(true);
    expect(plain!.http).toEqual([]);
    expect(plain!.tls!.decryption).toBeUndefined();
    // keys of another session: listed as before, with the reason
    const other = await session({});
    const [nokey] = await flowsOf(s.messages, parseKeyLog(other.keylog, 'other').keys);
    expect(nokey!.inferred).toBe(true);
    expect(nokey!.tls!.decryption).toMatchObject({ status: 'no-key', reason: 'no key for client_random' });
  });

  it('TLS 1.3 one-way TLS: the server asked for no certificate, seen in the decrypted flight', async () => {
    const s = await session({ client: undefined, requestCert: false });
    const [f] = await flowsOf(s.messages, parseKeyLog(s.keylog, 'k').keys);
    expect(f!.security).toBe('tls');
    expect(f!.tls).toMatchObject({ clientCertificateRequested: false, clientCertificateSent: false });
    expect(f!.http).toHaveLength(2);
  });

  it('TLS 1.3 HTTP/2 (ALPN h2) inside: exchanges listed, authorization redacted by the reporters', async () => {
    const h2 = await h2Conversation([{ request: { path: '/productpage', host: 'productpage:9080', headers: [['authorization', 'Bearer t0k']] }, response: { status: 200, body: 'ok' } }]);
    const s = await session({ alpn: ISTIO_ALPN.h2, app: h2 });
    const [f] = await flowsOf(s.messages, parseKeyLog(s.keylog, 'k').keys);
    expect(f!.tls!.decryption).toMatchObject({ status: 'decrypted', protocol: 'h2' });
    expect(f!.http.map((h) => `${h.method} ${h.path} ${h.status}`)).toEqual(['GET /productpage 200']);
    expect(f!.security).toBe('mtls');
  });

  for (const [version, cipher, name] of [
    ['TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'TLS_AES_256_GCM_SHA384'],
    ['TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'],
    ['TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256', /AES_128_GCM_SHA256/],
    ['TLSv1.2', 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384', /AES_256_GCM_SHA384/],
    ['TLSv1.2', 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-CHACHA20-POLY1305', /CHACHA20_POLY1305_SHA256/],
  ] as const) {
    it(`${version} ${typeof name === 'string' ? name : cipher}: every record opens, HTTP listed`, async () => {
      const s = await session({ version, cipher });
      const [f] = await flowsOf(s.messages, parseKeyLog(s.keylog, 'k').keys);
      expect(f!.tls!.cipherSuiteName).toMatch(name);
      expect(f!.tls!.decryption).toMatchObject({ status: 'decrypted', failed: 0, notCaptured: 0 });
      expect(f!.http.map((h) => h.status)).toEqual([200, 404]);
      expect(f!.security).toBe('mtls');
      expect(f!.inferred).toBe(false);
    });
  }

  it('a key log whose secrets do not fit the session fails loudly (tag mismatch), verdict unchanged', async () => {
    const s = await session({});
    const cr = /CLIENT_HANDSHAKE_TRAFFIC_SECRET (\w+)/.exec(s.keylog)![1]!;
    const wrong = s.keylog.replace(/(SERVER_HANDSHAKE_TRAFFIC_SECRET \w+ )(\w+)/, (_, a: string, b: string) => a + 'f'.repeat(b.length));
    const [f] = await flowsOf(s.messages, parseKeyLog(wrong, 'k').keys);
    expect(f!.tls!.decryption).toMatchObject({ status: 'failed', clientRandom: cr.toLowerCase() });
    expect(f!.inferred).toBe(true);
    expect(f!.notes.join('\n')).toMatch(/decryption failed at frame \d+: authentication tag mismatch/);
  });
});

describe.skipIf(!hasShared)('a real capture: Zeek tls12-decryption.pcap, tshark -o tls.keylog_file agrees: GET / → 301 (needs ../shared)', () => {
  it('TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384 with its master secret decrypts to the HTTP/1.1 exchange', async () => {
    // the master secret from Zeek's own test (testing/btest/scripts/policy/protocols/ssl/decryption.zeek)
    const line = 'CLIENT_RANDOM 4d98940fb40a244b48e42eac287144b1b7393057caa131f961a78e38b0e77c1e bd01e589d105199e9ab5fc9bd758b5f288db28fd80aa02261e4765ac1357d007fd08c7bdab45450e015a01d08e5e7ca6\n';
    const keys = parseKeyLog(line, 'zeek.keylog').keys;
    const out: Flow[] = [];
    for await (const f of flowsFromCapture(captureFile(`${SHARED}captures/zeek-tls12-decryption.pcap`), { decoder: () => createStreamDecoder({ keys }) })) out.push(f);
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.tls!.decryption).toMatchObject({ status: 'decrypted', failed: 0, protocol: 'http/1.1' });
    expect(f.http.map((h) => `${h.method} ${h.path} ${h.status}`)).toEqual(['GET / 301']);
    expect(f.notes).toContain('client sent alert (decrypted): warning close_notify (0) at frame 13');
    if (spawnSync('tshark', ['-v']).status === 0) {
      const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-keylog-'));
      writeFileSync(`${dir}/k.log`, line);
      const t = spawnSync('tshark', ['-r', `${SHARED}captures/zeek-tls12-decryption.pcap`, '-o', `tls.keylog_file:${dir}/k.log`, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code'], { encoding: 'utf8' });
      expect(t.stdout.trim().split('\n').map((l) => l.trim())).toEqual(['GET\t/', '301']);
    }
  });
});

describe('openssl s_client/s_server with -keylogfile', () => {
  const skip = opensslMissing();
  if (skip) it('openssl sessions', () => console.log(`skipped: ${skip}`));
  it.skipIf(skip !== null)('TLS 1.3 with a client certificate and KeyUpdate in both directions: proven mtls, GET / listed after the rekey (needs openssl)', async () => {
    const s = await opensslSession({ version: '-tls1_3', clientCert: true, input: ['K\n', 'GET / HTTP/1.0\r\n\r\n'] });
    const [f] = await flowsOf(s.messages, parseKeyLog(s.keylog, 'openssl.keylog').keys, 4433);
    expect(f!.tls!.decryption).toMatchObject({ status: 'decrypted', failed: 0 });
    expect(f!.security).toBe('mtls');
    expect(f!.tls!.uriSans).toEqual(['spiffe://cluster.local/ns/test/sa/openssl']);
    expect(f!.notes.join('\n')).toMatch(/client KeyUpdate at frame \d+: keys updated/);
    expect(f!.notes.join('\n')).toMatch(/server KeyUpdate at frame \d+: keys updated/);
    expect(f!.http.map((h) => `${h.method} ${h.path} ${h.status}`)).toEqual(['GET / 200']);
  }, 30000);
  it.skipIf(skip !== null)('TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305: GET / listed (needs openssl)', async () => {
    const s = await opensslSession({ version: '-tls1_2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305', input: ['GET / HTTP/1.0\r\n\r\n'] });
    const [f] = await flowsOf(s.messages, parseKeyLog(s.keylog, 'openssl.keylog').keys, 4433);
    expect(f!.tls!.cipherSuiteName).toBe('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
    expect(f!.tls!.decryption).toMatchObject({ status: 'decrypted', failed: 0 });
    expect(f!.http.map((h) => `${h.method} ${h.path} ${h.status}`)).toEqual(['GET / 200']);
  }, 30000);
});
