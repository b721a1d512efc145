/**
 * Tunnel analyzers. Each records its encapsulation (kind, the outer IP addresses the context still
 * holds, VNI/key/session) and names the analyzer of the inner packet:
 *
 * - GRE (RFC 2784/2890: checksum, key, sequence; version 1 = PPTP's enhanced GRE), by protocol
 *   type: IPv4, IPv6, transparent Ethernet bridging (0x6558), MPLS, ERSPAN type I/II (0x88be,
 *   type I has no sequence number and no ERSPAN header), ERSPAN type III (0x22eb), WCCP (0x883e).
 * - UDP-based: VXLAN (4789, Flannel's 8472, and any port where the payload parses as VXLAN with an
 *   Ethernet frame inside), Geneve (6081, and any port where it parses, options kept), VXLAN-GPE
 *   (4790) and NSH, GRE-in-UDP (4754, RFC 8086), MPLS-in-UDP (6635, RFC 7510), Teredo (3544).
 *   Any other UDP datagram ends the walk as `udp` (listed as a UDP conversation).
 */
import { A, type AnalyzerId, type PacketCtx, type TunnelKind, type TunnelLayer, enterTunnel, hex4, stop } from './context.js';
import { byEthertype, plausibleEthernet } from './ethernet.js';

const GRE_C = 0x8000;
const GRE_R = 0x4000;
const GRE_K = 0x2000;
const GRE_S = 0x1000;
const GRE_A = 0x0080;

function u32(d: Uint8Array, o: number): number {
  return ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
}

function outer(ctx: PacketCtx, udp: boolean): TunnelLayer['outer'] {
  return udp ? { src: ctx.src, dst: ctx.dst, srcPort: ctx.sport, dstPort: ctx.dport } : { src: ctx.src, dst: ctx.dst };
}

/** GRE directly over IP. */
export function gre(ctx: PacketCtx): AnalyzerId {
  return greHeader(ctx, 'gre');
}

/** GRE-in-UDP (RFC 8086): the UDP payload is a GRE header and its payload. */
export function greInUdp(ctx: PacketCtx): AnalyzerId {
  return greHeader(ctx, 'gre-in-udp');
}

function greHeader(ctx: PacketCtx, kind: 'gre' | 'gre-in-udp'): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  if (ctx.end < o + 4) return stop(ctx, 'truncated-header');
  const flags = (d[o]! << 8) | d[o + 1]!;
  const proto = (d[o + 2]! << 8) | d[o + 3]!;
  const version = flags & 7;
  let p = o + 4;
  let key: number | undefined;
  if (version === 0) {
    if (flags & GRE_R) return stop(ctx, 'unknown-encapsulation', 'GRE with source routing');
    if (flags & GRE_C) p += 4;
    if (flags & GRE_K) {
      if (ctx.end < p + 4) return stop(ctx, 'truncated-header');
      key = u32(d, p);
      p += 4;
    }
    if (flags & GRE_S) p += 4;
  } else if (version === 1) {
    // PPTP: key = payload length (16) and call id (16); optional sequence and acknowledgment numbers
    if (ctx.end < p + 4) return stop(ctx, 'truncated-header');
    key = (d[p + 2]! << 8) | d[p + 3]!;
    p += 4;
    if (flags & GRE_S) p += 4;
    if (flags & GRE_A) p += 4;
  } else {
    return stop(ctx, 'unknown-encapsulation', `GRE version ${version}`);
  }
  if (ctx.end < p) return stop(ctx, 'truncated-header');
  ctx.o = p;
  const layer = (k: TunnelKind): void => enterTunnel(ctx, { kind: k, outer: outer(ctx, kind === 'gre-in-udp'), ...(key !== undefined ? { key } : {}) });
  switch (proto) {
    case 0x0800:
    case 0x86dd:
    case 0x6558:
    case 0x8847:
    case 0x8848:
      layer(kind);
      return byEthertype(ctx, proto);
    case 0x88be:
      // ERSPAN type II carries a sequence number; type I has none and no ERSPAN header
      if (flags & GRE_S) return A.ERSPAN_II;
      layer('erspan-i');
      return A.ETHERNET;
    case 0x22eb:
      return A.ERSPAN_III;
    case 0x883e:
      layer('wccp');
      return A.WCCP;
    case 0x880b:
      if (version !== 1) return stop(ctx, 'unknown-encapsulation', 'PPP over GRE version 0');
      layer('pptp');
      return A.PPP;
    default:
      return stop(ctx, 'unknown-encapsulation', `GRE protocol ${hex4(proto)}`);
  }
}

/** ERSPAN type II: 8 bytes (version 1, VLAN, CoS, encapsulation type, truncated, session id, index). */
export function erspan2(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  if (ctx.end < o + 8) return stop(ctx, 'truncated-header');
  const ver = d[o]! >> 4;
  if (ver !== 1) return stop(ctx, 'unknown-encapsulation', `ERSPAN version ${ver} under GRE type 0x88be`);
  const vlan = ((d[o]! & 0x0f) << 8) | d[o + 1]!;
  const session = ((d[o + 2]! & 0x03) << 8) | d[o + 3]!;
  enterTunnel(ctx, { kind: 'erspan-ii', outer: outer(ctx, false), session, ...(vlan ? { vlan } : {}) });
  ctx.o = o + 8;
  return A.ETHERNET;
}

/** ERSPAN type III: 12 bytes (+ an 8-byte platform sub-header when O is set); frame type 0 = Ethernet, 2 = IP. */
export function erspan3(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  if (ctx.end < o + 12) return stop(ctx, 'truncated-header');
  const ver = d[o]! >> 4;
  if (ver !== 2) return stop(ctx, 'unknown-encapsulation', `ERSPAN version ${ver} under GRE type 0x22eb`);
  const vlan = ((d[o]! & 0x0f) << 8) | d[o + 1]!;
  const session = ((d[o + 2]! & 0x03) << 8) | d[o + 3]!;
  const w = (d[o + 10]! << 8) | d[o + 11]!;
  const frameType = (w >> 10) & 0x1f;
  const hasSub = (w & 1) === 1;
  enterTunnel(ctx, { kind: 'erspan-iii', outer: outer(ctx, false), session, ...(vlan ? { vlan } : {}) });
  ctx.o = o + 12 + (hasSub ? 8 : 0);
  if (frameType === 0) return A.ETHERNET;
  if (frameType === 2) return A.IP;
  return stop(ctx, 'unknown-encapsulation', `ERSPAN III frame type ${frameType}`);
}

/** WCCP redirect over GRE: an IPv4 packet, optionally after a 4-byte redirect header (as Wireshark decides). */
export function wccp(ctx: PacketCtx): AnalyzerId {
  if (ctx.end < ctx.o + 1) return stop(ctx, 'truncated-header');
  if (ctx.d[ctx.o]! >> 4 !== 4) ctx.o += 4;
  return A.IPV4;
}

/** UDP: ports and length; a tunnel when the port or the payload says so, else a UDP datagram. */
export function udp(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  if (ctx.end < o + 8) return stop(ctx, 'truncated-header');
  const sport = (d[o]! << 8) | d[o + 1]!;
  const dport = (d[o + 2]! << 8) | d[o + 3]!;
  const ulen = (d[o + 4]! << 8) | d[o + 5]!;
  ctx.sport = sport;
  ctx.dport = dport;
  // UDP GSO / BIG TCP captures may carry a length of 0: use the IP length then
  const wireEnd = ulen >= 8 ? o + ulen : ctx.tEnd;
  ctx.udpPayload = Math.max(0, wireEnd - o - 8);
  const p = o + 8;
  const end = Math.min(ctx.end, wireEnd);
  ctx.o = p;
  ctx.end = end;
  const port = (x: number) => sport === x || dport === x;
  if ((port(4789) || port(8472)) && isVxlan(d, p, end, false)) return A.VXLAN;
  if (port(6081) && isGeneve(d, p, end)) return A.GENEVE;
  if (port(4790) && end >= p + 8 && (d[p]! & 0x04) !== 0) return A.VXLAN_GPE;
  if (port(4754)) return A.GRE_IN_UDP;
  if (port(6635)) return A.MPLS_IN_UDP;
  if (port(3544) && teredoInner(d, p, end) >= 0) return A.TEREDO;
  // Content decides on any other port: a VXLAN header with an Ethernet frame inside, or Geneve.
  if (end >= p + 22 && d[p] === 0x08 && isVxlan(d, p, end, true)) return A.VXLAN;
  if (end >= p + 8 && d[p]! < 0x40 && isGeneve(d, p, end)) return A.GENEVE;
  return stop(ctx, 'udp');
}

/** VXLAN header (I flag set, VNI) followed by a decodable Ethernet frame; `strict` also wants every reserved bit zero. */
function isVxlan(d: Uint8Array, p: number, end: number, strict: boolean): boolean {
  if (end < p + 8 + 14) return false;
  if ((d[p]! & 0x08) === 0) return false;
  if (strict && (d[p] !== 0x08 || d[p + 1] !== 0 || d[p + 2] !== 0 || d[p + 3] !== 0 || d[p + 7] !== 0)) return false;
  return plausibleEthernet(d, p + 8, end);
}

/** Geneve: version 0, reserved bits zero, protocol Ethernet/IPv4/IPv6 with a matching inner header. */
function isGeneve(d: Uint8Array, p: number, end: number): boolean {
  if (end < p + 8) return false;
  if (d[p]! >> 6 !== 0 || (d[p + 1]! & 0x3f) !== 0 || d[p + 7] !== 0) return false;
  const inner = p + 8 + (d[p]! & 0x3f) * 4;
  const proto = (d[p + 2]! << 8) | d[p + 3]!;
  if (proto === 0x6558) return plausibleEthernet(d, inner, end);
  if (proto === 0x0800) return end > inner && d[inner]! >> 4 === 4;
  if (proto === 0x86dd) return end > inner && d[inner]! >> 4 === 6;
  return false;
}

export function vxlan(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const p = ctx.o;
  const vni = (d[p + 4]! << 16) | (d[p + 5]! << 8) | d[p + 6]!;
  enterTunnel(ctx, { kind: 'vxlan', outer: outer(ctx, true), vni });
  ctx.o = p + 8;
  return A.ETHERNET;
}

export function geneve(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const p = ctx.o;
  const optEnd = p + 8 + (d[p]! & 0x3f) * 4;
  if (ctx.end < optEnd) return stop(ctx, 'truncated-header');
  const proto = (d[p + 2]! << 8) | d[p + 3]!;
  const vni = (d[p + 4]! << 16) | (d[p + 5]! << 8) | d[p + 6]!;
  const options: { class: number; type: number; length: number }[] = [];
  for (let q = p + 8; q + 4 <= optEnd; ) {
    const len = (d[q + 3]! & 0x1f) * 4;
    options.push({ class: (d[q]! << 8) | d[q + 1]!, type: d[q + 2]!, length: len });
    q += 4 + len;
  }
  enterTunnel(ctx, { kind: 'geneve', outer: outer(ctx, true), vni, ...(options.length ? { options } : {}) });
  ctx.o = optEnd;
  return byEthertype(ctx, proto);
}

/** VXLAN-GPE: flags, 2 reserved bytes, next protocol (1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS), VNI. */
export function vxlanGpe(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const p = ctx.o;
  const next = d[p + 3]!;
  const vni = (d[p + 4]! << 16) | (d[p + 5]! << 8) | d[p + 6]!;
  enterTunnel(ctx, { kind: 'vxlan-gpe', outer: outer(ctx, true), vni });
  ctx.o = p + 8;
  return nextProtocol(ctx, next, 'VXLAN-GPE');
}

/** The next-protocol numbering VXLAN-GPE and NSH share. */
function nextProtocol(ctx: PacketCtx, next: number, who: string): AnalyzerId {
  switch (next) {
    case 1:
      return A.IPV4;
    case 2:
      return A.IPV6;
    case 3:
      return A.ETHERNET;
    case 4:
      return A.NSH;
    case 5:
      return A.MPLS;
    default:
      return stop(ctx, 'unknown-encapsulation', `${who} next protocol ${next}`);
  }
}

/** Network Service Header (RFC 8300): base header (length in 4-byte words), service path; next protocol. */
export function nsh(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const p = ctx.o;
  if (ctx.end < p + 8) return stop(ctx, 'truncated-header');
  const len = (d[p + 1]! & 0x3f) * 4;
  const next = d[p + 3]!;
  if (len < 8 || ctx.end < p + len) return stop(ctx, 'truncated-header');
  const servicePath = (d[p + 4]! << 16) | (d[p + 5]! << 8) | d[p + 6]!;
  enterTunnel(ctx, { kind: 'nsh', outer: { src: ctx.src, dst: ctx.dst }, servicePath });
  ctx.o = p + len;
  return nextProtocol(ctx, next, 'NSH');
}

export function mplsInUdp(ctx: PacketCtx): AnalyzerId {
  enterTunnel(ctx, { kind: 'mpls-in-udp', outer: outer(ctx, true) });
  return A.MPLS;
}

/** Offset of the IPv6 packet in a Teredo datagram (after authentication / origin indicators), or -1. */
function teredoInner(d: Uint8Array, p: number, end: number): number {
  for (let i = 0; i < 2; i++) {
    if (end < p + 2) return -1;
    if (d[p] === 0 && d[p + 1] === 1) {
      if (end < p + 4) return -1;
      p += 4 + d[p + 2]! + d[p + 3]! + 9;
    } else if (d[p] === 0 && d[p + 1] === 0) p += 8;
    else break;
  }
  return end >= p + 40 && d[p]! >> 4 === 6 ? p : -1;
}

export function teredo(ctx: PacketCtx): AnalyzerId {
  const p = teredoInner(ctx.d, ctx.o, ctx.end);
  if (p < 0) return stop(ctx, 'udp');
  enterTunnel(ctx, { kind: 'teredo', outer: outer(ctx, true) });
  ctx.o = p;
  return A.IPV6;
}
