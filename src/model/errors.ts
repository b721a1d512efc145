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
