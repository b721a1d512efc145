/**
 * `meshsleuth policies`: every RBAC and ext_authz filter per proxy → listener → filter chain, in the
 * order Envoy runs them (network filters, then the HTTP filters of the connection manager), with
 * the Istio meaning of each (ALLOW / DENY / AUDIT / CUSTOM, enforced or shadow = dry-run), policy ids
 * decoded, rule counts, and the inbound mTLS mode per port.
 *
 * Also `authzCheckSummary`, a faithful re-implementation of `istioctl x authz check`'s table
 * (istioctl/pkg/authz/listener.go), so the two can be compared on the same dump.
 */
import type { ConfigDump, FilterChain, HttpFilter, Listener, NetworkFilter, NodeInfo, NotUnderstood, ProtoObject, RouteConfiguration } from '../envoy/model.js';
import { isHttpExtAuthz, isHttpRbac, isNetworkExtAuthz, isNetworkRbac } from '../envoy/filters.js';
import { isObj } from '../envoy/tls.js';
import { CUSTOM_PREFIX, MATCH_NOTHING, parsePolicyId, type PolicyId } from '../istio/policy-id.js';
import { chainSecurity, inboundMtlsModes, type ChainSecurity, type PortMtls } from '../istio/mtls.js';
import { appendAll } from '../model/arrays.js';
import { RbacConfigError, normalizeRbacConfig, parseMatcherTree, summarizeMatcherTree, lintRbacConfig, type RbacLint } from '../rbac/index.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';
/** The Istio AuthorizationPolicy action a policy comes from. */
export type IstioAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface PolicySummary {
  id: string;
  namespace: string | null;
  policy: string | null;
  rule: number | null;
  /** Istio action: AUDIT for RBAC LOG, CUSTOM for `istio-ext-authz-` ids and bad-CUSTOM denies. */
  istioAction: IstioAction;
  /** false = shadow rule (dry-run, or the CUSTOM marker that only triggers ext_authz). */
  enforced: boolean;
  dryRun: boolean;
  provider: string | null;
  badCustom: boolean;
  format: PolicyId['format'];
  permissions: number;
  principals: number;
}

export interface RbacRulesSummary {
  action: RbacAction;
  /** Number of policies; 0 with `rules` present under ALLOW means "deny everything". */
  policyCount: number;
  /** Set when the filter uses a matcher tree (`matcher` / `shadow_matcher`) instead of rules. */
  matcherTree: boolean;
}

export interface RbacFilterSummary {
  type: 'rbac';
  kind: 'http' | 'network';
  name: string;
  typeUrl: string;
  /** Position among the chain's network filters, or among the HCM's HTTP filters. */
  position: number;
  /** `rules` (enforced), null when absent (the filter enforces nothing). */
  rules: RbacRulesSummary | null;
  /** `shadow_rules`, null when absent. */
  shadowRules: RbacRulesSummary | null;
  statPrefix: string | null;
  shadowRulesStatPrefix: string | null;
  /** What the filter does, in Istio terms. */
  role: 'enforce' | 'deny-all' | 'dry-run' | 'custom-marker' | 'custom-bad' | 'none';
  /** One-line human description. */
  summary: string;
  /** HTTP filter `disabled: true` (off unless a route enables it). */
  disabled: boolean;
  policies: PolicySummary[];
  /** What Envoy accepts but rarely means (CIDR without prefix_len, unescaped dots, `:path` headers, shadowed policies). */
  lints: RbacLint[];
  jsonPath: string;
}

export interface ExtAuthzSummary {
  type: 'ext_authz';
  kind: 'http' | 'network';
  name: string;
  typeUrl: string;
  position: number;
  /** gRPC cluster (`envoy_grpc.cluster_name`), Google gRPC target, or HTTP server URI. */
  target: string | null;
  /** Only runs when this dynamic metadata matches (Istio CUSTOM pairing with the shadow RBAC filter). */
  enabledBy: { filter: string; key: string; match: string } | null;
  /** CUSTOM provider derived from `enabledBy` (`istio-ext-authz-<provider>` prefix), when present. */
  provider: string | null;
  failureModeAllow: boolean;
  disabled: boolean;
  summary: string;
  jsonPath: string;
}

export type AuthzFilterSummary = RbacFilterSummary | ExtAuthzSummary;

export interface PerRouteRbac {
  routeConfig: string;
  virtualHost: string;
  route: string | null;
  /** `disabled` (RBACPerRoute without rbac) or the override's rules summary. */
  disabled: boolean;
  summary: string;
  lints: RbacLint[];
  jsonPath: string;
}

export interface ChainPolicies {
  name: string;
  index: number;
  isDefault: boolean;
  /** `destination_port` of the match, else the listener's port; null for original-destination listeners
   * (virtualInbound/virtualOutbound) without a port match (any port) and for internal listeners. */
  port: number | null;
  match: string;
  transportProtocol: string;
  applicationProtocols: string[];
  security: ChainSecurity;
  terminatesTls: boolean;
  requireClientCertificate: boolean;
  /**
   * When the chain terminates TLS: `required` (mTLS), `optional` (a trusted CA is configured but
   * `require_client_certificate` is false: a certificate is requested and validated if sent, optional mTLS),
   * `not-requested`; null when it does not terminate TLS.
   */
  clientCertificate: 'required' | 'optional' | 'not-requested' | null;
  serverAlpn: string[];
  sdsCerts: string[];
  certFiles: string[];
  /** Network filters first, then HTTP filters, in execution order. */
  filters: AuthzFilterSummary[];
  perRoute: PerRouteRbac[];
  /** Network filter names in order (for context). */
  networkFilters: string[];
  routeConfig: string | null;
  jsonPath: string;
}

export interface ListenerPolicies {
  name: string;
  address: string | null;
  port: number | null;
  state: Listener['state'];
  direction: Listener['trafficDirection'];
  internal: boolean;
  chains: ChainPolicies[];
  jsonPath: string;
}

export interface PolicyCounts {
  httpRbac: number;
  networkRbac: number;
  httpExtAuthz: number;
  networkExtAuthz: number;
  /** RBAC filters with enforcing rules / only shadow rules. */
  enforcing: number;
  shadowOnly: number;
  perRouteOverrides: number;
}

export interface ProxyPolicies {
  source: string;
  node: Pick<NodeInfo, 'id' | 'pod' | 'namespace' | 'ip' | 'ips' | 'istioVersion' | 'envoyVersion'> | null;
  sections: string[];
  counts: PolicyCounts;
  listeners: ListenerPolicies[];
  mtls: PortMtls[];
  /** Policies aggregated per AuthorizationPolicy (all chains), for a quick overview. */
  authorizationPolicies: AuthorizationPolicyRow[];
  notUnderstood: NotUnderstood[];
}

export interface AuthorizationPolicyRow {
  istioAction: IstioAction | 'NONE';
  name: string;
  namespace: string | null;
  policy: string | null;
  /** Distinct rule indexes. */
  rules: number;
  enforced: boolean;
  dryRun: boolean;
  provider: string | null;
  /** Listener/chain ids it appears in. */
  chains: string[];
}

// --- RBAC filter decoding -------------------------------------------------------------------------

function rulesSummary(r: unknown): RbacRulesSummary | null {
  if (!isObj(r)) return null;
  const action = r.action === 'DENY' || r.action === 'LOG' ? r.action : 'ALLOW';
  const pol = isObj(r.policies) ? r.policies : {};
  return { action, policyCount: Object.keys(pol).length, matcherTree: false };
}

function countList(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

function policiesOf(r: unknown, enforced: boolean): PolicySummary[] {
  if (!isObj(r) || !isObj(r.policies)) return [];
  const action: RbacAction = r.action === 'DENY' || r.action === 'LOG' ? r.action : 'ALLOW';
  return Object.entries(r.policies).map(([id, p]) => {
    const d = parsePolicyId(id);
    let istioAction: IstioAction = action === 'LOG' ? 'AUDIT' : action;
    if (d.custom || d.badCustom) istioAction = 'CUSTOM';
    const pp = isObj(p) ? p : {};
    return {
      id,
      namespace: d.namespace,
      policy: d.policy,
      rule: d.rule,
      istioAction,
      enforced,
      // Shadow rules that are not the CUSTOM marker are dry-run policies; a CUSTOM id in enforced rules is a dry-run CUSTOM.
      dryRun: enforced ? d.custom && !d.badCustom : !d.custom,
      provider: d.provider,
      badCustom: d.badCustom,
      format: d.format,
      permissions: countList(pp.permissions),
      principals: countList(pp.principals),
    };
  });
}

/** JSON path of a filter's config (its typed_config, legacy config or TypedStruct value). */
function configPath(f: { jsonPath: string; configSource?: string }): string {
  switch (f.configSource) {
    case 'typed_config':
      return `${f.jsonPath}.typed_config`;
    case 'typed_struct':
      return `${f.jsonPath}.typed_config.value`;
    case 'config':
      return `${f.jsonPath}.config`;
    default:
      return f.jsonPath;
  }
}

/** A matcher tree's actions with the conditions that lead to each (or why it cannot be read). */
function matcherSummary(kind: 'http' | 'network', m: unknown): string {
  try {
    return summarizeMatcherTree(parseMatcherTree(normalizeRbacConfig(m), '$', kind).tree);
  } catch (e) {
    if (e instanceof RbacConfigError) return `matcher tree Envoy would reject (${e.location.path ?? '$'}: ${e.reason})`;
    throw e;
  }
}

/** Summarises one RBAC filter config (HTTP or network; snake_case). */
export function summarizeRbac(kind: 'http' | 'network', f: { name: string; typeUrl: string; config: ProtoObject; jsonPath: string; disabled?: boolean; configSource?: string }, position: number): RbacFilterSummary {
  const cfg = f.config;
  let rules = rulesSummary(cfg.rules);
  let shadowRules = rulesSummary(cfg.shadow_rules);
  if (!rules && isObj(cfg.matcher)) rules = { action: 'ALLOW', policyCount: 0, matcherTree: true };
  if (!shadowRules && isObj(cfg.shadow_matcher)) shadowRules = { action: 'ALLOW', policyCount: 0, matcherTree: true };
  const policies = [...policiesOf(cfg.rules, true), ...policiesOf(cfg.shadow_rules, false)];
  const statPrefix = typeof cfg.stat_prefix === 'string' ? cfg.stat_prefix : null;
  const shadowPrefix = typeof cfg.shadow_rules_stat_prefix === 'string' ? cfg.shadow_rules_stat_prefix : null;
  let role: RbacFilterSummary['role'] = 'none';
  let summary = 'no rules: enforces nothing';
  const enforcedCustomBad = policies.some((p) => p.enforced && p.badCustom);
  if (rules?.matcherTree) {
    role = 'enforce';
    summary = matcherSummary(kind, cfg.matcher);
  } else if (rules) {
    const act = rules.action === 'LOG' ? 'AUDIT (LOG: never denies)' : rules.action;
    if (rules.policyCount === 0) {
      role = rules.action === 'ALLOW' ? 'deny-all' : 'none';
      summary = rules.action === 'ALLOW' ? 'ALLOW with no policies: DENIES EVERYTHING' : `${act} with no policies: matches nothing`;
    } else if (enforcedCustomBad) {
      role = 'custom-bad';
      summary = `DENY (bad CUSTOM provider config): ${rules.policyCount} polic${rules.policyCount === 1 ? 'y' : 'ies'} enforced as deny`;
    } else {
      role = 'enforce';
      summary = `${act}: ${rules.policyCount} polic${rules.policyCount === 1 ? 'y' : 'ies'} enforced`;
    }
  }
  if (shadowRules) {
    const shadowCustom = policies.some((p) => !p.enforced && p.istioAction === 'CUSTOM');
    const s = shadowRules.matcherTree
      ? `shadow ${matcherSummary(kind, cfg.shadow_matcher)} (never enforced)`
      : shadowCustom
        ? `CUSTOM marker: ${shadowRules.policyCount} shadow ${shadowRules.action} polic${shadowRules.policyCount === 1 ? 'y' : 'ies'} select requests for ext_authz`
        : `dry-run ${shadowRules.action === 'LOG' ? 'AUDIT' : shadowRules.action}: ${shadowRules.policyCount} shadow polic${shadowRules.policyCount === 1 ? 'y' : 'ies'} (never enforced)`;
    if (!rules) {
      role = shadowCustom ? 'custom-marker' : 'dry-run';
      summary = s;
    } else summary += `; ${s}`;
  }
  if (f.disabled) summary += ' [filter disabled unless a route enables it]';
  return {
    type: 'rbac',
    kind,
    name: f.name,
    typeUrl: f.typeUrl,
    position,
    rules,
    shadowRules,
    statPrefix,
    shadowRulesStatPrefix: shadowPrefix,
    role,
    summary,
    disabled: f.disabled === true,
    policies,
    lints: lintRbacConfig(normalizeRbacConfig(cfg), configPath(f)),
    jsonPath: f.jsonPath,
  };
}

export function summarizeExtAuthz(kind: 'http' | 'network', f: { name: string; typeUrl: string; config: ProtoObject; jsonPath: string; disabled?: boolean }, position: number): ExtAuthzSummary {
  const c = f.config;
  let target: string | null = null;
  if (isObj(c.grpc_service)) {
    const g = c.grpc_service;
    if (isObj(g.envoy_grpc)) target = `grpc ${String(g.envoy_grpc.cluster_name ?? '')}`;
    else if (isObj(g.google_grpc)) target = `google-grpc ${String(g.google_grpc.target_uri ?? '')}`;
  } else if (isObj(c.http_service)) {
    const h = c.http_service;
    const uri = isObj(h.server_uri) ? String(h.server_uri.uri ?? h.server_uri.cluster ?? '') : '';
    target = `http ${uri}${typeof h.path_prefix === 'string' ? ` (path prefix ${h.path_prefix})` : ''}`;
  }
  let enabledBy: ExtAuthzSummary['enabledBy'] = null;
  let provider: string | null = null;
  const fem = c.filter_enabled_metadata;
  if (isObj(fem)) {
    const key = Array.isArray(fem.path) ? fem.path.map((p) => (isObj(p) ? String(p.key ?? '') : '')).join('.') : '';
    const sm = isObj(fem.value) && isObj(fem.value.string_match) ? fem.value.string_match : null;
    const match = sm ? Object.entries(sm).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ') : JSON.stringify(fem.value ?? null);
    enabledBy = { filter: String(fem.filter ?? ''), key, match };
    if (sm && typeof sm.prefix === 'string' && sm.prefix.startsWith(CUSTOM_PREFIX)) provider = sm.prefix.slice(CUSTOM_PREFIX.length) || null;
  }
  const failureModeAllow = c.failure_mode_allow === true;
  const summary = `ext_authz → ${target ?? '(no service)'}${enabledBy ? `, only when ${enabledBy.filter}:${enabledBy.key} ${enabledBy.match}` : ''}${failureModeAllow ? ', fail-open' : ''}`;
  return { type: 'ext_authz', kind, name: f.name, typeUrl: f.typeUrl, position, target, enabledBy, provider, failureModeAllow, disabled: f.disabled === true, summary, jsonPath: f.jsonPath };
}

// --- per chain ------------------------------------------------------------------------------------

/** `istioctl proxy-config listener`-like match description. */
export function describeMatch(c: FilterChain): string {
  const m = c.match;
  const parts: string[] = [];
  if (m.serverNames.length) parts.push(`SNI: ${m.serverNames.join(',')}`);
  if (m.transportProtocol) parts.push(`Trans: ${m.transportProtocol}`);
  if (m.applicationProtocols.length) parts.push(`App: ${m.applicationProtocols.join(',')}`);
  const addr = m.prefixRanges.map((r) => `${r.addressPrefix}/${r.prefixLen}`).join(',');
  if (addr || m.destinationPort !== null) parts.push(`Addr: ${addr || '*'}${m.destinationPort !== null ? `:${m.destinationPort}` : ''}`);
  if (m.directSourcePrefixRanges.length) parts.push(`DirectSrc: ${m.directSourcePrefixRanges.map((r) => `${r.addressPrefix}/${r.prefixLen}`).join(',')}`);
  if (m.sourcePrefixRanges.length) parts.push(`Src: ${m.sourcePrefixRanges.map((r) => `${r.addressPrefix}/${r.prefixLen}`).join(',')}`);
  if (m.sourceType !== 'ANY') parts.push(`SrcType: ${m.sourceType}`);
  if (m.sourcePorts.length) parts.push(`SrcPort: ${m.sourcePorts.join(',')}`);
  return parts.length ? parts.join('; ') : 'ALL';
}

function perRouteOverrides(rc: RouteConfiguration | null, rbacNames: string[]): PerRouteRbac[] {
  if (!rc || rbacNames.length === 0) return [];
  const out: PerRouteRbac[] = [];
  const look = (tpfc: Record<string, ProtoObject>, vh: string, route: string | null, jsonPath: string) => {
    for (const n of rbacNames) {
      const raw = tpfc[n];
      if (!isObj(raw)) continue;
      // FilterConfig wrapper (`envoy.config.route.v3.FilterConfig`) holds the real config in `config`.
      const v = isObj(raw.config) && String(raw['@type'] ?? '').endsWith('.FilterConfig') ? raw.config : raw;
      if (isObj(v.rbac)) {
        const s = summarizeRbac('http', { name: n, typeUrl: String(v.rbac['@type'] ?? ''), config: v.rbac, jsonPath }, 0);
        out.push({ routeConfig: rc.name, virtualHost: vh, route, disabled: false, summary: `override: ${s.summary}`, lints: s.lints, jsonPath });
      } else {
        out.push({ routeConfig: rc.name, virtualHost: vh, route, disabled: true, summary: 'RBAC disabled on this route (RBACPerRoute without rbac)', lints: [], jsonPath });
      }
    }
  };
  look(rc.typedPerFilterConfig, '*', null, rc.jsonPath);
  for (const vh of rc.virtualHosts) {
    look(vh.typedPerFilterConfig, vh.name, null, vh.jsonPath);
    for (const r of vh.routes) look(r.typedPerFilterConfig, vh.name, r.name || null, r.jsonPath);
  }
  return out;
}

/** Listeners whose chains see the original destination (use_original_dst, or an original_dst listener filter). */
function matchesOriginalDestination(l: Listener): boolean {
  return l.useOriginalDst || l.listenerFilters.some((f) => /original_dst/.test(f.name) || /OriginalDst$/.test(f.typeUrl));
}

function chainPolicies(l: Listener, c: FilterChain): ChainPolicies {
  const filters: AuthzFilterSummary[] = [];
  const perRoute: PerRouteRbac[] = [];
  let routeConfig: string | null = null;
  c.filters.forEach((nf: NetworkFilter, i) => {
    if (isNetworkRbac(nf)) filters.push(summarizeRbac('network', nf, i));
    else if (isNetworkExtAuthz(nf)) filters.push(summarizeExtAuthz('network', nf, i));
  });
  for (const nf of c.filters) {
    if (!nf.hcm) continue;
    routeConfig = nf.hcm.routeConfig?.name ?? nf.hcm.rdsName ?? null;
    const rbacNames: string[] = [];
    nf.hcm.httpFilters.forEach((hf: HttpFilter, j) => {
      if (isHttpRbac(hf)) {
        filters.push(summarizeRbac('http', hf, j));
        rbacNames.push(hf.name);
      } else if (isHttpExtAuthz(hf)) filters.push(summarizeExtAuthz('http', hf, j));
    });
    appendAll(perRoute, perRouteOverrides(nf.hcm.routeConfig, rbacNames));
  }
  const tls = c.transportSocket?.tls ?? null;
  return {
    name: c.name,
    index: c.index,
    isDefault: c.isDefault,
    port: c.match.destinationPort ?? (matchesOriginalDestination(l) ? null : (l.address?.port ?? null)),
    match: describeMatch(c),
    transportProtocol: c.match.transportProtocol,
    applicationProtocols: c.match.applicationProtocols,
    security: chainSecurity(c),
    terminatesTls: tls !== null,
    requireClientCertificate: tls?.requireClientCertificate ?? false,
    clientCertificate: tls ? (tls.requireClientCertificate ? 'required' : tls.requestClientCertificate ? 'optional' : 'not-requested') : null,
    serverAlpn: tls?.alpn ?? [],
    sdsCerts: tls?.sdsCerts ?? [],
    certFiles: tls?.certFiles ?? [],
    filters,
    perRoute,
    networkFilters: c.filters.map((f) => f.name),
    routeConfig,
    jsonPath: c.jsonPath,
  };
}

function aggregate(listeners: ListenerPolicies[]): AuthorizationPolicyRow[] {
  const rows = new Map<string, AuthorizationPolicyRow & { ruleSet: Set<number> }>();
  for (const l of listeners) {
    for (const c of l.chains) {
      const chainId = `${l.name}/${c.isDefault ? 'default' : c.index}:${c.name}`;
      for (const f of c.filters) {
        if (f.type !== 'rbac') continue;
        for (const p of f.policies) {
          const name = p.format === 'istio' ? `${p.policy}.${p.namespace}` : p.id;
          const key = `${p.istioAction}|${p.enforced}|${p.dryRun}|${name}`;
          let row = rows.get(key);
          if (!row) {
            row = { istioAction: p.istioAction, name, namespace: p.namespace, policy: p.policy, rules: 0, enforced: p.enforced, dryRun: p.dryRun, provider: p.provider, chains: [], ruleSet: new Set() };
            rows.set(key, row);
          }
          // Non-Istio ids (v1alpha1 ServiceRole names, hand-written configs) count as one rule each.
          row.ruleSet.add(p.rule ?? -1);
          if (!row.chains.includes(chainId)) row.chains.push(chainId);
        }
        if (f.role === 'deny-all') {
          const key = `ALLOW|true|false|${MATCH_NOTHING}`;
          let row = rows.get(key);
          if (!row) {
            row = { istioAction: 'ALLOW', name: MATCH_NOTHING, namespace: null, policy: null, rules: 0, enforced: true, dryRun: false, provider: null, chains: [], ruleSet: new Set([0]) };
            rows.set(key, row);
          }
          if (!row.chains.includes(chainId)) row.chains.push(chainId);
        }
      }
    }
  }
  const order: Record<string, number> = { CUSTOM: 0, DENY: 1, ALLOW: 2, AUDIT: 3, NONE: 4 };
  return [...rows.values()]
    .map(({ ruleSet, ...r }) => ({ ...r, rules: ruleSet.size || (r.name === MATCH_NOTHING ? 1 : 0) }))
    .sort((a, b) => (order[a.istioAction]! - order[b.istioAction]!) || Number(b.enforced) - Number(a.enforced) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function analyzePolicies(dump: ConfigDump): ProxyPolicies {
  const listeners: ListenerPolicies[] = dump.listeners.map((l) => ({
    name: l.displayName,
    address: l.address?.address ?? null,
    port: l.address?.port ?? null,
    state: l.state,
    direction: l.trafficDirection,
    internal: l.internal,
    chains: [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])].map((c) => chainPolicies(l, c)),
    jsonPath: l.jsonPath,
  }));
  const counts: PolicyCounts = { httpRbac: 0, networkRbac: 0, httpExtAuthz: 0, networkExtAuthz: 0, enforcing: 0, shadowOnly: 0, perRouteOverrides: 0 };
  for (const l of listeners) {
    for (const c of l.chains) {
      counts.perRouteOverrides += c.perRoute.length;
      for (const f of c.filters) {
        if (f.type === 'rbac') {
          if (f.kind === 'http') counts.httpRbac++;
          else counts.networkRbac++;
          if (f.rules) counts.enforcing++;
          else if (f.shadowRules) counts.shadowOnly++;
        } else if (f.kind === 'http') counts.httpExtAuthz++;
        else counts.networkExtAuthz++;
      }
    }
  }
  const n = dump.node;
  return {
    source: dump.source,
    node: n ? { id: n.id, pod: n.pod, namespace: n.namespace, ip: n.ip, ips: n.ips, istioVersion: n.istioVersion, envoyVersion: n.envoyVersion } : null,
    sections: dump.sections,
    counts,
    listeners,
    mtls: inboundMtlsModes(dump),
    authorizationPolicies: aggregate(listeners),
    notUnderstood: dump.notUnderstood,
  };
}

// --- istioctl x authz check -----------------------------------------------------------------------

export interface AuthzCheckRow {
  action: 'DENY' | 'ALLOW' | 'LOG' | 'CUSTOM';
  policy: string;
  rules: number;
}

/**
 * What `istioctl x authz check -f <dump>` prints (current istioctl): only active dynamic listeners,
 * only `filter_chains` (not the default chain), filters matched by NAME and read only from
 * `typed_config`; enforced policies under their RBAC action; shadow policies only when prefixed
 * `istio-ext-authz-` (as CUSTOM); a filter without policies counts as `_anonymous_match_nothing_`
 * (rule "0") under its action (ALLOW when `rules` is absent). RULES = distinct rule indexes per
 * policy name (across actions, as istioctl keys them by name only).
 */
export function authzCheckSummary(dump: ConfigDump): AuthzCheckRow[] {
  const actionToPolicy = new Map<string, Set<string>>();
  const policyToRule = new Map<string, Set<string>>();
  const add = (action: string, name: string, rule: string) => {
    if (!actionToPolicy.has(action)) actionToPolicy.set(action, new Set());
    if (!policyToRule.has(name)) policyToRule.set(name, new Set());
    actionToPolicy.get(action)!.add(name);
    policyToRule.get(name)!.add(rule);
  };
  const extract = (id: string): [string, string] => {
    const m = /ns\[(.+)\]-policy\[(.+)\]-rule\[(.+)\]/.exec(id);
    return m ? [`${m[2]}.${m[1]}`, m[3]!] : ['', ''];
  };
  const visit = (cfg: ProtoObject) => {
    const rules = isObj(cfg.rules) ? cfg.rules : null;
    const action = rules && (rules.action === 'DENY' || rules.action === 'LOG') ? rules.action : 'ALLOW';
    const policies = rules && isObj(rules.policies) ? Object.keys(rules.policies) : [];
    for (const p of policies) add(action, ...extract(p));
    if (policies.length === 0) add(action, MATCH_NOTHING, '0');
    const shadow = isObj(cfg.shadow_rules) && isObj(cfg.shadow_rules.policies) ? Object.keys(cfg.shadow_rules.policies) : [];
    for (const p of shadow) if (p.startsWith(CUSTOM_PREFIX)) add('CUSTOM', ...extract(p));
  };
  const listeners = dump.listeners.filter((l) => l.state === 'active').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const l of listeners) {
    for (const c of l.filterChains) {
      for (const f of c.filters) {
        if ((f.name === 'envoy.filters.network.http_connection_manager' || f.name === 'envoy.http_connection_manager') && f.hcm && f.configSource === 'typed_config') {
          for (const hf of f.hcm.httpFilters) if (hf.name === 'envoy.filters.http.rbac' && hf.configSource === 'typed_config') visit(hf.config);
        } else if (f.name === 'envoy.filters.network.rbac' && f.configSource === 'typed_config') visit(f.config);
      }
    }
  }
  const rows: AuthzCheckRow[] = [];
  for (const action of ['DENY', 'ALLOW', 'LOG', 'CUSTOM'] as const) {
    const names = actionToPolicy.get(action);
    if (!names) continue;
    for (const name of [...names].sort()) rows.push({ action, policy: name, rules: policyToRule.get(name)!.size });
  }
  return rows;
}
