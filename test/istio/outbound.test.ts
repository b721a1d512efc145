/**
 * Client-side TLS of outbound clusters, from the facts Istio's own tests pin
 * (pilot/pkg/networking/core/cluster_tls_test.go TestApplyUpstreamTLSSettings / ...HBONE, cluster_tls.go):
 * the clusters here are written the way istiod renders them and read through the config-dump reader.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { clusterTls, destinationRuleOf, istioSni, parseIstioClusterName, qualifyHost, socketTls } from '../../src/istio/outbound.js';
import { selectTransportSocket } from '../../src/envoy/outbound.js';
import type { Cluster, ProtoObject } from '../../src/envoy/model.js';

const UTC = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW = { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } };
const ALPN_IN_MESH_WITH_MXC = ['istio-peer-exchange', 'istio'];
const ALPN_IN_MESH_H2_WITH_MXC = ['istio-peer-exchange', 'istio', 'h2'];

/** ISTIO_MUTUAL as buildUpstreamClusterTLSContext renders it. */
function istioMutual(sni: string, sans: string[], alpn = ALPN_IN_MESH_WITH_MXC): ProtoObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': UTC,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        alpn_protocols: alpn,
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] } } }],
        combined_validation_context: {
          default_validation_context: { match_subject_alt_names: sans.map((s) => ({ exact: s })) },
          validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] } } },
        },
      },
      sni,
    },
  };
}

/** SIMPLE / MUTUAL with files, as constructUpstreamTLS renders them (served over SDS by file name). */
function userTls(mutual: boolean, h2 = false): ProtoObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': UTC,
      common_tls_context: {
        ...(mutual ? { tls_certificate_sds_secret_configs: [{ name: 'file-cert:cert-chain.pem~key.pem' }] } : {}),
        combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ exact: 'custom.foo.com' }] }, validation_context_sds_secret_config: { name: 'file-root:root-cert.pem' } },
        ...(h2 ? { alpn_protocols: ['h2'] } : {}),
      },
      sni: 'custom.foo.com',
    },
  };
}

function cluster(c: ProtoObject): Cluster {
  const d = parseConfigDump({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', dynamic_active_clusters: [{ cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...c } }] }] }, 't.json');
  return d.clusters[0]!;
}

const NAME = 'outbound|9080||details.default.svc.cluster.local';
const DR = { filter_metadata: { istio: { config: '/apis/networking/v1alpha3/namespaces/default/destination-rule/details' } } };

describe('cluster TLS mode as istiod renders DestinationRule TLS', () => {
  it('user specified without tls: no transport socket → plaintext', () => {
    const t = clusterTls(cluster({ name: NAME, type: 'EDS' }));
    expect(t.mode).toBe('plaintext');
    expect(t.tls).toBeNull();
  });

  it('user specified istio_mutual: transport_socket with SDS default/ROOTCA, ALPN istio-peer-exchange,istio, the DR named', () => {
    const t = clusterTls(cluster({ name: NAME, type: 'EDS', transport_socket: istioMutual('custom.foo.com', ['custom.foo.com']), metadata: DR }));
    expect(t.mode).toBe('istio-mutual');
    expect(t.tls).toMatchObject({ sni: 'custom.foo.com', alpn: ALPN_IN_MESH_WITH_MXC, clientCertificates: ['default'], validation: ['ROOTCA'], verifySans: ['custom.foo.com'] });
    expect(t.destinationRule).toEqual({ namespace: 'default', name: 'details' });
    expect(t.reason).toContain('DestinationRule default/details sets tls.mode ISTIO_MUTUAL');
  });

  it('istio_mutual with h2 offers istio-peer-exchange,istio,h2', () => {
    const t = clusterTls(cluster({ name: NAME, type: 'EDS', transport_socket: istioMutual(istioSni(9080, '', 'details.default.svc.cluster.local'), [], ALPN_IN_MESH_H2_WITH_MXC) }));
    expect(t.mode).toBe('istio-mutual');
    expect(t.tls?.alpn).toEqual(ALPN_IN_MESH_H2_WITH_MXC);
    expect(t.tls?.sni).toBe('outbound_.9080_._.details.default.svc.cluster.local');
  });

  it('user specified simple tls: file-root validation, no client certificate, no ALPN → simple', () => {
    const t = clusterTls(cluster({ name: NAME, type: 'EDS', transport_socket: userTls(false), metadata: DR }));
    expect(t.mode).toBe('simple');
    expect(t.tls).toMatchObject({ sni: 'custom.foo.com', alpn: [], clientCertificates: [], validation: ['file-root:root-cert.pem'] });
  });

  it('user specified mutual tls: file-cert:<cert>~<key> client certificate → mutual (h2: ALPN h2 only)', () => {
    const t = clusterTls(cluster({ name: NAME, type: 'EDS', transport_socket: userTls(true, true), metadata: DR }));
    expect(t.mode).toBe('mutual');
    expect(t.tls).toMatchObject({ clientCertificates: ['file-cert:cert-chain.pem~key.pem'], alpn: ['h2'] });
  });

  it('auto detect with tls: tlsMode-istio then tlsMode-disabled matches → auto-mtls, no transport_socket', () => {
    const c = cluster({ name: NAME, type: 'EDS', transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual(istioSni(9080, '', 'details.default.svc.cluster.local'), []) }, { name: 'tlsMode-disabled', match: {}, transport_socket: RAW }] });
    const t = clusterTls(c);
    expect(t.mode).toBe('auto-mtls');
    expect(t.tls?.sni).toBe('outbound_.9080_._.details.default.svc.cluster.local');
    expect(t.sockets.map((s) => [s.match, s.tls.kind])).toEqual([['tlsMode-istio', 'istio-mutual'], ['tlsMode-disabled', 'plaintext']]);
  });

  it('auto-mTLS on an ORIGINAL_DST (headless) cluster keeps the plain transport_socket: always mTLS', () => {
    const t = clusterTls(cluster({ name: 'outbound|9042||cassandra.db.svc.cluster.local', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', transport_socket: istioMutual('outbound_.9042_._.cassandra.db.svc.cluster.local', []) }));
    expect(t.mode).toBe('istio-mutual');
    expect(t.reason).toContain('ORIGINAL_DST');
  });

  it('HBONE sidecar: hbone, tlsMode-istio, tlsMode-disabled → auto-mtls with HBONE', () => {
    const hbone = { name: 'hbone', match: { tunnel: 'http' }, transport_socket: { name: 'envoy.transport_sockets.internal_upstream', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport', transport_socket: RAW } } };
    const t = clusterTls(cluster({ name: NAME, type: 'EDS', transport_socket_matches: [hbone, { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual('s', []) }, { name: 'tlsMode-disabled', match: {}, transport_socket: RAW }] }));
    expect(t.mode).toBe('auto-mtls');
    expect(t.hbone).toBe(true);
  });

  it('Istio 1.4 auto-mTLS names (mtls / plaintext) and v2 file certificates are read the same way', () => {
    const v2 = { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.api.v2.auth.UpstreamTlsContext', common_tls_context: { tls_certificates: [{ certificate_chain: { filename: '/etc/certs/cert-chain.pem' }, private_key: { filename: '/etc/certs/key.pem' } }], alpn_protocols: ['istio'], validation_context: { trusted_ca: { filename: '/etc/certs/root-cert.pem' }, verify_subject_alt_name: ['spiffe://cluster.local/ns/default/sa/bookinfo-details'] } }, sni: 'outbound_.9080_.v1_.details.default.svc.cluster.local' } };
    const t = clusterTls(cluster({ name: 'outbound|9080|v1|details.default.svc.cluster.local', type: 'EDS', transport_socket_matches: [{ name: 'mtls', match: { tlsMode: 'istio' }, transport_socket: v2 }, { name: 'plaintext', match: {}, transport_socket: { name: 'raw_buffer' } }] }));
    expect(t.mode).toBe('auto-mtls');
    expect(t.tls).toMatchObject({ alpn: ['istio'], verifySans: ['spiffe://cluster.local/ns/default/sa/bookinfo-details'], clientCertificates: ['/etc/certs/cert-chain.pem'] });
  });

  it('PassthroughCluster is passthrough, BlackHoleCluster blackhole', () => {
    expect(clusterTls(cluster({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' })).mode).toBe('passthrough');
    expect(clusterTls(cluster({ name: 'InboundPassthroughClusterIpv4', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' })).mode).toBe('passthrough');
    expect(clusterTls(cluster({ name: 'BlackHoleCluster', type: 'STATIC' })).mode).toBe('blackhole');
  });

  it('a socket type meshsleuth does not know is unknown, never guessed', () => {
    const t = clusterTls(cluster({ name: NAME, type: 'EDS', transport_socket: { name: 'envoy.transport_sockets.alts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts' } } }));
    expect(t.mode).toBe('unknown');
  });
});

describe("Envoy's transport socket matcher over endpoint metadata", () => {
  const c = cluster({ name: NAME, type: 'EDS', transport_socket: userTls(false), transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual('x', []) }, { name: 'v2-only', match: { tlsMode: 'istio', version: 'v2' }, transport_socket: RAW }] });
  const md = (labels: Record<string, string>) => ({ filter_metadata: { 'envoy.transport_socket_match': labels } });
  it('the first match whose labels are a subset of the endpoint metadata wins', () => {
    expect(selectTransportSocket(c, md({ tlsMode: 'istio', version: 'v2' })).via).toEqual({ kind: 'match', name: 'tlsMode-istio', index: 0 });
  });
  it('no match: the cluster transport_socket, not raw_buffer', () => {
    const s = selectTransportSocket(c, md({ tlsMode: 'disabled' }));
    expect(s.via).toEqual({ kind: 'transport_socket' });
    expect(socketTls(s.socket).kind).toBe('simple');
  });
  it('an endpoint without metadata matches only an empty match', () => {
    expect(selectTransportSocket(c, null).via.kind).toBe('transport_socket');
    const auto = cluster({ name: NAME, type: 'EDS', transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual('x', []) }, { name: 'tlsMode-disabled', match: {}, transport_socket: RAW }] });
    expect(selectTransportSocket(auto, null).via).toEqual({ kind: 'match', name: 'tlsMode-disabled', index: 1 });
  });
  it('unknown endpoint: every socket it could get, stopping at the catch-all', () => {
    const auto = cluster({ name: NAME, type: 'EDS', transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual('x', []) }, { name: 'tlsMode-disabled', match: {}, transport_socket: RAW }] });
    expect(selectTransportSocket(auto, undefined).map((s) => s.via.kind === 'match' && s.via.name)).toEqual(['tlsMode-istio', 'tlsMode-disabled']);
  });
  it('camelCase (istioctl) clusters keep the Struct key tlsMode', () => {
    const d = parseConfigDump([{ '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: NAME, type: 'EDS', connectTimeout: '10s', transportSocketMatches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { alpnProtocols: ['istio-peer-exchange', 'istio'], tlsCertificateSdsSecretConfigs: [{ name: 'default' }] }, sni: 'outbound_.9080_._.details.default.svc.cluster.local' } } }, { name: 'tlsMode-disabled', match: {}, transportSocket: RAW }] }], 'pc.json');
    expect(clusterTls(d.clusters[0]!).mode).toBe('auto-mtls');
  });
});

describe('Istio names', () => {
  it('cluster names and SNI (BuildDNSSrvSubsetKey)', () => {
    expect(parseIstioClusterName('outbound|9080|v1|reviews.default.svc.cluster.local')).toEqual({ direction: 'outbound', port: 9080, subset: 'v1', host: 'reviews.default.svc.cluster.local' });
    expect(parseIstioClusterName('PassthroughCluster')).toBeNull();
    expect(istioSni(9080, 'v1', 'reviews.default.svc.cluster.local')).toBe('outbound_.9080_.v1_.reviews.default.svc.cluster.local');
    expect(istioSni(8000, '', 'httpbin.foo.svc.cluster.local')).toBe('outbound_.8000_._.httpbin.foo.svc.cluster.local');
  });
  it('DestinationRule from cluster metadata', () => {
    expect(destinationRuleOf(DR)).toEqual({ namespace: 'default', name: 'details' });
    expect(destinationRuleOf({ filter_metadata: { istio: { default_original_port: 80 } } })).toBeNull();
  });
  it('short names are qualified with the proxy DNS domain', () => {
    const node = { id: 'sidecar~10.244.1.32~sleep-1.foo~foo.svc.cluster.local', namespace: 'foo' } as Parameters<typeof qualifyHost>[1];
    expect(qualifyHost('tcp-echo', node)).toEqual(['tcp-echo', 'tcp-echo.foo.svc.cluster.local']);
    expect(qualifyHost('tcp-echo.bar', node)).toEqual(['tcp-echo.bar', 'tcp-echo.bar.svc.cluster.local']);
    expect(qualifyHost('tcp-echo.bar.svc', node)).toEqual(['tcp-echo.bar.svc', 'tcp-echo.bar.svc.cluster.local']);
  });
});
