/**
 * Link layer → IPv4/IPv6 → TCP header decoding for one frame.
 *
 * Link types: NULL (0, host-order address family), EN10MB (1, with 802.1Q / 802.1ad / QinQ tags),
 * RAW (101, and 12/14 as some systems number it), LOOP (108, network-order family), LINUX_SLL
 * (113), IPV4 (228), IPV6 (229), LINUX_SLL2 (276). IPv4 fragments are reassembled (bounded) and
 * IPv6 extension headers (hop-by-hop, routing, fragment, destination options, AH, mobility) are
 * walked to the transport header.
 *
 * Snaplen truncation is kept apart from absence: `payloadLen` is what the IP header says the TCP
 * payload is, `payload` is what was captured of it.
 */
import type { RawFrame } from './frames.js';

export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const LINKTYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  12: 'RAW',
  14: 'RAW',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

const ARPHRD_LOOPBACK = 772;

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
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Why a frame produced no TCP segment (for counters). */
export type SkipReason =
  | 'unsupported-link-type'
  | 'non-ip'
  | 'non-tcp'
  | 'truncated-header'
  | 'bad-ip-header'
  | 'fragment-pending'
  | 'fragment-dropped';

export interface DecodeStats {
  frames: number;
  tcp: number;
  skipped: Record<SkipReason, number>;
  /** Link types seen that we do not decode, with the first frame. */
  unsupportedLinkTypes: Map<number, number>;
  fragments: { seen: number; reassembled: number; dropped: number };
  /** Frames whose captured length is shorter than their original length. */
  truncatedFrames: number;
}

export function newDecodeStats(): DecodeStats {
  return {
    frames: 0,
    tcp: 0,
    skipped: {
      'unsupported-link-type': 0,
      'non-ip': 0,
      'non-tcp': 0,
      'truncated-header': 0,
      'bad-ip-header': 0,
      'fragment-pending': 0,
      'fragment-dropped': 0,
    },
    unsupportedLinkTypes: new Map(),
    fragments: { seen: 0, reassembled: 0, dropped: 0 },
    truncatedFrames: 0,
  };
}

interface FragEntry {
  /** Received byte ranges [start, end) of the IP payload, with their bytes. */
  parts: { off: number; bytes: Uint8Array }[];
  totalLen: number; // -1 until the last fragment arrives
  header: Uint8Array; // copy of the first fragment's IP header (for addresses)
  firstSec: number;
  bytes: number;
}

/** IPv4/IPv6 fragment reassembly with hard limits (a flood of fragments cannot exhaust memory). */
export class FragmentTable {
  private map = new Map<string, FragEntry>();
  private total = 0;
  constructor(
    readonly maxDatagrams = 4096,
    readonly maxBytes = 32 * 1024 * 1024,
    readonly timeoutSec = 60,
  ) {}

  /** Adds one fragment; returns the reassembled transport payload when complete. */
  add(key: string, off: number, more: boolean, bytes: Uint8Array, sec: number, stats: DecodeStats): Uint8Array | null {
    stats.fragments.seen++;
    let e = this.map.get(key);
    if (!e) {
      if (this.map.size >= this.maxDatagrams || this.total + bytes.length > this.maxBytes) this.expire(sec, stats, true);
      e = { parts: [], totalLen: -1, header: new Uint8Array(0), firstSec: sec, bytes: 0 };
      this.map.set(key, e);
    }
    if (off + bytes.length > 65535) {
      this.drop(key, e, stats);
      return null;
    }
    e.parts.push({ off, bytes: Uint8Array.from(bytes) });
    e.bytes += bytes.length;
    this.total += bytes.length;
    if (!more) e.totalLen = off + bytes.length;
    if (e.totalLen < 0) return null;
    // Complete when the ranges cover [0, totalLen).
    e.parts.sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const p of e.parts) {
      if (p.off > covered) return null;
      covered = Math.max(covered, p.off + p.bytes.length);
    }
    if (covered < e.totalLen) return null;
    const out = new Uint8Array(e.totalLen);
    for (const p of e.parts) out.set(p.bytes.subarray(0, Math.max(0, Math.min(p.bytes.length, e.totalLen - p.off))), p.off);
    this.map.delete(key);
    this.total -= e.bytes;
    stats.fragments.reassembled++;
    return out;
  }

  private drop(key: string, e: FragEntry, stats: DecodeStats): void {
    this.map.delete(key);
    this.total -= e.bytes;
    stats.fragments.dropped += e.parts.length;
  }

  /** Drops datagrams older than the timeout (or the oldest when `force`). */
  expire(nowSec: number, stats: DecodeStats, force = false): void {
    for (const [k, e] of this.map) {
      if (force || nowSec - e.firstSec > this.timeoutSec) {
        this.drop(k, e, stats);
        if (force && this.map.size < this.maxDatagrams && this.total < this.maxBytes / 2) break;
      }
    }
  }

  get pending(): number {
    return this.map.size;
  }

  /** Counts every incomplete datagram as dropped (end of capture). */
  flush(stats: DecodeStats): void {
    for (const [k, e] of this.map) this.drop(k, e, stats);
  }
}

/** Dotted-quad strings by address: captures repeat a few addresses millions of times. */
const v4Strings = new Map<number, string>();

function ipv4String(b: Uint8Array, o: number): string {
  const k = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  let s = v4Strings.get(k);
  if (s === undefined) {
    if (v4Strings.size >= 65536) v4Strings.clear();
    s = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    v4Strings.set(k, s);
  }
  return s;
}

/** RFC 5952 text form of an IPv6 address. */
export function ipv6String(b: Uint8Array, o: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  // IPv4-mapped
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface Decoder {
  stats: DecodeStats;
  frags: FragmentTable;
  /** Decodes one frame; returns a TCP segment or null (counted in stats). */
  decode(f: RawFrame): TcpSegment | null;
}

export function createDecoder(): Decoder {
  const stats = newDecodeStats();
  const frags = new FragmentTable();
  let lastExpire = 0;

  function skip(r: SkipReason): null {
    stats.skipped[r]++;
    return null;
  }

  function decode(f: RawFrame): TcpSegment | null {
    stats.frames++;
    const d = f.data;
    const n = d.length;
    if (n < f.origLen) stats.truncatedFrames++;
    let o = 0;
    let ethertype = -1; // 0x0800 / 0x86dd
    let loopback = false;
    switch (f.linkType) {
      case 1: {
        if (n < 14) return skip('truncated-header');
        ethertype = (d[12]! << 8) | d[13]!;
        o = 14;
        // 802.1Q, 802.1ad, and the old QinQ 0x9100/0x9200 tags.
        while (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100 || ethertype === 0x9200) {
          if (n < o + 4) return skip('truncated-header');
          ethertype = (d[o + 2]! << 8) | d[o + 3]!;
          o += 4;
        }
        break;
      }
      case 0: {
        if (n < 4) return skip('truncated-header');
        // Host byte order of the capturing machine: try both.
        const leFam = d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24);
        const beFam = ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
        const fam = leFam >= 0 && leFam < 256 ? leFam : beFam;
        ethertype = afToEthertype(fam);
        o = 4;
        break;
      }
      case 108: {
        if (n < 4) return skip('truncated-header');
        ethertype = afToEthertype(((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0);
        o = 4;
        break;
      }
      case 113: {
        if (n < 16) return skip('truncated-header');
        loopback = ((d[2]! << 8) | d[3]!) === ARPHRD_LOOPBACK;
        ethertype = (d[14]! << 8) | d[15]!;
        o = 16;
        break;
      }
      case 276: {
        if (n < 20) return skip('truncated-header');
        ethertype = (d[0]! << 8) | d[1]!;
        loopback = ((d[8]! << 8) | d[9]!) === ARPHRD_LOOPBACK;
        o = 20;
        break;
      }
      case 101:
      case 12:
      case 14:
      case 228:
      case 229: {
        if (n < 1) return skip('truncated-header');
        const v = d[0]! >> 4;
        ethertype = v === 4 ? 0x0800 : v === 6 ? 0x86dd : -1;
        break;
      }
      default:
        if (!stats.unsupportedLinkTypes.has(f.linkType)) stats.unsupportedLinkTypes.set(f.linkType, f.frame);
        return skip('unsupported-link-type');
    }
    let src: string;
    let dst: string;
    let family: 4 | 6;
    let t: Uint8Array = d; // buffer holding the transport header
    let to: number; // transport header offset in t
    let tEnd: number; // end of the transport segment per the IP header (may exceed t.length when truncated)
    if (ethertype === 0x0800) {
      if (n < o + 20) return skip('truncated-header');
      const vihl = d[o]!;
      if (vihl >> 4 !== 4) return skip('bad-ip-header');
      const ihl = (vihl & 15) * 4;
      const totalLen = (d[o + 2]! << 8) | d[o + 3]!;
      if (ihl < 20) return skip('bad-ip-header');
      if (n < o + ihl) return skip('truncated-header');
      const proto = d[o + 9]!;
      const fragWord = (d[o + 6]! << 8) | d[o + 7]!;
      const more = (fragWord & 0x2000) !== 0;
      const fragOff = (fragWord & 0x1fff) * 8;
      src = ipv4String(d, o + 12);
      dst = ipv4String(d, o + 16);
      family = 4;
      // TSO/GSO captures carry total length 0; trust the captured length then.
      const ipEnd = totalLen === 0 ? n : o + totalLen;
      if (totalLen !== 0 && totalLen < ihl) return skip('bad-ip-header');
      if (proto !== 6) return skip('non-tcp');
      if (more || fragOff > 0) {
        if (ipEnd > n) return skip('fragment-dropped'); // a truncated fragment cannot be reassembled
        const key = `4 ${src} ${dst} ${(d[o + 4]! << 8) | d[o + 5]!}`;
        if (f.sec - lastExpire > 10) {
          frags.expire(f.sec, stats);
          lastExpire = f.sec;
        }
        const whole = frags.add(key, fragOff, more, d.subarray(o + ihl, ipEnd), f.sec, stats);
        if (!whole) return skip('fragment-pending');
        t = whole;
        to = 0;
        tEnd = whole.length;
      } else {
        to = o + ihl;
        tEnd = ipEnd;
      }
    } else if (ethertype === 0x86dd) {
      if (n < o + 40) return skip('truncated-header');
      if (d[o]! >> 4 !== 6) return skip('bad-ip-header');
      const plen = (d[o + 4]! << 8) | d[o + 5]!;
      let next = d[o + 6]!;
      src = ipv6String(d, o + 8);
      dst = ipv6String(d, o + 24);
      family = 6;
      let p = o + 40;
      const ipEnd = plen === 0 ? n : o + 40 + plen; // jumbograms / TSO: use the captured length
      let frag: { off: number; more: boolean; id: number } | null = null;
      for (;;) {
        if (next === 6) break;
        if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
          if (n < p + 8) return skip('truncated-header');
          const len = (d[p + 1]! + 1) * 8;
          next = d[p]!;
          p += len;
        } else if (next === 44) {
          if (n < p + 8) return skip('truncated-header');
          const w = (d[p + 2]! << 8) | d[p + 3]!;
          frag = { off: w & 0xfff8, more: (w & 1) === 1, id: ((d[p + 4]! << 24) | (d[p + 5]! << 16) | (d[p + 6]! << 8) | d[p + 7]!) >>> 0 };
          next = d[p]!;
          p += 8;
        } else if (next === 51) {
          if (n < p + 8) return skip('truncated-header');
          const len = (d[p + 1]! + 2) * 4;
          next = d[p]!;
          p += len;
        } else {
          return skip('non-tcp'); // 59 no next header, 50 ESP, UDP, ICMPv6, ...
        }
      }
      if (p > ipEnd) return skip('bad-ip-header');
      if (frag && (frag.more || frag.off > 0)) {
        if (ipEnd > n) return skip('fragment-dropped');
        const key = `6 ${src} ${dst} ${frag.id}`;
        const whole = frags.add(key, frag.off, frag.more, d.subarray(p, ipEnd), f.sec, stats);
        if (!whole) return skip('fragment-pending');
        t = whole;
        to = 0;
        tEnd = whole.length;
      } else {
        to = p;
        tEnd = ipEnd;
      }
    } else {
      return skip('non-ip');
    }
    const tn = t.length;
    if (tn < to + 20) return skip('truncated-header');
    const doff = (t[to + 12]! >> 4) * 4;
    if (doff < 20) return skip('bad-ip-header');
    if (tEnd < to + doff) return skip('bad-ip-header');
    const payloadStart = to + doff;
    const payloadLen = tEnd - payloadStart;
    const capEnd = Math.min(tEnd, tn);
    stats.tcp++;
    return {
      frame: f.frame,
      sec: f.sec,
      nsec: f.nsec,
      precision: f.precision,
      iface: f.iface,
      loopback,
      family,
      src,
      dst,
      sport: (t[to]! << 8) | t[to + 1]!,
      dport: (t[to + 2]! << 8) | t[to + 3]!,
      seq: ((t[to + 4]! << 24) | (t[to + 5]! << 16) | (t[to + 6]! << 8) | t[to + 7]!) >>> 0,
      ack: ((t[to + 8]! << 24) | (t[to + 9]! << 16) | (t[to + 10]! << 8) | t[to + 11]!) >>> 0,
      flags: t[to + 13]!,
      payloadLen,
      payload: capEnd > payloadStart ? t.subarray(payloadStart, capEnd) : EMPTY,
    };
  }
  return { stats, frags, decode };
}

const EMPTY = new Uint8Array(0);

function afToEthertype(af: number): number {
  if (af === 2) return 0x0800;
  // AF_INET6: Linux 10, BSD/macOS 24, 28, 30
  if (af === 10 || af === 24 || af === 28 || af === 30) return 0x86dd;
  return -1;
}
