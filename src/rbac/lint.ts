/**
 * Lints for RBAC configs: things Envoy accepts that rarely mean what their author meant.
 *  - `cidr-without-prefix-len`: a CidrRange without `prefix_len` is /0 (the field is a UInt32Value whose
 *    default is 0), so it matches every address of its family (envoy#35421);
 *  - `principal-regex-unescaped-dot`: a `principal_name` regex with a bare `.` between name characters
 *    (`spiffe://cluster.local/…` also matches `cluster-local`);
 *  - `path-header-matcher`: a header matcher on `:path` sees the raw path, query string included and not
 *    normalised unless the HCM normalises it, where `url_path` sees the path without query or fragment;
 *  - `shadowed-by-match-all`: a policy that sorts after a policy matching every request never decides
 *    (Envoy tries policies in name order and reports the first that matches).
 * Works on the normalised (snake_case) config; pure.
 */
import { isObj, jp, type Obj } from './cfg.js';
import { compareUtf8 } from './policy.js';

export interface RbacLint {
  id: 'cidr-without-prefix-len' | 'principal-regex-unescaped-dot' | 'path-header-matcher' | 'shadowed-by-match-all';
  severity: 'warning' | 'info';
  /** JSON path inside the filter config. */
  path: string;
  message: string;
}

const CIDR_KEYS = new Set(['destination_ip', 'source_ip', 'direct_remote_ip', 'remote_ip', 'upstream_ip']);
const CIDR_LISTS = new Set(['cidr_ranges', 'ranges']);

function cidrLint(o: Obj, path: string, out: RbacLint[]): void {
  if (typeof o.address_prefix !== 'string' || o.prefix_len !== undefined) return;
  const fam = o.address_prefix.includes(':') ? 'IPv6' : 'IPv4';
  out.push({
    id: 'cidr-without-prefix-len',
    severity: 'warning',
    path,
    message: `CIDR ${o.address_prefix} has no prefix_len: Envoy reads it as ${o.address_prefix}/0, which matches every ${fam} address (envoy#35421); write prefix_len: ${fam === 'IPv4' ? 32 : 128} for one address`,
  });
}

/** A regex `.` that is not escaped, not in a class, and sits between two name characters. */
function unescapedDot(re: string): boolean {
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '.' && !inClass && /[A-Za-z0-9-]/.test(re[i - 1] ?? '') && /[A-Za-z0-9-]/.test(re[i + 1] ?? '')) return true;
  }
  return false;
}

function walk(v: unknown, path: string, parentKey: string, out: RbacLint[]): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => walk(x, jp(path, i), CIDR_LISTS.has(parentKey) ? `${parentKey}[]` : parentKey, out));
    return;
  }
  if (!isObj(v)) return;
  if (CIDR_KEYS.has(parentKey) || parentKey.endsWith('[]')) cidrLint(v, path, out);
  if (parentKey === 'principal_name') {
    const sr = isObj(v.safe_regex) ? v.safe_regex.regex : v.regex;
    if (typeof sr === 'string' && unescapedDot(sr)) {
      out.push({ id: 'principal-regex-unescaped-dot', severity: 'warning', path: jp(path, isObj(v.safe_regex) ? 'safe_regex' : 'regex'), message: `principal_name regex ${JSON.stringify(sr)} has an unescaped '.', which matches any character (write '\\.' for a literal dot)` });
    }
  }
  if (parentKey === 'header' && v.name === ':path') {
    out.push({ id: 'path-header-matcher', severity: 'info', path, message: "header matcher on ':path' sees the raw path: query string included, and not normalised unless the HCM normalises it (normalize_path, merge_slashes); url_path matches the path without query or fragment" });
  }
  if (typeof v['@type'] === 'string' && v['@type'].endsWith('.HttpRequestHeaderMatchInput') && v.header_name === ':path') {
    out.push({ id: 'path-header-matcher', severity: 'info', path, message: "matcher input ':path' sees the raw path: query string included, and not normalised unless the HCM normalises it" });
  }
  for (const [k, x] of Object.entries(v)) walk(x, jp(path, k), k, out);
}

function isAny(v: unknown): boolean {
  return Array.isArray(v) && v.some((x) => isObj(x) && x.any === true);
}

function shadowed(rules: unknown, path: string, out: RbacLint[]): void {
  if (!isObj(rules) || !isObj(rules.policies)) return;
  const names = Object.keys(rules.policies).sort(compareUtf8);
  const pols = rules.policies;
  const all = names.find((n) => {
    const p = pols[n];
    return isObj(p) && isAny(p.permissions) && isAny(p.principals) && p.condition === undefined;
  });
  if (all === undefined) return;
  for (const n of names.slice(names.indexOf(all) + 1)) {
    out.push({ id: 'shadowed-by-match-all', severity: 'warning', path: jp(jp(path, 'policies'), n), message: `policy ${JSON.stringify(n)} never decides: ${JSON.stringify(all)} sorts before it and matches every request (any permission, any principal)` });
  }
}

/** Lints one RBAC filter (or RBACPerRoute.rbac) config, normalised to snake_case. */
export function lintRbacConfig(config: unknown, path = '$'): RbacLint[] {
  const out: RbacLint[] = [];
  walk(config, path, '', out);
  if (isObj(config)) {
    shadowed(config.rules, jp(path, 'rules'), out);
    shadowed(config.shadow_rules, jp(path, 'shadow_rules'), out);
  }
  return out;
}
