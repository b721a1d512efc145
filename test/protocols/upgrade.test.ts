/**
 * TLS after a cleartext step is TLS: the ClientHello is found where the cleartext stops, the
 * preamble is named from its bytes (SMTP/IMAP/POP3 STARTTLS, PostgreSQL SSLRequest, HTTP CONNECT,
 * SOCKS, MySQL) and is evidence, while the verdict and TLS facts come from the handshake. Real
 * captures (Zeek's and Arkime's traces) are covered in test/readers/capture/tshark-agreement.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { clientHelloAt, preambleKind } from '../../src/protocols/upgrade.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { runTlsSession, ISTIO_ALPN, istioSni } from '../../src/synth/tls-session.js';
import { judge } from '../../src/analysis/flows.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('preamble kinds', () => {
  it('names the preamble from its bytes', () => {
    expect(preambleKind(b('EHLO client\r\nSTARTTLS\r\n'), b('220 mx ESMTP\r\n')).kind).toBe('smtp-starttls');
    expect(preambleKind(b('a1 CAPABILITY\r\na2 STARTTLS\r\n'), b('* OK IMAP4rev1\r\n')).kind).toBe('imap-starttls');
    expect(preambleKind(b('CAPA\r\nSTLS\r\n'), b('+OK POP3\r\n')).kind).toBe('pop3-stls');
    expect(preambleKind(Buffer.from('0000000804d2162f', 'hex'), b('S')).kind).toBe('postgresql-sslrequest');
    expect(preambleKind(b('CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n'), b('HTTP/1.1 200 Connection established\r\n\r\n'))).toEqual({ kind: 'http-connect', detail: 'api.example.com:443' });
    expect(preambleKind(Buffer.from([5, 1, 0]), Buffer.from([5, 0])).kind).toBe('socks');
    expect(preambleKind(Buffer.alloc(36), Buffer.from([0x4a, 0, 0, 0, 10, 0x38])).kind).toBe('mysql-ssl');
    expect(preambleKind(b('hello'), b('world')).kind).toBe('cleartext-preamble');
  });
  it('finds a ClientHello record inside a segment, not a random 0x16', () => {
    const hello = Buffer.from('160301002a0100002603030000', 'hex');
    expect(clientHelloAt(Buffer.concat([Buffer.alloc(36, 1), hello]))).toBe(36);
    expect(clientHelloAt(Buffer.from('16030100ff02000026', 'hex'))).toBe(-1); // a ServerHello
    expect(clientHelloAt(b('\x16 not tls'))).toBe(-1);
  });
});

describe('STARTTLS then an Istio mTLS 1.2 handshake', () => {
  it('is mtls from the handshake, with the preamble as evidence', async () => {
    const s = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app: [] });
    const d = createStreamDecoder();
    let frame = 1;
    d.data('s2c', b('220 mx.example.com ESMTP\r\n'), { frame: frame++, timeMs: 0 });
    d.data('c2s', b('EHLO client\r\n'), { frame: frame++, timeMs: 0 });
    d.data('s2c', b('250-mx.example.com\r\n250 STARTTLS\r\n'), { frame: frame++, timeMs: 0 });
    d.data('c2s', b('STARTTLS\r\n'), { frame: frame++, timeMs: 0 });
    d.data('s2c', b('220 2.0.0 Ready to start TLS\r\n'), { frame: frame++, timeMs: 0 });
    for (const m of s.messages) d.data(m.dir, m.bytes, { frame: frame++, timeMs: 0 });
    d.end();
    const f = d.facts();
    expect(f.protocol).toBe('tls');
    expect(f.upgrade).toMatchObject({ kind: 'smtp-starttls', frame: 6 });
    expect(f.cleartext).toBe(false);
    expect(f.tls).toMatchObject({ version: 'TLSv1.2', clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/foo/sa/sleep'] });
    const v = judge(f, { wire: { c2s: 1, s2c: 1 }, notCaptured: { c2s: 0, s2c: 0 }, lost: { c2s: 0, s2c: 0 }, midStream: false });
    expect(v.security).toBe('mtls');
  });
});
