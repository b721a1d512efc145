/**
 * Link-layer framing for synthetic packets: wraps an IPv4/IPv6 datagram the way a capture on a
 * given link type stores it. EN10MB (optionally 802.1Q-tagged), LINUX_SLL (tcpdump -i any, old
 * libpcap), LINUX_SLL2 (tcpdump -i any, libpcap ≥ 1.10), RAW, NULL (BSD loopback).
 */

export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  RAW: 101,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

export interface LinkOptions {
  linkType: number;
  /** EN10MB addresses (6 bytes each; SLL/SLL2 use srcMac as the sender address). */
  srcMac?: Uint8Array;
  dstMac?: Uint8Array;
  /** EN10MB: 802.1Q VLAN ids to insert (outermost first). */
  vlans?: number[];
  /** SLL/SLL2 packet type: 0 = to us (host), 4 = outgoing. */
  packetType?: number;
  /** SLL2 interface index. */
  ifIndex?: number;
  /** SLL/SLL2 ARPHRD type: 1 = Ethernet, 772 = loopback (default: loopback for 127/8 and ::1 sources, else Ethernet). */
  arphrd?: number;
}

export const DEFAULT_SRC_MAC = Uint8Array.from([0x02, 0x42, 0x0a, 0x00, 0x00, 0x01]);
export const DEFAULT_DST_MAC = Uint8Array.from([0x02, 0x42, 0x0a, 0x00, 0x00, 0x02]);

/** Ethertype of an IP datagram from its version nibble. */
function ethertypeOf(ip: Uint8Array): number {
  return (ip[0]! >> 4) === 6 ? 0x86dd : 0x0800;
}

/** Loopback traffic (127/8 or ::1 as source): SLL/SLL2 then say ARPHRD_LOOPBACK with a zero address, as Linux does. */
function isLoopback(ip: Uint8Array): boolean {
  if (ip[0]! >> 4 === 4) return ip[12] === 127;
  for (let i = 8; i < 23; i++) if (ip[i] !== 0) return false;
  return ip[23] === 1;
}

export function frame(ip: Uint8Array, opts: LinkOptions): Uint8Array {
  const et = ethertypeOf(ip);
  const lo = isLoopback(ip);
  const arphrd = opts.arphrd ?? (lo ? 772 : 1);
  const sllAddr = opts.srcMac ?? (lo ? new Uint8Array(6) : DEFAULT_SRC_MAC);
  switch (opts.linkType) {
    case LINKTYPE.RAW:
      return ip;
    case LINKTYPE.NULL: {
      const b = Buffer.alloc(4 + ip.length);
      // host byte order (we write little-endian, as on x86); AF_INET6 = 24 on BSD/macOS captures
      b.writeUInt32LE(et === 0x86dd ? 24 : 2, 0);
      b.set(ip, 4);
      return b;
    }
    case LINKTYPE.EN10MB:
      return ethernetFrame(ip, et, { vlans: opts.vlans, src: opts.srcMac, dst: opts.dstMac });
    case LINKTYPE.LINUX_SLL: {
      const b = Buffer.alloc(16 + ip.length);
      b.writeUInt16BE(opts.packetType ?? 0, 0);
      b.writeUInt16BE(arphrd, 2);
      b.writeUInt16BE(6, 4);
      b.set(sllAddr, 6);
      b.writeUInt16BE(et, 14);
      b.set(ip, 16);
      return b;
    }
    case LINKTYPE.LINUX_SLL2: {
      const b = Buffer.alloc(20 + ip.length);
      b.writeUInt16BE(et, 0);
      b.writeUInt16BE(0, 2);
      b.writeUInt32BE(opts.ifIndex ?? 1, 4);
      b.writeUInt16BE(arphrd, 8);
      b.writeUInt8(opts.packetType ?? 0, 10);
      b.writeUInt8(6, 11);
      b.set(sllAddr, 12);
      b.set(ip, 20);
      return b;
    }
    default:
      throw new Error(`synth: cannot frame link type ${opts.linkType}`);
  }
}

/** An Ethernet II frame (with 802.1Q tags, outermost first; two or more tags use 802.1ad for the outer one). */
export function ethernetFrame(payload: Uint8Array, ethertype: number, o: { vlans?: number[]; src?: Uint8Array; dst?: Uint8Array } = {}): Uint8Array {
  const vlans = o.vlans ?? [];
  const h = Buffer.alloc(14 + 4 * vlans.length + payload.length);
  h.set(o.dst ?? DEFAULT_DST_MAC, 0);
  h.set(o.src ?? DEFAULT_SRC_MAC, 6);
  let off = 12;
  vlans.forEach((id, i) => {
    h.writeUInt16BE(i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100, off);
    h.writeUInt16BE(id & 0x0fff, off + 2);
    off += 4;
  });
  h.writeUInt16BE(ethertype, off);
  h.set(payload, off + 2);
  return h;
}
