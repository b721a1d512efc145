/**
 * The per-request view RBAC matchers read (research/envoy-rbac-semantics.md §1), built once from
 * RequestAttrs: lower-cased header multimap with pseudo-headers, the four addresses kept apart,
 * SNI, TLS peer facts, dynamic metadata, filter state and route metadata.
 */
import type { JsonValue, PeerTls, RequestAttrs } from '../model/attrs.js';
import { parseIp, type IpAddr } from './cidr.js';

export interface AddrView {
  /** As given (may be a non-IP such as a pipe path). */
  readonly address: string;
  /** Parsed lazily: most requests never reach an IP matcher. */
  readonly ip: IpAddr | null;
  readonly port: number | undefined;
}

class LazyAddr implements AddrView {
  private parsed: IpAddr | null | undefined = undefined;
  constructor(readonly address: string, readonly port: number | undefined) {}
  get ip(): IpAddr | null {
    if (this.parsed === undefined) this.parsed = parseIp(this.address);
    return this.parsed;
  }
}

export interface EvalContext {
  kind: 'http' | 'network';
  req: RequestAttrs;
  /** Lower-case names; `:method`, `:path`, `:authority`, `:scheme` included. Empty for the network filter. */
  headers: Map<string, string[]>;
  connectionRemote: AddrView | null;
  directRemote: AddrView | null;
  remote: AddrView | null;
  local: AddrView | null;
  /** `""` when absent (plaintext), as Envoy's requestedServerName(). */
  sni: string;
  tls: PeerTls | null;
  metadata: Record<string, JsonValue>;
  filterState: Record<string, JsonValue>;
  /** Metadata of the matched route; null when no route (always null in the network filter). */
  routeMetadata: Record<string, JsonValue> | null;
  /** True when the evidence does not carry `attr` (see UNKNOWN_ATTRIBUTES). */
  unknown(attr: string): boolean;
  /** The ","-joined value of a header (lower-case name), null when absent; computed once per request. */
  header(name: string): string | null;
  /** `:path` without query and fragment (what url_path sees), null when absent; computed once. */
  urlPath(): string | null;
}

/**
 * Attribute keys for `unknown` (AccessRecord.unknown): `source`, `directRemote`, `remote`, `destination`,
 * `sni`, `tls`, `tls.uriSans`, `tls.dnsSans`, `tls.subject`, `tls.peerCertificateValidated`,
 * `http.method`, `http.path`, `http.authority`, `http.scheme`, `http.headers` (every other header),
 * `http.headers.<name>`, `metadata`, `metadata.<namespace>`, `filterState`, `filterState.<key>`, `routeMetadata`.
 * A key also covers everything below it.
 */
export const UNKNOWN_ATTRIBUTES = [
  'source', 'directRemote', 'remote', 'destination', 'sni', 'tls', 'tls.uriSans', 'tls.dnsSans', 'tls.subject',
  'tls.peerCertificateValidated', 'http.method', 'http.path', 'http.authority', 'http.scheme', 'http.headers',
  'metadata', 'filterState', 'routeMetadata',
] as const;

/** Headers Envoy stores inline (O(1)); duplicates are merged at insert time and empty appends dropped. */
const INLINE_HEADERS = new Set([
  ':authority', ':method', ':path', ':scheme', ':protocol', 'user-agent', 'x-forwarded-for', 'x-forwarded-proto',
  'x-forwarded-host', 'content-type', 'content-length', 'te', 'via', 'x-request-id', 'x-envoy-original-path',
  'grpc-timeout', 'transfer-encoding', 'upgrade', 'connection', 'keep-alive', 'proxy-connection', 'expect',
  'accept-encoding', 'x-envoy-internal', 'x-forwarded-client-cert', 'cookie', 'referer', 'authorization',
]);

/** Joined value of a header as Envoy's getAllOfHeaderAsString(..., ",") returns it. */
export function joinHeader(name: string, values: string[]): string {
  if (values.length === 1) return values[0]!;
  if (name === 'cookie') return values.filter((v) => v !== '').join('; ');
  if (INLINE_HEADERS.has(name)) return values.filter((v) => v !== '').join(',');
  return values.join(',');
}

function view(e: { address: string; port?: number } | undefined): AddrView | null {
  if (!e || typeof e.address !== 'string') return null;
  return new LazyAddr(e.address, e.port);
}

function cutQueryAndFragment(p: string): string {
  let i = p.length;
  const q = p.indexOf('?');
  if (q !== -1) i = q;
  const h = p.indexOf('#');
  if (h !== -1 && h < i) i = h;
  return i === p.length ? p : p.slice(0, i);
}

export function buildHeaders(req: RequestAttrs): Map<string, string[]> {
  const h = new Map<string, string[]>();
  const http = req.http;
  if (!http) return h;
  const hs = http.headers;
  if (hs) {
    for (const k in hs) {
      if (!Object.prototype.hasOwnProperty.call(hs, k)) continue;
      const vs = hs[k] as unknown;
      let name = HAS_UPPER.test(k) ? k.toLowerCase() : k;
      if (name === 'host') name = ':authority';
      const list = Array.isArray(vs) ? (vs as string[]) : [String(vs)];
      const prev = h.get(name);
      h.set(name, prev ? prev.concat(list) : list);
    }
  }
  if (http.method !== undefined) h.set(':method', [http.method]);
  if (http.path !== undefined) h.set(':path', [http.path]);
  if (http.authority !== undefined) h.set(':authority', [http.authority]);
  if (http.scheme !== undefined) h.set(':scheme', [http.scheme]);
  return h;
}

const HAS_UPPER = /[A-Z]/;

export interface ContextOptions {
  kind: 'http' | 'network';
  unknown?: Iterable<string>;
  routeMetadata?: Record<string, JsonValue> | null;
}

export function buildContext(req: RequestAttrs, opts: ContextOptions): EvalContext {
  const unknownSet = new Set(opts.unknown ?? []);
  const unknown =
    unknownSet.size === 0
      ? () => false
      : (attr: string) => {
          if (unknownSet.has(attr)) return true;
          for (let i = attr.indexOf('.'); i !== -1; i = attr.indexOf('.', i + 1)) if (unknownSet.has(attr.slice(0, i))) return true;
          return false;
        };
  const source = req.source ?? req.directRemote;
  const headers = opts.kind === 'network' ? new Map<string, string[]>() : buildHeaders(req);
  const joined = new Map<string, string | null>();
  let urlPath: string | null | undefined;
  return {
    header(name: string): string | null {
      let v = joined.get(name);
      if (v === undefined) {
        const vs = headers.get(name);
        v = vs && vs.length > 0 ? joinHeader(name, vs) : null;
        joined.set(name, v);
      }
      return v;
    },
    urlPath(): string | null {
      if (urlPath === undefined) {
        const vs = headers.get(':path');
        urlPath = vs && vs.length > 0 ? cutQueryAndFragment(vs.join(',')) : null;
      }
      return urlPath;
    },
    kind: opts.kind,
    req,
    headers,
    connectionRemote: view(source),
    directRemote: view(req.directRemote ?? req.source),
    // The network filter's remote is the connection's remote; HTTP may carry an XFF-derived one.
    remote: view(opts.kind === 'network' ? source : (req.remote ?? req.source ?? req.directRemote)),
    local: view(req.destination),
    sni: req.sni ?? '',
    tls: req.tls ?? null,
    metadata: (req.metadata ?? {}) as Record<string, JsonValue>,
    filterState: (req.filterState ?? {}) as Record<string, JsonValue>,
    routeMetadata: opts.kind === 'network' ? null : (opts.routeMetadata ?? null),
    unknown,
  };
}

/** The unknown-attribute key for a header name. */
export function headerAttr(name: string): string {
  switch (name) {
    case ':method': return 'http.method';
    case ':path': return 'http.path';
    case ':authority': return 'http.authority';
    case ':scheme': return 'http.scheme';
    default: return `http.headers.${name}`;
  }
}
