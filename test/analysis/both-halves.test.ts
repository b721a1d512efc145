/**
 * Both halves of mTLS per flow: the client sidecar's outbound config explains (or contradicts) what was
 * captured, the server port's mode says what it accepted, and STRICT's effect is predicted.
 * The client dump is written the way istiod 1.19 renders a sleep sidecar (virtualOutbound with the
 * PassthroughCluster catch-all, a <clusterIP>_<port> TCP listener, auto-mTLS clusters, EDS with tlsMode).
 */
import { describe, expect, it } from 'vitest';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { bothHalves, ClientModel, type FlowFacts } from '../../src/analysis/both-halves.js';
import type { FlowTls } from '../../src/model/records.js';

const UTC = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW = { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } };
const TCP = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

const mtls = (host: string, port: number, sans: string[]) => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': UTC,
    common_tls_context: {
      alpn_protocols: ['istio-peer-exchange', 'istio'],
      tls_certificate_sds_secret_configs: [{ name: 'default' }],
      combined_validation_context: { default_validation_context: { match_subject_alt_names: sans.map((s) => ({ exact: s })) }, validation_context_sds_secret_config: { name: 'ROOTCA' } },
    },
    sni: `outbound_.${port}_._.${host}`,
  },
});
const auto = (host: string, port: number, sans: string[]) => [
  { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: mtls(host, port, sans) },
  { name: 'tlsMode-disabled', match: {}, transport_socket: RAW },
];
const eds = (name: string, extra: object = {}) => ({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: name }, connect_timeout: '10s', ...extra });
const tcpListener = (ip: string, port: number, cluster: string) => ({
  name: `${ip}_${port}`,
  active_state: { listener: { name: `${ip}_${port}`, address: { socket_address: { address: ip, port_value: port } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP, stat_prefix: cluster, cluster } }] }], traffic_direction: 'OUTBOUND', bind_to_port: false } },
});
const lb = (ip: string, port: number, tlsMode: string | null) => ({ endpoint: { address: { socket_address: { address: ip, port_value: port } } }, health_status: 'HEALTHY', metadata: { filter_metadata: { ...(tlsMode ? { 'envoy.transport_socket_match': { tlsMode } } : {}), istio: { workload: 'w;foo;w;v1;Kubernetes' } } } });

const ECHO = 'outbound|9000||tcp-echo.foo.svc.cluster.local';
const WEB = 'outbound|8080||web.foo.svc.cluster.local';
const LEGACY = 'outbound|80||legacy.foo.svc.cluster.local';
const PG = 'outbound|5432||pg.db.svc.cluster.local';
const ECHO_SA = 'spiffe://cluster.local/ns/foo/sa/default';

function sleepDump(withClusters = true): ReturnType<typeof parseConfigDump> {
  const configs: object[] = [
    { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: { id: 'sidecar~10.244.1.32~sleep-9454cc476-6bnvh.foo~foo.svc.cluster.local', cluster: 'sleep.foo', metadata: { NAMESPACE: 'foo', SERVICE_ACCOUNT: 'sleep', INSTANCE_IPS: '10.244.1.32' } } } },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      dynamic_listeners: [
        {
          name: 'virtualOutbound',
          active_state: {
            listener: {
              name: 'virtualOutbound',
              address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
              use_original_dst: true,
              traffic_direction: 'OUTBOUND',
              filter_chains: [
                { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: 15001 }, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP, stat_prefix: 'BlackHoleCluster', cluster: 'BlackHoleCluster' } }] },
                { name: 'virtualOutbound-catchall-tcp', filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP, stat_prefix: 'PassthroughCluster', cluster: 'PassthroughCluster' } }] },
              ],
            },
          },
        },
        tcpListener('10.96.90.12', 9000, ECHO),
        tcpListener('10.96.3.3', 8080, WEB),
        tcpListener('10.96.4.4', 80, LEGACY),
        tcpListener('10.244.5.5', 5432, PG),
      ],
    },
  ];
  if (withClusters) {
    configs.push({
      '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      static_clusters: [{ cluster: { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '10s' } }],
      dynamic_active_clusters: [
        { cluster: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '10s' } },
        { cluster: eds(ECHO, { transport_socket_matches: auto('tcp-echo.foo.svc.cluster.local', 9000, [ECHO_SA]) }) },
        { cluster: eds(WEB, { transport_socket_matches: auto('web.foo.svc.cluster.local', 8080, []) }) },
        { cluster: eds(LEGACY, { metadata: { filter_metadata: { istio: { config: '/apis/networking/v1alpha3/namespaces/foo/destination-rule/legacy-plain' } } } }) },
        { cluster: { name: PG, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '10s', transport_socket: mtls('pg.db.svc.cluster.local', 5432, []) } },
      ],
    });
    configs.push({
      '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
      dynamic_endpoint_configs: [
        { endpoint_config: { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', cluster_name: ECHO, endpoints: [{ lb_endpoints: [lb('10.244.2.31', 9000, 'istio')] }] } },
        { endpoint_config: { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', cluster_name: WEB, endpoints: [{ lb_endpoints: [lb('10.244.4.4', 8080, null)] }] } },
        { endpoint_config: { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', cluster_name: LEGACY, endpoints: [{ lb_endpoints: [lb('10.244.3.5', 80, 'istio')] }] } },
      ],
    });
  }
  return parseConfigDump({ configs }, 'sleep.json');
}

const client = new ClientModel(sleepDump());
const PERMISSIVE = { proxy: 'tcp-echo', mode: 'PERMISSIVE' as const };

function flow(server: string, security: FlowFacts['security'], tls: Partial<FlowTls> | null = null): FlowFacts {
  const [ip, port] = server.split(':');
  const t: FlowTls | null = tls ? { version: 'TLS 1.3', sni: null, alpn: [], alpnSelected: null, clientCertificateRequested: null, clientCertificateSent: null, uriSans: [], dnsSans: [], ...tls } : null;
  return { client: { ip: '10.244.1.32', port: 40000 }, server: { ip: ip!, port: Number(port) }, security, tls: t, protocol: tls ? 'tls' : 'tcp' };
}

describe('plaintext flows, explained from the client sidecar', () => {
  it('undeclared port: PassthroughCluster is the cause; STRICT would reject it; the client is fixed first', () => {
    const h = bothHalves(flow('10.244.2.31:9002', 'plaintext'), client, PERMISSIVE)!;
    expect(h.client!.explaining.map((p) => [p.cluster, p.mode])).toEqual([['PassthroughCluster', 'passthrough']]);
    expect(h.client!.explanation).toContain('undeclared port 9002');
    expect(h.explanation).toMatch(/^client sidecar sent plaintext because undeclared port 9002.*PassthroughCluster; server port 9002 accepted it because PERMISSIVE/);
    expect(h.underStrict).toBe('rejected: filter_chain_not_found');
    expect(h.fixFirst).toBe('client');
    expect(h.remediation).toMatch(/^Fix the client side first: declare port 9002 in the Service that selects the server pod/);
    expect(h.remediation).toContain('Do not require STRICT on the server port yet');
    expect(h.mismatches).toEqual([]);
  });

  it('a declared port dialed by pod IP: PassthroughCluster, and the Service would have been mTLS', () => {
    const h = bothHalves(flow('10.244.2.31:9000', 'plaintext'), client, PERMISSIVE)!;
    expect(h.client!.paths.map((p) => [p.how, p.cluster, p.mode])).toEqual([['direct', 'PassthroughCluster', 'passthrough'], ['service', ECHO, 'istio-mutual']]);
    expect(h.client!.explaining.map((p) => p.cluster)).toEqual(['PassthroughCluster']);
    expect(h.client!.explanation).toContain('dialed the pod IP 10.244.2.31:9000 directly');
    expect(h.remediation).toContain('call the Service (tcp-echo.foo.svc.cluster.local:9000)');
  });

  it('auto-mTLS endpoint without sidecar: plaintext through the service cluster (or passthrough by pod IP)', () => {
    const h = bothHalves(flow('10.244.4.4:8080', 'plaintext'), client, PERMISSIVE)!;
    const svc = h.client!.explaining.find((p) => p.how === 'service')!;
    expect(svc).toMatchObject({ cluster: WEB, mode: 'plaintext' });
    expect(svc.cause).toContain('without sidecar');
    expect(svc.reason).toContain('no tlsMode label');
    expect(h.remediation).toContain('inject a sidecar');
  });

  it('a declared port whose cluster sends plaintext: the Service cluster first, the pod-IP passthrough second (never "undeclared")', () => {
    const h = bothHalves(flow('10.244.4.4:8080', 'plaintext'), client, PERMISSIVE)!;
    expect(h.client!.explaining.map((p) => [p.how, p.cluster])).toEqual([['service', WEB], ['direct', 'PassthroughCluster']]);
    expect(h.client!.explanation).not.toContain('undeclared');
    expect(h.client!.explaining[1]!.cause).toContain('dialed the pod IP 10.244.4.4:8080 directly');
    expect(h.client!.explaining[1]!.fix).toBeNull();
  });

  it('a DestinationRule without TLS is named as the cause', () => {
    const h = bothHalves(flow('10.244.3.5:80', 'plaintext'), client, { proxy: 'legacy', mode: 'DISABLE' })!;
    const svc = h.client!.explaining.find((p) => p.how === 'service')!;
    expect(svc.cause).toBe('DestinationRule foo/legacy-plain sends no TLS');
    expect(h.remediation).toContain('set tls.mode ISTIO_MUTUAL (or remove tls.mode DISABLE) in DestinationRule foo/legacy-plain');
    expect(h.explanation).toContain('accepted it because mTLS is DISABLEd there');
  });

  it('plaintext that no path of the client config would send is a mismatch, not explained away', () => {
    const h = bothHalves(flow('10.244.5.5:5432', 'plaintext'), client, PERMISSIVE)!;
    expect(h.client!.explaining).toEqual([]);
    expect(h.mismatches).toEqual([expect.objectContaining({ field: 'security', observed: 'plaintext', expected: 'istio-mutual' })]);
    expect(h.fixFirst).toBe('server');
  });

  it("without clusters in the dump, the client sidecar's outbound log line naming PassthroughCluster explains it", () => {
    const h = bothHalves(flow('10.244.2.31:9002', 'plaintext'), new ClientModel(sleepDump(false)), PERMISSIVE, { cluster: 'PassthroughCluster', source: 'sleep.log:8' })!;
    expect(h.client!.explaining).toEqual([expect.objectContaining({ cluster: 'PassthroughCluster', mode: 'passthrough' })]);
    expect(h.client!.explanation).toContain('undeclared port 9002 (or the pod IP dialed instead of the Service)');
    expect(h.fixFirst).toBe('client');
    // A logged service cluster says nothing about TLS without the dump.
    expect(bothHalves(flow('10.244.2.31:9002', 'plaintext'), null, PERMISSIVE, { cluster: ECHO, source: 'sleep.log:8' })!.client).toBeNull();
  });

  it('a client dump without clusters makes the client half UNDECIDABLE', () => {
    const h = bothHalves(flow('10.244.2.31:9002', 'plaintext'), new ClientModel(sleepDump(false)), PERMISSIVE)!;
    expect(h.client!.explanation).toContain('UNDECIDABLE');
    expect(h.fixFirst).toBe('server');
    expect(h.underStrict).toBe('rejected: filter_chain_not_found');
  });
});

describe('TLS flows against the cluster their SNI names', () => {
  it('SNI and ALPN as the auto-mTLS cluster sends them: no mismatch', () => {
    const h = bothHalves(flow('10.244.2.31:9000', 'mtls', { sni: 'outbound_.9000_._.tcp-echo.foo.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'] }), client, PERMISSIVE)!;
    expect(h.mismatches).toEqual([]);
    expect(h.client!.explanation).toBe(`client sidecar sent mTLS through ${ECHO} (istio-mutual)`);
    expect(h.underStrict).toBeNull();
  });

  it('the istio.alpn HTTP override (istio-http/1.1, istio) is what a sidecar offers for HTTP: accepted', () => {
    const h = bothHalves(flow('10.244.2.31:9000', 'mtls', { sni: 'outbound_.9000_._.tcp-echo.foo.svc.cluster.local', alpn: ['istio-http/1.1', 'istio'] }), client, PERMISSIVE)!;
    expect(h.mismatches).toEqual([]);
  });

  it('an ALPN the cluster does not offer, an SNI no cluster sends, a plaintext endpoint answered in TLS: mismatches', () => {
    expect(bothHalves(flow('10.244.2.31:9000', 'mtls', { sni: 'outbound_.9000_._.tcp-echo.foo.svc.cluster.local', alpn: ['h2', 'http/1.1'] }), client, PERMISSIVE)!.mismatches.map((m) => m.field)).toEqual(['alpn']);
    expect(bothHalves(flow('10.244.2.31:9000', 'mtls', { sni: 'outbound_.9000_._.other.foo.svc.cluster.local', alpn: ['istio'] }), client, PERMISSIVE)!.mismatches.map((m) => m.field)).toEqual(['sni']);
    expect(bothHalves(flow('10.244.4.4:8080', 'mtls', { sni: 'outbound_.8080_._.web.foo.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'] }), client, PERMISSIVE)!.mismatches.map((m) => m.field)).toEqual(['security']);
  });

  it('certificates (TLS 1.2): a client certificate not the sleep identity, a server SAN the cluster does not verify', () => {
    const h = bothHalves(
      flow('10.244.2.31:9000', 'mtls', { version: 'TLS 1.2', sni: 'outbound_.9000_._.tcp-echo.foo.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'], clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/foo/sa/attacker'], serverUriSans: ['spiffe://cluster.local/ns/foo/sa/impostor'] }),
      client,
      PERMISSIVE,
    )!;
    expect(h.mismatches.map((m) => m.field)).toEqual(['client-certificate', 'server-certificate']);
    const ok = bothHalves(flow('10.244.2.31:9000', 'mtls', { version: 'TLS 1.2', sni: 'outbound_.9000_._.tcp-echo.foo.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'], clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/foo/sa/sleep'], serverUriSans: [ECHO_SA] }), client, PERMISSIVE)!;
    expect(ok.mismatches).toEqual([]);
  });
});
