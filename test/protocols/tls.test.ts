import { describe, expect, it } from 'vitest';
import { fromFirstApplicationRecord } from '../helpers/tls-messages.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { HRR_RANDOM, parseClientHello } from '../../src/protocols/tls/handshake.js';
import { rfc2253, splitSubjectAltName } from '../../src/protocols/tls/x509.js';
import { ISTIO_ALPN, istioSni, runTlsSession, type TlsSessionOptions, type WireMessage } from '../../src/synth/tls-session.js';
import { http1Conversation } from '../../src/synth/http.js';
import { c2s, feed, s2c, type Step } from './feed.js';

const SNI = istioSni(9080, 'details.default.svc.cluster.local');
const app = http1Conversation([{ request: { path: '/details/0', host: 'details:9080' }, response: { status: 200, body: '{"id":0}' } }]);
const steps = (m: WireMessage[]): Step[] => m.map((x) => ({ dir: x.dir, bytes: x.bytes }));

async function session(o: Partial<TlsSessionOptions> = {}) {
  return runTlsSession({ version: 'TLSv1.2', server: 'default/bookinfo-details', client: 'default/bookinfo-productpage', sni: SNI, alpn: ISTIO_ALPN.http11, app, ...o });
}

/** Re-splits every handshake record into records of at most `size` bytes (legal: handshake messages may span records). */
function refragment(msgs: WireMessage[], size: number): WireMessage[] {
  // Node may split a record over two writes: join consecutive writes of one direction first
  const merged: WireMessage[] = [];
  for (const m of msgs) {
    const last = merged[merged.length - 1];
    if (last && last.dir === m.dir) last.bytes = Buffer.concat([last.bytes, m.bytes]);
    else merged.push({ dir: m.dir, bytes: m.bytes });
  }
  return merged.map((m) => {
    const out: Buffer[] = [];
    let off = 0;
    const b = Buffer.from(m.bytes);
    let plain = true;
    while (off + 5 <= b.length) {
      const type = b[off]!;
      const len = b.readUInt16BE(off + 3);
      const body = b.subarray(off + 5, off + 5 + len);
      if (type === 22 && plain) {
        for (let i = 0; i < body.length; i += size) {
          const piece = body.subarray(i, i + size);
          const h = Buffer.from([22, b[off + 1]!, b[off + 2]!, 0, 0]);
          h.writeUInt16BE(piece.length, 3);
          out.push(h, piece);
        }
      } else {
        out.push(b.subarray(off, off + 5 + len));
      }
      if (type === 20) plain = false;
      off += 5 + len;
    }
    out.push(b.subarray(off));
    return { dir: m.dir, bytes: Buffer.concat(out) };
  });
}

describe('TLS decoder on real Node TLS sessions', () => {
  it('TLS 1.2 mTLS: SNI, ALPN, CertificateRequest, non-empty client Certificate, SPIFFE SANs of both chains', async () => {
    const r = await session();
    for (const segment of [undefined, 1, 7, 1460]) {
      const f = feed(steps(r.messages), { segment });
      expect(f.protocol).toBe('tls');
      expect(f.cleartext).toBe(false);
      const t = f.tls!;
      expect(t.version).toBe('TLSv1.2');
      expect(t.sni).toBe(SNI);
      expect(t.alpn).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
      expect(t.alpnSelected).toBe('http/1.1');
      expect(t.clientCertificateRequested).toBe(true);
      expect(t.clientCertificateSent).toBe(true);
      expect(t.uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-productpage']);
      expect(t.serverUriSans).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-details']);
      expect(t.subject).toBe('');
      expect(t.clientChain![0]!.issuer).toBe('O=cluster.local');
      expect(t.clientChain![0]!.validFrom).toBe('2026-01-01T00:00:00Z');
      expect(t.resumed).toBe(false);
      expect(t.helloRetryRequest).toBe(false);
      expect(f.http).toEqual([]);
    }
  });

  it('handshake messages spread over many small records and byte-at-a-time segments', async () => {
    const r = await session();
    const f = feed(steps(refragment(r.messages, 17)), { segment: 1 });
    expect(f.tls!.sni).toBe(SNI);
    expect(f.tls!.clientCertificateSent).toBe(true);
    expect(f.tls!.uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-productpage']);
  });

  it('stops wanting bytes once both directions are encrypted', async () => {
    const r = await session();
    const d = createStreamDecoder();
    let frame = 1;
    for (const m of r.messages) d.data(m.dir, m.bytes, { frame: frame++, timeMs: 0 });
    expect(d.wants('c2s')).toBe(false);
    expect(d.wants('s2c')).toBe(false);
    const d13 = createStreamDecoder();
    d13.data('c2s', r.messages[0]!.bytes, { frame: 1, timeMs: 0 });
    expect(d13.wants('c2s')).toBe(true);
  });

  it('one-way TLS 1.2 to a non-mesh server: no CertificateRequest, no client certificate, DNS SAN', async () => {
    const r = await session({ server: 'partner/api', client: undefined, sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'] });
    const t = feed(steps(r.messages)).tls!;
    expect(t.clientCertificateRequested).toBe(false);
    expect(t.clientCertificateSent).toBe(false);
    expect(t.serverDnsSans).toEqual(['api.partner.example.com']);
    expect(t.uriSans).toEqual([]);
  });

  it('CertificateRequest answered with an EMPTY client Certificate is not a client certificate', async () => {
    const r = await session({ client: undefined, requestCert: true });
    const f = feed(steps(r.messages));
    expect(f.tls!.clientCertificateRequested).toBe(true);
    expect(f.tls!.clientCertificateSent).toBe(false);
    expect(f.tls!.clientChain).toEqual([]);
    expect(f.notes.join('\n')).toMatch(/empty Certificate/);
  });

  it('TLS 1.3: version from supported_versions, certificates and selected ALPN not visible', async () => {
    const r = await session({ version: 'TLSv1.3' });
    const f = feed(steps(r.messages), { segment: 5 });
    const t = f.tls!;
    expect(t.version).toBe('TLSv1.3');
    expect(t.sni).toBe(SNI);
    expect(t.alpn).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    expect(t.alpnSelected).toBeNull();
    expect(t.clientCertificateRequested).toBeNull();
    expect(t.clientCertificateSent).toBeNull();
    expect(t.uriSans).toEqual([]);
    expect(t.resumed).toBe(false);
  });

  it('TLS 1.3 HelloRetryRequest: two ClientHellos, the real ServerHello after the compat CCS', async () => {
    const r = await session({ version: 'TLSv1.3', helloRetry: true, alpn: ISTIO_ALPN.tcp, app: [] });
    // the HRR is a ServerHello whose random is SHA-256("HelloRetryRequest")
    expect(Buffer.from(r.messages[1]!.bytes).indexOf(HRR_RANDOM)).toBeGreaterThan(0);
    const f = feed(steps(r.messages), { segment: 3 });
    expect(f.tls!.helloRetryRequest).toBe(true);
    expect(f.tls!.version).toBe('TLSv1.3');
    expect(f.tls!.cipherSuite).not.toBeNull();
    expect(f.tls!.frames!.serverHello).toBeGreaterThan(f.tls!.frames!.clientHello!);
  });

  it('TLS 1.2 resumption (session ticket): abbreviated handshake, no certificates, outcome "resumed"', async () => {
    const first = await session();
    const r = await session({ session: first.session });
    expect(r.resumed).toBe(true);
    const t = feed(steps(r.messages)).tls!;
    expect(t.resumed).toBe(true);
    expect(t.resumptionOffered).toBe(true);
    expect(t.clientCertificateRequested).toBeNull();
    expect(t.clientCertificateSent).toBeNull();
    expect(t.clientChain).toBeUndefined();
  });

  it('TLS 1.3 resumption (pre_shared_key selected)', async () => {
    const first = await session({ version: 'TLSv1.3' });
    const r = await session({ version: 'TLSv1.3', session: first.session });
    expect(r.resumed).toBe(true);
    const t = feed(steps(r.messages)).tls!;
    expect(t.resumed).toBe(true);
    expect(t.resumptionOffered).toBe(true);
  });

  it('a lost segment inside the client Certificate: still "sent" (declared length), identities not guessed', async () => {
    const r = await session();
    const i = r.messages.findIndex((m, k) => m.dir === 'c2s' && k > 0);
    const m = r.messages[i]!;
    const s: Step[] = [...steps(r.messages.slice(0, i)), c2s(m.bytes.subarray(0, 200)), { dir: 'c2s', gap: 300 }, c2s(m.bytes.subarray(500)), ...steps(r.messages.slice(i + 1))];
    const f = feed(s);
    expect(f.tls!.clientCertificateSent).toBe(true);
    expect(f.tls!.uriSans).toEqual([]);
    expect(f.missing.c2s).toBe(300);
    expect(f.notes.join('\n')).toMatch(/client Certificate at frame \d+: \d+ of \d+ bytes not captured/);
  });

  it('a snaplen-cut ClientHello: SNI not guessed, "payload not captured", the ServerHello still parses', async () => {
    const r = await session();
    const ch = r.messages[0]!.bytes;
    const s: Step[] = [c2s(ch.subarray(0, 100)), { dir: 'c2s', gap: ch.length - 100 }, ...steps(r.messages.slice(1))];
    const f = feed(s);
    expect(f.tls!.sni).toBeNull();
    expect(f.tls!.version).toBe('TLSv1.2');
    expect(f.tls!.alpnSelected).toBe('http/1.1');
    expect(f.notes.join('\n')).toMatch(/ClientHello truncated.*payload not captured/);
  });

  it('a gap across a record header loses record boundaries for that direction only', async () => {
    const r = await session();
    const ch = r.messages[0]!.bytes;
    const f = feed([c2s(ch.subarray(0, 2)), { dir: 'c2s', gap: ch.length - 2 }, ...steps(r.messages.slice(1))]);
    expect(f.protocol).toBe('tls');
    expect(f.tls!.sni).toBeNull();
    expect(f.tls!.serverUriSans).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-details']);
    expect(f.notes.join('\n')).toMatch(/record boundaries lost/);
  });

  it('a ClientHello answered in cleartext (TLS to a plaintext HTTP server) shows the cleartext reply', async () => {
    const r = await session();
    const f = feed([c2s(r.messages[0]!.bytes), s2c('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')]);
    expect(f.protocol).toBe('tls');
    expect(f.tls!.sni).toBe(SNI);
    expect(f.tls!.version).toBeNull();
    expect(f.cleartext).toBe(true);
    expect(f.http.map((x) => x.status)).toEqual([400]);
    expect(f.notes.join('\n')).toMatch(/server answered in cleartext HTTP/);
  });

  it('server alert is reported', () => {
    const f = feed([c2s(Buffer.from('16030100050100000100', 'hex')), s2c(Buffer.from('15030300020228', 'hex'))]);
    expect(f.notes.join('\n')).toMatch(/fatal handshake_failure \(40\)/);
  });
});

describe('TLS wire parsing', () => {
  it('ClientHello without extensions and with a cut body', () => {
    const body = Buffer.concat([Buffer.from([3, 1]), Buffer.alloc(32, 7), Buffer.from([0, 0, 2, 0, 0x2f, 1, 0])]);
    const ch = parseClientHello(body);
    expect(ch.legacyVersion).toBe(0x0301);
    expect(ch.cipherSuites).toEqual([0x2f]);
    expect(ch.truncated).toBeNull();
    expect(parseClientHello(body.subarray(0, 20)).truncated).toMatch(/needs 32 byte/);
  });

  it('X.509 SAN lists with JSON-quoted values and RFC 2253 subjects', () => {
    expect(splitSubjectAltName('DNS:a.example, URI:spiffe://cluster.local/ns/a/sa/b, IP Address:10.0.0.1')).toEqual([
      { type: 'DNS', value: 'a.example' },
      { type: 'URI', value: 'spiffe://cluster.local/ns/a/sa/b' },
      { type: 'IP Address', value: '10.0.0.1' },
    ]);
    expect(splitSubjectAltName('URI:"spiffe://x/a, b", DNS:c')).toEqual([
      { type: 'URI', value: 'spiffe://x/a, b' },
      { type: 'DNS', value: 'c' },
    ]);
    expect(rfc2253('C=US\nO=Acme, Inc\nCN=web')).toBe('CN=web,O=Acme\\, Inc,C=US');
  });
});

describe('TLS seen only in part', () => {
  it('a capture that starts after the handshake: TLS by content, nothing guessed, said so', async () => {
    const r = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', alpn: ISTIO_ALPN.http11, app });
    // keep only what follows the handshake: the application-data records
    const tail = fromFirstApplicationRecord(r.messages);
    expect(tail.length).toBeGreaterThan(0);
    const f = feed(steps(tail));
    expect(f.protocol).toBe('tls');
    expect(f.tls).toMatchObject({ version: null, sni: null, clientCertificateSent: null, clientCertificateRequested: null });
    expect(f.notes.join('\n')).toMatch(/no ClientHello seen/);
  });
});

describe('unrecognised payload that looks encrypted', () => {
  it('TLS captured from the middle of a record is not called cleartext', async () => {
    const big = http1Conversation([{ request: { path: '/bytes', host: 'h' }, response: { status: 200, body: Buffer.alloc(40000, 'a') } }]);
    const r = await runTlsSession({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', alpn: ISTIO_ALPN.http11, app: big });
    const s2cData = Buffer.concat(r.messages.filter((m) => m.dir === 's2c' && m.bytes[0] === 23).map((m) => m.bytes));
    const f = feed([s2c(s2cData.subarray(1000, 5000))]);
    expect(f.protocol).toBe('tcp');
    expect(f.opaque).toBe(true);
    expect(f.cleartext).toBe(false);
    expect(f.notes.join('\n')).toMatch(/looks encrypted or compressed/);
  });

  it('text and structured binary protocols stay cleartext', () => {
    const resp = Array.from({ length: 40 }, (_, i) => `*3\r\n$3\r\nSET\r\n$5\r\nkey:${i % 10}\r\n$7\r\nvalue-${i % 10}\r\n`).join('');
    const f = feed([c2s(resp), s2c('+OK\r\n'.repeat(40))]);
    expect(f.protocol).toBe('redis');
    expect(f.opaque).toBeUndefined();
    expect(f.cleartext).toBe(true);
    const pptp = Buffer.alloc(156);
    pptp.writeUInt16BE(156, 0);
    pptp.writeUInt16BE(1, 2);
    pptp.writeUInt32BE(0x1a2b3c4d, 4);
    pptp.write('local', 28);
    expect(feed([c2s(pptp), s2c(pptp)]).cleartext).toBe(true);
  });
});

describe('TLS 1.2 resumption by session id (no tickets)', () => {
  it('the server echoes the session id and skips the certificates: resumed', async () => {
    const first = await session({ resumption: 'session-id' });
    const ch1 = parseClientHello(Buffer.from(first.messages[0]!.bytes).subarray(9));
    expect(ch1.sessionTicket === null || ch1.sessionTicket.length === 0).toBe(true);
    const r = await session({ resumption: 'session-id', session: first.session });
    expect(r.resumed).toBe(true);
    const ch = parseClientHello(Buffer.from(r.messages[0]!.bytes).subarray(9));
    expect(ch.sessionId.length).toBe(32);
    const f = feed(steps(r.messages));
    expect(f.tls).toMatchObject({ resumed: true, resumptionOffered: true, clientCertificateSent: null });
    // the ServerHello alone already tells: it echoes the client's session id
    const sh = Buffer.from(r.messages[1]!.bytes);
    const g = feed([c2s(r.messages[0]!.bytes), s2c(sh.subarray(0, 5 + sh.readUInt16BE(3)))]);
    expect(g.tls!.resumed).toBe(true);
    // while a full handshake's ServerHello alone leaves it open
    const fs = Buffer.from(first.messages[1]!.bytes);
    expect(feed([c2s(first.messages[0]!.bytes), s2c(fs.subarray(0, 5 + fs.readUInt16BE(3)))]).tls!.resumed).toBeNull();
  });
});

describe('TLS after a hole at the start', () => {
  it('a lost first client segment: record boundaries unknown, never called cleartext', async () => {
    const r = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', alpn: ISTIO_ALPN.http11, app });
    const ch = r.messages[0]!.bytes;
    const f = feed([{ dir: 'c2s', gap: 100 }, c2s(ch.subarray(100)), ...steps(r.messages.slice(1))]);
    expect(f.protocol).toBe('tls');
    expect(f.cleartext).toBe(false);
    expect(f.tls!.sni).toBeNull();
    expect(f.tls!.serverUriSans).toEqual(['spiffe://cluster.local/ns/foo/sa/httpbin']);
    // a whole lost ClientHello: the client's next record starts right after the hole
    const g = feed([{ dir: 'c2s', gap: ch.length }, ...steps(r.messages.slice(1))]);
    expect(g.protocol).toBe('tls');
    expect(g.cleartext).toBe(false);
    expect(g.tls!.clientCertificateSent).toBe(true);
    expect(g.notes.join('\n')).toMatch(/c2s: the first \d+ byte\(s\) were not captured/);
  });
});

describe('SSLv2-format ClientHello (RFC 5246 E.2)', () => {
  // CLIENT-HELLO offering TLS 1.0: TLS_RSA_WITH_AES_128_CBC_SHA and the SSL 2.0 RC4 spec, 16-byte challenge
  const hello = Buffer.concat([Buffer.from([0x80, 9 + 6 + 16, 1, 3, 1, 0, 6, 0, 0, 0, 16]), Buffer.from([0, 0, 0x2f, 1, 0, 0x80]), Buffer.alloc(16, 0xab)]);
  it('is TLS with the offered version and suites, across any segmentation; no SNI, no JA3', () => {
    for (const segment of [1, 7, 1000]) {
      const f = feed([c2s(hello)], { segment });
      expect(f.protocol).toBe('tls');
      expect(f.tls).toMatchObject({ sni: null, alpn: [], ja3: null, ja4: null, frames: { clientHello: expect.any(Number) } });
      expect(f.notes.join('\n')).toMatch(/SSLv2-format ClientHello at frame \d+ offering TLSv1 \(1 TLS cipher suite\(s\), 1 SSL 2.0 cipher spec\(s\)/);
    }
  });
  it('binary that only starts with a high bit is not taken for one', () => {
    expect(feed([c2s(Buffer.from([0x80, 0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]))]).protocol).toBe('tcp');
  });
});
