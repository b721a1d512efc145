/**
 * The outbound side of the Envoy model: from an original destination to the upstream connection.
 *
 * Listener and filter chain come from select.ts (iptables → `virtualOutbound` → `use_original_dst`
 * hand-off → filter_chain_match). This module follows the chain's terminal network filter to a cluster
 * (`tcp_proxy` `cluster` / `weighted_clusters`, or the HTTP connection manager's route configuration:
 * virtual host by authority, first matching route; routes.ts), then the cluster to its endpoints (EDS
 * `ClusterLoadAssignment`s of the dump, inline `load_assignment`, or the original destination for
 * `ORIGINAL_DST`), and each endpoint to the transport socket Envoy uses for it:
 *
 *  - `transport_socket_matches` (Envoy `TransportSocketMatcherImpl::resolve`): the first entry whose
 *    `match` Struct is a subset of the endpoint's `filter_metadata["envoy.transport_socket_match"]`
 *    (`Config::Metadata::metadataLabelMatch`: every key present with an equal value; an empty match
 *    matches every endpoint); when none matches, the cluster's `transport_socket`;
 *  - else the cluster's `transport_socket` (legacy v2 `tls_context`); absent = `raw_buffer` (plaintext).
 *
 * What decides the upstream HTTP protocol (for ALPN) is read from the cluster's protocol options.
 * No Istio knowledge here: naming conventions, tlsMode labels and modes live in src/istio/outbound.ts.
 */
import type { ConnectionAttrs } from '../model/attrs.js';
import type { Cluster, ClusterTransportSocket, ConfigDump, EndpointInfo, FilterChain, Listener, NetworkFilter, ProtoObject, RouteConfiguration } from './model.js';
import { HCM_NAMES } from './model.js';
import { selectFilterChain, type ChainSelection } from './select.js';
import { matchRoute } from './routes.js';
import { isObj } from './tls.js';

/** The metadata namespace Envoy reads transport socket matches from. */
export const TRANSPORT_SOCKET_MATCH_NS = 'envoy.transport_socket_match';

export type UpstreamSocketKind = 'tls' | 'raw_buffer' | 'internal_upstream' | 'unknown';

/** What kind of transport a cluster socket is; `null` (no socket) is Envoy's default raw_buffer. */
export function socketKind(ts: ClusterTransportSocket | null): UpstreamSocketKind {
  if (!ts) return 'raw_buffer';
  if (ts.tls) return 'tls';
  if (/RawBuffer$/.test(ts.typeUrl) || /(^|\.)raw_buffer$/.test(ts.name)) return 'raw_buffer';
  if (/InternalUpstreamTransport$/.test(ts.typeUrl) || /internal_upstream$/.test(ts.name)) return 'internal_upstream';
  return 'unknown';
}

export interface SocketChoice {
  socket: ClusterTransportSocket | null;
  /** Where the socket came from. */
  via: { kind: 'match'; name: string; index: number } | { kind: 'transport_socket' } | { kind: 'default' };
}

function valueEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => valueEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => valueEqual(a[k], b[k]));
  }
  return false;
}

/** `metadataLabelMatch(label_set, metadata, "envoy.transport_socket_match", false)`. */
export function transportSocketMatchApplies(match: ProtoObject, endpointMetadata: ProtoObject | null): boolean {
  const labels = Object.entries(match);
  if (labels.length === 0) return true;
  const fm = endpointMetadata && isObj(endpointMetadata.filter_metadata) ? endpointMetadata.filter_metadata : null;
  const ns = fm && isObj(fm[TRANSPORT_SOCKET_MATCH_NS]) ? (fm[TRANSPORT_SOCKET_MATCH_NS] as ProtoObject) : null;
  if (!ns) return false;
  return labels.every(([k, v]) => k in ns && valueEqual(ns[k], v));
}

function fallback(cluster: Cluster): SocketChoice {
  return cluster.transportSocket ? { socket: cluster.transportSocket, via: { kind: 'transport_socket' } } : { socket: null, via: { kind: 'default' } };
}

/**
 * The socket Envoy uses towards one endpoint. `endpointMetadata` is the endpoint's metadata (null: it has
 * none); pass `undefined` when the endpoint is not known, and get every socket it could be (in order).
 */
export function selectTransportSocket(cluster: Cluster, endpointMetadata: ProtoObject | null): SocketChoice;
export function selectTransportSocket(cluster: Cluster, endpointMetadata: undefined): SocketChoice[];
export function selectTransportSocket(cluster: Cluster, endpointMetadata: ProtoObject | null | undefined): SocketChoice | SocketChoice[] {
  if (endpointMetadata === undefined) {
    const out: SocketChoice[] = [];
    for (const [i, m] of cluster.transportSocketMatches.entries()) {
      out.push({ socket: m.transportSocket, via: { kind: 'match', name: m.name, index: i } });
      if (Object.keys(m.match).length === 0) return out; // matches everything: later entries are never used
    }
    out.push(fallback(cluster));
    return out;
  }
  for (const [i, m] of cluster.transportSocketMatches.entries()) {
    if (transportSocketMatchApplies(m.match, endpointMetadata)) return { socket: m.transportSocket, via: { kind: 'match', name: m.name, index: i } };
  }
  return fallback(cluster);
}

export interface ClusterEndpoints {
  endpoints: EndpointInfo[];
  /** `eds` (from the dump's EndpointsConfigDump), `load_assignment` (inline), `original_dst` (the connection's own destination). */
  source: 'eds' | 'load_assignment' | 'original_dst';
  /** False when the cluster is EDS but the dump has no endpoints section (take it with `?include_eds`). */
  known: boolean;
}

export function clusterEndpoints(dump: ConfigDump, cluster: Cluster): ClusterEndpoints {
  if (cluster.type === 'ORIGINAL_DST') return { endpoints: [], source: 'original_dst', known: true };
  if (cluster.type === 'EDS' || cluster.edsServiceName !== null) {
    const service = cluster.edsServiceName ?? cluster.name;
    return { endpoints: dump.endpoints.filter((e) => e.cluster === service), source: 'eds', known: dump.sections.includes('endpoints') };
  }
  return { endpoints: cluster.loadAssignment, source: 'load_assignment', known: true };
}

/** The protocol Envoy uses upstream for HTTP: from the cluster's protocol options (`downstream` = as the client spoke). */
export function upstreamHttpProtocol(cluster: Cluster): 'HTTP11' | 'HTTP2' | 'downstream' {
  const c = cluster.config;
  const opts = isObj(c.typed_extension_protocol_options) ? c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] : undefined;
  if (isObj(opts)) {
    if (isObj(opts.use_downstream_protocol_config)) return 'downstream';
    if (isObj(opts.explicit_http_config) && isObj(opts.explicit_http_config.http2_protocol_options)) return 'HTTP2';
    if (isObj(opts.auto_config)) return 'downstream';
  }
  if (isObj(c.http2_protocol_options)) return 'HTTP2';
  if (c.protocol_selection === 'USE_DOWNSTREAM_PROTOCOL') return 'downstream';
  return 'HTTP11';
}

export function findCluster(dump: ConfigDump, name: string): Cluster | null {
  return dump.clusters.find((c) => c.name === name && c.state !== 'warming') ?? dump.clusters.find((c) => c.name === name) ?? null;
}

export interface OutboundTarget {
  /** Original destination IP; undefined when only a host name is known. */
  ip?: string;
  port: number;
  /** HTTP only: authority and path for route matching. */
  authority?: string;
  path?: string;
  /** The application protocol the app speaks (what http_inspector would detect); default tcp. */
  protocol?: 'http' | 'tcp';
}

export interface OutboundPath {
  selection: ChainSelection;
  /** The chain's terminal filter: `tcp_proxy`, `http` (connection manager) or none understood. */
  via: 'tcp_proxy' | 'http' | 'none';
  filter: NetworkFilter | null;
  routeConfig: RouteConfiguration | null;
  virtualHost: string | null;
  route: string | null;
  /** The cluster the connection (or request) is sent to. */
  cluster: string | null;
  /** Other clusters a weighted split also sends to. */
  otherClusters: string[];
  trace: string[];
}

/** The connection manager or tcp_proxy that decides the upstream, last in the chain. */
function terminalFilter(chain: FilterChain): NetworkFilter | null {
  for (let i = chain.filters.length - 1; i >= 0; i--) {
    const f = chain.filters[i]!;
    if (f.tcpProxy || f.hcm || HCM_NAMES.includes(f.name)) return f;
  }
  return null;
}

/** Follows a connection from the original destination through listener, chain, route to a cluster. */
export function outboundPath(dump: ConfigDump, t: OutboundTarget, listenerName?: string): OutboundPath {
  const conn: ConnectionAttrs = { destination: t.ip !== undefined ? { address: t.ip, port: t.port } : ({ port: t.port } as NonNullable<ConnectionAttrs['destination']>) };
  if (dump.node?.ip) conn.source = { address: dump.node.ip };
  if (t.protocol === 'http') conn.alpn = ['http/1.1'];
  const selection = selectFilterChain(dump, conn, { direction: 'outbound', ...(listenerName !== undefined ? { listener: listenerName } : {}) });
  const trace = [...selection.trace];
  const out: OutboundPath = { selection, via: 'none', filter: null, routeConfig: null, virtualHost: null, route: null, cluster: null, otherClusters: [], trace };
  const chain = selection.chain;
  if (!chain) return out;
  const f = terminalFilter(chain);
  out.filter = f;
  if (!f) {
    trace.push(`the chain has no tcp_proxy or HTTP connection manager: the upstream is not known`);
    return out;
  }
  if (f.tcpProxy) {
    out.via = 'tcp_proxy';
    if (f.tcpProxy.cluster) {
      out.cluster = f.tcpProxy.cluster;
      trace.push(`tcp_proxy sends the connection to cluster ${f.tcpProxy.cluster}`);
    } else if (f.tcpProxy.weightedClusters.length) {
      out.cluster = f.tcpProxy.weightedClusters[0]!;
      out.otherClusters = f.tcpProxy.weightedClusters.slice(1);
      trace.push(`tcp_proxy splits connections over weighted clusters ${f.tcpProxy.weightedClusters.join(', ')}`);
    } else trace.push('tcp_proxy names no cluster (on-demand or filter-state cluster): not followed');
    return out;
  }
  out.via = 'http';
  const rc = f.hcm?.routeConfig ?? null;
  out.routeConfig = rc;
  if (!rc) {
    trace.push(f.hcm?.rdsName ? `route configuration ${f.hcm.rdsName} (RDS) is not in the dump: the route cannot be followed` : f.hcm?.scopedRoutes ? 'scoped RDS is not modelled: the route cannot be followed' : 'the connection manager has no route configuration');
    return out;
  }
  const authority = t.authority ?? (t.ip !== undefined ? `${t.ip.includes(':') ? `[${t.ip}]` : t.ip}:${t.port}` : undefined);
  const m = matchRoute(rc, { method: 'GET', path: t.path ?? '/', headers: {}, ...(authority !== undefined ? { authority } : {}) });
  if (!m) {
    trace.push(`route configuration ${rc.name}: no virtual host or route matches authority ${authority ?? '(none)'}: Envoy answers 404 (NR route_not_found)`);
    return out;
  }
  out.virtualHost = m.virtualHost.name;
  out.route = m.route.name || null;
  trace.push(`route configuration ${rc.name}, virtual host ${m.virtualHost.name} (authority ${authority ?? '(none)'}), route ${m.route.name || m.route.jsonPath}${m.uncertain ? ' (an earlier route could not be evaluated)' : ''}`);
  if (m.route.action !== 'route') {
    trace.push(`the route's action is ${m.route.action}: no upstream cluster`);
    return out;
  }
  out.cluster = m.route.cluster;
  if (m.route.cluster) trace.push(`the route sends the request to cluster ${m.route.cluster}`);
  return out;
}
