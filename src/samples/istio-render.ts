/**
 * Wraps the RBAC filters and mTLS modes that `src/istio/compile` derives from the scenario's policies into a
 * full sidecar `/config_dump` laid out the way istiod 1.19 renders it (the generation of the real dump in
 * ../shared/fixtures/istio/istioctl/pkg/authz/testdata: `virtualInbound` with per-port `tls`/`raw_buffer`
 * chains, `istio_authn` network filter, HCM with the RBAC filters, file access logs in Istio's TEXT format,
 * the listener-level `NR` log), plus a Bootstrap section with the real node id and the SDS secrets.
 */
import type { JsonValue } from '../model/attrs.js';
import * as chains from '../istio/compile/chains.js';

// The listener pieces istiod renders, shared with the policy compiler (its JSON is the same data, typed loosely).
const { ALL_ISTIO_MTLS_ALPNS, MTLS_HTTP_ALPNS, MTLS_TCP_WITH_MXC_ALPNS, PLAINTEXT_HTTP_ALPNS } = chains;
const ISTIO_AUTHN = chains.ISTIO_AUTHN as unknown as Json;
const METADATA_EXCHANGE = chains.METADATA_EXCHANGE as unknown as Json;
const STATS = chains.STATS as unknown as Json;
const inboundTls = (alpn: string[], trustDomain: string): Json => chains.inboundTls(alpn, trustDomain) as Json;

/** The sample mesh's trust domain. */
const TRUST_DOMAIN = 'cluster.local';

type Json = { [k: string]: JsonValue };

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; creationTimestamp?: string };
  spec: Json;
}

export interface Workload {
  pod: string;
  namespace: string;
  ip: string;
  serviceAccount: string;
  labels: Record<string, string>;
  /** inbound container ports declared by a Service, with the Service's protocol and port */
  ports: Array<{ port: number; protocol: 'HTTP' | 'TCP'; service: string; servicePort: number }>;
}

export const ROOT_NAMESPACE = 'istio-system';
export const ISTIO_VERSION = '1.19.3';


/** Istio's default TEXT access-log format (1.24+ spelling with UPSTREAM_CLUSTER_RAW). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';


/** The RBAC filters and mTLS modes istiod computes for a workload (from `src/istio/compile`). */
export interface CompiledAuthz {
  httpFilters: Json[];
  tcpFilters: Json[];
  /** workload-level mode (catch-all chains) and per container port modes */
  mtls: { workload: MtlsMode; ports: Array<{ port: number; mode: MtlsMode }> };
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

// ---------------------------------------------------------------------------------------------------------------
// Listener pieces

function fileAccessLog(): Json {
  return {
    name: 'envoy.access_loggers.file',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
      path: '/dev/stdout',
      log_format: { text_format_source: { inline_string: ISTIO_TEXT_FORMAT } },
    },
  };
}

function tcpProxy(cluster: string): Json {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: cluster,
      cluster,
      access_log: [fileAccessLog()],
    },
  };
}

function hcm(authz: CompiledAuthz, statPrefix: string, cluster: string, vhost: string, decorator: string): Json {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: statPrefix,
      route_config: {
        name: cluster,
        virtual_hosts: [
          {
            name: vhost,
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                route: { cluster, timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } },
                decorator: { operation: decorator },
                name: 'default',
              },
            ],
          },
        ],
        validate_clusters: false,
      },
      http_filters: [
        {
          name: 'istio.metadata_exchange',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
            config: {
              vm_config: { runtime: 'envoy.wasm.runtime.null', code: { local: { inline_string: 'envoy.wasm.metadata_exchange' } } },
              configuration: { '@type': 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange' },
            },
          },
        },
        ...authz.httpFilters,
        { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', emit_filter_state: true, stats_for_all_methods: false } },
        { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } },
        { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } },
        STATS,
        { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
      ],
      access_log: [fileAccessLog()],
      server_name: 'istio-envoy',
      use_remote_address: false,
      forward_client_cert_details: 'APPEND_FORWARD',
      set_current_client_cert_details: { subject: true, dns: true, uri: true },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      stream_idle_timeout: '0s',
      normalize_path: true,
      request_id_extension: {
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', use_request_id_for_trace_sampling: true },
      },
      path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    },
  };
}

/** Network filters of a TCP chain; like istiod 1.19, every inbound chain carries the metadata-exchange filter. */
function tcpFilters(authz: CompiledAuthz, cluster: string): Json[] {
  return [ISTIO_AUTHN, METADATA_EXCHANGE, ...authz.tcpFilters, STATS, tcpProxy(cluster)];
}

function inboundChains(authz: CompiledAuthz, w: Workload): Json[] {
  const chains: Json[] = [
    {
      filter_chain_match: { destination_port: 15006 },
      filters: [METADATA_EXCHANGE, STATS, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'BlackHoleCluster', cluster: 'BlackHoleCluster' } }],
      name: 'virtualInbound-blackhole',
    },
  ];
  // catch-all (pass-through) chains, mode from the workload-level (port 0) policy
  const any = [{ address_prefix: '0.0.0.0', prefix_len: 0 }];
  const mode = authz.mtls.workload;
  const portMode = (port: number): MtlsMode => authz.mtls.ports.find((p) => p.port === port)?.mode ?? mode;
  const pt = 'InboundPassthroughClusterIpv4';
  const catchHttp = (tls: boolean): Json => ({
    filter_chain_match: tls
      ? { prefix_ranges: any, transport_protocol: 'tls', application_protocols: MTLS_HTTP_ALPNS }
      : { prefix_ranges: any, transport_protocol: 'raw_buffer', application_protocols: PLAINTEXT_HTTP_ALPNS },
    filters: [ISTIO_AUTHN, METADATA_EXCHANGE, hcm(authz, pt, pt, 'inbound|http|0', ':0/*')],
    ...(tls ? { transport_socket: inboundTls(['h2', 'http/1.1'], TRUST_DOMAIN) } : {}),
    name: 'virtualInbound-catchall-http',
  });
  if (mode !== 'DISABLE') chains.push(catchHttp(true));
  if (mode !== 'STRICT') chains.push(catchHttp(false));
  if (mode === 'STRICT') {
    chains.push({
      filter_chain_match: { prefix_ranges: any, transport_protocol: 'tls' },
      filters: tcpFilters(authz, pt),
      transport_socket: inboundTls(['istio-peer-exchange', 'h2', 'http/1.1'], TRUST_DOMAIN),
      name: 'virtualInbound',
    });
  } else {
    if (mode === 'PERMISSIVE')
      chains.push({
        filter_chain_match: { prefix_ranges: any, transport_protocol: 'tls', application_protocols: MTLS_TCP_WITH_MXC_ALPNS },
        filters: tcpFilters(authz, pt),
        transport_socket: inboundTls(['istio-peer-exchange', 'h2', 'http/1.1'], TRUST_DOMAIN),
        name: 'virtualInbound',
      });
    chains.push({ filter_chain_match: { prefix_ranges: any, transport_protocol: 'raw_buffer' }, filters: tcpFilters(authz, pt), name: 'virtualInbound' });
    chains.push({ filter_chain_match: { prefix_ranges: any, transport_protocol: 'tls' }, filters: tcpFilters(authz, pt), name: 'virtualInbound' });
  }
  // per-port chains
  const seen = new Set<number>();
  for (const p of [...w.ports].sort((a, b) => a.port - b.port)) {
    if (seen.has(p.port)) continue;
    seen.add(p.port);
    const pm = portMode(p.port);
    const name = `0.0.0.0_${p.port}`;
    const cluster = `inbound|${p.port}||`;
    const http = p.protocol === 'HTTP';
    const filtersFor = (tls: boolean): Json[] =>
      http
        ? [ISTIO_AUTHN, METADATA_EXCHANGE, hcm(authz, `inbound_0.0.0.0_${p.port}`, cluster, `inbound|http|${p.servicePort}`, `${p.service}.${w.namespace}.svc.cluster.local:${p.servicePort}/*`)]
        : tcpFilters(authz, cluster);
    const tlsSocket = inboundTls(http ? ['h2', 'http/1.1'] : ['istio-peer-exchange', 'h2', 'http/1.1'], TRUST_DOMAIN);
    if (pm === 'STRICT') {
      chains.push({ filter_chain_match: { destination_port: p.port, transport_protocol: 'tls' }, filters: filtersFor(true), transport_socket: tlsSocket, name });
      continue;
    }
    if (pm === 'PERMISSIVE') {
      chains.push({
        filter_chain_match: { destination_port: p.port, transport_protocol: 'tls', application_protocols: ALL_ISTIO_MTLS_ALPNS },
        filters: filtersFor(true),
        transport_socket: tlsSocket,
        name,
      });
      if (!http) chains.push({ filter_chain_match: { destination_port: p.port, transport_protocol: 'tls' }, filters: filtersFor(false), name });
    }
    chains.push({ filter_chain_match: { destination_port: p.port, transport_protocol: 'raw_buffer' }, filters: filtersFor(false), name });
  }
  return chains;
}

function virtualInbound(authz: CompiledAuthz, w: Workload, listenerFiltersTimeout = '0s'): Json {
  const httpPorts = [...new Set(w.ports.filter((p) => p.protocol === 'HTTP').map((p) => p.port))].sort((a, b) => a - b);
  const strictPorts = w.ports.filter((p) => (authz.mtls.ports.find((m) => m.port === p.port)?.mode ?? authz.mtls.workload) === 'STRICT').map((p) => p.port);
  const noInspector = [...new Set([...httpPorts, ...strictPorts, 15006])].sort((a, b) => a - b);
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
    filter_chains: inboundChains(authz, w),
    listener_filters: [
      { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } },
      {
        name: 'envoy.filters.listener.tls_inspector',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
        filter_disabled: { destination_port_range: { start: 15006, end: 15007 } },
      },
      {
        name: 'envoy.filters.listener.http_inspector',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' },
        filter_disabled:
          noInspector.length === 1
            ? { destination_port_range: { start: noInspector[0]!, end: noInspector[0]! + 1 } }
            : { or_match: { rules: noInspector.map((p) => ({ destination_port_range: { start: p, end: p + 1 } })) } },
      },
    ],
    listener_filters_timeout: listenerFiltersTimeout,
    traffic_direction: 'INBOUND',
    continue_on_listener_filters_timeout: true,
    access_log: [
      {
        name: 'envoy.access_loggers.file',
        filter: { response_flag_filter: { flags: ['NR'] } },
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
          path: '/dev/stdout',
          log_format: { text_format_source: { inline_string: ISTIO_TEXT_FORMAT } },
        },
      },
    ],
  };
}

function virtualOutbound(): Json {
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'virtualOutbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [
      {
        filter_chain_match: { destination_port: 15001 },
        filters: [STATS, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'BlackHoleCluster', cluster: 'BlackHoleCluster' } }],
        name: 'virtualOutbound-blackhole',
      },
      {
        filters: [STATS, tcpProxy('PassthroughCluster')],
        name: 'virtualOutbound-catchall-tcp',
      },
    ],
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
  };
}

export interface DumpOptions {
  /** RFC 3339 time the listeners were last updated (the policy's push) */
  lastUpdated: string;
  version: string;
  /** PEM of the workload certificate and the root, for the Secrets section */
  certPem?: string;
  rootPem?: string;
  /** the cluster's IPs for the bootstrap metadata */
  clusterId?: string;
  /** MeshConfig protocolDetectionTimeout: virtualInbound's listener_filters_timeout (0 = none, Istio's default since 1.10) */
  protocolDetectionTimeoutMs?: number;
  /** outbound listeners, routes, clusters and EDS endpoints (from the compiler), added to the dump */
  outbound?: { listeners: Record<string, unknown>[]; routes: Record<string, unknown>[]; clusters: Record<string, unknown>[]; endpoints: Record<string, unknown>[] };
}

/** A full `/config_dump` (snake_case, as `pilot-agent request GET config_dump` prints it) for one sidecar. */
export function renderConfigDump(authz: CompiledAuthz, w: Workload, opts: DumpOptions): Json {
  const app = w.labels['app'] ?? w.pod;
  const configs: JsonValue[] = [
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
      bootstrap: {
        node: {
          id: `sidecar~${w.ip}~${w.pod}.${w.namespace}~${w.namespace}.svc.cluster.local`,
          cluster: `${app}.${w.namespace}`,
          metadata: {
            ISTIO_VERSION,
            CLUSTER_ID: opts.clusterId ?? 'Kubernetes',
            NAMESPACE: w.namespace,
            NAME: w.pod,
            SERVICE_ACCOUNT: w.serviceAccount,
            INSTANCE_IPS: w.ip,
            LABELS: w.labels,
            MESH_ID: 'cluster.local',
            WORKLOAD_NAME: w.pod.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''),
            INTERCEPTION_MODE: 'REDIRECT',
          },
          user_agent_name: 'envoy',
          user_agent_build_version: { version: { major_number: 1, minor_number: 27, patch: 2 }, metadata: { 'build.type': 'RELEASE', 'revision.sha': '0000000000000000000000000000000000000000', 'revision.status': 'Clean', 'ssl.version': 'BoringSSL' } },
        },
        admin: { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } },
      },
      last_updated: opts.lastUpdated,
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      version_info: opts.version,
      dynamic_listeners: [
        { name: 'virtualInbound', active_state: { version_info: opts.version, listener: virtualInbound(authz, w, opts.protocolDetectionTimeoutMs ? `${opts.protocolDetectionTimeoutMs / 1000}s` : '0s'), last_updated: opts.lastUpdated } },
        ...(opts.outbound
          ? opts.outbound.listeners.map((l) => ({ name: l.name as string, active_state: { version_info: opts.version, listener: l as unknown as JsonValue, last_updated: opts.lastUpdated } }))
          : [{ name: 'virtualOutbound', active_state: { version_info: opts.version, listener: virtualOutbound(), last_updated: opts.lastUpdated } }]),
      ],
    },
  ];
  if (opts.outbound) {
    const o = opts.outbound;
    configs.push(
      { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', version_info: opts.version, dynamic_active_clusters: o.clusters.map((c) => ({ version_info: opts.version, cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...c } as JsonValue, last_updated: opts.lastUpdated })) },
      { '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', dynamic_route_configs: o.routes.map((r) => ({ version_info: opts.version, route_config: r as unknown as JsonValue, last_updated: opts.lastUpdated })) },
    );
  }
  if (opts.certPem && opts.rootPem) {
    configs.push({
      '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
      dynamic_active_secrets: [
        {
          name: 'default',
          version_info: opts.lastUpdated,
          last_updated: opts.lastUpdated,
          secret: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
            name: 'default',
            tls_certificate: {
              certificate_chain: { inline_bytes: Buffer.from(opts.certPem).toString('base64') },
              private_key: { inline_bytes: Buffer.from('[redacted]').toString('base64') },
            },
          },
        },
        {
          name: 'ROOTCA',
          version_info: opts.lastUpdated,
          last_updated: opts.lastUpdated,
          secret: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
            name: 'ROOTCA',
            validation_context: { trusted_ca: { inline_bytes: Buffer.from(opts.rootPem).toString('base64') } },
          },
        },
      ],
    });
  }
  if (opts.outbound) configs.push({ '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump', dynamic_endpoint_configs: opts.outbound.endpoints.map((e) => ({ endpoint_config: { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', ...e } as unknown as JsonValue })) });
  return { configs };
}
