/**
 * IPv4 and IPv6 analyzers. They read the addresses, reassemble fragments (bounded), walk IPv6
 * extension headers, and name the next analyzer by the protocol number: TCP ends the walk, UDP and
 * GRE go on, IP-in-IP (4, 41) and MPLS-in-IP (137) are tunnels whose outer addresses are kept.
 *
 * Lengths: TSO/GSO and BIG TCP captures carry a total length of 0 (IPv4) or a payload length of 0
 * (IPv6 jumbograms); the captured length is trusted then.
 */
import { ipv4String, ipv6String } from './address.js';
import { A, IP_PROTOCOL_NAMES, type AnalyzerId, type PacketCtx, enterTunnel, stop } from './context.js';
import { FRAGMENT_DROP_TEXT, type DecodeStats, type FragmentTable } from './fragments.js';

export interface IpEnv {
  frags: FragmentTable;
  stats: DecodeStats;
  lastExpire: number;
}

/** IPv4 or IPv6 by the version nibble (raw IP link types, NFLOG without a family, tunnels). */
export function ipByVersion(ctx: PacketCtx): AnalyzerId {
  if (ctx.end < ctx.o + 1) return stop(ctx, 'truncated-header');
  const v = ctx.d[ctx.o]! >> 4;
  if (v === 4) return A.IPV4;
  if (v === 6) return A.IPV6;
  return stop(ctx, 'bad-ip-header', `IP version ${v}`);
}

/** Does a fragment of this protocol need reassembly (do we look inside it)? */
function followed(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 47 || proto === 4 || proto === 41 || proto === 137;
}

export function ipv4(ctx: PacketCtx, env: IpEnv): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  const n = ctx.end;
  if (n < o + 20) return stop(ctx, 'truncated-header');
  const vihl = d[o]!;
  if (vihl >> 4 !== 4) return stop(ctx, 'bad-ip-header');
  const ihl = (vihl & 15) * 4;
  const totalLen = (d[o + 2]! << 8) | d[o + 3]!;
  if (ihl < 20) return stop(ctx, 'bad-ip-header');
  if (n < o + ihl) return stop(ctx, 'truncated-header');
  if (totalLen !== 0 && totalLen < ihl) return stop(ctx, 'bad-ip-header');
  const proto = d[o + 9]!;
  const src = ipv4String(d, o + 12);
  const dst = ipv4String(d, o + 16);
  // TSO/GSO captures carry total length 0; trust the captured length then.
  const ipEnd = totalLen === 0 ? n : o + totalLen;
  if (!followed(proto)) return notFollowed(ctx, proto);
  const fragWord = (d[o + 6]! << 8) | d[o + 7]!;
  const more = (fragWord & 0x2000) !== 0;
  const fragOff = (fragWord & 0x1fff) * 8;
  ctx.family = 4;
  ctx.src = src;
  ctx.dst = dst;
  if (more || fragOff > 0) {
    if (ipEnd > n) return stop(ctx, 'fragment-dropped'); // a truncated fragment cannot be reassembled
    const key = `4 ${src} ${dst} ${(d[o + 4]! << 8) | d[o + 5]!} ${proto}`;
    if (ctx.sec - env.lastExpire > 10) {
      env.frags.expire(ctx.sec, env.stats);
      env.lastExpire = ctx.sec;
    }
    const whole = env.frags.add(key, fragOff, more, d.subarray(o + ihl, ipEnd), ctx.sec, env.stats);
    if (!whole) return stop(ctx, 'fragment-pending');
    if (typeof whole === 'string') return stop(ctx, 'fragment-dropped', `${FRAGMENT_DROP_TEXT[whole]} IP fragment`);
    ctx.d = whole;
    ctx.o = 0;
    ctx.end = whole.length;
    return transport(ctx, proto, whole.length);
  }
  ctx.o = o + ihl;
  if (ipEnd < n) ctx.end = ipEnd;
  return transport(ctx, proto, ipEnd);
}

export function ipv6(ctx: PacketCtx, env: IpEnv): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  const n = ctx.end;
  if (n < o + 40) return stop(ctx, 'truncated-header');
  if (d[o]! >> 4 !== 6) return stop(ctx, 'bad-ip-header');
  const plen = (d[o + 4]! << 8) | d[o + 5]!;
  let next = d[o + 6]!;
  const src = ipv6String(d, o + 8);
  const dst = ipv6String(d, o + 24);
  let p = o + 40;
  const ipEnd = plen === 0 ? n : o + 40 + plen; // jumbograms / TSO: use the captured length
  let frag: { off: number; more: boolean; id: number } | null = null;
  for (;;) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (n < p + 8) return stop(ctx, 'truncated-header');
      const len = (d[p + 1]! + 1) * 8;
      next = d[p]!;
      p += len;
    } else if (next === 44) {
      if (n < p + 8) return stop(ctx, 'truncated-header');
      const w = (d[p + 2]! << 8) | d[p + 3]!;
      frag = { off: w & 0xfff8, more: (w & 1) === 1, id: ((d[p + 4]! << 24) | (d[p + 5]! << 16) | (d[p + 6]! << 8) | d[p + 7]!) >>> 0 };
      next = d[p]!;
      p += 8;
    } else if (next === 51) {
      if (n < p + 8) return stop(ctx, 'truncated-header');
      const len = (d[p + 1]! + 2) * 4;
      next = d[p]!;
      p += len;
    } else break;
  }
  if (!followed(next)) return notFollowed(ctx, next);
  if (p > ipEnd) return stop(ctx, 'bad-ip-header');
  ctx.family = 6;
  ctx.src = src;
  ctx.dst = dst;
  if (frag && (frag.more || frag.off > 0)) {
    if (ipEnd > n) return stop(ctx, 'fragment-dropped');
    const key = `6 ${src} ${dst} ${frag.id}`;
    const whole = env.frags.add(key, frag.off, frag.more, d.subarray(p, ipEnd), ctx.sec, env.stats);
    if (!whole) return stop(ctx, 'fragment-pending');
    if (typeof whole === 'string') return stop(ctx, 'fragment-dropped', `${FRAGMENT_DROP_TEXT[whole]} IP fragment`);
    ctx.d = whole;
    ctx.o = 0;
    ctx.end = whole.length;
    return transport(ctx, next, whole.length);
  }
  ctx.o = p;
  if (ipEnd < n) ctx.end = ipEnd;
  return transport(ctx, next, ipEnd);
}

function notFollowed(ctx: PacketCtx, proto: number): AnalyzerId {
  if (proto === 1 || proto === 58) return stop(ctx, 'icmp');
  return stop(ctx, 'non-tcp', `IP protocol ${proto}${IP_PROTOCOL_NAMES[proto] ? ` (${IP_PROTOCOL_NAMES[proto]})` : ''}`);
}

/** After the IP header (ctx.o at the transport header): the analyzer for protocol `proto`. */
function transport(ctx: PacketCtx, proto: number, ipEnd: number): AnalyzerId {
  switch (proto) {
    case 6:
      ctx.t = ctx.d;
      ctx.to = ctx.o;
      ctx.tEnd = ipEnd;
      return A.TCP;
    case 17:
      ctx.t = ctx.d;
      ctx.to = ctx.o;
      ctx.tEnd = ipEnd;
      return A.UDP;
    case 47:
      return A.GRE;
    case 4:
      enterTunnel(ctx, { kind: ctx.family === 4 ? 'ipip' : '4in6', outer: { src: ctx.src, dst: ctx.dst } });
      return A.IPV4;
    case 41:
      enterTunnel(ctx, { kind: ctx.family === 4 ? '6in4' : '6in6', outer: { src: ctx.src, dst: ctx.dst } });
      return A.IPV6;
    case 137:
      enterTunnel(ctx, { kind: 'mpls-in-ip', outer: { src: ctx.src, dst: ctx.dst } });
      return A.MPLS;
    default:
      return notFollowed(ctx, proto);
  }
}
