/**
 * Per-action RBAC filters for one workload, after istiod's `pilot/pkg/security/authz/builder/builder.go`:
 * CUSTOM (shadow RBAC + ext_authz per provider), then AUDIT (action LOG), DENY, ALLOW.
 */
import type { Diagnostic } from '../../model/errors.js';
import { getExtAuthz, processExtensionProviders, type BuiltExtAuthz, type ExtensionProvider } from './extauthz.js';
import type { Json } from './matcher.js';
import { generatePolicy, GenerateError, migrateTrustDomain, newModel, policyMatchNever, type RbacAction } from './model.js';
import type { AuthorizationPolicy } from './types.js';
import type { RenderFeatures } from './version.js';
import { appendAll } from '../../model/arrays.js';

export const HTTP_RBAC = 'envoy.filters.http.rbac';
export const TCP_RBAC = 'envoy.filters.network.rbac';
export const HTTP_EXT_AUTHZ = 'envoy.filters.http.ext_authz';
export const TCP_EXT_AUTHZ = 'envoy.filters.network.ext_authz';
export const HTTP_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const TCP_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
export const SHADOW_ALLOW_PREFIX = 'istio_dry_run_allow_';
export const SHADOW_DENY_PREFIX = 'istio_dry_run_deny_';
export const EXT_AUTHZ_SHADOW_PREFIX = 'istio_ext_authz_';
export const EXT_AUTHZ_MATCH_PREFIX = 'istio-ext-authz';
export const BAD_CUSTOM_SUFFIX = '-deny-due-to-bad-CUSTOM-action';

/** An Envoy filter entry: `{name, typed_config}` (HCM HttpFilter or listener Filter), snake_case. */
export interface EnvoyFilter {
  name: string;
  typed_config: Json;
}

export interface PoliciesByAction {
  custom: AuthorizationPolicy[];
  audit: AuthorizationPolicy[];
  deny: AuthorizationPolicy[];
  allow: AuthorizationPolicy[];
}

export interface BuildOptions {
  f: RenderFeatures;
  /** Trust domain first, then its aliases. */
  trustDomains: string[];
  extensionProviders?: ExtensionProvider[];
}

interface RbacRules {
  action: RbacAction;
  policies: Record<string, Json>;
}

interface BuiltRule {
  rules: RbacRules | null;
  shadowRules: RbacRules | null;
  /** CUSTOM: per provider, enforced (→ shadow) and dry-run (→ rules) sets. */
  providerRules: Map<string, RbacRules>;
  providerShadowRules: Map<string, RbacRules>;
}

const TRUE_VALUES = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_VALUES = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** `isDryRun`: strconv.ParseBool of the `istio.io/dry-run` annotation. */
function isDryRun(p: AuthorizationPolicy, opts: BuildOptions, diags: Diagnostic[]): boolean {
  const v = p.annotations['istio.io/dry-run'];
  if (v === undefined || !opts.f.dryRun) return false;
  if (TRUE_VALUES.has(v)) return true;
  if (!FALSE_VALUES.has(v)) {
    diags.push({ severity: 'warning', location: locOf(p, '.metadata.annotations'), message: `failed to parse the value of istio.io/dry-run: strconv.ParseBool: parsing "${v}": invalid syntax (policy enforced)` });
  }
  return false;
}

export function locOf(p: AuthorizationPolicy, suffix = '') {
  return { file: p.source?.file, line: p.source?.lineAt?.(suffix) ?? p.source?.line, path: p.source ? `${p.source.path}${suffix}` : `${p.namespace}/${p.name}${suffix}` };
}

function policyName(p: AuthorizationPolicy, rule: number, provider: string | null, opts: BuildOptions): string {
  let prefix = '';
  if (provider !== null) prefix = opts.f.customProviderInKey && provider !== '' ? `${EXT_AUTHZ_MATCH_PREFIX}-${provider}-` : `${EXT_AUTHZ_MATCH_PREFIX}-`;
  return `${prefix}ns[${p.namespace}]-policy[${p.name}]-rule[${rule}]`;
}

function buildRules(policies: AuthorizationPolicy[], action: RbacAction, forTCP: boolean, custom: boolean, opts: BuildOptions, diags: Diagnostic[]): BuiltRule | null {
  if (policies.length === 0) return null;
  const enforce: RbacRules = { action, policies: {} };
  const shadow: RbacRules = { action, policies: {} };
  const providerRules = new Map<string, RbacRules>();
  const providerShadowRules = new Map<string, RbacRules>();
  let hasEnforce = false;
  let hasDryRun = false;
  for (const p of policies) {
    let current: RbacRules;
    let provider: string | null = null;
    if (custom) {
      provider = p.spec.provider?.name ?? '';
      if (!providerRules.has(provider)) {
        providerRules.set(provider, { action, policies: {} });
        providerShadowRules.set(provider, { action, policies: {} });
      }
      current = isDryRun(p, opts, diags) ? providerShadowRules.get(provider)! : providerRules.get(provider)!;
    } else if (isDryRun(p, opts, diags)) {
      current = shadow;
      hasDryRun = true;
    } else {
      current = enforce;
      hasEnforce = true;
    }
    const rules = p.spec.rules ?? [];
    rules.forEach((rule, i) => {
      const name = policyName(p, i, provider, opts);
      if (rule === null) {
        diags.push({ severity: 'warning', location: locOf(p, `.spec.rules[${i}]`), message: `skipped nil rule ${name}` });
        return;
      }
      try {
        const m = migrateTrustDomain(newModel(rule, opts.f), opts.trustDomains);
        current.policies[name] = generatePolicy(m, { forTCP, f: opts.f, policyNamespace: p.namespace, trustDomains: opts.trustDomains }, action);
      } catch (e) {
        if (!(e instanceof GenerateError)) throw e;
        if (forTCP && /HTTP only/.test(e.message)) {
          diags.push({ severity: 'warning', location: locOf(p, `.spec.rules[${i}]`), message: `skipped rule ${name} on TCP filter chain: ${e.message}` });
        } else {
          diags.push({ severity: 'error', location: locOf(p, `.spec.rules[${i}]`), message: `skipped invalid rule ${name}: ${e.message}` });
        }
      }
    });
    if (rules.length === 0) current.policies[policyName(p, 0, provider, opts)] = policyMatchNever();
  }
  return { rules: hasEnforce ? enforce : null, shadowRules: hasDryRun ? shadow : null, providerRules, providerShadowRules };
}

/** RBAC proto-JSON: `action` omitted when ALLOW (enum 0), `policies` omitted when empty. */
function rbacJson(r: RbacRules): Json {
  const out: Json = {};
  if (r.action !== 'ALLOW') out.action = r.action;
  if (Object.keys(r.policies).length > 0) out.policies = r.policies;
  return out;
}

function shadowPrefix(shadow: RbacRules | null): string {
  const action = shadow?.action ?? 'ALLOW';
  return action === 'ALLOW' ? SHADOW_ALLOW_PREFIX : action === 'DENY' ? SHADOW_DENY_PREFIX : '';
}

function rbacFilter(forTCP: boolean, body: Json): EnvoyFilter {
  const typed: Json = { '@type': forTCP ? TCP_RBAC_TYPE : HTTP_RBAC_TYPE, ...body };
  if (forTCP) typed.stat_prefix = 'tcp.';
  return { name: forTCP ? TCP_RBAC : HTTP_RBAC, typed_config: typed };
}

function badCustomDeny(rules: RbacRules | undefined, opts: BuildOptions): Json {
  if (!opts.f.badCustomPerRule) {
    return { action: 'DENY', policies: { 'default-deny-all-due-to-bad-CUSTOM-action': { permissions: [{ any: true }], principals: [{ any: true }] } } };
  }
  const policies: Record<string, Json> = {};
  for (const [k, v] of Object.entries(rules?.policies ?? {})) policies[k + BAD_CUSTOM_SUFFIX] = v;
  return rbacJson({ action: 'DENY', policies });
}

function filterEnabledMetadata(forTCP: boolean, provider: string, opts: BuildOptions): Json {
  const prefix = opts.f.customProviderInKey ? `${EXT_AUTHZ_MATCH_PREFIX}-${provider}` : EXT_AUTHZ_MATCH_PREFIX;
  return {
    filter: forTCP ? TCP_RBAC : HTTP_RBAC,
    path: [{ key: opts.f.dryRun ? `${EXT_AUTHZ_SHADOW_PREFIX}shadow_effective_policy_id` : 'shadow_effective_policy_id' }],
    value: { string_match: { prefix } },
  };
}

function translateCustom(b: BuiltRule, forTCP: boolean, opts: BuildOptions, resolved: Map<string, BuiltExtAuthz | string[]>, diags: Diagnostic[], where: AuthorizationPolicy): EnvoyFilter[] {
  const providers = [...new Set([...b.providerRules.keys(), ...b.providerShadowRules.keys()])].sort();
  const out: EnvoyFilter[] = [];
  const loc = locOf(where);
  if (providers.length > 1) {
    diags.push({ severity: 'error', location: loc, message: `multiple CUSTOM authorization providers per workload requires PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS feature flag, found ${providers.length} providers: [${providers.join(' ')}]; generated DENY for their rules` });
    if (!opts.f.customProviderInKey) {
      // Before 1.30 the rules of all providers were merged and denied as one filter.
      const merged: RbacRules = { action: 'DENY', policies: {} };
      for (const p of providers) Object.assign(merged.policies, b.providerRules.get(p)?.policies ?? {});
      return [rbacFilter(forTCP, { rules: badCustomDeny(merged, opts) })];
    }
    for (const p of providers) out.push(rbacFilter(forTCP, { rules: badCustomDeny(b.providerRules.get(p), opts) }));
    return out;
  }
  for (const provider of providers) {
    const enforce = b.providerRules.get(provider);
    const dry = b.providerShadowRules.get(provider);
    const ext = getExtAuthz(resolved, provider);
    if (typeof ext === 'string') {
      diags.push({ severity: 'error', location: loc, message: `failed to process CUSTOM action for provider ${provider}, will generate deny configs: ${ext}` });
      out.push(rbacFilter(forTCP, { rules: badCustomDeny(enforce, opts) }));
      continue;
    }
    if (forTCP && !ext.tcp) {
      diags.push({ severity: 'warning', location: loc, message: `ignored CUSTOM action with HTTP provider on TCP filter chain for provider ${provider}` });
      continue;
    }
    const body: Json = {};
    if (dry && Object.keys(dry.policies).length > 0) body.rules = rbacJson(dry);
    if (enforce) body.shadow_rules = rbacJson(enforce);
    body.shadow_rules_stat_prefix = EXT_AUTHZ_SHADOW_PREFIX;
    const ea = { ...(forTCP ? ext.tcp! : ext.http), filter_enabled_metadata: filterEnabledMetadata(forTCP, provider, opts) };
    out.push(rbacFilter(forTCP, body), { name: forTCP ? TCP_EXT_AUTHZ : HTTP_EXT_AUTHZ, typed_config: ea });
  }
  return out;
}

/** Builds the filters for one chain type. CUSTOM filters come first, then AUDIT, DENY, ALLOW. */
export function buildFilters(p: PoliciesByAction, forTCP: boolean, opts: BuildOptions, diags: Diagnostic[]): EnvoyFilter[] {
  const out: EnvoyFilter[] = [];
  if (p.custom.length > 0) {
    const b = buildRules(p.custom, 'DENY', forTCP, true, opts, diags);
    if (b) appendAll(out, translateCustom(b, forTCP, opts, processExtensionProviders(opts.extensionProviders), diags, p.custom[0]!));
  }
  const groups: [AuthorizationPolicy[], RbacAction][] = [
    [p.audit, 'LOG'],
    [p.deny, 'DENY'],
    [p.allow, 'ALLOW'],
  ];
  for (const [policies, action] of groups) {
    const b = buildRules(policies, action, forTCP, false, opts, diags);
    if (!b) continue;
    const body: Json = {};
    if (b.rules) body.rules = rbacJson(b.rules);
    if (b.shadowRules) body.shadow_rules = rbacJson(b.shadowRules);
    const prefix = shadowPrefix(b.shadowRules);
    if (prefix) body.shadow_rules_stat_prefix = prefix;
    out.push(rbacFilter(forTCP, body));
  }
  return out;
}
