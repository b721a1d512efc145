/**
 * Istio's conventions on the client side: what a sidecar's outbound cluster says it sends.
 *
 * How istiod renders a cluster's TLS (pilot/pkg/networking/core/cluster_tls.go):
 *  - DestinationRule `tls.mode: ISTIO_MUTUAL` → `transport_socket` UpstreamTlsContext with the workload
 *    certificate over SDS (`default`), the mesh root (`ROOTCA`, combined validation context with the
 *    service accounts as SANs), SNI `outbound_.<port>_.<subset>_.<host>` and ALPN `istio-peer-exchange,istio`
 *    (`istio-peer-exchange,istio,h2` for HTTP/2 clusters). Before SDS (Istio ≤ 1.4): the same from files
 *    `/etc/certs/cert-chain.pem` / `root-cert.pem` (v2 `tls_context`).
 *  - no DestinationRule TLS, auto-mTLS on, destination not DISABLE → the same context but inside
 *    `transport_socket_matches`: `tlsMode-istio` (`match: {tlsMode: istio}`, endpoints whose pod carries the
 *    `security.istio.io/tlsMode=istio` label, i.e. has a sidecar) then `tlsMode-disabled` (`match: {}`,
 *    raw_buffer: everything else). Istio 1.4 named them `mtls` / `plaintext`. Not for ORIGINAL_DST
 *    (headless) clusters: those keep the plain `transport_socket`.
 *  - `SIMPLE` / `MUTUAL`: UpstreamTlsContext with the DestinationRule's SNI, no Istio ALPN (`h2` for
 *    HTTP/2), certificates over SDS `file-cert:<cert>~<key>` / `file-root:<ca>` or `kubernetes://<credentialName>`.
 *  - `DISABLE`, or no TLS and no auto-mTLS: no transport socket (plaintext).
 *  - HBONE-capable proxies add an `hbone` match (internal upstream) first.
 * The DestinationRule in force is named in `metadata.filter_metadata.istio.config`
 * (`/apis/networking/v1alpha3/namespaces/<ns>/destination-rule/<name>`).
 * The outbound `istio.alpn` HTTP filter overrides the cluster's ALPN per upstream HTTP protocol
 * (`istio-http/1.0`, `istio-http/1.1`, `istio-h2`, each followed by `istio`).
 */
import type { Cluster, ClusterTransportSocket, EndpointInfo, NetworkFilter, NodeInfo, ProtoObject } from '../envoy/model.js';
import { socketKind, TRANSPORT_SOCKET_MATCH_NS, type SocketChoice } from '../envoy/outbound.js';
import { isObj } from '../envoy/tls.js';
import type { OutboundTlsMode } from '../model/halves.js';

/** The client TLS a cluster's socket originates, in DestinationRule terms (`hbone`: Istio's HBONE tunnel). */
export type SocketTlsKind = 'istio-mutual' | 'mutual' | 'simple' | 'plaintext' | 'hbone' | 'unknown';

/** A cluster's mode: one of the socket kinds, `auto-mtls` (per endpoint), `passthrough` (ORIGINAL_DST without TLS) or `blackhole`. */
export type { OutboundTlsMode };

export const OUTBOUND_TLS_MODES: readonly OutboundTlsMode[] = ['istio-mutual', 'auto-mtls', 'mutual', 'simple', 'plaintext', 'passthrough', 'blackhole', 'unknown'];

/** The workload certificate and root istio-agent serves over SDS, and the pre-SDS mounted files. */
export const ISTIO_SDS_CERT = 'default';
export const ISTIO_SDS_ROOT = 'ROOTCA';
export const ISTIO_FILE_CERT = '/etc/certs/cert-chain.pem';

export interface SocketTls {
  kind: SocketTlsKind;
  sni: string | null;
  alpn: string[];
  /** Client certificate sources (SDS names or files); [] = no client certificate. */
  clientCertificates: string[];
  /** Validation sources (SDS names or CA files). */
  validation: string[];
  /** Subject alternative names the client accepts from the server (exact/prefix/... values). */
  verifySans: string[];
  /** For `unknown`: the socket's name/type. */
  socket?: string;
}

function sanValues(ms: ProtoObject[]): string[] {
  const out: string[] = [];
  for (const m of ms) {
    const inner = isObj(m.matcher) ? m.matcher : m;
    for (const k of ['exact', 'prefix', 'suffix', 'contains']) if (typeof inner[k] === 'string') out.push(k === 'exact' ? inner[k] : `${k}:${inner[k]}`);
    if (isObj(inner.safe_regex) && typeof inner.safe_regex.regex === 'string') out.push(`regex:${inner.safe_regex.regex}`);
  }
  return out;
}

/** Classifies one upstream transport socket (null = Envoy's default raw_buffer). */
export function socketTls(ts: ClusterTransportSocket | null): SocketTls {
  const none: SocketTls = { kind: 'plaintext', sni: null, alpn: [], clientCertificates: [], validation: [], verifySans: [] };
  const kind = socketKind(ts);
  if (kind === 'raw_buffer') return none;
  if (kind === 'internal_upstream') return { ...none, kind: 'hbone' };
  if (kind === 'unknown' || !ts?.tls) return { ...none, kind: 'unknown', socket: ts?.typeUrl || ts?.name || '?' };
  const t = ts.tls;
  const clientCertificates = [...t.sdsCerts, ...t.certFiles];
  const istio = t.sdsCerts.includes(ISTIO_SDS_CERT) || t.certFiles.includes(ISTIO_FILE_CERT);
  return {
    kind: istio ? 'istio-mutual' : clientCertificates.length ? 'mutual' : 'simple',
    sni: t.sni,
    alpn: t.alpn,
    clientCertificates,
    validation: [...t.validationSds],
    verifySans: sanValues(t.matchSubjectAltNames),
  };
}

export interface IstioClusterName {
  direction: 'outbound' | 'inbound';
  port: number;
  subset: string;
  host: string;
}

/** `outbound|9080|v1|details.default.svc.cluster.local` → parts; null for other names. */
export function parseIstioClusterName(name: string): IstioClusterName | null {
  const m = /^(outbound|inbound)\|(\d{1,5})\|([^|]*)\|(.+)$/.exec(name);
  if (!m) return null;
  return { direction: m[1] as 'outbound' | 'inbound', port: Number(m[2]), subset: m[3]!, host: m[4]! };
}

/** The SNI istiod gives an ISTIO_MUTUAL cluster (model.BuildDNSSrvSubsetKey): `outbound_.<port>_.<subset>_.<host>`. */
export function istioSni(port: number, subset: string, host: string, direction: 'outbound' | 'inbound' = 'outbound'): string {
  return `${direction}_.${port}_.${subset}_.${host}`;
}

/** The DestinationRule named in cluster metadata (`filter_metadata.istio.config`), or null. */
export function destinationRuleOf(metadata: ProtoObject | null): { namespace: string; name: string } | null {
  const fm = metadata && isObj(metadata.filter_metadata) ? metadata.filter_metadata : null;
  const istio = fm && isObj(fm.istio) ? fm.istio : null;
  const cfg = istio && typeof istio.config === 'string' ? istio.config : null;
  const m = cfg ? /\/namespaces\/([^/]+)\/destination-rule\/([^/]+)$/.exec(cfg) : null;
  return m ? { namespace: m[1]!, name: m[2]! } : null;
}

export interface ClusterSocketTls {
  /** `transport_socket_matches[].name`, null for the cluster's transport_socket / default. */
  match: string | null;
  /** The match labels (`{tlsMode: istio}`), null when not a match entry. */
  labels: ProtoObject | null;
  tls: SocketTls;
}

export interface ClusterTls {
  cluster: string;
  type: string | null;
  mode: OutboundTlsMode;
  /** Each socket the cluster can use, in the order Envoy tries them. */
  sockets: ClusterSocketTls[];
  /** The mTLS / TLS socket (for auto-mTLS: the `tlsMode-istio` one), null when none. */
  tls: SocketTls | null;
  destinationRule: { namespace: string; name: string } | null;
  service: IstioClusterName | null;
  /** HBONE (ambient) tunnelling for endpoints labelled for it. */
  hbone: boolean;
  reason: string;
  jsonPath: string;
}

const PASSTHROUGH_NAMES = /^(PassthroughCluster|InboundPassthroughCluster(Ipv4|Ipv6)?)$/;

function drText(dr: { namespace: string; name: string } | null): string {
  return dr ? `DestinationRule ${dr.namespace}/${dr.name}` : '';
}

/** The TLS mode of one cluster, and why, from its own transport sockets and metadata. */
export function clusterTls(c: Cluster): ClusterTls {
  const dr = destinationRuleOf(c.metadata);
  const service = parseIstioClusterName(c.name);
  const sockets: ClusterSocketTls[] = c.transportSocketMatches.map((m) => ({ match: m.name, labels: m.match, tls: socketTls(m.transportSocket) }));
  const base = { cluster: c.name, type: c.type, destinationRule: dr, service, jsonPath: c.jsonPath };
  const matchesCatchAll = c.transportSocketMatches.some((m) => Object.keys(m.match).length === 0);
  if (!matchesCatchAll) sockets.push({ match: null, labels: null, tls: socketTls(c.transportSocket) });
  const hbone = sockets.some((s) => s.tls.kind === 'hbone');
  const real = sockets.filter((s) => s.tls.kind !== 'hbone');
  const kinds = new Set(real.map((s) => s.tls.kind));
  const tlsSock = real.find((s) => s.tls.kind !== 'plaintext' && s.tls.kind !== 'unknown')?.tls ?? null;
  const mk = (mode: OutboundTlsMode, reason: string): ClusterTls => ({ ...base, mode, sockets, tls: tlsSock, hbone, reason });
  const by = dr ? `${drText(dr)}` : '';

  if (c.name === 'BlackHoleCluster' || (c.type === 'STATIC' && c.loadAssignment.length === 0 && !tlsSock && c.name.startsWith('BlackHole'))) {
    return mk('blackhole', 'BlackHoleCluster has no endpoints: Envoy closes the connection (nothing reaches the wire)');
  }
  if (kinds.has('unknown')) {
    const u = real.find((s) => s.tls.kind === 'unknown')!;
    return mk('unknown', `transport socket ${u.tls.socket ?? '?'} is not understood`);
  }
  if (c.type === 'ORIGINAL_DST' && !tlsSock) {
    if (PASSTHROUGH_NAMES.test(c.name)) {
      return mk('passthrough', `${c.name} (ORIGINAL_DST) forwards to the original destination without TLS origination: the bytes the app sent go on the wire unchanged (plaintext unless the app speaks TLS itself)`);
    }
    return mk('passthrough', `ORIGINAL_DST cluster (headless Service${service ? ` ${service.host}` : ''}) without TLS: the app's bytes go to the original destination unchanged${dr ? `; ${by} sets no TLS` : ''}`);
  }
  const istioMatch = real.find((s) => s.labels && s.labels.tlsMode === 'istio');
  if (istioMatch && istioMatch.tls.kind === 'istio-mutual' && kinds.size === 2 && kinds.has('plaintext')) {
    return mk('auto-mtls', `auto-mTLS (${dr ? `${by} sets no tls.mode` : 'no DestinationRule TLS'}): Istio mTLS to endpoints whose pod has a sidecar (tlsMode=istio), plaintext to the others`);
  }
  if (kinds.size > 1) {
    return mk('unknown', `endpoint-dependent sockets (${real.map((s) => `${s.match ?? 'transport_socket'}: ${s.tls.kind}`).join(', ')}) that are not Istio's auto-mTLS pattern`);
  }
  const only = [...kinds][0] ?? 'plaintext';
  switch (only) {
    case 'istio-mutual':
      if (c.type === 'ORIGINAL_DST' && !dr) return mk('istio-mutual', `ISTIO_MUTUAL on an ORIGINAL_DST (headless Service) cluster: auto-mTLS is not turned into per-endpoint matches there, so every connection is mTLS`);
      return mk('istio-mutual', dr ? `${by} sets tls.mode ISTIO_MUTUAL` : 'ISTIO_MUTUAL set without a DestinationRule in the cluster metadata (an istiod before auto-mTLS with a mesh-wide mTLS default)');
    case 'mutual':
      return mk('mutual', `${dr ? by : 'the cluster'} originates mutual TLS with its own client certificate (${tlsSock?.clientCertificates.join(', ') ?? ''}): tls.mode MUTUAL`);
    case 'simple':
      return mk('simple', `${dr ? by : 'the cluster'} originates one-way TLS (tls.mode SIMPLE): no client certificate is sent`);
    default:
      if (dr) return mk('plaintext', `${by} is in force and the cluster has no TLS: its tls.mode is DISABLE, or it sets no TLS and istiod did not apply auto-mTLS (mesh enableAutoMtls off, or the destination's PeerAuthentication is DISABLE)`);
      return mk('plaintext', service?.direction === 'inbound' ? 'inbound cluster: the sidecar talks plaintext to its own app' : 'no DestinationRule TLS and no auto-mTLS on this cluster: mesh enableAutoMtls is off, the host is outside the mesh, or istiod saw the destination as mTLS DISABLE');
  }
}

/** The endpoint's Istio tlsMode label as EDS carries it (`istio` = the pod has a sidecar); null when absent. */
export function endpointTlsMode(ep: EndpointInfo): string | null {
  const fm = ep.metadata && isObj(ep.metadata.filter_metadata) ? ep.metadata.filter_metadata : null;
  const ns = fm && isObj(fm[TRANSPORT_SOCKET_MATCH_NS]) ? fm[TRANSPORT_SOCKET_MATCH_NS] : null;
  return ns && typeof ns.tlsMode === 'string' ? ns.tlsMode : null;
}

/** `istio.workload` endpoint metadata: `<workload>;<namespace>;<canonical service>;<revision>;<cluster>`. */
export function endpointWorkload(ep: EndpointInfo): string | null {
  const fm = ep.metadata && isObj(ep.metadata.filter_metadata) ? ep.metadata.filter_metadata : null;
  const istio = fm && isObj(fm.istio) ? fm.istio : null;
  return istio && typeof istio.workload === 'string' ? istio.workload : null;
}

/** Why an endpoint got the socket it got (for auto-mTLS clusters). */
export function endpointSocketReason(ep: EndpointInfo, choice: SocketChoice, tls: SocketTls): string {
  const mode = endpointTlsMode(ep);
  if (choice.via.kind === 'match') {
    if (tls.kind === 'istio-mutual') return `endpoint labelled tlsMode=${mode ?? '?'} (it has a sidecar): matches ${choice.via.name}`;
    if (tls.kind === 'plaintext') return `endpoint without a sidecar (${mode === null ? 'no tlsMode label' : `tlsMode=${mode}`}): matches ${choice.via.name}`;
    return `matches ${choice.via.name}`;
  }
  return choice.via.kind === 'transport_socket' ? 'the cluster transport_socket' : 'no transport socket: raw_buffer';
}

/**
 * The ALPN Envoy offers when the `istio.alpn` HTTP filter of the outbound connection manager overrides the
 * cluster's (per upstream HTTP protocol); null when the chain has no such filter or the protocol is not fixed.
 */
export function istioAlpnOverride(hcm: NetworkFilter | null, upstream: 'HTTP10' | 'HTTP11' | 'HTTP2' | 'downstream'): string[] | null {
  const filters = hcm?.hcm?.httpFilters ?? [];
  const f = filters.find((h) => h.name === 'istio.alpn' || /istio\.http\.alpn\./.test(h.typeUrl));
  if (!f || upstream === 'downstream') return null;
  const list = Array.isArray(f.config.alpn_override) ? f.config.alpn_override : [];
  for (const e of list) {
    if (!isObj(e)) continue;
    const proto = typeof e.upstream_protocol === 'string' ? e.upstream_protocol : 'HTTP10';
    if (proto === upstream && Array.isArray(e.alpn_override)) return e.alpn_override.filter((a): a is string => typeof a === 'string');
  }
  return null;
}

/** Whether the connection manager has Istio's `istio.alpn` filter (HTTP: ALPN decided per request protocol). */
export function hasIstioAlpnFilter(hcm: NetworkFilter | null): boolean {
  return (hcm?.hcm?.httpFilters ?? []).some((h) => h.name === 'istio.alpn' || /istio\.http\.alpn\./.test(h.typeUrl));
}

/**
 * Names a client may use for a host, fully qualified as the proxy's DNS domain does it (node id
 * `sidecar~ip~pod.ns~ns.svc.cluster.local`): `tcp-echo` → `tcp-echo.foo.svc.cluster.local`.
 */
export function qualifyHost(host: string, node: NodeInfo | null): string[] {
  const h = host.toLowerCase().replace(/\.$/, '');
  const out = [h];
  const domain = node?.id.split('~')[3] ?? (node?.namespace ? `${node.namespace}.svc.cluster.local` : null);
  const suffix = domain ? domain.replace(/^[^.]+\./, '') : 'svc.cluster.local'; // svc.cluster.local
  const dots = h.split('.').length - 1;
  if (dots === 0 && domain) out.push(`${h}.${domain}`);
  if (dots === 1) out.push(`${h}.${suffix}`);
  if (dots === 2 && h.endsWith('.svc')) out.push(`${h}.${suffix.replace(/^svc\./, '')}`);
  return out;
}
