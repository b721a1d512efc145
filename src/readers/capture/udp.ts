/**
 * UDP conversations, listed the way Zeek's conn.log lists them: the originator is the sender of
 * the first datagram, bytes are payload bytes, and `connState` follows Zeek's UDP rule (SF when
 * both sides sent, S0 when only the originator did, SHR when only the responder did). They are
 * not judged for security (meshsleuth analyses TCP); they are listed so nothing a capture holds is
 * silently dropped: a DNS-only capture shows its DNS conversations instead of "0 flows".
 */
import type { PacketCtx, TunnelLayer } from './packet/context.js';

export interface UdpConversation {
  /** Originator (first sender) and responder. */
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  startSec: number;
  startNsec: number;
  endSec: number;
  endNsec: number;
  precision: number;
  packets: { clientToServer: number; serverToClient: number };
  /** UDP payload bytes per direction (Zeek's orig_bytes / resp_bytes). */
  bytes: { clientToServer: number; serverToClient: number };
  /** Zeek's conn_state for UDP: SF, S0 or SHR. */
  connState: 'SF' | 'S0' | 'SHR';
  /** `dns` when the first datagram to or from port 53/5353/5355 parses as a DNS header; else null. */
  service: string | null;
  /** First frame numbers (at most MAX_FRAMES) and the first one. */
  frames: number[];
  /** The encapsulation the first datagram came in, when it was tunnelled. */
  tunnel: TunnelLayer[] | null;
}

const MAX_FRAMES = 1000;

function looksLikeDns(d: Uint8Array, p: number, end: number): boolean {
  if (end - p < 12) return false;
  const opcode = (d[p + 2]! >> 3) & 0x0f;
  const qd = (d[p + 4]! << 8) | d[p + 5]!;
  const an = (d[p + 6]! << 8) | d[p + 7]!;
  return opcode <= 6 && qd <= 16 && an <= 512;
}

const DNS_PORTS = new Set([53, 5353, 5355]);

export class UdpTable {
  private readonly convs = new Map<string, UdpConversation>();
  /** Datagrams of conversations beyond the table limit: counted, not listed. */
  overflowDatagrams = 0;
  datagrams = 0;
  constructor(readonly maxConversations = 100_000) {}

  get size(): number {
    return this.convs.size;
  }

  /** Adds one datagram; ctx is the packet context the UDP analyzer left (ctx.o at the UDP payload). */
  add(ctx: PacketCtx, frame: { frame: number; sec: number; nsec: number; precision: number }): void {
    this.datagrams++;
    const { src, dst, sport, dport } = ctx;
    const aFirst = src < dst || (src === dst && sport <= dport);
    const key = aFirst ? `${src} ${sport} ${dst} ${dport}` : `${dst} ${dport} ${src} ${sport}`;
    let c = this.convs.get(key);
    if (!c) {
      if (this.convs.size >= this.maxConversations) {
        this.overflowDatagrams++;
        return;
      }
      c = {
        client: { ip: src, port: sport },
        server: { ip: dst, port: dport },
        startSec: frame.sec,
        startNsec: frame.nsec,
        endSec: frame.sec,
        endNsec: frame.nsec,
        precision: frame.precision,
        packets: { clientToServer: 0, serverToClient: 0 },
        bytes: { clientToServer: 0, serverToClient: 0 },
        connState: 'S0',
        service: (DNS_PORTS.has(sport) || DNS_PORTS.has(dport)) && looksLikeDns(ctx.d, ctx.o, ctx.end) ? 'dns' : null,
        frames: [],
        tunnel: ctx.tunnels ? ctx.tunnels.map((t) => ({ ...t })) : null,
      };
      this.convs.set(key, c);
    }
    const c2s = c.client.ip === src && c.client.port === sport;
    if (c2s) {
      c.packets.clientToServer++;
      c.bytes.clientToServer += ctx.udpPayload;
    } else {
      c.packets.serverToClient++;
      c.bytes.serverToClient += ctx.udpPayload;
    }
    c.connState = c.packets.clientToServer > 0 ? (c.packets.serverToClient > 0 ? 'SF' : 'S0') : 'SHR';
    if (frame.sec < c.startSec || (frame.sec === c.startSec && frame.nsec < c.startNsec)) {
      c.startSec = frame.sec;
      c.startNsec = frame.nsec;
    }
    if (frame.sec > c.endSec || (frame.sec === c.endSec && frame.nsec > c.endNsec)) {
      c.endSec = frame.sec;
      c.endNsec = frame.nsec;
    }
    if (c.frames.length < MAX_FRAMES) c.frames.push(frame.frame);
  }

  /** Conversations in first-datagram order. */
  conversations(): UdpConversation[] {
    return [...this.convs.values()];
  }
}
