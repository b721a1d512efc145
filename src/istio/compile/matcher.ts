/**
 * Envoy matcher builders, snake_case, mirroring istiod's `pilot/pkg/security/authz/matcher`
 * (string.go, header.go, metadata.go, template.go, cidr.go). Version-dependent forms take
 * `RenderFeatures`.
 */
import type { RenderFeatures } from './version.js';

export type Json = Record<string, unknown>;

/** Go's regexp.QuoteMeta: escapes `\.+*?()|[]{}^$`. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}

export const stringExact = (exact: string, ignoreCase = false): Json => (ignoreCase ? { exact, ignore_case: true } : { exact });
export const stringPrefix = (prefix: string, ignoreCase = false): Json => (ignoreCase ? { prefix, ignore_case: true } : { prefix });
export const stringSuffix = (suffix: string, ignoreCase = false): Json => (ignoreCase ? { suffix, ignore_case: true } : { suffix });
export const stringRegex = (regex: string): Json => ({ safe_regex: { regex } });

/** `StringMatcherWithPrefix`: `*` → regex `.+`; `*x` → suffix (or regex when a prefix is added); `x*` → prefix; else exact. */
export function stringMatcherWithPrefix(v: string, prefix: string): Json {
  if (v === '*') return stringRegex('.+');
  if (v.startsWith('*')) {
    if (prefix === '') return stringSuffix(v.slice(1));
    return stringRegex(quoteMeta(prefix) + '.*' + quoteMeta(v.slice(1)));
  }
  if (v.endsWith('*')) return stringPrefix(prefix + v.slice(0, -1));
  return stringExact(prefix + v);
}

export const stringMatcher = (v: string): Json => stringMatcherWithPrefix(v, '');

/** A ValueMatcher OR over string matchers; a single one is returned bare (`OrMatcher`). */
export function orValueMatcher(matchers: Json[]): Json {
  if (matchers.length === 1) return matchers[0]!;
  return { or_match: { value_matchers: matchers } };
}

export function stringOrMatcher(values: string[]): Json {
  return orValueMatcher(values.map((v) => ({ string_match: stringMatcher(v) })));
}

/** `HeaderMatcher(k, v)`: `*` → present_match; 1.20+ `string_match`, earlier the deprecated direct fields. */
export function headerMatcher(name: string, v: string, f: RenderFeatures): Json {
  if (v === '*') return { name, present_match: true };
  const sm = stringMatcher(v);
  if (f.headerStringMatch) return { name, string_match: sm };
  return { name, ...legacyHeaderFields(sm) };
}

function legacyHeaderFields(sm: Json): Json {
  if ('exact' in sm) return { exact_match: sm.exact };
  if ('prefix' in sm) return { prefix_match: sm.prefix };
  if ('suffix' in sm) return { suffix_match: sm.suffix };
  return { safe_regex_match: sm.safe_regex };
}

/** `HostMatcher`: case-insensitive; before 1.11 a `(?i)` regex (`HostMatcherWithRegex`). */
export function hostMatcher(name: string, v: string, f: RenderFeatures): Json {
  if (v === '*') return { name, present_match: true };
  if (!f.hostIgnoreCase) {
    let regex: string;
    if (v.startsWith('*')) regex = '.*' + quoteMeta(v.slice(1));
    else if (v.endsWith('*')) regex = quoteMeta(v.slice(0, -1)) + '.*';
    else regex = quoteMeta(v);
    return { name, safe_regex_match: { regex: '(?i)' + regex } };
  }
  return { name, string_match: { ...stringMatcher(v), ignore_case: true } };
}

export function pathMatcher(path: string): Json {
  return { path: stringMatcher(path) };
}

export const MATCH_ONE_TEMPLATE = '{*}';
export const MATCH_ANY_TEMPLATE = '{**}';

export function containsPathTemplate(p: string): boolean {
  return p.includes(MATCH_ONE_TEMPLATE) || p.includes(MATCH_ANY_TEMPLATE);
}

export function pathTemplateMatcher(path: string): Json {
  const t = path.replaceAll(MATCH_ONE_TEMPLATE, '*').replaceAll(MATCH_ANY_TEMPLATE, '**');
  return {
    name: 'uri-template',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig', path_template: t },
  };
}

export function metadataStringMatcher(filter: string, key: string, m: Json): Json {
  return { filter, path: [{ key }], value: { string_match: m } };
}

export function metadataListMatcher(filter: string, keys: string[], m: Json): Json {
  return { filter, path: keys.map((key) => ({ key })), value: { list_match: { one_of: { string_match: m } } } };
}

export function metadataValueMatcher(filter: string, key: string, value: Json): Json {
  return { filter, path: [{ key }], value };
}

/** Parses an IP or CIDR the way `AddrStrToCidrRange` does: bare IPv4 → /32, IPv6 → /128; the address is kept as written. */
export function cidrRange(v: string): Json {
  const slash = v.indexOf('/');
  const addr = slash >= 0 ? v.slice(0, slash) : v;
  const isV4 = isIPv4(addr);
  const isV6 = !isV4 && isIPv6(addr);
  if (!isV4 && !isV6) throw new Error(`invalid IP address: ${v}`);
  let len = isV4 ? 32 : 128;
  if (slash >= 0) {
    const t = v.slice(slash + 1);
    if (!/^\d+$/.test(t) || Number(t) > len) throw new Error(`invalid cidr range: ${v}`);
    len = Number(t);
  }
  return { address_prefix: addr, prefix_len: len };
}

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = s.split(':').filter((g) => g !== '');
  const last = groups[groups.length - 1];
  const v4tail = last !== undefined && last.includes('.');
  if (v4tail && !isIPv4(last!)) return false;
  const n = groups.length + (v4tail ? 1 : 0);
  if (!groups.every((g) => g.includes('.') || /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return dbl.length === 2 ? n < 8 : n === 8;
}
