/**
 * What one report pass learned about each record, for the next passes to read instead of working it out
 * again (issue 17, report speed): a sequence of fixed-width rows of 32-bit integers, one row per record in
 * the order the pass met them (canonical order), written once and read back front to back, as many times
 * as asked.
 *
 * Memory stays flat in the number of records: rows go to a file (`path`, in the record spill's private
 * temporary directory, removed with it: record-spill.ts `scratchFile`) a chunk at a time, and a reader
 * holds one chunk. Without a path (a record source that offers no scratch space) the rows stay in memory,
 * `width` × 4 bytes per record.
 *
 * Errors are never silent: a failed write or read throws one line naming the file, the offset and what
 * failed (a SpillError, as the spill's own: the temporary disk's trouble, not a bug).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { SpillError } from './record-spill.js';

/** Rows per chunk written or read at once. */
const CHUNK_ROWS = 4096;


function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

export class SideLog {
  private rows = 0;
  private chunk: Int32Array;
  /** Words filled in `chunk`. */
  private fill = 0;
  private fd: number | null = null;
  private bytes = 0;
  /** Without a file: every chunk written, in order. */
  private readonly mem: Int32Array[] = [];
  private sealed = false;

  /** `width`: integers per row; `path`: the file the rows go to (created, 0600), or null to keep them in memory. */
  constructor(
    readonly width: number,
    private readonly path: string | null,
  ) {
    this.chunk = new Int32Array(width * CHUNK_ROWS);
    if (path !== null) {
      try {
        this.fd = openSync(path, 'wx', 0o600);
      } catch (err) {
        throw new SpillError(`report side log: could not create ${path}: ${reason(err)}`, { cause: err });
      }
    }
  }

  /** Rows written. */
  get count(): number {
    return this.rows;
  }

  /** Sets word `i` of the row being written (every word starts at 0); `next()` ends the row. */
  set(i: number, v: number): void {
    this.chunk[this.fill + i] = v;
  }

  /** Ends the current row. */
  next(): void {
    if (this.sealed) throw new Error('report side log: write after seal');
    this.rows++;
    this.fill += this.width;
    if (this.fill === this.chunk.length) this.flush();
  }

  private flush(): void {
    if (this.fill === 0) return;
    const words = this.chunk.subarray(0, this.fill);
    if (this.fd === null) {
      this.mem.push(words.slice());
    } else {
      const buf = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
      let off = 0;
      try {
        while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off, this.bytes + off);
      } catch (err) {
        throw new SpillError(`report side log: could not write ${buf.length} bytes at offset ${this.bytes + off} of ${this.path}: ${reason(err)}`, { cause: err });
      }
      this.bytes += buf.length;
    }
    this.chunk.fill(0);
    this.fill = 0;
  }

  /** Ends writing (the rows can be read from now on). */
  seal(): void {
    if (this.sealed) return;
    this.flush();
    this.sealed = true;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      try {
        closeSync(fd);
      } catch (err) {
        throw new SpillError(`report side log: could not close ${this.path}: ${reason(err)}`, { cause: err });
      }
    }
  }

  /** A reader from the first row (call after `seal`); `close()` it when done. */
  reader(): SideLogReader {
    if (!this.sealed) throw new Error('report side log: read before seal');
    return new SideLogReader(this.width, this.rows, this.path, this.mem);
  }
}

/** Reads a sealed SideLog's rows front to back: `next()` returns the next row (valid until the following call). */
export class SideLogReader {
  private chunk: Int32Array;
  private at = 0;
  private fill = 0;
  private read = 0;
  private fd: number | null = null;
  private bytes = 0;
  private memIndex = 0;

  constructor(
    private readonly width: number,
    private readonly rows: number,
    private readonly path: string | null,
    private readonly mem: Int32Array[],
  ) {
    this.chunk = new Int32Array(width * CHUNK_ROWS);
    if (path !== null) {
      try {
        this.fd = openSync(path, 'r');
      } catch (err) {
        throw new SpillError(`report side log: could not open ${path}: ${reason(err)}`, { cause: err });
      }
    }
  }

  /** Rows not read yet. */
  get left(): number {
    return this.rows - this.read;
  }

  /** The next row (a view into the reader's chunk, valid until the next call). */
  next(): Int32Array {
    if (this.read >= this.rows) throw new Error(`report side log: read past its ${this.rows} rows`);
    if (this.at === this.fill) this.load();
    const row = this.chunk.subarray(this.at, this.at + this.width);
    this.at += this.width;
    this.read++;
    return row;
  }

  private load(): void {
    this.at = 0;
    if (this.fd === null) {
      const c = this.mem[this.memIndex++]!;
      this.chunk = c;
      this.fill = c.length;
      return;
    }
    const want = Math.min(this.chunk.length, (this.rows - this.read) * this.width) * 4;
    const buf = Buffer.from(this.chunk.buffer, this.chunk.byteOffset, want);
    let off = 0;
    try {
      while (off < want) {
        const n = readSync(this.fd, buf, off, want - off, this.bytes + off);
        if (n === 0) throw new Error(`file ends, ${want - off} bytes short`);
        off += n;
      }
    } catch (err) {
      throw new SpillError(`report side log: could not read ${want} bytes at offset ${this.bytes + off} of ${this.path}: ${reason(err)}`, { cause: err });
    }
    this.bytes += want;
    this.fill = want / 4;
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
