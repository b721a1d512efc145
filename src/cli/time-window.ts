/**
 * `--since` / `--until` values: an RFC 3339 time (`2026-11-22T10:00:00Z`, `2026-11-22T12:00:00+02:00`,
 * a date alone is midnight UTC) or a duration before now as kubectl (`--since 2h`, `1h30m`) and
 * journalctl (`-2h`, `2h ago`, `30 min ago`) users type it: ms, s, m, h, d (24 h) and w units. The
 * clock is passed in, so a relative time means the same thing for every bound of one command (and tests
 * do not depend on the date).
 */
import { UsageError } from './common.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const UNIT_NAMES: [RegExp, string][] = [
  [/^(ms|msec|msecs|milliseconds?)$/, 'ms'],
  [/^(s|sec|secs|seconds?)$/, 's'],
  [/^(m|min|mins|minutes?)$/, 'm'],
  [/^(h|hr|hrs|hours?)$/, 'h'],
  [/^(d|days?)$/, 'd'],
  [/^(w|weeks?)$/, 'w'],
];

/** `2h`, `1h30m`, `90s`, `1.5d`, `30 min` → milliseconds, or null when it is not a duration. */
export function parseDuration(v: string): number | null {
  const s = v.trim().toLowerCase();
  if (s === '') return null;
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const unit = UNIT_NAMES.find(([r]) => r.test(m![2]!))?.[1];
    if (!unit) return null;
    total += Number(m[1]) * UNIT_MS[unit]!;
    at = re.lastIndex;
  }
  return at === s.length && at > 0 ? Math.round(total) : null;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

/**
 * The bound in epoch ms (undefined when the option is absent). Throws a UsageError naming the flag and
 * what is accepted.
 */
export function parseTimeBound(v: string | undefined, flag: string, nowMs: number): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (RFC3339.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return ms;
  }
  const rel = /^-?\s*(.*?)(?:\s+ago)?$/i.exec(t)?.[1] ?? t;
  const d = parseDuration(rel);
  if (d !== null) return nowMs - d;
  throw new UsageError(`${flag}: expected an RFC 3339 time (e.g. 2024-05-01T10:00:00Z) or a duration before now (e.g. 2h, 30m, 1d, 1h30m), found '${v}'`);
}

/** Both bounds from one clock reading; refuses a window that ends before it starts. */
export function parseTimeWindow(since: string | undefined, until: string | undefined, nowMs: number): { sinceMs?: number; untilMs?: number } {
  const sinceMs = parseTimeBound(since, '--since', nowMs);
  const untilMs = parseTimeBound(until, '--until', nowMs);
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs) {
    throw new UsageError(`--since ${since} is after --until ${until} (${new Date(sinceMs).toISOString()} > ${new Date(untilMs).toISOString()}): the window is empty`);
  }
  return { ...(sinceMs !== undefined ? { sinceMs } : {}), ...(untilMs !== undefined ? { untilMs } : {}) };
}
