/**
 * The client half of mTLS, with the facts of istiod's pilot/pkg/networking/core cluster_tls.go /
 * cluster_tls_test.go (TestApplyUpstreamTLSSettings, buildUpstreamTLSSettings, defaultTransportSocketMatch),
 * util.MergeTrafficPolicy (port-level settings do not inherit), PushContext.destinationRule (proxy namespace,
 * service namespace, root namespace; exportTo) and BestEffortInferServiceMTLSMode.
 */
import { describe, expect, it } from 'vitest';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileForWorkload, compileToConfigDump } from '../../../src/istio/compile/index.js';
import { compileOutbound, type OutboundService } from '../../../src/istio/compile/outbound.js';
import { parsePolicies } from '../../../src/istio/compile/policies.js';
import { features, parseIstioVersion } from '../../../src/istio/compile/version.js';
import { parseConfigDump } from '../../../src/readers/configdump/parse.js';
import { dumpsFromDocuments } from '../../../src/readers/configdump/index.js';
import { listClusterTls } from '../../../src/analysis/route.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NS = 'wordpress-app';
const HOST = `mariadb.${NS}.svc.cluster.local`;
const mariadb = (over: Partial<OutboundService> = {}): OutboundService => ({
  name: 'mariadb',
  namespace: NS,
  clusterIP: '10.96.14.7',
  ports: [{ port: 3306, name: 'mysql', protocol: 'mysql' }],
  endpoints: [
    { ip: '10.244.1.20', port: 3306, tlsMode: 'istio', labels: { app: 'mariadb', version: 'v1' }, spiffeId: `spiffe://cluster.local/ns/${NS}/sa/mariadb` },
    { ip: '10.244.2.21', port: 3306, tlsMode: 'disabled', labels: { app: 'mariadb', version: 'v2' }, spiffeId: `spiffe://cluster.local/ns/${NS}/sa/mariadb` },
  ],
  ...over,
});

function compile(yaml: string, services: OutboundService[] = [mariadb()], o: { proxyNs?: string; istioVersion?: string; enableAutoMtls?: boolean; labels?: Record<string, string> } = {}) {
  const { objects } = parseK8sObjects(yaml, 'test.yaml');
  const pas = parsePolicies(objects, features(parseIstioVersion(o.istioVersion ?? '1.19')), o.proxyNs ?? NS).peerAuthentications;
  return compileOutbound(objects, pas, { namespace: o.proxyNs ?? NS, labels: o.labels ?? { app: 'wordpress' } }, services, {
    istioVersion: o.istioVersion ?? '1.19',
    ...(o.enableAutoMtls !== undefined ? { enableAutoMtls: o.enableAutoMtls } : {}),
  });
}
const cluster = (c: ReturnType<typeof compile>, name = `outbound|3306||${HOST}`): J => c.clusters.find((x) => x.name === name) as J;
const tlsOf = (c: ReturnType<typeof compile>, name = `outbound|3306||${HOST}`) => c.tls.find((x) => x.cluster === name)!;

const DR = (spec: string, name = 'mariadb-mtls', ns = NS, extra = ''): string => `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: ${name}
  namespace: ${ns}
${extra}spec:
${spec}
---
`;

describe('auto mTLS (no DestinationRule)', () => {
  it('renders transport_socket_matches tlsMode-istio (UpstreamTlsContext) then tlsMode-disabled (raw_buffer), no transport_socket', () => {
    const c = compile('');
    const cl = cluster(c);
    expect(cl.transport_socket).toBeUndefined();
    expect(cl.transport_socket_matches.map((m: J) => m.name)).toEqual(['tlsMode-istio', 'tlsMode-disabled']);
    expect(cl.transport_socket_matches[0].match).toEqual({ tlsMode: 'istio' });
    expect(cl.transport_socket_matches[1].match).toEqual({});
    expect(cl.transport_socket_matches[1].transport_socket.name).toBe('envoy.transport_sockets.raw_buffer');
    const ctx = cl.transport_socket_matches[0].transport_socket.typed_config;
    expect(ctx['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    expect(ctx.sni).toBe(`outbound_.3306_._.${HOST}`);
    expect(ctx.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
    expect(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('default');
    expect(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe('ROOTCA');
    expect(ctx.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names).toEqual([{ exact: `spiffe://cluster.local/ns/${NS}/sa/mariadb` }]);
    expect(ctx.common_tls_context.tls_params).toEqual({ tls_maximum_protocol_version: 'TLSv1_3', tls_minimum_protocol_version: 'TLSv1_2' });
    expect(cl.metadata.filter_metadata.istio.config).toBeUndefined();
    expect(tlsOf(c).mode).toBe('auto-mtls');
    expect(tlsOf(c).reason).toMatch(/auto mTLS/);
  });

  it('EDS endpoints carry envoy.transport_socket_match tlsMode so each picks mTLS or plaintext', () => {
    const c = compile('');
    const eps = (c.endpoints[0] as J).endpoints[0].lb_endpoints;
    expect(eps.map((e: J) => e.metadata.filter_metadata['envoy.transport_socket_match'].tlsMode)).toEqual(['istio', 'disabled']);
  });

  it('is off before Istio 1.5 and with enableAutoMtls false: no transport socket at all (plaintext)', () => {
    for (const c of [compile('', undefined, { istioVersion: '1.4' }), compile('', undefined, { enableAutoMtls: false })]) {
      expect(cluster(c).transport_socket).toBeUndefined();
      expect(cluster(c).transport_socket_matches).toBeUndefined();
      expect(tlsOf(c).mode).toBe('plaintext');
      expect(tlsOf(c).reason).toMatch(/auto mTLS is off/);
    }
  });

  it('is off for a service whose namespace PeerAuthentication is DISABLE (BestEffortInferServiceMTLSMode)', () => {
    const c = compile(`apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: ${NS}}\nspec: {mtls: {mode: DISABLE}}\n`);
    expect(tlsOf(c).mode).toBe('plaintext');
  });

  it('an HTTP/2 (grpc) port offers istio-peer-exchange, istio, h2 and gets no metadata_exchange network filter', () => {
    const c = compile('', [mariadb({ ports: [{ port: 7070, name: 'grpc', protocol: 'grpc' }] })]);
    const cl = cluster(c, `outbound|7070||${HOST}`);
    expect(cl.transport_socket_matches[0].transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio', 'h2']);
    expect(cl.filters).toBeUndefined();
  });

  it('a headless (passthrough) service with sidecars gets the mTLS socket directly on an ORIGINAL_DST cluster', () => {
    const c = compile('', [mariadb({ resolution: 'passthrough', endpoints: [mariadb().endpoints[0]!] })]);
    expect(cluster(c).type).toBe('ORIGINAL_DST');
    expect(cluster(c).transport_socket.name).toBe('envoy.transport_sockets.tls');
    expect(cluster(c).transport_socket_matches).toBeUndefined();
    // ...and one endpoint without a sidecar turns it off
    expect(tlsOf(compile('', [mariadb({ resolution: 'passthrough' })])).mode).toBe('plaintext');
  });
});

describe('DestinationRule trafficPolicy.tls', () => {
  it('ISTIO_MUTUAL with a wildcard host is user supplied: a plain transport_socket, SANs of the service, SNI of the cluster, metadata naming the rule', () => {
    const c = compile(DR(`  host: "*.${NS}.svc.cluster.local"\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n`));
    const cl = cluster(c);
    expect(cl.transport_socket_matches).toBeUndefined();
    expect(cl.transport_socket.typed_config.sni).toBe(`outbound_.3306_._.${HOST}`);
    expect(cl.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
    expect(cl.metadata.filter_metadata.istio.config).toBe(`/apis/networking.istio.io/v1alpha3/namespaces/${NS}/destination-rule/mariadb-mtls`);
    expect(tlsOf(c)).toMatchObject({ mode: 'istio-mutual', destinationRule: `${NS}/mariadb-mtls`, subjectAltNames: [`spiffe://cluster.local/ns/${NS}/sa/mariadb`] });
    expect(tlsOf(c).reason).toMatch(/DestinationRule wordpress-app\/mariadb-mtls tls.mode ISTIO_MUTUAL/);
  });

  it('ISTIO_MUTUAL keeps a user SNI and SANs', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, sni: custom.foo.com, subjectAltNames: [custom.foo.com]}\n`));
    expect(cluster(c).transport_socket.typed_config.sni).toBe('custom.foo.com');
    expect(cluster(c).transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names).toEqual([{ exact: 'custom.foo.com' }]);
  });

  it('DISABLE sends plaintext even where auto mTLS would encrypt', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: DISABLE}\n`));
    expect(cluster(c).transport_socket).toBeUndefined();
    expect(cluster(c).transport_socket_matches).toBeUndefined();
    expect(tlsOf(c).mode).toBe('plaintext');
    expect(tlsOf(c).reason).toMatch(/tls.mode DISABLE/);
  });

  it('SIMPLE with caCertificates: file-root SDS secret, no ALPN, the rule SNI; without sni: auto_sni and auto_san_validation', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: SIMPLE, caCertificates: root-cert.pem, subjectAltNames: [custom.foo.com], sni: custom.foo.com}\n`));
    const ctx = cluster(c).transport_socket.typed_config;
    expect(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe('file-root:root-cert.pem');
    expect(ctx.common_tls_context.alpn_protocols).toBeUndefined();
    expect(ctx.sni).toBe('custom.foo.com');
    expect(tlsOf(c).mode).toBe('simple');
    const auto = cluster(compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: SIMPLE}\n`)));
    expect(auto.transport_socket.typed_config.sni).toBeUndefined();
    expect(auto.transport_socket.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe('file-root:system');
    expect(auto.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].upstream_http_protocol_options).toEqual({ auto_sni: true, auto_san_validation: true });
  });

  it('MUTUAL with files: file-cert:<cert>~<key> and file-root:<ca>; h2 ALPN only on HTTP/2 ports', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: MUTUAL, clientCertificate: cert-chain.pem, privateKey: key.pem, caCertificates: root-cert.pem, sni: custom.foo.com}\n`), [mariadb({ ports: [{ port: 3306, protocol: 'mysql' }, { port: 7070, protocol: 'grpc' }] })]);
    const ctx = cluster(c).transport_socket.typed_config;
    expect(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('file-cert:cert-chain.pem~key.pem');
    expect(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe('file-root:root-cert.pem');
    expect(cluster(c, `outbound|7070||${HOST}`).transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2']);
  });

  it('credentialName on a sidecar without workloadSelector: istiod renders no TLS (plaintext), said in the reason', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: SIMPLE, credentialName: db-ca}\n`));
    expect(tlsOf(c).mode).toBe('plaintext');
    expect(tlsOf(c).reason).toMatch(/credentialName db-ca is not used by sidecars unless the DestinationRule has a workloadSelector/);
    const sel = compile(DR(`  host: mariadb\n  workloadSelector: {matchLabels: {app: wordpress}}\n  trafficPolicy:\n    tls: {mode: SIMPLE, credentialName: db-ca}\n`));
    expect(cluster(sel).transport_socket.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe('kubernetes://db-ca-cacert');
  });

  it('istiod rejects ISTIO_MUTUAL with client certificates; the rule is skipped with an error naming the path', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, clientCertificate: c.pem}\n`));
    expect(c.diagnostics.some((d) => d.severity === 'error' && /ISTIO_MUTUAL/.test(d.message))).toBe(true);
    expect(tlsOf(c).mode).toBe('auto-mtls');
  });
});

describe('portLevelSettings and subsets (MergeTrafficPolicy)', () => {
  it('a port-level entry replaces tls wholesale: without tls the port falls back to auto mTLS', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    portLevelSettings:\n    - port: {number: 3306}\n      loadBalancer: {simple: ROUND_ROBIN}\n`), [mariadb({ ports: [{ port: 3306, protocol: 'mysql' }, { port: 3307, protocol: 'tcp' }] })]);
    expect(tlsOf(c).mode).toBe('auto-mtls');
    expect(tlsOf(c, `outbound|3307||${HOST}`).mode).toBe('istio-mutual');
  });

  it('a port-level DISABLE turns that port to plaintext and says where it came from', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    portLevelSettings:\n    - port: {number: 3306}\n      tls: {mode: DISABLE}\n`));
    expect(tlsOf(c).mode).toBe('plaintext');
    expect(tlsOf(c).reason).toMatch(/portLevelSettings\[3306\]/);
  });

  it('subset clusters: SNI outbound_.<port>_.<subset>_.<host>, metadata subset, subset tls overrides the top level', () => {
    const c = compile(DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n  - name: v2\n    labels: {version: v2}\n    trafficPolicy:\n      tls: {mode: DISABLE}\n`));
    const v1 = cluster(c, `outbound|3306|v1|${HOST}`);
    expect(v1.transport_socket.typed_config.sni).toBe(`outbound_.3306_.v1_.${HOST}`);
    expect(v1.metadata.filter_metadata.istio.subset).toBe('v1');
    expect(tlsOf(c, `outbound|3306|v2|${HOST}`).mode).toBe('plaintext');
    const v1eps = (c.endpoints.find((e) => (e as J).cluster_name === `outbound|3306|v1|${HOST}`) as J).endpoints[0].lb_endpoints;
    expect(v1eps.map((e: J) => e.endpoint.address.socket_address.address)).toEqual(['10.244.1.20']);
  });
});

describe('which DestinationRule a sidecar sees', () => {
  it('the proxy namespace first, then the service namespace (if exported to the proxy), then the root namespace; exportTo "." hides a rule', () => {
    const root = DR(`  host: "*.svc.cluster.local"\n  trafficPolicy:\n    tls: {mode: SIMPLE, sni: root}\n`, 'mesh-wide', 'istio-system');
    const svcNs = DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n`, 'svc-ns', NS);
    const hidden = DR(`  host: mariadb\n  exportTo: ["."]\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n`, 'svc-ns', NS);
    const client = DR(`  host: mariadb.${NS}.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: DISABLE}\n`, 'client-ns', 'shop');
    expect(tlsOf(compile(root + svcNs + client, undefined, { proxyNs: 'shop' })).destinationRule).toBe('shop/client-ns');
    expect(tlsOf(compile(root + svcNs, undefined, { proxyNs: 'shop' })).destinationRule).toBe(`${NS}/svc-ns`);
    expect(tlsOf(compile(root + hidden, undefined, { proxyNs: 'shop' })).destinationRule).toBe('istio-system/mesh-wide');
    expect(tlsOf(compile(root + hidden, undefined, { proxyNs: NS })).destinationRule).toBe(`${NS}/svc-ns`);
  });

  it('within a namespace the exact host beats a wildcard, and the shadowed rule is reported', () => {
    const c = compile(DR(`  host: "*.${NS}.svc.cluster.local"\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n`, 'wild') + DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: DISABLE}\n`, 'exact'));
    expect(tlsOf(c).destinationRule).toBe(`${NS}/exact`);
    expect(c.diagnostics.some((d) => /wordpress-app\/wild also matches/.test(d.message))).toBe(true);
  });

  it('cluster metadata uses the pre-1.8 API path on old releases and the written version from 1.22', () => {
    const spec = `  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n`;
    expect(cluster(compile(DR(spec), undefined, { istioVersion: '1.6' })).metadata.filter_metadata.istio.config).toBe(`/apis/networking/v1alpha3/namespaces/${NS}/destination-rule/mariadb-mtls`);
    const v1 = DR(spec).replace('networking.istio.io/v1alpha3', 'networking.istio.io/v1');
    expect(cluster(compile(v1, undefined, { istioVersion: '1.24' })).metadata.filter_metadata.istio.config).toBe(`/apis/networking.istio.io/v1/namespaces/${NS}/destination-rule/mariadb-mtls`);
  });
});

describe('compile with Services in the manifests', () => {
  const objects = parseK8sObjects(
    `apiVersion: v1
kind: Service
metadata: {name: mariadb, namespace: ${NS}}
spec:
  selector: {app: mariadb}
  clusterIP: 10.96.14.7
  ports: [{name: mysql, port: 3306, targetPort: 3306}]
---
apiVersion: v1
kind: Pod
metadata: {name: mariadb-0, namespace: ${NS}, labels: {app: mariadb, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: mariadb}
status: {podIP: 10.244.1.20}
---
${DR(`  host: "*.${NS}.svc.cluster.local"\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n`)}`,
    'm.yaml',
  ).objects;

  it('the synthetic config dump carries the outbound clusters and endpoints, and the dump reader reads them', () => {
    const { configDump, compiled } = compileToConfigDump(objects, { namespace: NS, name: 'wordpress', labels: { app: 'wordpress' }, ports: [] }, { istioVersion: '1.19' });
    expect(compiled.outbound!.tls.map((t) => `${t.cluster} ${t.mode}`)).toEqual([`outbound|3306||${HOST} istio-mutual`]);
    const parsed = parseConfigDump(configDump, 'compiled');
    expect(JSON.stringify(parsed)).toContain(`outbound|3306||${HOST}`);
    expect(JSON.stringify(configDump)).toContain('envoy.admin.v3.ClustersConfigDump');
  });

  it('route reads the compiled dump: the ClusterIP listener sends to the cluster, with the TLS compile said', async () => {
    const { configDump } = compileToConfigDump(objects, { namespace: NS, name: 'wordpress', labels: { app: 'wordpress' }, ports: [] }, { istioVersion: '1.19' });
    const listeners = JSON.stringify((configDump.configs as J[]).find((c) => c['@type'].endsWith('ListenersConfigDump')));
    expect(listeners).toContain('"name":"10.96.14.7_3306"');
    expect(listeners).toContain('"name":"virtualOutbound"');
  });

  it('without Services there are no outbound clusters', () => {
    expect(compileForWorkload([], { namespace: NS, labels: {}, ports: [] }).outbound).toBeNull();
  });
});

describe('agreement with the dump reader (route): what compile renders is what route reads back', () => {
  const svc = `apiVersion: v1
kind: Service
metadata: {name: mariadb, namespace: ${NS}}
spec:
  selector: {app: mariadb}
  clusterIP: 10.96.14.7
  ports: [{name: mysql, port: 3306}, {name: grpc-admin, port: 7070}, {name: http-metrics, port: 9104}]
---
apiVersion: v1
kind: Pod
metadata: {name: mariadb-0, namespace: ${NS}, labels: {app: mariadb, version: v1, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: mariadb}
status: {podIP: 10.244.1.20}
---
`;
  const cases: Array<[string, string, { enableAutoMtls?: boolean }]> = [
    ['auto mTLS', '', {}],
    ['auto mTLS off', '', { enableAutoMtls: false }],
    ['ISTIO_MUTUAL wildcard', DR(`  host: "*.${NS}.svc.cluster.local"\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n`), {}],
    ['DISABLE', DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: DISABLE}\n`), {}],
    ['SIMPLE', DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: SIMPLE, caCertificates: /etc/ca.pem}\n`), {}],
    ['MUTUAL', DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: MUTUAL, clientCertificate: c.pem, privateKey: k.pem}\n`), {}],
    ['subsets and port levels', DR(`  host: mariadb\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    portLevelSettings:\n    - port: {number: 9104}\n      tls: {mode: DISABLE}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy: {tls: {mode: SIMPLE}}\n`), {}],
  ];
  for (const [name, dr, o] of cases) {
    it(`${name}: every cluster's mode, SNI, ALPN and DestinationRule agree`, () => {
      const objects = parseK8sObjects(svc + dr, 'm.yaml').objects;
      const { configDump, compiled } = compileToConfigDump(objects, { namespace: NS, name: 'wordpress', labels: { app: 'wordpress' }, ports: [] }, { istioVersion: '1.19', ...o });
      const dump = dumpsFromDocuments([JSON.parse(JSON.stringify(configDump))], 'compiled.json')[0]!;
      const read = new Map(listClusterTls(dump).clusters.map((c) => [c.cluster, c]));
      expect(compiled.outbound!.tls.length).toBeGreaterThanOrEqual(3);
      for (const t of compiled.outbound!.tls) {
        const r = read.get(t.cluster)!;
        expect(r, t.cluster).toBeDefined();
        expect(r.mode, t.cluster).toBe(t.mode);
        expect(r.destinationRule ? `${r.destinationRule.namespace}/${r.destinationRule.name}` : null, t.cluster).toBe(t.destinationRule);
        if (r.tls && t.mode !== 'plaintext') {
          expect(r.tls.sni ?? null, t.cluster).toBe(t.sni);
          expect(r.tls.alpn, t.cluster).toEqual(t.alpn);
        }
      }
    });
  }
});
