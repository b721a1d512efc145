/**
 * Envoy configs arrive in two JSON spellings of the same protobuf messages: the admin
 * `/config_dump` uses the proto field names (snake_case), while istioctl and Istio's
 * golden files use protobuf-JSON names (lowerCamelCase). Both are legal protobuf JSON.
 * Everything downstream works on snake_case; this converts keys, but never:
 *   - the keys of proto `map<string, …>` fields (policy names, metadata namespaces, filter names),
 *   - anything inside a `google.protobuf.Struct`/`Value` (metadata values, legacy `config` structs),
 *   - `@type` and keys that already contain no capital letter.
 */

/** Fields whose value is a proto map: keys are data, values are still messages to convert. */
const MAP_FIELDS = new Set([
  'policies', // RBAC.policies
  'typed_per_filter_config',
  'typed_filter_metadata',
  'clusters_weights',
  'map', // xds MatchMap.map (exact_match_map / prefix_match_map): keys are matched values
]);

/** Fields whose value is free-form (Struct / Value / opaque) and must be kept verbatim. */
const OPAQUE_FIELDS = new Set([
  'filter_metadata', // Metadata.filter_metadata: map<string, Struct>
  'metadata_fields', // node metadata
  'config', // legacy v2 `config` Struct: its content is already snake_case
  'struct_value',
  'list_value',
  'user_agent_build_version',
]);

const CAMEL = /[A-Z]/;

/** Field names repeat endlessly in a dump: convert each distinct name once. */
const snakeCache = new Map<string, string>();

export function camelToSnake(key: string): string {
  let out = snakeCache.get(key);
  if (out === undefined) {
    out = !CAMEL.test(key) || key.startsWith('@') ? key : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snakeCache.size < 100_000) snakeCache.set(key, out);
  }
  return out;
}

export function snakeToCamel(key: string): string {
  if (key.startsWith('@') || !key.includes('_')) return key;
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Returns a deep copy of `value` with message field names in snake_case.
 * Node metadata (`node.metadata`) is a Struct and is kept verbatim; so are the keys of map fields.
 */
export function toSnakeCase(value: unknown): unknown {
  return convert(value, camelToSnake);
}

/** The inverse, for printing Envoy configs the way istioctl and Istio's goldens spell them. */
export function toCamelCase(value: unknown): unknown {
  return convert(value, snakeToCamel);
}

/** Message fields that hold a Struct only under one parent: `transport_socket_matches[].match`. */
const OPAQUE_UNDER: Record<string, string> = { match: 'transport_socket_matches' };

/** Proto maps that only have that meaning under one parent: xds matcher trees' `exact_match_map.map` / `prefix_match_map.map`. */
const MAP_UNDER: Record<string, string[]> = { map: ['exact_match_map', 'prefix_match_map'] };

function convert(value: unknown, rename: (k: string) => string, parent = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => convert(v, rename, parent));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  const typedStruct = String((value as Record<string, unknown>)['@type'] ?? '').endsWith('.TypedStruct');
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const nk = rename(k);
    const canonical = camelToSnake(k);
    if (OPAQUE_FIELDS.has(canonical) || OPAQUE_UNDER[canonical] === parent || (typedStruct && k === 'value') || (canonical === 'metadata' && isStructLike(v))) {
      out[nk] = v;
    } else if ((MAP_FIELDS.has(canonical) || MAP_UNDER[canonical]?.includes(parent)) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const m: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) m[mk] = convert(mv, rename, canonical);
      out[nk] = m;
    } else {
      out[nk] = convert(v, rename, canonical);
    }
  }
  return out;
}

/**
 * `metadata` is a message (`core.v3.Metadata` with `filter_metadata`) in most places, but a
 * Struct in the node (`node.metadata`) and a MetadataMatcher in RBAC. Only the Struct form is kept
 * verbatim: a Metadata message has `filter_metadata`/`typed_filter_metadata`, a MetadataMatcher
 * has `filter`/`path`/`value`.
 */
function isStructLike(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const messageKeys = ['filter_metadata', 'filterMetadata', 'typed_filter_metadata', 'typedFilterMetadata', 'filter', 'path', 'value', 'invert'];
  return !keys.some((k) => messageKeys.includes(k));
}
