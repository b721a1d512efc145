/**
 * The sidecar's inbound listener `virtualInbound` (0.0.0.0:15006) as istiod renders it for a given
 * per-port mTLS mode (research/istio.md §2.4; `filterchain_options.go`, `BuildInboundTLS`), with the
 * compiled RBAC filters placed where istiod places them (listener_builder.go, networkfilter.go).
 */
import type { Json } from './matcher.js';
import type { EnvoyFilter } from './builder.js';
import type { MtlsMode } from './types.js';
import { ISTIO_MTLS_ALPNS } from '../traffic.js';

export const MTLS_HTTP_ALPNS = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
export const PLAINTEXT_HTTP_ALPNS = ['http/1.1', 'h2c'];
export const MTLS_TCP_WITH_MXC_ALPNS = ['istio-peer-exchange', 'istio'];
export const ALL_ISTIO_MTLS_ALPNS: string[] = [...ISTIO_MTLS_ALPNS];

export type PortProtocol = 'http' | 'tcp' | 'auto';

export interface InboundPort {
  port: number;
  protocol: PortProtocol;
  mode: MtlsMode;
  /** Undeclared port with a portLevelMtls setting: pass-through chains to InboundPassthroughCluster. */
  passthrough?: boolean;
}

export interface ChainOptions {
  trustDomain: string;
  /** Render the `istio_authn` network filter (1.17–1.19 sidecars). */
  istioAuthnFilter: boolean;
}

/** `ConstructSdsSecretConfig`: an SDS secret (`default`, `ROOTCA`, `file-root:…`) fetched from the agent over `sds-grpc`. */
export const SDS = (name: string): Json => ({
  name,
  sds_config: {
    api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }], set_node_on_first_message_only: true, transport_api_version: 'V3' },
    initial_fetch_timeout: '0s',
    resource_api_version: 'V3',
  },
});

/** `BuildInboundTLS`: terminates TLS and always requires a client certificate. */
export function inboundTls(alpn: string[], trustDomain: string): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: {
          tls_minimum_protocol_version: 'TLSv1_2',
          tls_maximum_protocol_version: 'TLSv1_3',
          cipher_suites: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-GCM-SHA256'],
        },
        alpn_protocols: alpn,
        tls_certificate_sds_secret_configs: [SDS('default')],
        combined_validation_context: {
          default_validation_context: { match_subject_alt_names: [{ prefix: `spiffe://${trustDomain}/` }] },
          validation_context_sds_secret_config: SDS('ROOTCA'),
        },
      },
      require_client_certificate: true,
    },
  };
}

export const METADATA_EXCHANGE: EnvoyFilter = {
  name: 'istio.metadata_exchange',
  typed_config: { '@type': 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', protocol: 'istio-peer-exchange' },
};
export const ISTIO_AUTHN: EnvoyFilter = {
  name: 'istio_authn',
  typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/io.istio.network.authn.Config' },
};
export const STATS: EnvoyFilter = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig', disable_host_header_fallback: true } };

function tcpProxy(cluster: string): EnvoyFilter {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: cluster, cluster } };
}

function hcm(statPrefix: string, routeName: string, cluster: string, vhost: string, decorator: string, rbac: EnvoyFilter[]): EnvoyFilter {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: statPrefix,
      route_config: {
        name: routeName,
        virtual_hosts: [{ name: vhost, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } }, decorator: { operation: decorator }, name: 'default' }] }],
        validate_clusters: false,
      },
      http_filters: [
        { name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], upstream_propagation: [{ istio_headers: {} }] } } },
        ...rbac,
        { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', emit_filter_state: true, stats_for_all_methods: false } },
        { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } },
        { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } },
        { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig', disable_host_header_fallback: true } },
        { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
      ],
      server_name: 'istio-envoy',
      use_remote_address: false,
      forward_client_cert_details: 'APPEND_FORWARD',
      set_current_client_cert_details: { subject: true, dns: true, uri: true },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      stream_idle_timeout: '0s',
      normalize_path: true,
      path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    },
  };
}

interface ChainSpec {
  name: string;
  match: Json;
  tls: Json | null;
  kind: 'http' | 'tcp';
}

/** The chains istiod emits for one (port or catch-all) under one mode (istio.md §2.4 table). */
function chainSpecs(name: string, base: Json, protocol: PortProtocol, mode: MtlsMode, td: string, catchAll: boolean): ChainSpec[] {
  const tlsHttp = () => inboundTls(['h2', 'http/1.1'], td);
  const tlsTcp = () => inboundTls(['istio-peer-exchange', 'h2', 'http/1.1'], td);
  const out: ChainSpec[] = [];
  if (protocol === 'http') {
    if (mode === 'STRICT') out.push({ name, match: { ...base, transport_protocol: 'tls' }, tls: tlsHttp(), kind: 'http' });
    if (mode === 'PERMISSIVE') out.push({ name, match: { ...base, transport_protocol: 'tls', application_protocols: ALL_ISTIO_MTLS_ALPNS }, tls: tlsHttp(), kind: 'http' });
    if (mode !== 'STRICT') out.push({ name, match: { ...base, transport_protocol: 'raw_buffer' }, tls: null, kind: 'http' });
    return out;
  }
  if (protocol === 'tcp') {
    if (mode === 'STRICT') out.push({ name, match: { ...base, transport_protocol: 'tls' }, tls: tlsTcp(), kind: 'tcp' });
    if (mode === 'PERMISSIVE') {
      out.push({ name, match: { ...base, transport_protocol: 'tls', application_protocols: ALL_ISTIO_MTLS_ALPNS }, tls: tlsTcp(), kind: 'tcp' });
      out.push({ name, match: { ...base, transport_protocol: 'tls' }, tls: null, kind: 'tcp' });
    }
    if (mode !== 'STRICT') out.push({ name, match: { ...base, transport_protocol: 'raw_buffer' }, tls: null, kind: 'tcp' });
    return out;
  }
  // auto-detect (also the virtualInbound catch-alls): HTTP by ALPN, else TCP.
  const httpName = catchAll ? 'virtualInbound-catchall-http' : name;
  if (mode !== 'DISABLE') out.push({ name: httpName, match: { ...base, transport_protocol: 'tls', application_protocols: MTLS_HTTP_ALPNS }, tls: tlsHttp(), kind: 'http' });
  if (mode !== 'STRICT') out.push({ name: httpName, match: { ...base, transport_protocol: 'raw_buffer', application_protocols: PLAINTEXT_HTTP_ALPNS }, tls: null, kind: 'http' });
  if (mode === 'STRICT') out.push({ name, match: { ...base, transport_protocol: 'tls' }, tls: tlsTcp(), kind: 'tcp' });
  if (mode === 'PERMISSIVE') out.push({ name, match: { ...base, transport_protocol: 'tls', application_protocols: MTLS_TCP_WITH_MXC_ALPNS }, tls: tlsTcp(), kind: 'tcp' });
  if (mode !== 'STRICT') out.push({ name, match: { ...base, transport_protocol: 'raw_buffer' }, tls: null, kind: 'tcp' });
  if (mode === 'PERMISSIVE') out.push({ name, match: { ...base, transport_protocol: 'tls' }, tls: null, kind: 'tcp' });
  return out;
}

export interface InboundListenerInput {
  ports: InboundPort[];
  /** Mode for traffic to undeclared ports (the workload-level mode). */
  catchAllMode: MtlsMode;
  httpFilters: EnvoyFilter[];
  tcpFilters: EnvoyFilter[];
  workloadHost?: string;
}

export function buildVirtualInbound(input: InboundListenerInput, opts: ChainOptions): Json {
  const chains: Json[] = [];
  const netPrefix = opts.istioAuthnFilter ? [ISTIO_AUTHN, METADATA_EXCHANGE] : [METADATA_EXCHANGE];
  chains.push({ filter_chain_match: { destination_port: 15006 }, filters: [METADATA_EXCHANGE, STATS, tcpProxy('BlackHoleCluster')], name: 'virtualInbound-blackhole' });
  const render = (spec: ChainSpec, cluster: string, statPrefix: string, routeName: string, vhost: string, decorator: string) => {
    const filters = spec.kind === 'http'
      ? [...netPrefix, hcm(statPrefix, routeName, cluster, vhost, decorator, input.httpFilters)]
      : [...netPrefix, ...input.tcpFilters, STATS, tcpProxy(cluster)];
    const chain: Json = { filter_chain_match: spec.match, filters, name: spec.name };
    if (spec.tls) chain.transport_socket = spec.tls;
    chains.push(chain);
  };
  for (const spec of chainSpecs('virtualInbound', { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] }, 'auto', input.catchAllMode, opts.trustDomain, true)) {
    render(spec, 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv4', 'inbound|http|0', ':0/*');
  }
  for (const p of input.ports.filter((x) => x.passthrough)) {
    for (const spec of chainSpecs('virtualInbound', { destination_port: p.port, prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] }, 'auto', p.mode, opts.trustDomain, true)) {
      render(spec, 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv4', 'inbound|http|0', ':0/*');
    }
  }
  for (const p of input.ports.filter((x) => !x.passthrough)) {
    const name = `0.0.0.0_${p.port}`;
    const cluster = `inbound|${p.port}||`;
    for (const spec of chainSpecs(name, { destination_port: p.port }, p.protocol, p.mode, opts.trustDomain, false)) {
      render(spec, cluster, `inbound_0.0.0.0_${p.port}`, cluster, `inbound|http|${p.port}`, `${input.workloadHost ?? '*'}:${p.port}/*`);
    }
  }
  const noInspect = input.ports.filter((p) => p.protocol !== 'auto' && !p.passthrough).map((p) => p.port);
  const disabledRanges = [...noInspect, 15006].map((port) => ({ destination_port_range: { start: port, end: port + 1 } }));
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
    filter_chains: chains,
    listener_filters: [
      { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } },
      { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' }, filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } },
      { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' }, filter_disabled: disabledRanges.length === 1 ? disabledRanges[0] : { or_match: { rules: disabledRanges } } },
    ],
    listener_filters_timeout: '0s',
    traffic_direction: 'INBOUND',
    continue_on_listener_filters_timeout: true,
  };
}
