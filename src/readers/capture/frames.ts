/**
 * Capture file framing: classic pcap (all four magics) and pcapng (SHB, IDB, EPB, SPB, the obsolete
 * PB, several sections and interfaces, per-interface link type, snaplen, if_tsresol, if_name).
 *
 * Streaming: bytes arrive as chunks (a file read stream or stdin); records are cut out of a rolling
 * buffer synchronously and handed out in batches, so a capture of any size is read in bounded memory.
 * A record's `data` is a view into the current chunk and is only valid until the next batch is
 * requested: consumers copy what they keep.
 *
 * Damage handling: a record whose length is impossible (bigger than any snap length, or a pcapng
 * block length that is not a multiple of 4 / does not match its trailer) stops the file with an
 * error diagnostic naming the byte offset and frame number; every complete record before it has
 * already been delivered. A file that ends mid-record gives a warning, never a hang or an unbounded
 * read: a record is never allowed to ask for more than MAX_RECORD bytes.
 */
import type { Diagnostic } from '../../model/errors.js';
import { InputError } from '../../model/errors.js';

/** One captured frame as the file stores it. */
export interface RawFrame {
  /** 1-based frame number across the whole file (what Wireshark shows). */
  frame: number;
  /** Byte offset of the record in the file. */
  offset: number;
  /** Seconds since the epoch and nanoseconds within that second. */
  sec: number;
  nsec: number;
  /** Decimal digits of timestamp precision the file carries (6 for µs, 9 for ns). */
  precision: number;
  /** Link type with the FCS bits masked off (low 16 bits). */
  linkType: number;
  /**
   * The captured bytes are `bytes[start, start + caplen)`: `bytes` views the whole buffer read (valid until the
   * next batch), so a frame costs no view of its own; the decoder reads them in place.
   */
  bytes: Uint8Array;
  start: number;
  caplen: number;
  /** The captured bytes as one view (made when asked). */
  readonly data: Uint8Array;
  /** Original length on the wire. */
  origLen: number;
  /** Interface index within the file (pcapng; 0 for pcap). */
  iface: number;
  /**
   * True when the file's timestamp (after if_tsresol/if_tsoffset) is outside the representable
   * range [1970, 9999]: sec/nsec then repeat the previous good timestamp (0 before any).
   */
  badTime?: boolean;
}

/** A record as the readers give it (see RawFrame). */
class Frame implements RawFrame {
  declare badTime?: boolean;
  constructor(
    public frame: number,
    public offset: number,
    public sec: number,
    public nsec: number,
    public precision: number,
    public linkType: number,
    public bytes: Uint8Array,
    public start: number,
    public caplen: number,
    public origLen: number,
    public iface: number,
  ) {}

  get data(): Uint8Array {
    return this.bytes.subarray(this.start, this.start + this.caplen);
  }
}

/** A plain Uint8Array over a read buffer (its subarrays are then Uint8Arrays, not Buffers). */
function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export interface InterfaceInfo {
  /** Index across the file (pcapng sections are numbered consecutively). */
  index: number;
  linkType: number;
  snaplen: number;
  name?: string;
  description?: string;
  precision: number;
}

export type CaptureFormat = 'pcap' | 'pcap-ns' | 'pcapng';

export interface FrameReaderState {
  format: CaptureFormat | null;
  interfaces: InterfaceInfo[];
  frames: number;
  bytes: number;
  diagnostics: Diagnostic[];
  /** True when the file was not read to its end because of damage. */
  stoppedEarly: boolean;
  /** Frames kept whose timestamp was out of range (see RawFrame.badTime). */
  badTimestamps: number;
}

/** libpcap's largest snap length (MAXIMUM_SNAPLEN); no valid record is longer unless the header says so. */
export const MAX_SNAPLEN = 262_144;
/** Hard cap on any record/block we will buffer (pcapng blocks may legally be larger than a snaplen). */
export const MAX_RECORD = 16 * 1024 * 1024;
/** Last second a timestamp may name (9999-12-31T23:59:59Z): beyond it dates cannot be printed. */
export const MAX_TIME_SEC = 253_402_300_799;
/** Frames per batch: small enough that a batch dies young (cheap for the GC). */
const BATCH = 512;

const PCAP_US_LE = 0xd4c3b2a1; // as read big-endian from bytes d4 c3 b2 a1
const PCAP_US_BE = 0xa1b2c3d4;
const PCAP_NS_LE = 0x4d3cb2a1;
const PCAP_NS_BE = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;

/** Reads up to `length` bytes into `buf` at `offset`; resolves with the count (0 at end of input). */
export type ReadInto = (buf: Buffer, offset: number, length: number) => Promise<number>;

/** Capture bytes: chunks from a stream, or (faster, no copying) reads straight into our buffer. */
export type ByteInput = AsyncIterable<Uint8Array> | { readInto: ReadInto; close?: () => Promise<void> };

/**
 * Room kept before the data in a read-ahead buffer, for the unread tail of the chunk before (a partial
 * record: at most a 16-byte record header and a snap length's worth of data, MAX_SNAPLEN): the tail is copied
 * in front of the bytes read ahead instead of the bytes after it.
 */
const AHEAD_ROOM = MAX_SNAPLEN + 64;

/**
 * A rolling byte buffer over an async byte source.
 *
 * With `readInto` (a file), the next chunk is read ahead: as soon as a chunk is handed over, the read of the
 * one after it starts, so the file's reads (a thread-pool round trip and the kernel's copy: ~8% of `flows`'
 * wall clock on one thread, spent idle) overlap the decoding. The reads stay sequential and in order (one at a
 * time), so a source that hashes or counts what it reads sees the same bytes in the same order.
 */
class Rolling {
  buf: Buffer = Buffer.alloc(0);
  /**
   * The allocation behind `buf`, the one before it, and the one being read ahead into. The read ahead of
   * fill N goes into the memory of chunk N-2 (every view into it is stale by then: a batch's views are valid
   * only until the next batch is asked for, and that chunk was left behind at least one batch ago), as the
   * reads without read-ahead did. Fresh memory for every chunk would cost a page fault per 4 KiB read (about
   * a tenth of `flows`' CPU time on a large capture).
   */
  private whole: Buffer | null = null;
  private spare: Buffer | null = null;
  private aheadBuf: Buffer | null = null;
  /** The read ahead in flight (into `aheadBuf` at AHEAD_ROOM), resolving with its byte count (0: end of input). */
  private ahead: Promise<number> | null = null;
  pos = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  private it: AsyncIterator<Uint8Array> | null = null;
  private readInto: ReadInto | null = null;
  private closer: (() => Promise<void>) | null = null;
  constructor(src: ByteInput, private readonly chunk: number) {
    if ('readInto' in src) {
      this.readInto = src.readInto;
      this.closer = src.close ?? null;
    } else this.it = src[Symbol.asyncIterator]();
  }
  /** Releases the input (file handle, stream) when reading stops early. */
  async close(): Promise<void> {
    if (this.ahead) await this.ahead.catch(() => 0);
    this.ahead = null;
    if (this.closer) await this.closer();
    else if (this.it?.return) await this.it.return();
  }
  get avail(): number {
    return this.buf.length - this.pos;
  }
  get offset(): number {
    return this.base + this.pos;
  }
  /** Reads until at least `n` bytes are available from pos or EOF. Copies only the unread tail. */
  async fill(n: number): Promise<void> {
    if (this.avail >= n || this.eof) return;
    if (this.readInto) return this.fillInto(n, this.readInto);
    const parts: Buffer[] = [];
    let have = this.avail;
    if (have > 0) parts.push(this.buf.subarray(this.pos));
    while (have < n) {
      const r = await this.it!.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      if (c.length === 0) continue;
      parts.push(c);
      have += c.length;
    }
    this.base += this.pos;
    this.buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    this.pos = 0;
  }
  /** fill() over `readInto`: the tail, then the bytes read ahead, then (a record longer than that) more reads. */
  private async fillInto(n: number, readInto: ReadInto): Promise<void> {
    const tail = this.avail;
    const ahead = this.ahead;
    this.ahead = null;
    const got = ahead ? await ahead : -1;
    if (got === 0) this.eof = true;
    const room = this.aheadBuf;
    let next: Buffer;
    let start: number;
    if (got >= 0 && room !== null && tail <= AHEAD_ROOM && n - tail <= room.length - AHEAD_ROOM) {
      // the usual case: the tail goes right in front of the bytes read ahead
      next = room;
      start = AHEAD_ROOM - tail;
      this.buf.copy(next, start, this.pos);
    } else {
      // the first fill, or a record longer than what was read ahead: a buffer of its own
      next = Buffer.allocUnsafe(Math.max(n, tail + Math.max(got, 0), this.chunk) + AHEAD_ROOM);
      start = AHEAD_ROOM;
      this.buf.copy(next, start, this.pos);
      if (got > 0) room!.copy(next, start + tail, AHEAD_ROOM, AHEAD_ROOM + got);
    }
    let have = tail + Math.max(got, 0);
    while (have < n && !this.eof) {
      const more = await readInto(next, start + have, next.length - start - have);
      if (more === 0) this.eof = true;
      have += more;
    }
    this.base += this.pos;
    this.buf = next.subarray(start, start + have);
    this.pos = 0;
    // chunk N-2's memory is the next read-ahead's (see `whole`); a buffer replaced above is dropped
    const free = this.spare;
    this.spare = this.whole;
    this.whole = next;
    this.aheadBuf = free !== null && free !== next && free.length >= AHEAD_ROOM + this.chunk ? free : Buffer.allocUnsafe(AHEAD_ROOM + this.chunk);
    if (!this.eof) {
      const p = readInto(this.aheadBuf, AHEAD_ROOM, this.aheadBuf.length - AHEAD_ROOM);
      p.catch(() => 0); // its failure is thrown where it is awaited (the next fill), not as an unhandled rejection
      this.ahead = p;
    }
  }
}

export interface ReadFramesOptions {
  /** File name for messages. */
  name: string;
  /** Called with each diagnostic as it happens (also collected in the state). */
  onDiagnostic?: (d: Diagnostic) => void;
  /** How many bytes to ask for per refill (default 1 MiB). */
  chunkBytes?: number;
}

/**
 * Reads a capture and yields batches of frames. Throws InputError when the input is not a capture
 * at all; damage later in the file ends the iteration with an error/warning diagnostic instead.
 */
export async function* readFrames(
  src: ByteInput,
  opts: ReadFramesOptions,
  state: FrameReaderState = newFrameReaderState(),
): AsyncGenerator<RawFrame[], FrameReaderState> {
  const want = opts.chunkBytes ?? 4 << 20;
  const r = new Rolling(src, want);
  try {
    await r.fill(24);
    if (r.avail < 4) {
      if (r.avail === 0) throw new InputError({ file: opts.name, offset: 0 }, 'a pcap or pcapng capture', 'an empty file');
      throw new InputError({ file: opts.name, offset: 0 }, 'a pcap or pcapng capture', `only ${r.avail} bytes`);
    }
    const magic = r.buf.readUInt32BE(r.pos);
    if (magic === PCAPNG_SHB) {
      state.format = 'pcapng';
      yield* readPcapng(r, opts, state, want);
    } else if (magic === PCAP_US_LE || magic === PCAP_US_BE || magic === PCAP_NS_LE || magic === PCAP_NS_BE) {
      state.format = magic === PCAP_NS_LE || magic === PCAP_NS_BE ? 'pcap-ns' : 'pcap';
      yield* readPcap(r, opts, state, want);
    } else {
      const hex = r.buf.subarray(r.pos, r.pos + 4).toString('hex');
      throw new InputError({ file: opts.name, offset: 0 }, 'a pcap or pcapng capture (magic a1b2c3d4, a1b23c4d or 0a0d0d0a in either byte order)', `bytes ${hex}`);
    }
  } finally {
    if (!r.eof) await r.close();
  }
  return state;
}

export function newFrameReaderState(): FrameReaderState {
  return { format: null, interfaces: [], frames: 0, bytes: 0, diagnostics: [], stoppedEarly: false, badTimestamps: 0 };
}

function diag(state: FrameReaderState, opts: ReadFramesOptions, d: Diagnostic): void {
  state.diagnostics.push(d);
  opts.onDiagnostic?.(d);
}

/**
 * A record header's unsigned 32-bit fields. Buffer's readUInt32LE/BE check their bounds on every call (64 ms,
 * ~5% of a `flows` profile on a 200 MB capture); the loop has checked that the 16 bytes are there.
 */
function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

function u32be(b: Uint8Array, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

interface PcapScan {
  readonly le: boolean;
  readonly ns: boolean;
  readonly precision: number;
  readonly linkType: number;
  readonly maxLen: number;
  /** In: where to start; out: where the scan stopped. */
  pos: number;
  /** Out: the bytes a record needs (SCAN_NEED) or its captured length (SCAN_CORRUPT). */
  need: number;
}

const SCAN_FULL = 0;
const SCAN_NEED = 1;
const SCAN_CORRUPT = 2;

/**
 * pcap records from `scan.pos` into `batch` (up to BATCH), as RawFrames viewing `buf`; the frames and bytes
 * counted in `state`. A plain function rather than the generator's own loop, which profiles showed running
 * partly in baseline code. Returns SCAN_FULL (batch full, or the buffer holds no further header), SCAN_NEED (a
 * record is only partly in `buf`) or SCAN_CORRUPT (a captured length over the maximum at `scan.pos`).
 */
function scanPcap(buf: Buffer, base: number, batch: RawFrame[], scan: PcapScan, state: FrameReaderState): number {
  const { le, ns, precision, linkType, maxLen } = scan;
  const end = buf.length;
  const view = plain(buf);
  let pos = scan.pos;
  let frame = state.frames;
  let bytes = state.bytes;
  let result = SCAN_FULL;
  while (end - pos >= 16 && batch.length < BATCH) {
    const sec = le ? u32le(buf, pos) : u32be(buf, pos);
    const frac = le ? u32le(buf, pos + 4) : u32be(buf, pos + 4);
    const caplen = le ? u32le(buf, pos + 8) : u32be(buf, pos + 8);
    const origLen = le ? u32le(buf, pos + 12) : u32be(buf, pos + 12);
    if (caplen > maxLen) {
      scan.need = caplen;
      result = SCAN_CORRUPT;
      break;
    }
    if (end - pos < 16 + caplen) {
      scan.need = 16 + caplen;
      result = SCAN_NEED;
      break;
    }
    frame++;
    batch.push(new Frame(frame, base + pos, sec, ns ? frac : frac * 1000, precision, linkType, view, pos + 16, caplen, origLen, 0));
    bytes += 16 + caplen;
    pos += 16 + caplen;
  }
  state.frames = frame;
  state.bytes = bytes;
  scan.pos = pos;
  return result;
}

async function* readPcap(r: Rolling, opts: ReadFramesOptions, state: FrameReaderState, want: number): AsyncGenerator<RawFrame[]> {
  if (r.avail < 24) {
    diag(state, opts, { severity: 'error', location: { file: opts.name, offset: r.avail }, message: `pcap file header cut short: expected 24 bytes, found ${r.avail}` });
    state.stoppedEarly = true;
    return;
  }
  const b0 = r.buf;
  const p0 = r.pos;
  const magic = b0.readUInt32BE(p0);
  const le = magic === PCAP_US_LE || magic === PCAP_NS_LE;
  const ns = magic === PCAP_NS_LE || magic === PCAP_NS_BE;
  const rd32 = le ? (b: Buffer, o: number) => b.readUInt32LE(o) : (b: Buffer, o: number) => b.readUInt32BE(o);
  const major = le ? b0.readUInt16LE(p0 + 4) : b0.readUInt16BE(p0 + 4);
  const minor = le ? b0.readUInt16LE(p0 + 6) : b0.readUInt16BE(p0 + 6);
  if (major !== 2) {
    throw new InputError({ file: opts.name, offset: 4 }, 'pcap version 2.x', `version ${major}.${minor}`);
  }
  const snaplen = rd32(b0, p0 + 16);
  const rawLink = rd32(b0, p0 + 20);
  const linkType = rawLink & 0xffff; // upper bits: FCS length and flags
  const precision = ns ? 9 : 6;
  state.interfaces.push({ index: 0, linkType, snaplen, precision });
  const maxLen = Math.min(Math.max(snaplen, MAX_SNAPLEN), MAX_RECORD);
  r.pos += 24;
  let need = 16;
  const scan: PcapScan = { le, ns, precision, linkType, maxLen, pos: 0, need: 0 };
  for (;;) {
    await r.fill(need);
    need = 16;
    const batch: RawFrame[] = [];
    scan.pos = r.pos;
    const stop = scanPcap(r.buf, r.base, batch, scan, state);
    r.pos = scan.pos;
    const frame = state.frames;
    if (stop === SCAN_NEED) need = scan.need;
    else if (stop === SCAN_CORRUPT) {
      diag(state, opts, {
        severity: 'error',
        location: { file: opts.name, offset: r.offset, frame: frame + 1 },
        message: `corrupt pcap record: captured length ${scan.need} exceeds the maximum ${maxLen} (snaplen ${snaplen}); stopped reading, ${frame} complete frames kept`,
      });
      state.stoppedEarly = true;
      if (batch.length) yield batch;
      return;
    }
    const full = batch.length >= BATCH;
    if (batch.length) yield batch;
    if (full) continue;
    if (r.eof) {
      if (r.avail > 0) {
        const need = r.avail >= 16 ? 16 + rd32(r.buf, r.pos + 8) : 16;
        diag(state, opts, {
          severity: 'warning',
          location: { file: opts.name, offset: r.offset, frame: frame + 1 },
          message: `file cut short in the middle of frame ${frame + 1}: the record needs ${need} bytes, only ${r.avail} present; ${frame} complete frames kept`,
        });
        state.stoppedEarly = true;
      }
      return;
    }
  }
}

/** pcapng: blocks are read one at a time; EPB/SPB/PB are batched. */
async function* readPcapng(r: Rolling, opts: ReadFramesOptions, state: FrameReaderState, want: number): AsyncGenerator<RawFrame[]> {
  let le = true;
  /** Interfaces of the current section (indices into state.interfaces). */
  let section: InterfaceInfo[] = [];
  let frame = state.frames;
  let sawShb = false;
  let need = 12;
  /** Last in-range timestamp: what a frame with an out-of-range one is given. */
  let lastSec = 0;
  let lastNsec = 0;
  let firstBad: { offset: number; frame: number; sec: number } | null = null;
  try {
  for (;;) {
    await r.fill(need);
    const batch: RawFrame[] = [];
    const buf = r.buf;
    const bytes = plain(buf);
    let pos = r.pos;
    const end = buf.length;
    let stop: 'need' | 'fatal' | null = null;
    while (end - pos >= 12 && batch.length < BATCH) {
      let type = buf.readUInt32LE(pos);
      if (type === PCAPNG_SHB) {
        // The byte-order magic decides how to read this section, including this block's length.
        if (end - pos < 12) break;
        const bom = buf.readUInt32LE(pos + 8);
        if (bom === BOM) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else {
          fatal(state, opts, r.base + pos, frame, `pcapng section header with an unknown byte-order magic ${buf.subarray(pos + 8, pos + 12).toString('hex')}`, frame);
          stop = 'fatal';
          break;
        }
      } else if (!le) {
        type = buf.readUInt32BE(pos);
      }
      if (!sawShb && type !== PCAPNG_SHB) {
        fatal(state, opts, r.base + pos, frame, 'pcapng file does not start with a section header block', frame);
        stop = 'fatal';
        break;
      }
      const blen = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      if (blen < 12 || blen % 4 !== 0 || blen > MAX_RECORD) {
        fatal(state, opts, r.base + pos, frame + 1, `corrupt pcapng block: total length ${blen} (must be a multiple of 4 between 12 and ${MAX_RECORD})`, frame);
        stop = 'fatal';
        break;
      }
      const min = MIN_BLOCK[type] ?? 12;
      if (blen < min) {
        fatal(state, opts, r.base + pos, frame + 1, `corrupt pcapng ${BLOCK_NAME[type] ?? 'block'}: total length ${blen} is shorter than the ${min} bytes this block type needs`, frame);
        stop = 'fatal';
        break;
      }
      if (end - pos < blen) {
        stop = 'need';
        break;
      }
      const trailer = le ? buf.readUInt32LE(pos + blen - 4) : buf.readUInt32BE(pos + blen - 4);
      if (trailer !== blen) {
        fatal(state, opts, r.base + pos, frame + 1, `corrupt pcapng block: leading length ${blen} and trailing length ${trailer} differ`, frame);
        stop = 'fatal';
        break;
      }
      const u32 = le ? (o: number) => buf.readUInt32LE(o) : (o: number) => buf.readUInt32BE(o);
      const u16 = le ? (o: number) => buf.readUInt16LE(o) : (o: number) => buf.readUInt16BE(o);
      const body = pos + 8;
      const bodyEnd = pos + blen - 4;
      switch (type) {
        case PCAPNG_SHB: {
          sawShb = true;
          const major = u16(body + 4);
          if (major !== 1) {
            fatal(state, opts, r.base + pos, frame, `unsupported pcapng version ${major}.${u16(body + 6)}`, frame);
            stop = 'fatal';
          }
          section = [];
          break;
        }
        case 1: {
          // Interface Description Block
          const linkType = u16(body) & 0xffff;
          const snaplen = u32(body + 4);
          const info: InterfaceInfo = { index: state.interfaces.length, linkType, snaplen, precision: 6 };
          let tsDiv = 1e6;
          let tsBinary = 0;
          let tsOffset = 0;
          for (let o = body + 8; o + 4 <= bodyEnd; ) {
            const code = u16(o);
            const len = u16(o + 2);
            if (code === 0) break;
            const v = o + 4;
            if (v + len > bodyEnd) break;
            if (code === 2) info.name = buf.toString('utf8', v, v + len).replace(/\0+$/, '');
            else if (code === 3) info.description = buf.toString('utf8', v, v + len).replace(/\0+$/, '');
            else if (code === 14 && len >= 8) {
              // if_tsoffset: seconds to add to every timestamp (signed 64-bit)
              tsOffset = Number(le ? buf.readBigInt64LE(v) : buf.readBigInt64BE(v));
            } else if (code === 9 && len >= 1) {
              const res = buf[v]!;
              if (res & 0x80) {
                tsBinary = res & 0x7f;
                if (tsBinary === 0) tsDiv = 1; // 2^0: whole seconds
                info.precision = Math.min(9, Math.ceil((res & 0x7f) * Math.LOG10E * Math.LN2));
              } else {
                tsDiv = 10 ** res;
                info.precision = Math.min(9, res);
              }
            }
            o = v + ((len + 3) & ~3);
          }
          section.push(info);
          state.interfaces.push(info);
          tsUnits.set(info, { div: tsDiv, binary: tsBinary, offset: tsOffset });
          break;
        }
        case 6:
        case 2: {
          // Enhanced Packet Block (6) / obsolete Packet Block (2)
          const ifId = type === 6 ? u32(body) : u16(body);
          const iface = section[ifId];
          if (!iface) {
            diag(state, opts, { severity: 'warning', location: { file: opts.name, offset: r.base + pos, frame: frame + 1 }, message: `packet refers to interface ${ifId}, which no interface description block defined; skipped` });
            frame++;
            break;
          }
          const hi = u32(body + 4);
          const lo = u32(body + 8);
          const caplen = u32(body + 12);
          const origLen = u32(body + 16);
          if (body + 20 + caplen > bodyEnd) {
            fatal(state, opts, r.base + pos, frame + 1, `corrupt pcapng packet block: captured length ${caplen} does not fit in a block of ${blen} bytes`, frame);
            stop = 'fatal';
            break;
          }
          frame++;
          const t = tsUnits.get(iface)!;
          const [rawSec, rawNsec] = splitTimestamp(hi, lo, t.div, t.binary);
          let sec = rawSec + t.offset;
          let nsec = rawNsec;
          let badTime = false;
          if (!(sec >= 0 && sec <= MAX_TIME_SEC)) {
            badTime = true;
            if (state.badTimestamps++ === 0) firstBad = { offset: r.base + pos, frame, sec };
            sec = lastSec;
            nsec = lastNsec;
          } else {
            lastSec = sec;
            lastNsec = nsec;
          }
          const f = new Frame(frame, r.base + pos, sec, nsec, iface.precision, iface.linkType, bytes, body + 20, caplen, origLen, iface.index);
          if (badTime) f.badTime = true;
          batch.push(f);
          state.bytes += blen;
          break;
        }
        case 3: {
          // Simple Packet Block: interface 0 of the section, no timestamp.
          const iface = section[0];
          frame++;
          if (!iface) {
            diag(state, opts, { severity: 'warning', location: { file: opts.name, offset: r.base + pos, frame }, message: 'simple packet block before any interface description block; skipped' });
            break;
          }
          const origLen = u32(body);
          const caplen = Math.min(origLen, blen - 16, iface.snaplen || Number.MAX_SAFE_INTEGER);
          batch.push(new Frame(frame, r.base + pos, 0, 0, iface.precision, iface.linkType, bytes, body + 4, caplen, origLen, iface.index));
          state.bytes += blen;
          break;
        }
        default:
          // Name resolution, interface statistics, journal, decryption secrets, custom: not needed.
          break;
      }
      if (stop === 'fatal') break;
      pos += blen;
    }
    r.pos = pos;
    state.frames = frame;
    const full = batch.length >= BATCH && stop === null;
    if (batch.length) yield batch;
    if (stop === 'fatal') {
      state.stoppedEarly = true;
      return;
    }
    if (full) {
      need = 12;
      continue;
    }
    if (r.eof) {
      if (r.avail > 0) {
        const blen = r.avail >= 8 ? (le ? r.buf.readUInt32LE(r.pos + 4) : r.buf.readUInt32BE(r.pos + 4)) : 12;
        diag(state, opts, {
          severity: 'warning',
          location: { file: opts.name, offset: r.offset, frame: frame + 1 },
          message: `file cut short in the middle of a block (frame ${frame + 1}): the block needs ${blen} bytes, only ${r.avail} present; ${frame} complete frames kept`,
        });
        state.stoppedEarly = true;
      }
      return;
    }
    need = 12;
    if (stop === 'need' && r.avail >= 12) {
      need = le ? r.buf.readUInt32LE(r.pos + 4) : r.buf.readUInt32BE(r.pos + 4);
    }
  }
  } finally {
    if (firstBad) {
      const n = state.badTimestamps;
      const first = Number.isFinite(firstBad.sec) ? `${firstBad.sec} s` : 'not a number';
      diag(state, opts, {
        severity: 'warning',
        location: { file: opts.name, offset: firstBad.offset, frame: firstBad.frame },
        message: `${n} frame${n === 1 ? '' : 's'} with a timestamp out of range (first: ${first} after if_tsresol/if_tsoffset; expected 1970..9999): kept, each given the previous frame's time`,
      });
    }
  }
}

const tsUnits = new WeakMap<InterfaceInfo, { div: number; binary: number; offset: number }>();

/** Smallest total length of each pcapng block type (header 8 + fixed body + trailer 4). */
const MIN_BLOCK: Record<number, number> = { [PCAPNG_SHB]: 28, 1: 20, 2: 32, 3: 16, 5: 24, 6: 32 };
const BLOCK_NAME: Record<number, string> = { [PCAPNG_SHB]: 'section header block', 1: 'interface description block', 2: 'packet block', 3: 'simple packet block', 5: 'interface statistics block', 6: 'enhanced packet block' };

/** `kept`: frames read before the damage (the caller's running count; state.frames lags within a batch). */
function fatal(state: FrameReaderState, opts: ReadFramesOptions, offset: number, frame: number, message: string, kept: number): void {
  diag(state, opts, { severity: 'error', location: { file: opts.name, offset, frame }, message: `${message}; stopped reading, ${kept} complete frames kept` });
}

/** Splits a 64-bit pcapng timestamp (hi, lo) in units of 1/div s (or 2^-binary s) into (sec, nsec). */
export function splitTimestamp(hi: number, lo: number, div: number, binary: number): [number, number] {
  if (binary === 0 && div <= 1e6 && hi < 0x200000) {
    const ts = hi * 4294967296 + lo; // < 2^53 for µs timestamps until year 2255
    const sec = Math.floor(ts / div);
    const frac = ts - sec * div;
    return [sec, Math.round(frac * (1e9 / div))];
  }
  const ts = (BigInt(hi) << 32n) | BigInt(lo);
  if (binary !== 0) {
    const sec = ts >> BigInt(binary);
    const frac = ts - (sec << BigInt(binary));
    return [Number(sec), Number((frac * 1_000_000_000n) >> BigInt(binary))];
  }
  const d = BigInt(div);
  const sec = ts / d;
  const frac = ts - sec * d;
  return [Number(sec), Number((frac * 1_000_000_000n) / d)];
}
