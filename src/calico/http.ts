/**
 * Dikastes' HTTP match (app-policy/checker/match.go: matchHTTPMethods, matchHTTPPaths,
 * normalizeHTTPPath). Methods: empty list or `*` matches any, otherwise exact and case-sensitive.
 * Paths are normalised the way a compliant upstream server would see them before matching — query
 * and fragment cut, one percent-decoding pass, `\` as `/`, matrix parameters (`;…`) stripped per
 * segment, `.`/`..` resolved, repeated and trailing `/` collapsed — and a request whose decoded form
 * still carries an encoded separator, dot or NUL is refused. `exact` compares the normalised path,
 * `prefix` matches on a segment boundary. (Calico releases before this hardening compared the raw path
 * with a plain string prefix.)
 */
import type { HTTPMatch } from './types.js';

export function matchHttpMethods(methods: string[] | undefined, method: string): boolean {
  if (!methods || methods.length === 0) return true;
  return methods.some((m) => m === '*' || m === method);
}

/** The normalised path, or null when Dikastes refuses the request-target. */
export function normalizeHttpPath(raw: string): string | null {
  if (raw === '' || (raw[0] !== '/' && raw[0] !== '\\')) return null;
  let p = raw;
  const cut = p.search(/[?#]/);
  if (cut >= 0) p = p.slice(0, cut);
  if (p.includes('\0')) return null;
  let decoded = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = p.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
    decoded += String.fromCharCode(parseInt(hex, 16));
    i += 2;
  }
  if (decoded.includes('\0') || /%(2e|2f|5c|00)/i.test(decoded)) return null;
  const segs: string[] = [];
  for (const s0 of decoded.replace(/\\/g, '/').split('/')) {
    const s = s0.split(';')[0]!;
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  return `/${segs.join('/')}`;
}

export type PathMatchResult = { ok: boolean; normalized: string | null };

export function matchHttpPaths(paths: HTTPMatch['paths'], path: string): PathMatchResult {
  const normalized = normalizeHttpPath(path);
  if (!paths || paths.length === 0) return { ok: true, normalized };
  if (normalized === null) return { ok: false, normalized };
  const ok = paths.some((x) => {
    if ('exact' in x) return normalized === x.exact;
    const pre = x.prefix.length > 1 ? x.prefix.replace(/\/+$/, '') : x.prefix;
    return pre === '/' || normalized === pre || normalized.startsWith(`${pre}/`);
  });
  return { ok, normalized };
}
