/**
 * What-if compilation: Istio AuthorizationPolicy / PeerAuthentication objects → the Envoy RBAC
 * filters and inbound filter chains istiod would push to one sidecar.
 *
 *   compileForWorkload(objects, workload, opts) → { httpFilters, tcpFilters, mtls, diagnostics }
 *   compileToConfigDump(objects, workload, opts) → a synthetic `/config_dump` with `virtualInbound`
 */
import type { Diagnostic } from '../../model/errors.js';
import type { K8sObject } from '../../readers/k8s.js';
import { buildFilters, locOf, type EnvoyFilter, type PoliciesByAction } from './builder.js';
import { buildVirtualInbound, type InboundPort, type PortProtocol } from './chains.js';
import type { ExtensionProvider } from './extauthz.js';
import { parsePolicies } from './policies.js';
import type { AuthorizationPolicy, MtlsMode, PeerAuthentication } from './types.js';
import { features, parseIstioVersion, type IstioVersion } from './version.js';
import { compileOutbound, outboundListeners, passthroughClusters, servicesFromObjects, type OutboundCompiled, type OutboundService } from './outbound.js';

export type { EnvoyFilter } from './builder.js';
export type { ExtensionProvider } from './extauthz.js';
export type { AuthorizationPolicy, PeerAuthentication, MtlsMode } from './types.js';
export { DEFAULT_ISTIO_VERSION, parseIstioVersion } from './version.js';
export { compileOutbound, outboundListeners, passthroughClusters, servicesFromObjects, type ClusterTls, type OutboundCompiled, type OutboundService, type WireTls } from './outbound.js';
export { parseDestinationRules, selectDestinationRule, type DestinationRule } from './destination-rule.js';

export interface WorkloadPort {
  port: number;
  /** `http` (also http2/grpc/h2c), `tcp` (also tls/mongo/…) or `auto` (protocol sniffing). */
  protocol: string;
}

export interface WorkloadSpec {
  namespace: string;
  name?: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  ports: WorkloadPort[];
  /** Pod IPs, if known: they go into the node id / INSTANCE_IPS so a check can tell inbound from outbound. */
  ips?: string[];
}

export interface CompileOptions {
  /** `1.30`, `1.22.3`, `master`; default DEFAULT_ISTIO_VERSION. */
  istioVersion?: string;
  trustDomain?: string;
  trustDomainAliases?: string[];
  rootNamespace?: string;
  extensionProviders?: ExtensionProvider[];
  /** Namespace assumed for objects without metadata.namespace. Default: the workload's namespace. */
  defaultNamespace?: string;
  /** MeshConfig.enableAutoMtls (default: on from Istio 1.5). */
  enableAutoMtls?: boolean;
  /**
   * The services the sidecar can reach, for its outbound clusters (DestinationRule TLS, auto mTLS). Default:
   * the Services (and Pods as their endpoints) among the objects; none = no outbound clusters.
   */
  services?: OutboundService[];
}

export interface PortMtls {
  port: number;
  protocol: PortProtocol;
  mode: MtlsMode;
  /**
   * A portLevelMtls port the workload does not declare: istiod adds pass-through chains for it
   * (`authn.Builder.ForPassthrough`), shaped like the catch-all chains but matching this port.
   */
  passthrough?: boolean;
}

export interface AppliedPolicy {
  namespace: string;
  name: string;
  action: string;
  dryRun: boolean;
  provider?: string;
  file?: string;
}

export interface CompiledWorkload {
  workload: WorkloadSpec;
  istioVersion: string;
  /** RBAC (and ext_authz) HTTP filters in HCM order, snake_case Envoy JSON. */
  httpFilters: EnvoyFilter[];
  /** Network RBAC (and ext_authz) filters in chain order, snake_case Envoy JSON. */
  tcpFilters: EnvoyFilter[];
  mtls: {
    /** Workload-level mode: applies to undeclared ports (the virtualInbound catch-alls). */
    workload: MtlsMode;
    ports: PortMtls[];
    /** PeerAuthentications that decided it, most specific last. */
    appliedPeerAuthentications: string[];
  };
  policies: AppliedPolicy[];
  /** The client half: outbound clusters with their transport sockets; null when no service is known. */
  outbound: OutboundCompiled | null;
  diagnostics: Diagnostic[];
}

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'http/1.1', 'grpc', 'grpc-web', 'h2c', 'https-as-http']);
const AUTO_PROTOCOLS = new Set(['auto', '', 'unknown']);

export function normalizeProtocol(p: string): PortProtocol {
  const l = p.toLowerCase();
  if (HTTP_PROTOCOLS.has(l)) return 'http';
  if (AUTO_PROTOCOLS.has(l)) return 'auto';
  return 'tcp';
}

function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** Which policies istiod applies to a sidecar: root-namespace and own-namespace policies whose selector matches. */
function selectPolicies(all: AuthorizationPolicy[], w: WorkloadSpec, root: string, diags: Diagnostic[]): AuthorizationPolicy[] {
  const out: AuthorizationPolicy[] = [];
  for (const p of all) {
    if (p.namespace !== root && p.namespace !== w.namespace) continue;
    if (p.spec.targetRef || (p.spec.targetRefs?.length ?? 0) > 0) {
      diags.push({ severity: 'warning', location: locOf(p, '.spec.targetRefs'), message: `policy ${p.name}.${p.namespace} uses targetRef(s), which bind to gateways/waypoints, not sidecars; not applied to this workload` });
      continue;
    }
    if (!selectorMatches(p.spec.selector?.matchLabels, w.labels)) continue;
    out.push(p);
  }
  return out;
}

function oldest(list: PeerAuthentication[]): PeerAuthentication | undefined {
  return [...list].sort((a, b) => (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || a.name.localeCompare(b.name))[0];
}

/** `ComposePeerAuthentication`: mesh (root ns, no selector) → namespace → workload → port level; UNSET inherits. */
export function composePeerAuthentication(all: PeerAuthentication[], w: WorkloadSpec, root: string) {
  const applied: string[] = [];
  const noSel = (p: PeerAuthentication) => Object.keys(p.selector ?? {}).length === 0;
  const mesh = oldest(all.filter((p) => p.namespace === root && noSel(p)));
  const ns = w.namespace === root ? undefined : oldest(all.filter((p) => p.namespace === w.namespace && noSel(p)));
  const wl = oldest(all.filter((p) => p.namespace === w.namespace && !noSel(p) && selectorMatches(p.selector, w.labels)));
  let mode: MtlsMode = 'PERMISSIVE';
  for (const p of [mesh, ns, wl]) {
    if (!p) continue;
    applied.push(`${p.namespace}/${p.name}`);
    if (p.mode && p.mode !== 'UNSET') mode = p.mode;
  }
  const portModes = new Map<number, MtlsMode>();
  for (const [port, m] of Object.entries(wl?.portLevelMtls ?? {})) portModes.set(Number(port), m === 'UNSET' ? mode : m);
  return { mode, portModes, applied };
}

export function compileForWorkload(objects: K8sObject[], workload: WorkloadSpec, opts: CompileOptions = {}): CompiledWorkload {
  const version: IstioVersion = parseIstioVersion(opts.istioVersion);
  const f = features(version);
  const root = opts.rootNamespace ?? 'istio-system';
  const td = opts.trustDomain ?? 'cluster.local';
  const parsed = parsePolicies(objects, f, opts.defaultNamespace ?? workload.namespace, root);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const selected = selectPolicies(parsed.authorizationPolicies, workload, root, diagnostics);
  const byAction: PoliciesByAction = { custom: [], audit: [], deny: [], allow: [] };
  for (const p of selected) {
    const a = p.spec.action ?? 'ALLOW';
    (a === 'CUSTOM' ? byAction.custom : a === 'AUDIT' ? byAction.audit : a === 'DENY' ? byAction.deny : byAction.allow).push(p);
  }
  const buildOpts = { f, trustDomains: [td, ...(opts.trustDomainAliases ?? [])], extensionProviders: opts.extensionProviders };
  const httpFilters = buildFilters(byAction, false, buildOpts, diagnostics);
  // TCP-only diagnostics (rules dropped on TCP chains) matter; add them without duplicating HTTP ones.
  const tcpDiags: Diagnostic[] = [];
  const tcpFilters = buildFilters(byAction, true, buildOpts, tcpDiags);
  const seen = new Set(diagnostics.map((x) => x.message));
  for (const d of tcpDiags) if (!seen.has(d.message)) diagnostics.push(d);

  const pa = composePeerAuthentication(parsed.peerAuthentications, workload, root);
  const ports: PortMtls[] = workload.ports.map((p) => ({ port: p.port, protocol: normalizeProtocol(p.protocol), mode: pa.portModes.get(p.port) ?? pa.mode }));
  for (const [port, mode] of [...pa.portModes.entries()].sort(([a], [b]) => a - b)) {
    if (!workload.ports.some((p) => p.port === port)) ports.push({ port, protocol: 'auto', mode, passthrough: true });
  }
  const policies: AppliedPolicy[] = selected.map((p) => ({
    namespace: p.namespace,
    name: p.name,
    action: p.spec.action ?? 'ALLOW',
    dryRun: /^(1|t|true)$/i.test(p.annotations['istio.io/dry-run'] ?? ''),
    ...(p.spec.provider?.name ? { provider: p.spec.provider.name } : {}),
    ...(p.source ? { file: p.source.file } : {}),
  }));
  const services = opts.services ?? servicesFromObjects(objects, td);
  let outbound: OutboundCompiled | null = null;
  if (services.length) {
    outbound = compileOutbound(objects, parsed.peerAuthentications, { namespace: workload.namespace, labels: workload.labels }, services, {
      istioVersion: opts.istioVersion,
      rootNamespace: root,
      trustDomain: td,
      ...(opts.enableAutoMtls !== undefined ? { enableAutoMtls: opts.enableAutoMtls } : {}),
    });
    diagnostics.push(...outbound.diagnostics);
  }
  return { workload, istioVersion: version.label, httpFilters, tcpFilters, mtls: { workload: pa.mode, ports, appliedPeerAuthentications: pa.applied }, policies, outbound, diagnostics };
}

/** The synthetic admin `/config_dump` holding `virtualInbound` as istiod would render it for this workload. */
export function compileToConfigDump(objects: K8sObject[], workload: WorkloadSpec, opts: CompileOptions = {}): { configDump: Record<string, unknown>; compiled: CompiledWorkload } {
  const compiled = compileForWorkload(objects, workload, opts);
  const f = features(parseIstioVersion(opts.istioVersion));
  const inboundPorts: InboundPort[] = compiled.mtls.ports.map((p) => ({ port: p.port, protocol: p.protocol, mode: p.mode, ...(p.passthrough ? { passthrough: true } : {}) }));
  const host = workload.name ? `${workload.name}.${workload.namespace}.svc.cluster.local` : undefined;
  const listener = buildVirtualInbound(
    { ports: inboundPorts, catchAllMode: compiled.mtls.workload, httpFilters: compiled.httpFilters, tcpFilters: compiled.tcpFilters, workloadHost: host },
    { trustDomain: opts.trustDomain ?? 'cluster.local', istioAuthnFilter: f.tcpPrincipal === 'filter_state' },
  );
  const podName = workload.name ?? 'workload';
  const out = compiled.outbound ? outboundListeners(opts.services ?? servicesFromObjects(objects, opts.trustDomain ?? 'cluster.local')) : null;
  const configDump = {
    configs: [
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
        bootstrap: {
          node: {
            // No IP unless given: readers then treat every connection with a destination as possibly inbound.
            id: `sidecar~${workload.ips?.[0] ?? ''}~${podName}.${workload.namespace}~${workload.namespace}.svc.cluster.local`,
            cluster: `${podName}.${workload.namespace}`,
            metadata: {
              NAME: podName,
              NAMESPACE: workload.namespace,
              LABELS: workload.labels,
              ...(workload.serviceAccount ? { SERVICE_ACCOUNT: workload.serviceAccount } : {}),
              ...(workload.ips?.length ? { INSTANCE_IPS: workload.ips.join(',') } : {}),
              ISTIO_VERSION: compiled.istioVersion,
              MESHSLEUTH_SYNTHETIC: 'compiled from policy manifests by meshsleuth compile',
            },
          },
        },
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
        dynamic_listeners: [
          { name: 'virtualInbound', active_state: { version_info: 'meshsleuth-compile', listener } },
          ...(out ? out.listeners.map((l) => ({ name: l.name, active_state: { version_info: 'meshsleuth-compile', listener: l } })) : []),
        ],
      },
      ...(compiled.outbound && out
        ? [
            { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', dynamic_active_clusters: [...passthroughClusters(), ...compiled.outbound.clusters].map((cluster) => ({ version_info: 'meshsleuth-compile', cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...cluster } })) },
            { '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', dynamic_route_configs: out.routes.map((route_config) => ({ version_info: 'meshsleuth-compile', route_config })) },
            { '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump', dynamic_endpoint_configs: compiled.outbound.endpoints.map((endpoint_config) => ({ endpoint_config: { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', ...endpoint_config } })) },
          ]
        : []),
    ],
  };
  return { configDump, compiled };
}
