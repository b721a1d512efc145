/**
 * Generator round trips: what src/synth produces is (1) read by tshark as the intended traffic
 * (an independent check of the generator, when tshark is installed) and (2) decoded by our
 * protocol decoders into the intended facts.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStreamDecoder } from '../../src/protocols/index.js';
import type { StreamFacts } from '../../src/protocols/stream.js';
import {
  buildCapture,
  h2Conversation,
  http1Conversation,
  ISTIO_ALPN,
  istioSni,
  LINKTYPE,
  plainFlow,
  tlsFlow,
  type TcpPacket,
} from '../../src/synth/index.js';
import { fromFirstApplicationRecord } from '../helpers/tls-messages.js';
import { replay } from './reassemble.js';

const hasTshark = existsSync('/usr/bin/tshark');
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const productpage = { ip: '10.244.1.5', port: 48122 };
const details = { ip: '10.244.2.7', port: 9080 };
const SNI = istioSni(9080, 'details.default.svc.cluster.local');
const app = http1Conversation([
  { request: { path: '/details/0', host: 'details:9080', headers: [['x-request-id', 'a1']] }, response: { status: 200, body: '{"id":0,"author":"William Shakespeare"}'.repeat(60) } },
]);

function decode(packets: TcpPacket[], o: { snapIp?: number } = {}): StreamFacts {
  const d = createStreamDecoder();
  replay(packets, d, o);
  return d.facts();
}

function tshark(buf: Buffer, name: string, args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'synth-rt-'));
  const f = join(dir, name);
  writeFileSync(f, buf);
  return execFileSync('tshark', ['-n', '-r', f, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('synthetic captures round-trip', () => {
  it('mTLS 1.2 between two sidecars: SNI, ALPN, client certificate with the SPIFFE id', async () => {
    const { packets } = await tlsFlow(
      { version: 'TLSv1.2', server: 'default/bookinfo-details', client: 'default/bookinfo-productpage', sni: SNI, alpn: ISTIO_ALPN.http11, app },
      { client: productpage, server: details, startMs: T0, seed: 7 },
    );
    const f = decode(packets);
    expect(f.tls).toMatchObject({
      version: 'TLSv1.2',
      sni: SNI,
      alpn: ['istio-http/1.1', 'istio', 'http/1.1'],
      alpnSelected: 'http/1.1',
      clientCertificateRequested: true,
      clientCertificateSent: true,
      uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'],
      serverUriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-details'],
    });
    if (hasTshark) {
      const buf = buildCapture([{ packets }], { format: 'pcap', linkType: LINKTYPE.EN10MB });
      const out = tshark(buf, 'mtls12.pcap', ['-Y', 'tls.handshake', '-T', 'fields', '-e', 'tls.handshake.extensions_server_name', '-e', 'tls.handshake.extensions_alpn_str', '-e', 'x509ce.uniformResourceIdentifier', '-e', 'tls.handshake.type']);
      expect(out).toContain(SNI);
      expect(out).toContain('istio-http/1.1,istio,http/1.1');
      expect(out).toContain('spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
      expect(out).toMatch(/\b13\b/); // CertificateRequest
    }
  });

  it('mTLS 1.3 over IPv6 in an SLL2 pcapng, with out-of-order, retransmitted and lost segments', async () => {
    const { packets } = await tlsFlow(
      { version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app },
      // segment 0 = ClientHello, 1.. = server flight; lose one late application-data segment
      { client: { ip: 'fd00:10:244::5', port: 50123 }, server: { ip: 'fd00:10:244::9', port: 8000 }, startMs: T0, mss: 500, outOfOrder: [1], retransmit: [2], lose: [9] },
    );
    const f = decode(packets);
    expect(f.tls).toMatchObject({ version: 'TLSv1.3', sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local', alpn: ['istio-http/1.1', 'istio', 'http/1.1'], alpnSelected: null, clientCertificateSent: null });
    expect(f.missing.c2s + f.missing.s2c).toBeGreaterThan(0);
    if (hasTshark) {
      const buf = buildCapture([{ packets, interfaceName: 'any', link: { linkType: LINKTYPE.LINUX_SLL2 } }], { format: 'pcapng' });
      const out = tshark(buf, 'mtls13.pcapng', ['-T', 'fields', '-e', 'frame.interface_name', '-e', 'tcp.analysis.flags', '-e', 'tls.handshake.extensions.supported_version', '-e', 'tls.handshake.extensions_server_name']);
      expect(out).toContain('outbound_.8000_._.httpbin.foo.svc.cluster.local');
      expect(out).toContain('0x0304');
      expect(out.split('\n').filter((l) => l.split('\t')[1]).length).toBeGreaterThan(0); // tshark saw the impairments
    }
  });

  it('one-way TLS, resumption and an empty client Certificate keep their meaning through TCP framing', async () => {
    const tcp = { client: productpage, server: details, startMs: T0 };
    const first = await tlsFlow({ version: 'TLSv1.2', server: 'default/bookinfo-details', client: 'default/bookinfo-productpage', alpn: ISTIO_ALPN.http11, sni: SNI, app }, tcp);
    const resumed = await tlsFlow({ version: 'TLSv1.2', server: 'default/bookinfo-details', client: 'default/bookinfo-productpage', alpn: ISTIO_ALPN.http11, sni: SNI, app, session: first.tls.session }, { ...tcp, startMs: T0 + 1000 });
    expect(decode(resumed.packets).tls).toMatchObject({ resumed: true, clientCertificateSent: null });
    const empty = await tlsFlow({ version: 'TLSv1.2', server: 'default/bookinfo-details', requestCert: true, app }, tcp);
    expect(decode(empty.packets).tls).toMatchObject({ clientCertificateRequested: true, clientCertificateSent: false });
    const oneWay = await tlsFlow({ version: 'TLSv1.3', server: 'partner/api', sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'], app }, tcp);
    expect(decode(oneWay.packets).tls).toMatchObject({ version: 'TLSv1.3', sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'] });
  });

  it('snaplen truncation: the ClientHello loses its SNI and nothing is guessed', async () => {
    const { packets } = await tlsFlow({ version: 'TLSv1.2', server: 'default/bookinfo-details', client: 'default/bookinfo-productpage', sni: SNI, alpn: ISTIO_ALPN.http11, app }, { client: productpage, server: details, startMs: T0 });
    const f = decode(packets, { snapIp: 160 - 14 });
    expect(f.protocol).toBe('tls');
    expect(f.tls!.sni).toBeNull();
    expect(f.tls!.version).toBe('TLSv1.2');
    expect(f.notes.join('\n')).toMatch(/payload not captured/);
    if (hasTshark) {
      const buf = buildCapture([{ packets }], { format: 'pcap', snaplen: 160 });
      const out = tshark(buf, 'snap.pcap', ['-T', 'fields', '-e', 'frame.cap_len', '-e', 'frame.len']);
      expect(out.split('\n').some((l) => l.startsWith('160\t') && Number(l.split('\t')[1]) > 160)).toBe(true);
    }
  });

  it('cleartext HTTP/1.1 (legacy client → PERMISSIVE port) and h2c prior knowledge', async () => {
    const legacy = plainFlow(
      http1Conversation([{ request: { path: '/ip', host: 'httpbin.foo:8000', headers: [['User-Agent', 'curl/8.5.0'], ['Accept', '*/*']] }, response: { status: 200, body: '{"origin":"10.244.3.4"}' } }]),
      { client: { ip: '10.244.3.4', port: 41000 }, server: { ip: '10.244.1.9', port: 8000 }, startMs: T0 },
    );
    const f = decode(legacy);
    expect(f.protocol).toBe('http/1.1');
    expect(f.http).toMatchObject([{ method: 'GET', path: '/ip', authority: 'httpbin.foo:8000', status: 200, headers: { 'user-agent': ['curl/8.5.0'] } }]);
    expect(f.http[0]!.requestFrame).toBe(4);
    const h2 = plainFlow(await h2Conversation([{ request: { path: '/a', host: 'grpc-echo:9090' }, response: { status: 200, body: 'x' } }]), {
      client: { ip: '10.244.3.4', port: 41001 },
      server: { ip: '10.244.1.9', port: 9090 },
      startMs: T0,
      mss: 20,
    });
    const g = decode(h2);
    expect(g.protocol).toBe('h2c');
    expect(g.http).toMatchObject([{ streamId: 1, path: '/a', authority: 'grpc-echo:9090', status: 200 }]);
    if (hasTshark) {
      const buf = buildCapture([{ packets: legacy }], { format: 'pcap-ns', linkType: LINKTYPE.RAW });
      const out = tshark(buf, 'http.pcap', ['-T', 'fields', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code']);
      expect(out).toContain('GET\t/ip');
      expect(out).toContain('\t\t200');
    }
  });
});

describe('mid-stream captures from the generator', () => {
  it('a TLS connection captured without its handshake is TLS by content, with nothing guessed', async () => {
    const { tls } = await tlsFlow({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', alpn: ISTIO_ALPN.http11, app }, { client: productpage, server: details, startMs: T0 });
    const after = fromFirstApplicationRecord(tls.messages);
    const packets = plainFlow(after, { client: productpage, server: details, startMs: T0, handshake: false });
    const f = decode(packets);
    expect(f.protocol).toBe('tls');
    expect(f.tls).toMatchObject({ version: null, sni: null });
    expect(f.notes.join('\n')).toMatch(/no ClientHello seen/);
  });
});

describe('generator determinism and h2 inside mTLS', () => {
  it('cleartext captures are byte-for-byte reproducible from the same seed', () => {
    const make = () =>
      buildCapture(
        [{ packets: plainFlow(app, { client: productpage, server: details, startMs: T0, seed: 42, outOfOrder: [1], lose: [2] }), interfaceName: 'eth0' }],
        { format: 'pcapng' },
      );
    expect(make().equals(make())).toBe(true);
    const other = buildCapture([{ packets: plainFlow(app, { client: productpage, server: details, startMs: T0, seed: 43 }), interfaceName: 'eth0' }], { format: 'pcapng' });
    expect(other.equals(make())).toBe(false);
  });

  it('HTTP/2 (recorded from Node http2) carried inside an Istio mTLS 1.2 session: server selects h2', async () => {
    const h2 = await h2Conversation([{ request: { path: '/reviews/0', host: 'reviews:9080' }, response: { status: 200, body: '{}' } }]);
    const { packets, tls } = await tlsFlow(
      { version: 'TLSv1.2', server: 'default/bookinfo-reviews', client: 'default/bookinfo-productpage', sni: istioSni(9080, 'reviews.default.svc.cluster.local'), alpn: ISTIO_ALPN.h2, app: h2 },
      { client: productpage, server: { ip: '10.244.2.8', port: 9080 }, startMs: T0 },
    );
    expect(tls.alpn).toBe('h2');
    const f = decode(packets);
    expect(f.tls).toMatchObject({ alpn: ['istio-h2', 'istio', 'h2'], alpnSelected: 'h2', clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'] });
    expect(f.http).toEqual([]); // encrypted: no cleartext exchanges
  });
});
