/**
 * IPv4/IPv6 fragment reassembly with hard limits (a flood of fragments cannot exhaust memory), and
 * the decode counters it updates.
 */
import type { SkipReason, TunnelKind } from './context.js';

export interface DecodeStats {
  frames: number;
  tcp: number;
  /** Frames not analysed, by reason (every frame that gave no TCP segment is in exactly one). */
  skipped: Record<SkipReason, number>;
  /** What exactly was skipped, e.g. "ethertype 0x88cc (LLDP)": frames and the first frame number. */
  skippedDetail: Map<string, { reason: SkipReason; frames: number; firstFrame: number }>;
  /** Link types seen that we do not decode, with the first frame. */
  unsupportedLinkTypes: Map<number, number>;
  /** IP fragments: seen, datagrams reassembled, fragments dropped (in total and by reason). */
  fragments: { seen: number; reassembled: number; dropped: number; droppedBy: Partial<Record<FragmentDropReason, number>> };
  /** Frames whose captured length is shorter than their original length. */
  truncatedFrames: number;
  /** Frames decapsulated, by encapsulation (a frame inside two tunnels counts for both). */
  tunnels: Partial<Record<TunnelKind, number>>;
}

export function newDecodeStats(): DecodeStats {
  return {
    frames: 0,
    tcp: 0,
    skipped: {
      'unsupported-link-type': 0,
      'non-ip': 0,
      arp: 0,
      'non-tcp': 0,
      udp: 0,
      icmp: 0,
      'unknown-encapsulation': 0,
      'truncated-header': 0,
      'bad-ip-header': 0,
      'fragment-pending': 0,
      'fragment-dropped': 0,
      'too-deep': 0,
    },
    skippedDetail: new Map(),
    unsupportedLinkTypes: new Map(),
    fragments: { seen: 0, reassembled: 0, dropped: 0, droppedBy: {} },
    truncatedFrames: 0,
    tunnels: {},
  };
}

/** Why a fragment was not used: rejected on arrival, or its datagram was given up later. */
export type FragmentDropReason =
  /** Same offset and length as a part already held (a retransmission or a flood). */
  | 'duplicate'
  /** Lies entirely inside bytes already held, with different bounds (nothing new to add). */
  | 'overlap'
  /** Contradicts the datagram's end (a second last fragment, or data past the last one). */
  | 'inconsistent'
  /** Would make the datagram longer than 65535 bytes. */
  | 'too-long'
  /** The datagram already holds the most parts one datagram may have. */
  | 'too-many-parts'
  /** The table was full (datagrams or bytes): the oldest incomplete datagrams were given up. */
  | 'table-full'
  /** Incomplete after the reassembly timeout (capture time). */
  | 'timeout'
  /** Still incomplete at the end of the capture. */
  | 'incomplete-at-end';

export const FRAGMENT_DROP_TEXT: Record<FragmentDropReason, string> = {
  duplicate: 'duplicate',
  overlap: 'overlapping',
  inconsistent: 'inconsistent with the datagram end',
  'too-long': 'datagram over 65535 bytes',
  'too-many-parts': 'too many parts in one datagram',
  'table-full': 'reassembly table full',
  timeout: 'timed out',
  'incomplete-at-end': 'incomplete at the end of the capture',
};

interface FragEntry {
  /** Received byte ranges [off, off+bytes.length) of the IP payload, sorted by offset, never overlapping. */
  parts: { off: number; bytes: Uint8Array }[];
  totalLen: number; // -1 until the last fragment arrives
  firstSec: number;
  /** Bytes held (the sum of the parts' lengths: they never overlap). */
  bytes: number;
}

/**
 * IPv4/IPv6 fragment reassembly with hard limits (a flood of fragments cannot exhaust memory or
 * time). Parts are kept sorted and disjoint: an exact duplicate is rejected on arrival (binary
 * search, O(log parts)); an overlapping fragment adds only the bytes not yet held (the first data
 * wins) and is rejected when it adds none; parts per datagram are capped (maxParts), so the
 * overlap walk is bounded too. Completeness is the byte count reaching the datagram's length, and
 * the byte/datagram caps are checked for every fragment, evicting the oldest datagrams.
 */
export class FragmentTable {
  private map = new Map<string, FragEntry>();
  private total = 0;
  constructor(
    readonly maxDatagrams = 4096,
    readonly maxBytes = 32 * 1024 * 1024,
    readonly timeoutSec = 60,
    readonly maxParts = 256,
  ) {}

  /**
   * Adds one fragment; returns the reassembled transport payload when complete, null while the
   * datagram is pending, or why this fragment was rejected (counted in stats.fragments).
   */
  add(key: string, off: number, more: boolean, bytes: Uint8Array, sec: number, stats: DecodeStats): Uint8Array | FragmentDropReason | null {
    stats.fragments.seen++;
    const len = bytes.length;
    if (off + len > 65535) return this.reject('too-long', stats);
    let e = this.map.get(key);
    if (e) {
      const end = off + len;
      if (e.totalLen >= 0 && (end > e.totalLen || (!more && end !== e.totalLen))) return this.reject('inconsistent', stats);
      // First part with part.off >= off.
      const parts = e.parts;
      let lo = 0;
      let hi = parts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (parts[mid]!.off < off) lo = mid + 1;
        else hi = mid;
      }
      const next = parts[lo];
      if (next && next.off === off && next.bytes.length === len) return this.reject('duplicate', stats);
      if (!more && e.totalLen < 0 && parts.length && parts[parts.length - 1]!.off + parts[parts.length - 1]!.bytes.length > end) return this.reject('inconsistent', stats);
      // Overlaps keep the data that came first (as Wireshark does): only the uncovered gaps are added.
      // Gaps [start, end) not yet held; the walk stops as soon as the part cap would be passed.
      const gaps: number[] = [];
      const room = this.maxParts - parts.length;
      let i = lo > 0 && parts[lo - 1]!.off + parts[lo - 1]!.bytes.length > off ? lo - 1 : lo;
      const first = i;
      let at = off;
      for (; i < parts.length && parts[i]!.off < end && gaps.length <= 2 * room; i++) {
        const p = parts[i]!;
        if (p.off > at) gaps.push(at, p.off);
        at = Math.max(at, p.off + p.bytes.length);
      }
      if (at < end) gaps.push(at, end);
      if (gaps.length === 0 && len > 0) return this.reject('overlap', stats);
      if (gaps.length > 2 * room) return this.reject('too-many-parts', stats);
      const pieces: { off: number; bytes: Uint8Array }[] = [];
      for (let g = 0; g < gaps.length; g += 2) pieces.push({ off: gaps[g]!, bytes: Uint8Array.from(bytes.subarray(gaps[g]! - off, gaps[g + 1]! - off)) });
      let added = 0;
      for (const p of pieces) added += p.bytes.length;
      this.makeRoom(added, key, sec, stats);
      e = this.map.get(key);
      if (e) {
        // Merge the pieces into the gaps between parts[first..i) (both lists are sorted): O(k).
        const old = parts.slice(first, i);
        const merged: typeof parts = [];
        let a = 0;
        let b = 0;
        while (a < old.length || b < pieces.length) {
          if (b >= pieces.length || (a < old.length && old[a]!.off < pieces[b]!.off)) merged.push(old[a++]!);
          else merged.push(pieces[b++]!);
        }
        parts.splice(first, i - first, ...merged);
        e.bytes += added;
        this.total += added;
        if (!more) e.totalLen = end;
      }
    }
    if (!e) {
      this.makeRoom(len, key, sec, stats);
      e = { parts: [{ off, bytes: Uint8Array.from(bytes) }], totalLen: more ? -1 : off + len, firstSec: sec, bytes: len };
      this.map.set(key, e);
      this.total += len;
    }
    // Disjoint parts inside [0, totalLen) whose lengths add up to totalLen cover it.
    if (e.totalLen < 0 || e.bytes !== e.totalLen) return null;
    const out = new Uint8Array(e.totalLen);
    for (const p of e.parts) out.set(p.bytes, p.off);
    this.map.delete(key);
    this.total -= e.bytes;
    stats.fragments.reassembled++;
    return out;
  }

  private reject(reason: FragmentDropReason, stats: DecodeStats): FragmentDropReason {
    stats.fragments.dropped++;
    stats.fragments.droppedBy[reason] = (stats.fragments.droppedBy[reason] ?? 0) + 1;
    return reason;
  }

  /** Evicts the oldest datagrams (possibly `key`'s own) until `len` more bytes and one more datagram fit. */
  private makeRoom(len: number, key: string, sec: number, stats: DecodeStats): void {
    const newDatagram = !this.map.has(key);
    if ((newDatagram && this.map.size >= this.maxDatagrams) || this.total + len > this.maxBytes) this.expire(sec, stats, true);
  }

  private drop(key: string, e: FragEntry, reason: FragmentDropReason, stats: DecodeStats): void {
    this.map.delete(key);
    this.total -= e.bytes;
    stats.fragments.dropped += e.parts.length;
    stats.fragments.droppedBy[reason] = (stats.fragments.droppedBy[reason] ?? 0) + e.parts.length;
  }

  /** Drops datagrams older than the timeout (or, when `force`, the oldest until the table is half empty). */
  expire(nowSec: number, stats: DecodeStats, force = false): void {
    for (const [k, e] of this.map) {
      if (force || nowSec - e.firstSec > this.timeoutSec) {
        this.drop(k, e, force ? 'table-full' : 'timeout', stats);
        if (force && this.map.size < this.maxDatagrams && this.total < this.maxBytes / 2) break;
      }
    }
  }

  get pending(): number {
    return this.map.size;
  }

  /** Bytes held by incomplete datagrams. */
  get heldBytes(): number {
    return this.total;
  }

  /** Counts every incomplete datagram as dropped (end of capture). */
  flush(stats: DecodeStats): void {
    for (const [k, e] of this.map) this.drop(k, e, 'incomplete-at-end', stats);
  }
}
