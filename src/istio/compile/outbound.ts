/**
 * The client half of mTLS: what istiod puts on a sidecar's outbound clusters (cluster_builder.go,
 * cluster_tls.go). For each service port (and DestinationRule subset) it picks the DestinationRule the proxy
 * sees, merges trafficPolicy / subset / portLevelSettings (`MergeTrafficPolicy`), decides the TLS settings
 * (`buildUpstreamTLSSettings`: DR first, else auto-mTLS from the service's namespace/mesh PeerAuthentication)
 * and renders them (`applyUpstreamTLSSettings`): a `transport_socket`, or for auto-detected ISTIO_MUTUAL the
 * `transport_socket_matches` `tlsMode-istio` / `tlsMode-disabled` that let each endpoint's `tlsMode` label pick
 * mTLS or plaintext. The cluster metadata names the DestinationRule as istiod does.
 */
import type { Diagnostic } from '../../model/errors.js';
import type { K8sObject } from '../../readers/k8s.js';
import { SDS } from './chains.js';
import { mergeTrafficPolicy, parseDestinationRules, selectDestinationRule, type ClientTlsSettings, type DestinationRule } from './destination-rule.js';
import type { Json } from './matcher.js';
import type { MtlsMode, PeerAuthentication } from './types.js';
import { parseIstioVersion, type IstioVersion } from './version.js';

/** ALPN istiod offers on in-mesh mTLS clusters (`util.ALPNInMeshWithMxc`, `ALPNInMeshH2WithMxc`). */
export const ALPN_IN_MESH_WITH_MXC = ['istio-peer-exchange', 'istio'];
export const ALPN_IN_MESH_H2_WITH_MXC = ['istio-peer-exchange', 'istio', 'h2'];
export const ALPN_H2_ONLY = ['h2'];

export interface OutboundEndpoint {
  ip: string;
  port: number;
  /** the pod's `security.istio.io/tlsMode` label: `istio` when it has a sidecar, else `disabled` */
  tlsMode: string;
  labels?: Record<string, string>;
  /** the pod's service account SPIFFE id */
  spiffeId?: string;
}

export interface OutboundServicePort {
  port: number;
  name?: string;
  /** Istio protocol: http, http2, grpc, tcp, mysql, … (from the port name or appProtocol) */
  protocol: string;
  targetPort?: number;
}

export interface OutboundService {
  name: string;
  namespace: string;
  /** default `<name>.<namespace>.svc.<domainSuffix>` */
  hostname?: string;
  clusterIP?: string;
  ports: OutboundServicePort[];
  /** headless (clusterIP None) services are passthrough: ORIGINAL_DST clusters */
  resolution?: 'client-side' | 'passthrough';
  meshExternal?: boolean;
  endpoints: OutboundEndpoint[];
}

export interface OutboundCompileOptions {
  istioVersion?: string;
  rootNamespace?: string;
  domainSuffix?: string;
  trustDomain?: string;
  /** MeshConfig.enableAutoMtls; default: on from Istio 1.5 (off before, where it was experimental) */
  enableAutoMtls?: boolean;
}

export type WireTls = 'istio-mutual' | 'auto-mtls' | 'mutual' | 'simple' | 'plaintext';

/** What one outbound cluster sends, and why. */
export interface ClusterTls {
  cluster: string;
  service: string;
  port: number;
  subset: string;
  mode: WireTls;
  sni: string | null;
  alpn: string[];
  subjectAltNames: string[];
  /** `namespace/name` of the DestinationRule, null when none applies */
  destinationRule: string | null;
  reason: string;
}

export interface OutboundCompiled {
  istioVersion: string;
  clusters: Json[];
  /** EDS ClusterLoadAssignments with each endpoint's `envoy.transport_socket_match` tlsMode */
  endpoints: Json[];
  tls: ClusterTls[];
  diagnostics: Diagnostic[];
}

const HTTP2 = new Set(['http2', 'grpc', 'grpc-web']);

/** `BestEffortInferServiceMTLSMode`: mesh and namespace PeerAuthentication only (workload/port level ignored). */
export function inferServiceMtlsMode(pas: PeerAuthentication[], service: OutboundService, rootNamespace: string, resolution: 'client-side' | 'passthrough'): MtlsMode | 'UNKNOWN' {
  if (service.meshExternal) return 'UNKNOWN';
  if (resolution === 'passthrough') {
    if (service.endpoints.length === 0 || service.endpoints.some((e) => e.tlsMode !== 'istio')) return 'DISABLE';
  }
  const noSel = (p: PeerAuthentication): boolean => Object.keys(p.selector ?? {}).length === 0;
  const oldest = (l: PeerAuthentication[]): PeerAuthentication | undefined => [...l].sort((a, b) => (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || a.name.localeCompare(b.name))[0];
  const ns = oldest(pas.filter((p) => p.namespace === service.namespace && noSel(p)));
  if (ns?.mode && ns.mode !== 'UNSET') return ns.mode;
  const mesh = oldest(pas.filter((p) => p.namespace === rootNamespace && noSel(p)));
  if (mesh?.mode && mesh.mode !== 'UNSET') return mesh.mode;
  return 'PERMISSIVE';
}

/** `config.Meta` key istiod writes into cluster metadata: the API path of the DestinationRule. */
export function destinationRuleConfigPath(dr: DestinationRule, v: IstioVersion): string {
  const version = dr.apiVersion.split('/')[1] ?? 'v1alpha3';
  if (v.minor < 8) return `/apis/networking/v1alpha3/namespaces/${dr.namespace}/destination-rule/${dr.name}`;
  return `/apis/networking.istio.io/${v.minor >= 22 ? version : 'v1alpha3'}/namespaces/${dr.namespace}/destination-rule/${dr.name}`;
}

function exactSans(sans: string[]): Json[] {
  return sans.map((s) => ({ exact: s }));
}

/** `buildUpstreamClusterTLSContext` for one settled ClientTLSSettings; null = no TLS (plaintext). */
function upstreamTlsContext(tls: ClientTlsSettings, clusterName: string, h2: boolean, drHasSelector: boolean, notes: string[], legacy = false): Json | null {
  const params = { tls_maximum_protocol_version: 'TLSv1_3', tls_minimum_protocol_version: 'TLSv1_2' };
  switch (tls.mode) {
    case 'DISABLE':
      return null;
    case 'ISTIO_MUTUAL':
      // up to 1.4 (file-mounted certs, v2 API, ALPN `istio`): what the sidecars of that time received
      if (legacy)
        return {
          '@type': 'type.googleapis.com/envoy.api.v2.auth.UpstreamTlsContext',
          common_tls_context: {
            tls_certificates: [{ certificate_chain: { filename: '/etc/certs/cert-chain.pem' }, private_key: { filename: '/etc/certs/key.pem' } }],
            alpn_protocols: h2 ? ['istio', 'h2'] : ['istio'],
            validation_context: { trusted_ca: { filename: '/etc/certs/root-cert.pem' }, verify_subject_alt_name: tls.subjectAltNames ?? [] },
          },
          sni: tls.sni ?? clusterName,
        };
      return {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_params: params,
          alpn_protocols: h2 ? ALPN_IN_MESH_H2_WITH_MXC : ALPN_IN_MESH_WITH_MXC,
          tls_certificate_sds_secret_configs: [SDS('default')],
          combined_validation_context: {
            default_validation_context: { match_subject_alt_names: exactSans(tls.subjectAltNames ?? []) },
            validation_context_sds_secret_config: SDS('ROOTCA'),
          },
        },
        sni: tls.sni ?? clusterName,
      };
    case 'SIMPLE':
    case 'MUTUAL': {
      if (tls.credentialName && !tls.credentialName.startsWith('configmap://') && !drHasSelector) {
        notes.push(`credentialName ${tls.credentialName} is not used by sidecars unless the DestinationRule has a workloadSelector: istiod renders no TLS (plaintext)`);
        return null;
      }
      const common: Json = { tls_params: params };
      if (tls.credentialName) {
        // ApplyCustomSDSToClientCommonTLSContext: the secret (and its -cacert) fetched from istiod over ADS
        const ads = (name: string): Json => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });
        const name = tls.credentialName.includes('://') ? tls.credentialName : `kubernetes://${tls.credentialName}`;
        if (tls.mode === 'MUTUAL') common.tls_certificate_sds_secret_configs = [ads(name)];
        common.combined_validation_context = {
          default_validation_context: { match_subject_alt_names: exactSans(tls.subjectAltNames ?? []) },
          validation_context_sds_secret_config: ads(`${name}-cacert`),
        };
      } else {
        if (tls.mode === 'MUTUAL') common.tls_certificate_sds_secret_configs = [SDS(`file-cert:${tls.clientCertificate}~${tls.privateKey}`)];
        if (tls.insecureSkipVerify) common.validation_context = {};
        else {
          const dvc: Json = { match_subject_alt_names: exactSans(tls.subjectAltNames ?? []) };
          if (tls.caCrl) dvc.crl = { filename: tls.caCrl };
          common.combined_validation_context = { default_validation_context: dvc, validation_context_sds_secret_config: SDS(`file-root:${tls.caCertificates ?? 'system'}`) };
        }
      }
      if (h2) common.alpn_protocols = ALPN_H2_ONLY;
      return { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) };
    }
  }
}

const TLS_SOCKET = 'envoy.transport_sockets.tls';
const RAW_BUFFER = { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } };

interface Settled {
  tls: ClientTlsSettings | null;
  autoDetected: boolean;
  reason: string;
}

/** `buildUpstreamTLSSettings`: the DestinationRule's TLS (ISTIO_MUTUAL filled with SANs and SNI), else auto-mTLS. */
function settle(tls: ClientTlsSettings | undefined, sans: string[], sni: string, autoMtls: boolean, meshExternal: boolean, serviceMode: MtlsMode | 'UNKNOWN', drName: string | null): Settled {
  if (tls) {
    const where = `DestinationRule ${drName} tls.mode ${tls.mode}`;
    if (tls.mode !== 'ISTIO_MUTUAL') return { tls, autoDetected: false, reason: where };
    return { tls: { ...tls, sni: tls.sni ?? sni, subjectAltNames: tls.subjectAltNames ?? sans }, autoDetected: false, reason: where };
  }
  const none = drName ? `DestinationRule ${drName} sets no tls for this port` : 'no DestinationRule sets tls';
  if (meshExternal) return { tls: null, autoDetected: false, reason: `${none}; the service is mesh-external, so auto mTLS does not apply` };
  if (!autoMtls) return { tls: null, autoDetected: false, reason: `${none} and auto mTLS is off (meshConfig.enableAutoMtls false or Istio before 1.5): the sidecar sends plaintext whatever the server requires` };
  if (serviceMode === 'UNKNOWN' || serviceMode === 'DISABLE') return { tls: null, autoDetected: false, reason: `${none}; auto mTLS is off for this service (PeerAuthentication DISABLE in its namespace/mesh, or passthrough endpoints without sidecars)` };
  return { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: sans, sni }, autoDetected: true, reason: `${none}; auto mTLS: mTLS to endpoints labelled tlsMode=istio (sidecar), plaintext to the others` };
}

function httpProtocolOptions(h2: boolean, autoSni: boolean, autoSan: boolean): Json | null {
  if (!h2 && !autoSni && !autoSan) return null;
  const opts: Json = { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions' };
  if (autoSni || autoSan) opts.upstream_http_protocol_options = { ...(autoSni ? { auto_sni: true } : {}), ...(autoSan ? { auto_san_validation: true } : {}) };
  opts.explicit_http_config = h2 ? { http2_protocol_options: {} } : { http_protocol_options: {} };
  return { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': opts };
}

/** Compiles every outbound cluster of `services` for a sidecar in `proxy.namespace`. */
export function compileOutbound(
  objects: K8sObject[],
  peerAuthentications: PeerAuthentication[],
  proxy: { namespace: string; labels: Record<string, string> },
  services: OutboundService[],
  opts: OutboundCompileOptions = {},
): OutboundCompiled {
  const v = parseIstioVersion(opts.istioVersion);
  const root = opts.rootNamespace ?? 'istio-system';
  const suffix = opts.domainSuffix ?? 'cluster.local';
  const autoMtls = opts.enableAutoMtls ?? v.minor >= 5;
  const { rules, diagnostics } = parseDestinationRules(objects, proxy.namespace);
  const clusters: Json[] = [];
  const endpoints: Json[] = [];
  const out: ClusterTls[] = [];
  for (const svc of [...services].sort((a, b) => (a.hostname ?? `${a.name}.${a.namespace}`).localeCompare(b.hostname ?? `${b.name}.${b.namespace}`))) {
    const host = svc.hostname ?? `${svc.name}.${svc.namespace}.svc.${suffix}`;
    const choice = selectDestinationRule(rules, proxy, host, svc.namespace, root, suffix);
    const dr = choice?.rule;
    const drName = dr ? `${dr.namespace}/${dr.name}` : null;
    if (choice && choice.shadowed.length) {
      diagnostics.push({
        severity: 'warning',
        location: { file: dr!.source?.file ?? '', line: dr!.source?.line, path: '.spec.host' },
        message: `DestinationRule ${drName} applies to ${host} for a sidecar in ${proxy.namespace}; ${choice.shadowed.map((r) => `${r.namespace}/${r.name}`).join(', ')} also match${choice.shadowed.length === 1 ? 'es' : ''} and ${choice.shadowed.length === 1 ? 'is' : 'are'} not used for TLS`,
      });
    }
    const sans = [...new Set(svc.endpoints.map((e) => e.spiffeId).filter((s): s is string => !!s))].sort();
    for (const port of [...svc.ports].sort((a, b) => a.port - b.port)) {
      const h2 = HTTP2.has(port.protocol.toLowerCase());
      const subsets: Array<{ name: string; labels: Record<string, string> | null }> = [{ name: '', labels: null }, ...(dr?.subsets ?? []).map((s) => ({ name: s.name, labels: s.labels }))];
      for (const subset of subsets) {
        const name = `outbound|${port.port}|${subset.name}|${host}`;
        const merged = subset.name ? mergeTrafficPolicy(dr?.trafficPolicy, dr?.subsets.find((s) => s.name === subset.name)?.trafficPolicy, port.port) : mergeTrafficPolicy(undefined, dr?.trafficPolicy, port.port);
        const passthrough = svc.resolution === 'passthrough' || merged.loadBalancerSimple === 'PASSTHROUGH';
        const serviceMode = inferServiceMtlsMode(peerAuthentications, svc, root, passthrough ? 'passthrough' : 'client-side');
        const sni = `outbound_.${port.port}_.${subset.name}_.${host}`;
        const s = settle(merged.tls, sans, sni, autoMtls, !!svc.meshExternal, serviceMode, drName);
        const notes: string[] = [];
        const legacy = v.minor <= 4;
        const ctx = s.tls ? upstreamTlsContext(s.tls, name, h2, !!dr?.workloadSelector, notes, legacy) : null;
        const cluster: Json = { name };
        if (passthrough) Object.assign(cluster, { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
        else Object.assign(cluster, { type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, service_name: name } });
        cluster.connect_timeout = '10s';
        cluster.circuit_breakers = { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] };
        const istioMd: Json = {};
        if (dr) istioMd.config = destinationRuleConfigPath(dr, v);
        istioMd.default_original_port = port.port;
        istioMd.services = [{ host, name: svc.name, namespace: svc.namespace }];
        if (subset.name) istioMd.subset = subset.name;
        cluster.metadata = { filter_metadata: { istio: istioMd } };
        if (!/^(http|http2|grpc|grpc-web)$/i.test(port.protocol)) {
          cluster.filters = [{ name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', value: { protocol: 'istio-peer-exchange' } } }];
        }
        const userTls = s.tls && (s.tls.mode === 'SIMPLE' || s.tls.mode === 'MUTUAL') && ctx ? s.tls : null;
        const hpo = httpProtocolOptions(h2, !!userTls && !userTls.sni, !!userTls && !userTls.sni && !(userTls.subjectAltNames?.length) && !userTls.insecureSkipVerify);
        if (hpo) cluster.typed_extension_protocol_options = hpo;
        let mode: WireTls;
        if (ctx && s.autoDetected && !passthrough) {
          cluster.transport_socket_matches = legacy
            ? [
                { name: 'mtls', match: { tlsMode: 'istio' }, transport_socket: { name: 'tls', typed_config: ctx } },
                { name: 'plaintext', match: {}, transport_socket: { name: 'raw_buffer' } },
              ]
            : [
                { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: { name: TLS_SOCKET, typed_config: ctx } },
                { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER },
              ];
          mode = 'auto-mtls';
        } else if (ctx) {
          cluster.transport_socket = { name: legacy ? 'tls' : TLS_SOCKET, typed_config: ctx };
          mode = s.tls!.mode === 'ISTIO_MUTUAL' ? 'istio-mutual' : s.tls!.mode === 'MUTUAL' ? 'mutual' : 'simple';
        } else {
          mode = 'plaintext';
        }
        let reason = s.reason;
        if (s.autoDetected && passthrough) reason += '; headless/passthrough cluster (ORIGINAL_DST): istiod sets the mTLS transport socket directly';
        if (notes.length) reason += `; ${notes.join('; ')}`;
        if (merged.from.includes('portLevelSettings') && dr) reason = reason.replace(`DestinationRule ${drName}`, `DestinationRule ${drName} ${merged.from}`);
        else if (merged.from === 'subset' && dr) reason = reason.replace(`DestinationRule ${drName}`, `DestinationRule ${drName} subset ${subset.name}`);
        clusters.push(cluster);
        const sel = subset.labels;
        const eps = svc.endpoints.filter((e) => !sel || Object.entries(sel).every(([k, val]) => e.labels?.[k] === val));
        if (!passthrough) {
          endpoints.push({
            cluster_name: name,
            endpoints: [
              {
                locality: {},
                lb_endpoints: eps.map((e) => ({
                  endpoint: { address: { socket_address: { address: e.ip, port_value: port.targetPort ?? e.port } } },
                  health_status: 'HEALTHY',
                  metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: e.tlsMode }, istio: { workload: '' } } },
                  load_balancing_weight: 1,
                })),
              },
            ],
          });
        }
        const tlsOut = ctx ? (s.tls as ClientTlsSettings) : null;
        out.push({
          cluster: name,
          service: host,
          port: port.port,
          subset: subset.name,
          mode,
          sni: ctx ? ((ctx.sni as string | undefined) ?? null) : null,
          alpn: ctx ? (((ctx.common_tls_context as Json).alpn_protocols as string[] | undefined) ?? []) : [],
          subjectAltNames: tlsOut?.subjectAltNames ?? [],
          destinationRule: drName,
          reason,
        });
      }
    }
  }
  return { istioVersion: v.label, clusters, endpoints, tls: out, diagnostics };
}

/**
 * Services and their endpoints from Kubernetes objects (Service + Pod, as `kubectl get -o json` lists them):
 * a pod is an endpoint when the Service's selector matches its labels; its tlsMode is its
 * `security.istio.io/tlsMode` label (set by sidecar injection), else `disabled`.
 */
export function servicesFromObjects(objects: K8sObject[], trustDomain = 'cluster.local'): OutboundService[] {
  const isRec = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  const pods = objects.filter((o) => o.kind === 'Pod');
  const out: OutboundService[] = [];
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const spec = isRec(o.raw.spec) ? o.raw.spec : {};
    const selector = isRec(spec.selector) ? (spec.selector as Record<string, string>) : null;
    const ports: OutboundServicePort[] = (Array.isArray(spec.ports) ? spec.ports : []).filter(isRec).map((p) => {
      const name = typeof p.name === 'string' ? p.name : undefined;
      const app = typeof p.appProtocol === 'string' ? p.appProtocol : undefined;
      const protocol = (app ?? name?.split('-')[0] ?? 'tcp').toLowerCase();
      return { port: Number(p.port), ...(name ? { name } : {}), protocol, ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}) };
    });
    const ns = o.metadata.namespace ?? 'default';
    const eps: OutboundEndpoint[] = [];
    if (selector) {
      for (const pod of pods) {
        if ((pod.metadata.namespace ?? 'default') !== ns) continue;
        const labels = (isRec(pod.raw.metadata) && isRec(pod.raw.metadata.labels) ? pod.raw.metadata.labels : {}) as Record<string, string>;
        if (!Object.entries(selector).every(([k, val]) => labels[k] === val)) continue;
        const st = isRec(pod.raw.status) ? pod.raw.status : {};
        const pspec = isRec(pod.raw.spec) ? pod.raw.spec : {};
        const ip = typeof st.podIP === 'string' ? st.podIP : null;
        if (!ip) continue;
        const sa = typeof pspec.serviceAccountName === 'string' ? pspec.serviceAccountName : 'default';
        eps.push({ ip, port: ports[0]?.targetPort ?? ports[0]?.port ?? 0, tlsMode: labels['security.istio.io/tlsMode'] ?? 'disabled', labels, spiffeId: `spiffe://${trustDomain}/ns/${ns}/sa/${sa}` });
      }
    }
    const headless = spec.clusterIP === 'None';
    out.push({ name: o.metadata.name, namespace: ns, ...(typeof spec.clusterIP === 'string' && !headless ? { clusterIP: spec.clusterIP } : {}), ports, ...(headless ? { resolution: 'passthrough' as const } : {}), endpoints: eps });
  }
  return out;
}

const isHttpProtocol = (p: string): boolean => /^(http|http2|grpc|grpc-web|http\/1\.1)$/i.test(p);

/**
 * The outbound listeners istiod gives a sidecar for these services (listener.go, `buildSidecarOutboundListeners`):
 * a TCP port of a ClusterIP service gets `<clusterIP>_<port>` whose tcp_proxy goes to the service's cluster; an
 * HTTP port gets the shared `0.0.0.0_<port>` listener whose HCM takes route `<port>` from RDS, where one virtual
 * host per service (`<host>:<port>`, domains host, host:port, the short names and the ClusterIP) routes to it.
 * Plus `virtualOutbound` (15001): unmatched destinations go to PassthroughCluster. Headless services are not
 * given a listener here.
 */
export function outboundListeners(services: OutboundService[], domainSuffix = 'cluster.local'): { listeners: Json[]; routes: Json[] } {
  const listeners: Json[] = [];
  const httpPorts = new Map<number, Json[]>();
  const tcpProxy = (cluster: string): Json => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: cluster, cluster } });
  for (const svc of [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))) {
    const host = svc.hostname ?? `${svc.name}.${svc.namespace}.svc.${domainSuffix}`;
    for (const p of [...svc.ports].sort((a, b) => a.port - b.port)) {
      const cluster = `outbound|${p.port}||${host}`;
      if (isHttpProtocol(p.protocol)) {
        const domains = [host, `${host}:${p.port}`, svc.name, `${svc.name}:${p.port}`, `${svc.name}.${svc.namespace}`, `${svc.name}.${svc.namespace}:${p.port}`, `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}.svc:${p.port}`];
        if (svc.clusterIP) domains.push(svc.clusterIP, `${svc.clusterIP}:${p.port}`);
        const vh = { name: `${host}:${p.port}`, domains, routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '0s' }, decorator: { operation: `${host}:${p.port}/*` }, name: 'default' }], include_request_attempt_count: true };
        httpPorts.set(p.port, [...(httpPorts.get(p.port) ?? []), vh]);
      } else if (svc.clusterIP && svc.resolution !== 'passthrough') {
        listeners.push({
          '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
          name: `${svc.clusterIP}_${p.port}`,
          address: { socket_address: { address: svc.clusterIP, port_value: p.port } },
          filter_chains: [{ filters: [tcpProxy(cluster)] }],
          bind_to_port: false,
          traffic_direction: 'OUTBOUND',
        });
      }
    }
  }
  const routes: Json[] = [];
  for (const [port, vhosts] of [...httpPorts.entries()].sort(([a], [b]) => a - b)) {
    listeners.push({
      '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
      name: `0.0.0.0_${port}`,
      address: { socket_address: { address: '0.0.0.0', port_value: port } },
      filter_chains: [
        {
          filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: `outbound_0.0.0.0_${port}`,
                rds: { config_source: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, route_config_name: String(port) },
                http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
              },
            },
          ],
          name: `0.0.0.0_${port}`,
        },
      ],
      default_filter_chain: { filters: [tcpProxy('PassthroughCluster')], name: 'PassthroughFilterChain' },
      listener_filters: [{ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } }],
      bind_to_port: false,
      traffic_direction: 'OUTBOUND',
    });
    routes.push({ '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', name: String(port), virtual_hosts: [...vhosts, { name: 'allow_any', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s' }, name: 'allow_any' }], include_request_attempt_count: true }], validate_clusters: false });
  }
  listeners.push({
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'virtualOutbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [
      { filter_chain_match: { destination_port: 15001 }, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'BlackHoleCluster', cluster: 'BlackHoleCluster' } }], name: 'virtualOutbound-blackhole' },
      { filters: [tcpProxy('PassthroughCluster')], name: 'virtualOutbound-catchall-tcp' },
    ],
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
  });
  return { listeners, routes };
}

/** istiod's fixed outbound clusters: PassthroughCluster (ORIGINAL_DST, plaintext as the app sent it) and BlackHoleCluster. */
export function passthroughClusters(): Json[] {
  return [
    { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '10s' },
    { name: 'PassthroughCluster', type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED', circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] }, typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } } }, filters: [{ name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', value: { protocol: 'istio-peer-exchange' } } }] },
  ];
}
