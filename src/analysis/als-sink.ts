/**
 * The ALS collector's output side: entries received by the gRPC server are queued, explained against the
 * config (when given) off the receive path, and written as NDJSON in arrival order.
 */
import { close, write, type WriteStream } from 'node:fs';
import type { JsonValue } from '../model/attrs.js';
import { alsLineToRecord, MAX_LOG_LINE_LENGTH, type AlsLine } from '../readers/accesslog/als.js';
import { explainRecord, type Decider } from './explain.js';

/** Queued entries at which the collector's streams pause, and the level at which they resume. */
const HIGH_WATER = 10_000;
const LOW_WATER = 1_000;

/** Entries per batch handed to the explainer, and batches in its hands at once. */
const EXPLAIN_BATCH = 128;
const EXPLAIN_IN_FLIGHT = 4;

/**
 * An output file opened for appending (`fd`), written with the fs calls themselves so that what it received is
 * known exactly: `written` counts the lines whose every byte, newline included, a write acknowledged (a short
 * write counts what it took), and after a failed write `partialBytes` says how much of the next line the file
 * holds. (A WriteStream reports a batch written together as failed as a whole, even when part of it is on disk.)
 */
export class AppendFile {
  /** Complete lines on disk. */
  written = 0;
  /** Bytes of a line the file received only in part (non-zero only after a failed write). */
  partialBytes = 0;
  error: Error | null = null;
  onError: (err: Error) => void = () => undefined;
  onDrain: () => void = () => undefined;
  /** After a write acknowledged one or more complete lines. */
  onWritten: () => void = () => undefined;
  private pending: string[] = [];
  private pendingChars = 0;
  /** Characters handed to the current write. */
  private writingChars = 0;
  private writing = false;
  private needDrain = false;
  private closed = false;
  private ended: (() => void)[] = [];
  /** Bytes acknowledged since the last newline. */
  private tail = 0;

  constructor(
    private readonly fd: number,
    /** Queued characters at which write() asks the caller to wait for onDrain. */
    private readonly highWater = 256 * 1024,
  ) {}

  /** Queues one line (its newline is added); false when the caller should wait for onDrain. */
  write(line: string): boolean {
    if (this.error || this.closed) return false;
    this.pending.push(line, '\n');
    this.pendingChars += line.length + 1;
    if (!this.writing) this.flush();
    if (this.pendingChars + this.writingChars >= this.highWater) this.needDrain = true;
    return !this.needDrain;
  }

  /** Writes what is queued, then closes the file (also after an error). */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ended.push(resolve);
      if (!this.writing) this.finish();
    });
  }

  private flush(): void {
    if (!this.pending.length || this.error) {
      this.writing = false;
      this.writingChars = 0;
      if (this.ended.length) this.finish();
      return;
    }
    const buf = Buffer.from(this.pending.join(''), 'utf8');
    this.writingChars = this.pendingChars;
    this.pending = [];
    this.pendingChars = 0;
    this.writing = true;
    this.writeFrom(buf, 0);
  }

  private writeFrom(buf: Buffer, offset: number): void {
    write(this.fd, buf, offset, buf.length - offset, null, (err, n) => {
      if (err) {
        this.partialBytes = this.tail;
        this.writing = false;
        this.fail(err);
        return;
      }
      const before = this.written;
      this.acknowledge(buf, offset, offset + n);
      if (this.written !== before) this.onWritten();
      if (offset + n < buf.length) {
        // a short write (e.g. the disk filled up): the rest goes in the next call, which says why it cannot
        this.writeFrom(buf, offset + n);
        return;
      }
      this.flush();
      if (this.needDrain && this.pendingChars + this.writingChars < this.highWater / 2) {
        this.needDrain = false;
        this.onDrain();
      }
    });
  }

  /** Counts the newlines in the bytes [from, to) of `buf` a write acknowledged. */
  private acknowledge(buf: Buffer, from: number, to: number): void {
    let last = -1;
    for (let i = buf.indexOf(10, from); i !== -1 && i < to; i = buf.indexOf(10, i + 1)) {
      this.written++;
      last = i;
    }
    this.tail = last === -1 ? this.tail + (to - from) : to - last - 1;
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.pending = [];
    this.pendingChars = 0;
    this.onError(err);
    if (this.ended.length) this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd, () => {
      for (const r of this.ended.splice(0)) r();
    });
  }
}

/** Where lines go: a file opened by `collect` (AppendFile), or a stream (stdout). */
export type LineOutput = AppendFile | WriteStream | NodeJS.WriteStream;

/** One entry to explain: the line as received and its JSON text (what is written). */
export interface ToExplain {
  line: AlsLine;
  text: string;
}

/**
 * Explains batches of entries, in order: for each entry, the JSON text of its `explanation` member (never
 * fails: an entry that cannot be explained gets verdict "error"). A worker thread's explainer (src/cli)
 * answers asynchronously; `inThreadExplainer` at once.
 */
export interface Explainer {
  explain(batch: ToExplain[]): Promise<string[]>;
  close(): Promise<void>;
}

/** The `explanation` member of one collected entry (JSON text), explained over `decide`. */
export function explanationText(line: AlsLine, decide: Decider): string {
  let x: Record<string, JsonValue>;
  try {
    const e = explainRecord(alsLineToRecord(line, { file: 'als' }), decide);
    x = {
      verdict: e.verdict,
      reason: e.reason,
      decision: e.decision?.decision ?? null,
      policy: e.decision?.policy ?? null,
      logged: e.logged ?? null,
      security: e.security ?? null,
    };
  } catch (err) {
    // The entry is still written: what cannot be explained now can be looked at later.
    x = { verdict: 'error', reason: (err as Error).message };
  }
  return JSON.stringify(x);
}

/** Explains on the calling thread (the fallback when no worker thread can run, and the benches). */
export function inThreadExplainer(decide: Decider): Explainer {
  return {
    explain: (batch) => Promise.resolve(batch.map((b) => explanationText(b.line, decide))),
    close: () => Promise.resolve(),
  };
}

interface Batch {
  items: ToExplain[];
  explanations: string[] | null;
}

/**
 * Where received entries go: a queue drained off the gRPC receive path, explained (when there is an explainer)
 * in batches — on a worker thread, so receiving and writing go on while entries are explained — and written in
 * order, with backpressure from the queue, the explainer and the output. Nothing queued is dropped: `close()`
 * drains the queue and every batch being explained before ending the output.
 */
export class EntrySink {
  /** Entries whose JSON line is longer than the readers accept (MAX_LOG_LINE_LENGTH). */
  tooLong = 0;
  error: Error | null = null;
  onError: (err: Error) => void = () => undefined;
  onTooLong: (line: AlsLine, length: number) => void = () => undefined;
  private queue: AlsLine[] = [];
  private head = 0;
  /** Batches being explained (or explained and waiting for the output), in order. */
  private batches: Batch[] = [];
  private inBatches = 0;
  private scheduled = false;
  private outBlocked = false;
  /** Entries handed to a stream output whose write callback has not come (stdout). */
  private streamWritten = 0;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  /** Entries pushed so far, and the callers waiting until the first `n` are written (or the output failed). */
  private pushed = 0;
  private barriers: { n: number; resolve: () => void }[] = [];
  private readonly explainer: Explainer | null;

  constructor(
    private readonly out: LineOutput,
    explain: Explainer | Decider | null,
  ) {
    this.explainer = explain === null ? null : typeof explain === 'function' ? inThreadExplainer(explain) : explain;
    if (out instanceof AppendFile) {
      out.onError = (e) => this.fail(e);
      out.onDrain = () => this.unblock();
      out.onWritten = () => this.settle();
    } else {
      out.on('error', (e: Error) => this.fail(e));
      out.on('drain', () => this.unblock());
    }
  }

  /** Entries the output received in full: for a file, the complete lines its writes acknowledged. */
  get written(): number {
    return this.out instanceof AppendFile ? this.out.written : this.streamWritten;
  }

  /** Bytes of one more entry the output file holds in part (after a failed write), else 0. */
  get partialBytes(): number {
    return this.out instanceof AppendFile ? this.out.partialBytes : 0;
  }

  push(line: AlsLine): void {
    if (this.error) return;
    this.pushed++;
    this.queue.push(line);
    this.schedule();
  }

  /**
   * A promise that settles when every entry pushed so far is in the output (written in full, or counted as too
   * long to write) or the output has failed; null when that is already so. The collector acknowledges the end of
   * a stream only then, so an OK status means the client's entries are stored.
   */
  settled(): Promise<void> | null {
    if (this.error || this.written + this.tooLong >= this.pushed) return null;
    return new Promise((resolve) => this.barriers.push({ n: this.pushed, resolve }));
  }

  /** A promise while too much is queued or the output is blocked; null otherwise. */
  pressure(): Promise<void> | null {
    if (this.error || (this.pending() < HIGH_WATER && !this.outBlocked)) return null;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drains everything queued (explained, when explaining), then ends the output (a file) or flushes it (stdout). */
  async close(): Promise<void> {
    while (this.pending() > 0 && !this.error) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
      this.schedule();
    }
    await this.explainer?.close();
    if (this.out instanceof AppendFile) await this.out.end();
    else if (this.out === process.stdout) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    else await new Promise<void>((resolve) => (this.out as WriteStream).end(resolve));
  }

  private pending(): number {
    return this.queue.length - this.head + this.inBatches;
  }

  private settle(): void {
    const done = this.written + this.tooLong;
    while (this.barriers.length && this.barriers[0]!.n <= done) this.barriers.shift()!.resolve();
  }

  private unblock(): void {
    this.outBlocked = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.outBlocked || this.error) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const until = Date.now() + 20; // give the receive path a turn every 20 ms
    let progress = true;
    while (progress && !this.outBlocked && !this.error && Date.now() < until) {
      progress = false;
      // explained batches first, in order
      while (this.batches.length && this.batches[0]!.explanations && !this.outBlocked && !this.error) {
        const b = this.batches.shift()!;
        this.inBatches -= b.items.length;
        const ex = b.explanations!;
        for (let i = 0; i < b.items.length; i++) this.write(b.items[i]!.line, b.items[i]!.text.slice(0, -1) + ',"explanation":' + ex[i] + '}');
        progress = true;
      }
      if (this.outBlocked) break;
      if (!this.explainer) {
        for (let n = 0; n < 256 && this.head < this.queue.length && !this.outBlocked && !this.error; n++) {
          const line = this.queue[this.head++]!;
          this.write(line, JSON.stringify(line));
          progress = true;
        }
      } else if (this.batches.length < EXPLAIN_IN_FLIGHT && this.head < this.queue.length) {
        // a full batch, or what is queued (no entry waits for company)
        const items: ToExplain[] = [];
        while (items.length < EXPLAIN_BATCH && this.head < this.queue.length) {
          const line = this.queue[this.head++]!;
          items.push({ line, text: JSON.stringify(line) });
        }
        this.submit(items);
        progress = true;
      }
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.pending() < LOW_WATER && !this.outBlocked) this.release(this.waiters);
    if (this.pending() === 0) this.release(this.idle);
    else if (this.canProgress()) this.schedule();
  }

  /** Whether a drain now would do anything (else an explained batch or the output's drain schedules one). */
  private canProgress(): boolean {
    if (this.outBlocked || this.error) return false;
    if (this.batches[0]?.explanations) return true;
    return this.head < this.queue.length && (!this.explainer || this.batches.length < EXPLAIN_IN_FLIGHT);
  }

  private submit(items: ToExplain[]): void {
    const batch: Batch = { items, explanations: null };
    this.batches.push(batch);
    this.inBatches += items.length;
    this.explainer!.explain(items).then(
      (ex) => {
        batch.explanations = ex;
        this.schedule();
      },
      (err: Error) => this.fail(err),
    );
  }

  private write(line: AlsLine, text: string): void {
    if (text.length > MAX_LOG_LINE_LENGTH) {
      // explain and report could not read it back: said and counted instead
      this.tooLong++;
      this.onTooLong(line, text.length);
      this.settle();
      return;
    }
    if (this.out instanceof AppendFile) {
      if (!this.out.write(text)) this.outBlocked = true;
      return;
    }
    const ok = this.out.write(text + '\n', (err) => {
      if (err) this.fail(err);
      else {
        this.streamWritten++;
        this.settle();
      }
    });
    if (!ok) this.outBlocked = true;
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.release(this.waiters);
    this.release(this.idle);
    this.onError(err);
    for (const b of this.barriers.splice(0)) b.resolve();
  }

  private release(list: (() => void)[]): void {
    for (const r of list.splice(0)) r();
  }
}
