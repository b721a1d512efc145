/**
 * Synthetic capture generator (tests now, bundled incident samples later): real TLS sessions and
 * HTTP bytes from Node, framed as IPv4/IPv6 TCP packets, written as pcap or pcapng.
 *
 *   const s = await tlsFlow({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep',
 *     sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11,
 *     app: http1Conversation([...]) }, { client: {ip, port}, server: {ip, port}, startMs });
 *   writeFileSync('x.pcap', buildCapture([{ packets: s.packets }], { linkType: LINKTYPE.LINUX_SLL2 }));
 */
import { tcpConversation, type Message, type TcpConversationOptions, type TcpPacket } from './tcp.js';
import { runTlsSession, type TlsSessionOptions, type TlsSessionResult, type WireMessage } from './tls-session.js';

export * from './capture.js';
export * from './encap.js';
export * from './http.js';
export * from './link.js';
export * from './mysql.js';
export * from './pcap-writer.js';
export * from './pcapng-writer.js';
export * from './rng.js';
export * from './tcp.js';
export * from './tls-session.js';
export { identity, spiffeId, TEST_CA_CERT, TEST_IDENTITIES } from './pki/index.js';

/** Spaces wire messages in time: `gapMs` between messages (default 1 ms) from `startMs`. */
export function timed(messages: readonly WireMessage[], startMs: number, gapMs = 1): Message[] {
  return messages.map((m, i) => ({ dir: m.dir, bytes: m.bytes, timeMs: startMs + i * gapMs }));
}

/** A real TLS session (see runTlsSession) as the packets of one TCP connection. */
export async function tlsFlow(tlsOpts: TlsSessionOptions, tcp: TcpConversationOptions): Promise<{ packets: TcpPacket[]; tls: TlsSessionResult }> {
  const r = await runTlsSession(tlsOpts);
  return { packets: tcpConversation(timed(r.messages, tcp.startMs + 1), tcp), tls: r };
}

/** Cleartext application messages (HTTP/1.1, h2c, anything) as the packets of one TCP connection. */
export function plainFlow(messages: readonly WireMessage[], tcp: TcpConversationOptions): TcpPacket[] {
  return tcpConversation(timed(messages, tcp.startMs + 1), tcp);
}
