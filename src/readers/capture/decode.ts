/**
 * One frame → one TCP segment (or a counted reason why not), by packet analysis in the manner of
 * Zeek's framework (see ./packet/context.ts): the link type names the first analyzer, each
 * analyzer names the next by what it reads, tunnels keep their outer headers as context and hand
 * the inner packet back to this dispatcher, recursively.
 *
 * Layers: link types in ./packet/link.ts; Ethernet, 802.1Q/802.1ad/QinQ, 802.2 LLC/SNAP, PBB,
 * MPLS, PPPoE/PPP in ./packet/ethernet.ts; IPv4/IPv6 (fragments reassembled, extension headers
 * walked, IP-in-IP) in ./packet/ip.ts; GRE, ERSPAN I/II/III, UDP and the UDP tunnels (VXLAN,
 * Geneve, VXLAN-GPE, NSH, GRE-in-UDP, MPLS-in-UDP, Teredo) in ./packet/tunnels.ts.
 *
 * Snaplen truncation is kept apart from absence: `payloadLen` is what the IP header says the TCP
 * payload is, `payload` is what was captured of it.
 */
import type { RawFrame } from './frames.js';
import { A, MAX_DEPTH, newPacketCtx, stop, type AnalyzerId, type PacketCtx, type TunnelLayer } from './packet/context.js';
import { ethernet, llc, mpls, pbb, ppp, pppoe, vlan } from './packet/ethernet.js';
import { FragmentTable, newDecodeStats, type DecodeStats } from './packet/fragments.js';
import { ipByVersion, ipv4, ipv6, type IpEnv } from './packet/ip.js';
import { linkLayer } from './packet/link.js';
import { erspan2, erspan3, geneve, gre, greInUdp, mplsInUdp, nsh, teredo, udp, vxlan, vxlanGpe, wccp } from './packet/tunnels.js';
import type { UdpTable } from './udp.js';

export { LINKTYPE, LINKTYPE_NAMES, SUPPORTED_LINKTYPES } from './packet/link.js';
export { SKIP_REASONS, type SkipReason, type TunnelKind, type TunnelLayer } from './packet/context.js';
export { FragmentTable, FRAGMENT_DROP_TEXT, newDecodeStats, type DecodeStats, type FragmentDropReason } from './packet/fragments.js';
export { ipv6String } from './packet/address.js';

/**
 * The encapsulation a segment arrived in (interned: one object per distinct stack of tunnels and
 * direction). `view` is the same for both directions of one path.
 */
export interface Encapsulation {
  tunnels: TunnelLayer[];
  /** Direction-independent path id (outer addresses sorted, UDP source ports ignored). */
  viewKey: number;
}

export interface TcpSegment {
  frame: number;
  sec: number;
  nsec: number;
  precision: number;
  iface: number;
  /** The link layer says this was captured on a loopback interface (SLL/SLL2 ARPHRD_LOOPBACK). */
  loopback: boolean;
  family: 4 | 6;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** Payload length per the IP header. */
  payloadLen: number;
  /** Captured part of the payload (may be shorter than payloadLen when the snap length cut it). */
  payload: Uint8Array;
  /**
   * Where the packet was seen: capture interface, link-layer interface index and encapsulation
   * path, as one number. Two copies of one packet seen on two paths (a pod's veth and the node's
   * VXLAN overlay) have different views.
   */
  view: number;
  /** Tunnels the packet came in (outermost first); null when it was not encapsulated. */
  encap: Encapsulation | null;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface Decoder {
  stats: DecodeStats;
  frags: FragmentTable;
  /** Decodes one frame; returns a TCP segment or null (counted in stats; UDP datagrams go to the UDP table). */
  decode(f: RawFrame): TcpSegment | null;
}

export interface DecoderOptions {
  /** Receives every UDP datagram that is not a tunnel (conversations, Zeek conn.log style). */
  udp?: UdpTable;
}

const EMPTY = new Uint8Array(0);
const MAX_INTERNED = 65536;

export function createDecoder(opts: DecoderOptions = {}): Decoder {
  const stats = newDecodeStats();
  const frags = new FragmentTable();
  const env: IpEnv = { frags, stats, lastExpire: 0 };
  const ctx: PacketCtx = newPacketCtx();
  const udpTable = opts.udp;
  /**
   * Interned encapsulations: one per distinct stack of layers, equal when every layer has the same kind,
   * outer addresses and ports, VNI, key, session and service path. Found without building a key per packet
   * (this runs for every encapsulated frame): by the innermost layer's outer source address, then its outer
   * ports, then compared field by field. View keys by direction-free signature (built only for a new one).
   */
  const encaps = new Map<string, Map<number, Encapsulation[]>>();
  let interned = 0;
  const viewKeys = new Map<string, number>();

  function sameStack(a: readonly TunnelLayer[], b: readonly TunnelLayer[]): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (
        x.kind !== y.kind ||
        x.outer.src !== y.outer.src ||
        x.outer.dst !== y.outer.dst ||
        x.outer.srcPort !== y.outer.srcPort ||
        x.outer.dstPort !== y.outer.dstPort ||
        x.vni !== y.vni ||
        x.key !== y.key ||
        x.session !== y.session ||
        x.servicePath !== y.servicePath
      )
        return false;
    }
    return true;
  }

  function intern(tunnels: TunnelLayer[]): Encapsulation {
    const last = tunnels[tunnels.length - 1]!;
    const ports = (last.outer.srcPort ?? 65536) * 65537 + (last.outer.dstPort ?? 65536);
    let byPorts = encaps.get(last.outer.src);
    let list = byPorts?.get(ports);
    if (list) {
      for (let i = 0; i < list.length; i++) if (sameStack(list[i]!.tunnels, tunnels)) return list[i]!;
    }
    if (interned >= MAX_INTERNED) {
      encaps.clear();
      interned = 0;
      byPorts = undefined;
      list = undefined;
    }
    let free = '';
    for (const t of tunnels) {
      const ids = `${t.vni ?? ''}/${t.key ?? ''}/${t.session ?? ''}/${t.servicePath ?? ''}`;
      const [a, b] = t.outer.src < t.outer.dst ? [t.outer.src, t.outer.dst] : [t.outer.dst, t.outer.src];
      free += `${t.kind} ${a} ${b} ${ids};`;
    }
    let vk = viewKeys.get(free);
    if (vk === undefined) {
      vk = viewKeys.size + 1;
      viewKeys.set(free, vk);
    }
    const e: Encapsulation = { tunnels: tunnels.map((t) => ({ ...t, outer: { ...t.outer } })), viewKey: vk };
    if (!byPorts) encaps.set(last.outer.src, (byPorts = new Map()));
    if (!list) byPorts.set(ports, (list = []));
    list.push(e);
    interned++;
    return e;
  }

  function countTunnels(): void {
    for (const t of ctx.tunnels!) stats.tunnels[t.kind] = (stats.tunnels[t.kind] ?? 0) + 1;
  }

  function skipped(f: RawFrame): null {
    const reason = ctx.skip ?? 'unknown-encapsulation';
    stats.skipped[reason]++;
    if (ctx.detail !== null) {
      const e = stats.skippedDetail.get(ctx.detail);
      if (e) e.frames++;
      else if (stats.skippedDetail.size < 1000) stats.skippedDetail.set(ctx.detail, { reason, frames: 1, firstFrame: f.frame });
    }
    if (ctx.tunnels !== null) countTunnels();
    if (reason === 'udp' && udpTable) udpTable.add(ctx, f);
    return null;
  }

  function decode(f: RawFrame): TcpSegment | null {
    stats.frames++;
    if (f.caplen < f.origLen) stats.truncatedFrames++;
    // the frame's bytes where the reader read them (offsets below are into the whole read buffer)
    ctx.d = f.bytes;
    ctx.o = f.start;
    ctx.end = f.start + f.caplen;
    ctx.sec = f.sec;
    ctx.frame = f.frame;
    ctx.loopback = false;
    ctx.ifIndex = 0;
    ctx.tunnels = null;
    ctx.depth = 0;
    ctx.skip = null;
    ctx.detail = null;
    const first = linkLayer(ctx, f.linkType);
    if (first === -1) {
      if (!stats.unsupportedLinkTypes.has(f.linkType)) stats.unsupportedLinkTypes.set(f.linkType, f.frame);
      stats.skipped['unsupported-link-type']++;
      return null;
    }
    let a: AnalyzerId = first;
    while (a !== A.TCP) {
      if (++ctx.depth > MAX_DEPTH) a = stop(ctx, 'too-deep');
      switch (a) {
        case A.STOP:
          return skipped(f);
        case A.ETHERNET:
          a = ethernet(ctx);
          break;
        case A.IPV4:
          a = ipv4(ctx, env);
          break;
        case A.IPV6:
          a = ipv6(ctx, env);
          break;
        case A.IP:
          a = ipByVersion(ctx);
          break;
        case A.VLAN:
          a = vlan(ctx);
          break;
        case A.UDP:
          a = udp(ctx);
          break;
        case A.VXLAN:
          a = vxlan(ctx);
          break;
        case A.GENEVE:
          a = geneve(ctx);
          break;
        case A.GRE:
          a = gre(ctx);
          break;
        case A.MPLS:
          a = mpls(ctx);
          break;
        case A.LLC:
          a = llc(ctx);
          break;
        case A.PBB:
          a = pbb(ctx);
          break;
        case A.PPPOE:
          a = pppoe(ctx);
          break;
        case A.PPP:
          a = ppp(ctx);
          break;
        case A.ERSPAN_II:
          a = erspan2(ctx);
          break;
        case A.ERSPAN_III:
          a = erspan3(ctx);
          break;
        case A.VXLAN_GPE:
          a = vxlanGpe(ctx);
          break;
        case A.NSH:
          a = nsh(ctx);
          break;
        case A.TEREDO:
          a = teredo(ctx);
          break;
        case A.WCCP:
          a = wccp(ctx);
          break;
        case A.GRE_IN_UDP:
          a = greInUdp(ctx);
          break;
        case A.MPLS_IN_UDP:
          a = mplsInUdp(ctx);
          break;
        default:
          a = stop(ctx, 'unknown-encapsulation', `analyzer ${a}`);
      }
    }
    return tcp(f);
  }

  function tcp(f: RawFrame): TcpSegment | null {
    const t = ctx.t;
    const to = ctx.to;
    const tEnd = ctx.tEnd;
    const tn = Math.min(ctx.end, t.length);
    if (tn < to + 20) {
      ctx.skip = 'truncated-header';
      return skipped(f);
    }
    const doff = (t[to + 12]! >> 4) * 4;
    if (doff < 20 || tEnd < to + doff) {
      ctx.skip = 'bad-ip-header';
      return skipped(f);
    }
    const payloadStart = to + doff;
    const capEnd = Math.min(tEnd, tn);
    stats.tcp++;
    let encap: Encapsulation | null = null;
    let view = f.iface * 65536 + (ctx.ifIndex & 0xffff);
    if (ctx.tunnels !== null) {
      countTunnels();
      encap = intern(ctx.tunnels);
      view += encap.viewKey * 4294967296;
    }
    return {
      frame: f.frame,
      sec: f.sec,
      nsec: f.nsec,
      precision: f.precision,
      iface: f.iface,
      loopback: ctx.loopback,
      family: ctx.family,
      src: ctx.src,
      dst: ctx.dst,
      sport: (t[to]! << 8) | t[to + 1]!,
      dport: (t[to + 2]! << 8) | t[to + 3]!,
      seq: ((t[to + 4]! << 24) | (t[to + 5]! << 16) | (t[to + 6]! << 8) | t[to + 7]!) >>> 0,
      ack: ((t[to + 8]! << 24) | (t[to + 9]! << 16) | (t[to + 10]! << 8) | t[to + 11]!) >>> 0,
      flags: t[to + 13]!,
      payloadLen: tEnd - payloadStart,
      payload: capEnd > payloadStart ? t.subarray(payloadStart, capEnd) : EMPTY,
      view,
      encap,
    };
  }
  return { stats, frags, decode };
}
