/**
 * AuthorizationPolicy → a waypoint's RBAC, as istiod renders it (pilot/pkg/networking/core/listener_waypoint.go
 * `buildWaypointInternal`, `buildWaypointHTTPFilters`; pilot/pkg/model/policyattachment.go `ShouldAttachPolicy`;
 * pilot/pkg/security/authz/builder with `UseFilterState`):
 * - a waypoint never uses selector policies; a policy attaches through `targetRef(s)`: kind Service (core group)
 *   naming a service in the policy's namespace that uses this waypoint (RBAC on that service's chains only),
 *   kind Gateway (gateway.networking.k8s.io) naming the waypoint in its own namespace (every chain), or
 *   GatewayClass `istio-waypoint` from the root namespace (every waypoint);
 * - policies are looked up in the root namespace, the waypoint's namespace and the service's namespace;
 * - peer identities are `filter_state io.istio.peer_principal` matchers (the HBONE peer's URI SAN shared by
 *   `connect_terminate`), never `authenticated`, because the inner connection has no peer certificate;
 * - istiod's `WaypointAccepted` status per targetRef: `bound to ns/name`, `Service ns/x is not bound to a
 *   waypoint`, `Service ns/x was not found`, a GatewayClass reference outside the root namespace.
 * `waypointConfigDump` renders the listeners a waypoint dump has (`connect_terminate` on 15008,
 * `main_internal` with its filter_chain_matcher: service VIP → port → chain, `connect_originate`).
 */
import type { K8sObject } from '../../readers/k8s.js';
import type { Diagnostic } from '../../model/errors.js';
import type { AuthorizationPolicy, TargetRef } from './types.js';
import type { Json } from './matcher.js';
import { buildFilters, type EnvoyFilter, type PoliciesByAction } from './builder.js';
import type { ExtensionProvider } from './extauthz.js';
import { parsePolicies } from './policies.js';
import { features, parseIstioVersion } from './version.js';

export const WAYPOINT_CLASS = 'istio-waypoint';
const USE_WAYPOINT = 'istio.io/use-waypoint';
const USE_WAYPOINT_NS = 'istio.io/use-waypoint-namespace';

export interface WaypointRef {
  namespace: string;
  name: string;
  /** The waypoint's service account (Istio deploys it as `<name>`). */
  serviceAccount: string;
  /** Address of the waypoint's Service, when the inventory says. */
  address?: string;
}

export interface ServicePortSpec {
  port: number;
  name?: string;
  /** `http`, `tcp` or `auto` (sniffed). */
  protocol: 'http' | 'tcp' | 'auto';
}

export interface WaypointServiceSpec {
  namespace: string;
  name: string;
  hostname: string;
  vips: string[];
  ports: ServicePortSpec[];
  /** `ns/name` of the waypoint the service uses, null = none. */
  waypoint: string | null;
}

export interface WaypointStatus {
  policy: string;
  ancestor: string;
  reason: 'Accepted' | 'Invalid' | 'AncestorNotBound' | 'TargetNotFound';
  message: string;
  bound: boolean;
  file?: string;
  line?: number;
}

export interface WaypointServiceRbac {
  service: WaypointServiceSpec;
  /** `ns/name` of the AuthorizationPolicies that attach to this service's chains. */
  policies: string[];
  httpFilters: EnvoyFilter[];
  tcpFilters: EnvoyFilter[];
}

export interface CompiledWaypoint {
  waypoint: WaypointRef;
  services: WaypointServiceRbac[];
}

export interface WaypointCompileOptions {
  rootNamespace?: string;
  istioVersion?: string;
  trustDomain?: string;
  /** `ns/name`: compile only this waypoint. */
  waypoint?: string;
  /** MeshConfig extensionProviders, for CUSTOM (ext_authz) policies that target the waypoint. */
  extensionProviders?: ExtensionProvider[];
}

export interface WaypointCompileResult {
  waypoints: CompiledWaypoint[];
  status: WaypointStatus[];
  diagnostics: Diagnostic[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

const HTTP_NAMES = new Set(['http', 'http2', 'grpc', 'grpc-web', 'h2c']);
const TCP_NAMES = new Set(['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'udp']);

/** Istio's protocol from a Service port: appProtocol, else the name (`<proto>` or `<proto>-…`), else sniffed. */
function portProtocol(p: Record<string, unknown>): ServicePortSpec['protocol'] {
  if (str(p.protocol)?.toUpperCase() === 'UDP') return 'tcp';
  const of = (v: string): ServicePortSpec['protocol'] | null => (HTTP_NAMES.has(v) ? 'http' : TCP_NAMES.has(v) ? 'tcp' : null);
  const app = str(p.appProtocol)?.toLowerCase().replace(/^kubernetes\.io\//, '');
  if (app) return of(app) ?? 'auto';
  const name = (str(p.name) ?? '').toLowerCase();
  return of(name) ?? of(name.split('-')[0] ?? '') ?? 'auto';
}

function isWaypointGateway(o: K8sObject): boolean {
  return o.kind === 'Gateway' && o.apiVersion.startsWith('gateway.networking.k8s.io/') && str(rec(o.raw.spec).gatewayClassName) === WAYPOINT_CLASS;
}

/** The waypoints (Gateway objects of class istio-waypoint) and services (with the waypoint each uses). */
export function waypointInventory(objects: K8sObject[]): { waypoints: WaypointRef[]; services: WaypointServiceSpec[] } {
  const nsLabels = new Map<string, Record<string, string>>();
  for (const o of objects) if (o.kind === 'Namespace' && o.metadata.name) nsLabels.set(o.metadata.name, o.metadata.labels ?? {});
  const waypoints: WaypointRef[] = [];
  for (const o of objects.filter(isWaypointGateway)) {
    const ns = o.metadata.namespace ?? 'default';
    const addr = (Array.isArray(rec(o.raw.status).addresses) ? (rec(o.raw.status).addresses as unknown[]) : []).map((a) => str(rec(a).value)).find((v) => v !== undefined);
    waypoints.push({ namespace: ns, name: o.metadata.name ?? '', serviceAccount: o.metadata.name ?? '', ...(addr ? { address: addr } : {}) });
  }
  const services: WaypointServiceSpec[] = [];
  for (const o of objects) {
    if (o.kind !== 'Service' || o.apiVersion !== 'v1') continue;
    const ns = o.metadata.namespace ?? 'default';
    const name = o.metadata.name ?? '';
    const spec = rec(o.raw.spec);
    const ips = [...(Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as unknown[]).map(str) : [str(spec.clusterIP)])].filter((v): v is string => v !== undefined && v !== 'None' && v !== '');
    const ports = (Array.isArray(spec.ports) ? (spec.ports as unknown[]) : []).map((p) => ({ port: Number(rec(p).port), ...(str(rec(p).name) ? { name: str(rec(p).name)! } : {}), protocol: portProtocol(rec(p)) }));
    const labels = o.metadata.labels ?? {};
    const nsl = nsLabels.get(ns) ?? {};
    let wp: string | null = null;
    // A waypoint's own Service (labelled with its gateway name) is not served by a waypoint.
    const use = labels['gateway.networking.k8s.io/gateway-name'] !== undefined ? undefined : (labels[USE_WAYPOINT] ?? nsl[USE_WAYPOINT]);
    if (use && use !== 'none') wp = `${(labels[USE_WAYPOINT] !== undefined ? labels[USE_WAYPOINT_NS] : nsl[USE_WAYPOINT_NS]) ?? ns}/${use}`;
    services.push({ namespace: ns, name, hostname: `${name}.${ns}.svc.cluster.local`, vips: ips, ports, waypoint: wp });
  }
  return { waypoints, services };
}

const canonicalGroup = (g: string | undefined): string => (g === undefined || g === '' ? 'core' : g);
const isKind = (r: TargetRef, group: string, kind: string) => canonicalGroup(r.group) === group && r.kind === kind;
const refsOf = (p: AuthorizationPolicy): TargetRef[] => (p.spec.targetRefs?.length ? p.spec.targetRefs : p.spec.targetRef ? [p.spec.targetRef] : []);

/** `ShouldAttachPolicy` for a waypoint (IsWaypoint) serving `svc` (null: the waypoint-wide chains). */
function attaches(p: AuthorizationPolicy, wp: WaypointRef, svc: WaypointServiceSpec | null, root: string): boolean {
  const refs = refsOf(p);
  if (refs.length === 0) return false; // waypoints never use selector policies
  for (const r of refs) {
    if (svc && isKind(r, 'core', 'Service') && r.name === svc.name && p.namespace === svc.namespace) return true;
    if (p.namespace === root && isKind(r, 'gateway.networking.k8s.io', 'GatewayClass') && r.name === WAYPOINT_CLASS) return true;
    if (wp.namespace !== p.namespace) continue;
    if (r.namespace && r.namespace !== wp.namespace) continue;
    if (isKind(r, 'gateway.networking.k8s.io', 'Gateway') && r.name === wp.name) return true;
  }
  return false;
}

/** istiod's WaypointAccepted conditions (one per targetRef) for policies with targetRefs. */
function waypointStatus(p: AuthorizationPolicy, waypoints: WaypointRef[], services: WaypointServiceSpec[], root: string): WaypointStatus[] {
  const out: WaypointStatus[] = [];
  const loc = { ...(p.source?.file ? { file: p.source.file } : {}), ...(p.source?.line ? { line: p.source.line } : {}) };
  for (const r of refsOf(p)) {
    const ns = r.namespace || p.namespace;
    const key = `${ns}/${r.name ?? ''}`;
    let reason: WaypointStatus['reason'] = 'TargetNotFound';
    let message = 'not bound';
    let bound = false;
    if (r.kind === 'GatewayClass') {
      if (ns !== root) {
        reason = 'Invalid';
        message = `AuthorizationPolicy must be in the root namespace \`${root}\` when referencing a GatewayClass`;
      } else if (r.name === WAYPOINT_CLASS) {
        bound = true;
        reason = 'Accepted';
        message = `bound to ${r.name}`;
      }
    } else if (r.kind === 'Gateway') {
      if (waypoints.some((w) => `${w.namespace}/${w.name}` === key)) {
        bound = true;
        reason = 'Accepted';
        message = `bound to ${key}`;
      }
    } else if (r.kind === 'Service') {
      const svc = services.find((s) => `${s.namespace}/${s.name}` === key);
      if (!svc) message = `Service ${key} was not found`;
      else if (svc.waypoint && waypoints.some((w) => `${w.namespace}/${w.name}` === svc.waypoint)) {
        bound = true;
        reason = 'Accepted';
        message = `bound to ${svc.waypoint}`;
      } else {
        reason = 'AncestorNotBound';
        message = `Service ${key} is not bound to a waypoint`;
      }
    }
    out.push({ policy: `${p.namespace}/${p.name}`, ancestor: `${r.kind ?? ''}.${canonicalGroup(r.group)}:${key}`, reason, message, bound, ...loc });
  }
  return out;
}

/** The waypoint RBAC for every waypoint in the objects (or `opts.waypoint`), per service it serves. */
export function compileWaypoints(objects: K8sObject[], opts: WaypointCompileOptions = {}): WaypointCompileResult {
  const version = parseIstioVersion(opts.istioVersion);
  const f = { ...features(version), httpPrincipal: 'filter_state' as const, tcpPrincipal: 'filter_state' as const };
  const root = opts.rootNamespace ?? 'istio-system';
  const td = opts.trustDomain ?? 'cluster.local';
  const parsed = parsePolicies(objects, features(version), 'default');
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const inv = waypointInventory(objects);
  const status: WaypointStatus[] = [];
  for (const p of parsed.authorizationPolicies) status.push(...waypointStatus(p, inv.waypoints, inv.services, root));
  let wps = inv.waypoints;
  if (opts.waypoint) {
    wps = wps.filter((w) => `${w.namespace}/${w.name}` === opts.waypoint);
    if (wps.length === 0) {
      const [ns, name] = opts.waypoint.split('/');
      wps = [{ namespace: ns ?? 'default', name: name ?? opts.waypoint, serviceAccount: name ?? opts.waypoint }];
      diagnostics.push({ severity: 'warning', location: { path: opts.waypoint }, message: `no Gateway of class ${WAYPOINT_CLASS} named ${opts.waypoint} in the inputs: compiled with the services that name it in ${USE_WAYPOINT}` });
    }
  }
  const buildOpts = { f, trustDomains: [td], ...(opts.extensionProviders ? { extensionProviders: opts.extensionProviders } : {}) };
  const waypoints: CompiledWaypoint[] = wps.map((wp) => {
    const key = `${wp.namespace}/${wp.name}`;
    const services = inv.services
      .filter((s) => s.waypoint === key)
      .map((svc) => {
        const lookup = new Set([root, wp.namespace, svc.namespace]);
        const selected = parsed.authorizationPolicies.filter((p) => lookup.has(p.namespace) && attaches(p, wp, svc, root));
        const byAction: PoliciesByAction = { custom: [], audit: [], deny: [], allow: [] };
        for (const p of selected) {
          const a = p.spec.action ?? 'ALLOW';
          (a === 'CUSTOM' ? byAction.custom : a === 'AUDIT' ? byAction.audit : a === 'DENY' ? byAction.deny : byAction.allow).push(p);
        }
        const diags: Diagnostic[] = [];
        const httpFilters = buildFilters(byAction, false, buildOpts, diags);
        // TCP chains (and their rules dropped for HTTP fields) exist only for TCP and sniffed ports.
        const tcpFilters = svc.ports.some((p) => p.protocol !== 'http') ? buildFilters(byAction, true, buildOpts, diags) : [];
        const seen = new Set(diagnostics.map((d) => d.message));
        for (const d of diags) if (!seen.has(d.message)) diagnostics.push(d);
        return { service: svc, policies: selected.map((p) => `${p.namespace}/${p.name}`), httpFilters, tcpFilters };
      });
    return { waypoint: wp, services };
  });
  diagnostics.push(...unrenderedRouting(objects, waypoints));
  return { waypoints, status, diagnostics };
}

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute']);

/**
 * Routing a waypoint would apply and this compiler does not render: Gateway API routes whose parentRefs name a
 * service the waypoint serves (or the waypoint Gateway), and VirtualServices whose hosts name such a service. Each is
 * a warning naming the object, so a dump compiled from these inputs is never taken as complete in silence.
 */
function unrenderedRouting(objects: K8sObject[], waypoints: CompiledWaypoint[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const served = waypoints.flatMap((w) => w.services.map((s) => ({ wp: `${w.waypoint.namespace}/${w.waypoint.name}`, svc: s.service })));
  if (served.length === 0) return out;
  const wpNames = new Set(waypoints.map((w) => `${w.waypoint.namespace}/${w.waypoint.name}`));
  const loc = (o: K8sObject) => ({ ...(o.source.file ? { file: o.source.file } : {}), ...(o.source.line ? { line: o.source.line } : {}) });
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    const spec = rec(o.raw.spec);
    const hits: string[] = [];
    if (ROUTE_KINDS.has(o.kind) && o.apiVersion.startsWith('gateway.networking.k8s.io/')) {
      for (const p of Array.isArray(spec.parentRefs) ? (spec.parentRefs as unknown[]) : []) {
        const r = rec(p);
        const pns = str(r.namespace) ?? ns;
        const kind = str(r.kind) ?? 'Gateway';
        const group = str(r.group) ?? (kind === 'Gateway' ? 'gateway.networking.k8s.io' : '');
        if (kind === 'Service' && (group === '' || group === 'core')) {
          for (const s of served) if (s.svc.namespace === pns && s.svc.name === str(r.name)) hits.push(`${s.svc.hostname} (waypoint ${s.wp})`);
        } else if (kind === 'Gateway' && group === 'gateway.networking.k8s.io' && wpNames.has(`${pns}/${str(r.name) ?? ''}`)) hits.push(`every service of waypoint ${pns}/${str(r.name)}`);
      }
    } else if (o.kind === 'VirtualService' && o.apiVersion.startsWith('networking.istio.io/')) {
      const hosts = (Array.isArray(spec.hosts) ? (spec.hosts as unknown[]) : []).map(str).filter((h): h is string => h !== undefined);
      for (const s of served) {
        const n = s.svc;
        const names = new Set([n.hostname, `${n.name}.${n.namespace}.svc`, `${n.name}.${n.namespace}`, ...(n.namespace === ns ? [n.name] : [])]);
        if (hosts.some((h) => names.has(h) || h === '*' || (h.startsWith('*.') && n.hostname.endsWith(h.slice(1))))) hits.push(`${n.hostname} (waypoint ${s.wp})`);
      }
    }
    if (hits.length === 0) continue;
    out.push({
      severity: 'warning',
      location: { ...loc(o), path: `${o.kind}/${ns}/${o.metadata.name ?? ''}` },
      message: `${o.kind} ${ns}/${o.metadata.name ?? ''} routes ${[...new Set(hits)].join(', ')}: routing at a waypoint is not compiled (each service chain routes to the service itself), so what depends on it (another backend, rewrites, timeouts, retries, faults) is not in the compiled waypoint`,
    });
  }
  return out;
}

// ---- the waypoint's listeners (dump shape) ----

const t = (type: string, rest: Record<string, unknown> = {}): Json => ({ '@type': `type.googleapis.com/${type}`, ...rest });
const chainAction = (name: string): Json => ({ action: { name, typed_config: t('google.protobuf.StringValue', { value: name }) } });
const SDS = (name: string): Json => ({ name, sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }], set_node_on_first_message_only: true, transport_api_version: 'V3' }, initial_fetch_timeout: '0s', resource_api_version: 'V3' } });
const fsValue = (key: string, fmt: string, factory?: string): Json => ({ object_key: key, format_string: { text_format_source: { inline_string: fmt } }, shared_with_upstream: 'ONCE', ...(factory ? { factory_key: factory } : {}) });
const ROUTER: Json = { name: 'envoy.filters.http.router', typed_config: t('envoy.extensions.filters.http.router.v3.Router') };

function connectTerminate(trustDomain: string): Json {
  return {
    name: 'connect_terminate',
    address: { socket_address: { address: '0.0.0.0', port_value: 15008 } },
    filter_chains: [
      {
        name: 'default',
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: t('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
              stat_prefix: 'connect_terminate',
              route_config: { name: 'default', virtual_hosts: [{ name: 'default', domains: ['*'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'main_internal', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }] }] },
              http_filters: [
                { name: 'waypoint_downstream_peer_metadata', typed_config: t('udpa.type.v1.TypedStruct', { type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { downstream_discovery: [{ workload_discovery: {} }], shared_with_upstream: true } }) },
                {
                  name: 'connect_authority',
                  typed_config: t('envoy.extensions.filters.http.set_filter_state.v3.Config', {
                    on_request_headers: [
                      fsValue('envoy.filters.listener.original_dst.local_ip', '%REQ(:AUTHORITY)%'),
                      fsValue('envoy.filters.listener.original_dst.remote_ip', '%DOWNSTREAM_REMOTE_ADDRESS%'),
                      fsValue('io.istio.peer_principal', '%DOWNSTREAM_PEER_URI_SAN%', 'envoy.string'),
                      fsValue('io.istio.local_principal', '%DOWNSTREAM_LOCAL_URI_SAN%', 'envoy.string'),
                    ],
                  }),
                },
                ROUTER,
              ],
              http2_protocol_options: { max_concurrent_streams: 100, allow_connect: true },
              use_remote_address: false,
              upgrade_configs: [{ upgrade_type: 'CONNECT' }],
              stream_idle_timeout: '0s',
            }),
          },
        ],
        transport_socket: {
          name: 'tls',
          typed_config: t('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
            common_tls_context: {
              tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3' },
              alpn_protocols: ['h2'],
              tls_certificate_sds_secret_configs: [SDS('default')],
              combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: `spiffe://${trustDomain}/` } }] }, validation_context_sds_secret_config: SDS('ROOTCA') },
            },
            require_client_certificate: true,
          }),
        },
      },
    ],
  };
}

function httpChain(name: string, filters: EnvoyFilter[]): Json {
  return {
    name,
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: t('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
          stat_prefix: name,
          route_config: { name, virtual_hosts: [{ name: `inbound|http|${name.split('|')[1] ?? '0'}`, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: name, timeout: '0s' } }] }], validate_clusters: false },
          http_filters: [...(filters as unknown as Json[]), { name: 'waypoint_upstream_peer_metadata', typed_config: t('udpa.type.v1.TypedStruct', { type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { upstream_discovery: [{ workload_discovery: {} }] } }) }, ROUTER],
          use_remote_address: false,
        }),
      },
    ],
  };
}

function tcpChain(name: string, filters: EnvoyFilter[]): Json {
  return { name, filters: [...(filters as unknown as Json[]), { name: 'envoy.filters.network.tcp_proxy', typed_config: t('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', { stat_prefix: name, cluster: name }) }] };
}

/** A waypoint `/config_dump` (bootstrap node + listeners) for one compiled waypoint. */
export function waypointConfigDump(c: CompiledWaypoint, opts: { trustDomain?: string; istioVersion?: string; podName?: string; ip?: string } = {}): Record<string, unknown> {
  const wp = c.waypoint;
  const chains: Json[] = [];
  const ranges: Json[] = [];
  const byAuthority: Record<string, Json> = {};
  for (const s of c.services) {
    if (s.service.vips.length === 0) continue;
    const map: Record<string, Json> = {};
    for (const p of s.service.ports) {
      const http = `inbound-vip|${p.port}|http|${s.service.hostname}`;
      const tcp = `inbound-vip|${p.port}|tcp|${s.service.hostname}`;
      if (p.protocol === 'http') {
        chains.push(httpChain(http, s.httpFilters));
        map[String(p.port)] = chainAction(http);
      } else if (p.protocol === 'tcp') {
        chains.push(tcpChain(tcp, s.tcpFilters));
        map[String(p.port)] = chainAction(tcp);
      } else {
        chains.push(tcpChain(tcp, s.tcpFilters), httpChain(http, s.httpFilters));
        map[String(p.port)] = { matcher: { matcher_tree: { input: { name: 'application-protocol', typed_config: t('envoy.extensions.matching.common_inputs.network.v3.ApplicationProtocolInput') }, exact_match_map: { map: { "'h2c'": chainAction(http), "'http/1.1'": chainAction(http) } } }, on_no_match: chainAction(tcp) } };
      }
      byAuthority[`${s.service.hostname}:${p.port}`] = map[String(p.port)]!;
    }
    ranges.push({ ranges: s.service.vips.map((v) => ({ address_prefix: v, prefix_len: v.includes(':') ? 128 : 32 })), on_match: { matcher: { matcher_tree: { input: { name: 'port', typed_config: t('envoy.extensions.matching.common_inputs.network.v3.DestinationPortInput') }, exact_match_map: { map } } } } });
  }
  const mainInternal: Json = {
    name: 'main_internal',
    filter_chains: chains,
    listener_filters: [
      { name: 'envoy.filters.listener.original_dst', typed_config: t('envoy.extensions.filters.listener.original_dst.v3.OriginalDst') },
      { name: 'envoy.filters.listener.http_inspector', typed_config: t('envoy.extensions.filters.listener.http_inspector.v3.HttpInspector') },
    ],
    traffic_direction: 'INBOUND',
    internal_listener: {},
    filter_chain_matcher: {
      matcher_tree: { input: { name: 'ip', typed_config: t('envoy.extensions.matching.common_inputs.network.v3.DestinationIPInput') }, custom_match: { name: 'ip', typed_config: t('xds.type.matcher.v3.IPMatcher', { range_matchers: ranges }) } },
      on_no_match: { matcher: { matcher_tree: { input: { name: 'original-dst-filter-state', typed_config: t('envoy.extensions.matching.common_inputs.network.v3.FilterStateInput', { key: 'envoy.filters.listener.original_dst.local_ip' }) }, exact_match_map: { map: byAuthority } } } },
    },
  };
  const connectOriginate: Json = {
    name: 'connect_originate',
    use_original_dst: false,
    internal_listener: {},
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: t('envoy.extensions.filters.listener.original_dst.v3.OriginalDst') }],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: t('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', { stat_prefix: 'connect_originate', cluster: 'connect_originate', tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' } }) }] }],
  };
  const pod = opts.podName ?? `${wp.name}-0`;
  const listener = (l: Json, name: string) => ({ name, active_state: { version_info: 'meshsleuth-compile', listener: t('envoy.config.listener.v3.Listener', l) } });
  return {
    configs: [
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
        bootstrap: {
          node: {
            id: `waypoint~${opts.ip ?? ''}~${pod}.${wp.namespace}~${wp.namespace}.svc.cluster.local`,
            cluster: `${wp.name}.${wp.namespace}`,
            metadata: { NAME: pod, NAMESPACE: wp.namespace, SERVICE_ACCOUNT: wp.serviceAccount, ...(opts.ip ? { INSTANCE_IPS: opts.ip } : {}), ISTIO_VERSION: opts.istioVersion ?? '1.30.0', LABELS: { 'gateway.networking.k8s.io/gateway-name': wp.name } },
          },
        },
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
        dynamic_listeners: [listener(connectTerminate(opts.trustDomain ?? 'cluster.local'), 'connect_terminate'), listener(mainInternal, 'main_internal'), listener(connectOriginate, 'connect_originate')],
      },
    ],
  };
}
