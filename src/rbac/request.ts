/**
 * The `check` request JSON (DESIGN.md) → RequestAttrs, strictly: every malformed field is an
 * InputError naming its JSON path. Absent fields mean "not present on the connection".
 */
import type { HeaderMap, JsonValue, PeerTls, RequestAttrs } from '../model/attrs.js';
import { InputError, type InputErrorLocation } from '../model/errors.js';

type Loc = Omit<InputErrorLocation, 'path'>;

function fail(loc: Loc, path: string, expected: string, v: unknown): never {
  throw new InputError({ ...loc, path }, expected, describe(v));
}
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return JSON.stringify(v);
}
function obj(v: unknown, loc: Loc, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(loc, path, 'an object', v);
  return v as Record<string, unknown>;
}
function str(v: unknown, loc: Loc, path: string): string {
  if (typeof v !== 'string') fail(loc, path, 'a string', v);
  return v as string;
}
function strList(v: unknown, loc: Loc, path: string): string[] {
  if (!Array.isArray(v)) fail(loc, path, 'a list of strings', v);
  return (v as unknown[]).map((x, i) => str(x, loc, `${path}[${i}]`));
}
function port(v: unknown, loc: Loc, path: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) fail(loc, path, 'a port number 0-65535', v);
  return n as number;
}
/** An endpoint as given: the address may be absent (`{"port": 9080}`), every field being optional. */
function endpoint(v: unknown, loc: Loc, path: string): { address?: string; port?: number } {
  if (typeof v === 'string') {
    // Accept "ip:port" / "[v6]:port" / "ip" shorthand.
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]+):(\d+)$/.exec(v);
    return m ? { address: m[1]!, port: port(m[2], loc, `${path}.port`) } : { address: v };
  }
  const o = obj(v, loc, path);
  for (const k of Object.keys(o)) if (k !== 'address' && k !== 'port') fail(loc, `${path}.${k}`, 'only "address" and "port"', k);
  const e: { address?: string; port?: number } = {};
  if (o.address !== undefined && o.address !== null) e.address = str(o.address, loc, `${path}.address`);
  if (o.port !== undefined && o.port !== null) e.port = port(o.port, loc, `${path}.port`);
  return e;
}

const TOP = ['source', 'directRemote', 'remote', 'destination', 'sni', 'tls', 'http', 'metadata', 'filterState', 'routeMetadata', 'alpn', 'transportProtocol'];

export interface RequestDefaults {
  /**
   * The address a destination given without one stands for (a proxy's own address); without it the
   * destination is `0.0.0.0`, so that its port can still be matched. Either way a note says so.
   */
  destinationAddress?: string;
  /** Receives one line per assumption the parser made (e.g. the destination address). */
  notes?: string[];
}

/**
 * Every field is optional: an absent field (or an endpoint without an address, other than the
 * destination) is "not present on the connection"; a malformed one is an InputError at its JSON path.
 */
export function parseRequestAttrs(input: unknown, loc: Loc = {}, defaults: RequestDefaults = {}): RequestAttrs {
  const o = obj(input, loc, '$');
  for (const k of Object.keys(o)) if (!TOP.includes(k)) fail(loc, `$.${k}`, `a known request field (${TOP.join(', ')})`, k);
  const r: RequestAttrs = {};
  for (const k of ['source', 'directRemote', 'remote', 'destination'] as const) {
    if (o[k] === undefined || o[k] === null) continue;
    const e = endpoint(o[k], loc, `$.${k}`);
    if (e.address !== undefined) r[k] = e.port === undefined ? { address: e.address } : { address: e.address, port: e.port };
    else if (k === 'destination') {
      if (e.port === undefined) continue;
      const address = defaults.destinationAddress ?? '0.0.0.0';
      r.destination = { address, port: e.port };
      defaults.notes?.push(`destination address not given: assumed ${address}${defaults.destinationAddress ? " (the proxy's address)" : ''}`);
    } else if (e.port !== undefined) defaults.notes?.push(`${k}.port without ${k}.address: the ${k} address is not present, its port is ignored`);
  }
  if (o.sni !== undefined && o.sni !== null) r.sni = str(o.sni, loc, '$.sni');
  if (o.alpn !== undefined) r.alpn = strList(o.alpn, loc, '$.alpn');
  if (o.transportProtocol !== undefined) r.transportProtocol = str(o.transportProtocol, loc, '$.transportProtocol');
  if (o.tls !== undefined && o.tls !== null) {
    const t = obj(o.tls, loc, '$.tls');
    const known = ['uriSans', 'dnsSans', 'subject', 'peerCertificateValidated', 'version'];
    for (const k of Object.keys(t)) if (!known.includes(k)) fail(loc, `$.tls.${k}`, `a known tls field (${known.join(', ')})`, k);
    const tls: PeerTls = {
      uriSans: t.uriSans === undefined ? [] : strList(t.uriSans, loc, '$.tls.uriSans'),
      dnsSans: t.dnsSans === undefined ? [] : strList(t.dnsSans, loc, '$.tls.dnsSans'),
      subject: t.subject === undefined ? '' : str(t.subject, loc, '$.tls.subject'),
      peerCertificateValidated: true,
    };
    if (t.peerCertificateValidated !== undefined) {
      if (typeof t.peerCertificateValidated !== 'boolean') fail(loc, '$.tls.peerCertificateValidated', 'true or false', t.peerCertificateValidated);
      tls.peerCertificateValidated = t.peerCertificateValidated as boolean;
    } else {
      // A certificate that was presented is taken as validated; with none there is nothing to validate.
      tls.peerCertificateValidated = tls.uriSans.length + tls.dnsSans.length > 0 || tls.subject !== '';
    }
    if (t.version !== undefined) tls.version = str(t.version, loc, '$.tls.version');
    r.tls = tls;
  }
  if (o.http !== undefined && o.http !== null) {
    const h = obj(o.http, loc, '$.http');
    const known = ['method', 'path', 'authority', 'host', 'scheme', 'protocol', 'headers'];
    for (const k of Object.keys(h)) if (!known.includes(k)) fail(loc, `$.http.${k}`, `a known http field (${known.join(', ')})`, k);
    const headers: HeaderMap = {};
    if (h.headers !== undefined) {
      const ho = obj(h.headers, loc, '$.http.headers');
      for (const [k, v] of Object.entries(ho)) {
        const p = `$.http.headers[${JSON.stringify(k)}]`;
        const name = k.toLowerCase();
        const vals = typeof v === 'string' ? [v] : strList(v, loc, p);
        headers[name] = (headers[name] ?? []).concat(vals);
      }
    }
    r.http = { headers };
    if (h.method !== undefined) r.http.method = str(h.method, loc, '$.http.method');
    if (h.path !== undefined) r.http.path = str(h.path, loc, '$.http.path');
    if (h.authority !== undefined) r.http.authority = str(h.authority, loc, '$.http.authority');
    else if (h.host !== undefined) r.http.authority = str(h.host, loc, '$.http.host');
    if (h.scheme !== undefined) r.http.scheme = str(h.scheme, loc, '$.http.scheme');
    if (h.protocol !== undefined) r.http.protocol = str(h.protocol, loc, '$.http.protocol');
  }
  if (o.metadata !== undefined) {
    const m = obj(o.metadata, loc, '$.metadata');
    for (const [k, v] of Object.entries(m)) obj(v, loc, `$.metadata[${JSON.stringify(k)}]`);
    r.metadata = m as Record<string, JsonValue>;
  }
  if (o.filterState !== undefined) r.filterState = obj(o.filterState, loc, '$.filterState') as Record<string, JsonValue>;
  if (o.routeMetadata !== undefined) {
    // The matched route's metadata (what sourced_metadata ROUTE reads): filter namespace → Struct, or a Metadata
    // message with filter_metadata; null = no route matched.
    if (o.routeMetadata === null) r.routeMetadata = null;
    else {
      let m = obj(o.routeMetadata, loc, '$.routeMetadata');
      let at = '$.routeMetadata';
      const fm = m.filter_metadata ?? m.filterMetadata;
      if (fm !== undefined) {
        at = `$.routeMetadata.${m.filter_metadata !== undefined ? 'filter_metadata' : 'filterMetadata'}`;
        m = obj(fm, loc, at);
      }
      for (const [k, v] of Object.entries(m)) obj(v, loc, `${at}[${JSON.stringify(k)}]`);
      r.routeMetadata = m as Record<string, JsonValue>;
    }
  }
  return r;
}
