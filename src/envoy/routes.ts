/**
 * HTTP route matching (Envoy `RouteMatcher` / `VirtualHostImpl`), enough to find which route — and so
 * which per-route RBAC override (`typed_per_filter_config`) — a request gets.
 *
 * Virtual host: exact domain, then suffix wildcards (`*.example.com`, longest first), then prefix
 * wildcards (`example.*`, longest first), then `*`. Host compared lower-cased; the port is stripped first
 * when the route configuration sets `ignore_port_in_host_matching`.
 * Route: the first route in order whose match succeeds: path specifier (`prefix`, `path`, `safe_regex`,
 * `path_separated_prefix`, `connect_matcher`), `case_sensitive`, `headers`, `query_parameters`, `grpc`,
 * `tls_context`. Regexes use RE2 with full-match semantics. What cannot be evaluated (runtime_fraction,
 * path_match_policy / URI templates, dynamic_metadata, filter_state, cel) is reported in `unevaluated`;
 * such a route is treated as not matching, and `uncertain` is set when it preceded the chosen route.
 */
import type { RE2 } from 're2-wasm';
import { re2 } from '../model/lazy.js';
import type { HttpAttrs, PeerTls } from '../model/attrs.js';
import type { ProtoObject, Route, RouteConfiguration, VirtualHost } from './model.js';
import { isObj } from './tls.js';

export interface RouteMatchResult {
  virtualHost: VirtualHost;
  route: Route;
  /** Matchers that could not be evaluated, with the route they belong to. */
  unevaluated: string[];
  /** True when a route before the chosen one could not be evaluated (it might have matched instead). */
  uncertain: boolean;
}

const reCache = new Map<string, RE2 | Error>();

/** Full-match RE2 test; throws an Error with the pattern when it does not compile. */
export function re2FullMatch(pattern: string, input: string): boolean {
  let re = reCache.get(pattern);
  if (!re) {
    try {
      re = new (re2())(`^(?:${pattern})$`, 'u');
    } catch (err) {
      re = new Error(`invalid RE2 regex ${JSON.stringify(pattern)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    reCache.set(pattern, re);
  }
  if (re instanceof Error) throw re;
  return re.test(input);
}

/** `envoy.type.matcher.v3.StringMatcher`; null = not evaluable. */
export function stringMatch(m: ProtoObject, value: string): boolean | null {
  const ic = m.ignore_case === true;
  const v = ic ? value.toLowerCase() : value;
  const s = (k: string) => (typeof m[k] === 'string' ? (ic ? (m[k] as string).toLowerCase() : (m[k] as string)) : null);
  if (s('exact') !== null) return v === s('exact');
  if (s('prefix') !== null) return v.startsWith(s('prefix')!);
  if (s('suffix') !== null) return v.endsWith(s('suffix')!);
  if (s('contains') !== null) return v.includes(s('contains')!);
  if (isObj(m.safe_regex) && typeof m.safe_regex.regex === 'string') return re2FullMatch(m.safe_regex.regex, value);
  if (typeof m.regex === 'string') return re2FullMatch(m.regex, value); // v2 (RE2 since Envoy 1.12 for route matchers)
  return null;
}

function headerValues(http: HttpAttrs, name: string): string[] | undefined {
  const n = name.toLowerCase();
  if (n === ':path') return http.path !== undefined ? [http.path] : undefined;
  if (n === ':method') return http.method !== undefined ? [http.method] : undefined;
  if (n === ':authority' || n === 'host') return http.authority !== undefined ? [http.authority] : http.headers[n];
  if (n === ':scheme') return http.scheme !== undefined ? [http.scheme] : undefined;
  return http.headers[n];
}

/** `config.route.v3.HeaderMatcher` (Envoy joins multiple values with ','); null = not evaluable. */
export function headerMatch(h: ProtoObject, http: HttpAttrs): boolean | null {
  const name = typeof h.name === 'string' ? h.name : '';
  const vals = headerValues(http, name);
  const invert = h.invert_match === true;
  let value: string | undefined = vals === undefined ? undefined : vals.join(',');
  if (value === undefined && h.treat_missing_header_as_empty === true) value = '';
  let r: boolean | null;
  if (h.present_match !== undefined) {
    r = value !== undefined ? h.present_match === true : h.present_match !== true;
    if (value === undefined) return invert ? !r : r;
  } else if (value === undefined) {
    return false; // a missing header never matches, even inverted (Envoy)
  } else if (typeof h.exact_match === 'string') r = value === h.exact_match;
  else if (typeof h.prefix_match === 'string') r = value.startsWith(h.prefix_match);
  else if (typeof h.suffix_match === 'string') r = value.endsWith(h.suffix_match);
  else if (typeof h.contains_match === 'string') r = value.includes(h.contains_match);
  else if (isObj(h.safe_regex_match) && typeof h.safe_regex_match.regex === 'string') r = re2FullMatch(h.safe_regex_match.regex, value);
  else if (isObj(h.range_match)) {
    if (!/^-?\d+$/.test(value)) r = false;
    else {
      const n = Number(value);
      r = n >= Number(h.range_match.start) && n < Number(h.range_match.end);
    }
  } else if (isObj(h.string_match)) r = stringMatch(h.string_match, value);
  else r = true; // no specifier: presence
  if (r === null) return null;
  return invert ? !r : r;
}

function pathOnly(p: string): string {
  const q = p.search(/[?#]/);
  return q >= 0 ? p.slice(0, q) : p;
}

function queryParams(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf('?');
  if (q < 0) return out;
  for (const kv of path.slice(q + 1).split('#')[0]!.split('&')) {
    if (!kv) continue;
    const eq = kv.indexOf('=');
    const k = eq >= 0 ? kv.slice(0, eq) : kv;
    if (!out.has(k)) out.set(k, eq >= 0 ? kv.slice(eq + 1) : '');
  }
  return out;
}

function routeMatches(r: Route, http: HttpAttrs, tls: PeerTls | null | undefined, notes: string[]): boolean | null {
  const m = r.match;
  const label = r.name || r.jsonPath;
  const path = http.path ?? '';
  const cs = m.case_sensitive !== false;
  const cmp = (a: string) => (cs ? a : a.toLowerCase());
  let ok: boolean | null;
  if (typeof m.prefix === 'string') ok = cmp(path).startsWith(cmp(m.prefix));
  else if (typeof m.path === 'string') ok = cmp(pathOnly(path)) === cmp(m.path);
  else if (isObj(m.safe_regex) && typeof m.safe_regex.regex === 'string') ok = re2FullMatch(m.safe_regex.regex, pathOnly(path));
  else if (typeof m.regex === 'string') ok = re2FullMatch(m.regex, pathOnly(path));
  else if (typeof m.path_separated_prefix === 'string') {
    const p = cmp(pathOnly(path));
    const pre = cmp(m.path_separated_prefix);
    ok = p === pre || p.startsWith(pre + '/');
  } else if (isObj(m.connect_matcher)) ok = (http.method ?? '').toUpperCase() === 'CONNECT';
  else if (isObj(m.path_match_policy)) {
    notes.push(`${label}: path_match_policy (URI template) not evaluated`);
    ok = null;
  } else ok = true;
  if (ok === false) return false;
  if (http.method?.toUpperCase() === 'CONNECT' && !isObj(m.connect_matcher) && typeof m.prefix === 'string') {
    // Envoy: CONNECT requests only match connect_matcher routes (unless upgrade configs say otherwise).
    return false;
  }
  for (const h of Array.isArray(m.headers) ? m.headers : []) {
    if (!isObj(h)) continue;
    const hr = headerMatch(h, http);
    if (hr === false) return false;
    if (hr === null) {
      notes.push(`${label}: header matcher on ${String(h.name)} not evaluated`);
      ok = null;
    }
  }
  const qp = queryParams(path);
  for (const q of Array.isArray(m.query_parameters) ? m.query_parameters : []) {
    if (!isObj(q) || typeof q.name !== 'string') continue;
    const v = qp.get(q.name);
    if (q.present_match === true) {
      if (v === undefined) return false;
    } else if (isObj(q.string_match)) {
      if (v === undefined) return false;
      const sr = stringMatch(q.string_match, v);
      if (sr === false) return false;
      if (sr === null) ok = null;
    } else if (v === undefined) return false;
  }
  if (isObj(m.grpc)) {
    const ct = (http.headers['content-type'] ?? [])[0] ?? '';
    if (!ct.startsWith('application/grpc')) return false;
  }
  if (isObj(m.tls_context)) {
    if (tls === undefined) {
      notes.push(`${label}: tls_context matcher needs the connection's TLS facts`);
      ok = null;
    } else {
      if (m.tls_context.presented !== undefined && (m.tls_context.presented === true) !== (tls !== null && (tls.uriSans.length > 0 || tls.dnsSans.length > 0 || tls.subject !== ''))) return false;
      if (m.tls_context.validated !== undefined && (m.tls_context.validated === true) !== (tls?.peerCertificateValidated ?? false)) return false;
    }
  }
  for (const k of ['runtime_fraction', 'dynamic_metadata', 'filter_state', 'cel']) {
    if (m[k] !== undefined) {
      notes.push(`${label}: ${k} not evaluated`);
      ok = null;
    }
  }
  return ok;
}

/** Chooses the virtual host for an authority (Envoy domain matching). */
export function matchVirtualHost(rc: RouteConfiguration, authority: string | undefined): VirtualHost | null {
  let host = (authority ?? '').toLowerCase();
  if (rc.ignorePortInHostMatching) host = host.replace(/:\d+$/, '');
  let best: { vh: VirtualHost; len: number } | null = null;
  for (const vh of rc.virtualHosts) if (vh.domains.some((d) => d.toLowerCase() === host)) return vh;
  for (const vh of rc.virtualHosts) {
    for (const d0 of vh.domains) {
      const d = d0.toLowerCase();
      if (d.length > 1 && d.startsWith('*') && host.length > d.length - 1 && host.endsWith(d.slice(1)) && (!best || d.length > best.len)) best = { vh, len: d.length };
    }
  }
  if (best) return best.vh;
  for (const vh of rc.virtualHosts) {
    for (const d0 of vh.domains) {
      const d = d0.toLowerCase();
      if (d.length > 1 && d.endsWith('*') && host.length > d.length - 1 && host.startsWith(d.slice(0, -1)) && (!best || d.length > best.len)) best = { vh, len: d.length };
    }
  }
  if (best) return best.vh;
  return rc.virtualHosts.find((vh) => vh.domains.includes('*')) ?? null;
}

export function matchRoute(rc: RouteConfiguration, http: HttpAttrs, tls?: PeerTls | null): RouteMatchResult | null {
  const vh = matchVirtualHost(rc, http.authority);
  if (!vh) return null;
  const unevaluated: string[] = [];
  let uncertain = false;
  for (const r of vh.routes) {
    const ok = routeMatches(r, http, tls, unevaluated);
    if (ok === true) return { virtualHost: vh, route: r, unevaluated, uncertain };
    if (ok === null) uncertain = true;
  }
  return null;
}
