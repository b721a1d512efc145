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
  fragments: { seen: number; reassembled: number; dropped: number };
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
    fragments: { seen: 0, reassembled: 0, dropped: 0 },
    truncatedFrames: 0,
    tunnels: {},
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

