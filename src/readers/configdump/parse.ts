/**
 * Envoy `/config_dump` (snake_case) and istioctl `proxy-config … -o json|yaml` (camelCase) → ConfigDump.
 *
 * Accepted shapes (content decides, never the file name):
 *  - a whole dump `{"configs": [ {"@type": "…admin.v3.ListenersConfigDump", …}, … ]}` (also the pre-1.9
 *    map form `{"configs": {"listeners": {…}}}` and v2alpha sections);
 *  - one section on its own (`{"@type": "…ListenersConfigDump", …}`), a `{"bootstrap": …}` dump;
 *  - istioctl's arrays: listeners (`pc listener -o json`), clusters, route configurations.
 * Spelling is detected per resource: camelCase resources are passed through toSnakeCase.
 */
import { InputError, type Diagnostic } from '../../model/errors.js';
import type { JsonValue } from '../../model/attrs.js';
import { toSnakeCase } from '../../envoy/normalize.js';
import type {
  CidrRange,
  Cluster,
  ClusterTransportSocket,
  ConfigDump,
  EndpointInfo,
  FilterChain,
  FilterChainMatch,
  HttpConnectionManager,
  HttpFilter,
  Listener,
  ListenerFilter,
  ListenerState,
  NetworkFilter,
  NodeInfo,
  NotUnderstood,
  ProtoObject,
  Route,
  RouteConfiguration,
  Secret,
  SocketAddress,
  TrafficDirection,
  TransportSocket,
  VirtualHost,
} from '../../envoy/model.js';
import {
  boolValue,
  dataSourceText,
  downstreamTls,
  isDownstreamTlsType,
  isObj,
  isUpstreamTlsType,
  parseCertificates,
  scrubPrivateKeys,
  upstreamTls,
} from '../../envoy/tls.js';
import { describeValue, jsonPathJoin } from '../structured.js';
import { classifyHttpFilter, classifyNetworkFilter, classifyListenerFilter } from '../../envoy/filters.js';
import { appendAll } from '../../model/arrays.js';

/** ConfigDump as returned by the parser: adds the per-resource problems that were skipped. */
export interface ParsedConfigDump extends ConfigDump {
  diagnostics: Diagnostic[];
}

const SECTION_SUFFIXES: Record<string, string> = {
  BootstrapConfigDump: 'bootstrap',
  ListenersConfigDump: 'listeners',
  ClustersConfigDump: 'clusters',
  RoutesConfigDump: 'routes',
  ScopedRoutesConfigDump: 'scoped_routes',
  SecretsConfigDump: 'secrets',
  EndpointsConfigDump: 'endpoints',
  EcdsConfigDump: 'ecds',
};

/** Short section name of an admin `@type`, or null. */
export function sectionOf(typeUrl: unknown): string | null {
  if (typeof typeUrl !== 'string') return null;
  const m = /envoy\.admin\.(?:v2alpha|v3|v4alpha)\.(\w+)$/.exec(typeUrl);
  return m ? (SECTION_SUFFIXES[m[1]!] ?? null) : null;
}

// --- spelling helpers ---------------------------------------------------------------------------

/** Reads field `snake` from an object that may be spelled in camelCase; returns the value and the key used. */
const camelNames = new Map<string, string>();
function field(o: ProtoObject, snake: string): { v: unknown; key: string } {
  if (snake in o) return { v: o[snake], key: snake };
  let camel = camelNames.get(snake);
  if (camel === undefined) {
    camel = snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    camelNames.set(snake, camel);
  }
  if (camel in o) return { v: o[camel], key: camel };
  return { v: undefined, key: snake };
}

// Struct / map-valued fields whose keys are data, not field names (`match` = transport_socket_matches[].match Struct).
const OPAQUE = new Set(['metadata', 'filter_metadata', 'typed_filter_metadata', 'policies', 'typed_per_filter_config', 'config', 'value', 'struct_value', 'node', 'match', 'labels']);

const CAMEL_KEY = /^[a-z]+[A-Z]/;

/** True when the resource uses camelCase field names (looks up to `depth` levels, skipping opaque maps). */
function looksCamel(v: unknown, depth = 4): boolean {
  if (depth < 0) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < Math.min(v.length, 3); i++) if (looksCamel(v[i], depth - 1)) return true;
    return false;
  }
  if (!isObj(v)) return false;
  for (const k in v) {
    const c0 = k.charCodeAt(0);
    if (c0 < 97 || c0 > 122) continue; // '@type', upper-case Struct keys
    if (CAMEL_KEY.test(k)) return true;
    const val = v[k];
    if (typeof val === 'object' && val !== null && !OPAQUE.has(k) && looksCamel(val, depth - 1)) return true;
  }
  return false;
}

// --- context --------------------------------------------------------------------------------------

class Ctx {
  readonly notUnderstood: NotUnderstood[] = [];
  readonly diagnostics: Diagnostic[] = [];
  camel = 0;
  snake = 0;
  constructor(readonly file: string) {}

  norm(v: unknown): unknown {
    if (looksCamel(v)) {
      this.camel++;
      return toSnakeCase(v);
    }
    this.snake++;
    return v;
  }

  nu(path: string, kind: string, name: string, note: string): void {
    this.notUnderstood.push({ path, kind, name, note });
  }

  /** A resource that had the wrong shape: skipped, with a diagnostic (processing continues). */
  skip(path: string, expected: string, found: unknown, what: string): void {
    const err = new InputError({ file: this.file, path }, expected, describeValue(found));
    this.diagnostics.push({ severity: 'warning', location: { file: this.file, path }, message: `${err.message} (${what} skipped)` });
    this.nu(path, 'invalid', what, `skipped: expected ${expected}, found ${describeValue(found)}`);
  }

  fail(path: string, expected: string, found: unknown): never {
    throw new InputError({ file: this.file, path }, expected, describeValue(found));
  }
}

function arrOrFail(ctx: Ctx, v: unknown, path: string, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) ctx.fail(path, `an array of ${what}`, v);
  return v;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/**
 * An unsigned integer field (ports, prefix lengths): a number, its protobuf-JSON string form, or a wrapped
 * UInt32Value; null when absent. A fractional, negative or non-finite number is not a value protobuf would have
 * parsed (Envoy rejects the config), so it is an input error naming the JSON path, never a guess.
 */
function uint(ctx: Ctx, v: unknown, path: string): number | null {
  if (isObj(v) && 'value' in v) return uint(ctx, v.value, jsonPathJoin(path, 'value')); // wrapped UInt32Value
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  if (typeof v !== 'number') return null;
  if (!Number.isSafeInteger(v) || v < 0) ctx.fail(path, 'an unsigned integer', v);
  return v;
}

// --- node -----------------------------------------------------------------------------------------

export function parseNode(raw: unknown, jsonPath: string): NodeInfo | null {
  if (!isObj(raw)) return null;
  const id = str(field(raw, 'id').v) ?? '';
  const mdRaw = field(raw, 'metadata').v;
  const metadata = (isObj(mdRaw) ? mdRaw : {}) as Record<string, JsonValue>;
  const parts = id.split('~');
  const istioId = parts.length === 4;
  let pod: string | null = null;
  let namespace: string | null = null;
  if (istioId && parts[2]) {
    const dot = parts[2].lastIndexOf('.');
    if (dot > 0) {
      pod = parts[2].slice(0, dot);
      namespace = parts[2].slice(dot + 1);
    } else pod = parts[2];
  }
  const mdStr = (k: string) => (typeof metadata[k] === 'string' ? (metadata[k] as string) : null);
  pod = mdStr('NAME') ?? mdStr('POD_NAME') ?? pod;
  namespace = mdStr('NAMESPACE') ?? mdStr('CONFIG_NAMESPACE') ?? namespace;
  const ips: string[] = [];
  const idIp = istioId && parts[1] ? parts[1] : null;
  if (idIp) ips.push(idIp);
  const inst = metadata['INSTANCE_IPS'];
  if (typeof inst === 'string') for (const ip of inst.split(',').map((s) => s.trim()).filter(Boolean)) if (!ips.includes(ip)) ips.push(ip);
  else if (Array.isArray(inst)) for (const ip of inst) if (typeof ip === 'string' && !ips.includes(ip)) ips.push(ip);
  let envoyVersion: string | null = null;
  const ua = field(raw, 'user_agent_build_version').v;
  if (isObj(ua)) {
    const ver = isObj(ua.version) ? ua.version : {};
    const g = (k: string) => Number(field(ver, k).v ?? 0);
    const md = isObj(ua.metadata) ? ua.metadata : {};
    envoyVersion = [`${g('major_number')}.${g('minor_number')}.${g('patch')}`, md['revision.status'], md['build.type'], md['ssl.version']]
      .filter((x) => typeof x === 'string' && x !== '')
      .join('/');
  } else {
    const bv = str(field(raw, 'build_version').v);
    if (bv) envoyVersion = bv.split('/').slice(1).join('/') || bv;
  }
  return {
    id,
    proxyType: istioId ? (parts[0] ?? null) : null,
    pod,
    namespace,
    ip: ips[0] ?? null,
    ips,
    cluster: str(field(raw, 'cluster').v),
    istioVersion: mdStr('ISTIO_VERSION'),
    istioProxySha: mdStr('ISTIO_PROXY_SHA')?.replace(/^istio-proxy:/, '') ?? null,
    envoyVersion,
    metadata,
    jsonPath,
  };
}

// --- listeners ------------------------------------------------------------------------------------

const LISTENER_FIELDS = new Set([
  '@type', 'name', 'address', 'additional_addresses', 'stat_prefix', 'filter_chains', 'filter_chain_matcher', 'use_original_dst',
  'default_filter_chain', 'per_connection_buffer_limit_bytes', 'metadata', 'deprecated_v1', 'drain_type', 'listener_filters',
  'listener_filters_timeout', 'continue_on_listener_filters_timeout', 'transparent', 'freebind', 'socket_options',
  'tcp_fast_open_queue_length', 'traffic_direction', 'udp_listener_config', 'api_listener', 'connection_balance_config',
  'reuse_port', 'enable_reuse_port', 'access_log', 'tcp_backlog_size', 'max_connections_to_accept_per_socket_event',
  'bind_to_port', 'internal_listener', 'enable_mptcp', 'ignore_global_conn_limit', 'bypass_overload_manager', 'fcds_config',
  'udp_writer_config', 'listener_specifier',
]);
const CHAIN_FIELDS = new Set([
  'filter_chain_match', 'filters', 'use_proxy_proto', 'metadata', 'transport_socket', 'transport_socket_connect_timeout', 'name',
  'on_demand_configuration', 'tls_context',
]);
const MATCH_FIELDS = new Set([
  'destination_port', 'prefix_ranges', 'address_suffix', 'suffix_len', 'direct_source_prefix_ranges', 'source_type',
  'source_prefix_ranges', 'source_ports', 'server_names', 'transport_protocol', 'application_protocols',
]);

function checkFields(ctx: Ctx, o: ProtoObject, known: Set<string>, path: string, what: string): string[] {
  const unknown: string[] = [];
  for (const k of Object.keys(o)) {
    if (!known.has(k)) {
      unknown.push(k);
      ctx.nu(jsonPathJoin(path, k), 'field', `${what}.${k}`, 'unknown field: kept raw, not interpreted');
    }
  }
  return unknown;
}

function parseAddress(ctx: Ctx, v: unknown, path: string): SocketAddress | null {
  if (!isObj(v)) return null;
  const sa = v.socket_address;
  if (isObj(sa)) {
    const port = uint(ctx, sa.port_value, `${path}.socket_address.port_value`) ?? 0;
    return { address: str(sa.address) ?? '', port, ...(typeof sa.protocol === 'string' ? { protocol: sa.protocol } : {}) };
  }
  return null;
}

function parseCidrs(ctx: Ctx, v: unknown, path: string): CidrRange[] {
  if (!Array.isArray(v)) return [];
  const out: CidrRange[] = [];
  v.forEach((c, i) => {
    if (isObj(c)) out.push({ addressPrefix: str(c.address_prefix) ?? '', prefixLen: uint(ctx, c.prefix_len, `${path}[${i}].prefix_len`) ?? 0 });
  });
  return out;
}

function parseMatch(ctx: Ctx, raw: unknown, path: string): { match: FilterChainMatch; unknown: string[] } {
  const m = isObj(raw) ? raw : {};
  const unknown = isObj(raw) ? checkFields(ctx, m, MATCH_FIELDS, path, 'filter_chain_match') : [];
  const st = str(m.source_type);
  return {
    match: {
      destinationPort: uint(ctx, m.destination_port, jsonPathJoin(path, 'destination_port')),
      prefixRanges: parseCidrs(ctx, m.prefix_ranges, jsonPathJoin(path, 'prefix_ranges')),
      addressSuffix: str(m.address_suffix),
      suffixLen: uint(ctx, m.suffix_len, jsonPathJoin(path, 'suffix_len')),
      directSourcePrefixRanges: parseCidrs(ctx, m.direct_source_prefix_ranges, jsonPathJoin(path, 'direct_source_prefix_ranges')),
      sourceType: st === 'SAME_IP_OR_LOOPBACK' || st === 'EXTERNAL' ? st : st === 'LOCAL' ? 'SAME_IP_OR_LOOPBACK' : 'ANY',
      sourcePrefixRanges: parseCidrs(ctx, m.source_prefix_ranges, jsonPathJoin(path, 'source_prefix_ranges')),
      sourcePorts: Array.isArray(m.source_ports) ? m.source_ports.map((x, i) => uint(ctx, x, `${path}.source_ports[${i}]`)).filter((x): x is number => x !== null) : [],
      serverNames: Array.isArray(m.server_names) ? m.server_names.filter((s): s is string => typeof s === 'string').map((s) => s.toLowerCase()) : [],
      transportProtocol: str(m.transport_protocol) ?? '',
      applicationProtocols: Array.isArray(m.application_protocols) ? m.application_protocols.filter((s): s is string => typeof s === 'string') : [],
    },
    unknown,
  };
}

const TYPED_STRUCT = /\/(?:udpa\.type\.v1|xds\.type\.v3)\.TypedStruct$/;

/** Extracts a filter's config: typed_config (TypedStruct unwrapped), legacy `config`, or ECDS. */
function filterConfig(
  ctx: Ctx,
  dumpEcds: Map<string, ProtoObject>,
  f: ProtoObject,
  path: string,
): { typeUrl: string; config: ProtoObject; configSource: NetworkFilter['configSource'] } {
  const tc = f.typed_config;
  if (isObj(tc)) {
    const t = str(tc['@type']) ?? '';
    if (TYPED_STRUCT.test(t)) {
      const inner = str(tc.type_url) ?? '';
      const value = isObj(tc.value) ? tc.value : {};
      return { typeUrl: inner, config: { '@type': inner, ...value }, configSource: 'typed_struct' };
    }
    return { typeUrl: t, config: tc, configSource: 'typed_config' };
  }
  if (isObj(f.config)) return { typeUrl: str(f.config['@type']) ?? '', config: f.config, configSource: 'config' };
  if (isObj(f.config_discovery)) {
    const name = str(f.name) ?? '';
    const found = dumpEcds.get(name);
    if (found) return { typeUrl: str(found['@type']) ?? '', config: found, configSource: 'config_discovery' };
    const dflt = f.config_discovery.default_config;
    ctx.nu(jsonPathJoin(path, 'config_discovery'), 'ecds', name, isObj(dflt) ? 'ECDS config not in the dump; using default_config' : 'ECDS config not in the dump; filter config unknown');
    if (isObj(dflt)) return { typeUrl: str(dflt['@type']) ?? '', config: dflt, configSource: 'config_discovery' };
    return { typeUrl: '', config: {}, configSource: 'config_discovery' };
  }
  return { typeUrl: '', config: {}, configSource: 'none' };
}

function parseTransportSocket(ctx: Ctx, chain: ProtoObject, path: string): TransportSocket | null {
  const ts = chain.transport_socket;
  if (isObj(ts)) {
    const p = jsonPathJoin(path, 'transport_socket');
    const name = str(ts.name) ?? '';
    const cfg = isObj(ts.typed_config) ? ts.typed_config : isObj(ts.config) ? ts.config : {};
    const typeUrl = str(cfg['@type']) ?? '';
    const isTls = isDownstreamTlsType(typeUrl) || (typeUrl === '' && /(^|\.)tls$/.test(name));
    const isKnown = isTls || /RawBuffer$/.test(typeUrl) || /raw_buffer$/.test(name);
    if (!isKnown) ctx.nu(p, 'transport_socket', typeUrl || name, 'transport socket type not understood: TLS facts unknown for this chain');
    return { name, typeUrl, tls: isTls ? downstreamTls(cfg, typeUrl === '' || typeUrl.includes('.v2.')) : null, config: scrubPrivateKeys(cfg) };
  }
  const legacy = chain.tls_context;
  if (isObj(legacy)) return { name: 'tls_context', typeUrl: '', tls: downstreamTls(legacy, true), config: scrubPrivateKeys(legacy) };
  return null;
}

function parseRouteConfig(ctx: Ctx, raw: ProtoObject, path: string, origin: RouteConfiguration['origin'], versionInfo: string | null): RouteConfiguration {
  const vhosts: VirtualHost[] = [];
  const vhList = Array.isArray(raw.virtual_hosts) ? raw.virtual_hosts : [];
  vhList.forEach((vh, i) => {
    const vp = jsonPathJoin(jsonPathJoin(path, 'virtual_hosts'), i);
    if (!isObj(vh)) return ctx.skip(vp, 'a VirtualHost object', vh, 'virtual host');
    const routes: Route[] = [];
    (Array.isArray(vh.routes) ? vh.routes : []).forEach((r, j) => {
      const rp = jsonPathJoin(jsonPathJoin(vp, 'routes'), j);
      if (!isObj(r)) return ctx.skip(rp, 'a Route object', r, 'route');
      let action: Route['action'] = 'none';
      let cluster: string | null = null;
      if (isObj(r.route)) {
        action = 'route';
        cluster = str(r.route.cluster) ?? (str(r.route.cluster_header) ? `header:${String(r.route.cluster_header)}` : null);
        const wc = r.route.weighted_clusters;
        if (!cluster && isObj(wc) && Array.isArray(wc.clusters) && isObj(wc.clusters[0])) cluster = str(wc.clusters[0].name);
      } else if (isObj(r.redirect)) action = 'redirect';
      else if (isObj(r.direct_response)) action = 'direct_response';
      else if (isObj(r.filter_action)) action = 'filter_action';
      else if (isObj(r.non_forwarding_action)) action = 'non_forwarding';
      routes.push({
        name: str(r.name) ?? '',
        match: isObj(r.match) ? r.match : {},
        action,
        cluster,
        typedPerFilterConfig: isObj(r.typed_per_filter_config) ? (r.typed_per_filter_config as Record<string, ProtoObject>) : {},
        metadata: isObj(r.metadata) ? r.metadata : null,
        jsonPath: rp,
      });
    });
    vhosts.push({
      name: str(vh.name) ?? '',
      domains: Array.isArray(vh.domains) ? vh.domains.filter((d): d is string => typeof d === 'string') : [],
      routes,
      typedPerFilterConfig: isObj(vh.typed_per_filter_config) ? (vh.typed_per_filter_config as Record<string, ProtoObject>) : {},
      jsonPath: vp,
    });
  });
  if (isObj(raw.vhds)) ctx.nu(jsonPathJoin(path, 'vhds'), 'field', 'vhds', 'on-demand virtual hosts (VHDS) are not in the dump');
  return {
    name: str(raw.name) ?? '',
    virtualHosts: vhosts,
    typedPerFilterConfig: isObj(raw.typed_per_filter_config) ? (raw.typed_per_filter_config as Record<string, ProtoObject>) : {},
    ignorePortInHostMatching: raw.ignore_port_in_host_matching === true,
    origin,
    versionInfo,
    jsonPath: path,
  };
}

interface PendingRds {
  hcm: HttpConnectionManager;
}

function parseHcm(ctx: Ctx, ecds: Map<string, ProtoObject>, cfg: ProtoObject, path: string, pending: PendingRds[]): HttpConnectionManager {
  const httpFilters: HttpFilter[] = [];
  let list = cfg.http_filters;
  if (isObj(list)) {
    // Legacy Struct configs sometimes carry a one-element repeated field as a bare object; Envoy accepted it.
    ctx.nu(jsonPathJoin(path, 'http_filters'), 'field', 'http_filters', 'a single object where a list is expected: read as a one-element list');
    list = [list];
  }
  if (list !== undefined && !Array.isArray(list)) ctx.skip(jsonPathJoin(path, 'http_filters'), 'an array of HTTP filters', list, 'http_filters');
  (Array.isArray(list) ? list : []).forEach((hf, i) => {
    const hp = jsonPathJoin(jsonPathJoin(path, 'http_filters'), i);
    if (!isObj(hf)) return ctx.skip(hp, 'an HttpFilter object', hf, 'HTTP filter');
    const { typeUrl, config, configSource } = filterConfig(ctx, ecds, hf, hp);
    const name = str(hf.name) ?? '';
    const f: HttpFilter = { name, typeUrl, config, configSource, jsonPath: hp };
    if (hf.disabled === true) f.disabled = true;
    if (hf.is_optional === true) f.isOptional = true;
    const cls = classifyHttpFilter(name, typeUrl);
    if (cls.note) ctx.nu(hp, 'http_filter', typeUrl || name, cls.note);
    httpFilters.push(f);
  });
  const hcm: HttpConnectionManager = {
    statPrefix: str(cfg.stat_prefix) ?? '',
    httpFilters,
    routeConfig: null,
    codecType: str(cfg.codec_type),
    forwardClientCertDetails: str(cfg.forward_client_cert_details),
  };
  if (isObj(cfg.route_config)) {
    hcm.routeConfig = parseRouteConfig(ctx, cfg.route_config, jsonPathJoin(path, 'route_config'), 'inline', null);
  } else if (isObj(cfg.rds)) {
    hcm.rdsName = str(cfg.rds.route_config_name) ?? '';
    pending.push({ hcm });
  } else if (isObj(cfg.scoped_routes)) {
    hcm.scopedRoutes = true;
    ctx.nu(jsonPathJoin(path, 'scoped_routes'), 'field', 'scoped_routes', 'scoped RDS is not modelled: per-route RBAC overrides not resolved');
  }
  return hcm;
}

function parseChain(ctx: Ctx, ecds: Map<string, ProtoObject>, raw: unknown, path: string, index: number, pending: PendingRds[]): FilterChain | null {
  if (!isObj(raw)) {
    ctx.skip(path, 'a FilterChain object', raw, 'filter chain');
    return null;
  }
  checkFields(ctx, raw, CHAIN_FIELDS, path, 'filter_chain');
  const { match, unknown } = parseMatch(ctx, raw.filter_chain_match, jsonPathJoin(path, 'filter_chain_match'));
  const filters: NetworkFilter[] = [];
  const fl = raw.filters;
  if (fl !== undefined && !Array.isArray(fl)) ctx.skip(jsonPathJoin(path, 'filters'), 'an array of network filters', fl, 'filters');
  (Array.isArray(fl) ? fl : []).forEach((f, i) => {
    const fp = jsonPathJoin(jsonPathJoin(path, 'filters'), i);
    if (!isObj(f)) return ctx.skip(fp, 'a Filter object', f, 'network filter');
    const name = str(f.name) ?? '';
    const { typeUrl, config, configSource } = filterConfig(ctx, ecds, f, fp);
    const nf: NetworkFilter = { name, typeUrl, config, configSource, jsonPath: fp };
    const cls = classifyNetworkFilter(name, typeUrl);
    if (cls.kind === 'hcm') {
      nf.hcm = parseHcm(ctx, ecds, config, jsonPathJoin(fp, configSource === 'config' ? 'config' : 'typed_config'), pending);
    } else if (cls.kind === 'tcp_proxy') {
      const wc = config.weighted_clusters;
      nf.tcpProxy = {
        cluster: str(config.cluster),
        statPrefix: str(config.stat_prefix),
        weightedClusters: isObj(wc) && Array.isArray(wc.clusters) ? wc.clusters.filter(isObj).map((c) => str(c.name) ?? '') : [],
      };
    }
    if (cls.note) ctx.nu(fp, 'network_filter', typeUrl || name, cls.note);
    filters.push(nf);
  });
  return {
    name: str(raw.name) ?? '',
    index,
    isDefault: index < 0,
    match,
    unknownMatchFields: unknown,
    transportSocket: parseTransportSocket(ctx, raw, path),
    filters,
    metadata: isObj(raw.metadata) ? raw.metadata : null,
    jsonPath: path,
  };
}

function parseListener(
  ctx: Ctx,
  ecds: Map<string, ProtoObject>,
  raw: unknown,
  path: string,
  state: ListenerState,
  meta: { versionInfo: string | null; lastUpdated: string | null; name?: string | null },
  pending: PendingRds[],
): Listener | null {
  if (!isObj(raw)) {
    ctx.skip(path, 'a Listener object', raw, 'listener');
    return null;
  }
  const l = ctx.norm(raw) as ProtoObject;
  checkFields(ctx, l, LISTENER_FIELDS, path, 'listener');
  const address = parseAddress(ctx, l.address, jsonPathJoin(path, 'address'));
  const name = str(l.name) ?? meta.name ?? '';
  const chains: FilterChain[] = [];
  const fcs = l.filter_chains;
  if (fcs !== undefined && !Array.isArray(fcs)) ctx.skip(jsonPathJoin(path, 'filter_chains'), 'an array of filter chains', fcs, 'filter_chains');
  (Array.isArray(fcs) ? fcs : []).forEach((fc, i) => {
    const c = parseChain(ctx, ecds, fc, jsonPathJoin(jsonPathJoin(path, 'filter_chains'), i), i, pending);
    if (c) chains.push(c);
  });
  const dfc = isObj(l.default_filter_chain) ? parseChain(ctx, ecds, l.default_filter_chain, jsonPathJoin(path, 'default_filter_chain'), -1, pending) : null;
  const listenerFilters: ListenerFilter[] = [];
  (Array.isArray(l.listener_filters) ? l.listener_filters : []).forEach((lf, i) => {
    const lp = jsonPathJoin(jsonPathJoin(path, 'listener_filters'), i);
    if (!isObj(lf)) return ctx.skip(lp, 'a ListenerFilter object', lf, 'listener filter');
    const lname = str(lf.name) ?? '';
    const { typeUrl, config } = filterConfig(ctx, ecds, lf, lp);
    const note = classifyListenerFilter(lname, typeUrl);
    if (note) ctx.nu(lp, 'listener_filter', typeUrl || lname, note);
    listenerFilters.push({ name: lname, typeUrl, config, filterDisabled: isObj(lf.filter_disabled) ? lf.filter_disabled : null, jsonPath: lp });
  });
  const td = str(l.traffic_direction);
  const trafficDirection: TrafficDirection = td === 'INBOUND' || td === 'OUTBOUND' ? td : 'UNSPECIFIED';
  let bindToPort = true;
  if (typeof l.bind_to_port === 'boolean') bindToPort = l.bind_to_port;
  else if (isObj(l.deprecated_v1) && l.deprecated_v1.bind_to_port === false) bindToPort = false;
  return {
    name,
    displayName: name || (address ? `${address.address}_${address.port}` : '(unnamed)'),
    address,
    additionalAddresses: (Array.isArray(l.additional_addresses) ? l.additional_addresses : [])
      .map((a, i) => (isObj(a) ? parseAddress(ctx, a.address, `${path}.additional_addresses[${i}].address`) : null))
      .filter((a): a is SocketAddress => a !== null),
    internal: isObj(l.internal_listener) || (isObj(l.address) && isObj(l.address.envoy_internal_address)),
    state,
    trafficDirection,
    filterChains: chains,
    defaultFilterChain: dfc,
    listenerFilters,
    useOriginalDst: boolValue(l.use_original_dst),
    bindToPort,
    filterChainMatcher: isObj(l.filter_chain_matcher) ? l.filter_chain_matcher : null,
    versionInfo: meta.versionInfo,
    lastUpdated: meta.lastUpdated,
    jsonPath: path,
  };
}

// --- clusters / secrets / endpoints ---------------------------------------------------------------

function clusterSocket(ctx: Ctx, ts: unknown, path: string): ClusterTransportSocket | null {
  if (!isObj(ts)) return null;
  const cfg = isObj(ts.typed_config) ? ts.typed_config : isObj(ts.config) ? ts.config : {};
  const typeUrl = str(cfg['@type']) ?? '';
  const name = str(ts.name) ?? '';
  const isTls = isUpstreamTlsType(typeUrl) || (typeUrl === '' && /(^|\.)tls$/.test(name));
  if (!isTls && !/RawBuffer$/.test(typeUrl) && !/raw_buffer$/.test(name) && !/InternalUpstreamTransport$/.test(typeUrl)) {
    ctx.nu(path, 'transport_socket', typeUrl || name, 'upstream transport socket type not understood');
  }
  return { name, typeUrl, tls: isTls ? upstreamTls(cfg) : null, config: scrubPrivateKeys(cfg) };
}

function parseCluster(ctx: Ctx, raw: unknown, path: string, state: Cluster['state']): Cluster | null {
  if (!isObj(raw)) {
    ctx.skip(path, 'a Cluster object', raw, 'cluster');
    return null;
  }
  const c = ctx.norm(raw) as ProtoObject;
  // transport_socket_matches[].match is a Struct: take it verbatim from the input (toSnakeCase would rename `tlsMode`).
  const rawMatches = field(raw, 'transport_socket_matches').v;
  let transportSocket = clusterSocket(ctx, c.transport_socket, jsonPathJoin(path, 'transport_socket'));
  if (!transportSocket && isObj(c.tls_context)) {
    transportSocket = { name: 'tls_context', typeUrl: '', tls: upstreamTls(c.tls_context), config: scrubPrivateKeys(c.tls_context) };
  }
  const tsm = (Array.isArray(c.transport_socket_matches) ? c.transport_socket_matches : []).filter(isObj).map((m, i) => ({
    name: str(m.name) ?? '',
    match: Array.isArray(rawMatches) && isObj(rawMatches[i]) && isObj((rawMatches[i] as ProtoObject).match) ? ((rawMatches[i] as ProtoObject).match as ProtoObject) : isObj(m.match) ? m.match : {},
    transportSocket: clusterSocket(ctx, m.transport_socket, jsonPathJoin(jsonPathJoin(jsonPathJoin(path, 'transport_socket_matches'), i), 'transport_socket')),
  }));
  const ct = isObj(c.cluster_type) ? str(c.cluster_type.name) : null;
  const loadAssignment: EndpointInfo[] = [];
  if (isObj(c.load_assignment)) {
    const la = c.load_assignment.cluster_name === undefined ? { ...c.load_assignment, cluster_name: str(c.name) ?? '' } : c.load_assignment;
    parseEndpoints(ctx, la, jsonPathJoin(path, 'load_assignment'), loadAssignment);
  }
  return {
    name: str(c.name) ?? '',
    state,
    type: str(c.type) ?? ct,
    edsServiceName: isObj(c.eds_cluster_config) ? str(c.eds_cluster_config.service_name) : null,
    transportSocket,
    transportSocketMatches: tsm,
    metadata: isObj(c.metadata) ? c.metadata : null,
    loadAssignment,
    config: scrubPrivateKeys(c),
    jsonPath: path,
  };
}

function parseSecret(ctx: Ctx, entry: ProtoObject, path: string, state: Secret['state']): Secret | null {
  const s0 = entry.secret;
  const sp = jsonPathJoin(path, 'secret');
  const s = isObj(s0) ? (ctx.norm(s0) as ProtoObject) : {};
  const name = str(field(entry, 'name').v) ?? str(s.name) ?? '';
  const out: Secret = {
    name,
    state,
    kind: 'other',
    versionInfo: str(field(entry, 'version_info').v),
    lastUpdated: str(field(entry, 'last_updated').v),
    certificates: [],
    certificateSource: null,
    trustDomains: [],
    errors: [],
    jsonPath: path,
  };
  if (isObj(s.tls_certificate)) {
    out.kind = 'tls_certificate';
    const { text, source } = dataSourceText(s.tls_certificate.certificate_chain);
    out.certificateSource = source;
    if (text) {
      const r = parseCertificates(text);
      out.certificates = r.certificates;
      appendAll(out.errors, r.errors);
    }
  } else if (isObj(s.validation_context)) {
    out.kind = 'validation_context';
    const vc = s.validation_context;
    const { text, source } = dataSourceText(vc.trusted_ca);
    out.certificateSource = source;
    if (text) {
      const r = parseCertificates(text);
      out.certificates = r.certificates;
      appendAll(out.errors, r.errors);
    }
    const cvc = vc.custom_validator_config;
    if (isObj(cvc) && isObj(cvc.typed_config) && Array.isArray(cvc.typed_config.trust_domains)) {
      for (const td of cvc.typed_config.trust_domains) {
        if (!isObj(td)) continue;
        const b = dataSourceText(td.trust_bundle);
        const r = b.text ? parseCertificates(b.text) : { certificates: [], errors: [] };
        out.trustDomains.push({ name: str(td.name) ?? '', certificates: r.certificates });
        appendAll(out.errors, r.errors.map((e) => `trust domain ${String(td.name)}: ${e}`));
      }
    } else if (isObj(cvc)) {
      ctx.nu(jsonPathJoin(jsonPathJoin(sp, 'validation_context'), 'custom_validator_config'), 'field', str(cvc.name) ?? 'custom_validator_config', 'custom certificate validator not understood');
    }
  }
  for (const e of out.errors) ctx.diagnostics.push({ severity: 'warning', location: { file: ctx.file, path: sp }, message: `secret ${name}: ${e}` });
  return out;
}

function parseEndpoints(ctx: Ctx, raw: unknown, path: string, out: EndpointInfo[]): void {
  if (!isObj(raw)) return ctx.skip(path, 'a ClusterLoadAssignment object', raw, 'endpoint config');
  const cla = ctx.norm(raw) as ProtoObject;
  const cluster = str(cla.cluster_name) ?? '';
  (Array.isArray(cla.endpoints) ? cla.endpoints : []).forEach((le, i) => {
    if (!isObj(le)) return;
    (Array.isArray(le.lb_endpoints) ? le.lb_endpoints : []).forEach((lb, j) => {
      if (!isObj(lb)) return;
      const ep = isObj(lb.endpoint) ? lb.endpoint : {};
      const addr = isObj(ep.address) ? ep.address : {};
      const sa = parseAddress(ctx, addr, `${path}.endpoints[${i}].lb_endpoints[${j}].endpoint.address`);
      const internal = isObj(addr.envoy_internal_address) ? addr.envoy_internal_address : null;
      out.push({
        cluster,
        address: sa ? sa.address : internal ? `envoy://${String(internal.server_listener_name ?? '')}/${String(internal.endpoint_id ?? '')}` : '',
        port: sa ? sa.port : null,
        health: str(lb.health_status),
        metadata: isObj(lb.metadata) ? lb.metadata : null,
        jsonPath: `${path}.endpoints[${i}].lb_endpoints[${j}]`,
      });
    });
  });
}

// --- top level ------------------------------------------------------------------------------------

function emptyDump(source: string): ParsedConfigDump {
  return {
    source,
    node: null,
    listeners: [],
    routeConfigs: new Map(),
    clusters: [],
    secrets: [],
    endpoints: [],
    ecdsFilters: new Map(),
    sections: [],
    spelling: 'snake_case',
    notUnderstood: [],
    diagnostics: [],
  };
}

type ResourceKind = 'listener' | 'cluster' | 'route' | 'secret' | 'endpoints' | null;

/** Classifies a bare resource object (istioctl `proxy-config <kind> -o json` items, xDS response resources). */
export function resourceKind(v: unknown): ResourceKind {
  if (!isObj(v)) return null;
  const has = (k: string) => field(v, k).v !== undefined;
  const t = typeof v['@type'] === 'string' ? (v['@type'] as string) : '';
  if (t.endsWith('.Secret')) return 'secret';
  if (t.endsWith('.ClusterLoadAssignment')) return 'endpoints';
  if (
    t.endsWith('.Listener') ||
    has('filter_chains') ||
    has('default_filter_chain') ||
    has('filter_chain_matcher') ||
    has('listener_filters') ||
    (has('address') && has('traffic_direction'))
  )
    return 'listener';
  if (t.endsWith('.RouteConfiguration') || has('virtual_hosts')) return 'route';
  if (t.endsWith('.Cluster') || has('connect_timeout') || has('eds_cluster_config') || has('load_assignment') || has('transport_socket_matches') || (has('name') && has('type') && has('lb_policy'))) return 'cluster';
  return null;
}

/** An Envoy bootstrap file (`envoy -c FILE`): `static_resources` and/or `dynamic_resources` at the top. */
export function isBootstrapFile(doc: unknown): boolean {
  return isObj(doc) && !('configs' in doc) && (isObj(field(doc, 'static_resources').v) || isObj(field(doc, 'dynamic_resources').v));
}

const XDS_RESOURCE_WRAPPER = /\.service\.discovery\.v[23]\.Resource$/;

/** The resource inside an xDS `Resource` wrapper (delta xDS, `{name, resource: {...}}`), or the item itself. */
function unwrapXdsResource(v: unknown): unknown {
  if (isObj(v) && typeof v['@type'] === 'string' && XDS_RESOURCE_WRAPPER.test(v['@type']) && isObj(v.resource)) return v.resource;
  return v;
}

/**
 * An xDS DiscoveryResponse or an LDS/RDS/CDS/EDS/SDS file as Envoy's path-based config source reads it:
 * `{version_info?, resources: [{"@type": …}, …], type_url?}`.
 */
export function isXdsResponse(doc: unknown): boolean {
  if (!isObj(doc) || 'configs' in doc) return false;
  const r = doc.resources;
  if (!Array.isArray(r)) return false;
  if (r.length === 0) return typeof field(doc, 'type_url').v === 'string';
  return r.every((x) => {
    const u = unwrapXdsResource(x);
    return resourceKind(u) !== null || (isObj(u) && typeof u['@type'] === 'string');
  });
}

/** True when `doc` is one proxy's dump (whole, one section, bootstrap, or an istioctl resource array). */
export function isSingleDump(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && doc.every((d) => resourceKind(d) !== null);
  if (!isObj(doc)) return false;
  if (isBootstrapFile(doc) || isXdsResponse(doc)) return true;
  if ('configs' in doc) return Array.isArray(doc.configs) || isObj(doc.configs);
  if (sectionOf(doc['@type'])) return true;
  if (isObj(doc.bootstrap) && Object.keys(doc).every((k) => k === 'bootstrap' || k === 'last_updated' || k === 'lastUpdated' || k === '@type')) return true;
  return resourceKind(doc) !== null;
}

const EXPECTED =
  'an Envoy config (an admin config dump with "configs", one config-dump section with an envoy.admin "@type", a bootstrap file with static_resources, an xDS response with "resources", or an array of listeners/clusters/route configurations)';

export function parseConfigDump(doc: unknown, source: string): ParsedConfigDump {
  const ctx: Ctx = new Ctx(source);
  const dump = emptyDump(source);
  const pending: PendingRds[] = [];
  const sections: { type: string; obj: ProtoObject; path: string }[] = [];

  if (Array.isArray(doc)) {
    if (doc.length === 0) {
      // An empty resource list (e.g. an RDS golden with no route configurations): loads, with nothing in it.
      ctx.diagnostics.push({ severity: 'warning', location: { file: source, path: '$' }, message: `${source}: an empty resource list: no listeners, routes or clusters to analyse` });
      dump.notUnderstood = ctx.notUnderstood;
      dump.diagnostics = ctx.diagnostics;
      return dump;
    }
    doc.forEach((item, i) => {
      const k = resourceKind(item);
      if (!k) ctx.fail(`$[${i}]`, 'a Listener, Cluster or RouteConfiguration (every item of an istioctl proxy-config array)', item);
    });
    sections.push({ type: 'array', obj: { items: doc }, path: '$' });
  } else if (isObj(doc)) {
    if ('configs' in doc) {
      const configs = doc.configs;
      if (Array.isArray(configs)) {
        configs.forEach((c, i) => {
          const p = `$.configs[${i}]`;
          if (!isObj(c)) ctx.fail(p, 'a config-dump section object with "@type"', c);
          sections.push({ type: sectionOf(c['@type']) ?? `?${String(c['@type'] ?? '')}`, obj: c, path: p });
        });
      } else if (isObj(configs)) {
        // Envoy < 1.9: configs is a map keyed by section name.
        for (const [k, c] of Object.entries(configs)) {
          const p = jsonPathJoin('$.configs', k);
          if (!isObj(c)) ctx.fail(p, 'a config-dump section object', c);
          sections.push({ type: sectionOf(c['@type']) ?? `?${String(c['@type'] ?? k)}`, obj: c, path: p });
        }
      } else {
        ctx.fail('$.configs', 'an array of config-dump sections', configs);
      }
    } else if (sectionOf(doc['@type'])) {
      sections.push({ type: sectionOf(doc['@type'])!, obj: doc, path: '$' });
    } else if (isObj(doc.bootstrap)) {
      sections.push({ type: 'bootstrap', obj: doc, path: '$' });
    } else if (isBootstrapFile(doc)) {
      sections.push({ type: 'bootstrap_file', obj: doc, path: '$' });
    } else if (isXdsResponse(doc)) {
      const rk = field(doc, 'resources');
      const items = (doc.resources as unknown[]).map(unwrapXdsResource);
      sections.push({ type: 'array', obj: { items, xds: true, versionInfo: str(field(doc, 'version_info').v) }, path: jsonPathJoin('$', rk.key) });
    } else if (resourceKind(doc)) {
      sections.push({ type: 'array', obj: { items: [doc], single: true }, path: '$' });
    } else {
      ctx.fail('$', EXPECTED, doc);
    }
  } else {
    ctx.fail('$', EXPECTED, doc);
  }

  // ECDS first, so filters configured by config_discovery resolve.
  for (const s of sections.filter((x) => x.type === 'ecds')) {
    const { v, key } = field(s.obj, 'ecds_filters');
    arrOrFail(ctx, v, jsonPathJoin(s.path, key), 'ECDS filters').forEach((e) => {
      if (!isObj(e)) return;
      const f = field(e, 'ecds_filter').v;
      if (isObj(f)) {
        const tec = ctx.norm(f) as ProtoObject;
        const name = str(tec.name);
        if (name) dump.ecdsFilters.set(name, isObj(tec.typed_config) ? tec.typed_config : {});
      }
    });
  }

  for (const s of sections) {
    const o = s.obj;
    const sec = s.type;
    if (!sec.startsWith('?') && sec !== 'array' && !dump.sections.includes(sec)) dump.sections.push(sec);
    switch (sec) {
      case 'bootstrap': {
        const { v, key } = field(o, 'bootstrap');
        if (!isObj(v)) ctx.fail(jsonPathJoin(s.path, key), 'a Bootstrap object', v);
        const node = field(v, 'node');
        dump.node = parseNode(node.v, jsonPathJoin(jsonPathJoin(s.path, key), node.key));
        break;
      }
      case 'bootstrap_file': {
        const node = field(o, 'node');
        if (node.v !== undefined) dump.node = parseNode(node.v, jsonPathJoin(s.path, node.key));
        const sr = field(o, 'static_resources');
        const srp = jsonPathJoin(s.path, sr.key);
        if (sr.v !== undefined && !isObj(sr.v)) ctx.fail(srp, 'a static_resources object', sr.v);
        const res = isObj(sr.v) ? sr.v : {};
        const lf = field(res, 'listeners');
        arrOrFail(ctx, lf.v, jsonPathJoin(srp, lf.key), 'listeners').forEach((e, i) => {
          const l = parseListener(ctx, dump.ecdsFilters, e, jsonPathJoin(jsonPathJoin(srp, lf.key), i), 'static', { versionInfo: null, lastUpdated: null }, pending);
          if (l) dump.listeners.push(l);
        });
        const cf = field(res, 'clusters');
        arrOrFail(ctx, cf.v, jsonPathJoin(srp, cf.key), 'clusters').forEach((e, i) => {
          const c = parseCluster(ctx, e, jsonPathJoin(jsonPathJoin(srp, cf.key), i), 'static');
          if (c) dump.clusters.push(c);
        });
        const sf = field(res, 'secrets');
        arrOrFail(ctx, sf.v, jsonPathJoin(srp, sf.key), 'secrets').forEach((e, i) => {
          const p = jsonPathJoin(jsonPathJoin(srp, sf.key), i);
          if (!isObj(e)) return ctx.skip(p, 'a Secret object', e, 'secret');
          const sec2 = parseSecret(ctx, { name: e.name ?? null, secret: e } as ProtoObject, p, 'static');
          if (sec2) dump.secrets.push(sec2);
        });
        for (const [k, sec2] of [['listeners', 'listeners'], ['clusters', 'clusters'], ['secrets', 'secrets']] as const) {
          if (field(res, k).v !== undefined && !dump.sections.includes(sec2)) dump.sections.push(sec2);
        }
        const dr = field(o, 'dynamic_resources');
        if (isObj(dr.v)) {
          const srcs = ['lds_config', 'cds_config', 'ads_config'].filter((k) => field(dr.v as ProtoObject, k).v !== undefined);
          ctx.nu(
            jsonPathJoin(s.path, dr.key),
            'dynamic_resources',
            srcs.join(', ') || 'dynamic_resources',
            `resources fetched at run time (${srcs.join(', ') || 'xDS'}) are not in this file: not evaluable offline; only static_resources are analysed (give an admin /config_dump for the live config)`,
          );
        }
        break;
      }
      case 'listeners': {
        const st = field(o, 'static_listeners');
        arrOrFail(ctx, st.v, jsonPathJoin(s.path, st.key), 'static listeners').forEach((e, i) => {
          const p = jsonPathJoin(jsonPathJoin(s.path, st.key), i);
          if (!isObj(e)) return ctx.skip(p, 'a StaticListener object', e, 'static listener');
          const lf = field(e, 'listener');
          const l = parseListener(ctx, dump.ecdsFilters, lf.v, jsonPathJoin(p, lf.key), 'static', { versionInfo: null, lastUpdated: str(field(e, 'last_updated').v) }, pending);
          if (l) dump.listeners.push(l);
        });
        const dyn = field(o, 'dynamic_listeners');
        arrOrFail(ctx, dyn.v, jsonPathJoin(s.path, dyn.key), 'dynamic listeners').forEach((e, i) => {
          const p = jsonPathJoin(jsonPathJoin(s.path, dyn.key), i);
          if (!isObj(e)) return ctx.skip(p, 'a DynamicListener object', e, 'dynamic listener');
          const entryName = str(e.name);
          let any = false;
          for (const [stateKey, state] of [['active_state', 'active'], ['warming_state', 'warming'], ['draining_state', 'draining']] as const) {
            const sf = field(e, stateKey);
            if (!isObj(sf.v)) continue;
            any = true;
            const lf = field(sf.v, 'listener');
            const l = parseListener(
              ctx,
              dump.ecdsFilters,
              lf.v,
              jsonPathJoin(jsonPathJoin(p, sf.key), lf.key),
              state,
              { versionInfo: str(field(sf.v, 'version_info').v), lastUpdated: str(field(sf.v, 'last_updated').v), name: entryName },
              pending,
            );
            if (l) dump.listeners.push(l);
          }
          const es = field(e, 'error_state');
          if (isObj(es.v)) {
            ctx.nu(jsonPathJoin(p, es.key), 'listener_error', entryName ?? '', `listener update rejected by Envoy: ${String(field(es.v, 'details').v ?? '')}`.trim());
            any = true;
          }
          if (!any) ctx.skip(p, 'a DynamicListener with active_state, warming_state or draining_state', e, 'dynamic listener');
        });
        // v2alpha spelling
        for (const [k, state] of [['dynamic_active_listeners', 'active'], ['dynamic_warming_listeners', 'warming'], ['dynamic_draining_listeners', 'draining']] as const) {
          const f = field(o, k);
          arrOrFail(ctx, f.v, jsonPathJoin(s.path, f.key), 'dynamic listeners').forEach((e, i) => {
            const p = jsonPathJoin(jsonPathJoin(s.path, f.key), i);
            if (!isObj(e)) return ctx.skip(p, 'a DynamicListener object', e, 'dynamic listener');
            const lf = field(e, 'listener');
            const l = parseListener(ctx, dump.ecdsFilters, lf.v, jsonPathJoin(p, lf.key), state, { versionInfo: str(field(e, 'version_info').v), lastUpdated: str(field(e, 'last_updated').v) }, pending);
            if (l) dump.listeners.push(l);
          });
        }
        break;
      }
      case 'clusters': {
        for (const [k, state, inner] of [['static_clusters', 'static', 'cluster'], ['dynamic_active_clusters', 'active', 'cluster'], ['dynamic_warming_clusters', 'warming', 'cluster']] as const) {
          const f = field(o, k);
          arrOrFail(ctx, f.v, jsonPathJoin(s.path, f.key), 'clusters').forEach((e, i) => {
            const p = jsonPathJoin(jsonPathJoin(s.path, f.key), i);
            if (!isObj(e)) return ctx.skip(p, 'a cluster entry object', e, 'cluster');
            const cf = field(e, inner);
            const c = parseCluster(ctx, cf.v, jsonPathJoin(p, cf.key), state);
            if (c) dump.clusters.push(c);
          });
        }
        break;
      }
      case 'routes': {
        for (const [k, origin] of [['static_route_configs', 'static'], ['dynamic_route_configs', 'dynamic']] as const) {
          const f = field(o, k);
          arrOrFail(ctx, f.v, jsonPathJoin(s.path, f.key), 'route configurations').forEach((e, i) => {
            const p = jsonPathJoin(jsonPathJoin(s.path, f.key), i);
            if (!isObj(e)) return ctx.skip(p, 'a route config entry object', e, 'route configuration');
            const rf = field(e, 'route_config');
            if (!isObj(rf.v)) return ctx.skip(jsonPathJoin(p, rf.key), 'a RouteConfiguration object', rf.v, 'route configuration');
            const rc = parseRouteConfig(ctx, ctx.norm(rf.v) as ProtoObject, jsonPathJoin(p, rf.key), origin, str(field(e, 'version_info').v));
            dump.routeConfigs.set(rc.name, rc);
          });
        }
        break;
      }
      case 'secrets': {
        for (const [k, state] of [['static_secrets', 'static'], ['dynamic_active_secrets', 'active'], ['dynamic_warming_secrets', 'warming']] as const) {
          const f = field(o, k);
          arrOrFail(ctx, f.v, jsonPathJoin(s.path, f.key), 'secrets').forEach((e, i) => {
            const p = jsonPathJoin(jsonPathJoin(s.path, f.key), i);
            if (!isObj(e)) return ctx.skip(p, 'a secret entry object', e, 'secret');
            const sec2 = parseSecret(ctx, e, p, state);
            if (sec2) dump.secrets.push(sec2);
          });
        }
        break;
      }
      case 'endpoints': {
        for (const k of ['static_endpoint_configs', 'dynamic_endpoint_configs']) {
          const f = field(o, k);
          arrOrFail(ctx, f.v, jsonPathJoin(s.path, f.key), 'endpoint configs').forEach((e, i) => {
            const p = jsonPathJoin(jsonPathJoin(s.path, f.key), i);
            if (!isObj(e)) return ctx.skip(p, 'an endpoint config entry object', e, 'endpoint config');
            const ef = field(e, 'endpoint_config');
            parseEndpoints(ctx, ef.v, jsonPathJoin(p, ef.key), dump.endpoints);
          });
        }
        break;
      }
      case 'ecds':
        break;
      case 'scoped_routes': {
        const keys = Object.keys(o).filter((k) => k !== '@type');
        if (keys.length) ctx.nu(s.path, 'section', 'ScopedRoutesConfigDump', 'scoped route configurations are kept raw, not modelled');
        break;
      }
      case 'array': {
        const items = o.items as unknown[];
        items.forEach((item, i) => {
          const p = o.single ? '$' : o.xds ? jsonPathJoin(s.path, i) : `$[${i}]`;
          const k = resourceKind(item);
          if (k === 'secret') {
            const sec2 = parseSecret(ctx, { name: isObj(item) ? (item.name ?? null) : null, secret: item } as ProtoObject, p, 'active');
            if (sec2) dump.secrets.push(sec2);
            if (!dump.sections.includes('secrets')) dump.sections.push('secrets');
            return;
          }
          if (k === 'endpoints') {
            parseEndpoints(ctx, item, p, dump.endpoints);
            if (!dump.sections.includes('endpoints')) dump.sections.push('endpoints');
            return;
          }
          if (k === null) {
            const t = isObj(item) ? str(item['@type']) : null;
            ctx.nu(p, 'resource', t ?? 'resource', 'xDS resource type not modelled: kept raw, not analysed');
            return;
          }
          if (k === 'listener') {
            const l = parseListener(ctx, dump.ecdsFilters, item, p, 'active', { versionInfo: str(o.versionInfo) ?? null, lastUpdated: null }, pending);
            if (l) dump.listeners.push(l);
            if (!dump.sections.includes('listeners')) dump.sections.push('listeners');
          } else if (k === 'cluster') {
            const c = parseCluster(ctx, item, p, 'active');
            if (c) dump.clusters.push(c);
            if (!dump.sections.includes('clusters')) dump.sections.push('clusters');
          } else if (k === 'route') {
            const rc = parseRouteConfig(ctx, ctx.norm(item) as ProtoObject, p, 'dynamic', str(o.versionInfo) ?? null);
            dump.routeConfigs.set(rc.name, rc);
            if (!dump.sections.includes('routes')) dump.sections.push('routes');
          }
        });
        break;
      }
      default:
        ctx.nu(s.path, 'section', String(o['@type'] ?? sec), 'unknown config-dump section: kept raw, not analysed');
    }
  }

  for (const { hcm } of pending) {
    const rc = hcm.rdsName !== undefined ? dump.routeConfigs.get(hcm.rdsName) : undefined;
    if (rc) hcm.routeConfig = rc;
  }
  dump.spelling = ctx.camel > 0 && ctx.snake > 0 ? 'mixed' : ctx.camel > 0 ? 'camelCase' : 'snake_case';
  // A dump whose only resources are camelCase and some tiny snake ones (no difference) counts as camelCase.
  if (dump.spelling === 'mixed' && ctx.camel >= ctx.snake) dump.spelling = 'camelCase';
  dump.notUnderstood = ctx.notUnderstood;
  dump.diagnostics = ctx.diagnostics;
  return dump;
}
