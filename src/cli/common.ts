/** Shared CLI plumbing: output writing, exit codes, error reporting. The CLI is a thin shell. */
import type { Argv } from 'yargs';
import { stat } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { InputError } from '../model/errors.js';
import type { InputKind } from '../readers/detect.js';
import { escapeBidi, redactText } from '../model/redact.js';
import { wrap } from '../report/table.js';

/** Exit codes from DESIGN.md: 0 success, 1 a --fail-on condition met, 2 bad usage or unreadable input. */
export const EXIT_OK = 0;
export const EXIT_FAIL_ON = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** A usage error detected by a command after yargs parsing (exit 2, one line). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

let showSecrets = false;

/** Set once per run by the CLI shell from `--show-secrets`. */
export function setShowSecrets(show: boolean): void {
  showSecrets = show;
}

/**
 * Everything a command prints or writes passes here: query-string credentials redacted in any format (unless
 * --show-secrets) and bidirectional controls escaped, whatever the reporter already did.
 */
export function safeOutput(text: string): string {
  return escapeBidi(redactText(text, showSecrets));
}

let proseWidth: number | null = null;

/**
 * On a terminal, for people's formats (table, text), lines of prose longer than the terminal (headers,
 * summaries, notes) are word-wrapped with a two-space hanging indent; tables already fit (report/table.ts).
 * Set by the CLI shell; null (piped, or a machine format) leaves output byte for byte as it is.
 */
export function setProseWidth(width: number | null): void {
  proseWidth = width;
}

function wrapProse(text: string, width: number): string {
  return text
    .split('\n')
    .map((line) => {
      // (colour codes take no room on the screen)
      if (line.replace(/\x1b\[[0-9;]*m/g, '').length <= width) return line;
      const indent = /^ */.exec(line)![0];
      const [first, ...rest] = wrap(line.slice(indent.length), width - indent.length);
      const more = wrap(rest.join(' '), width - indent.length - 2);
      return [indent + first, ...(rest.length ? more.map((l) => `${indent}  ${l}`) : [])].join('\n');
    })
    .join('\n');
}

export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (text.length === 0) return resolve();
    const out = safeOutput(text);
    process.stdout.write(proseWidth === null ? out : wrapProse(out, proseWidth), (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Output is written in batches of about this many characters (lines joined into one string). Under 64 Ki: a
 * string of two-byte characters (one `…` in a batch makes it one) of 64 Ki characters is 128 KiB, which V8
 * puts in its large-object space, a fresh mapping per batch. Joining the 7.5 MB of NDJSON of a 200 MB capture
 * took ~47 ms in batches of 64 Ki characters and ~3 ms in batches of 32 Ki.
 */
const WRITE_BATCH_CHARS = 1 << 15;

/**
 * Output gathered into batches of about WRITE_BATCH_CHARS, each written with one writeOut: one write (and its
 * wait for stdout) a batch rather than a line. A batch is flushed only at a line end, so the line-wise redaction
 * and escaping of safeOutput see what they would have seen whole. The pieces are joined once at the flush (an
 * array: a string grown piece by piece is a rope that safeOutput had to flatten again).
 */
export class OutputBatch {
  private pieces: string[] = [];
  private chars = 0;
  private atLineEnd = true;

  /** Adds a piece; true when the batch is full and ends at a line end (time to flush). */
  add(piece: string): boolean {
    if (piece.length === 0) return false;
    this.pieces.push(piece);
    this.chars += piece.length;
    this.atLineEnd = piece.endsWith('\n');
    return this.chars >= WRITE_BATCH_CHARS && this.atLineEnd;
  }

  async flush(): Promise<void> {
    if (this.pieces.length === 0) return;
    const text = this.pieces.length === 1 ? this.pieces[0]! : this.pieces.join('');
    this.pieces = [];
    this.chars = 0;
    await writeOut(text);
  }
}

/**
 * Writes output given as pieces (report/serialize-stream.ts) in OutputBatch batches, waiting for stdout to
 * drain: the same bytes as writeOut(pieces joined), without the whole text in memory.
 */
export async function writeOutChunks(pieces: Iterable<string>): Promise<void> {
  const batch = new OutputBatch();
  for (const p of pieces) if (batch.add(p)) await batch.flush();
  await batch.flush();
}

/**
 * How much goes to stderr, set once per run by the CLI shell from `-q/--quiet` and `-v/--verbose` (every
 * command takes both): `quiet` keeps only the one-line error that ends a command (the exit code still tells
 * the rest); `verbose` adds what each step read and how long the command took.
 */
export type Verbosity = 'quiet' | 'normal' | 'verbose';
let verbosity: Verbosity = 'normal';

export function setVerbosity(v: Verbosity): void {
  verbosity = v;
}

export function isQuiet(): boolean {
  return verbosity === 'quiet';
}

export function isVerbose(): boolean {
  return verbosity === 'verbose';
}

/** A warning or note on stderr (skipped inputs, counts, assumptions): hidden by `-q`. */
export function warn(message: string): void {
  if (verbosity !== 'quiet') process.stderr.write(`meshsleuth: ${safeOutput(message)}\n`);
}

/** The error that ends a command: printed even with `-q`. */
export function fatal(message: string): void {
  process.stderr.write(`meshsleuth: ${safeOutput(message)}\n`);
}

/** A line the user needs even with `-q` (e.g. the address `collect` listens on). */
export function notice(message: string): void {
  process.stderr.write(`meshsleuth: ${safeOutput(message)}\n`);
}

/** Detail only `-v/--verbose` shows (files read, kinds detected, elapsed time). */
export function debug(message: string): void {
  if (verbosity === 'verbose') process.stderr.write(`meshsleuth: ${safeOutput(message)}\n`);
}

// Progress (on a TTY only, not with -q) is drawn by one module, src/cli/progress.ts, that commands opt into.

/** Runs a command body and maps errors to exit codes; user errors are one line, never a stack trace. */
export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  const t0 = performance.now();
  try {
    const code = await body();
    process.exitCode = code ?? EXIT_OK;
  } catch (err) {
    if (err instanceof InputError || err instanceof UsageError) {
      fatal(err.message);
      process.exitCode = EXIT_USAGE;
    } else if (isNodeFsError(err)) {
      fatal(`${err.path ?? ''}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
      process.exitCode = EXIT_USAGE;
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      fatal(`internal error: ${e.message}${process.env.MESHSLEUTH_DEBUG ? '' : ' (MESHSLEUTH_DEBUG=1 prints its stack)'}`);
      if (process.env.MESHSLEUTH_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
      process.exitCode = EXIT_INTERNAL;
    }
  }
  debug(`exit ${String(process.exitCode)} after ${((performance.now() - t0) / 1000).toFixed(2)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

function isNodeFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}

/** The `-o` option every command takes. */
export function outputOption<T>(y: Argv<T>, choices: string[], dflt = 'table') {
  return y.option('output', {
    alias: 'o',
    type: 'string',
    choices,
    default: dflt,
    describe: 'output format',
  });
}

/** Parses `--fail-on a,b` (repeatable) into a set, rejecting unknown conditions. */
export function parseFailOn(value: string[] | string | undefined, allowed: readonly string[]): Set<string> {
  const items = (Array.isArray(value) ? value : value ? [value] : []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const i of items) {
    if (!allowed.includes(i)) throw new UsageError(`--fail-on: unknown condition '${i}' (expected one of ${allowed.join(', ')})`);
  }
  return new Set(items);
}

/** Marks the arrays `asList` returns, so the shell's "last option wins" rule keeps them whole. */
const REPEATABLE = Symbol('meshsleuth.repeatable');

/**
 * Coercion for repeatable options (`--inventory a --inventory b`): always an array. Used instead of
 * yargs' `array: true`, which is greedy and would swallow the positional arguments that follow
 * (`--inventory pods.json app.log` would take the log as a second inventory). Every other option given
 * twice keeps its last value (cli/shell.ts).
 */
export function asList(v: string | string[]): string[] {
  const out = Array.isArray(v) ? v.map(String) : [String(v)];
  Object.defineProperty(out, REPEATABLE, { value: true });
  return out;
}

/**
 * `asList` for an option whose values are enumerated (`--fail-on`, `--security`): the same coercion, carrying
 * the values so shell completion offers them (cli/spec.ts). Commas split in the command, as before.
 */
export function asListOf(values: readonly string[]): ((v: string | string[]) => string[]) & { values: readonly string[]; list: true } {
  return Object.assign((v: string | string[]) => asList(v), { values, list: true as const });
}

/**
 * A coercion that leaves a single value as given but tells completion its usual values, for an option that
 * also takes other forms (report's `-o FILE`, deprecated) so yargs' `choices` would be too strict.
 */
export function suggestValues(values: readonly string[]): ((v: string) => string) & { values: readonly string[] } {
  return Object.assign((v: string) => v, { values });
}

/** True for an array produced by `asList` (a repeatable option's values). */
export function isRepeatable(v: unknown): boolean {
  return Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[REPEATABLE] === true;
}

/**
 * Directory arguments (DESIGN.md: files may be given as directories) → the files inside them of the
 * kind a command reads, detected by content as `report` does; other files there are named on stderr
 * as skipped. Files and `-` are passed through as given, so their own errors stay precise.
 */
export async function expandDirectories(paths: string[], kind: InputKind, what: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let dir = false;
    if (p !== '-') {
      try {
        dir = (await stat(p)).isDirectory();
      } catch {
        dir = false; // the command's reader names the missing file
      }
    }
    if (!dir) {
      out.push(p);
      continue;
    }
    // (content detection loads every reader: only when a directory is given)
    const { detectInputs } = await import('../readers/detect.js');
    const found = await detectInputs([p]);
    // damaged compressed files go to the reader too: it names the file and the offset, and the command exits 2
    const mine = found.filter((f) => f.kind === kind || (f.damaged && f.compressed));
    debug(`${p}: ${found.length} file(s), ${mine.length} read as ${what}`);
    const others = found.length - mine.length;
    if (others > 0 && mine.length > 0) warn(`${p}: ${others} other file(s) skipped (not ${what})`);
    if (mine.length === 0) throw new InputError({ file: p }, `a directory holding ${what}`, found.length ? `none among its ${found.length} file(s)` : 'an empty directory');
    out.push(...mine.map((f) => f.path));
  }
  return out;
}

/**
 * What a file certainly is when it is binary (pcap, NUL bytes…), from its first 4 KiB, null for text; a gzip
 * or Zstandard file is judged by what it holds (readers/files.ts decompresses it).
 */
export async function binaryHead(path: string): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  const { inputBytes } = await import('../readers/files.js');
  const src = inputBytes(path);
  for await (const c of src) {
    chunks.push(c);
    n += c.length;
    if (n >= 4096) break;
  }
  // (readers/sniff.js, not readers/structured.js, which brings both YAML parsers)
  const { sniffBinary } = await import('../readers/sniff.js');
  return sniffBinary(Buffer.concat(chunks).subarray(0, 4096));
}

/**
 * For commands that replay records in batches (`explain`, `collect --config`): turns off V8's allocation-site
 * pretenuring for the process (its worker threads too). A record lives while its batch is replayed, so V8 took
 * the readers' records for long-lived and allocated them in the old space, where they died as garbage for the
 * full collector. Measured, outputs unchanged: `explain` on 100k lines of the bench's Istio log 4.2 → 3.0 s CPU
 * and 163 → 115 MB peak RSS; `collect --config` on 20,000 entries 3,318–3,850 → 4,243–4,345 per CPU-second.
 */
export function replayBatchesWithoutPretenuring(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
