/**
 * `meshsleuth route`: the outbound path a client sidecar takes to a destination, and what it puts on the
 * wire (TLS mode, SNI, ALPN, client certificate) and why — from the client's own config dump.
 *
 * Envoy's part (listener → filter chain → route → cluster → endpoint → transport socket) is src/envoy
 * (select.ts, outbound.ts); Istio's reading of it (ISTIO_MUTUAL, auto-mTLS, DestinationRule, tlsMode
 * labels, SNI format, `istio.alpn`) is src/istio/outbound.ts. This module joins them for one target.
 */
import type { Cluster, ConfigDump, EndpointInfo, Listener } from '../envoy/model.js';
import { clusterEndpoints, findCluster, outboundPath, selectTransportSocket, upstreamHttpProtocol, type OutboundPath } from '../envoy/outbound.js';
import { parseIp } from '../envoy/ip.js';
import {
  clusterTls,
  endpointSocketReason,
  endpointTlsMode,
  endpointWorkload,
  hasIstioAlpnFilter,
  istioAlpnOverride,
  parseIstioClusterName,
  qualifyHost,
  socketTls,
  type ClusterTls,
  type OutboundTlsMode,
  type SocketTls,
} from '../istio/outbound.js';

export interface RouteTarget {
  /** IP address or host name. */
  host: string;
  port: number;
  /** The app speaks HTTP (selects HTTP chains of sniffed ports; routes by authority and path). */
  http?: boolean;
  path?: string;
  /** Use this listener instead of the one iptables + Envoy would pick. */
  listener?: string;
}

export interface WireTls {
  mode: OutboundTlsMode;
  sni: string | null;
  /** What the sidecar offers: the cluster's, or the `istio.alpn` override for HTTP. */
  alpn: string[];
  /** Client certificate sources (SDS secret names or files). */
  clientCertificates: string[];
  /** SANs the client verifies on the server certificate. */
  verifySans: string[];
}

export interface RouteEndpoint {
  address: string;
  port: number | null;
  health: string | null;
  /** The pod's `security.istio.io/tlsMode` as EDS carries it (`istio` = has a sidecar). */
  tlsMode: string | null;
  workload: string | null;
  /** What this endpoint gets. */
  tls: { mode: Exclude<OutboundTlsMode, 'auto-mtls'>; sni: string | null; alpn: string[]; socket: string };
  reason: string;
}

export interface RouteResult {
  proxy: string;
  to: string;
  listener: { name: string; address: string | null } | null;
  chain: { name: string; index: number } | null;
  route: { routeConfig: string; virtualHost: string | null; name: string | null } | null;
  cluster: { name: string; type: string | null; destinationRule: string | null; service: string | null } | null;
  endpoints: RouteEndpoint[];
  tls: WireTls | null;
  reason: string;
  /** Listener → chain → route → cluster → endpoint, one line each. */
  path: string[];
  notes: string[];
}

function fmtAddr(ip: string | undefined, port: number | null): string {
  if (ip === undefined) return `?:${port ?? '?'}`;
  return `${ip.includes(':') ? `[${ip}]` : ip}${port !== null ? `:${port}` : ''}`;
}

function listenerAddr(l: Listener): string | null {
  return l.address ? fmtAddr(l.address.address, l.address.port) : null;
}

/** For a host name: the IP of the outbound listener whose tcp_proxy goes to a cluster for that host and port. */
function resolveHost(dump: ConfigDump, names: string[], port: number): { ip: string; listener: Listener } | null {
  for (const l of dump.listeners) {
    if (!(l.state === 'active' || l.state === 'static') || !l.address || l.address.port !== port || l.trafficDirection === 'INBOUND') continue;
    if (l.address.address === '0.0.0.0' || l.address.address === '::') continue;
    for (const c of l.filterChains) {
      for (const f of c.filters) {
        const cl = f.tcpProxy?.cluster;
        const p = cl ? parseIstioClusterName(cl) : null;
        if (p && p.port === port && names.includes(p.host)) return { ip: l.address.address, listener: l };
      }
    }
  }
  return null;
}

function wireFromSocket(t: SocketTls, alpnOverride: string[] | null): { sni: string | null; alpn: string[] } {
  const tls = t.kind === 'istio-mutual' || t.kind === 'mutual' || t.kind === 'simple';
  return { sni: tls ? t.sni : null, alpn: tls ? (alpnOverride && t.kind === 'istio-mutual' ? alpnOverride : t.alpn) : [] };
}

/** Endpoint-level mode of a socket (ORIGINAL_DST without TLS = passthrough). */
function endpointMode(t: SocketTls, cluster: Cluster): RouteEndpoint['tls']['mode'] {
  if (t.kind === 'hbone') return 'unknown';
  if (t.kind === 'plaintext' && cluster.type === 'ORIGINAL_DST') return 'passthrough';
  return t.kind;
}

/** The ALPN the sidecar offers for a request through an HTTP route (istio.alpn), when it is fixed. */
function alpnOverrideFor(path: OutboundPath, cluster: Cluster, notes: string[]): string[] | null {
  if (path.via !== 'http' || !hasIstioAlpnFilter(path.filter)) return null;
  const proto = upstreamHttpProtocol(cluster);
  const o = istioAlpnOverride(path.filter, proto);
  if (o) notes.push(`the outbound istio.alpn filter replaces the cluster's ALPN for ${proto === 'HTTP2' ? 'HTTP/2' : 'HTTP/1.1'} upstream requests with ${o.join(',')}`);
  else if (proto === 'downstream') notes.push('the cluster uses the downstream HTTP protocol: istio.alpn offers istio-http/1.0, istio-http/1.1 or istio-h2 (with istio) as the app spoke');
  return o;
}

/** The outbound path and wire TLS for one target. */
export function routeTo(dump: ConfigDump, t: RouteTarget): RouteResult {
  const notes: string[] = [];
  const isIp = parseIp(t.host.replace(/^\[|\]$/g, '')) !== null;
  let ip: string | undefined = isIp ? t.host.replace(/^\[|\]$/g, '') : undefined;
  let authority: string | undefined;
  if (!isIp) {
    const names = qualifyHost(t.host, dump.node);
    authority = `${t.host}:${t.port}`;
    const r = resolveHost(dump, names, t.port);
    if (r) {
      ip = r.ip;
      notes.push(`${t.host} resolved to ${r.ip} by listener ${r.listener.displayName} (its tcp_proxy goes to a cluster for ${names[names.length - 1]})`);
    } else notes.push(`${t.host} is a name: the listener for port ${t.port} is chosen without a destination IP (the app's DNS answer decides it; give an IP to be exact)`);
  }
  const path = outboundPath(dump, { port: t.port, ...(ip !== undefined ? { ip } : {}), ...(authority !== undefined ? { authority } : {}), ...(t.path !== undefined ? { path: t.path } : {}), protocol: t.http || t.path !== undefined ? 'http' : 'tcp' }, t.listener);
  const sel = path.selection;
  const result: RouteResult = {
    proxy: dump.node?.id ?? dump.source,
    to: isIp ? fmtAddr(ip, t.port) : `${t.host}:${t.port}`,
    listener: sel.listener ? { name: sel.listener.displayName, address: listenerAddr(sel.listener) } : null,
    chain: sel.chain ? { name: sel.chain.name, index: sel.chain.index } : null,
    route: path.routeConfig ? { routeConfig: path.routeConfig.name, virtualHost: path.virtualHost, name: path.route } : null,
    cluster: null,
    endpoints: [],
    tls: null,
    reason: '',
    path: path.trace,
    notes,
  };
  if (!sel.listener) {
    result.reason = `no outbound listener takes ${result.to}: the connection is not intercepted or refused (${sel.reason})`;
    return result;
  }
  if (!sel.chain) {
    result.reason = `listener ${sel.listener.displayName} has no filter chain for ${result.to}: Envoy closes the connection (filter_chain_not_found)`;
    return result;
  }
  if (!path.cluster) {
    result.reason = path.trace[path.trace.length - 1] ?? 'no upstream cluster';
    return result;
  }
  const cluster = findCluster(dump, path.cluster);
  if (!cluster) {
    result.cluster = { name: path.cluster, type: null, destinationRule: null, service: null };
    result.reason = dump.sections.includes('clusters') ? `cluster ${path.cluster} is not in the dump: Envoy answers with no healthy upstream (NC cluster_not_found)` : `the dump has no clusters section: cluster ${path.cluster} cannot be read (take the full /config_dump)`;
    return result;
  }
  const ct = clusterTls(cluster);
  result.cluster = { name: cluster.name, type: cluster.type, destinationRule: ct.destinationRule ? `${ct.destinationRule.namespace}/${ct.destinationRule.name}` : null, service: ct.service?.host ?? null };
  if (path.otherClusters.length) notes.push(`weighted split: also to ${path.otherClusters.join(', ')} (not followed)`);
  const alpnOverride = alpnOverrideFor(path, cluster, notes);
  const ce = clusterEndpoints(dump, cluster);
  if (ce.source === 'original_dst') {
    const choice = selectTransportSocket(cluster, null);
    const st = socketTls(choice.socket);
    const w = wireFromSocket(st, alpnOverride);
    result.endpoints.push({ address: ip ?? '?', port: t.port, health: null, tlsMode: null, workload: null, tls: { mode: endpointMode(st, cluster), ...w, socket: choice.via.kind === 'match' ? choice.via.name : choice.via.kind }, reason: 'ORIGINAL_DST: the upstream is the connection\'s original destination' });
    path.trace.push(`${cluster.name} is ORIGINAL_DST: upstream ${fmtAddr(ip, t.port)} (the original destination)`);
  } else {
    for (const ep of ce.endpoints) result.endpoints.push(routeEndpoint(ep, cluster, alpnOverride));
    if (!ce.known) notes.push(`the dump has no EDS endpoints (capture it with /config_dump?include_eds): which endpoints ${ct.mode === 'auto-mtls' ? 'get mTLS (tlsMode=istio) and which plaintext is undecidable' : 'the connection reaches is not known'}`);
    else if (ce.endpoints.length === 0) notes.push(`cluster ${cluster.name} has no endpoints: Envoy answers no healthy upstream (UH)`);
  }
  const w = ct.tls ? wireFromSocket(ct.tls, alpnOverride) : { sni: null, alpn: [] };
  result.tls = { mode: ct.mode, sni: w.sni, alpn: w.alpn, clientCertificates: ct.tls?.clientCertificates ?? [], verifySans: ct.tls?.verifySans ?? [] };
  result.reason = routeReason(result, ct, ip, t.port);
  return result;
}

function routeEndpoint(ep: EndpointInfo, cluster: Cluster, alpnOverride: string[] | null): RouteEndpoint {
  const choice = selectTransportSocket(cluster, ep.metadata);
  const st = socketTls(choice.socket);
  const w = wireFromSocket(st, alpnOverride);
  return {
    address: ep.address,
    port: ep.port,
    health: ep.health,
    tlsMode: endpointTlsMode(ep),
    workload: endpointWorkload(ep),
    tls: { mode: endpointMode(st, cluster), ...w, socket: choice.via.kind === 'match' ? choice.via.name : choice.via.kind },
    reason: endpointSocketReason(ep, choice, st),
  };
}

function routeReason(r: RouteResult, ct: ClusterTls, ip: string | undefined, port: number): string {
  if (ct.mode === 'passthrough' && /^PassthroughCluster$/.test(ct.cluster)) {
    const where = ip !== undefined ? fmtAddr(ip, port) : `port ${port}`;
    return `undeclared port: no Service port known to this sidecar matches ${where} (no outbound listener for it), so ${r.listener?.name ?? 'the capture listener'} sends it to PassthroughCluster, which forwards the app's bytes unchanged (plaintext unless the app speaks TLS itself)`;
  }
  if (ct.mode === 'auto-mtls') {
    const sidecar = r.endpoints.filter((e) => e.tls.mode === 'istio-mutual').length;
    const plain = r.endpoints.length - sidecar;
    if (r.endpoints.length) return `${ct.reason}: ${sidecar} endpoint(s) get mTLS, ${plain} get plaintext (${plain ? 'endpoint without sidecar' : 'every endpoint has a sidecar'})`;
  }
  return ct.reason;
}

export interface ClusterListing {
  proxy: string;
  clusters: (ClusterTls & { endpoints: { total: number; sidecar: number; known: boolean } })[];
  /** Count per mode. */
  modes: Partial<Record<OutboundTlsMode, number>>;
}

/** Every cluster of the dump with its TLS mode (the `route` command without `--to`). */
export function listClusterTls(dump: ConfigDump): ClusterListing {
  const clusters = dump.clusters
    .filter((c) => c.state !== 'warming')
    .map((c) => {
      const ct = clusterTls(c);
      const ce = clusterEndpoints(dump, c);
      return { ...ct, endpoints: { total: ce.endpoints.length, sidecar: ce.endpoints.filter((e) => endpointTlsMode(e) === 'istio').length, known: ce.known && ce.source !== 'original_dst' } };
    });
  const modes: Partial<Record<OutboundTlsMode, number>> = {};
  for (const c of clusters) modes[c.mode] = (modes[c.mode] ?? 0) + 1;
  return { proxy: dump.node?.id ?? dump.source, clusters, modes };
}
