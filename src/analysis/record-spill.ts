/**
 * The access records of a `report`, kept without holding them all (issue 17, ../../STREAMING.md "Spill"):
 * records go in as they are read (`add`, which numbers them: `seq`), and come back in canonical order
 * (`batches`), as many times as asked (each report pass re-reads them), in memory that does not grow
 * with the number of records.
 *
 * Canonical order: records with a time (`timeMs` a finite number) by (timeMs, seq); then the records
 * without one, by seq. `canonicalOrder` sorts an in-memory array the same way (a stable sort by time:
 * the array's order stands for seq).
 *
 * Up to a budget (records, and estimated bytes) the records stay in memory. Past it, the buffer is sorted
 * and written as a *run* to a file in a private temporary directory (mkdtemp under os.tmpdir(), mode
 * 0700; files 0600): a run is a sequence of frames, each a 4-byte little-endian length and a batch of
 * RUN_BATCH records with their seqs (record-codec.ts: ~5× faster to read than v8.serialize, which it
 * falls back to for anything but plain data), so reading a run holds one batch (and a read buffer: runs are
 * read and written synchronously, a few hundred KB at a time, see READ_BUDGET and WRITE_BUFFER). A pass
 * merges the runs and the sorted in-memory tail with a small heap (k-way merge); more than FAN_IN runs
 * are merged into fewer at `seal`, so a pass holds at most FAN_IN batches whatever the input size.
 * The directory is removed by `close()`, and on process exit, SIGINT and SIGTERM while a spill is open
 * (one set of handlers for all open spills, removed when the last one closes).
 *
 * What round-trips: every enumerable own property (plain data: JsonValue fields, attrs, ztunnel facts,
 * `fieldsElided`, properties set to undefined); objects shared between records of one batch stay shared.
 * What does not: facts stored under symbols (analysis/record-facts.ts: non-enumerable, per pass), which
 * structured serialization never sees. Records kept in memory are handed out as the same objects on
 * every pass, spilled ones as fresh copies: a pass must keep its facts under its own RecordFacts (a new
 * symbol), as correlate() does, never rely on a previous pass's facts being there or gone.
 *
 * Errors are never silent: a failed write or read throws (add) or rejects (seal, batches) with one line
 * naming the temporary file, the offset and what failed.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { decodeBatch, encodeBatch, FORMAT_SHAPES } from './record-codec.js';
import type { AccessRecord } from '../model/records.js';

/** Records kept in memory before a run is written (default). */
export const DEFAULT_MAX_RECORDS = 50_000;
/** Estimated bytes (serialized size) of the records kept in memory before a run is written (default). */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Records per serialized batch in a run (what a pass holds per run). Small so a read-back record dies young:
 * a merge holds one decoded batch per run while the other runs' records go by, and a record still referenced
 * after two scavenges is promoted and becomes old-space garbage, which lets V8 grow the heap with the length
 * of the run (issue 17: at 512, with `batches` of 4,096, nearly every record of a pass was promoted).
 */
const RUN_BATCH = 64;
/** Records per batch `batches` hands out by default (see RUN_BATCH: small, for the same reason). */
const READ_BATCH = 256;
/** Most runs one pass merges; past it, `seal` merges runs into fewer. */
const FAN_IN = 64;
/** Records serialized once to estimate a record's size before the first run gives the real figure. */
const SAMPLE = 64;
/** Largest frame a reader accepts (a corrupt length would otherwise ask for an absurd buffer). */
const MAX_FRAME = 1 << 30;

export interface RecordSpillOptions {
  /** Records kept in memory before a run is written (default DEFAULT_MAX_RECORDS). */
  maxRecords?: number;
  /** Estimated bytes (serialized) kept in memory before a run is written (default DEFAULT_MAX_BYTES). */
  maxBytes?: number;
  /** Records per serialized batch in a run (default 512; tests use small ones). */
  runBatch?: number;
  /** Most runs merged by one pass (default 64; tests use small ones). */
  fanIn?: number;
  /** Directory the private temporary directory is made in (default os.tmpdir()). */
  tmpRoot?: string;
  /**
   * Write runs into another spill's private directory (its `runDirectory()`) instead of one of this spill's
   * own, named `run-<prefix>-<n>.bin` (`prefix` unique among the writers of that directory): a worker thread
   * reading a log writes its records this way and hands them over with `handOver()`; the spill that owns the
   * directory `adopt`s them. Such a spill never removes the directory (its owner does).
   */
  runsIn?: { dir: string; prefix: string };
}

/**
 * Runs written by a spill made with `runsIn` (`handOver()`), to be adopted by the spill owning their directory:
 * each run's records carry seqs 0..count-1 of the writer (the adopter adds its own count before them).
 */
export interface HandedRuns {
  runs: { path: string; bytes: number; count: number }[];
  /** Records added to the writer (= the sum of the runs' counts). */
  count: number;
  untimed: number;
  maxDurationMs: number;
}

/** A record's place in canonical order: its time, or +Infinity when it has none (untimed records sort last). */
function timeKey(r: AccessRecord): number {
  const t = r.timeMs;
  return typeof t === 'number' && Number.isFinite(t) ? t : Infinity;
}

/** Whether a record has a time (`timeMs` a finite number). */
export function isTimed(r: AccessRecord): boolean {
  return timeKey(r) !== Infinity;
}

/**
 * Compares two records by time only: timed records by timeMs, untimed after every timed one, ties 0.
 * A stable sort with it over records in seq order gives canonical order.
 */
export function compareRecordTime(a: AccessRecord, b: AccessRecord): number {
  const ta = timeKey(a);
  const tb = timeKey(b);
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/**
 * Canonical order of records whose array order is their seq: sorts `records` in place (stable) and
 * returns it. The in-memory report path uses it so both paths process records in the same order.
 */
export function canonicalOrder<T extends AccessRecord>(records: T[]): T[] {
  return records.sort(compareRecordTime);
}

/** One run: a file of frames (see the module comment) holding `count` records sorted canonically. */
interface Run {
  path: string;
  bytes: number;
  count: number;
  /** Added to the seqs stored in the run (an adopted run's records are numbered from 0 by their writer). */
  base: number;
}

/** A serialized batch as stored: the records and their seqs. */
interface Batch {
  s: number[];
  r: AccessRecord[];
}

/** The one-line message of a file-system error (Node's `ENOSPC: no space left on device, write`). */
function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

export class SpillError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpillError';
  }
}

/* ---- cleanup on exit: one set of handlers for every open spill ---- */

const liveDirs = new Set<string>();
let hooked = false;

function removeLive(): void {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  removeLive();
  unhook();
  // the signal's default (the process ends) unless someone else listens for it
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}
const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeLive);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', removeLive);
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
}

function registerDir(dir: string): void {
  liveDirs.add(dir);
  hook();
}

function releaseDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
  if (liveDirs.size === 0) unhook();
}

/* ---- reading a run ---- */

/**
 * Read buffer a merge spends on all its runs together: each run's reader gets an equal share, at least
 * READ_MIN and at most READ_MAX bytes (and no more than the run). Reads are synchronous (the file is the
 * spill's own, written moments ago: the page cache serves it), a buffer at a time, and frames are cut from
 * the buffer; a frame larger than the buffer is read into one of its own. Issue 17: two awaited reads per
 * 64-record frame through libuv's thread pool (and a new Buffer each) left the main thread idle 14.7 s of a
 * 108 s report at 1M records. Not larger: on this 2-core EPYC (512 KB L2 a core) a read or write of 384 KB or
 * more cost 4-5x the system time of one of 256 KB (600 MB through one reused buffer: read 64-128 KB 70 ms,
 * 256 KB-1 MB 320-420 ms; write 128-320 KB 200-300 ms, 512 KB 1.3-1.7 s, 47 KB frames 330-420 ms).
 */
const READ_BUDGET = 8 << 20;
const READ_MIN = 128 << 10;
const READ_MAX = 256 << 10;
/** Bytes a run writer gathers before one write (frames larger than it are written on their own; see READ_BUDGET for the size). */
const WRITE_BUFFER = 256 << 10;

/** The read buffer of each of `runs` runs merged at once (see READ_BUDGET). */
function readShare(runs: number): number {
  return Math.max(READ_MIN, Math.min(READ_MAX, Math.floor(READ_BUDGET / Math.max(1, runs))));
}

/**
 * An 8-aligned copy of a misaligned shape-format payload (record-codec.ts reads the operations in place as
 * a Float64Array when aligned, else copies them into a fresh ArrayBuffer): one buffer, reused, since
 * decoding is synchronous and keeps nothing of its input.
 */
let scratch: Buffer | null = null;
function aligned(payload: Buffer): Buffer {
  if (payload.byteOffset % 8 === 0) return payload;
  if (payload.length > 1 << 20) return Buffer.from(payload);
  if (!scratch || scratch.length < payload.length) scratch = Buffer.allocUnsafeSlow(Math.max(payload.length, 64 << 10));
  payload.copy(scratch, 0);
  return scratch.subarray(0, payload.length);
}

/** Reads one run frame by frame through a buffer of its own (see READ_BUDGET), one decoded batch in memory. */
class RunReader {
  /** File offset of the next frame. */
  private pos = 0;
  private readonly buf: Buffer;
  /** File offset of buf[0], and the bytes of buf read from the file. */
  private bufAt = 0;
  private bufLen = 0;
  constructor(
    private readonly fd: number,
    private readonly run: Run,
    bufferBytes: number,
  ) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(8, Math.min(bufferBytes, run.bytes)));
  }

  /** The next batch, or null at the end of the run. */
  next(): Batch | null {
    const { path, bytes } = this.run;
    if (this.pos >= bytes) return null;
    const at = this.pos;
    let len: number;
    let payload: Buffer;
    try {
      if (bytes - at < 4) throw new Error(`the run ends ${bytes - at} bytes after the frame's start`);
      len = this.buf.readUInt32LE(this.window(at, 4));
      if (len === 0 || len > MAX_FRAME || at + 4 + len > bytes) throw new Error(`frame length ${len} does not fit the run (${bytes} bytes)`);
      if (4 + len <= this.buf.length) {
        const o = this.window(at, 4 + len) + 4;
        payload = this.buf.subarray(o, o + len);
      } else {
        payload = Buffer.allocUnsafeSlow(len);
        this.readFully(payload, len, at + 4);
      }
    } catch (err) {
      throw new SpillError(`record spill: could not read the batch at offset ${at} of ${path}: ${reason(err)}`, { cause: err });
    }
    this.pos = at + 4 + len;
    let b: unknown;
    try {
      // in place from the reused buffer only in the shape format (v8.deserialize may keep views into its input)
      b = decodeBatch(payload[0] === FORMAT_SHAPES ? aligned(payload) : Buffer.from(payload));
    } catch (err) {
      throw new SpillError(`record spill: the batch at offset ${at} of ${path} cannot be decoded: ${reason(err)}`, { cause: err });
    }
    const batch = b as Partial<Batch> | null;
    if (!batch || !Array.isArray(batch.s) || !Array.isArray(batch.r) || batch.s.length !== batch.r.length || batch.r.length === 0)
      throw new SpillError(`record spill: the batch at offset ${at} of ${path} is not a batch of records with their seqs`);
    return batch as Batch;
  }

  /** Where bytes [at, at + n) of the file are in the buffer (n ≤ its size), refilling it from `at` when they are not all there. */
  private window(at: number, n: number): number {
    if (at >= this.bufAt && at + n <= this.bufAt + this.bufLen) return at - this.bufAt;
    const want = Math.min(this.buf.length, this.run.bytes - at);
    this.bufAt = at;
    this.bufLen = 0;
    this.readFully(this.buf, want, at);
    this.bufLen = want;
    return 0;
  }

  private readFully(buf: Buffer, length: number, position: number): void {
    let off = 0;
    while (off < length) {
      const n = readSync(this.fd, buf, off, length - off, position + off);
      if (n === 0) throw new Error(`the file ends at offset ${position + off}, ${length - off} bytes short`);
      off += n;
    }
  }
}

/** A position in one sorted source (a run or the in-memory tail) during a merge. */
interface Cursor {
  recs: AccessRecord[];
  seqs: number[];
  i: number;
  /** Key of recs[i]. */
  t: number;
  seq: number;
  /** Added to seqs[i] (Run.base). */
  base: number;
  /** Loads the source's next batch (null: the source is done). */
  more: (() => Batch | null) | null;
}

function less(a: Cursor, b: Cursor): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

function siftDown(heap: Cursor[], i: number): void {
  const n = heap.length;
  const c = heap[i]!;
  for (;;) {
    let m = 2 * i + 1;
    if (m >= n) break;
    if (m + 1 < n && less(heap[m + 1]!, heap[m]!)) m++;
    if (!less(heap[m]!, c)) break;
    heap[i] = heap[m]!;
    i = m;
  }
  heap[i] = c;
}

function setKey(c: Cursor): void {
  c.t = timeKey(c.recs[c.i]!);
  c.seq = c.seqs[c.i]! + c.base;
}

/* ---- the spill ---- */

export class RecordSpill {
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly runBatch: number;
  private readonly fanIn: number;
  private readonly tmpRoot: string;
  private readonly runsIn: { dir: string; prefix: string } | null;

  private n = 0;
  private untimedCount = 0;
  private maxDuration = 0;

  /** Records not yet in a run, in seq order (seq of mem[0] = memBase). */
  private mem: AccessRecord[] = [];
  private memBase = 0;
  /** Records a run may be cut at (from maxBytes and the estimated record size). */
  private limit: number;
  private serializedBytes = 0;
  private serializedRecords = 0;

  private dir: string | null = null;
  private runs: Run[] = [];
  private runNo = 0;
  /** After seal: the in-memory records in canonical order, and their seqs. */
  private tail: { recs: AccessRecord[]; seqs: number[] | null } | null = null;
  private failure: SpillError | null = null;
  private closed = false;

  constructor(opts: RecordSpillOptions = {}) {
    this.maxRecords = Math.max(1, Math.floor(opts.maxRecords ?? DEFAULT_MAX_RECORDS));
    this.maxBytes = Math.max(1, opts.maxBytes ?? DEFAULT_MAX_BYTES);
    this.runBatch = Math.max(1, Math.floor(opts.runBatch ?? RUN_BATCH));
    this.fanIn = Math.max(2, Math.floor(opts.fanIn ?? FAN_IN));
    this.tmpRoot = opts.tmpRoot ?? tmpdir();
    if (opts.runsIn && !/^[\w.]+$/.test(opts.runsIn.prefix)) throw new Error(`record spill: run prefix ${JSON.stringify(opts.runsIn.prefix)}: expected letters, digits, '.', '_'`);
    this.runsIn = opts.runsIn ?? null;
    this.limit = this.maxRecords;
  }

  /** Records added. */
  get count(): number {
    return this.n;
  }

  /** Records added without a time (`timeMs` absent or not finite). */
  get untimed(): number {
    return this.untimedCount;
  }

  /** The largest finite `durationMs` added (0 when none). */
  get maxDurationMs(): number {
    return this.maxDuration;
  }

  /** Runs written to disk so far (0: every record is in memory). */
  get runCount(): number {
    return this.runs.length;
  }

  /** The private temporary directory, once a run was written or a scratch file asked for (null before, and after close). */
  get directory(): string | null {
    return this.dir;
  }

  /**
   * A path for a scratch file of the caller's (a report pass's side log: side-log.ts) in the spill's private
   * temporary directory (made when needed), removed with it by `close()` and on exit. `name`: a plain file
   * name, unique among the caller's.
   */
  scratchFile(name: string): string {
    if (this.closed) throw new Error('record spill: scratchFile after close');
    if (!/^[\w.-]+$/.test(name) || name.startsWith('run-')) throw new Error(`record spill: scratch file name ${JSON.stringify(name)}: expected letters, digits, '.', '-', '_', not starting with run-`);
    return join(this.ensureDir(), name);
  }

  /**
   * Adds the next record (its seq is the number of records added before it). The spill owns it from
   * now on: do not change it. Throws when a run could not be written (SpillError, one line).
   */
  add(r: AccessRecord): void {
    if (this.failure) throw this.failure;
    if (this.tail || this.closed) throw new Error(`record spill: add after ${this.closed ? 'close' : 'seal'}`);
    this.n++;
    if (!isTimed(r)) this.untimedCount++;
    const d = r.durationMs;
    if (typeof d === 'number' && Number.isFinite(d) && d > this.maxDuration) this.maxDuration = d;
    const mem = this.mem;
    mem.push(r);
    if (mem.length === SAMPLE && this.serializedRecords === 0) this.estimate(encodeBatch(mem).length, SAMPLE);
    if (mem.length >= this.limit) this.writeRun();
  }

  /** Takes a measured serialized size into the per-record estimate and sets the in-memory limit from it. */
  private estimate(bytes: number, records: number): void {
    this.serializedBytes += bytes;
    this.serializedRecords += records;
    const per = this.serializedBytes / this.serializedRecords;
    this.limit = Math.max(1, Math.min(this.maxRecords, Math.floor(this.maxBytes / Math.max(1, per))));
  }

  /**
   * The private temporary directory (made when needed), for writers of runs this spill will adopt
   * (RecordSpillOptions.runsIn).
   */
  runDirectory(): string {
    if (this.closed) throw new Error('record spill: runDirectory after close');
    if (this.runsIn) throw new Error('record spill: runDirectory of a spill writing into another one\'s');
    return this.ensureDir();
  }

  /**
   * Adopts runs written into this spill's directory by another spill (`runsIn`, `handOver()`, e.g. in a worker
   * thread) as if their records had been added here now, in their order: the records added so far are
   * written out first, then each adopted record's seq is this spill's count before it plus its own seq.
   * Throws (one line) when a run is not a file of this spill's directory or its counts do not add up.
   */
  adopt(h: HandedRuns): void {
    if (this.failure) throw this.failure;
    if (this.tail || this.closed) throw new Error(`record spill: adopt after ${this.closed ? 'close' : 'seal'}`);
    const dir = this.ensureDir();
    let sum = 0;
    for (const r of h.runs) {
      if (dirname(r.path) !== dir || !basename(r.path).startsWith('run-')) throw new SpillError(`record spill: cannot adopt ${r.path}: not a run of ${dir}`);
      sum += r.count;
    }
    if (sum !== h.count) throw new SpillError(`record spill: cannot adopt runs of ${sum} record(s) said to hold ${h.count}`);
    if (h.count === 0) return;
    this.writeRun();
    const base = this.n;
    for (const r of h.runs) if (r.count > 0) this.runs.push({ path: r.path, bytes: r.bytes, count: r.count, base });
    this.n += h.count;
    this.memBase = this.n;
    this.untimedCount += h.untimed;
    if (h.maxDurationMs > this.maxDuration) this.maxDuration = h.maxDurationMs;
  }

  /**
   * Of a spill made with `runsIn`: writes the records still in memory as a run and hands every run over
   * (to the directory owner's `adopt`). Nothing can be added after.
   */
  handOver(): HandedRuns {
    if (this.failure) throw this.failure;
    if (!this.runsIn) throw new Error('record spill: handOver of a spill that owns its runs (made without runsIn)');
    if (this.tail || this.closed) throw new Error(`record spill: handOver after ${this.closed ? 'close' : 'seal or handOver'}`);
    this.writeRun();
    const out: HandedRuns = { runs: this.runs.map((r) => ({ path: r.path, bytes: r.bytes, count: r.count })), count: this.n, untimed: this.untimedCount, maxDurationMs: this.maxDuration };
    this.runs = [];
    this.closed = true;
    return out;
  }

  private ensureDir(): string {
    if (this.dir) return this.dir;
    if (this.runsIn) return (this.dir = this.runsIn.dir);
    let dir: string;
    try {
      dir = mkdtempSync(join(this.tmpRoot, 'meshsleuth-spill-'));
    } catch (err) {
      throw (this.failure = new SpillError(`record spill: could not make a temporary directory in ${this.tmpRoot}: ${reason(err)}`, { cause: err }));
    }
    registerDir(dir);
    this.dir = dir;
    return dir;
  }

  /** The in-memory records in canonical order with their seqs. */
  private sortedMem(): { recs: AccessRecord[]; seqs: number[] } {
    const mem = this.mem;
    const base = this.memBase;
    const keys = new Float64Array(mem.length);
    for (let i = 0; i < mem.length; i++) keys[i] = timeKey(mem[i]!);
    const idx = new Array<number>(mem.length);
    for (let i = 0; i < mem.length; i++) idx[i] = i;
    idx.sort((a, b) => keys[a]! - keys[b]! || a - b);
    // (Infinity - Infinity is NaN, falsy: two untimed records fall through to their index)
    const recs = new Array<AccessRecord>(mem.length);
    const seqs = new Array<number>(mem.length);
    for (let i = 0; i < idx.length; i++) {
      recs[i] = mem[idx[i]!]!;
      seqs[i] = base + idx[i]!;
    }
    return { recs, seqs };
  }

  /** Sorts the in-memory records and writes them as a run. */
  private writeRun(): void {
    if (this.mem.length === 0) return;
    const { recs, seqs } = this.sortedMem();
    this.memBase += this.mem.length;
    this.mem = [];
    const w = this.openRun();
    let bytes = 0;
    try {
      for (let i = 0; i < recs.length; i += this.runBatch) bytes += w.write({ s: seqs.slice(i, i + this.runBatch), r: recs.slice(i, i + this.runBatch) });
    } finally {
      w.close();
    }
    this.estimate(bytes, recs.length);
  }

  /** A new run file, written with positional synchronous writes a WRITE_BUFFER at a time (memory holds it and one serialized batch). */
  private openRun(): { write(b: Batch): number; close(): void; run: Run } {
    const dir = this.ensureDir();
    const path = join(dir, this.runsIn ? `run-${this.runsIn.prefix}-${this.runNo++}.bin` : `run-${this.runNo++}.bin`);
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      throw (this.failure = new SpillError(`record spill: could not create ${path}: ${reason(err)}`, { cause: err }));
    }
    const run: Run = { path, bytes: 0, count: 0, base: 0 };
    let open = true;
    const fail = (what: string, err: unknown): SpillError => {
      this.failure = new SpillError(`record spill: ${what} ${path}: ${reason(err)}`, { cause: err });
      return this.failure;
    };
    // frames gathered into one buffer, written when the next would not fit and at close
    const out = Buffer.allocUnsafeSlow(WRITE_BUFFER);
    let fill = 0;
    /** Bytes on disk (the file offset of out[0]). */
    let written = 0;
    const flush = (): void => {
      if (fill === 0) return;
      try {
        writeAll(fd, out.subarray(0, fill), written);
      } catch (err) {
        throw fail(`could not write ${fill} bytes at offset ${written} of`, err);
      }
      written += fill;
      fill = 0;
    };
    return {
      run,
      write: (b: Batch): number => {
        const payload = encodeBatch(b);
        const n = payload.length + 4;
        if (fill + n > out.length) flush();
        if (n > out.length) {
          // larger than the buffer: on its own
          const head = Buffer.allocUnsafe(4);
          head.writeUInt32LE(payload.length, 0);
          try {
            writeAll(fd, head, written);
            writeAll(fd, payload, written + 4);
          } catch (err) {
            throw fail(`could not write ${n} bytes at offset ${written} of`, err);
          }
          written += n;
        } else {
          out.writeUInt32LE(payload.length, fill);
          payload.copy(out, fill + 4);
          fill += n;
        }
        run.bytes += n;
        run.count += b.r.length;
        return n;
      },
      close: (): void => {
        if (!open) return;
        open = false;
        try {
          if (!this.failure) flush();
        } finally {
          try {
            closeSync(fd);
          } catch (err) {
            if (!this.failure) throw fail('could not close', err);
          }
        }
        if (!this.failure) this.runs.push(run);
      },
    };
  }

  /**
   * Ends adding: sorts the records still in memory and, when more than `fanIn` runs were written,
   * merges runs until a pass merges at most that many. Rejects (one line) when a write failed.
   * `settle`: called once on each record the spill keeps in memory from now on (not on those written to runs),
   * before any pass: for records added in a form made for runs (e.g. RecordCompactor.compactShared, finished by
   * RecordCompactor.settle); it must change no value the record carries (it may replace a record's objects).
   */
  async seal(settle?: (r: AccessRecord) => unknown): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('record spill: seal after close');
    if (this.tail) return;
    if (settle) for (const r of this.mem) settle(r);
    if (this.runs.length === 0) {
      // no run: the records stay where they are, sorted in place (seq = index before the sort)
      this.tail = { recs: canonicalOrder(this.mem), seqs: null };
      this.mem = [];
      return;
    }
    const t = this.sortedMem();
    this.mem = [];
    this.tail = t;
    while (this.runs.length > this.fanIn) {
      const group = this.runs.slice(0, this.fanIn);
      const w = this.openRun();
      try {
        for await (const b of this.merge(group, null, this.runBatch, true)) w.write(b);
      } finally {
        w.close();
      }
      // openRun's close pushed the merged run last; the merged ones go
      this.runs = this.runs.slice(this.fanIn);
      for (const r of group) rmSync(r.path, { force: true });
    }
  }

  /**
   * The records in canonical order, `size` at a time (the last batch may be shorter). Every call starts
   * from the first record (runs are re-read). Rejects (one line) when a run cannot be read.
   */
  async *batches(size = READ_BATCH): AsyncGenerator<AccessRecord[]> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('record spill: batches after close');
    if (!this.tail) throw new Error('record spill: batches before seal');
    const n = Math.max(1, Math.floor(size));
    if (this.runs.length === 0) {
      const recs = this.tail.recs;
      if (recs.length <= n) {
        if (recs.length) yield recs.slice();
        return;
      }
      for (let i = 0; i < recs.length; i += n) yield recs.slice(i, i + n);
      return;
    }
    for await (const b of this.merge(this.runs, this.tail as { recs: AccessRecord[]; seqs: number[] }, n, false)) yield b.r;
  }

  /** K-way merge of runs (and the sorted in-memory tail), `size` records (and their seqs when asked) at a time. */
  private async *merge(runs: Run[], tail: { recs: AccessRecord[]; seqs: number[] } | null, size: number, withSeqs: boolean): AsyncGenerator<Batch> {
    const fds: number[] = [];
    try {
      const heap: Cursor[] = [];
      const share = readShare(runs.length);
      for (const run of runs) {
        let fd: number;
        try {
          fd = openSync(run.path, 'r');
        } catch (err) {
          throw new SpillError(`record spill: could not open ${run.path}: ${reason(err)}`, { cause: err });
        }
        fds.push(fd);
        const reader = new RunReader(fd, run, share);
        const first = reader.next();
        if (!first) continue;
        const c: Cursor = { recs: first.r, seqs: first.s, i: 0, t: 0, seq: 0, base: run.base, more: () => reader.next() };
        setKey(c);
        heap.push(c);
      }
      if (tail && tail.recs.length) {
        const c: Cursor = { recs: tail.recs, seqs: tail.seqs, i: 0, t: 0, seq: 0, base: 0, more: null };
        setKey(c);
        heap.push(c);
      }
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
      let out: AccessRecord[] = [];
      let outSeqs: number[] = [];
      while (heap.length) {
        const c = heap[0]!;
        out.push(c.recs[c.i]!);
        if (withSeqs) outSeqs.push(c.seq);
        if (++c.i < c.recs.length) {
          setKey(c);
          siftDown(heap, 0);
        } else {
          const b = c.more ? c.more() : null;
          if (b) {
            c.recs = b.r;
            c.seqs = b.s;
            c.i = 0;
            setKey(c);
            siftDown(heap, 0);
          } else {
            const last = heap.pop()!;
            if (heap.length) {
              heap[0] = last;
              siftDown(heap, 0);
            }
          }
        }
        if (out.length >= size) {
          yield { r: out, s: outSeqs };
          out = [];
          outSeqs = [];
        }
      }
      if (out.length) yield { r: out, s: outSeqs };
    } finally {
      for (const fd of fds) {
        try {
          closeSync(fd);
        } catch {
          // (read only: nothing is lost; the directory goes at close())
        }
      }
    }
  }

  /** Removes the temporary directory (always call, also after an error; calling again does nothing). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mem = [];
    this.tail = null;
    this.runs = [];
    const dir = this.dir;
    this.dir = null;
    // (a spill writing into another's directory leaves it to its owner)
    if (dir && !this.runsIn) releaseDir(dir);
  }
}

/** Writes all of `buf` at `position` (writeSync may write less than asked). */
function writeAll(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, position + off);
}
