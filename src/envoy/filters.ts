/**
 * Filter identification. Envoy picks a filter's implementation by the `@type` of its typed_config
 * (names are only labels since v1.14), so we classify by type URL first and fall back to the name for
 * legacy `config` structs (v2 dumps) that carry no type. Unknown filters are reported (never dropped):
 * a filter we do not understand could change the security outcome (e.g. a Wasm or Lua authz plugin).
 */

export type NetworkFilterKind = 'hcm' | 'tcp_proxy' | 'rbac' | 'ext_authz' | 'other';
export type HttpFilterKind = 'rbac' | 'ext_authz' | 'jwt_authn' | 'router' | 'other';

/** `type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC` → `envoy.filters.http.rbac`. */
export function canonicalFilterName(typeUrl: string): string | null {
  const t = typeUrl.replace(/^type\.googleapis\.com\//, '');
  let m = /^envoy\.extensions\.filters\.(http|network|listener)\.([\w]+)\.v\d\w*\./.exec(t);
  if (m) return `envoy.filters.${m[1]}.${m[2]}`;
  m = /^envoy\.config\.filter\.(http|network|listener)\.([\w]+)\.v\d\w*\./.exec(t); // v2
  if (m) return `envoy.filters.${m[1]}.${m[2]}`;
  return null;
}

const NETWORK_KNOWN = new Set([
  'envoy.filters.network.http_connection_manager',
  'envoy.filters.network.tcp_proxy',
  'envoy.filters.network.rbac',
  'envoy.filters.network.ext_authz',
  'envoy.filters.network.connection_limit',
  'envoy.filters.network.local_ratelimit',
  'envoy.filters.network.ratelimit',
  'envoy.filters.network.sni_cluster',
  'envoy.filters.network.tcp_cluster_rewrite',
  'envoy.filters.network.set_filter_state',
  'envoy.filters.network.sni_dynamic_forward_proxy',
  'envoy.filters.network.echo',
  'envoy.filters.network.direct_response',
  'envoy.filters.network.metadata_exchange',
  'envoy.filters.network.peer_metadata',
  'envoy.filters.network.upstream.metadata_exchange',
  'envoy.filters.network.redis_proxy',
  'envoy.filters.network.mongo_proxy',
  'envoy.filters.network.mysql_proxy',
  'envoy.filters.network.postgres_proxy',
  'envoy.filters.network.thrift_proxy',
  'envoy.filters.network.dubbo_proxy',
  'envoy.filters.network.zookeeper_proxy',
  'envoy.filters.network.kafka_broker',
  // Istio filter names (their configs are TypedStructs or Istio protos)
  'istio_authn',
  'istio.metadata_exchange',
  'istio.stats',
  'istio.peer_metadata',
  'mixer',
  'envoy.tcp_proxy',
  'envoy.http_connection_manager',
  'envoy.ratelimit',
  'envoy.filters.network.wasm',
]);
const NETWORK_LEGACY: Record<string, NetworkFilterKind> = {
  'envoy.http_connection_manager': 'hcm',
  'envoy.tcp_proxy': 'tcp_proxy',
  'envoy.filters.network.http_connection_manager': 'hcm',
  'envoy.filters.network.tcp_proxy': 'tcp_proxy',
  'envoy.filters.network.rbac': 'rbac',
  'envoy.filters.network.ext_authz': 'ext_authz',
  'envoy.ext_authz': 'ext_authz',
};

const HTTP_KNOWN = new Set([
  'envoy.filters.http.router',
  'envoy.filters.http.rbac',
  'envoy.filters.http.ext_authz',
  'envoy.filters.http.jwt_authn',
  'envoy.filters.http.cors',
  'envoy.filters.http.fault',
  'envoy.filters.http.grpc_stats',
  'envoy.filters.http.grpc_web',
  'envoy.filters.http.grpc_json_transcoder',
  'envoy.filters.http.local_ratelimit',
  'envoy.filters.http.ratelimit',
  'envoy.filters.http.compressor',
  'envoy.filters.http.decompressor',
  'envoy.filters.http.gzip',
  'envoy.filters.http.health_check',
  'envoy.filters.http.buffer',
  'envoy.filters.http.header_to_metadata',
  'envoy.filters.http.header_mutation',
  'envoy.filters.http.csrf',
  'envoy.filters.http.cache',
  'envoy.filters.http.original_src',
  'envoy.filters.http.ip_tagging',
  'envoy.filters.http.dynamic_forward_proxy',
  'envoy.filters.http.upstream_codec',
  'envoy.filters.http.set_filter_state',
  'envoy.filters.http.stateful_session',
  'envoy.filters.http.connect_grpc_bridge',
  'envoy.filters.http.grpc_http1_bridge',
  'envoy.filters.http.alternate_protocols_cache',
  'envoy.filters.http.peer_metadata',
  'envoy.filters.http.connect_authority',
  'envoy.filters.http.set_metadata',
  'envoy.filters.http.bandwidth_limit',
  'envoy.filters.http.adaptive_concurrency',
  'envoy.filters.http.admission_control',
  'envoy.filters.http.aws_request_signing',
  // Istio / legacy names
  'istio.metadata_exchange',
  'istio.alpn',
  'istio.stats',
  'istio.peer_metadata',
  'istio_authn',
  'jwt-auth',
  'mixer',
  'envoy.router',
  'envoy.cors',
  'envoy.fault',
  'envoy.grpc_web',
  'envoy.health_check',
  'envoy.buffer',
  'envoy.gzip',
]);
const HTTP_LEGACY: Record<string, HttpFilterKind> = {
  'envoy.filters.http.rbac': 'rbac',
  'envoy.filters.http.ext_authz': 'ext_authz',
  'envoy.ext_authz': 'ext_authz',
  'envoy.filters.http.jwt_authn': 'jwt_authn',
  'envoy.filters.http.router': 'router',
  'envoy.router': 'router',
};

const ISTIO_TYPES = [
  /envoy\.tcp\.metadataexchange\.config\.MetadataExchange$/,
  /istio\.envoy\.config\.filter\.http\.(alpn|authn)\./,
  /io\.istio\.(network|http)\./,
  /^stats\.PluginConfig$|\/stats\.PluginConfig$/,
  /istio\.mixer\./,
  /istio\.set_internal_dst_address\./,
];

function kindOf<K extends string>(name: string, typeUrl: string, legacy: Record<string, K>): K | 'other' {
  const canonical = typeUrl ? canonicalFilterName(typeUrl) : null;
  if (canonical && canonical in legacy) return legacy[canonical]!;
  if (!typeUrl && name in legacy) return legacy[name]!;
  // A typed config of another type under a well-known name is that other type (Envoy uses the type).
  if (typeUrl && !canonical && name in legacy) return legacy[name]!;
  return 'other';
}

function isKnown(name: string, typeUrl: string, known: Set<string>): boolean {
  const canonical = typeUrl ? canonicalFilterName(typeUrl) : null;
  if (canonical && known.has(canonical)) return true;
  if (known.has(name)) return true;
  return ISTIO_TYPES.some((re) => re.test(typeUrl));
}

/** Istio's own telemetry plugins, shipped as Wasm (or null-VM) filters: no access decisions. */
const ISTIO_WASM = new Set(['istio.metadata_exchange', 'istio.stats', 'envoy.wasm.metadata_exchange', 'envoy.wasm.stats', 'istio.peer_metadata']);

const NOT_EVALUATED = 'filter type not understood: kept raw, its effect on the connection is not evaluated';

const netCache = new Map<string, { kind: NetworkFilterKind; note: string | null }>();
const httpCache = new Map<string, { kind: HttpFilterKind; note: string | null }>();

export function classifyNetworkFilter(name: string, typeUrl: string): { kind: NetworkFilterKind; note: string | null } {
  const key = `${name}\u0000${typeUrl}`;
  let r = netCache.get(key);
  if (!r) {
    r = classifyNetworkFilterUncached(name, typeUrl);
    netCache.set(key, r);
  }
  return r;
}

export function classifyHttpFilter(name: string, typeUrl: string): { kind: HttpFilterKind; note: string | null } {
  const key = `${name}\u0000${typeUrl}`;
  let r = httpCache.get(key);
  if (!r) {
    r = classifyHttpFilterUncached(name, typeUrl);
    httpCache.set(key, r);
  }
  return r;
}

function classifyNetworkFilterUncached(name: string, typeUrl: string): { kind: NetworkFilterKind; note: string | null } {
  const kind = kindOf(name, typeUrl, NETWORK_LEGACY);
  if (kind !== 'other') return { kind, note: null };
  if (/wasm/i.test(typeUrl) || /wasm/i.test(name)) {
    return { kind, note: ISTIO_WASM.has(name) ? null : 'Wasm filter: behaviour unknown (may allow or deny connections); not evaluated' };
  }
  return { kind, note: isKnown(name, typeUrl, NETWORK_KNOWN) ? null : NOT_EVALUATED };
}

function classifyHttpFilterUncached(name: string, typeUrl: string): { kind: HttpFilterKind; note: string | null } {
  const kind = kindOf(name, typeUrl, HTTP_LEGACY);
  if (kind !== 'other') return { kind, note: null };
  if (/wasm/i.test(typeUrl) || /wasm/i.test(name)) {
    return { kind, note: ISTIO_WASM.has(name) ? null : 'Wasm filter: behaviour unknown (may allow or deny requests); not evaluated' };
  }
  if (/\.lua\b|lua$/.test(typeUrl) || name === 'envoy.filters.http.lua' || name === 'envoy.lua') return { kind, note: 'Lua filter: behaviour unknown (may allow or deny requests); not evaluated' };
  if (/oauth2|basic_auth|api_key_auth|ext_proc/.test(typeUrl + name)) return { kind, note: 'authentication/authorization filter not modelled: its decision is not evaluated' };
  return { kind, note: isKnown(name, typeUrl, HTTP_KNOWN) ? null : NOT_EVALUATED };
}

const LISTENER_KNOWN = new Set([
  'istio.set_internal_dst_address',
  'envoy.filters.listener.original_dst',
  'envoy.filters.listener.tls_inspector',
  'envoy.filters.listener.http_inspector',
  'envoy.filters.listener.proxy_protocol',
  'envoy.filters.listener.original_src',
  'envoy.listener.original_dst',
  'envoy.listener.tls_inspector',
  'envoy.listener.http_inspector',
  'envoy.listener.proxy_protocol',
]);

export function classifyListenerFilter(name: string, typeUrl: string): string | null {
  return isKnown(name, typeUrl, LISTENER_KNOWN) ? null : 'listener filter not understood: it may change addresses or detected protocols used for chain selection';
}

/** True when the filter is Envoy's HTTP RBAC filter. */
export function isHttpRbac(f: { name: string; typeUrl: string }): boolean {
  return classifyHttpFilter(f.name, f.typeUrl).kind === 'rbac';
}
export function isNetworkRbac(f: { name: string; typeUrl: string }): boolean {
  return classifyNetworkFilter(f.name, f.typeUrl).kind === 'rbac';
}
export function isHttpExtAuthz(f: { name: string; typeUrl: string }): boolean {
  return classifyHttpFilter(f.name, f.typeUrl).kind === 'ext_authz';
}
export function isNetworkExtAuthz(f: { name: string; typeUrl: string }): boolean {
  return classifyNetworkFilter(f.name, f.typeUrl).kind === 'ext_authz';
}
