/** Shared CLI plumbing: output writing, exit codes, error reporting. The CLI is a thin shell. */
import type { Argv } from 'yargs';
import { InputError } from '../model/errors.js';

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

export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (text.length === 0) return resolve();
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

export function warn(message: string): void {
  process.stderr.write(`meshsleuth: ${message}\n`);
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

/**
 * Coercion for repeatable options (`--inventory a --inventory b`): always an array. Used instead of
 * yargs' `array: true`, which is greedy and would swallow the positional arguments that follow
 * (`--inventory pods.json app.log` would take the log as a second inventory).
 */
export function asList(v: string | string[]): string[] {
  return Array.isArray(v) ? v.map(String) : [String(v)];
}
