/**
 * Escaping for the HTML report: every byte that came from the evidence passes `esc` before it is
 * written into element content or an attribute value.
 */
import { escapeBidi } from '../model/redact.js';

/** Escapes text for HTML element content and attribute values. */
export function esc(s: unknown): string {
  return escapeBidi(
    String(s ?? '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;')
      // C0 controls (except tab/newline) would make the document invalid; show them as escapes.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
  );
  // (escapeBidi: bidirectional controls would reorder what the reader sees, captured text reversing the tool's own words)
}

/** Cuts `s` to `n` characters with an ellipsis. */
export function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * One time precision in the page: milliseconds, UTC (`2026-11-22T13:01:01.337Z`). Sources record
 * different precisions (logs ms, captures µs); the as-recorded string goes into a `title`.
 */
export function fmtTimeMs(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(Math.floor(ms));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** `HH:MM:SS.mmm` of `fmtTimeMs`. */
export function fmtClock(ms: number): string {
  return fmtTimeMs(ms).slice(11, 23);
}

/** An as-recorded RFC 3339 string shown at the page's precision (unparsable text is shown as it is). */
export function fmtTimeString(s: string | null | undefined): string {
  if (!s) return '';
  const t = Date.parse(s);
  return Number.isFinite(t) ? fmtTimeMs(t) : s;
}
