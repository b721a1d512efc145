/**
 * Envoy's gRPC Access Log Service messages (our protos/, Envoy's names and field numbers) and the
 * conversion of HTTPAccessLogEntry / TCPAccessLogEntry into AccessRecords.
 * What ALS carries and does not: research/envoy-rbac-semantics.md §7.1–7.2 (URI SANs only, no DNS SANs,
 * no "validated" bit, only configured headers, dynamic metadata at log time).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';
import { protobuf as loadProtobuf } from '../../model/lazy.js';
import type { Endpoint, HeaderMap, JsonValue, PeerTls, RequestAttrs } from '../../model/attrs.js';
import type { AccessRecord, EvidenceRef } from '../../model/records.js';
import { ATTR, normalizeTime } from './record.js';

/** Directory holding our .proto files (works from src/ under vitest and from dist/src/ when built). */
export function protosDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = join(dir, 'protos');
    if (existsSync(join(cand, 'envoy/service/accesslog/v3/als.proto'))) return cand;
    dir = dirname(dir);
  }
  throw new Error('cannot find the protos/ directory (envoy/service/accesslog/v3/als.proto)');
}

export interface AlsTypes {
  root: protobuf.Root;
  message: protobuf.Type;
  response: protobuf.Type;
  http: protobuf.Type;
  tcp: protobuf.Type;
}

let cached: AlsTypes | undefined;

/** Loads our ALS protos once. */
export function alsTypes(): AlsTypes {
  if (cached) return cached;
  const base = protosDir();
  const root = new (loadProtobuf().Root)();
  root.resolvePath = (_origin: string, target: string) => (target.startsWith('google/protobuf/') ? target : join(base, target));
  root.loadSync('envoy/service/accesslog/v3/als.proto', { keepCase: true });
  root.resolveAll();
  cached = {
    root,
    message: root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage'),
    response: root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsResponse'),
    http: root.lookupType('envoy.data.accesslog.v3.HTTPAccessLogEntry'),
    tcp: root.lookupType('envoy.data.accesslog.v3.TCPAccessLogEntry'),
  };
  return cached;
}

/** protobuf JSON of a decoded message: snake_case, enums by name, 64-bit integers as strings. */
export function messageToJson(type: protobuf.Type, msg: protobuf.Message): Record<string, JsonValue> {
  return type.toObject(msg, { longs: String, enums: String, bytes: String, defaults: false, oneofs: false }) as Record<string, JsonValue>;
}

/** One line of `collect`'s NDJSON output. */
export interface AlsLine {
  type: 'als';
  kind: 'http' | 'tcp';
  node: string | null;
  logName: string | null;
  /** Stream label assigned by the collector (`<peer>#<n>`). */
  stream: string;
  /** Index of the entry within its stream (0-based). */
  index: number;
  /** RFC 3339 UTC receive time. */
  received: string;
  /** The HTTPAccessLogEntry / TCPAccessLogEntry as protobuf JSON (snake_case). */
  entry: Record<string, JsonValue>;
  [extra: string]: JsonValue;
}

/**
 * The longest NDJSON line the collector writes and the access-log reader accepts (UTF-16 code units): one
 * limit on both sides, so whatever `collect` wrote, `explain` and `report` read back. The collector's gRPC
 * receive limit is ALS_MAX_MESSAGE_BYTES; JSON can be longer than the protobuf bytes (field names, escapes),
 * so a line gets twice that, and an entry whose line would be longer still is refused by the collector.
 */
export const ALS_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const MAX_LOG_LINE_LENGTH = 2 * ALS_MAX_MESSAGE_BYTES;

/** An ALS entry field outside what its protobuf type can hold (e.g. a Timestamp past year 9999). */
export class AlsFieldError extends Error {}

export function isAlsLine(obj: Record<string, JsonValue>): boolean {
  return obj.type === 'als' && (obj.kind === 'http' || obj.kind === 'tcp') && typeof obj.entry === 'object' && obj.entry !== null;
}

type Obj = Record<string, JsonValue>;

function o(v: JsonValue | undefined): Obj | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function s(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function n(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  const w = o(v);
  if (w) return n(w.value);
  return undefined;
}

function addressOf(v: JsonValue | undefined): Endpoint | undefined {
  const a = o(v);
  const sa = a && o(a.socket_address);
  if (!sa) {
    const pipe = a && o(a.pipe);
    if (pipe && s(pipe.path)) return { address: s(pipe.path)! };
    const internal = a && o(a.envoy_internal_address);
    if (internal && s(internal.server_listener_name)) return { address: `envoy://${s(internal.server_listener_name)}` };
    return undefined;
  }
  const address = s(sa.address) ?? '';
  const port = n(sa.port_value);
  return port === undefined ? { address } : { address, port };
}

function formatAddress(e: Endpoint | undefined): string | null {
  if (!e) return null;
  const a = e.address.includes(':') ? `[${e.address}]` : e.address;
  return e.port === undefined ? e.address : `${a}:${e.port}`;
}

const FLAG_NAMES: [string, string][] = [
  ['failed_local_healthcheck', 'LH'], ['no_healthy_upstream', 'UH'], ['upstream_request_timeout', 'UT'],
  ['local_reset', 'LR'], ['upstream_remote_reset', 'UR'], ['upstream_connection_failure', 'UF'],
  ['upstream_connection_termination', 'UC'], ['upstream_overflow', 'UO'], ['no_route_found', 'NR'],
  ['delay_injected', 'DI'], ['fault_injected', 'FI'], ['rate_limited', 'RL'], ['unauthorized_details', 'UAEX'],
  ['rate_limit_service_error', 'RLSE'], ['downstream_connection_termination', 'DC'],
  ['upstream_retry_limit_exceeded', 'URX'], ['stream_idle_timeout', 'SI'], ['invalid_envoy_request_headers', 'IH'],
  ['downstream_protocol_error', 'DPE'], ['upstream_max_stream_duration_reached', 'UMSDR'],
  ['response_from_cache_filter', 'RFCF'], ['no_filter_config_found', 'NFCF'], ['duration_timeout', 'DT'],
  ['upstream_protocol_error', 'UPE'], ['no_cluster_found', 'NC'], ['overload_manager', 'OM'],
  ['dns_resolution_failure', 'DF'], ['downstream_remote_reset', 'DR'],
];

/** ResponseFlags message → Envoy's short flag string (`NR`, `UF,URX`), `undefined` when none set. */
export function responseFlagsString(v: JsonValue | undefined): string | undefined {
  const f = o(v);
  if (!f) return undefined;
  const out: string[] = [];
  for (const [k, short] of FLAG_NAMES) if (f[k]) out.push(short);
  return out.length ? out.join(',') : undefined;
}

/** google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
const TIMESTAMP_MIN_SECONDS = -62135596800;
const TIMESTAMP_MAX_SECONDS = 253402300799;

function timestamp(v: JsonValue | undefined, field: string): { time: string; timeMs: number } | undefined {
  const t = o(v);
  if (!t) return undefined;
  const secs = n(t.seconds) ?? 0;
  const nanos = n(t.nanos) ?? 0;
  if (!Number.isInteger(secs) || secs < TIMESTAMP_MIN_SECONDS || secs > TIMESTAMP_MAX_SECONDS)
    throw new AlsFieldError(`${field}.seconds = ${String(t.seconds)} is outside google.protobuf.Timestamp's range (years 0001..9999)`);
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) throw new AlsFieldError(`${field}.nanos = ${String(t.nanos)} is outside 0..999999999`);
  const ms = secs * 1000 + nanos / 1e6;
  const iso = new Date(secs * 1000).toISOString().slice(0, 19);
  const frac = nanos ? '.' + String(nanos).padStart(9, '0').replace(/0+$/, '') : '';
  return { time: `${iso}${frac}Z`, timeMs: ms };
}

function durationMs(v: JsonValue | undefined): number | undefined {
  const d = o(v);
  if (!d) return undefined;
  return (n(d.seconds) ?? 0) * 1000 + Math.round((n(d.nanos) ?? 0) / 1e6);
}

/** Any → value when we know the packed type (StringValue, Struct-free scalars); otherwise the Any as JSON. */
function anyValue(v: JsonValue | undefined): JsonValue {
  const a = o(v);
  if (!a) return null;
  const url = s(a.type_url) ?? '';
  const b64 = typeof a.value === 'string' ? a.value : '';
  if (url.endsWith('google.protobuf.StringValue')) {
    try {
      const sv = alsTypes().root.lookupType('google.protobuf.StringValue');
      const m = sv.decode(Buffer.from(b64, 'base64')) as unknown as { value?: string };
      return m.value ?? '';
    } catch {
      return a;
    }
  }
  return a;
}

/** google.protobuf.Struct as protobufjs's toObject writes it (`fields`/`stringValue`) → plain JSON; plain JSON passes through. */
export function structToJson(v: JsonValue | undefined): JsonValue {
  const st = o(v);
  if (!st) return v ?? null;
  const fields = o(st.fields);
  if (!fields || Object.keys(st).length !== 1) return st;
  const out: Record<string, JsonValue> = {};
  for (const [k, x] of Object.entries(fields)) out[k] = valueToJson(x);
  return out;
}

function valueToJson(v: JsonValue | undefined): JsonValue {
  const x = o(v);
  if (!x) return v ?? null;
  if ('stringValue' in x || 'string_value' in x) return (x.stringValue ?? x.string_value) as JsonValue;
  if ('numberValue' in x || 'number_value' in x) return (x.numberValue ?? x.number_value) as JsonValue;
  if ('boolValue' in x || 'bool_value' in x) return (x.boolValue ?? x.bool_value) as JsonValue;
  if ('nullValue' in x || 'null_value' in x) return null;
  if ('structValue' in x || 'struct_value' in x) return structToJson(x.structValue ?? x.struct_value);
  if ('listValue' in x || 'list_value' in x) {
    const l = o(x.listValue ?? x.list_value);
    return Array.isArray(l?.values) ? (l!.values as JsonValue[]).map(valueToJson) : [];
  }
  return x;
}

/** Converts one ALS entry (protobuf JSON) into an AccessRecord. */
export function alsEntryToRecord(kind: 'http' | 'tcp', entry: Obj, ref: EvidenceRef, node?: string | null, logName?: string | null): AccessRecord {
  const common = o(entry.common_properties) ?? {};
  const attrs: RequestAttrs = {};
  const fields: Record<string, JsonValue> = {};
  const rec: AccessRecord = { ref, kind, attrs, unknown: [], fields, format: 'als' };
  if (node) rec.node = node;
  if (logName) rec.logName = logName;

  const t = timestamp(common.start_time, 'entry.common_properties.start_time');
  if (t) {
    rec.time = normalizeTime(t.time).time;
    rec.timeMs = t.timeMs;
    fields.START_TIME = t.time;
  }
  const remote = addressOf(common.downstream_remote_address);
  const direct = addressOf(common.downstream_direct_remote_address);
  const local = addressOf(common.downstream_local_address);
  if (remote) {
    attrs.remote = remote;
    // Port 0 on an HTTP entry: the HCM took the address from X-Forwarded-For; source_ip's connection peer is not logged.
    // (protobuf JSON omits port_value 0, so an IP without a port is the same case).
    if (kind === 'http' && (remote.port ?? 0) === 0 && /^[0-9a-f:.]+$/i.test(remote.address)) rec.unknown.push(ATTR.source);
    else attrs.source = remote;
  } else rec.unknown.push(ATTR.source, ATTR.remote);
  if (direct) attrs.directRemote = direct;
  else rec.unknown.push(ATTR.directRemote);
  if (local) attrs.destination = local;
  else rec.unknown.push(ATTR.destination);
  fields.DOWNSTREAM_REMOTE_ADDRESS = formatAddress(remote);
  fields.DOWNSTREAM_DIRECT_REMOTE_ADDRESS = formatAddress(direct);
  fields.DOWNSTREAM_LOCAL_ADDRESS = formatAddress(local);

  // TLS: Envoy fills tls_version for every TLS connection; the SNI may be set without TLS.
  const tlsp = o(common.tls_properties);
  const sni = tlsp && s(tlsp.tls_sni_hostname);
  if (sni) attrs.sni = sni;
  fields.REQUESTED_SERVER_NAME = sni ?? null;
  const version = tlsp && s(tlsp.tls_version);
  if (version && version !== 'VERSION_UNSPECIFIED') {
    const peer = o(tlsp!.peer_certificate_properties);
    const sans = Array.isArray(peer?.subject_alt_name) ? (peer!.subject_alt_name as JsonValue[]) : [];
    const uriSans = sans.map((x) => s(o(x)?.uri)).filter((x): x is string => x !== undefined);
    const tls: PeerTls = {
      version: version.replace('_', '.'),
      uriSans,
      dnsSans: [],
      subject: s(peer?.subject) ?? '',
      peerCertificateValidated: peer !== undefined,
    };
    attrs.tls = tls;
    attrs.transportProtocol = 'tls';
    rec.unknown.push(ATTR.dnsSans, ATTR.validated);
    fields.DOWNSTREAM_TLS_VERSION = tls.version ?? null;
    fields.DOWNSTREAM_PEER_URI_SAN = uriSans.length ? uriSans.join(',') : null;
  } else {
    attrs.transportProtocol = 'raw_buffer';
    fields.DOWNSTREAM_TLS_VERSION = null;
  }

  const md = o(common.metadata);
  const fm = md && o(md.filter_metadata);
  if (fm && Object.keys(fm).length) {
    const meta: Record<string, JsonValue> = {};
    for (const [ns, st] of Object.entries(fm)) meta[ns] = structToJson(st);
    attrs.metadata = meta;
  }
  const fso = o(common.filter_state_objects);
  if (fso) {
    for (const [k, v] of Object.entries(fso)) (attrs.filterState ??= {})[k] = anyValue(v);
  }
  rec.unknown.push(ATTR.filterState);

  const flags = responseFlagsString(common.response_flags);
  if (flags) rec.responseFlags = flags;
  fields.RESPONSE_FLAGS = flags ?? null;
  const ctd = s(common.connection_termination_details);
  if (ctd) rec.connectionTerminationDetails = ctd;
  fields.CONNECTION_TERMINATION_DETAILS = ctd ?? null;
  const cluster = s(common.upstream_cluster);
  if (cluster) rec.upstreamCluster = cluster;
  const upstreamHost = formatAddress(addressOf(common.upstream_remote_address));
  if (upstreamHost) rec.upstreamHost = upstreamHost;
  const route = s(common.route_name);
  if (route) rec.routeName = route;
  const dur = durationMs(common.duration);
  if (dur !== undefined) rec.durationMs = dur;
  fields.UPSTREAM_CLUSTER = cluster ?? null;
  fields.UPSTREAM_HOST = upstreamHost;
  fields.ROUTE_NAME = route ?? null;

  if (kind === 'http') {
    const req = o(entry.request) ?? {};
    const resp = o(entry.response) ?? {};
    const headers: HeaderMap = {};
    const rh = o(req.request_headers);
    if (rh) for (const [k, v] of Object.entries(rh)) if (typeof v === 'string') headers[k.toLowerCase()] = [v];
    const xff = s(req.forwarded_for);
    if (xff) headers['x-forwarded-for'] = [xff];
    const ua = s(req.user_agent);
    if (ua) {
      headers['user-agent'] = [ua];
      rec.userAgent = ua;
    }
    const rid = s(req.request_id);
    if (rid) {
      headers['x-request-id'] = [rid];
      rec.requestId = rid;
    }
    const referer = s(req.referer);
    if (referer) headers.referer = [referer];
    const method = s(req.request_method);
    const http: RequestAttrs['http'] = { headers };
    if (method && method !== 'METHOD_UNSPECIFIED') http.method = method;
    else rec.unknown.push(ATTR.method); // lower-case or extension methods log as METHOD_UNSPECIFIED
    // RBAC runs before the router: the pre-rewrite path is original_path when the router rewrote it.
    const path = s(req.original_path) ?? s(req.path);
    if (path !== undefined) http.path = path;
    const authority = s(req.authority);
    if (authority !== undefined) http.authority = authority;
    const scheme = s(req.scheme);
    if (scheme !== undefined) http.scheme = scheme;
    const pv = s(entry.protocol_version);
    const proto = pv === 'HTTP10' ? 'HTTP/1.0' : pv === 'HTTP11' ? 'HTTP/1.1' : pv === 'HTTP2' ? 'HTTP/2' : pv === 'HTTP3' ? 'HTTP/3' : undefined;
    if (proto) http.protocol = proto;
    attrs.http = http;
    rec.unknown.push(ATTR.headers);
    rec.knownHeaders = Object.keys(headers);
    const code = n(resp.response_code);
    if (code !== undefined) rec.responseCode = code;
    const rcd = s(resp.response_code_details);
    if (rcd) rec.responseCodeDetails = rcd;
    const bin = n(req.request_body_bytes);
    if (bin !== undefined) rec.bytesReceived = bin;
    const bout = n(resp.response_body_bytes);
    if (bout !== undefined) rec.bytesSent = bout;
    fields['REQ(:METHOD)'] = http.method ?? null;
    fields['REQ(X-ENVOY-ORIGINAL-PATH?:PATH)'] = http.path ?? null;
    fields['REQ(:AUTHORITY)'] = http.authority ?? null;
    fields.PROTOCOL = proto ?? null;
    fields.RESPONSE_CODE = code ?? null;
    fields.RESPONSE_CODE_DETAILS = rcd ?? null;
  } else {
    const cp = o(entry.connection_properties) ?? {};
    const rb = n(cp.received_bytes);
    const sb = n(cp.sent_bytes);
    if (rb !== undefined) rec.bytesReceived = rb;
    if (sb !== undefined) rec.bytesSent = sb;
    rec.responseCode = 0;
  }
  fields.BYTES_RECEIVED = rec.bytesReceived ?? null;
  fields.BYTES_SENT = rec.bytesSent ?? null;
  return rec;
}

/** A saved `collect` NDJSON line → AccessRecord. */
export function alsLineToRecord(line: AlsLine | Obj, ref: EvidenceRef): AccessRecord {
  const l = line as AlsLine;
  const r = alsEntryToRecord(l.kind, l.entry, { ...ref, stream: l.stream, index: l.index }, l.node, l.logName);
  return r;
}
