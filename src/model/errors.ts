/**
 * A user-facing input error: one line naming the file, where in it, what was expected and what was found.
 * The CLI prints `message` and exits 2; it never prints a stack trace for these.
 */
export interface InputErrorLocation {
  file?: string;
  /** Byte offset in the file. */
  offset?: number;
  /** 1-based line number. */
  line?: number;
  /** JSON path, e.g. `$.configs[2].dynamic_listeners[0]`. */
  path?: string;
  /** 1-based frame number in a capture. */
  frame?: number;
}

export class InputError extends Error {
  readonly location: InputErrorLocation;
  readonly expected: string;
  readonly found?: string;

  constructor(location: InputErrorLocation, expected: string, found?: string) {
    super(formatInputError(location, expected, found));
    this.name = 'InputError';
    this.location = location;
    this.expected = expected;
    this.found = found;
  }
}

export function formatLocation(loc: InputErrorLocation): string {
  const parts: string[] = [];
  if (loc.file) parts.push(loc.file);
  if (loc.line !== undefined) parts.push(`line ${loc.line}`);
  if (loc.frame !== undefined) parts.push(`frame ${loc.frame}`);
  if (loc.offset !== undefined) parts.push(`offset ${loc.offset}`);
  if (loc.path) parts.push(`at ${loc.path}`);
  return parts.join(', ');
}

function formatInputError(loc: InputErrorLocation, expected: string, found?: string): string {
  const where = formatLocation(loc);
  const what = found !== undefined ? `expected ${expected}, found ${found}` : `expected ${expected}`;
  return where ? `${where}: ${what}` : what;
}

/** A warning about input that was skipped but did not stop processing. */
export interface Diagnostic {
  severity: 'warning' | 'error';
  location: InputErrorLocation;
  message: string;
}

/** An error that stopped an input, as data (passed from a worker thread to the main thread): an input error (exit 2), a file-system error, or a bug. */
export type SerializedError =
  | { kind: 'input'; location: InputErrorLocation; expected: string; found?: string }
  | { kind: 'fs'; code: string; message: string; path?: string; syscall?: string }
  | { kind: 'internal'; message: string; stack?: string };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof InputError) return { kind: 'input', location: err.location, expected: err.expected, ...(err.found !== undefined ? { found: err.found } : {}) };
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'fs', code: e.code!, message: e.message, ...(e.path !== undefined ? { path: e.path } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}) };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'internal', message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
}

/** The error again, as the single-threaded path would have caught it. */
export function deserializeError(s: SerializedError): Error {
  if (s.kind === 'input') return new InputError(s.location, s.expected, s.found);
  if (s.kind === 'fs') {
    const e = new Error(s.message) as NodeJS.ErrnoException;
    e.code = s.code;
    if (s.path !== undefined) e.path = s.path;
    e.syscall = s.syscall ?? 'read';
    return e;
  }
  const e = new Error(s.message);
  if (s.stack !== undefined) e.stack = s.stack;
  return e;
}

/**
 * An error thrown so often (per record, per value) that capturing its stack cost more than the work around
 * it; the stack is never read. Subclass it for such errors.
 */
export class StacklessError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}
