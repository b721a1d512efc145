/**
 * TCP segments across a thread boundary: a batch of decoded segments (decode.ts) packed into one
 * ArrayBuffer that can be transferred (not copied) to a worker, and unpacked there into segments equal
 * field for field to the ones packed. Used by the capture pipeline (src/cli/capture-pipeline.ts): the main
 * thread reads and decodes frames, a worker tracks TCP connections and runs the protocol decoders.
 *
 * Layout of a batch of n segments: n × 3 float64 (frame, sec, view), then n × 11 uint32 (nsec,
 * precision | flags << 8 | IPv6 << 16 | loopback << 17, iface, sport << 16 | dport, seq, ack, payloadLen,
 * src id, dst id, encapsulation id + 1, captured payload length), then the captured payloads back to back.
 * Address strings and encapsulations are sent once each (ids in order of first use) and the tables start
 * over when they grow large, so a scan of a million addresses does not grow them without bound.
 */
import type { Encapsulation, TcpSegment } from './decode.js';

const F64 = 3;
const U32 = 11;
/** Entries kept in either id table before both start over. */
const MAX_IDS = 65536;
/**
 * Smallest buffer allocated for a batch (512 frames of a 1500-byte MTU fit), so that a buffer handed back
 * (recycle) fits the next batches; buffers handed back are kept up to POOL of them.
 */
const MIN_BUFFER = 1 << 20;
const POOL = 64;

/** One packed batch (structured-clone safe; transfer `buf`, which may be longer than the batch needs). */
export interface PackedSegments {
  n: number;
  buf: ArrayBuffer;
  /** The id tables start over before this batch's definitions. */
  reset: boolean;
  /** Address strings first used in this batch, ids continuing the table. */
  strings: string[];
  /** Encapsulations first used in this batch, ids continuing the table. */
  encaps: Encapsulation[];
}

/**
 * Every field of TcpSegment, so that a field added to it fails to compile here until the codec carries
 * it (a segment that lost a field in the pipeline would make the two-thread output differ).
 */
const FIELDS: Record<keyof TcpSegment, true> = {
  frame: true,
  sec: true,
  nsec: true,
  precision: true,
  iface: true,
  loopback: true,
  family: true,
  src: true,
  dst: true,
  sport: true,
  dport: true,
  seq: true,
  ack: true,
  flags: true,
  payloadLen: true,
  payload: true,
  view: true,
  encap: true,
};
export const SEGMENT_FIELDS = Object.keys(FIELDS) as (keyof TcpSegment)[];

export class SegmentPacker {
  private strings = new Map<string, number>();
  private encaps = new Map<Encapsulation, number>();
  /** Buffers of batches the other side is done with (see recycle). */
  private readonly pool: ArrayBuffer[] = [];

  /**
   * A batch's buffer back from the other side once every segment of it was consumed (their payloads are
   * views valid until the next batch): the next batch is packed into it rather than into fresh memory,
   * which costs a zero-fill and a page fault per 4 KiB (about a third of the reading thread's time).
   */
  recycle(buf: ArrayBuffer): void {
    if (this.pool.length < POOL && buf.byteLength > 0) this.pool.push(buf);
  }

  private buffer(size: number): ArrayBuffer {
    const pool = this.pool;
    for (let i = pool.length - 1; i >= 0; i--) {
      const b = pool[i]!;
      if (b.byteLength >= size) {
        pool[i] = pool[pool.length - 1]!;
        pool.pop();
        return b;
      }
    }
    return new ArrayBuffer(Math.max(size, MIN_BUFFER));
  }

  private stringId(s: string, out: string[]): number {
    let id = this.strings.get(s);
    if (id === undefined) {
      id = this.strings.size;
      this.strings.set(s, id);
      out.push(s);
    }
    return id;
  }

  pack(segs: readonly TcpSegment[]): PackedSegments {
    let reset = false;
    if (this.strings.size > MAX_IDS || this.encaps.size > MAX_IDS) {
      this.strings.clear();
      this.encaps.clear();
      reset = true;
    }
    const n = segs.length;
    let payload = 0;
    for (let i = 0; i < n; i++) payload += segs[i]!.payload.length;
    const head = n * (F64 * 8 + U32 * 4);
    const buf = this.buffer(head + payload);
    const f = new Float64Array(buf, 0, n * F64);
    const u = new Uint32Array(buf, n * F64 * 8, n * U32);
    const bytes = new Uint8Array(buf);
    const strings: string[] = [];
    const encaps: Encapsulation[] = [];
    let at = head;
    for (let i = 0; i < n; i++) {
      const s = segs[i]!;
      const fi = i * F64;
      f[fi] = s.frame;
      f[fi + 1] = s.sec;
      f[fi + 2] = s.view;
      let encapId = 0;
      if (s.encap !== null) {
        let id = this.encaps.get(s.encap);
        if (id === undefined) {
          id = this.encaps.size;
          this.encaps.set(s.encap, id);
          encaps.push(s.encap);
        }
        encapId = id + 1;
      }
      const ui = i * U32;
      const cap = s.payload.length;
      u[ui] = s.nsec;
      u[ui + 1] = s.precision | (s.flags << 8) | (s.family === 6 ? 1 << 16 : 0) | (s.loopback ? 1 << 17 : 0);
      u[ui + 2] = s.iface;
      u[ui + 3] = ((s.sport << 16) | s.dport) >>> 0;
      u[ui + 4] = s.seq;
      u[ui + 5] = s.ack;
      u[ui + 6] = s.payloadLen;
      u[ui + 7] = this.stringId(s.src, strings);
      u[ui + 8] = this.stringId(s.dst, strings);
      u[ui + 9] = encapId;
      u[ui + 10] = cap;
      if (cap) {
        bytes.set(s.payload, at);
        at += cap;
      }
    }
    return { n, buf, reset, strings, encaps };
  }
}

const EMPTY = new Uint8Array(0);

export class SegmentUnpacker {
  private strings: string[] = [];
  private encaps: Encapsulation[] = [];

  unpack(p: PackedSegments): TcpSegment[] {
    if (p.reset) {
      this.strings = [];
      this.encaps = [];
    }
    for (const s of p.strings) this.strings.push(s);
    for (const e of p.encaps) this.encaps.push(e);
    const n = p.n;
    const f = new Float64Array(p.buf, 0, n * F64);
    const u = new Uint32Array(p.buf, n * F64 * 8, n * U32);
    let at = n * (F64 * 8 + U32 * 4);
    const out: TcpSegment[] = new Array<TcpSegment>(n);
    for (let i = 0; i < n; i++) {
      const fi = i * F64;
      const ui = i * U32;
      const bits = u[ui + 1]!;
      const ports = u[ui + 3]!;
      const cap = u[ui + 10]!;
      const e = u[ui + 9]!;
      // (the property order of decode.ts's segments: one hidden class for the TCP table)
      out[i] = {
        frame: f[fi]!,
        sec: f[fi + 1]!,
        nsec: u[ui]!,
        precision: bits & 0xff,
        iface: u[ui + 2]!,
        loopback: (bits & (1 << 17)) !== 0,
        family: bits & (1 << 16) ? 6 : 4,
        src: this.strings[u[ui + 7]!]!,
        dst: this.strings[u[ui + 8]!]!,
        sport: ports >>> 16,
        dport: ports & 0xffff,
        seq: u[ui + 4]!,
        ack: u[ui + 5]!,
        flags: (bits >>> 8) & 0xff,
        payloadLen: u[ui + 6]!,
        payload: cap ? new Uint8Array(p.buf, at, cap) : EMPTY,
        view: f[fi + 2]!,
        encap: e === 0 ? null : this.encaps[e - 1]!,
      };
      at += cap;
    }
    return out;
  }
}
