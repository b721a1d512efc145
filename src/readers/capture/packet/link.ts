/**
 * Link-type analyzers: the capture file's link type names the first one; each reads its header
 * and names the next analyzer (usually by ethertype).
 *
 * NULL (0, host-order address family), EN10MB (1), PPP (9, 50), RAW (101, also 12/14), LOOP (108),
 * LINUX_SLL (113), IPV4 (228), IPV6 (229), NFLOG (239: what `tcpdump -i nflog:N` writes),
 * PKTAP (258, Apple: a header naming the inner link type), LINUX_SLL2 (276).
 */
import { A, type AnalyzerId, type PacketCtx, stop } from './context.js';
import { byEthertype } from './ethernet.js';

export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  PPP: 9,
  PPP_HDLC: 50,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  PKTAP: 258,
  LINUX_SLL2: 276,
} as const;

export const LINKTYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  9: 'PPP',
  12: 'RAW',
  14: 'RAW',
  50: 'PPP_HDLC',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  239: 'NFLOG',
  258: 'PKTAP',
  276: 'LINUX_SLL2',
  // common ones we do not decode, for the message
  105: 'IEEE802_11',
  127: 'IEEE802_11_RADIOTAP',
  143: 'DOCSIS',
  147: 'USER0',
  192: 'PPI',
  220: 'USB_LINUX_MMAPPED',
  249: 'NETLINK',
  253: 'NETANALYZER',
};

export const SUPPORTED_LINKTYPES = 'NULL, EN10MB, PPP, RAW, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6, NFLOG, PKTAP';

const ARPHRD_LOOPBACK = 772;
const NFULA_PAYLOAD = 9;

function afToAnalyzer(af: number): AnalyzerId {
  if (af === 2) return A.IPV4;
  // AF_INET6: Linux 10, BSD/macOS 24, 28, 30
  if (af === 10 || af === 24 || af === 28 || af === 30) return A.IPV6;
  return A.STOP;
}

/** The first analyzer for a frame of `linkType` (-1: link type not supported). */
export function linkLayer(ctx: PacketCtx, linkType: number): AnalyzerId | -1 {
  const d = ctx.d;
  const n = ctx.end;
  const o = ctx.o;
  switch (linkType) {
    case 1:
      return A.ETHERNET;
    case 0: {
      if (n < o + 4) return stop(ctx, 'truncated-header');
      // Host byte order of the capturing machine: try both.
      const leFam = d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24);
      const beFam = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
      const fam = leFam >= 0 && leFam < 256 ? leFam : beFam;
      ctx.o = o + 4;
      const next = afToAnalyzer(fam);
      return next === A.STOP ? stop(ctx, 'non-ip', `address family ${fam}`) : next;
    }
    case 108: {
      if (n < o + 4) return stop(ctx, 'truncated-header');
      const fam = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
      ctx.o = o + 4;
      const next = afToAnalyzer(fam);
      return next === A.STOP ? stop(ctx, 'non-ip', `address family ${fam}`) : next;
    }
    case 113: {
      if (n < o + 16) return stop(ctx, 'truncated-header');
      ctx.loopback = ((d[o + 2]! << 8) | d[o + 3]!) === ARPHRD_LOOPBACK;
      ctx.o = o + 16;
      return byEthertype(ctx, (d[o + 14]! << 8) | d[o + 15]!);
    }
    case 276: {
      if (n < o + 20) return stop(ctx, 'truncated-header');
      ctx.loopback = ((d[o + 8]! << 8) | d[o + 9]!) === ARPHRD_LOOPBACK;
      ctx.ifIndex = ((d[o + 4]! << 24) | (d[o + 5]! << 16) | (d[o + 6]! << 8) | d[o + 7]!) >>> 0;
      ctx.o = o + 20;
      return byEthertype(ctx, (d[o]! << 8) | d[o + 1]!);
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return A.IP;
    case 9:
    case 50:
      return A.PPP;
    case 239:
      return nflog(ctx);
    case 258:
      return pktap(ctx);
    default:
      return -1;
  }
}

/**
 * NFLOG: a 4-byte header (family, version, resource id) and TLVs whose length and type are in the
 * capturing host's byte order; the NFULA_PAYLOAD TLV holds the IP packet.
 */
function nflog(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const n = ctx.end;
  const o = ctx.o;
  if (n < o + 4) return stop(ctx, 'truncated-header');
  const family = d[o]!;
  let p = o + 4;
  // Little-endian hosts are the norm; a TLV length that does not fit means big-endian.
  let le = true;
  if (n >= p + 4) {
    const lenLe = d[p]! | (d[p + 1]! << 8);
    if (lenLe < 4 || p + lenLe > n) le = false;
  }
  while (p + 4 <= n) {
    const len = le ? d[p]! | (d[p + 1]! << 8) : (d[p]! << 8) | d[p + 1]!;
    const type = le ? d[p + 2]! | (d[p + 3]! << 8) : (d[p + 2]! << 8) | d[p + 3]!;
    if (len < 4) return stop(ctx, 'truncated-header');
    if (type === NFULA_PAYLOAD) {
      ctx.o = p + 4;
      ctx.end = Math.min(n, p + len);
      const next = afToAnalyzer(family);
      return next === A.STOP ? A.IP : next;
    }
    p += (len + 3) & ~3;
  }
  return stop(ctx, 'truncated-header', 'NFLOG record without a payload TLV');
}

/** PKTAP (Apple): a little-endian header (length, record type, inner link type, ...) before the packet. */
function pktap(ctx: PacketCtx): AnalyzerId {
  const d = ctx.d;
  const o = ctx.o;
  if (ctx.end < o + 12) return stop(ctx, 'truncated-header');
  const hlen = (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0;
  const rectype = (d[o + 4]! | (d[o + 5]! << 8) | (d[o + 6]! << 16) | (d[o + 7]! << 24)) >>> 0;
  const dlt = (d[o + 8]! | (d[o + 9]! << 8) | (d[o + 10]! << 16) | (d[o + 11]! << 24)) >>> 0;
  if (hlen < 12 || o + hlen > ctx.end) return stop(ctx, 'truncated-header');
  if (rectype !== 1) return stop(ctx, 'non-ip', `PKTAP record type ${rectype}`);
  ctx.o = o + hlen;
  const next = dlt === 258 ? -1 : linkLayer(ctx, dlt);
  return next === -1 ? stop(ctx, 'unsupported-link-type', `PKTAP inner link type ${dlt}`) : next;
}
