/**
 * The Envoy model: what a `/config_dump` (admin, snake_case) or `istioctl proxy-config -o json|yaml`
 * (camelCase) says about one proxy, normalised to snake_case and typed where meshsleuth reads it.
 *
 * Conventions:
 *  - Every `config` / `raw` object is the protobuf JSON in snake_case (see normalize.ts), complete and
 *    unmodified, including `@type`. Engines (RBAC) read those; the typed fields are summaries.
 *  - `jsonPath` points into the ORIGINAL document (e.g. `$.configs[2].dynamic_listeners[0].active_state.listener`),
 *    so messages can name the exact place in the user's file.
 *  - Nothing is dropped silently: whatever the reader does not model is listed in `ConfigDump.notUnderstood`.
 *  - Private keys are never kept: secrets keep certificate facts only.
 */
import type { JsonValue } from '../model/attrs.js';

/** A snake_case protobuf-JSON object as found in the dump. */
export type ProtoObject = Record<string, unknown>;

export interface NodeInfo {
  /** Envoy node id, e.g. `sidecar~10.52.2.21~productpage-v1-5cb458d74f-56sx7.default~default.svc.cluster.local`. */
  id: string;
  /** `sidecar`, `router`, `waypoint`, ... (first `~` field of an Istio node id). */
  proxyType: string | null;
  /** Pod name (from the node id `<pod>.<namespace>` field, or metadata NAME / POD_NAME). */
  pod: string | null;
  namespace: string | null;
  /** The first instance IP (node id IP field, else metadata INSTANCE_IPS). */
  ip: string | null;
  /** Every instance IP the proxy has (metadata INSTANCE_IPS plus the node id IP). */
  ips: string[];
  /** Envoy node `cluster` (Istio: `<app>.<namespace>`). */
  cluster: string | null;
  /** Istio version from metadata ISTIO_VERSION (e.g. `1.21.0-1226`), null when not known. */
  istioVersion: string | null;
  /** Istio proxy build SHA from metadata ISTIO_PROXY_SHA, when present. */
  istioProxySha: string | null;
  /** Envoy version: `user_agent_build_version` (`1.18.3/Clean/RELEASE/BoringSSL`) or the legacy `build_version`. */
  envoyVersion: string | null;
  /** Istio metadata (verbatim Struct). */
  metadata: Record<string, JsonValue>;
  /** Where the node was read from. */
  jsonPath: string;
}

/** Something the reader kept but could not interpret (unknown section, filter type or field). */
export interface NotUnderstood {
  /** JSON path in the source document. */
  path: string;
  /** What kind of thing it is: `section`, `field`, `network_filter`, `http_filter`, `listener_filter`, `transport_socket`, ... */
  kind: string;
  /** The unknown name / `@type` / field name. */
  name: string;
  /** What that means for analysis, e.g. "kept raw; not evaluated". */
  note: string;
}

export interface SocketAddress {
  address: string;
  port: number;
  /** `TCP` or `UDP` (Envoy default TCP). */
  protocol?: string;
}

export type ListenerState = 'static' | 'active' | 'warming' | 'draining';
export type TrafficDirection = 'INBOUND' | 'OUTBOUND' | 'UNSPECIFIED';

export interface CidrRange {
  addressPrefix: string;
  prefixLen: number;
}

/** `envoy.config.listener.v3.FilterChainMatch`, every field. Absent = not constrained. */
export interface FilterChainMatch {
  destinationPort: number | null;
  prefixRanges: CidrRange[];
  /** Not implemented by Envoy (a listener with it is rejected); kept for completeness. */
  addressSuffix: string | null;
  suffixLen: number | null;
  directSourcePrefixRanges: CidrRange[];
  sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  sourcePrefixRanges: CidrRange[];
  sourcePorts: number[];
  /** Lower-cased, as Envoy stores them. */
  serverNames: string[];
  /** '' when not constrained. */
  transportProtocol: string;
  applicationProtocols: string[];
}

/** What a DownstreamTlsContext (or legacy `tls_context`) says. */
export interface DownstreamTls {
  requireClientCertificate: boolean;
  /**
   * The server sends a CertificateRequest: a client certificate is required, or a trusted CA is configured
   * (then, with `require_client_certificate: false`, a certificate is validated when sent: optional mTLS).
   */
  requestClientCertificate: boolean;
  /** ALPN the server offers (`common_tls_context.alpn_protocols`). */
  alpn: string[];
  /** SDS secret names of the server certificate(s). */
  sdsCerts: string[];
  /** SDS secret names used to validate the peer (`validation_context_sds_secret_config`, combined or not). */
  validationSds: string[];
  /** File-based certificates (legacy `/etc/certs/cert-chain.pem`). Private-key files are not listed. */
  certFiles: string[];
  /** File-based trusted CA. */
  trustedCaFiles: string[];
  /** `match_subject_alt_names` / `match_typed_subject_alt_names` (raw StringMatchers). */
  matchSubjectAltNames: ProtoObject[];
  requireSni: boolean;
  /** TLS parameters (min/max version, ciphers) as configured. */
  tlsParams: ProtoObject | null;
  /** True when read from a v2 `tls_context`. */
  legacy: boolean;
}

export interface TransportSocket {
  /** Socket name (`envoy.transport_sockets.tls`, `tls`, `tls_context` for v2 legacy). */
  name: string;
  typeUrl: string;
  /** Present when the socket terminates TLS (DownstreamTlsContext or legacy tls_context). */
  tls: DownstreamTls | null;
  /** The socket's config (typed_config / legacy tls_context), snake_case, with private keys removed. */
  config: ProtoObject;
}

export interface ListenerFilter {
  name: string;
  typeUrl: string;
  config: ProtoObject;
  /** `filter_disabled` match predicate, raw (e.g. Istio disables tls_inspector for port 15006). */
  filterDisabled: ProtoObject | null;
  jsonPath: string;
}

export interface FilterChain {
  /** Chain name ('' when the dump gives none). */
  name: string;
  /** Index in `filter_chains` (-1 for the default filter chain). */
  index: number;
  isDefault: boolean;
  match: FilterChainMatch;
  /** Fields of filter_chain_match that were present but not understood (selection can't be trusted). */
  unknownMatchFields: string[];
  transportSocket: TransportSocket | null;
  filters: NetworkFilter[];
  metadata: ProtoObject | null;
  jsonPath: string;
}

export interface NetworkFilter {
  name: string;
  /** `@type` of the config ('' for a legacy `config` struct or a missing config). */
  typeUrl: string;
  /** The filter's config, snake_case with `@type` (TypedStruct unwrapped; legacy `config` struct verbatim). */
  config: ProtoObject;
  /** How the config was given. */
  configSource: 'typed_config' | 'typed_struct' | 'config' | 'config_discovery' | 'none';
  hcm?: HttpConnectionManager;
  /** tcp_proxy summary. */
  tcpProxy?: { cluster: string | null; statPrefix: string | null; weightedClusters: string[] };
  jsonPath: string;
}

export interface HttpConnectionManager {
  statPrefix: string;
  httpFilters: HttpFilter[];
  /** The route configuration: inline, or resolved from the routes section by RDS name; null if not found. */
  routeConfig: RouteConfiguration | null;
  /** RDS route_config_name when routes come from RDS. */
  rdsName?: string;
  /** True when routes come through scoped RDS (not modelled). */
  scopedRoutes?: boolean;
  codecType: string | null;
  /** `forward_client_cert_details` (XFCC handling), useful to explain principal headers. */
  forwardClientCertDetails: string | null;
}

export interface HttpFilter {
  name: string;
  typeUrl: string;
  config: ProtoObject;
  configSource: 'typed_config' | 'typed_struct' | 'config' | 'config_discovery' | 'none';
  /** `disabled: true` — present in the chain but off unless a route enables it. */
  disabled?: boolean;
  isOptional?: boolean;
  jsonPath: string;
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHost[];
  /** RouteConfiguration-level typed_per_filter_config by filter name (raw snake_case). */
  typedPerFilterConfig: Record<string, ProtoObject>;
  /** `ignore_port_in_host_matching`: the Host's port is ignored when choosing the virtual host. */
  ignorePortInHostMatching: boolean;
  /** Where it came from. */
  origin: 'inline' | 'static' | 'dynamic';
  versionInfo: string | null;
  jsonPath: string;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  typedPerFilterConfig: Record<string, ProtoObject>;
  jsonPath: string;
}

export interface Route {
  name: string;
  /** RouteMatch, raw snake_case (prefix/path/safe_regex/path_separated_prefix/path_match_policy, headers, query_parameters, ...). */
  match: ProtoObject;
  /** Which action the route has. */
  action: 'route' | 'redirect' | 'direct_response' | 'filter_action' | 'non_forwarding' | 'none';
  /** Target cluster for `route` actions (first of weighted clusters, or `cluster_header:` form). */
  cluster: string | null;
  typedPerFilterConfig: Record<string, ProtoObject>;
  /** Route metadata (Istio puts the VirtualService name under `filter_metadata.istio.config`). */
  metadata: ProtoObject | null;
  jsonPath: string;
}

/** A DownstreamTls-like summary of an UpstreamTlsContext. */
export interface UpstreamTls {
  sni: string | null;
  alpn: string[];
  sdsCerts: string[];
  validationSds: string[];
  certFiles: string[];
  /** `match_subject_alt_names` the client checks on the server (raw StringMatchers). */
  matchSubjectAltNames: ProtoObject[];
}

export interface ClusterTransportSocket {
  name: string;
  typeUrl: string;
  tls: UpstreamTls | null;
  config: ProtoObject;
}

export interface Cluster {
  name: string;
  state: 'static' | 'active' | 'warming';
  /** STATIC, STRICT_DNS, EDS, ORIGINAL_DST, ... or the cluster_type extension name. */
  type: string | null;
  edsServiceName: string | null;
  transportSocket: ClusterTransportSocket | null;
  /** Istio auto-mTLS: `tlsMode-istio` (UpstreamTlsContext) / `tlsMode-disabled` (raw_buffer). */
  transportSocketMatches: { name: string; match: ProtoObject; transportSocket: ClusterTransportSocket | null }[];
  metadata: ProtoObject | null;
  /** Endpoints given inline (`load_assignment`: STATIC / STRICT_DNS clusters, BlackHoleCluster has none). */
  loadAssignment: EndpointInfo[];
  /** The cluster's config, snake_case, private keys removed (upstream HTTP protocol options, lb policy, ...). */
  config: ProtoObject;
  jsonPath: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Lower-case hex, as istioctl prints it. */
  serialNumber: string;
  /** RFC 3339 UTC. */
  notBefore: string;
  notAfter: string;
  uriSans: string[];
  dnsSans: string[];
  isCa: boolean;
  fingerprint256: string;
}

export interface Secret {
  name: string;
  state: 'static' | 'active' | 'warming';
  /** `tls_certificate` (cert chain, private key removed), `validation_context` (CA bundle), else `other`. */
  kind: 'tls_certificate' | 'validation_context' | 'other';
  versionInfo: string | null;
  lastUpdated: string | null;
  /** Parsed certificates of the chain / CA bundle, leaf first. */
  certificates: CertificateInfo[];
  /** Where the certificate comes from when not inline (file name, SDS, ...). */
  certificateSource: string | null;
  /** SPIFFE validator trust domains (SPIRE federation). */
  trustDomains: { name: string; certificates: CertificateInfo[] }[];
  /** Problems decoding certificates (bad base64/PEM), one line each. */
  errors: string[];
  jsonPath: string;
}

export interface EndpointInfo {
  /** The ClusterLoadAssignment's `cluster_name` (an EDS service name), or the cluster's name for `load_assignment`. */
  cluster: string;
  address: string;
  port: number | null;
  health: string | null;
  /** `filter_metadata` (e.g. `envoy.transport_socket_match.tlsMode`, `istio.workload`). */
  metadata: ProtoObject | null;
  jsonPath: string;
}

/** One proxy's config dump. */
export interface ConfigDump {
  /** File name (plus `#<n>` for the n-th dump of a bundle). */
  source: string;
  node: NodeInfo | null;
  /** Every listener, static first, then dynamic in dump order; a dynamic entry with several states yields one Listener per state. */
  listeners: Listener[];
  /** Route configurations by name (static and dynamic). */
  routeConfigs: Map<string, RouteConfiguration>;
  clusters: Cluster[];
  secrets: Secret[];
  endpoints: EndpointInfo[];
  /** ECDS filter configs by name (raw TypedExtensionConfig `typed_config`). */
  ecdsFilters: Map<string, ProtoObject>;
  /** Which config sections the dump had (short names: bootstrap, listeners, clusters, routes, ...). */
  sections: string[];
  /** Spelling of the input. */
  spelling: 'snake_case' | 'camelCase' | 'mixed';
  notUnderstood: NotUnderstood[];
}

export interface Listener {
  /** Listener name ('' when the dump gives none, as for Istio's static 15090/15021 listeners). */
  name: string;
  /** A display name: `name`, or `<address>_<port>` for nameless static listeners. */
  displayName: string;
  /** Socket address, null for internal listeners (e.g. `main_internal`) and pipes. */
  address: SocketAddress | null;
  additionalAddresses: SocketAddress[];
  /** True for Envoy internal listeners (`internal_listener`). */
  internal: boolean;
  state: ListenerState;
  trafficDirection: TrafficDirection;
  filterChains: FilterChain[];
  defaultFilterChain: FilterChain | null;
  listenerFilters: ListenerFilter[];
  /** `use_original_dst` (Istio virtualInbound/virtualOutbound and legacy `virtual`). */
  useOriginalDst: boolean;
  bindToPort: boolean;
  /** A `filter_chain_matcher` (xDS matcher tree) replaces filter_chain_match; kept raw, not evaluated. */
  filterChainMatcher: ProtoObject | null;
  versionInfo: string | null;
  lastUpdated: string | null;
  jsonPath: string;
}

/** Known RBAC / ext_authz type URLs and names. */
export const HTTP_RBAC_NAMES = ['envoy.filters.http.rbac'];
export const NETWORK_RBAC_NAMES = ['envoy.filters.network.rbac'];
export const HCM_NAMES = ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'];
