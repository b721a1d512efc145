/**
 * What Envoy's HTTP connection manager does to `:path` before any HTTP filter (RBAC included) or the
 * route table sees it: `ConnectionManagerUtility::maybeNormalizePath` (source/common/http/
 * conn_manager_utility.cc) with the helpers of `PathUtil` (source/common/http/path_utility.cc).
 *
 * Order, as Envoy runs it:
 *  1. a `#` in the path: 400 (`envoy.reloadable_features.http_reject_path_with_fragment`, default on);
 *  2. `path_with_escaped_slashes_action` (unset / IMPLEMENTATION_SPECIFIC_DEFAULT = KEEP_UNCHANGED unless
 *     the runtime key `http_connection_manager.path_with_escaped_slashes_action` says otherwise):
 *     `%2F`/`%2f` → `/` and `%5C`/`%5c` → `\` in the path part; when something was unescaped,
 *     REJECT_REQUEST answers 400, UNESCAPE_AND_REDIRECT answers 307 to the final path (400 for gRPC),
 *     UNESCAPE_AND_FORWARD goes on with the unescaped path;
 *  3. `normalize_path` (default false, runtime `http_connection_manager.normalize_path`): RFC 3986
 *     dot-segment removal by Chromium's path canonicalizer (`%2e` is a dot, `\` a slash, unreserved
 *     escapes decoded, some characters escaped); an invalid path (`%00`, a raw NUL) is a 400;
 *  4. `merge_slashes` (default false): runs of `/` in the path part become one.
 * Every 400/307 here is a local reply with RESPONSE_CODE_DETAILS `path_normalization_failed`: the request
 * never reaches an HTTP filter.
 *
 * Pure: no I/O, no Istio knowledge (Istio's `pathNormalization` names live in src/istio).
 */
import { isObj } from '../tls.js';

export type EscapedSlashesAction = 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

/** The HCM fields that change `:path` before the filters, with where each value came from. */
export interface PathSettings {
  normalizePath: boolean;
  mergeSlashes: boolean;
  escapedSlashesAction: EscapedSlashesAction;
  /** One line per setting that was not in the config (Envoy's default applied). */
  defaults: string[];
  /** Present when the HCM has `typed_header_validation_config` (UHV): its normalisation is not modelled. */
  headerValidator?: string;
}

const ESCAPED_ACTIONS = ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'] as const;

function boolField(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (isObj(v) && typeof v.value === 'boolean') return v.value; // google.protobuf.BoolValue written as a message
  return undefined;
}

/** Reads the path settings from an HTTP connection manager config (snake_case protobuf JSON). */
export function hcmPathSettings(hcm: Record<string, unknown>): PathSettings {
  const defaults: string[] = [];
  let normalizePath = boolField(hcm.normalize_path);
  if (normalizePath === undefined) {
    normalizePath = false;
    defaults.push('normalize_path not set: false (runtime http_connection_manager.normalize_path defaults to 0%)');
  }
  let mergeSlashes = boolField(hcm.merge_slashes);
  if (mergeSlashes === undefined) mergeSlashes = false;
  const raw = hcm.path_with_escaped_slashes_action;
  let name: (typeof ESCAPED_ACTIONS)[number] = 'IMPLEMENTATION_SPECIFIC_DEFAULT';
  if (typeof raw === 'string' && (ESCAPED_ACTIONS as readonly string[]).includes(raw)) name = raw as (typeof ESCAPED_ACTIONS)[number];
  else if (typeof raw === 'number' && raw >= 0 && raw < ESCAPED_ACTIONS.length) name = ESCAPED_ACTIONS[raw]!;
  let escapedSlashesAction: EscapedSlashesAction;
  if (name === 'IMPLEMENTATION_SPECIFIC_DEFAULT') {
    escapedSlashesAction = 'KEEP_UNCHANGED';
    defaults.push(`path_with_escaped_slashes_action ${raw === undefined ? 'not set' : 'IMPLEMENTATION_SPECIFIC_DEFAULT'}: KEEP_UNCHANGED (Envoy's default unless the runtime key http_connection_manager.path_with_escaped_slashes_action overrides it)`);
  } else escapedSlashesAction = name;
  const out: PathSettings = { normalizePath, mergeSlashes, escapedSlashesAction, defaults };
  if (hcm.typed_header_validation_config !== undefined) {
    const t = isObj(hcm.typed_header_validation_config) ? String(hcm.typed_header_validation_config.name ?? '') : '';
    out.headerValidator = t || 'typed_header_validation_config';
  }
  return out;
}

export interface PathStep {
  /** `unescape_slashes`, `normalize_path`, `merge_slashes`. */
  step: string;
  from: string;
  to: string;
}

export interface PathOutcome {
  /** `continue`: the filters see `path`; `reject`: 400; `redirect`: 307 to `path`. */
  action: 'continue' | 'reject' | 'redirect';
  original: string;
  /** The path after the steps that ran (the Location of a redirect). */
  path: string;
  steps: PathStep[];
  /** Why the request was rejected or redirected. */
  reason?: string;
  /** RESPONSE_CODE_DETAILS of the local reply (`path_normalization_failed`). */
  details?: string;
  /** HTTP status of the local reply. */
  status?: number;
}

export interface NormalizeOptions {
  /** content-type application/grpc: a redirect becomes a 400 (gRPC clients do not follow redirects). */
  grpc?: boolean;
  /**
   * Strip `;params` from `.`/`..` segments before canonicalizing (CVE-2026-73551 fix, Envoy 1.36.10,
   * 1.37.6, 1.38.4, 1.39.1 and later). Default true.
   */
  stripDotSegmentParameters?: boolean;
}

export const PATH_NORMALIZATION_FAILED = 'path_normalization_failed';

/** `ConnectionManagerUtility::maybeNormalizePath`. */
export function normalizeRequestPath(original: string, s: PathSettings, opts: NormalizeOptions = {}): PathOutcome {
  const steps: PathStep[] = [];
  const reject = (path: string, reason: string): PathOutcome => ({ action: 'reject', original, path, steps, reason, details: PATH_NORMALIZATION_FAILED, status: 400 });
  if (original.includes('#')) return reject(original, 'the path has a fragment (#): Envoy rejects it (http_reject_path_with_fragment)');
  let path = original;
  let redirect = false;
  if (s.escapedSlashesAction !== 'KEEP_UNCHANGED') {
    const u = unescapeSlashes(path);
    if (u !== null) {
      steps.push({ step: 'unescape_slashes', from: path, to: u });
      if (s.escapedSlashesAction === 'REJECT_REQUEST') return reject(u, 'the path has escaped slashes (%2F/%5C) and path_with_escaped_slashes_action is REJECT_REQUEST');
      path = u;
      if (s.escapedSlashesAction === 'UNESCAPE_AND_REDIRECT') redirect = true;
    }
  }
  if (s.normalizePath) {
    const n = canonicalPath(path, opts.stripDotSegmentParameters ?? true);
    if (n === null) return reject(path, 'normalize_path: the path cannot be canonicalized (an escaped or raw NUL)');
    if (n !== path) steps.push({ step: 'normalize_path', from: path, to: n });
    path = n;
  }
  if (s.mergeSlashes) {
    const m = mergeSlashes(path);
    if (m !== path) steps.push({ step: 'merge_slashes', from: path, to: m });
    path = m;
  }
  if (redirect) {
    if (opts.grpc) return reject(path, 'escaped slashes with UNESCAPE_AND_REDIRECT on a gRPC request (gRPC clients cannot follow a redirect)');
    return { action: 'redirect', original, path, steps, reason: `escaped slashes with UNESCAPE_AND_REDIRECT: Envoy answers 307 with Location ${path}`, details: PATH_NORMALIZATION_FAILED, status: 307 };
  }
  return { action: 'continue', original, path, steps };
}

function splitQuery(p: string): [string, string] {
  const q = p.indexOf('?');
  return q < 0 ? [p, ''] : [p.slice(0, q), p.slice(q)];
}

/** `PathUtil::unescapeSlashes`: the unescaped path, or null when the path part had no escaped slash. */
export function unescapeSlashes(p: string): string | null {
  const [path, query] = splitQuery(p);
  if (!path.includes('%')) return null;
  const out = path.replace(/%2f|%5c/gi, (m) => (m[1] === '2' ? '/' : '\\'));
  return out.length !== path.length ? out + query : null;
}

/** `PathUtil::mergeSlashes` (only the part before `?`). */
export function mergeSlashes(p: string): string {
  const [path, query] = splitQuery(p);
  if (!path.includes('//')) return p;
  const prefix = path.startsWith('/') ? '/' : '';
  const suffix = path.endsWith('/') ? '/' : '';
  return prefix + path.split('/').filter((x) => x !== '').join('/') + suffix + query;
}

/** `PathUtil::stripParametersFromDotSegments`: `/..;x` → `/..`, `/.;x` → `/.` (path part only). */
export function stripParametersFromDotSegments(p: string): string {
  const cut = p.search(/[?#]/);
  const path = cut < 0 ? p : p.slice(0, cut);
  if (!path.includes('.;')) return p;
  const rest = cut < 0 ? '' : p.slice(cut);
  return path.split('/').map((seg) => (seg.startsWith('..;') ? '..' : seg.startsWith('.;') ? '.' : seg)).join('/') + rest;
}

/** `PathUtil::canonicalPath`: the canonical path (query kept verbatim), or null when Envoy rejects it. */
export function canonicalPath(p: string, stripDotSegmentParameters = true): string | null {
  const input = stripDotSegmentParameters ? stripParametersFromDotSegments(p) : p;
  const [path, query] = splitQuery(input);
  const c = canonicalizePathPart(path);
  return c === null ? null : c + query;
}

// ---- Chromium's CanonicalizePath (url_canon_path.cc), on bytes ----

const SPECIAL = 1;
const ESCAPE_BIT = 2;
const ESCAPE = ESCAPE_BIT | SPECIAL;
const UNESCAPE = 4;
const INVALID_BIT = 8;
const INVALID = INVALID_BIT | SPECIAL;

/** kPathCharLookup: what the canonicalizer does with each byte. */
const LOOKUP: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    if (c === 0) t[c] = INVALID;
    else if (c < 0x20 || c >= 0x7f) t[c] = ESCAPE;
    else if (/[0-9A-Za-z\-_~]/.test(ch)) t[c] = UNESCAPE;
    else if (' "#%<>?`{|}^\\'.includes(ch)) t[c] = ESCAPE;
    else if (ch === '.') t[c] = SPECIAL;
    else t[c] = 0; // PASS: ! $ & ' ( ) * + , / : ; = @ [ ]
  }
  return t;
})();

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const isSlash = (b: number | undefined): boolean => b === SLASH || b === BACKSLASH;
const hexVal = (b: number | undefined): number => {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
};
const HEX = '0123456789ABCDEF';

/** `IsDot`: 1 for `.`, 3 for `%2e`/`%2E`, else 0. */
function isDot(s: Uint8Array, i: number, end: number): number {
  if (s[i] === DOT) return 1;
  if (s[i] === PERCENT && i + 3 <= end && s[i + 1] === 0x32 && (s[i + 2] === 0x65 || s[i + 2] === 0x45)) return 3;
  return 0;
}

/** `DecodeEscaped` at `i` (which holds `%`): the byte value, or -1. */
function decodeEscaped(s: ArrayLike<number>, i: number, end: number): number {
  if (i + 3 > end) return -1;
  const a = hexVal(s[i + 1]);
  const b = hexVal(s[i + 2]);
  return a < 0 || b < 0 ? -1 : (a << 4) + b;
}

function canonicalizePathPart(path: string): string | null {
  const s = new TextEncoder().encode(path);
  const end = s.length;
  const out: number[] = [];
  const pushEscaped = (b: number): void => {
    out.push(PERCENT, HEX.charCodeAt(b >> 4), HEX.charCodeAt(b & 15));
  };
  if (end === 0) return '/';
  if (!isSlash(s[0])) out.push(SLASH);
  const begin = 0;
  let ok = true;
  let lastInvalidPercent = -Infinity;
  const backUpToPreviousSlash = (): void => {
    let i = out.length - 1;
    if (i === begin) return;
    i--;
    while (out[i] !== SLASH && i > begin) i--;
    out.length = i + 1;
  };
  const checkForNestedEscapes = (next: number): void => {
    const length = out.length;
    const lastUnescaped = out[length - 1]!;
    const appendNext = lastInvalidPercent === length - 2;
    if (appendNext) {
      if (next === end || s[next]! >= 0x80) return;
      out.push(s[next]!);
    }
    if (decodeEscaped(out, lastInvalidPercent, out.length) >= 0) {
      const li = lastInvalidPercent;
      if (!appendNext) out.push(out[li + 1]!);
      out[li + 1] = 0x32;
      out[li + 2] = 0x35;
      out.push(lastUnescaped);
    } else if (appendNext) out.length = length;
  };
  for (let i = 0; i < end; i++) {
    const ch = s[i]!;
    const flags = LOOKUP[ch]!;
    if (!(flags & SPECIAL)) {
      out.push(ch);
      continue;
    }
    const dotlen = isDot(s, i, end);
    if (dotlen > 0) {
      if (out.length > begin && out[out.length - 1] === SLASH) {
        const after = i + dotlen;
        let consumed = 0;
        let kind: 'not' | 'cur' | 'up' = 'not';
        if (after === end) kind = 'cur';
        else if (isSlash(s[after])) {
          kind = 'cur';
          consumed = 1;
        } else {
          const second = isDot(s, after, end);
          if (second) {
            const after2 = after + second;
            if (after2 === end) {
              kind = 'up';
              consumed = second;
            } else if (isSlash(s[after2])) {
              kind = 'up';
              consumed = second + 1;
            }
          }
        }
        if (kind === 'not') {
          out.push(DOT);
          i += dotlen - 1;
        } else {
          if (kind === 'up') backUpToPreviousSlash();
          i += dotlen + consumed - 1;
        }
      } else {
        out.push(DOT);
        i += dotlen - 1;
      }
    } else if (ch === BACKSLASH) {
      out.push(SLASH);
    } else if (ch === PERCENT) {
      const v = decodeEscaped(s, i, end);
      if (v >= 0) {
        i += 2;
        const uf = LOOKUP[v]!;
        if (uf & UNESCAPE) {
          out.push(v);
          if (lastInvalidPercent >= out.length - 3) checkForNestedEscapes(i + 1);
        } else {
          out.push(PERCENT, s[i - 1]!, s[i]!);
          if (uf & INVALID_BIT) ok = false;
        }
      } else {
        lastInvalidPercent = out.length;
        out.push(PERCENT);
      }
    } else if (flags & INVALID_BIT) {
      pushEscaped(ch);
      ok = false;
    } else if (flags & ESCAPE_BIT) {
      pushEscaped(ch);
    }
  }
  if (!ok) return null;
  let r = '';
  for (let i = 0; i < out.length; i += 8192) r += String.fromCharCode(...out.slice(i, i + 8192));
  return r; // ASCII: every byte >= 0x80 was escaped
}

/**
 * Whether an Envoy version strips `;params` from dot segments when normalizing (the CVE-2026-73551 fix,
 * in 1.36.10, 1.37.6, 1.38.4, 1.39.1 and every later minor): true / false, or null when the version is unknown.
 */
export function stripsDotSegmentParameters(envoyVersion: string | null | undefined): boolean | null {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(envoyVersion ?? '');
  if (!m) return null;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (maj !== 1) return maj > 1;
  const firstFixed: Record<number, number> = { 36: 10, 37: 6, 38: 4, 39: 1 };
  if (min > 39) return true;
  if (min < 36) return false;
  return patch >= firstFixed[min]!;
}
