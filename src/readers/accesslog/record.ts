/**
 * Turns the values of one access-log entry (keyed by Envoy operator, e.g. `REQ(:METHOD)`) into an
 * `AccessRecord` with its attributes in RBAC form (research/envoy-rbac-semantics.md §1) and the
 * list of attributes the format did not log. A field the format does not carry is *unknown*,
 * never "absent": no peer-SAN field means the caller's identity is unknown, not plaintext.
 */
import type { Endpoint, HeaderMap, JsonValue, PeerTls, RequestAttrs } from '../../model/attrs.js';
import type { AccessRecord, EvidenceRef } from '../../model/records.js';
import type { FormatOperator } from './format.js';
import { splitAddress } from './format.js';

/** Attribute names used in `AccessRecord.unknown`. */
export const ATTR = {
  source: 'source',
  remote: 'remote',
  directRemote: 'directRemote',
  destination: 'destination',
  destinationPort: 'destination.port',
  sni: 'sni',
  tls: 'tls',
  uriSans: 'tls.uriSans',
  dnsSans: 'tls.dnsSans',
  subject: 'tls.subject',
  validated: 'tls.peerCertificateValidated',
  method: 'http.method',
  path: 'http.path',
  authority: 'http.authority',
  headers: 'http.headers',
  metadata: 'metadata',
  filterState: 'filterState',
} as const;

type Role =
  | 'time' | 'method' | 'path' | 'authority' | 'scheme' | 'protocol' | 'header' | 'code' | 'details' | 'termination'
  | 'flags' | 'bytesIn' | 'bytesOut' | 'duration' | 'cluster' | 'upstreamHost' | 'route' | 'remote' | 'remoteIp'
  | 'remotePort' | 'direct' | 'directIp' | 'directPort' | 'local' | 'localIp' | 'localPort' | 'sni' | 'uriSan'
  | 'dnsSan' | 'subject' | 'tlsVersion' | 'metadata' | 'filterState' | 'other';

const R_time = 0;
const R_method = 1;
const R_path = 2;
const R_authority = 3;
const R_scheme = 4;
const R_protocol = 5;
const R_header = 6;
const R_code = 7;
const R_details = 8;
const R_termination = 9;
const R_flags = 10;
const R_bytesIn = 11;
const R_bytesOut = 12;
const R_duration = 13;
const R_cluster = 14;
const R_upstreamHost = 15;
const R_route = 16;
const R_remote = 17;
const R_remoteIp = 18;
const R_remotePort = 19;
const R_direct = 20;
const R_directIp = 21;
const R_directPort = 22;
const R_local = 23;
const R_localIp = 24;
const R_localPort = 25;
const R_sni = 26;
const R_uriSan = 27;
const R_dnsSan = 28;
const R_subject = 29;
const R_tlsVersion = 30;
const R_metadata = 31;
const R_filterState = 32;
const R_other = 33;
const ROLE_NUM: Record<Role, number> = {time: R_time, method: R_method, path: R_path, authority: R_authority, scheme: R_scheme, protocol: R_protocol, header: R_header, code: R_code, details: R_details, termination: R_termination, flags: R_flags, bytesIn: R_bytesIn, bytesOut: R_bytesOut, duration: R_duration, cluster: R_cluster, upstreamHost: R_upstreamHost, route: R_route, remote: R_remote, remoteIp: R_remoteIp, remotePort: R_remotePort, direct: R_direct, directIp: R_directIp, directPort: R_directPort, local: R_local, localIp: R_localIp, localPort: R_localPort, sni: R_sni, uriSan: R_uriSan, dnsSan: R_dnsSan, subject: R_subject, tlsVersion: R_tlsVersion, metadata: R_metadata, filterState: R_filterState, other: R_other};

interface PlannedOp {
  op: FormatOperator;
  role: Role;
  /** `role` as a small integer (a jump table in the per-line switch). */
  r: number;
  header?: string;
}

/** What a format logs, computed once per format. */
export interface RecordPlan {
  ops: PlannedOp[];
  has: Set<Role>;
  /** Single-header REQ() fields: header names the log carries. */
  knownHeaders: string[];
  /** `x-forwarded-for` is logged: lets us tell when remote == directRemote. */
  logsXff: boolean;
  /** The distinct `unknown` lists of this format's records, each one frozen array shared by every record that has it. */
  unknownLists: UnknownNode;
  /** What the format logs, as booleans read for every record (`has` asked once). */
  logs: PlanFlags;
  /** A record's `unknown` list by the facts it depends on (U_* bits), when the format truncates no request-line field. */
  unknownByFacts: (string[] | undefined)[] | null;
  /** Ops whose `:Z` truncation may have cut the path, authority or method (their lists are built per record). */
  truncating: PlannedOp[];
  /** The header ops (role `header`) in format order, and a builder of the headers object per set of logged ones. */
  headerOps: PlannedOp[];
  headerBuilders: Map<number, (v: string[]) => HeaderMap> | null;
}

interface PlanFlags {
  remote: boolean;
  local: boolean;
  sni: boolean;
  methodOrProtocol: boolean;
  code: boolean;
  direct: boolean;
  method: boolean;
  path: boolean;
  authority: boolean;
  uriSan: boolean;
  dnsSan: boolean;
  subject: boolean;
  tlsVersion: boolean;
}

/** The per-record facts a record's `unknown` list depends on (with the format's PlanFlags). */
const U_REMOTE = 1; // a remote address was logged
const U_LOCAL = 2; // a local address was logged
const U_LOCAL_NO_PORT = 4; // … without a port
const U_HTTP = 8; // the record is an HTTP request
const U_XFF_REMOTE = 16; // HTTP with remote port 0: the source is not the connection peer
const U_DIRECT = 32; // the direct remote is logged, or taken as the remote
const U_TLS = 64; // a TLS fact was logged

/** A trie of `unknown` lists: a record's list is a path of attribute names from the root. */
interface UnknownNode {
  next: Map<string, UnknownNode> | null;
  list: string[] | null;
}

/**
 * The frozen list equal to `items` (a format's records have few distinct lists: one shared array each, so
 * consumers can key work on the list's identity, and no record carries its own copy).
 */
function internUnknown(root: UnknownNode, items: string[], count: number): string[] {
  let n = root;
  for (let i = 0; i < count; i++) {
    const m = (n.next ??= new Map());
    let c = m.get(items[i]!);
    if (c === undefined) {
      c = { next: null, list: null };
      m.set(items[i]!, c);
    }
    n = c;
  }
  return (n.list ??= Object.freeze(items.slice(0, count)) as string[]);
}

/** Reused while a record is built (buildRecord is not re-entered). */
const UNKNOWN_SCRATCH: string[] = [];
const NO_UNKNOWN: string[] = Object.freeze([] as string[]) as string[];

function roleOf(op: FormatOperator): { role: Role; header?: string } {
  switch (op.command) {
    case 'START_TIME':
      return { role: 'time' };
    case 'REQ':
    case 'REQUEST_HEADER': {
      const h = op.headers ?? [];
      if (h.length === 1) {
        if (h[0] === ':method') return { role: 'method' };
        if (h[0] === ':path') return { role: 'path' };
        if (h[0] === ':authority' || h[0] === 'host') return { role: 'authority' };
        if (h[0] === ':scheme') return { role: 'scheme' };
        return { role: 'header', header: h[0] };
      }
      // X-ENVOY-ORIGINAL-PATH?:PATH: the path before any router rewrite, i.e. the path RBAC saw.
      if (h.length === 2 && h[0] === 'x-envoy-original-path' && h[1] === ':path') return { role: 'path' };
      if (h.length === 2 && h[1] === ':authority' && h[0] === 'x-envoy-original-host') return { role: 'other' };
      return { role: 'other' };
    }
    case 'PROTOCOL':
      return { role: 'protocol' };
    case 'RESPONSE_CODE':
      return { role: 'code' };
    case 'RESPONSE_CODE_DETAILS':
      return { role: 'details' };
    case 'CONNECTION_TERMINATION_DETAILS':
      return { role: 'termination' };
    case 'RESPONSE_FLAGS':
      return { role: 'flags' };
    case 'BYTES_RECEIVED':
      return { role: 'bytesIn' };
    case 'BYTES_SENT':
      return { role: 'bytesOut' };
    case 'DURATION':
      return { role: 'duration' };
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return { role: 'cluster' };
    case 'UPSTREAM_HOST':
      return { role: 'upstreamHost' };
    case 'ROUTE_NAME':
      return { role: 'route' };
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return { role: 'remote' };
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return { role: 'remoteIp' };
    case 'DOWNSTREAM_REMOTE_PORT':
      return { role: 'remotePort' };
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return { role: 'direct' };
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return { role: 'directIp' };
    case 'DOWNSTREAM_DIRECT_REMOTE_PORT':
      return { role: 'directPort' };
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return { role: 'local' };
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return { role: 'localIp' };
    case 'DOWNSTREAM_LOCAL_PORT':
      return { role: 'localPort' };
    case 'REQUESTED_SERVER_NAME':
      return { role: 'sni' };
    case 'DOWNSTREAM_PEER_URI_SAN':
      return { role: 'uriSan' };
    case 'DOWNSTREAM_PEER_DNS_SAN':
      return { role: 'dnsSan' };
    case 'DOWNSTREAM_PEER_SUBJECT':
      return { role: 'subject' };
    case 'DOWNSTREAM_TLS_VERSION':
      return { role: 'tlsVersion' };
    case 'DYNAMIC_METADATA':
      return op.namespace ? { role: 'metadata' } : { role: 'other' };
    case 'FILTER_STATE':
      return op.namespace ? { role: 'filterState' } : { role: 'other' };
    default:
      return { role: 'other' };
  }
}

export function planFor(operators: FormatOperator[]): RecordPlan {
  const ops: PlannedOp[] = [];
  const has = new Set<Role>();
  const knownHeaders: string[] = [];
  for (const op of operators) {
    const r = roleOf(op);
    ops.push({ op, role: r.role, r: ROLE_NUM[r.role], header: r.header });
    has.add(r.role);
    if (r.role === 'header' && r.header && !knownHeaders.includes(r.header)) knownHeaders.push(r.header);
  }
  const logs: PlanFlags = {
    remote: has.has('remote') || has.has('remoteIp'),
    local: has.has('local') || has.has('localIp'),
    sni: has.has('sni'),
    methodOrProtocol: has.has('method') || has.has('protocol'),
    code: has.has('code'),
    direct: has.has('direct') || has.has('directIp'),
    method: has.has('method'),
    path: has.has('path'),
    authority: has.has('authority'),
    uriSan: has.has('uriSan'),
    dnsSan: has.has('dnsSan'),
    subject: has.has('subject'),
    tlsVersion: has.has('tlsVersion'),
  };
  const truncating = ops.filter((p) => p.op.maxLength !== undefined && (p.role === 'path' || p.role === 'authority' || p.role === 'method'));
  const headerOps = ops.filter((p) => p.role === 'header');
  const names = headerOps.map((p) => p.header!);
  // one object literal per set of logged headers (fixed shapes, no keyed stores); a repeated name or one that an
  // object literal reads differently (`__proto__`) keeps the per-record assignments
  const literal = headerOps.length <= 16 && names.every((n, i) => names.indexOf(n) === i && n !== '__proto__');
  return {
    ops, has, knownHeaders, logsXff: knownHeaders.includes('x-forwarded-for'), unknownLists: { next: null, list: null },
    logs, unknownByFacts: truncating.length ? null : [], truncating, headerOps, headerBuilders: literal ? new Map() : null,
  };
}

function headerBuilder(plan: RecordPlan, mask: number): (v: string[]) => HeaderMap {
  let b = plan.headerBuilders!.get(mask);
  if (!b) {
    const parts: string[] = [];
    plan.headerOps.forEach((p, i) => {
      if (mask & (1 << i)) parts.push(`${JSON.stringify(p.header)}: [v[${i}]]`);
    });
    b = new Function('v', `return {${parts.join(', ')}};`) as (v: string[]) => HeaderMap;
    plan.headerBuilders!.set(mask, b);
  }
  return b;
}

/** Header values of the record being built, by header op (buildRecord is not re-entered). */
const HEADER_VALUES: string[] = [];

/** The `unknown` list for a record's facts (U_* bits), in the order the attributes are looked at; `truncated` after the HTTP ones. */
function unknownList(plan: RecordPlan, facts: number, truncated: string[] | null): string[] {
  const f = plan.logs;
  const u = UNKNOWN_SCRATCH;
  let n = 0;
  if (!(facts & U_REMOTE) && !f.remote) {
    u[n++] = ATTR.source;
    u[n++] = ATTR.remote;
  }
  if (!(facts & U_LOCAL) && !f.local) u[n++] = ATTR.destination;
  if (facts & U_LOCAL_NO_PORT) u[n++] = ATTR.destinationPort;
  if (!f.sni) u[n++] = ATTR.sni;
  if (facts & U_XFF_REMOTE) u[n++] = ATTR.source;
  if (!(facts & U_DIRECT) && !f.direct) u[n++] = ATTR.directRemote;
  if (facts & U_HTTP) {
    if (!f.method) u[n++] = ATTR.method;
    if (!f.path) u[n++] = ATTR.path;
    if (!f.authority) u[n++] = ATTR.authority;
    u[n++] = ATTR.headers;
    if (truncated) for (const t of truncated) u[n++] = t;
  }
  if (facts & U_TLS) {
    if (!f.uriSan) u[n++] = ATTR.uriSans;
    if (!f.dnsSan) u[n++] = ATTR.dnsSans;
    if (!f.subject) u[n++] = ATTR.subject;
    u[n++] = ATTR.validated;
  } else if (!f.tlsVersion) {
    u[n++] = ATTR.tls;
    if (!f.uriSan) u[n++] = ATTR.uriSans;
    if (!f.dnsSan) u[n++] = ATTR.dnsSans;
    if (!f.subject) u[n++] = ATTR.subject;
  }
  u[n++] = ATTR.metadata;
  u[n++] = ATTR.filterState;
  return internUnknown(plan.unknownLists, u, n);
}

function str(v: JsonValue | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v === '-' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function num(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

/** The address and port `endpoint` read last (`endpointInto`: no object per address). */
let EP_ADDRESS = '';
let EP_PORT: number | undefined;

/** `endpoint(v)` into EP_ADDRESS / EP_PORT; false when it gives undefined. */
function endpointInto(v: JsonValue | undefined): boolean {
  const s = str(v);
  if (s === undefined) return false;
  // the usual `ip:port`: 1 to 15 digits after the only colon (Number() of them is their value)
  const n = s.length;
  let i = n - 1;
  let port = 0;
  let mul = 1;
  for (; i >= 0 && n - 1 - i < 16; i--) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    port += (c - 48) * mul;
    mul *= 10;
  }
  const digits = n - 1 - i;
  if (digits >= 1 && digits <= 15 && i > 0 && s.charCodeAt(i) === 58 && s.charCodeAt(0) !== 116 /* t(cp://) */ && s.indexOf(':') === i) {
    EP_ADDRESS = s.slice(0, i);
    EP_PORT = port;
    return true;
  }
  const e = endpoint(v);
  if (!e) return false;
  EP_ADDRESS = e.address;
  EP_PORT = e.port;
  return true;
}

function endpoint(v: JsonValue | undefined): Endpoint | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const c = s.lastIndexOf(':');
  if (c > 0 && s.indexOf(':') === c && s.charCodeAt(0) !== 116 /* t(cp://) */) {
    const port = Number(s.slice(c + 1));
    if (Number.isInteger(port)) return { address: s.slice(0, c), port };
  }
  const e = splitAddress(s);
  if (!e) return undefined;
  return e.port === undefined ? { address: e.address } : { address: e.address, port: e.port };
}

function parseMaybeJson(s: string): JsonValue {
  const c = s[0];
  if (c === '{' || c === '[') {
    try {
      return JSON.parse(s) as JsonValue;
    } catch {
      return s;
    }
  }
  return s;
}

function setPath(root: Record<string, JsonValue>, ns: string, path: string[], value: JsonValue): void {
  let cur = root[ns];
  if (path.length === 0) {
    root[ns] = value;
    return;
  }
  if (cur === undefined || cur === null || typeof cur !== 'object' || Array.isArray(cur)) {
    cur = {};
    root[ns] = cur;
  }
  let obj = cur as Record<string, JsonValue>;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    let next = obj[k];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) {
      next = {};
      obj[k] = next;
    }
    obj = next as Record<string, JsonValue>;
  }
  obj[path[path.length - 1]!] = value;
}

let minutePrefix = '';
let minuteMs = Number.NaN;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** `raw.startsWith(minutePrefix)` for a non-empty prefix, compared from the minutes back (they change first). */
function sameMinute(raw: string): boolean {
  return minutePrefix.length === 16 && raw.startsWith(minutePrefix);
}

/**
 * `Date.parse(raw)` for a time ending in `Z`. The usual `YYYY-MM-DDTHH:MM:SS[.fraction]Z` is computed from
 * its minute (parsed once per minute of log: consecutive lines share it) plus its seconds and milliseconds,
 * as Date.parse reads them (1–9 fraction digits, truncated to milliseconds); any other form goes to Date.parse.
 */
export function utcMs(raw: string): number {
  const n = raw.length;
  if (n < 20 || raw.charCodeAt(n - 1) !== 90 /* Z */ || raw.charCodeAt(10) !== 84 /* T */ || raw.charCodeAt(13) !== 58 || raw.charCodeAt(16) !== 58) return Date.parse(raw);
  const s0 = raw.charCodeAt(17);
  const s1 = raw.charCodeAt(18);
  if (s0 < 48 || s0 > 53 || !isDigit(s1)) return Date.parse(raw);
  let ms = 0;
  if (n === 20) {
    if (raw.charCodeAt(19) !== 90) return Date.parse(raw);
  } else {
    // 1 to 9 fraction digits (V8 reads 10 or more differently)
    if (raw.charCodeAt(19) !== 46 /* . */ || n > 30) return Date.parse(raw);
    for (let i = 20; i < n - 1; i++) {
      const c = raw.charCodeAt(i);
      if (!isDigit(c)) return Date.parse(raw);
      if (i < 23) ms += (c - 48) * (i === 20 ? 100 : i === 21 ? 10 : 1);
    }
    if (n === 21) return Date.parse(raw); // "SS.Z": no fraction digits
  }
  // hour 24 is Date.parse's end of day, valid only as 24:00:00
  if (raw.charCodeAt(11) === 50 && raw.charCodeAt(12) === 52) return Date.parse(raw);
  if (!sameMinute(raw)) {
    minutePrefix = raw.slice(0, 16);
    minuteMs = Date.parse(minutePrefix + ':00Z');
  }
  if (Number.isNaN(minuteMs)) return Date.parse(raw);
  return minuteMs + ((s0 - 48) * 10 + (s1 - 48)) * 1000 + ms;
}

/** A zone in a time string: `Z`, a zone name Date.parse knows (UTC, UT, GMT, EST … PDT), or a trailing offset (`+01:00`, `-0500`, `GMT+0100 (CET)`). */
const TIME_ZONE = /(?:\d|\b)(?:Z|UTC|UT|GMT|[ECMP][SD]T)\b|[+-]\d\d:?\d\d\s*(?:\([^)]*\))?$/i;

/**
 * Epoch ms of a time Date.parse reads, a time without a zone read as UTC: Date.parse reads one
 * (`2026-11-22 10:00:00`, `2026-11-22T10:00:00.123`, a custom %START_TIME(fmt)% without %z) in the local
 * time zone of the machine running the analysis, so the same log would give other times, another order
 * and other joins under another TZ. Envoy writes START_TIME in UTC.
 */
export function zonelessAsUtc(raw: string): number {
  const local = Date.parse(raw);
  if (Number.isNaN(local) || TIME_ZONE.test(raw)) return local;
  const z = Date.parse(`${raw}Z`);
  if (!Number.isNaN(z)) return z;
  const utc = Date.parse(`${raw} UTC`);
  if (!Number.isNaN(utc)) return utc;
  // (no form that takes a zone: the wall-clock fields Date.parse read, as UTC)
  const d = new Date(local);
  return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds());
}

/** RFC 3339 UTC with the log's precision; non-ISO start times (custom %START_TIME(fmt)%) are parsed when possible. */
export function normalizeTime(raw: string): { time: string; timeMs?: number } {
  if (raw.charCodeAt(raw.length - 1) === 90 /* Z */) {
    const ms = utcMs(raw);
    return Number.isNaN(ms) ? { time: raw } : { time: raw, timeMs: ms };
  }
  const ms = zonelessAsUtc(raw);
  if (Number.isNaN(ms)) return { time: raw };
  const m = /\.(\d+)/.exec(raw);
  const frac = m ? m[1]! : '';
  const iso = new Date(ms).toISOString().slice(0, 19);
  return { time: `${iso}${frac ? '.' + frac.slice(0, 9).padEnd(Math.min(frac.length, 9), '0') : ''}Z`, timeMs: ms };
}

/** Builds one AccessRecord from values keyed by operator key. */
export function buildRecord(plan: RecordPlan, values: Record<string, JsonValue>, ref: EvidenceRef, extra?: string, list?: JsonValue[]): AccessRecord {
  const attrs: RequestAttrs = {};
  // Every optional field present from the start: one object shape for all records (fast property access).
  const rec: AccessRecord = {
    ref, time: undefined, timeMs: undefined, node: undefined, kind: 'tcp', attrs, unknown: NO_UNKNOWN,
    responseCode: undefined, responseCodeDetails: undefined, connectionTerminationDetails: undefined, responseFlags: undefined,
    bytesReceived: undefined, bytesSent: undefined, durationMs: undefined, upstreamCluster: undefined, upstreamHost: undefined,
    routeName: undefined, requestId: undefined, userAgent: undefined, fields: values, knownHeaders: undefined, format: undefined,
  };
  let method: string | undefined;
  let path: string | undefined;
  let authority: string | undefined;
  let scheme: string | undefined;
  let protocol: string | undefined;
  let headers: HeaderMap | undefined;
  /** Which header ops logged a value (bit per op in plan.headerOps), when the headers object is built at the end. */
  let headerMask = 0;
  let headerIndex = 0;
  const literalHeaders = plan.headerBuilders !== null;
  let uriSan: string | undefined;
  let dnsSan: string | undefined;
  let subject: string | undefined;
  let tlsVersion: string | undefined;
  let xff: string | undefined;
  let remoteIp: string | undefined;
  let remotePort: number | undefined;
  let directIp: string | undefined;
  let directPort: number | undefined;
  let localIp: string | undefined;
  let localPort: number | undefined;
  const ops = plan.ops;
  for (let i = 0; i < ops.length; i++) {
    const p = ops[i]!;
    const v = list !== undefined ? list[i] : values[p.op.key];
    switch (p.r) {
      case R_time: {
        const s = str(v);
        if (s !== undefined) {
          if (s.charCodeAt(s.length - 1) === 90 /* Z */) {
            // normalizeTime's UTC case, without its result object
            const ms = utcMs(s);
            rec.time = s;
            if (!Number.isNaN(ms)) rec.timeMs = ms;
          } else {
            const t = normalizeTime(s);
            rec.time = t.time;
            if (t.timeMs !== undefined) rec.timeMs = t.timeMs;
          }
        }
        break;
      }
      case R_method: method = str(v); break;
      case R_path: path = str(v); break;
      case R_authority: authority = str(v); break;
      case R_scheme: scheme = str(v); break;
      case R_protocol: protocol = str(v); break;
      case R_header: {
        const s = str(v);
        const h = p.header!;
        if (h === 'x-forwarded-for') xff = s;
        if (h === 'x-request-id' && s !== undefined) rec.requestId = s;
        if (h === 'user-agent' && s !== undefined) rec.userAgent = s;
        if (s !== undefined) {
          if (literalHeaders) {
            HEADER_VALUES[headerIndex] = s;
            headerMask |= 1 << headerIndex;
          } else (headers ??= {})[h] = [s];
        }
        headerIndex++;
        break;
      }
      case R_code: { const n = num(v); if (n !== undefined) rec.responseCode = n; break; }
      case R_details: { const s = str(v); if (s !== undefined) rec.responseCodeDetails = s; break; }
      case R_termination: { const s = str(v); if (s !== undefined) rec.connectionTerminationDetails = s; break; }
      case R_flags: { const s = str(v); if (s !== undefined) rec.responseFlags = s; break; }
      case R_bytesIn: { const n = num(v); if (n !== undefined) rec.bytesReceived = n; break; }
      case R_bytesOut: { const n = num(v); if (n !== undefined) rec.bytesSent = n; break; }
      case R_duration: { const n = num(v); if (n !== undefined) rec.durationMs = n; break; }
      case R_cluster: { const s = str(v); if (s !== undefined) rec.upstreamCluster = s; break; }
      case R_upstreamHost: { const s = str(v); if (s !== undefined) rec.upstreamHost = s; break; }
      case R_route: { const s = str(v); if (s !== undefined) rec.routeName = s; break; }
      case R_remote: if (endpointInto(v)) { remoteIp = EP_ADDRESS; remotePort = EP_PORT; } break;
      case R_remoteIp: remoteIp = str(v) ?? remoteIp; break;
      case R_remotePort: remotePort = num(v) ?? remotePort; break;
      case R_direct: if (endpointInto(v)) { directIp = EP_ADDRESS; directPort = EP_PORT; } break;
      case R_directIp: directIp = str(v) ?? directIp; break;
      case R_directPort: directPort = num(v) ?? directPort; break;
      case R_local: if (endpointInto(v)) { localIp = EP_ADDRESS; localPort = EP_PORT; } break;
      case R_localIp: localIp = str(v) ?? localIp; break;
      case R_localPort: localPort = num(v) ?? localPort; break;
      case R_sni: { const s = str(v); if (s !== undefined) attrs.sni = s; break; }
      case R_uriSan: uriSan = str(v); break;
      case R_dnsSan: dnsSan = str(v); break;
      case R_subject: subject = str(v); break;
      case R_tlsVersion: tlsVersion = str(v); break;
      case R_metadata: {
        const s = typeof v === 'string' ? (v === '-' ? undefined : parseMaybeJson(v)) : v ?? undefined;
        if (s !== undefined && s !== null) setPath((attrs.metadata ??= {}), p.op.namespace!, p.op.path ?? [], s);
        break;
      }
      case R_filterState: {
        const s = typeof v === 'string' ? (v === '-' ? undefined : v) : v ?? undefined;
        if (s !== undefined && s !== null) (attrs.filterState ??= {})[p.op.namespace!] = s;
        break;
      }
      default:
        break;
    }
  }
  if (headerMask !== 0) headers = headerBuilder(plan, headerMask)(HEADER_VALUES);
  const f = plan.logs;
  let facts = 0;

  // Addresses.
  if (remoteIp !== undefined) {
    const e: Endpoint = remotePort === undefined ? { address: remoteIp } : { address: remoteIp, port: remotePort };
    attrs.source = e;
    attrs.remote = e;
    facts |= U_REMOTE;
  }
  if (localIp !== undefined) {
    attrs.destination = localPort === undefined ? { address: localIp } : { address: localIp, port: localPort };
    facts |= localPort === undefined ? U_LOCAL | U_LOCAL_NO_PORT : U_LOCAL;
  }

  // Request line: "- - -" is a TCP connection.
  const isHttp = method !== undefined || path !== undefined || protocol !== undefined || authority !== undefined;
  rec.kind = isHttp ? 'http' : f.methodOrProtocol ? 'tcp' : (f.code && (rec.responseCode ?? 0) > 0 ? 'http' : 'tcp');

  // An HTTP %DOWNSTREAM_REMOTE_ADDRESS% with port 0 was set by the HCM from X-Forwarded-For (use_remote_address /
  // xff_num_trusted_hops) or an original-IP detection extension: it is the remote address (remote_ip), not the
  // connection peer that source_ip reads, which the record then does not carry.
  if (rec.kind === 'http' && attrs.remote?.port === 0) {
    delete attrs.source;
    facts |= U_XFF_REMOTE;
  }
  // directRemote: logged, or equal to remote when nothing could have rewritten it (TCP; HTTP without XFF).
  if (directIp !== undefined) {
    attrs.directRemote = directPort === undefined ? { address: directIp } : { address: directIp, port: directPort };
    facts |= U_DIRECT;
  } else if (f.direct) {
    /* logged as absent */
  } else if (attrs.remote && attrs.remote.port !== 0 && (rec.kind === 'tcp' || (plan.logsXff && xff === undefined))) {
    attrs.directRemote = attrs.remote;
    facts |= U_DIRECT;
  }

  let truncated: string[] | null = null;
  if (rec.kind === 'http') {
    facts |= U_HTTP;
    const http: RequestAttrs['http'] = { headers: headers ?? {} };
    if (method !== undefined) http.method = method;
    if (path !== undefined) http.path = path;
    if (authority !== undefined) http.authority = authority;
    if (scheme !== undefined) http.scheme = scheme;
    if (protocol !== undefined) http.protocol = protocol;
    attrs.http = http;
    if (plan.knownHeaders.length) rec.knownHeaders = plan.knownHeaders;
    for (const p of plan.truncating) {
      const s = str(values[p.op.key]);
      if (s !== undefined && s.length >= p.op.maxLength!) (truncated ??= []).push(p.role === 'path' ? ATTR.path : p.role === 'method' ? ATTR.method : ATTR.authority);
    }
  }

  // TLS: proven by a TLS version or a peer SAN; absent only when the log says "no TLS version".
  if (tlsVersion !== undefined || uriSan !== undefined || dnsSan !== undefined || subject !== undefined) {
    const tls: PeerTls = {
      uriSans: uriSan ? uriSan.split(',').map((s) => s.trim()).filter(Boolean) : [],
      dnsSans: dnsSan ? dnsSan.split(',').map((s) => s.trim()).filter(Boolean) : [],
      subject: subject ?? '',
      peerCertificateValidated: uriSan !== undefined || dnsSan !== undefined || subject !== undefined,
    };
    if (tlsVersion !== undefined) tls.version = tlsVersion;
    attrs.tls = tls;
    attrs.transportProtocol = 'tls';
    facts |= U_TLS;
  } else if (f.tlsVersion) {
    attrs.transportProtocol = 'raw_buffer'; // logged "-": no TLS on the downstream connection
  }
  const byFacts = plan.unknownByFacts;
  if (byFacts !== null) rec.unknown = byFacts[facts] ??= unknownList(plan, facts, null);
  else rec.unknown = unknownList(plan, facts, truncated);
  if (extra !== undefined) rec.fields = { ...values, _extra: extra };
  return rec;
}
