/**
 * End-to-end verdicts on captures generated inside the suite (no ../shared needed): real TLS 1.2
 * and 1.3 sessions from Node's tls module with a throwaway SPIFFE PKI, with and without client
 * certificates, a resumed session, an empty client Certificate, HTTP/1.1 and h2c, written as pcap
 * and pcapng with real IP/TCP framing, out-of-order, retransmitted and lost segments.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { captureBuffer } from '../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import type { Flow } from '../../src/model/records.js';
import { buildCapture, type CaptureFlow } from '../../src/synth/capture.js';
import { tcpConversation, type TcpConversationOptions } from '../../src/synth/tcp.js';
import { runTlsSession, ISTIO_ALPN, istioSni, type WireMessage } from '../../src/synth/tls-session.js';
import { http1Conversation, h2Conversation } from '../../src/synth/http.js';

const HOST = 'httpbin.foo.svc.cluster.local';
const SNI = istioSni(8000, HOST);

interface Case {
  name: string;
  messages: WireMessage[];
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  tcp?: Partial<TcpConversationOptions>;
  link?: CaptureFlow['link'];
  interfaceName?: string;
}

let cases: Case[] = [];

beforeAll(async () => {
  const app = http1Conversation([{ request: { path: '/headers', host: `${HOST}:8000` }, response: { status: 200, body: 'x'.repeat(3000) } }]);
  const mtls12 = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni: SNI, alpn: ISTIO_ALPN.http11, app });
  const resumed = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni: SNI, alpn: ISTIO_ALPN.http11, app, ...(mtls12.session ? { session: mtls12.session } : {}) });
  const mtls13 = await runTlsSession({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', sni: SNI, alpn: ISTIO_ALPN.http11, app });
  const oneWay12 = await runTlsSession({ version: 'TLSv1.2', server: 'partner/api', sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'], app });
  const tls13 = await runTlsSession({ version: 'TLSv1.3', server: 'partner/api', sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'], app });
  const empty = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', requestCert: true, sni: 'httpbin.local', app });
  const h2c = await h2Conversation([{ request: { path: '/get' }, response: { status: 200, body: 'ok' } }], { authority: 'grpc-echo.foo:9090' });
  expect(resumed.resumed).toBe(true);
  const c = (n: number) => ({ ip: '10.44.1.23', port: 40000 + n });
  const srv = { ip: '10.44.1.27', port: 8000 };
  cases = [
    { name: 'mtls12', messages: mtls12.messages, client: c(1), server: srv, tcp: { mss: 500, outOfOrder: [1, 5], retransmit: [3] } },
    { name: 'resumed', messages: resumed.messages, client: c(2), server: srv },
    { name: 'mtls13', messages: mtls13.messages, client: c(3), server: srv, tcp: { mss: 700, outOfOrder: [2] } },
    { name: 'oneway12', messages: oneWay12.messages, client: c(4), server: { ip: '10.44.1.30', port: 443 } },
    { name: 'tls13', messages: tls13.messages, client: c(5), server: { ip: '10.44.1.30', port: 443 } },
    { name: 'empty-cert', messages: empty.messages, client: c(6), server: { ip: '10.44.1.31', port: 8443 } },
    { name: 'http1', messages: app, client: c(7), server: { ip: '10.44.1.27', port: 8080 }, tcp: { mss: 1000, lose: [2] } },
    { name: 'h2c', messages: h2c, client: c(8), server: { ip: '10.44.1.40', port: 9090 } },
    // Envoy's inbound passthrough to the app, inside the pod: plaintext by design.
    { name: 'sidecar-local', messages: app, client: { ip: '127.0.0.6', port: 51000 }, server: { ip: '10.44.1.27', port: 8080 } },
    // The app's outbound call redirected to Envoy's 15001.
    { name: 'to-15001', messages: app, client: { ip: '10.44.1.27', port: 52000 }, server: { ip: '127.0.0.1', port: 15001 } },
  ];
});

async function analyze(bytes: Uint8Array): Promise<Map<string, Flow>> {
  const out = new Map<string, Flow>();
  for await (const f of flowsFromCapture(captureBuffer('synth', bytes, 3000), { decoder: createStreamDecoder })) {
    const k = cases.find((x) => x.client.ip === f.client.ip && x.client.port === f.client.port)?.name ?? `?${f.client.port}`;
    out.set(k, f);
  }
  return out;
}

function capture(format: 'pcap' | 'pcapng' | 'pcap-ns', linkType?: number): Buffer {
  return buildCapture(
    cases.map((x, i) => ({
      packets: tcpConversation(x.messages.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: x.client, server: x.server, startMs: 1_763_800_000_000 + i * 3, seed: i + 1, ...x.tcp }),
      ...(x.interfaceName ? { interfaceName: x.interfaceName } : {}),
      // SLL2 as `tcpdump -i any` writes it for the loopback device (ARPHRD_LOOPBACK)
      ...(linkType === 276 ? { link: { linkType, arphrd: 772 } } : {}),
    })),
    { format, ...(linkType !== undefined ? { linkType } : {}) },
  );
}

const expected: Record<string, { security: string; evidence: string[]; inferred: boolean; protocol: string; sidecarLocal?: boolean }> = {
  mtls12: { security: 'mtls', evidence: ['client-certificate'], inferred: false, protocol: 'tls' },
  resumed: { security: 'mtls', evidence: ['istio-alpn', 'istio-sni', 'session-resumed'], inferred: true, protocol: 'tls' },
  mtls13: { security: 'mtls', evidence: ['istio-alpn', 'istio-sni', 'tls13-certificates-encrypted'], inferred: true, protocol: 'tls' },
  oneway12: { security: 'tls', evidence: ['no-certificate-request'], inferred: false, protocol: 'tls' },
  tls13: { security: 'tls', evidence: ['tls13-certificates-encrypted'], inferred: false, protocol: 'tls' },
  'empty-cert': { security: 'tls', evidence: ['client-certificate-empty'], inferred: false, protocol: 'tls' },
  http1: { security: 'plaintext', evidence: ['cleartext-http'], inferred: false, protocol: 'http/1.1' },
  h2c: { security: 'plaintext', evidence: ['cleartext-http'], inferred: false, protocol: 'h2c' },
  'sidecar-local': { security: 'plaintext', evidence: ['cleartext-http'], inferred: false, protocol: 'http/1.1', sidecarLocal: true },
  'to-15001': { security: 'plaintext', evidence: ['cleartext-http'], inferred: false, protocol: 'http/1.1', sidecarLocal: true },
};

describe('verdicts on generated captures', () => {
  for (const [format, linkType] of [['pcap', 1], ['pcapng', 1], ['pcap-ns', 276], ['pcap', 0]] as const) {
    it(`${format} / link type ${linkType}: every flow gets its expected verdict and evidence`, async () => {
      const flows = await analyze(capture(format, linkType));
      expect(flows.size).toBe(cases.length);
      for (const [name, want] of Object.entries(expected)) {
        const f = flows.get(name)!;
        expect({ name, security: f.security, evidence: f.evidence, inferred: f.inferred, protocol: f.protocol, sidecarLocal: f.sidecarLocal }).toEqual({
          name,
          ...want,
          // SLL2 on the loopback device: plaintext there never left the pod
          sidecarLocal: want.sidecarLocal ?? (linkType === 276 && want.security === 'plaintext'),
        });
      }
    });
  }

  it('carries identities, SNI, ALPN and HTTP exchanges into the flow record', async () => {
    const flows = await analyze(capture('pcap'));
    const m = flows.get('mtls12')!;
    expect(m.tls).toMatchObject({ version: 'TLSv1.2', sni: SNI, alpn: ['istio-http/1.1', 'istio', 'http/1.1'], alpnSelected: 'http/1.1', clientCertificateRequested: true, clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/foo/sa/sleep'], serverUriSans: ['spiffe://cluster.local/ns/foo/sa/httpbin'] });
    expect(m.frames[0]).toBe(1);
    expect(m.packets).toBe(m.frames.length);
    const h = flows.get('http1')!;
    expect(h.http[0]).toMatchObject({ method: 'GET', path: '/headers', authority: `${HOST}:8000`, status: 200 });
    expect(h.notes.join('\n')).toMatch(/bytes missing from the capture/);
    expect(flows.get('sidecar-local')!.notes.join('\n')).toMatch(/sidecar-local: source 127\.0\.0\.6/);
  });

  it('pcapng interface names: plaintext on `lo` is sidecar-local, the same flow on eth0 is not', async () => {
    const http = cases.find((x) => x.name === 'sidecar-local')!.messages;
    const mk = (port: number, name: string) => ({
      packets: tcpConversation(http.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: { ip: '10.44.1.27', port }, server: { ip: '10.44.1.27', port: 8080 }, startMs: 1_763_800_000_000 + port }),
      interfaceName: name,
    });
    const flows: Flow[] = [];
    for await (const f of flowsFromCapture(captureBuffer('ifs.pcapng', buildCapture([mk(41000, 'lo'), mk(41001, 'eth0')], { format: 'pcapng' })), { decoder: createStreamDecoder })) flows.push(f);
    flows.sort((a, b) => a.client.port - b.client.port);
    expect(flows.map((f) => [f.interface, f.security, f.sidecarLocal])).toEqual([
      ['lo', 'plaintext', true],
      ['eth0', 'plaintext', false],
    ]);
  });
});
