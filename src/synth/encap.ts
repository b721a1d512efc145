/**
 * Encapsulations for synthetic packets: wraps an IP datagram the way overlays, tunnels and link
 * layers carry it on a node (VXLAN, Geneve with options, GRE with a key or transparent Ethernet
 * bridging, ERSPAN II/III, GRE-in-UDP, IPIP / 6in4 / 4in6, MPLS label stacks (also in a VLAN),
 * 802.1Q / QinQ, 802.2 LLC/SNAP, PBB, NFLOG). Each builder returns bytes; `Wrap` composes them
 * into a whole link-layer frame per direction, so the same TCP session can be written in every
 * encapsulation and compared with its plain form.
 */
import { ipBytes } from './tcp.js';
import { DEFAULT_DST_MAC, DEFAULT_SRC_MAC, ethernetFrame } from './link.js';


const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

function ethertypeOf(ip: Uint8Array): number {
  return ip[0]! >> 4 === 6 ? 0x86dd : 0x0800;
}

/** An outer IPv4 (or IPv6 when the addresses are) header around `payload` with protocol `proto`. */
export function ipPacket(payload: Uint8Array, proto: number, src: string, dst: string): Uint8Array {
  if (src.includes(':')) {
    const h = Buffer.alloc(40);
    h.writeUInt32BE(0x60000000, 0);
    h.writeUInt16BE(payload.length, 4);
    h[6] = proto;
    h[7] = 64;
    h.set(ipBytes(src), 8);
    h.set(ipBytes(dst), 24);
    return cat(h, payload);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = proto;
  h.set(ipBytes(src), 12);
  h.set(ipBytes(dst), 16);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += h.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  h.writeUInt16BE(~s & 0xffff, 10);
  return cat(h, payload);
}

export function udpDatagram(payload: Uint8Array, sport: number, dport: number): Uint8Array {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return cat(h, payload);
}

export function vxlanHeader(vni: number): Uint8Array {
  const h = Buffer.alloc(8);
  h[0] = 0x08;
  h.writeUIntBE(vni, 4, 3);
  return h;
}

export function geneveHeader(vni: number, protocol: number, options: { class: number; type: number; data: Uint8Array }[] = []): Uint8Array {
  const opts = options.map((o) => {
    const len = Math.ceil(o.data.length / 4) * 4;
    const b = Buffer.alloc(4 + len);
    b.writeUInt16BE(o.class, 0);
    b[2] = o.type;
    b[3] = len / 4;
    b.set(o.data, 4);
    return b;
  });
  const optBytes = Buffer.concat(opts);
  const h = Buffer.alloc(8);
  h[0] = optBytes.length / 4;
  h.writeUInt16BE(protocol, 2);
  h.writeUIntBE(vni, 4, 3);
  return cat(h, optBytes);
}

export function greHeader(protocol: number, o: { key?: number; seq?: number } = {}): Uint8Array {
  let flags = 0;
  if (o.key !== undefined) flags |= 0x2000;
  if (o.seq !== undefined) flags |= 0x1000;
  const h = Buffer.alloc(4 + (o.key !== undefined ? 4 : 0) + (o.seq !== undefined ? 4 : 0));
  h.writeUInt16BE(flags, 0);
  h.writeUInt16BE(protocol, 2);
  let off = 4;
  if (o.key !== undefined) {
    h.writeUInt32BE(o.key >>> 0, off);
    off += 4;
  }
  if (o.seq !== undefined) h.writeUInt32BE(o.seq >>> 0, off);
  return h;
}

export function erspan2Header(session: number, vlan = 0): Uint8Array {
  const h = Buffer.alloc(8);
  h.writeUInt16BE((1 << 12) | (vlan & 0xfff), 0);
  h.writeUInt16BE(session & 0x3ff, 2);
  return h;
}

export function erspan3Header(session: number, vlan = 0): Uint8Array {
  const h = Buffer.alloc(12);
  h.writeUInt16BE((2 << 12) | (vlan & 0xfff), 0);
  h.writeUInt16BE(session & 0x3ff, 2);
  return h; // frame type 0 (Ethernet), no platform sub-header
}

export function mplsStack(labels: number[]): Uint8Array {
  const h = Buffer.alloc(4 * labels.length);
  labels.forEach((l, i) => h.writeUInt32BE(((l << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0, 4 * i));
  return h;
}

/** The encapsulations the generator can write. */
export type WrapKind =
  | 'vxlan'
  | 'vxlan-8472'
  | 'vxlan-any-port'
  | 'geneve'
  | 'gre'
  | 'gre-teb'
  | 'erspan-ii'
  | 'erspan-iii'
  | 'gre-in-udp'
  | 'ipip'
  | '6in4'
  | '4in6'
  | 'mpls'
  | 'mpls-in-vlan'
  | 'qinq'
  | 'llc-snap'
  | 'pbb'
  | 'nflog';

export const WRAP_KINDS: readonly WrapKind[] = ['vxlan', 'vxlan-8472', 'vxlan-any-port', 'geneve', 'gre', 'gre-teb', 'erspan-ii', 'erspan-iii', 'gre-in-udp', 'ipip', '6in4', '4in6', 'mpls', 'mpls-in-vlan', 'qinq', 'llc-snap', 'pbb', 'nflog'];

/** Outer (node) addresses used by `wrap`: client side first. */
export const NODES = { v4: ['192.168.10.1', '192.168.10.2'], v6: ['fd00:10::1', 'fd00:10::2'] } as const;

export interface Wrapped {
  linkType: number;
  frame: Uint8Array;
}

/**
 * One IP datagram of direction `dir` as a whole frame in encapsulation `kind` (outer addresses
 * NODES, VNI 4096, GRE key 42, ERSPAN session 7, MPLS labels [100, 200], VLANs [10] / [100, 20]).
 */
export function wrap(ip: Uint8Array, kind: WrapKind, dir: 'c2s' | 's2c'): Wrapped {
  const [a, b] = dir === 'c2s' ? [0, 1] : [1, 0];
  const v4 = (p: Uint8Array, proto: number) => ipPacket(p, proto, NODES.v4[a]!, NODES.v4[b]!);
  const eth = (p: Uint8Array, et: number, vlans?: number[]) => ethernetFrame(p, et, vlans ? { vlans } : {});
  const inner = () => eth(ip, ethertypeOf(ip));
  const en = (frame: Uint8Array): Wrapped => ({ linkType: 1, frame });
  const sport = dir === 'c2s' ? 51000 : 52000; // overlays hash the inner flow into the source port
  switch (kind) {
    case 'vxlan':
      return en(eth(v4(udpDatagram(cat(vxlanHeader(4096), inner()), sport, 4789), 17), 0x0800));
    case 'vxlan-8472':
      return en(eth(v4(udpDatagram(cat(vxlanHeader(1), inner()), sport, 8472), 17), 0x0800));
    case 'vxlan-any-port':
      return en(eth(v4(udpDatagram(cat(vxlanHeader(77), inner()), sport, 14789), 17), 0x0800));
    case 'geneve':
      return en(eth(v4(udpDatagram(cat(geneveHeader(4096, 0x6558, [{ class: 0x0102, type: 0x80, data: Buffer.from([0, 1, 0, 2]) }]), inner()), sport, 6081), 17), 0x0800));
    case 'gre':
      return en(eth(v4(cat(greHeader(ethertypeOf(ip), { key: 42 }), ip), 47), 0x0800));
    case 'gre-teb':
      return en(eth(v4(cat(greHeader(0x6558, { key: 42 }), inner()), 47), 0x0800));
    case 'erspan-ii':
      return en(eth(v4(cat(greHeader(0x88be, { seq: 1 }), erspan2Header(7), inner()), 47), 0x0800));
    case 'erspan-iii':
      return en(eth(v4(cat(greHeader(0x22eb, { seq: 1 }), erspan3Header(7), inner()), 47), 0x0800));
    case 'gre-in-udp':
      return en(eth(v4(udpDatagram(cat(greHeader(ethertypeOf(ip)), ip), sport, 4754), 17), 0x0800));
    case 'ipip':
      return en(eth(v4(ip, 4), 0x0800));
    case '6in4':
      return en(eth(v4(ip, 41), 0x0800));
    case '4in6':
      return en(eth(ipPacket(ip, 4, NODES.v6[a]!, NODES.v6[b]!), 0x86dd));
    case 'mpls':
      return en(eth(cat(mplsStack([100, 200]), ip), 0x8847));
    case 'mpls-in-vlan':
      return en(eth(cat(mplsStack([100, 200]), ip), 0x8847, [10]));
    case 'qinq':
      return en(eth(ip, ethertypeOf(ip), [100, 20]));
    case 'llc-snap': {
      const llc = cat(Uint8Array.from([0xaa, 0xaa, 0x03, 0, 0, 0, ethertypeOf(ip) >> 8, ethertypeOf(ip) & 0xff]), ip);
      const h = Buffer.alloc(14);
      h.set(DEFAULT_DST_MAC, 0);
      h.set(DEFAULT_SRC_MAC, 6);
      h.writeUInt16BE(llc.length, 12);
      return en(cat(h, llc));
    }
    case 'pbb': {
      const itag = Buffer.alloc(4);
      itag.writeUInt32BE(0x00012345, 0);
      return en(eth(cat(itag, inner()), 0x88e7, [30]));
    }
    case 'nflog': {
      const h = Buffer.from([ethertypeOf(ip) === 0x86dd ? 10 : 2, 0, 0, 1]);
      const tlv = (type: number, v: Uint8Array) => {
        const len = 4 + v.length;
        const t = Buffer.alloc((len + 3) & ~3);
        t.writeUInt16LE(len, 0);
        t.writeUInt16LE(type, 2);
        t.set(v, 4);
        return t;
      };
      const prefix = tlv(10, Buffer.from('meshsleuth\0'));
      return { linkType: 239, frame: cat(h, prefix, tlv(9, ip)) };
    }
  }
}
