/**
 * Istio's RBAC policy ids (pilot/pkg/security/authz/model: `policyName()`):
 *   ns[<namespace>]-policy[<name>]-rule[<index>]                       ALLOW / DENY / AUDIT
 *   istio-ext-authz-ns[<ns>]-policy[<name>]-rule[<i>]                  CUSTOM (Istio 1.9 – 1.29)
 *   istio-ext-authz-<provider>-ns[<ns>]-policy[<name>]-rule[<i>]       CUSTOM (1.30+, provider in the key)
 *   <any of the above>-deny-due-to-bad-CUSTOM-action                   CUSTOM whose provider is invalid → enforced DENY (1.20+)
 *   default-deny-all-due-to-bad-CUSTOM-action                           the same before 1.20 (one policy matching everything)
 *   _anonymous_match_nothing_                                            istioctl's name for an RBAC filter with no policies
 * Anything else (v1alpha1 ServiceRole names like `service-viewer`, hand-written Envoy configs) is
 * returned as `format: 'other'` with the raw name.
 */

export const CUSTOM_PREFIX = 'istio-ext-authz-';
export const BAD_CUSTOM_SUFFIX = '-deny-due-to-bad-CUSTOM-action';
export const LEGACY_BAD_CUSTOM = 'default-deny-all-due-to-bad-CUSTOM-action';
export const MATCH_NOTHING = '_anonymous_match_nothing_';

export interface PolicyId {
  /** The id as written in the config. */
  raw: string;
  /** `istio` = ns[..]-policy[..]-rule[..]; `synthetic` = generated placeholder; `other` = not an Istio id. */
  format: 'istio' | 'synthetic' | 'other';
  namespace: string | null;
  policy: string | null;
  /** Rule index within the AuthorizationPolicy. */
  rule: number | null;
  /** True for CUSTOM (ext_authz) policies (the `istio-ext-authz-` prefix). */
  custom: boolean;
  /** CUSTOM provider name when the key carries it (Istio 1.30+). */
  provider: string | null;
  /** True when the CUSTOM provider was invalid and Istio turned the rule into an enforced DENY. */
  badCustom: boolean;
  /** Set for generated ids: `match-nothing` or `bad-custom-deny-all`. */
  synthetic: 'match-nothing' | 'bad-custom-deny-all' | null;
  /** `policy.namespace`, the way istioctl prints it ('' for unparseable names). */
  display: string;
}

const CORE = /^ns\[(.+)\]-policy\[(.+)\]-rule\[(\d+)\]$/;

export function parsePolicyId(name: string): PolicyId {
  const base: PolicyId = {
    raw: name,
    format: 'other',
    namespace: null,
    policy: null,
    rule: null,
    custom: false,
    provider: null,
    badCustom: false,
    synthetic: null,
    display: name,
  };
  if (name === MATCH_NOTHING) return { ...base, format: 'synthetic', synthetic: 'match-nothing' };
  if (name === LEGACY_BAD_CUSTOM) return { ...base, format: 'synthetic', synthetic: 'bad-custom-deny-all', badCustom: true, custom: true };
  let rest = name;
  let badCustom = false;
  if (rest.endsWith(BAD_CUSTOM_SUFFIX)) {
    badCustom = true;
    rest = rest.slice(0, -BAD_CUSTOM_SUFFIX.length);
  }
  let custom = false;
  let provider: string | null = null;
  if (rest.startsWith(CUSTOM_PREFIX)) {
    custom = true;
    rest = rest.slice(CUSTOM_PREFIX.length);
    if (!rest.startsWith('ns[')) {
      const at = rest.indexOf('-ns[');
      if (at > 0) {
        provider = rest.slice(0, at);
        rest = rest.slice(at + 1);
      }
    }
  }
  const m = CORE.exec(rest);
  if (!m) return { ...base, custom, provider, badCustom: badCustom && custom };
  return {
    ...base,
    format: 'istio',
    namespace: m[1]!,
    policy: m[2]!,
    rule: Number(m[3]),
    custom: custom || badCustom,
    provider,
    badCustom,
    display: `${m[2]}.${m[1]}`,
  };
}
