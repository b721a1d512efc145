/** Shared CLI plumbing: output writing, exit codes, error reporting. The CLI is a thin shell. */
import type { Argv } from 'yargs';
import { open, stat } from 'node:fs/promises';
import { InputError } from '../model/errors.js';
import { detectInputs, type InputKind } from '../readers/detect.js';
import { sniffBinary } from '../readers/structured.js';
import { escapeBidi, redactText } from '../model/redact.js';

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

export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (text.length === 0) return resolve();
    process.stdout.write(safeOutput(text), (err) => (err ? reject(err) : resolve()));
  });
}

export function warn(message: string): void {
  process.stderr.write(`meshsleuth: ${safeOutput(message)}\n`);
}

/** Progress only on a TTY (DESIGN.md). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/** Runs a command body and maps errors to exit codes; user errors are one line, never a stack trace. */
export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body();
    process.exitCode = code ?? EXIT_OK;
  } catch (err) {
    if (err instanceof InputError || err instanceof UsageError) {
      warn(err.message);
      process.exitCode = EXIT_USAGE;
    } else if (isNodeFsError(err)) {
      warn(`${err.path ?? ''}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
      process.exitCode = EXIT_USAGE;
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      warn(`internal error: ${e.message}`);
      if (process.env.MESHSLEUTH_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
      process.exitCode = EXIT_INTERNAL;
    }
  }
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
    const found = await detectInputs([p]);
    const mine = found.filter((f) => f.kind === kind);
    const others = found.length - mine.length;
    if (others > 0 && mine.length > 0) warn(`${p}: ${others} other file(s) skipped (not ${what})`);
    if (mine.length === 0) throw new InputError({ file: p }, `a directory holding ${what}`, found.length ? `none among its ${found.length} file(s)` : 'an empty directory');
    out.push(...mine.map((f) => f.path));
  }
  return out;
}

/** What a file certainly is when it is binary (pcap, gzip, NUL bytes…), from its first 4 KiB; null for text. */
export async function binaryHead(path: string): Promise<string | null> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return sniffBinary(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
