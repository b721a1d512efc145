/**
 * Progress for long commands, on stderr and only when stderr is a terminal (DESIGN.md: progress only on a
 * TTY): one line, redrawn at most ~10 times a second, with the bytes read of the inputs whose size is known
 * (and the percentage and an ETA from them), records per second and the elapsed time; cleared when the
 * command ends or before anything else is written to stderr. Nothing at all when stderr is a pipe or a
 * file, or with `-q`, or with MESHSLEUTH_PROGRESS=0.
 *
 * Commands opt in with `startProgress(...)` and call `update(...)` as often as they like (the module
 * throttles); `clear()` before writing a warning, `done()` at the end.
 */

import { isQuiet } from './common.js';

/** Where progress is drawn (process.stderr; tests pass a fake). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  /** What is being done: "flows", "explain", "report". */
  label: string;
  /** Total bytes of the inputs when every one has a known size (regular files, not stdin/compressed); else null. */
  totalBytes?: number | null;
  /** What a record is called in the rate ("frames", "records", "pairs"). */
  unit?: string;
  /** Total records when known up front (e.g. reach's pairs): gives a percentage without bytes. */
  totalRecords?: number | null;
}

export interface ProgressUpdate {
  /** Bytes read so far across the inputs (same basis as totalBytes). */
  bytes?: number;
  /** Records (frames, log records, pairs) processed so far. */
  records?: number;
  /** Short detail, e.g. the step being done (after the label). */
  detail?: string;
  /** Shown last, after the ETA (e.g. the file being read, the ETA of all steps); cut first when the line is too long. */
  note?: string;
}

/** The minimum time between two redraws (≤ 10 per second). */
export const REDRAW_MS = 100;

/** Forced quiet (tests); otherwise the shell's `-q/--quiet` (common.ts isQuiet) decides. */
let quiet = false;

export function setProgressQuiet(q: boolean): void {
  quiet = q;
}

export interface Progress {
  update(u: ProgressUpdate): void;
  /**
   * A new step with its own totals (e.g. report's passes over the records): bytes, records, detail and note
   * start again, and so do the clock its rate and ETA are measured on; drawn at the next update.
   */
  phase(opts: ProgressOptions): void;
  /** Removes the line (before a warning is written); the next update draws it again. */
  clear(): void;
  /** Removes the line for good. */
  done(): void;
  /** True when this progress draws anything (stderr is a TTY, not quiet). */
  readonly active: boolean;
}

const NOOP: Progress = { update: () => undefined, phase: () => undefined, clear: () => undefined, done: () => undefined, active: false };

export function progressEnabled(stream: ProgressStream = process.stderr): boolean {
  return stream.isTTY === true && !quiet && !isQuiet() && process.env.MESHSLEUTH_PROGRESS !== '0';
}

/** A progress line for one command; a no-op when progress is not shown. */
export function startProgress(opts: ProgressOptions, stream: ProgressStream = process.stderr, now: () => number = Date.now): Progress {
  if (!progressEnabled(stream)) return NOOP;
  return new TtyProgress(opts, stream, now);
}

export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(1)}M`;
  if (perSec >= 1e4) return `${Math.round(perSec / 1e3)}k`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}k`;
  return `${Math.round(perSec)}`;
}

/** The progress line for a state (pure, for tests). */
export function progressLine(opts: ProgressOptions, state: { bytes: number; records: number; detail?: string; note?: string; elapsedMs: number }): string {
  const parts: string[] = [opts.label];
  if (state.detail) parts.push(state.detail);
  const sec = state.elapsedMs / 1000;
  const total = opts.totalBytes ?? null;
  let fraction: number | null = null;
  if (total !== null && total > 0) {
    fraction = Math.min(1, state.bytes / total);
    parts.push(`${formatBytes(state.bytes)} / ${formatBytes(total)} (${Math.floor(fraction * 100)}%)`);
  } else if (state.bytes > 0) parts.push(formatBytes(state.bytes));
  const recTotal = opts.totalRecords ?? null;
  if (recTotal !== null && recTotal > 0) {
    const f = Math.min(1, state.records / recTotal);
    if (fraction === null) fraction = f;
    parts.push(`${state.records.toLocaleString('en-US')}/${recTotal.toLocaleString('en-US')} ${opts.unit ?? 'records'}${total === null ? ` (${Math.floor(f * 100)}%)` : ''}`);
  } else if (state.records > 0) parts.push(`${state.records.toLocaleString('en-US')} ${opts.unit ?? 'records'}`);
  if (sec > 0 && state.records > 0) parts.push(`${formatRate(state.records / sec)} ${opts.unit ?? 'records'}/s`);
  if (fraction !== null && fraction > 0 && sec >= 1) parts.push(`ETA ${formatDuration((sec / fraction) * (1 - fraction))}`);
  else parts.push(formatDuration(sec));
  if (state.note) parts.push(state.note);
  return parts.join('  ');
}

class TtyProgress implements Progress {
  readonly active = true;
  private t0: number;
  private last = -Infinity;
  private shown = false;
  private bytes = 0;
  private records = 0;
  private detail: string | undefined;
  private note: string | undefined;

  constructor(
    private opts: ProgressOptions,
    private readonly stream: ProgressStream,
    private readonly now: () => number,
  ) {
    this.t0 = now();
  }

  update(u: ProgressUpdate): void {
    if (u.bytes !== undefined) this.bytes = u.bytes;
    if (u.records !== undefined) this.records = u.records;
    if (u.detail !== undefined) this.detail = u.detail;
    if (u.note !== undefined) this.note = u.note;
    const t = this.now();
    if (t - this.last < REDRAW_MS) return;
    this.last = t;
    let line = progressLine(this.opts, { bytes: this.bytes, records: this.records, detail: this.detail, note: this.note, elapsedMs: t - this.t0 });
    const cols = this.stream.columns ?? 80;
    if (cols > 1 && line.length > cols - 1) line = line.slice(0, cols - 2) + '…';
    this.stream.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  phase(opts: ProgressOptions): void {
    if (this.last === Infinity) return; // done
    this.opts = opts;
    this.t0 = this.now();
    this.bytes = 0;
    this.records = 0;
    this.detail = undefined;
    this.note = undefined;
    this.last = -Infinity;
  }

  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[K');
    this.shown = false;
    // draw again at the next update, whatever the throttle says
    this.last = -Infinity;
  }

  done(): void {
    this.clear();
    this.last = Infinity;
  }
}

/**
 * Total bytes of the inputs when each is a regular, uncompressed file (what the readers count as they go),
 * null otherwise (stdin, a FIFO, a .gz whose read count is of inflated bytes): then no percentage or ETA.
 * With `compressed: true`, compressed files count their size too (for a command whose progress counts the
 * compressed bytes read from the file, e.g. `flows` through capture events' `fileBytes`).
 */
export async function knownSize(paths: readonly string[], opts: { compressed?: boolean } = {}): Promise<number | null> {
  const { open, stat } = await import('node:fs/promises');
  let total = 0;
  for (const p of paths) {
    if (p === '-') return null;
    try {
      const st = await stat(p);
      if (!st.isFile()) return null;
      const fh = await open(p, 'r');
      try {
        const head = Buffer.alloc(4);
        const { bytesRead } = await fh.read(head, 0, 4, 0);
        // gzip (1f 8b) or Zstandard (28 b5 2f fd): the readers count inflated bytes
        if (!opts.compressed && bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return null;
        if (!opts.compressed && bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return null;
      } finally {
        await fh.close();
      }
      total += st.size;
    } catch {
      return null; // the command's reader names the problem
    }
  }
  return total;
}
