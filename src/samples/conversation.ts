/**
 * Frames recorded conversations as a `tcpdump -i any` capture taken inside a pod's network namespace:
 * classic microsecond pcap, link type LINUX_SLL2 (276), IPv4/TCP with real checksums, MSS-sized segments,
 * delayed ACKs and FIN/RST teardown. The TCP timing model is the samples' own (segment delays tie the legs of one
 * request together); segments, link framing and the file writer are src/synth's. `eth0` packets carry the sending MAC and packet type HOST/OUTGOING; `lo`
 * packets appear once with type HOST, ARPHRD_LOOPBACK and a zero address, as the kernel reports them.
 */
import { frame, LINKTYPE } from '../synth/link.js';
import { writePcap as writeClassicPcap } from '../synth/pcap-writer.js';
import { TCP_FLAGS, tcpSegment, type Endpoint } from '../synth/tcp.js';
import type { Side } from './recording.js';

export interface NetIface {
  index: number;
  loopback: boolean;
  /** this pod's MAC on eth0 */
  mac: Buffer;
  /** the MAC incoming packets come from (the node side of the veth) */
  peerMac: Buffer;
  mss: number;
}

export type { Endpoint } from '../synth/tcp.js';

/** What one side sends; `delayUs` is extra time before it (the peer's think time). */
export type Segment = ({ from: Side; data: Buffer } | { from: Side; fin: true } | { from: Side; rst: true }) & { delayUs?: number };

export interface ConversationSpec {
  iface: NetIface;
  client: Endpoint;
  server: Endpoint;
  /** which side of the conversation lives in the captured netns (decides OUTGOING vs HOST on eth0) */
  local: Side;
  /** frames one IP datagram instead of the netns's SLL2 header (e.g. a node capture that sees it inside Geneve) */
  framer?: (datagram: Uint8Array, from: Side) => Uint8Array;
  /** start time in microseconds since the epoch */
  startUs: number;
  /** one-way latency in microseconds */
  latencyUs: number;
  /** initial sequence numbers and IP ids come from here */
  isn: { client: number; server: number };
  segments: Segment[];
  /**
   * The SYN is never answered (dropped on the way): it is sent again at these offsets from the start
   * (µs, the kernel's backoff), with the same sequence number, and nothing else happens.
   */
  unansweredSynRetransmitsUs?: number[];
}

export interface Packet {
  tsUs: number;
  data: Buffer;
}

const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS;

function tcpOptions(syn: boolean, mss: number, tsval: number, tsecr: number): Buffer {
  if (syn) {
    const b = Buffer.alloc(20);
    b.writeUInt8(2, 0); b.writeUInt8(4, 1); b.writeUInt16BE(mss, 2); // MSS
    b.writeUInt8(4, 4); b.writeUInt8(2, 5); // SACK permitted
    b.writeUInt8(8, 6); b.writeUInt8(10, 7); b.writeUInt32BE(tsval >>> 0, 8); b.writeUInt32BE(tsecr >>> 0, 12);
    b.writeUInt8(1, 16); // NOP
    b.writeUInt8(3, 17); b.writeUInt8(3, 18); b.writeUInt8(7, 19); // window scale 7
    return b;
  }
  const b = Buffer.alloc(12);
  b.writeUInt8(1, 0); b.writeUInt8(1, 1);
  b.writeUInt8(8, 2); b.writeUInt8(10, 3); b.writeUInt32BE(tsval >>> 0, 4); b.writeUInt32BE(tsecr >>> 0, 8);
  return b;
}

interface HostState {
  ep: Endpoint;
  seq: number;
  ack: number;
  ipId: number;
  tsOffset: number;
}

/** Builds IPv4+TCP packets for one conversation, with the SLL2 header of the captured netns. */
export function frameConversation(spec: ConversationSpec): Packet[] {
  return frameConversationTimed(spec).packets;
}

/** Like frameConversation, also returning the time of the first packet of each segment. */
export function frameConversationTimed(spec: ConversationSpec): { packets: Packet[]; times: number[] } {
  const times: number[] = [];
  const out: Packet[] = [];
  const { iface } = spec;
  let t = spec.startUs;
  const hosts: Record<Side, HostState> = {
    client: { ep: spec.client, seq: spec.isn.client >>> 0, ack: 0, ipId: (spec.isn.client >>> 16) & 0xffff, tsOffset: spec.isn.client % 100000 },
    server: { ep: spec.server, seq: spec.isn.server >>> 0, ack: 0, ipId: (spec.isn.server >>> 16) & 0xffff, tsOffset: spec.isn.server % 100000 },
  };
  const other = (s: Side): Side => (s === 'client' ? 'server' : 'client');
  const tsval = (s: Side): number => Math.floor(t / 1000) + hosts[s].tsOffset;
  let lastTs: Record<Side, number> = { client: 0, server: 0 };

  const emit = (from: Side, flags: number, payload: Buffer = Buffer.alloc(0)): void => {
    const h = hosts[from];
    const to = hosts[other(from)];
    const syn = (flags & SYN) !== 0;
    const rst = (flags & RST) !== 0;
    const opts = rst ? Buffer.alloc(0) : tcpOptions(syn, iface.loopback ? 65495 : 1460, tsval(from), lastTs[other(from)]);
    lastTs[from] = tsval(from);
    const datagram = tcpSegment(h.ep, to.ep, {
      flags,
      seq: h.seq,
      ack: h.ack,
      payload,
      options: opts,
      window: syn ? 64240 : rst ? 0 : 502,
      ipId: h.ipId,
      ttl: 64,
      dontFragment: !rst,
    });
    h.ipId = (h.ipId + 1) & 0xffff;
    const outgoing = from === spec.local;
    const framed = spec.framer ? spec.framer(datagram, from) : frame(datagram, {
      linkType: LINKTYPE.LINUX_SLL2,
      ifIndex: iface.index,
      arphrd: iface.loopback ? 772 : 1,
      packetType: iface.loopback ? 0 : outgoing ? 4 : 0,
      srcMac: iface.loopback ? new Uint8Array(6) : outgoing ? iface.mac : iface.peerMac,
    });
    out.push({ tsUs: Math.round(t), data: Buffer.from(framed) });
    h.seq = (h.seq + payload.length + (syn || (flags & FIN) !== 0 ? 1 : 0)) >>> 0;
  };

  const lat = spec.latencyUs;
  // three-way handshake
  const isn = hosts.client.seq;
  emit('client', SYN);
  if (spec.unansweredSynRetransmitsUs) {
    for (const off of spec.unansweredSynRetransmitsUs) {
      t = spec.startUs + off;
      hosts.client.seq = isn;
      emit('client', SYN);
    }
    return { packets: out, times };
  }
  hosts.server.ack = (hosts.client.seq) >>> 0;
  t += lat;
  emit('server', SYN | ACK);
  hosts.client.ack = hosts.server.seq;
  t += lat;
  emit('client', ACK);

  let lastFrom: Side = 'client';
  let unacked: Record<Side, number> = { client: 0, server: 0 };
  const flushAck = (receiver: Side): void => {
    if (unacked[other(receiver)] > 0) {
      t += 40;
      emit(receiver, ACK);
      unacked[other(receiver)] = 0;
    }
  };
  for (const seg of spec.segments) {
    const from = seg.from;
    if (from !== lastFrom) {
      // the receiver of the previous flight acknowledges it (delayed ACK folded into its reply when it has one)
      t += lat;
    } else {
      t += 15;
    }
    t += seg.delayUs ?? 0;
    times.push(t);
    lastFrom = from;
    if ('data' in seg) {
      const mss = iface.mss;
      for (let off = 0; off < seg.data.length; off += mss) {
        const chunk = seg.data.subarray(off, Math.min(off + mss, seg.data.length));
        const last = off + mss >= seg.data.length;
        emit(from, ACK | (last ? PSH : 0), chunk);
        hosts[other(from)].ack = hosts[from].seq;
        unacked[from]++;
        t += 12;
        if (unacked[from] >= 2 && !last) {
          t += lat;
          emit(other(from), ACK);
          unacked[from] = 0;
          t -= lat;
        }
      }
      // a lone flight is acknowledged after the delayed-ACK timer if no reply is coming right away
      const idx = spec.segments.indexOf(seg);
      const next = spec.segments[idx + 1];
      if (!next || next.from === from || !('data' in next)) {
        t += lat;
        flushAck(other(from));
        t -= lat;
      }
    } else if ('fin' in seg) {
      emit(from, FIN | ACK);
      hosts[other(from)].ack = hosts[from].seq;
      unacked[from] = 0;
      const idx = spec.segments.indexOf(seg);
      const next = spec.segments[idx + 1];
      if (!next || next.from === from) {
        t += lat;
        emit(other(from), ACK);
        t -= lat;
      }
    } else {
      emit(from, RST | ACK);
      break;
    }
  }
  out.sort((a, b) => a.tsUs - b.tsUs);
  return { packets: out, times };
}

/** Classic pcap (microsecond, little-endian) with link type LINUX_SLL2, in time order (src/synth's writer). */
export function writePcap(packets: Packet[], snaplen = 262144, linkType: number = LINKTYPE.LINUX_SLL2): Buffer {
  const sorted = [...packets].sort((a, b) => a.tsUs - b.tsUs);
  return writeClassicPcap(
    sorted.map((p) => ({ timeNs: BigInt(p.tsUs) * 1000n, data: p.data })),
    { linkType, snaplen },
  );
}
