/**
 * The same TLS and HTTP sessions written plain and inside every encapsulation the generator knows
 * (VXLAN on 4789, 8472 and an unusual port, Geneve with options, GRE with a key and as
 * transparent Ethernet bridging, ERSPAN II/III, GRE-in-UDP, IPIP, 6in4, 4in6, MPLS (also in a
 * VLAN), QinQ, LLC/SNAP, PBB, NFLOG) give the same flows and verdicts; tunnels are named on the
 * flow with their outer addresses and identifiers; and the same pod flow captured twice (on the
 * veth and inside the overlay) is one flow.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { flowsFromCapture } from '../../../src/analysis/flows.js';
import { captureBuffer, newCaptureStats, type CaptureStats } from '../../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../../src/protocols/index.js';
import type { Flow } from '../../../src/model/records.js';
import { buildCapture, type CaptureFlow } from '../../../src/synth/capture.js';
import { NODES, WRAP_KINDS, type WrapKind } from '../../../src/synth/encap.js';
import { tcpConversation, type TcpPacket } from '../../../src/synth/tcp.js';
import { http1Conversation } from '../../../src/synth/http.js';
import { runTlsSession, ISTIO_ALPN, istioSni } from '../../../src/synth/tls-session.js';

let tls: TcpPacket[];
let tls6: TcpPacket[];
let http: TcpPacket[];

beforeAll(async () => {
  const app = http1Conversation([{ request: { path: '/api', host: 'httpbin.foo.svc.cluster.local:8000' }, response: { status: 200, body: 'z'.repeat(3000) } }]);
  const s = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app });
  const msgs = s.messages.map((m) => ({ dir: m.dir, bytes: m.bytes }));
  tls = tcpConversation(msgs, { client: { ip: '10.244.1.5', port: 40000 }, server: { ip: '10.244.2.7', port: 8000 }, startMs: 1_700_000_000_000, mss: 1300 });
  tls6 = tcpConversation(msgs, { client: { ip: 'fd00:244::5', port: 40002 }, server: { ip: 'fd00:244::7', port: 8000 }, startMs: 1_700_000_000_500, mss: 1200 });
  http = tcpConversation(app.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: { ip: '10.244.1.5', port: 40001 }, server: { ip: '10.244.2.8', port: 80 }, startMs: 1_700_000_000_100, mss: 1300 });
});

async function flowsOf(flows: CaptureFlow[], format: 'pcap' | 'pcapng' = 'pcapng'): Promise<{ flows: Flow[]; stats: CaptureStats }> {
  const stats = newCaptureStats('t');
  const out: Flow[] = [];
  for await (const f of flowsFromCapture(captureBuffer('t', buildCapture(flows, { format })), { decoder: createStreamDecoder }, stats)) out.push(f);
  return { flows: out.sort((a, b) => (a.stream ?? 0) - (b.stream ?? 0)), stats };
}

/** The facts that must not depend on how the packets were carried. */
function facts(f: Flow) {
  return { client: f.client, server: f.server, packets: f.packets, bytes: f.bytes, security: f.security, evidence: f.evidence, protocol: f.protocol, tls: f.tls && { version: f.tls.version, sni: f.tls.sni, alpn: f.tls.alpn, clientCertificateSent: f.tls.clientCertificateSent, uriSans: f.tls.uriSans }, http: f.http.map((h) => `${h.method} ${h.path} ${h.status}`) };
}

const TUNNEL_OF: Partial<Record<WrapKind, { kind: string; vni?: number; key?: number; session?: number; dstPort?: number }>> = {
  vxlan: { kind: 'vxlan', vni: 4096, dstPort: 4789 },
  'vxlan-8472': { kind: 'vxlan', vni: 1, dstPort: 8472 },
  'vxlan-any-port': { kind: 'vxlan', vni: 77, dstPort: 14789 },
  geneve: { kind: 'geneve', vni: 4096, dstPort: 6081 },
  gre: { kind: 'gre', key: 42 },
  'gre-teb': { kind: 'gre', key: 42 },
  'erspan-ii': { kind: 'erspan-ii', session: 7 },
  'erspan-iii': { kind: 'erspan-iii', session: 7 },
  'gre-in-udp': { kind: 'gre-in-udp', dstPort: 4754 },
  ipip: { kind: 'ipip' },
  '6in4': { kind: '6in4' },
  '4in6': { kind: '4in6' },
};

describe('encapsulations are decided by content and give the plain flows', () => {
  for (const kind of WRAP_KINDS) {
    it(`${kind}: same flows, verdicts and TLS facts as plain; tunnel on the flow`, async () => {
      const inner = kind === '6in4' ? [tls6] : kind === '4in6' ? [tls, http] : [tls, http];
      const plain = await flowsOf(inner.map((packets) => ({ packets })));
      const wrapped = await flowsOf(inner.map((packets) => ({ packets, encap: kind })));
      expect(wrapped.flows.map(facts)).toEqual(plain.flows.map(facts));
      expect(wrapped.flows[0]!.security).toBe('mtls');
      expect(wrapped.stats.decode.tcp).toBe(plain.stats.decode.tcp);
      expect(Object.values(wrapped.stats.decode.skipped).reduce((a, b) => a + b, 0)).toBe(0);
      const want = TUNNEL_OF[kind];
      for (const f of wrapped.flows) {
        if (!want) {
          expect(f.tunnel, kind).toBeNull();
          continue;
        }
        expect(f.tunnel).toMatchObject({ kind: want.kind, ...(want.vni !== undefined ? { vni: want.vni } : {}), ...(want.key !== undefined ? { key: want.key } : {}), ...(want.session !== undefined ? { session: want.session } : {}) });
        // outer addresses oriented from the client's node to the server's
        const nodes = kind === '4in6' ? NODES.v6 : NODES.v4;
        expect(f.tunnel!.outer).toMatchObject({ src: nodes[0], dst: nodes[1], ...(want.dstPort ? { dstPort: want.dstPort } : {}) });
        expect(f.tunnel!.layers).toHaveLength(1);
      }
      if (kind === 'geneve') expect(wrapped.flows[0]!.tunnel!.options).toEqual([{ class: 0x0102, type: 0x80, length: 4 }]);
    });
  }

  it('the same pod flow seen on the veth and inside the VXLAN overlay is one flow; copies are not counted twice', async () => {
    const plain = await flowsOf([{ packets: tls, interfaceName: 'veth1' }]);
    // the overlay copy a few microseconds after the veth copy, on the node's eth0
    const later = tls.map((p) => ({ ...p, timeNs: p.timeNs + 7000n }));
    const both = await flowsOf([{ packets: tls, interfaceName: 'veth1' }, { packets: later, encap: 'vxlan', interfaceName: 'eth0' }]);
    expect(both.flows).toHaveLength(1);
    const f = both.flows[0]!;
    expect(facts(f)).toEqual(facts(plain.flows[0]!));
    expect(f.duplicatePackets).toBe(tls.length);
    expect(f.frames).toHaveLength(2 * tls.length);
    expect(f.tunnel).toMatchObject({ kind: 'vxlan', vni: 4096 });
    expect(f.views?.map((v) => v.packets)).toEqual([tls.length, tls.length]);
    expect(f.views?.[1]?.path).toMatch(/^vxlan 4096 \(192\.168\.10\.1-192\.168\.10\.2\) on eth0$/);
  });

  it('a real retransmission on one path is still a retransmission, not a copy', async () => {
    const retr = tcpConversation([{ dir: 'c2s', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n') }, { dir: 's2c', bytes: Buffer.from('HTTP/1.1 204 No Content\r\n\r\n') }], { client: { ip: '10.0.0.1', port: 1234 }, server: { ip: '10.0.0.2', port: 80 }, startMs: 1, retransmit: [0] });
    const r = await flowsOf([{ packets: retr, encap: 'vxlan' }]);
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0]!.duplicatePackets).toBeUndefined();
    expect(r.flows[0]!.packets).toBe(retr.length);
  });
});
