/**
 * A request that reaches a proxy inside an HTTP CONNECT tunnel terminated by the proxy itself and handed to
 * one of its internal listeners (Istio's HBONE at a waypoint: `connect_terminate` on 15008 → route
 * `connect_matcher` → cluster `main_internal` → internal listener `main_internal`).
 *
 * Envoy's pieces, in order:
 *  1. the terminating listener's chain: its transport socket (TLS; a required client certificate the client
 *     does not send fails the handshake) and its HTTP connection manager;
 *  2. the HCM's `set_filter_state` HTTP filters (envoy.extensions.filters.http.set_filter_state.v3.Config)
 *     evaluate `on_request_headers` format strings on the CONNECT request — `%REQ(:AUTHORITY)%` (the
 *     tunnel's target `ip:port`), `%DOWNSTREAM_REMOTE_ADDRESS%`, `%DOWNSTREAM_PEER_URI_SAN%` — and share them
 *     with the upstream (the internal connection) when `shared_with_upstream` is set;
 *  3. the route whose match is `connect_matcher` names a cluster; the cluster's endpoint is an internal
 *     listener (`envoy://<listener>/…` in the endpoints section, else the internal listener of the same name);
 *  4. on the internal listener the `original_dst` listener filter restores the local address from filter
 *     state `envoy.filters.listener.original_dst.local_ip` and the remote address from `…remote_ip`
 *     (source/extensions/filters/listener/original_dst/original_dst.cc: restoreLocalAddress /
 *     setRemoteAddress — the direct remote address stays the internal client address);
 *  5. the inner connection is plaintext: RBAC `authenticated` principals see no peer certificate; the caller's
 *     identity is only in the filter state the terminating HCM shared.
 * This module builds the inner connection's attributes; decide.ts then decides it on the internal listener.
 */
import type { JsonValue, RequestAttrs } from '../model/attrs.js';
import type { ConfigDump, FilterChain, HttpFilter, Listener } from './model.js';
import { isObj } from './tls.js';
import { selectChainInListener } from './select.js';
import { canonicalFilterName } from './filters.js';

export const ORIGINAL_DST_LOCAL = 'envoy.filters.listener.original_dst.local_ip';
export const ORIGINAL_DST_REMOTE = 'envoy.filters.listener.original_dst.remote_ip';
/** The downstream address of a connection to an internal listener (Envoy's EnvoyInternalInstance client side). */
export const INTERNAL_CLIENT_ADDRESS = 'envoy://internal_client_address/';

const SET_FILTER_STATE = 'envoy.extensions.filters.http.set_filter_state.v3.Config';
const ORIGINAL_DST_FILTER = 'envoy.filters.listener.original_dst';

export interface TunnelEntry {
  listener: Listener;
  chain: FilterChain;
  /** The cluster the CONNECT route sends to. */
  cluster: string;
  /** The internal listener the cluster's endpoint names. */
  inner: Listener;
  /** How the internal listener was found (endpoint, or same-name convention). */
  innerVia: 'endpoint' | 'name';
}

export type TunnelOutcome =
  | { t: 'inner'; entry: TunnelEntry; req: RequestAttrs; unknown: string[]; notes: string[] }
  | { t: 'handshake-fails'; entry: TunnelEntry; notes: string[] }
  | { t: 'undecidable'; entry: TunnelEntry; notes: string[] };

const live = (l: Listener) => l.state === 'active' || l.state === 'static';

/** The CONNECT route's cluster of a chain's HCM (a route whose match is `connect_matcher`), or null. */
function connectRouteCluster(chain: FilterChain): string | null {
  for (const nf of chain.filters) {
    const rc = nf.hcm?.routeConfig;
    if (!rc) continue;
    for (const vh of rc.virtualHosts) for (const r of vh.routes) if (isObj(r.match.connect_matcher) && r.cluster) return r.cluster;
  }
  return null;
}

function innerListenerOf(dump: ConfigDump, cluster: string): { inner: Listener; via: 'endpoint' | 'name' } | null {
  const internal = dump.listeners.filter((l) => l.internal && live(l));
  for (const ep of dump.endpoints) {
    if (ep.cluster !== cluster) continue;
    const m = /^envoy:\/\/([^/]+)\//.exec(ep.address);
    const l = m ? internal.find((x) => x.name === m[1]) : undefined;
    if (l) return { inner: l, via: 'endpoint' };
  }
  const same = internal.find((l) => l.name === cluster);
  return same ? { inner: same, via: 'name' } : null;
}

/**
 * The listener on `port` whose chain terminates CONNECT into an internal listener (Istio's
 * `connect_terminate` on the HBONE port), or null when the dump has none.
 */
export function findConnectTunnel(dump: ConfigDump, port: number): TunnelEntry | null {
  for (const l of dump.listeners) {
    if (!live(l) || l.internal || l.address?.port !== port) continue;
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
      const cluster = connectRouteCluster(chain);
      if (!cluster) continue;
      const found = innerListenerOf(dump, cluster);
      if (found) return { listener: l, chain, cluster, inner: found.inner, innerVia: found.via };
    }
  }
  return null;
}

const fmtAddr = (a: string, p: number | undefined): string => `${a.includes(':') ? `[${a}]` : a}${p === undefined ? '' : `:${p}`}`;

/**
 * One substitution format string as the CONNECT request's HCM evaluates it; null = the evidence does not
 * give what an operator reads (or the operator is not modelled).
 */
function formatValue(fmt: string, outer: RequestAttrs, authority: string | undefined): string | null {
  let unknown = false;
  const out = fmt.replace(/%([A-Z_]+)(?:\(([^)]*)\))?%/g, (_m, op: string, arg: string | undefined) => {
    switch (op) {
      case 'REQ':
        if (arg?.toLowerCase() === ':authority') {
          if (authority === undefined) unknown = true;
          return authority ?? '';
        }
        unknown = true;
        return '';
      case 'DOWNSTREAM_REMOTE_ADDRESS':
        if (!outer.source?.address) {
          unknown = true;
          return '';
        }
        return fmtAddr(outer.source.address, outer.source.port);
      case 'DOWNSTREAM_PEER_URI_SAN':
        if (!outer.tls) return '-';
        return outer.tls.uriSans.length ? outer.tls.uriSans.join(',') : '-';
      default:
        unknown = true;
        return '';
    }
  });
  return unknown ? null : out;
}

/** The filter state the terminating HCM's set_filter_state filters share with the internal connection. */
function sharedFilterState(filters: HttpFilter[], outer: RequestAttrs, authority: string | undefined): { values: Record<string, string>; unknown: string[]; notes: string[] } {
  const values: Record<string, string> = {};
  const unknown: string[] = [];
  const notes: string[] = [];
  for (const hf of filters) {
    const type = hf.typeUrl.replace(/^.*\//, '');
    if (type !== SET_FILTER_STATE) continue;
    const list = Array.isArray(hf.config.on_request_headers) ? hf.config.on_request_headers : [];
    for (const v of list) {
      if (!isObj(v) || typeof v.object_key !== 'string') continue;
      const shared = v.shared_with_upstream === 'ONCE' || v.shared_with_upstream === 'TRANSITIVE';
      if (!shared) continue;
      const fs = isObj(v.format_string) ? v.format_string : null;
      const tfs = fs && isObj(fs.text_format_source) ? fs.text_format_source : null;
      const fmt = typeof tfs?.inline_string === 'string' ? tfs.inline_string : typeof fs?.text_format === 'string' ? fs.text_format : null;
      const val = fmt === null ? null : formatValue(fmt, outer, authority);
      if (val === null) {
        unknown.push(v.object_key);
        continue;
      }
      values[v.object_key] = val;
      notes.push(`${hf.name} sets filter state ${v.object_key} = ${val} (${fmt}), shared with the internal connection`);
    }
  }
  return { values, unknown, notes };
}

function parseHostPort(s: string): { address: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return null;
  return { address: m[1]!, port: Number(m[2]) };
}

/**
 * The connection a tunnelled request makes to the internal listener: `outer` is the request as the client
 * means it (source = the tunnel's client, destination = the target `ip:port` = the CONNECT authority, `tls`
 * = the tunnel's TLS, `http` = the inner request). `tunnelDestination` is the terminating listener's address
 * when known.
 */
export function enterConnectTunnel(entry: TunnelEntry, outer: RequestAttrs, tunnelPort: number, unknownIn: Iterable<string> = []): TunnelOutcome {
  const unknownSet = new Set(unknownIn);
  const notes: string[] = [];
  const dst = outer.destination;
  const authority = dst?.address !== undefined && dst.port !== undefined ? fmtAddr(dst.address, dst.port) : undefined;
  notes.push(`no listener takes ${authority ?? 'this destination'} directly: the request arrives in an HTTP CONNECT tunnel to ${entry.listener.displayName} (port ${tunnelPort}) with :authority ${authority ?? '(unknown)'}`);
  // 1. The terminating chain's transport: selection and the TLS handshake.
  const outerConn: RequestAttrs = { ...outer, destination: { address: entry.listener.address?.address ?? '0.0.0.0', port: tunnelPort }, alpn: outer.tls ? ['h2'] : [] };
  delete outerConn.http;
  const sel = selectChainInListener(entry.listener, outerConn, []);
  if (!sel.chain) return { t: 'undecidable', entry, notes: [...notes, `no chain of ${entry.listener.displayName} can be chosen: ${sel.trace.join('; ')}`] };
  const tls = sel.chain.transportSocket?.tls;
  if (tls && !outer.tls) return { t: 'handshake-fails', entry, notes: [...notes, `${entry.listener.displayName} terminates TLS but the client speaks plaintext: the TLS handshake fails and no request reaches the tunnel`] };
  if (tls?.requireClientCertificate && outer.tls && !unknownSet.has('tls') && !unknownSet.has('tls.uriSans') && outer.tls.uriSans.length === 0 && !outer.tls.peerCertificateValidated) {
    return { t: 'handshake-fails', entry, notes: [...notes, `${entry.listener.displayName} requires a client certificate (require_client_certificate) and the client sends none: the TLS handshake fails`] };
  }
  if (outer.tls) notes.push(`tunnel peer certificate (the caller's identity): ${outer.tls.uriSans.join(', ') || 'none'}`);
  // 2. The HCM: shared filter state.
  const hcm = sel.chain.filters.find((f) => f.hcm)?.hcm ?? null;
  const other = (hcm?.httpFilters ?? []).filter((f) => /rbac|ext_authz/.test(canonicalFilterName(f.typeUrl) ?? f.name));
  if (other.length) {
    return { t: 'undecidable', entry, notes: [...notes, `${entry.listener.displayName}'s HTTP connection manager has ${other.map((f) => f.name).join(', ')} on the CONNECT request: not evaluated for tunnels`] };
  }
  const fs = sharedFilterState(hcm?.httpFilters ?? [], unknownSet.has('tls.uriSans') ? { ...outer, tls: undefined } : outer, authority);
  notes.push(...fs.notes);
  if (unknownSet.has('tls.uriSans') || unknownSet.has('tls')) {
    for (const k of Object.keys(fs.values)) if (/principal/.test(k)) {
      delete fs.values[k];
      fs.unknown.push(k);
    }
  }
  // 3. The route and cluster, already resolved by findConnectTunnel.
  notes.push(`route connect_matcher → cluster ${entry.cluster} → internal listener ${entry.inner.name}${entry.innerVia === 'name' ? ' (the cluster\'s endpoints are not in the dump: the internal listener of the same name)' : ''}`);
  // 4. original_dst on the internal listener.
  const hasOriginalDst = entry.inner.listenerFilters.some((lf) => canonicalFilterName(lf.typeUrl) === ORIGINAL_DST_FILTER || lf.name === ORIGINAL_DST_FILTER);
  const filterState: Record<string, JsonValue> = { ...(outer.filterState ?? {}), ...fs.values };
  const inner: RequestAttrs = {
    directRemote: { address: INTERNAL_CLIENT_ADDRESS },
    ...(outer.http ? { http: outer.http } : {}),
    ...(outer.metadata ? { metadata: outer.metadata } : {}),
    filterState,
  };
  const unknown = [...unknownSet].filter((u) => !u.startsWith('tls') && u !== 'sni' && u !== 'directRemote');
  for (const k of fs.unknown) unknown.push(`filterState.${k}`);
  const local = typeof fs.values[ORIGINAL_DST_LOCAL] === 'string' ? parseHostPort(fs.values[ORIGINAL_DST_LOCAL]) : null;
  const remote = typeof fs.values[ORIGINAL_DST_REMOTE] === 'string' ? parseHostPort(fs.values[ORIGINAL_DST_REMOTE]) : null;
  if (hasOriginalDst) {
    if (local) inner.destination = local;
    else if (dst) {
      inner.destination = dst;
      if (fs.values[ORIGINAL_DST_LOCAL] !== undefined) notes.push(`${ORIGINAL_DST_LOCAL} = ${fs.values[ORIGINAL_DST_LOCAL]} is not an ip:port: original_dst leaves the local address`);
    }
    if (remote) {
      inner.source = remote;
      inner.remote = remote;
    } else if (outer.source) {
      inner.source = outer.source;
      inner.remote = outer.source;
    }
    notes.push(`${entry.inner.name}: original_dst restores the destination ${inner.destination ? fmtAddr(inner.destination.address, inner.destination.port) : '(unknown)'} and the source ${inner.source ? fmtAddr(inner.source.address, inner.source.port) : '(unknown)'} from filter state; direct_remote_ip reads the internal client address`);
  } else {
    notes.push(`${entry.inner.name} has no original_dst listener filter: the inner connection keeps Envoy's internal addresses`);
    inner.destination = { address: 'envoy://' + entry.inner.name + '/' };
  }
  notes.push(`the inner connection is plaintext: RBAC sees no peer certificate; the caller's identity reaches it only as the filter state shared above`);
  return { t: 'inner', entry, req: inner, unknown, notes };
}
