/**
 * Config-dump loading speed: generates a ~50 MB sidecar dump of a mesh with thousands of services
 * (one outbound listener, cluster, route configuration and endpoint set per service, plus a
 * virtualInbound with RBAC), in snake_case and in camelCase, and times `loadConfigDumps` on each.
 * Target (issue 2): under 5 s for 50 MB.
 */
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfigDumps } from '../src/readers/configdump/index.js';
import { analyzePolicies } from '../src/analysis/policies.js';
import { toCamelCase } from '../src/envoy/normalize.js';
import { stringify as yamlStringify } from 'yaml';

const T = 'type.googleapis.com/';
const HCM = `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;

function ip(i: number): string {
  return `10.${96 + ((i >> 16) & 0x1f)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

function upstreamTls(sni: string) {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        alpn_protocols: ['istio-peer-exchange', 'istio'],
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }], set_node_on_first_message_only: true, transport_api_version: 'V3' }, initial_fetch_timeout: '0s', resource_api_version: 'V3' } }],
        combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/default' }] }, validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }], transport_api_version: 'V3' }, resource_api_version: 'V3' } } },
      },
      sni,
    },
  };
}

function service(i: number) {
  const ns = `ns${i % 50}`;
  const fqdn = `svc-${i}.${ns}.svc.cluster.local`;
  const port = 8000 + (i % 100);
  const cluster = `outbound|${port}||${fqdn}`;
  const listener = {
    name: `${ip(i)}_${port}`,
    active_state: {
      version_info: '2024-01-01T00:00:00Z/42',
      listener: {
        '@type': `${T}envoy.config.listener.v3.Listener`,
        name: `${ip(i)}_${port}`,
        address: { socket_address: { address: ip(i), port_value: port } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': HCM,
                  stat_prefix: `outbound_${ip(i)}_${port}`,
                  rds: { config_source: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, route_config_name: `${port}` },
                  http_filters: [
                    { name: 'istio.metadata_exchange', typed_config: { '@type': `${T}envoy.extensions.filters.http.wasm.v3.Wasm`, config: { vm_config: { runtime: 'envoy.wasm.runtime.null', code: { local: { inline_string: 'envoy.wasm.metadata_exchange' } } }, configuration: { '@type': `${T}envoy.tcp.metadataexchange.config.MetadataExchange` } } } },
                    { name: 'istio.alpn', typed_config: { '@type': `${T}istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig`, alpn_override: [{ alpn_override: ['istio-http/1.0', 'istio', 'http/1.0'] }, { upstream_protocol: 'HTTP11', alpn_override: ['istio-http/1.1', 'istio', 'http/1.1'] }] } },
                    { name: 'envoy.filters.http.fault', typed_config: { '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault` } },
                    { name: 'envoy.filters.http.cors', typed_config: { '@type': `${T}envoy.extensions.filters.http.cors.v3.Cors` } },
                    { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } },
                  ],
                  tracing: { client_sampling: { value: 100 }, random_sampling: { value: 1 }, overall_sampling: { value: 100 }, custom_tags: [{ tag: 'istio.canonical_revision', literal: { value: 'latest' } }, { tag: 'istio.mesh_id', literal: { value: 'cluster.local' } }] },
                  access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`, path: '/dev/stdout', log_format: { text_format_source: { inline_string: '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n' } } } }],
                  use_remote_address: false,
                  upgrade_configs: [{ upgrade_type: 'websocket' }],
                  stream_idle_timeout: '0s',
                  normalize_path: true,
                  path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
                },
              },
            ],
          },
        ],
        default_filter_chain: { filter_chain_match: {}, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'PassthroughCluster', cluster: 'PassthroughCluster' } }], name: 'PassthroughFilterChain' },
        traffic_direction: 'OUTBOUND',
        bind_to_port: false,
      },
      last_updated: '2024-01-01T00:00:00.000Z',
    },
  };
  const c = {
    version_info: '2024-01-01T00:00:00Z/42',
    cluster: {
      '@type': `${T}envoy.config.cluster.v3.Cluster`,
      name: cluster,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, service_name: cluster },
      connect_timeout: '10s',
      circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] },
      metadata: { filter_metadata: { istio: { services: [{ host: fqdn, name: `svc-${i}`, namespace: ns }], default_original_port: port } } },
      common_lb_config: { locality_weighted_lb_config: {} },
      transport_socket_matches: [
        { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: upstreamTls(`outbound_.${port}_._.${fqdn}`) },
        { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': `${T}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer` } } },
      ],
    },
    last_updated: '2024-01-01T00:00:00.000Z',
  };
  const vh = {
    name: `${fqdn}:${port}`,
    domains: [`${fqdn}:${port}`, `svc-${i}.${ns}:${port}`, `${ip(i)}:${port}`],
    routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '0s', retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2, host_selection_retry_max_attempts: '5' }, max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } }, decorator: { operation: `${fqdn}:${port}/*` }, name: 'default' }],
    include_request_attempt_count: true,
  };
  const eps = {
    endpoint_config: {
      '@type': `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`,
      cluster_name: cluster,
      endpoints: [{ locality: {}, lb_endpoints: [0, 1].map((k) => ({ endpoint: { address: { socket_address: { address: `192.168.${i & 0xff}.${k + 1}`, port_value: port } }, health_check_config: {} }, health_status: 'HEALTHY', metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' }, istio: { workload: `svc-${i}-v1;${ns};svc-${i};v1;Kubernetes` } } }, load_balancing_weight: 1 })) }],
    },
  };
  return { listener, cluster: c, vh, port, eps };
}

function generate(n: number): unknown {
  const listeners: unknown[] = [];
  const clusters: unknown[] = [];
  const routes = new Map<number, unknown[]>();
  const eps: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const s = service(i);
    listeners.push(s.listener);
    clusters.push(s.cluster);
    eps.push(s.eps);
    if (!routes.has(s.port)) routes.set(s.port, []);
    routes.get(s.port)!.push(s.vh);
  }
  // The inbound side: virtualInbound with an RBAC filter of 200 policies on its HTTP chains.
  const policies: Record<string, unknown> = {};
  for (let p = 0; p < 200; p++) {
    policies[`ns[ns${p % 50}]-policy[allow-${p}]-rule[0]`] = {
      permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }] } }, { or_rules: { rules: [{ url_path: { path: { prefix: `/api/${p}/` } } }] } }] } }],
      principals: [{ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: `spiffe://cluster.local/ns/ns${p % 50}/sa/client-${p}` } } }] } }] } }],
    };
  }
  const rbac = { name: 'envoy.filters.http.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { policies }, shadow_rules_stat_prefix: 'istio_dry_run_allow_' } };
  const inboundHcm = { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM, stat_prefix: 'inbound_0.0.0.0_8080', route_config: { name: 'inbound|8080||', virtual_hosts: [{ name: 'inbound|http|8080', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'inbound|8080||' } }] }] }, http_filters: [rbac, { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }] } };
  listeners.push({
    name: 'virtualInbound',
    active_state: {
      listener: {
        name: 'virtualInbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
        traffic_direction: 'INBOUND',
        filter_chains: [
          { name: 'virtualInbound-catchall-http', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] }, filters: [inboundHcm] },
          { name: 'virtualInbound-catchall-http', filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [inboundHcm] },
        ],
      },
    },
  });
  return {
    configs: [
      { '@type': `${T}envoy.admin.v3.BootstrapConfigDump`, bootstrap: { node: { id: 'sidecar~10.1.2.3~bench-0.default~default.svc.cluster.local', metadata: { ISTIO_VERSION: '1.22.0', INSTANCE_IPS: '10.1.2.3' } } } },
      { '@type': `${T}envoy.admin.v3.ClustersConfigDump`, version_info: '1', dynamic_active_clusters: clusters },
      { '@type': `${T}envoy.admin.v3.ListenersConfigDump`, version_info: '1', dynamic_listeners: listeners },
      { '@type': `${T}envoy.admin.v3.RoutesConfigDump`, dynamic_route_configs: [...routes].map(([port, vhs]) => ({ version_info: '1', route_config: { '@type': `${T}envoy.config.route.v3.RouteConfiguration`, name: `${port}`, virtual_hosts: vhs, validate_clusters: false } })) },
      { '@type': `${T}envoy.admin.v3.EndpointsConfigDump`, dynamic_endpoint_configs: eps },
    ],
  };
}

async function time(label: string, file: string): Promise<void> {
  const mb = statSync(file).size / 1e6;
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = performance.now();
  const { dumps } = await loadConfigDumps([file]);
  const t1 = performance.now();
  const p = analyzePolicies(dumps[0]!);
  const t2 = performance.now();
  const d = dumps[0]!;
  process.stdout.write(
    `${label}: ${mb.toFixed(1)} MB, ${d.listeners.length} listeners, ${d.clusters.length} clusters, ${d.routeConfigs.size} route configs, ${d.endpoints.length} endpoints — ` +
      `loadConfigDumps ${((t1 - t0) / 1000).toFixed(2)} s (${(mb / ((t1 - t0) / 1000)).toFixed(0)} MB/s), analyzePolicies ${((t2 - t1) / 1000).toFixed(2)} s, ` +
      `${p.counts.httpRbac} RBAC filters; target < 5 s: ${t1 - t0 < 5000 ? 'met' : 'MISSED'}\n`,
  );
}

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-bench-configdump-'));
  try {
    const n = Number(process.env.MESHSLEUTH_BENCH_SERVICES ?? 3200);
    const doc = generate(n);
    const snake = join(dir, 'dump.json');
    writeFileSync(snake, JSON.stringify(doc, null, 2));
    await time(`snake_case dump, ${n} services`, snake);
    const camel = join(dir, 'dump-camel.json');
    writeFileSync(camel, JSON.stringify(toCamelCase(doc), null, 2));
    await time(`camelCase dump, ${n} services`, camel);
    // YAML (istioctl proxy-config all -o yaml) is parsed by the `yaml` package, much slower than JSON.parse: measured on a smaller mesh.
    const ny = Math.max(1, Math.round(n / 8));
    const yml = join(dir, 'dump-camel.yaml');
    writeFileSync(yml, yamlStringify(toCamelCase(generate(ny)), { lineWidth: 0 }));
    await time(`camelCase YAML dump, ${ny} services`, yml);
  } finally {
    if (!process.env.MESHSLEUTH_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`kept ${dir}\n`);
  }
}
