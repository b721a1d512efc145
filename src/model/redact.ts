/**
 * Secret redaction and control-character escaping: the one place every output (tables, JSON/NDJSON/YAML, the
 * HTML, JSON and SARIF reports, stderr diagnostics of records) gets them from, unless --show-secrets.
 *
 * Redacted: header values whose name says credential (Authorization, Cookie, *token*, *secret*, *api-key*,
 * passwords), at any depth of a structured value (JSON access logs nest them: `request_headers.authorization`),
 * and URL query parameters that carry one (`?access_token=…`, `code`, `client_assertion`, `sig`, …) anywhere in
 * text. Escaped (always): Unicode bidirectional controls, which reorder what a terminal or browser shows (a
 * captured path can reverse the tool's own finding text), and C0 controls in HTML.
 */
import type { JsonValue } from './attrs.js';
import type { AppProtocolFacts } from './records.js';

export const REDACTED = '[redacted]';

const SECRET_HEADERS = new Set(['cookie', 'set-cookie', 'x-amz-security-token', 'x-csrf-token', 'x-xsrf-token']);
/** Header names that carry credentials: exact names above, and any name containing one of these words. */
const SECRET_HEADER_WORD = /authorization|token|secret|api-?key|password|passwd|credential|session/;

export function isSecretHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_HEADERS.has(n) || SECRET_HEADER_WORD.test(n);
}

/** Keeps the scheme of an Authorization value (e.g. `Bearer`) and replaces the rest. */
export function redactValue(name: string, value: string): string {
  if (!isSecretHeader(name)) return value;
  const n = name.toLowerCase();
  if (n.endsWith('authorization')) {
    const sp = value.indexOf(' ');
    if (sp > 0) return `${value.slice(0, sp)} ${REDACTED}`;
  }
  return REDACTED;
}

export function redactHeaders(headers: Record<string, string[]>, show = false): Record<string, string[]> {
  if (show) return headers;
  const out: Record<string, string[]> = {};
  for (const [k, vs] of Object.entries(headers)) out[k] = vs.map((v) => redactValue(k, v));
  return out;
}

/** Query parameters that carry credentials (OAuth/OIDC, signed URLs, API keys, passwords). */
const SECRET_PARAM =
  /(^|[-_.])(token|access[-_]?token|id[-_]?token|refresh[-_]?token|secret|client[-_]?secret|client[-_]?assertion|password|passwd|pwd|api[-_]?key|apikey|key|code|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token|jwt|session|sessionid|auth)$/i;

/** Whether a query parameter name carries a credential. */
export function isSecretParam(name: string): boolean {
  let n = name;
  try {
    n = decodeURIComponent(name);
  } catch {
    // keep as is
  }
  return SECRET_PARAM.test(n);
}

/** Replaces the values of credential-bearing query parameters of a path or URL with `[redacted]`. */
export function redactPath(path: string, show = false): string {
  if (show) return path;
  const q = path.indexOf('?');
  if (q < 0) return path;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) return kv;
      return isSecretParam(kv.slice(0, eq)) ? `${kv.slice(0, eq)}=${REDACTED}` : kv;
    })
    .join('&');
  return path.slice(0, q + 1) + redacted + (hash < 0 ? '' : path.slice(hash));
}

/** `?name=value` / `&name=value` inside any text (a path in a sentence, a JSON string, a table cell). */
const QUERY_PARAM = /([?&;])([^=&\s#?"'<>\\]{1,64})=([^&\s#"'<>\\]*)/g;

/** Redacts credential-bearing query parameters wherever they appear in free text. */
export function redactText(text: string, show = false): string {
  if (show || (text.indexOf('?') < 0 && text.indexOf('&') < 0)) return text;
  return text.replace(QUERY_PARAM, (m, sep: string, name: string, value: string) => (value.length > 0 && value !== REDACTED && isSecretParam(name) ? `${sep}${name}=${REDACTED}` : m));
}

/** A log field name naming a header (`%REQ(X-API-KEY)%`, `x_api_key`, `authorization`) → the header name. */
function headerNameOf(key: string): string {
  const inner = /\(([^)?:]+)/.exec(key)?.[1] ?? key;
  return inner.toLowerCase().replace(/_/g, '-');
}

/**
 * A structured value with every credential redacted: values under a secret header name at any depth (objects
 * and arrays of strings), and query credentials inside every string. Returns a copy; never mutates.
 */
export function redactDeep<T extends JsonValue | undefined>(value: T, show = false): T {
  if (show) return value;
  return walk(value, null) as T;
}

function walk(v: JsonValue | undefined, secretName: string | null): JsonValue | undefined {
  if (typeof v === 'string') return secretName !== null && v !== '-' && v !== '' ? redactValue(secretName, v) : redactText(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, secretName) as JsonValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) {
      const name = headerNameOf(k);
      out[k] = walk(x, isSecretHeader(name) ? name : secretName) as JsonValue;
    }
    return out;
  }
  return v;
}

/** Unicode bidirectional controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM). */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

/** Bidirectional controls shown as visible escapes (`\u202e`), so text reads in the order it was captured. */
export function escapeBidi(text: string): string {
  return text.replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** SQL password literals: `PASSWORD 'x'`, `PASSWORD = 'x'`, `IDENTIFIED [WITH plugin] BY 'x'`, `PASSWORD('x')`. */
const SQL_PASSWORD = /(\bPASSWORD\s*(?:=\s*|\(\s*)?|\bIDENTIFIED\s+(?:WITH\s+\S+\s+)?BY\s+)('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")/gi;

/**
 * A cleartext protocol's statement with its secrets replaced: SQL password literals (MySQL,
 * PostgreSQL), Redis AUTH / HELLO … AUTH / MIGRATE … AUTH(2) arguments and CONFIG SET of
 * requirepass/masterauth. Unchanged with `show`.
 */
export function redactStatement(protocol: string, text: string, show = false): string {
  if (show) return text;
  if (protocol === 'mysql' || protocol === 'postgresql') return text.replace(SQL_PASSWORD, (_, kw: string) => `${kw}'${REDACTED}'`);
  if (protocol !== 'redis') return text;
  // (only these commands carry a secret: any other is returned as it is, without splitting a long SET value)
  const sp = text.indexOf(' ');
  const cmd = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  if (cmd !== 'AUTH' && cmd !== 'CONFIG' && cmd !== 'HELLO' && cmd !== 'MIGRATE') return text;
  const args = text.split(' ');
  if (cmd === 'AUTH') return args.length > 1 ? `AUTH ${REDACTED}` : text;
  if (cmd === 'CONFIG' && args[1]?.toUpperCase() === 'SET') {
    for (let i = 2; i + 1 < args.length; i += 2) if (/^(requirepass|masterauth|masteruser)$/i.test(args[i]!)) args[i + 1] = REDACTED;
    return args.join(' ');
  }
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!.toUpperCase();
    if (a === 'AUTH' && (cmd === 'HELLO' || cmd === 'MIGRATE')) {
      // HELLO … AUTH user pass; MIGRATE … AUTH pass
      const n = cmd === 'HELLO' ? 2 : 1;
      for (let j = i + (cmd === 'HELLO' ? 2 : 1); j <= i + n && j < args.length; j++) args[j] = REDACTED;
    } else if (a === 'AUTH2' && cmd === 'MIGRATE' && i + 2 < args.length) args[i + 2] = REDACTED;
  }
  return args.join(' ');
}

/**
 * A cleartext session's facts as every output shows them (flows, report JSON/HTML/table, findings):
 * each statement through redactStatement, at most `max` statements kept and the rest added to
 * `statementsNotKept`. Unchanged apart from the bound with `show`.
 */
export function redactAppFacts(app: AppProtocolFacts, show = false, max = Infinity): AppProtocolFacts {
  const kept = app.statements.length > max ? app.statements.slice(0, max) : app.statements;
  return {
    ...app,
    statements: kept.map((x) => ({ ...x, text: redactStatement(app.protocol, x.text, show) })),
    statementsNotKept: app.statementsNotKept + (app.statements.length - kept.length),
  };
}
