/**
 * The ALS collector's output side: entries received by the gRPC server are queued, explained against the
 * config (when given) off the receive path, and written as NDJSON in arrival order.
 */
import type { WriteStream } from 'node:fs';
import type { JsonValue } from '../model/attrs.js';
import { alsLineToRecord, MAX_LOG_LINE_LENGTH, type AlsLine } from '../readers/accesslog/als.js';
import { explainRecord, type Decider } from './explain.js';

/** Queued entries at which the collector's streams pause, and the level at which they resume. */
const HIGH_WATER = 10_000;
const LOW_WATER = 1_000;

/**
 * Where received entries go: a queue drained off the gRPC receive path (explaining an entry is much slower than
 * receiving it), written in order, with backpressure from both the queue and the output stream. Nothing queued
 * is dropped: `close()` drains the queue before ending the output.
 */
export class EntrySink {
  written = 0;
  /** Entries whose JSON line is longer than the readers accept (MAX_LOG_LINE_LENGTH). */
  tooLong = 0;
  error: Error | null = null;
  onError: (err: Error) => void = () => undefined;
  onTooLong: (line: AlsLine, length: number) => void = () => undefined;
  private queue: AlsLine[] = [];
  private head = 0;
  private scheduled = false;
  private outBlocked = false;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];

  constructor(
    private readonly out: WriteStream | NodeJS.WriteStream,
    private readonly decide: Decider | null,
  ) {
    out.on('error', (e: Error) => this.fail(e));
    out.on('drain', () => {
      this.outBlocked = false;
      this.schedule();
    });
  }

  push(line: AlsLine): void {
    if (this.error) return;
    this.queue.push(line);
    this.schedule();
  }

  /** A promise while too much is queued or the output is blocked; null otherwise. */
  pressure(): Promise<void> | null {
    if (this.error || (this.pending() < HIGH_WATER && !this.outBlocked)) return null;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drains everything queued, then ends the output (a file) or flushes it (stdout). */
  async close(): Promise<void> {
    while (this.pending() > 0 && !this.error) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.out === process.stdout) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    else await new Promise<void>((resolve) => (this.out as WriteStream).end(resolve));
  }

  private pending(): number {
    return this.queue.length - this.head;
  }

  private schedule(): void {
    if (this.scheduled || this.outBlocked || this.error) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const until = Date.now() + 20; // give the receive path a turn every 20 ms
    while (this.pending() > 0 && !this.outBlocked && !this.error && Date.now() < until) {
      const line = this.queue[this.head++]!;
      this.write(line);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.pending() < LOW_WATER && !this.outBlocked) this.release(this.waiters);
    if (this.pending() === 0) this.release(this.idle);
    else this.schedule();
  }

  private write(line: AlsLine): void {
    if (this.decide) {
      try {
        const e = explainRecord(alsLineToRecord(line, { file: 'als' }), this.decide);
        line.explanation = {
          verdict: e.verdict,
          reason: e.reason,
          decision: e.decision?.decision ?? null,
          policy: e.decision?.policy ?? null,
          logged: e.logged ?? null,
          security: e.security ?? null,
        };
      } catch (err) {
        // The entry is still written: what cannot be explained now can be looked at later.
        line.explanation = { verdict: 'error', reason: (err as Error).message } as Record<string, JsonValue>;
      }
    }
    const text = JSON.stringify(line);
    if (text.length > MAX_LOG_LINE_LENGTH) {
      // explain and report could not read it back: said and counted instead
      this.tooLong++;
      this.onTooLong(line, text.length);
      return;
    }
    const ok = this.out.write(text + '\n', (err) => {
      if (err) this.fail(err);
      else this.written++;
    });
    if (!ok) this.outBlocked = true;
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.release(this.waiters);
    this.release(this.idle);
    this.onError(err);
  }

  private release(list: (() => void)[]): void {
    for (const r of list.splice(0)) r();
  }
}

