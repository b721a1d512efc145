/**
 * ztunnel (Istio ambient) access logs, recognised by content so a log mixing ztunnel and Envoy
 * lines is split line by line:
 * - plain (`LOG_FORMAT=plain`, the default): `<RFC 3339 µs>\t<level>\t<target>\t<message>\t<k=v …>`,
 *   tabs or (after copy/paste) spaces; string values are Rust-Debug quoted (`src.workload="x"`),
 *   Display values bare (`src.addr=10.0.0.1:5000`); both spellings are accepted for every key;
 * - JSON (`LOG_FORMAT=json`): `{"level":"info","time":…,"scope":"access","message":"connection complete","src.addr":…}`;
 * - pre-1.22 span lines (`[proxy{uid=…}:]inbound{id=… peer_ip=… peer_id=…}: ztunnel::proxy::inbound: got CONNECT request to ip:port`,
 *   `outbound{id=…}: ztunnel::proxy::outbound: proxy to … using HBONE via …`, `… complete dur=…`, `RBAC rejected conn=…`),
 *   as far as they carry facts.
 * Field names and messages follow ztunnel's `src/proxy/metrics.rs`; the `error` values are
 * classified after `src/proxy.rs` (`Error`, `AuthorizationRejectionError`).
 */
import type { JsonValue, RequestAttrs } from '../../model/attrs.js';
import type { AccessRecord, EvidenceRef, ZtunnelError, ZtunnelLogFacts } from '../../model/records.js';
import { splitAddress } from './format.js';
import { zonelessAsUtc } from './record.js';

/** The messages ztunnel's access scope writes. */
export const ZTUNNEL_ACCESS_MESSAGES = ['connection opened', 'connection complete', 'connection failed'] as const;

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'warning', 'error']);
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;

/** What one line is, for the reader: an access record's facts, another ztunnel line, or not ztunnel at all. */
export type ZtunnelLine =
  | { type: 'access'; time?: string; level?: string; message: string; fields: Record<string, string>; format: 'ztunnel' | 'ztunnel-json' | 'ztunnel-legacy'; legacy?: LegacyFacts }
  /** A ztunnel line of the access scope with a message we do not know (counted and named). */
  | { type: 'unknown-access'; message: string }
  /** Another ztunnel line (xds, state, dns, …): the proxy's own log. */
  | { type: 'other'; target: string };

interface LegacyFacts {
  direction?: 'inbound' | 'outbound';
  id?: string;
  peerIp?: string;
  peerId?: string;
  dst?: string;
  via?: string;
  durationMs?: number;
  rejected?: boolean;
}

/** Parses `k=v k2="quoted \"v\""` (Rust Debug escapes) into a map. Returns null on an unterminated quote. */
export function parseKeyValues(s: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= n) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) return null;
    const key = s.slice(i, eq);
    if (!/^[A-Za-z_][\w.]*$/.test(key)) return null;
    i = eq + 1;
    if (s[i] === '"') {
      let v = '';
      i++;
      let closed = false;
      while (i < n) {
        const ch = s[i]!;
        if (ch === '\\' && i + 1 < n) {
          const e = s[i + 1]!;
          if (e === 'n') v += '\n';
          else if (e === 't') v += '\t';
          else if (e === 'r') v += '\r';
          else if (e === '0') v += '\0';
          else if (e === 'u' && s[i + 2] === '{') {
            const close = s.indexOf('}', i + 3);
            if (close < 0) return null;
            v += String.fromCodePoint(parseInt(s.slice(i + 3, close), 16));
            i = close + 1;
            continue;
          } else v += e;
          i += 2;
          continue;
        }
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        v += ch;
        i++;
      }
      if (!closed) return null;
      out[key] = v;
    } else {
      let j = i;
      while (j < n && s[j] !== ' ' && s[j] !== '\t') j++;
      out[key] = s.slice(i, j);
      i = j;
    }
  }
  return out;
}

const LEGACY_SPAN = /^((?:[\w]+\{[^{}]*\}:)*)\s*(ztunnel::[\w:]+):\s(.*)$/;

function parseSpans(s: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const re = /(\w+)\{([^{}]*)\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out[m[1]!] = parseKeyValues(m[2]!) ?? {};
  return out;
}

/** Pre-1.22 (`INFO inbound{…}: ztunnel::proxy::inbound: got CONNECT request to …`). */
function parseLegacy(time: string, level: string, rest: string): ZtunnelLine | null {
  const m = LEGACY_SPAN.exec(rest);
  if (!m) return null;
  const spans = parseSpans(m[1]!);
  const target = m[2]!;
  const msg = m[3]!.trim();
  const inbound = spans.inbound;
  const outbound = spans.outbound;
  const facts: LegacyFacts = {};
  if (inbound) {
    facts.direction = 'inbound';
    facts.id = inbound.id;
    if (inbound.peer_ip) facts.peerIp = inbound.peer_ip;
    if (inbound.peer_id) facts.peerId = inbound.peer_id;
  } else if (outbound) {
    facts.direction = 'outbound';
    facts.id = outbound.id;
  }
  let g: RegExpExecArray | null;
  if ((g = /^got CONNECT request to (\S+)$/.exec(msg))) {
    facts.dst = g[1]!;
    return { type: 'access', time, level, message: 'connection opened', fields: {}, format: 'ztunnel-legacy', legacy: facts };
  }
  if ((g = /^proxy(?:ing)? to (\S+) using (HBONE|TCP)(?: via (\S+))?/.exec(msg))) {
    facts.dst = g[1]!;
    if (g[3]) facts.via = g[3];
    return { type: 'access', time, level, message: 'connection opened', fields: { protocol: g[2]! }, format: 'ztunnel-legacy', legacy: facts };
  }
  if ((g = /^complete dur=([\d.]+)(ns|µs|us|ms|s)$/.exec(msg))) {
    const v = Number(g[1]);
    const mult = g[2] === 's' ? 1000 : g[2] === 'ms' ? 1 : g[2] === 'ns' ? 1e-6 : 1e-3;
    facts.durationMs = v * mult;
    return { type: 'access', time, level, message: 'connection complete', fields: {}, format: 'ztunnel-legacy', legacy: facts };
  }
  if ((g = /^RBAC rejected conn=(\S+?)\(([^)]*)\)->(\S+)$/.exec(msg))) {
    facts.peerIp = g[1]!;
    if (g[2] && g[2] !== 'None') facts.peerId = g[2];
    facts.dst = g[3]!;
    facts.rejected = true;
    facts.direction = 'inbound';
    return { type: 'access', time, level, message: 'connection failed', fields: { error: 'connection closed due to policy rejection' }, format: 'ztunnel-legacy', legacy: facts };
  }
  if (target.startsWith('ztunnel::proxy') && (inbound || outbound)) return { type: 'unknown-access', message: msg.replace(/\d+(\.\d+)*(:\d+)?/g, '…').slice(0, 80) };
  return { type: 'other', target };
}

/**
 * Recognises one ztunnel line. Returns null when the line is not ztunnel's (an Envoy line, a JSON
 * line of another producer, free text).
 */
export function parseZtunnelLine(line: string): ZtunnelLine | null {
  const c0 = line.charCodeAt(0);
  if (c0 === 123 /* { */) {
    if (!line.includes('"message"') && !line.includes('"msg"')) return null;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      return null;
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
    const r = o as Record<string, unknown>;
    const scope = typeof r.scope === 'string' ? r.scope : typeof r.target === 'string' ? r.target : undefined;
    const message = typeof r.message === 'string' ? r.message : typeof r.msg === 'string' ? r.msg : undefined;
    if (scope === undefined || message === undefined) return null;
    const isAccess = scope === 'access';
    const looksZtunnel = isAccess ? 'src.addr' in r || 'dst.addr' in r || (ZTUNNEL_ACCESS_MESSAGES as readonly string[]).includes(message) : scope.startsWith('ztunnel');
    if (!looksZtunnel) return null;
    if (!isAccess) return { type: 'other', target: scope };
    if (!(ZTUNNEL_ACCESS_MESSAGES as readonly string[]).includes(message)) return { type: 'unknown-access', message };
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'level' || k === 'time' || k === 'timestamp' || k === 'scope' || k === 'target' || k === 'message' || k === 'msg') continue;
      if (typeof v === 'string') fields[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
    }
    const time = typeof r.time === 'string' ? r.time : typeof r.timestamp === 'string' ? r.timestamp : undefined;
    return { type: 'access', ...(time ? { time } : {}), ...(typeof r.level === 'string' ? { level: r.level.toLowerCase() } : {}), message, fields, format: 'ztunnel-json' };
  }
  if (c0 < 48 || c0 > 57) return null;
  // <time> <level> <target> <message> <kv…>, separated by tabs (or runs of spaces after copy/paste).
  const m = /^(\S+)[\t ]+([A-Za-z]+)[\t ]+(.*)$/.exec(line);
  if (!m || !TS.test(m[1]!)) return null;
  const time = m[1]!;
  const level = m[2]!.toLowerCase();
  if (!LEVELS.has(level)) return null;
  const rest = m[3]!;
  const tm = /^([\w:]+)(?:\t|[ ]{1,})(.*)$/.exec(rest);
  if (tm && tm[1] === 'access') {
    const body = tm[2]!;
    // The message runs up to the first `key=` token (tab-separated in the plain format).
    let message: string;
    let kv: string;
    const tab = body.indexOf('\t');
    if (tab >= 0) {
      message = body.slice(0, tab).trim();
      kv = body.slice(tab + 1);
    } else {
      const k = /(?:^|\s)[A-Za-z_][\w.]*=/.exec(body);
      message = (k ? body.slice(0, k.index) : body).trim();
      kv = k ? body.slice(k.index) : '';
    }
    if (!(ZTUNNEL_ACCESS_MESSAGES as readonly string[]).includes(message)) return { type: 'unknown-access', message: message || '(empty)' };
    const fields = parseKeyValues(kv);
    if (!fields) return { type: 'unknown-access', message: `${message} (unparsable fields)` };
    return { type: 'access', time, level, message, fields, format: 'ztunnel' };
  }
  if (tm && tm[1]!.startsWith('ztunnel')) return { type: 'other', target: tm[1]! };
  // Pre-1.22: `<time>  INFO [proxy{uid=…}:]inbound{…}: ztunnel::proxy::inbound: …`
  if (/ztunnel::/.test(rest)) return parseLegacy(time, level, rest);
  // Other ztunnel targets with the plain layout (`xds`, `dns`, `hickory_server::…`) are not ours to tell
  // apart from other programs' logs without the `ztunnel` word; leave them to the caller.
  return null;
}

/** `error` value → cause and meaning (ztunnel's src/proxy.rs Error Display strings). */
export function classifyZtunnelError(text: string): ZtunnelError {
  const t = text.trim();
  const POL = 'connection closed due to policy rejection';
  if (t.startsWith(POL)) {
    const reason = t.slice(POL.length).replace(/^:\s*/, '');
    if (reason.startsWith('explicitly denied by: ')) {
      const policy = reason.slice('explicitly denied by: '.length).trim();
      return { text, cause: 'policy-rejection', rejection: 'explicitly-denied', policy, meaning: `denied by the DENY AuthorizationPolicy ${policy} at the destination ztunnel` };
    }
    if (reason === 'allow policies exist, but none allowed')
      return { text, cause: 'policy-rejection', rejection: 'not-allowed', meaning: 'ALLOW AuthorizationPolicies apply to the destination and none of them matched this connection' };
    if (reason === 'workload not found') return { text, cause: 'policy-rejection', rejection: 'workload-not-found', meaning: 'ztunnel did not know the destination workload, so it could not authorize the connection' };
    if (reason === 'workload mismatch') return { text, cause: 'policy-rejection', rejection: 'workload-mismatch', meaning: 'the connection reached ztunnel for a workload other than the one it is serving' };
    return { text, cause: 'policy-rejection', rejection: 'unspecified', meaning: `rejected by AuthorizationPolicy${reason ? ` (${reason})` : ' (this ztunnel version does not log the reason)'}` };
  }
  if (t === 'connection closed due to policy change')
    return { text, cause: 'policy-change', meaning: 'late rejection: an AuthorizationPolicy changed and no longer allows this already-open connection, so ztunnel closed it' };
  if (t.startsWith('connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008'))
    return { text, cause: 'network-policy-timeout', meaning: 'the TCP connection to the destination\'s HBONE port 15008 timed out: a NetworkPolicy (or firewall) probably drops port 15008' };
  if (/revoked/i.test(t) && /\bCRL\b/.test(t)) return { text, cause: 'cert-revoked', meaning: 'the peer certificate is revoked by the CRL ztunnel was given' };
  if (t.startsWith('tls error: ') || t.startsWith('tls handshake')) return { text, cause: 'tls', meaning: `the mTLS handshake failed (${t.replace(/^tls error:\s*/, '')})` };
  if (t.startsWith('identity error: ')) return { text, cause: 'identity', meaning: `ztunnel could not get or verify a workload certificate (${t.slice('identity error: '.length)})` };
  if (t.startsWith('http2 handshake failed')) return { text, cause: 'http2-handshake', meaning: 'the HTTP/2 handshake of the HBONE tunnel failed' };
  if (t.startsWith('h2 failed')) return { text, cause: 'h2', meaning: 'the HBONE HTTP/2 stream failed' };
  const hs = /^http status: (\d{3})/.exec(t);
  if (hs) {
    const status = Number(hs[1]);
    const meaning =
      status === 401
        ? 'the destination ztunnel refused the HBONE CONNECT with 401: its AuthorizationPolicy rejected the connection (its own log says why)'
        : status === 503
          ? 'the destination answered the HBONE CONNECT with 503 (upstream unavailable)'
          : `the destination answered the HBONE CONNECT with HTTP ${status}`;
    return { text, cause: 'http-status', status, meaning };
  }
  if (t.startsWith('ip mismatch: ')) return { text, cause: 'ip-mismatch', meaning: 'the HBONE CONNECT asked for an IP other than the one the tunnel reached (rejected with 400)' };
  if (t.startsWith('unknown waypoint')) return { text, cause: 'unknown-waypoint', meaning: 'the destination names a waypoint that ztunnel does not know' };
  if (t.startsWith('no healthy upstream')) return { text, cause: 'no-healthy-upstream', meaning: 'no healthy endpoint for the destination' };
  if (t.startsWith('connection failed: ') || /connection refused/i.test(t)) return { text, cause: 'connection-failed', meaning: `could not connect to the destination (${t})` };
  if (t.startsWith('io error: ')) return { text, cause: 'io', meaning: `I/O error on the connection (${t.slice('io error: '.length)})` };
  if (t.startsWith('dns') || t.startsWith('no ip addresses were resolved') || t.includes('valid dns response')) return { text, cause: 'dns', meaning: `name resolution failed (${t})` };
  if (/^(unknown (source|destination|network gateway)|no service|no valid|no endpoints|no gateway address|requested service|invalid CONNECT address|expected method CONNECT|failed to fetch information about local workload|attempted recursive call)/.test(t))
    return { text, cause: 'routing', meaning: `ztunnel could not route the connection (${t})` };
  if (/drain/.test(t)) return { text, cause: 'drain', meaning: 'the connection was closed because ztunnel was draining' };
  return { text, cause: 'other', meaning: t };
}

function durationMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([\d.]+)(ms|s|µs|us|ns)?$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const u = m[2] ?? 'ms';
  return u === 's' ? n * 1000 : u === 'ms' ? n : u === 'ns' ? n / 1e6 : n / 1000;
}

function num(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Builds the AccessRecord of a recognised access line. */
export function ztunnelRecord(p: Extract<ZtunnelLine, { type: 'access' }>, ref: EvidenceRef): AccessRecord {
  const f = p.fields;
  const facts: ZtunnelLogFacts = { message: p.message, ...(p.level ? { level: p.level } : {}) };
  const unknown: string[] = [];
  const attrs: RequestAttrs = {};
  if (p.legacy) {
    const l = p.legacy;
    if (l.direction) facts.direction = l.direction;
    if (l.id) facts.connectionId = l.id;
    if (l.direction === 'inbound') {
      if (l.peerIp) attrs.source = splitAddress(l.peerIp) ?? { address: l.peerIp };
      if (l.dst) {
        attrs.destination = splitAddress(l.dst) ?? { address: l.dst };
        facts.dstHboneAddr = l.dst;
      }
      if (l.peerId) {
        facts.srcIdentity = l.peerId;
        attrs.tls = { uriSans: [l.peerId], dnsSans: [], subject: '', peerCertificateValidated: true };
      } else unknown.push('tls'); // HBONE is always mTLS: a missing peer_id means this line did not log it.
    } else if (l.direction === 'outbound' && l.dst) {
      facts.dstHboneAddr = l.dst;
      if (l.via) facts.dstAddr = l.via;
      attrs.destination = splitAddress(l.dst) ?? { address: l.dst };
    }
    if (l.rejected) facts.error = classifyZtunnelError('connection closed due to policy rejection');
    if (!attrs.source) unknown.push('source');
    const rec: AccessRecord = { ref, kind: 'tcp', attrs, unknown, fields: { ...(l as Record<string, JsonValue>) }, format: p.format, ztunnel: facts };
    if (p.time) setTime(rec, p.time);
    if (l.durationMs !== undefined) rec.durationMs = l.durationMs;
    return rec;
  }
  const dir = f.direction;
  if (dir === 'inbound' || dir === 'outbound') facts.direction = dir;
  const copy: [keyof ZtunnelLogFacts, string][] = [
    ['srcWorkload', 'src.workload'], ['srcNamespace', 'src.namespace'], ['srcIdentity', 'src.identity'], ['dstAddr', 'dst.addr'],
    ['dstHboneAddr', 'dst.hbone_addr'], ['dstService', 'dst.service'], ['dstWorkload', 'dst.workload'], ['dstNamespace', 'dst.namespace'], ['dstIdentity', 'dst.identity'],
  ];
  for (const [k, src] of copy) if (f[src] !== undefined && f[src] !== '') (facts as unknown as Record<string, string>)[k] = f[src]!;
  if (f.error !== undefined) facts.error = classifyZtunnelError(f.error);
  if (f['src.addr']) attrs.source = splitAddress(f['src.addr']) ?? { address: f['src.addr'] };
  else unknown.push('source');
  // ztunnel's RBAC reads the HBONE target (`dst.hbone_addr`) when there is one: dst.addr is then :15008.
  const hb = facts.dstHboneAddr ? splitAddress(facts.dstHboneAddr) : null;
  const da = f['dst.addr'] ? splitAddress(f['dst.addr']) : null;
  if (hb && hb.address && /^[\d.:a-fA-F]+$/.test(hb.address)) attrs.destination = hb;
  else if (hb && da) attrs.destination = { address: da.address, ...(hb.port !== undefined ? { port: hb.port } : {}) };
  else if (da) attrs.destination = da;
  else unknown.push('destination');
  if (facts.direction === 'inbound') {
    if (facts.srcIdentity) attrs.tls = { uriSans: [facts.srcIdentity], dnsSans: [], subject: '', peerCertificateValidated: true };
    // An early deny (`connection failed`) logs only addresses, direction and error: the identity is unknown there.
    else if (p.message === 'connection failed') unknown.push('tls');
  } else unknown.push('tls');
  const fields: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(f)) fields[k] = v;
  const rec: AccessRecord = { ref, kind: 'tcp', attrs, unknown, fields, format: p.format, ztunnel: facts };
  if (p.time) setTime(rec, p.time);
  const sent = num(f.bytes_sent);
  const recv = num(f.bytes_recv);
  if (sent !== undefined) rec.bytesSent = sent;
  if (recv !== undefined) rec.bytesReceived = recv;
  const d = durationMs(f.duration);
  if (d !== undefined) rec.durationMs = d;
  if (facts.error) rec.connectionTerminationDetails = facts.error.text;
  return rec;
}

function setTime(rec: AccessRecord, t: string): void {
  const ms = zonelessAsUtc(t);
  if (!Number.isNaN(ms)) {
    rec.time = t;
    rec.timeMs = ms;
  }
}
