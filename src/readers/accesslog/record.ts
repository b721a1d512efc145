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
}

/** A trie of `unknown` lists: a record's list is a path of attribute names from the root. */
interface UnknownNode {
  next: Map<string, UnknownNode> | null;
  list: string[] | null;
}

/**
 * The frozen list equal to `items` (a format's records have few distinct lists: one shared array each, so
 * consumers can key work on the list's identity, and no record carries its own copy).
 */
function internUnknown(root: UnknownNode, items: string[]): string[] {
  let n = root;
  for (let i = 0; i < items.length; i++) {
    const m = (n.next ??= new Map());
    let c = m.get(items[i]!);
    if (c === undefined) {
      c = { next: null, list: null };
      m.set(items[i]!, c);
    }
    n = c;
  }
  return (n.list ??= Object.freeze(items.slice()) as string[]);
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
  return { ops, has, knownHeaders, logsXff: knownHeaders.includes('x-forwarded-for'), unknownLists: { next: null, list: null } };
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
  if (minutePrefix.length !== 16) return false;
  for (let i = 15; i >= 0; i--) if (raw.charCodeAt(i) !== minutePrefix.charCodeAt(i)) return false;
  return true;
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

/** RFC 3339 UTC with the log's precision; non-ISO start times (custom %START_TIME(fmt)%) are parsed when possible. */
export function normalizeTime(raw: string): { time: string; timeMs?: number } {
  if (raw.charCodeAt(raw.length - 1) === 90 /* Z */) {
    const ms = utcMs(raw);
    return Number.isNaN(ms) ? { time: raw } : { time: raw, timeMs: ms };
  }
  const ms = Date.parse(raw);
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
          const t = normalizeTime(s);
          rec.time = t.time;
          if (t.timeMs !== undefined) rec.timeMs = t.timeMs;
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
        if (p.header === 'x-forwarded-for') xff = s;
        if (p.header === 'x-request-id' && s !== undefined) rec.requestId = s;
        if (p.header === 'user-agent' && s !== undefined) rec.userAgent = s;
        if (s !== undefined) (headers ??= {})[p.header!] = [s];
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
      case R_remote: { const e = endpoint(v); if (e) { remoteIp = e.address; remotePort = e.port; } break; }
      case R_remoteIp: remoteIp = str(v) ?? remoteIp; break;
      case R_remotePort: remotePort = num(v) ?? remotePort; break;
      case R_direct: { const e = endpoint(v); if (e) { directIp = e.address; directPort = e.port; } break; }
      case R_directIp: directIp = str(v) ?? directIp; break;
      case R_directPort: directPort = num(v) ?? directPort; break;
      case R_local: { const e = endpoint(v); if (e) { localIp = e.address; localPort = e.port; } break; }
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
  const unknown = UNKNOWN_SCRATCH;
  unknown.length = 0;
  const has = plan.has;

  // Addresses.
  if (remoteIp !== undefined) {
    const e: Endpoint = remotePort === undefined ? { address: remoteIp } : { address: remoteIp, port: remotePort };
    attrs.source = e;
    attrs.remote = e;
  } else if (!has.has('remote') && !has.has('remoteIp')) {
    unknown.push(ATTR.source, ATTR.remote);
  }
  if (localIp !== undefined) attrs.destination = localPort === undefined ? { address: localIp } : { address: localIp, port: localPort };
  else if (!has.has('local') && !has.has('localIp')) unknown.push(ATTR.destination);
  if (attrs.destination && attrs.destination.port === undefined) unknown.push(ATTR.destinationPort);
  if (!has.has('sni')) unknown.push(ATTR.sni);

  // Request line: "- - -" is a TCP connection.
  const isHttp = method !== undefined || path !== undefined || protocol !== undefined || authority !== undefined;
  rec.kind = isHttp ? 'http' : (has.has('method') || has.has('protocol')) ? 'tcp' : (has.has('code') && (rec.responseCode ?? 0) > 0 ? 'http' : 'tcp');

  // An HTTP %DOWNSTREAM_REMOTE_ADDRESS% with port 0 was set by the HCM from X-Forwarded-For (use_remote_address /
  // xff_num_trusted_hops) or an original-IP detection extension: it is the remote address (remote_ip), not the
  // connection peer that source_ip reads, which the record then does not carry.
  if (rec.kind === 'http' && attrs.remote?.port === 0) {
    delete attrs.source;
    unknown.push(ATTR.source);
  }
  // directRemote: logged, or equal to remote when nothing could have rewritten it (TCP; HTTP without XFF).
  if (directIp !== undefined) attrs.directRemote = directPort === undefined ? { address: directIp } : { address: directIp, port: directPort };
  else if (has.has('direct') || has.has('directIp')) {
    /* logged as absent */
  } else if (attrs.remote && attrs.remote.port !== 0 && (rec.kind === 'tcp' || (plan.logsXff && xff === undefined))) {
    attrs.directRemote = attrs.remote;
  } else {
    unknown.push(ATTR.directRemote);
  }

  if (rec.kind === 'http') {
    const http: RequestAttrs['http'] = { headers: headers ?? {} };
    if (method !== undefined) http.method = method;
    if (path !== undefined) http.path = path;
    if (authority !== undefined) http.authority = authority;
    if (scheme !== undefined) http.scheme = scheme;
    if (protocol !== undefined) http.protocol = protocol;
    attrs.http = http;
    if (!has.has('method')) unknown.push(ATTR.method);
    if (!has.has('path')) unknown.push(ATTR.path);
    if (!has.has('authority')) unknown.push(ATTR.authority);
    unknown.push(ATTR.headers);
    if (plan.knownHeaders.length) rec.knownHeaders = plan.knownHeaders;
    for (const p of plan.ops) {
      if (p.op.maxLength !== undefined && (p.role === 'path' || p.role === 'authority' || p.role === 'method')) {
        const s = str(values[p.op.key]);
        if (s !== undefined && s.length >= p.op.maxLength) unknown.push(p.role === 'path' ? ATTR.path : p.role === 'method' ? ATTR.method : ATTR.authority);
      }
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
    if (!has.has('uriSan')) unknown.push(ATTR.uriSans);
    if (!has.has('dnsSan')) unknown.push(ATTR.dnsSans);
    if (!has.has('subject')) unknown.push(ATTR.subject);
    unknown.push(ATTR.validated);
  } else if (has.has('tlsVersion')) {
    attrs.transportProtocol = 'raw_buffer'; // logged "-": no TLS on the downstream connection
  } else {
    unknown.push(ATTR.tls);
    if (!has.has('uriSan')) unknown.push(ATTR.uriSans);
    if (!has.has('dnsSan')) unknown.push(ATTR.dnsSans);
    if (!has.has('subject')) unknown.push(ATTR.subject);
  }
  unknown.push(ATTR.metadata, ATTR.filterState);
  rec.unknown = internUnknown(plan.unknownLists, unknown);
  if (extra !== undefined) rec.fields = { ...values, _extra: extra };
  return rec;
}
