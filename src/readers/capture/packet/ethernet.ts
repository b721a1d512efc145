/**
 * Layer-2 analyzers: Ethernet II and 802.3 (length field → 802.2 LLC / SNAP), 802.1Q, 802.1ad and
 * the old QinQ tags, PBB (802.1ah I-TAG with the customer frame inside), MPLS label stacks,
 * PPPoE sessions and PPP. Each names the next analyzer by the ethertype (or PPP protocol) it reads.
 */
import { A, ETHERTYPE_NAMES, type AnalyzerId, type PacketCtx, hex4, stop } from './context.js';

/** The analyzer for an ethertype (after Ethernet, a VLAN tag, SLL, SNAP, GRE, Geneve, ...). */
export function byEthertype(ctx: PacketCtx, et: number): AnalyzerId {
  switch (et) {
    case 0x0800:
      return A.IPV4;
    case 0x86dd:
      return A.IPV6;
    case 0x8100:
    case 0x88a8:
    case 0x9100:
    case 0x9200:
      return A.VLAN;
    case 0x8847:
    case 0x8848:
      return A.MPLS;
    case 0x88e7:
      return A.PBB;
    case 0x8864:
      return A.PPPOE;
    case 0x6558:
      return A.ETHERNET;
    case 0x0806:
    case 0x8035:
      return stop(ctx, 'arp');
    default:
      return stop(ctx, 'non-ip', `ethertype ${hex4(et)}${ETHERTYPE_NAMES[et] ? ` (${ETHERTYPE_NAMES[et]})` : ''}`);
  }
}

/** Ethernet II, or 802.3 with a length (≤ 1500) instead of a type: then 802.2 LLC follows. */
export function ethernet(ctx: PacketCtx): AnalyzerId {
  const o = ctx.o;
  if (ctx.end < o + 14) return stop(ctx, 'truncated-header');
  const d = ctx.d;
  const et = (d[o + 12]! << 8) | d[o + 13]!;
  ctx.o = o + 14;
  if (et <= 1500) {
    // 802.3 length: the frame may carry padding after it
    ctx.end = Math.min(ctx.end, o + 14 + et);
    return A.LLC;
  }
  return byEthertype(ctx, et);
}

/** 802.1Q / 802.1ad / QinQ tag: 2 bytes TCI, 2 bytes inner ethertype. */
export function vlan(ctx: PacketCtx): AnalyzerId {
  const o = ctx.o;
  if (ctx.end < o + 4) return stop(ctx, 'truncated-header');
  const d = ctx.d;
  const et = (d[o + 2]! << 8) | d[o + 3]!;
  ctx.o = o + 4;
  if (et <= 1500) {
    ctx.end = Math.min(ctx.end, o + 4 + et);
    return A.LLC;
  }
  return byEthertype(ctx, et);
}

/** 802.2 LLC; SNAP (AA AA 03) carries an OUI and an ethertype. Other SAPs (STP, NetBIOS, ...) are not IP. */
export function llc(ctx: PacketCtx): AnalyzerId {
  const o = ctx.o;
  if (ctx.end < o + 3) return stop(ctx, 'truncated-header');
  const d = ctx.d;
  const dsap = d[o]!;
  const ssap = d[o + 1]!;
  if (dsap === 0xaa && ssap === 0xaa) {
    if (ctx.end < o + 8) return stop(ctx, 'truncated-header');
    const oui = (d[o + 3]! << 16) | (d[o + 4]! << 8) | d[o + 5]!;
    const et = (d[o + 6]! << 8) | d[o + 7]!;
    ctx.o = o + 8;
    // OUI 0 (and Cisco's 0x0000f8): the type is an ethertype
    if (oui === 0 || oui === 0xf8) return byEthertype(ctx, et);
    return stop(ctx, 'non-ip', `SNAP OUI 0x${oui.toString(16).padStart(6, '0')} type ${hex4(et)}`);
  }
  if (dsap === 0x06 && ssap === 0x06) {
    // LLC with the IP SAP (rare, RFC 1042 predecessor)
    ctx.o = o + 3;
    return A.IPV4;
  }
  return stop(ctx, 'non-ip', `802.2 LLC DSAP 0x${dsap.toString(16).padStart(2, '0')}${dsap === 0x42 ? ' (STP)' : ''}`);
}

/** PBB (802.1ah): the I-TAG (4 bytes: flags and a 24-bit I-SID) precedes the customer's Ethernet frame. */
export function pbb(ctx: PacketCtx): AnalyzerId {
  if (ctx.end < ctx.o + 4) return stop(ctx, 'truncated-header');
  ctx.o += 4;
  return A.ETHERNET;
}

/**
 * MPLS label stack: 4 bytes per label until the bottom-of-stack bit. What follows is not named by
 * the stack; like Zeek and Wireshark, it is guessed from the first nibble: 4 = IPv4, 6 = IPv6,
 * 0 = a pseudowire control word before an Ethernet frame, otherwise an Ethernet frame when its
 * ethertype is plausible.
 */
export function mpls(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  let o = ctx.o;
  for (let labels = 1; ; labels++) {
    if (ctx.end < o + 4) return stop(ctx, 'truncated-header');
    const bos = (d[o + 2]! & 1) === 1;
    o += 4;
    if (bos) break;
    if (labels >= 64) return stop(ctx, 'too-deep');
  }
  ctx.o = o;
  if (ctx.end <= o) return stop(ctx, 'truncated-header');
  const v = d[o]! >> 4;
  if (v === 4) return A.IPV4;
  if (v === 6) return A.IPV6;
  if (v === 0 && plausibleEthernet(d, o + 4, ctx.end)) {
    ctx.o = o + 4;
    return A.ETHERNET;
  }
  if (plausibleEthernet(d, o, ctx.end)) return A.ETHERNET;
  return stop(ctx, 'unknown-encapsulation', `MPLS payload starting 0x${d[o]!.toString(16).padStart(2, '0')}`);
}

/** Is there an Ethernet header at `o` whose ethertype we would decode (IP, VLAN, ARP, MPLS)? */
export function plausibleEthernet(d: Uint8Array, o: number, end: number): boolean {
  if (end < o + 14) return false;
  const et = (d[o + 12]! << 8) | d[o + 13]!;
  if (et === 0x0800) return end > o + 14 && d[o + 14]! >> 4 === 4;
  if (et === 0x86dd) return end > o + 14 && d[o + 14]! >> 4 === 6;
  return et === 0x8100 || et === 0x88a8 || et === 0x0806 || et === 0x8847;
}

/** PPPoE session stage: 6-byte header (ver/type, code 0, session id, length), then PPP. */
export function pppoe(ctx: PacketCtx): AnalyzerId {
  const o = ctx.o;
  if (ctx.end < o + 6) return stop(ctx, 'truncated-header');
  const d = ctx.d;
  const len = (d[o + 4]! << 8) | d[o + 5]!;
  ctx.o = o + 6;
  ctx.end = Math.min(ctx.end, o + 6 + len);
  return A.PPP;
}

/** PPP: optional address/control (FF 03), then a 1- or 2-byte protocol (0x0021 IPv4, 0x0057 IPv6). */
export function ppp(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  let o = ctx.o;
  if (ctx.end < o + 2) return stop(ctx, 'truncated-header');
  if (d[o] === 0xff && d[o + 1] === 0x03) o += 2;
  if (ctx.end < o + 1) return stop(ctx, 'truncated-header');
  let proto: number;
  if (d[o]! & 1) {
    proto = d[o]!; // protocol field compression
    o += 1;
  } else {
    if (ctx.end < o + 2) return stop(ctx, 'truncated-header');
    proto = (d[o]! << 8) | d[o + 1]!;
    o += 2;
  }
  ctx.o = o;
  if (proto === 0x21) return A.IPV4;
  if (proto === 0x57) return A.IPV6;
  if (proto === 0x0281) return A.MPLS;
  if (proto === 0xfd) return stop(ctx, 'unknown-encapsulation', 'PPP compressed/encrypted (MPPE) payload');
  return stop(ctx, 'non-ip', `PPP protocol ${hex4(proto)}`);
}
