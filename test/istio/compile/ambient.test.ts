/**
 * AuthorizationPolicy → ztunnel, with the facts of istiod's pilot/pkg/serviceregistry/ambient/
 * authorization_test.go (TestConvertAuthorizationPolicyStatus): status messages word for word,
 * whether a DENY keeps effective rules, targetRef policies never reaching ztunnel, CUSTOM/AUDIT
 * unsupported, the ALLOW-with-HTTP-fields rule dropped (fail closed), and the clause layout.
 */
import { describe, expect, it } from 'vitest';
import { compileAmbient, selectorPoliciesFor } from '../../../src/istio/compile/ambient.js';
import type { AuthorizationPolicy, AuthorizationPolicySpec } from '../../../src/istio/compile/types.js';
import { parseZtunnelPolicy } from '../../../src/readers/configdump/ztunnel.js';
import { canEverMatch } from '../../../src/analysis/ztunnel-policies.js';
import { evaluatePolicy, parseSpiffeIdentity } from '../../../src/ztunnel/rbac.js';

const ap = (spec: AuthorizationPolicySpec, over: Partial<AuthorizationPolicy> = {}): AuthorizationPolicy => ({ name: 'p', namespace: 'ns', annotations: {}, spec, ...over });
const one = (spec: AuthorizationPolicySpec, over: Partial<AuthorizationPolicy> = {}) => compileAmbient([ap(spec, over)], { rootNamespace: 'test-system' });
const effective = (spec: AuthorizationPolicySpec): boolean => canEverMatch(parseZtunnelPolicy(one(spec).policies[0], '$'));
const HTTP = 'In ambient mode you must use a waypoint proxy to enforce HTTP rules. ';
const ALLOW_OMIT = 'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.';
const DENY_NOOP = 'After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules at ztunnel and will have no effect. Deploy a waypoint proxy and use a targetRef to enforce this policy.';
const DENY_MIXED = 'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.';

describe('compileAmbient status (istiod TestConvertAuthorizationPolicyStatus facts)', () => {
  it('targetRef policies are not for ztunnel and get no status', () => {
    const c = one({ targetRef: { kind: 'Service', name: 'test-svc' }, rules: [] });
    expect(c.policies).toEqual([]);
    expect(c.status).toEqual([]);
    expect(c.notForZtunnel[0]!.why).toMatch(/waypoint/);
  });
  it('a fine policy (an unparsable port name is skipped) has no status', () => {
    const c = one({ rules: [{ from: [{ source: { principals: ['trust/ns/echo-1234/'] } }], to: [{ operation: { ports: ['http'] } }] }] });
    expect(c.status).toEqual([]);
    expect(c.policies[0]!.rules).toEqual([[[{}], [{ principals: [{ Exact: 'trust/ns/echo-1234/' }] }]]]);
  });
  it('AUDIT and CUSTOM are unsupported', () => {
    expect(one({ action: 'AUDIT', rules: [{}] }).status[0]!.message).toBe('ztunnel does not support the AUDIT action');
    expect(one({ action: 'CUSTOM', rules: [{}] }).status[0]!.message).toBe('ztunnel does not support the CUSTOM action');
    expect(one({ action: 'CUSTOM', rules: [{}] }).policies).toEqual([]);
  });
  it('ALLOW with HTTP fields: sorted field list, the rule dropped, the policy left matching nothing', () => {
    const c = one({ rules: [{ from: [{ source: { requestPrincipals: ['example.com/sub-1'] } }], to: [{ operation: { methods: ['GET'] } }], when: [{ key: 'request.auth.presenter', values: ['presenter.example.com'] }] }] });
    expect(c.status[0]!.message).toBe(`ztunnel does not support HTTP attributes (found: methods, request.auth.presenter, requestPrincipals). ${HTTP}${ALLOW_OMIT}`);
    expect(c.policies[0]!.rules).toEqual([]);
  });
  it('DENY with only L4 attributes: no status', () => {
    expect(one({ action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/bar'] } }] }] }).status).toEqual([]);
  });
  it('DENY with only L7 attributes has no effect', () => {
    const spec: AuthorizationPolicySpec = { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['example.com/sub-1'] } }] }] };
    expect(one(spec).status[0]!.message).toBe(`ztunnel does not support HTTP attributes (found: notRequestPrincipals). ${HTTP}${DENY_NOOP}`);
    expect(effective(spec)).toBe(false);
  });
  it('DENY mixing L4 and L7 in one source is enforced without the HTTP part', () => {
    const spec: AuthorizationPolicySpec = { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/bar'], notRequestPrincipals: ['example.com/sub-1'] } }] }] };
    expect(one(spec).status[0]!.message).toBe(`ztunnel does not support HTTP attributes (found: notRequestPrincipals). ${HTTP}${DENY_MIXED}`);
    expect(effective(spec)).toBe(true);
  });
  it('DENY with an L7-only rule and a separate L4 rule, or an empty catch-all rule, is still enforced', () => {
    expect(effective({ action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['x'] } }] }, { from: [{ source: { principals: ['cluster.local/ns/foo/sa/bar'] } }] }] })).toBe(true);
    const catchAll: AuthorizationPolicySpec = { action: 'DENY', rules: [{}, { from: [{ source: { notRequestPrincipals: ['x'] } }] }] };
    expect(one(catchAll).status[0]!.message).toMatch(DENY_MIXED);
    expect(effective(catchAll)).toBe(true);
  });
  it('DENY with L4 from AND an L7 when (or L7-only to) is a no-op: the empty clause can never match', () => {
    expect(effective({ action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/bar'] } }], when: [{ key: 'request.headers[x-token]', values: ['secret'] }] }] })).toBe(false);
    expect(one({ action: 'DENY', rules: [{ from: [{ source: { principals: ['a'] } }], when: [{ key: 'request.headers[x-token]', values: ['s'] }] }] }).status[0]!.message).toBe(`ztunnel does not support HTTP attributes (found: request.headers[x-token]). ${HTTP}${DENY_NOOP}`);
    expect(effective({ action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/bar'] } }], to: [{ operation: { methods: ['GET'] } }] }] })).toBe(false);
  });
  it('trustDomains count as unsupported: the ALLOW rule is dropped; a DENY of only notTrustDomains has no effect', () => {
    const allow = one({ rules: [{ from: [{ source: { namespaces: ['allowed-ns'], trustDomains: ['cluster.local'] } }] }] });
    expect(allow.status[0]!.message).toBe(`ztunnel does not support HTTP attributes (found: trustDomains). ${HTTP}${ALLOW_OMIT}`);
    expect(canEverMatch(parseZtunnelPolicy(allow.policies[0], '$'))).toBe(false);
    expect(effective({ action: 'DENY', rules: [{ from: [{ source: { notTrustDomains: ['cluster.local'] } }] }] })).toBe(false);
  });
});

describe('compileAmbient shapes', () => {
  it('scope: selector → WorkloadSelector, none → Namespace, root namespace → Global', () => {
    const c = compileAmbient([ap({ selector: { matchLabels: { app: 'a' } }, rules: [{}] }), ap({ rules: [{}] }, { name: 'q' }), ap({ rules: [{}] }, { name: 'r', namespace: 'test-system' })], { rootNamespace: 'test-system' });
    expect(c.policies.map((p) => p.scope)).toEqual(['WorkloadSelector', 'Namespace', 'Global']);
    expect(selectorPoliciesFor(c, { namespace: 'ns', labels: { app: 'a' } }, 'test-system')).toEqual(['ns/p']);
    expect(selectorPoliciesFor(c, { namespace: 'ns', labels: { app: 'b' } }, 'test-system')).toEqual([]);
  });
  it('one clause for all `to`, one for all `from`, one per `when`; wildcards and service accounts converted', () => {
    const c = one({
      action: 'DENY',
      rules: [{
        to: [{ operation: { ports: ['80', '70000'] } }, { operation: { notPorts: ['443'] } }],
        from: [{ source: { principals: ['*', 'cluster.local/*', '*/sa/x'], serviceAccounts: ['sa1', 'other/sa2'], ipBlocks: ['10.0.0.0/8', '10.1.2.3', 'bogus'] } }],
        when: [{ key: 'destination.port', values: ['8080'] }, { key: 'source.namespace', notValues: ['kube-system'] }],
      }],
    });
    expect(c.policies[0]!.rules).toEqual([[
      [{ destinationPorts: [80] }, { notDestinationPorts: [443] }],
      [{ sourceIps: ['10.0.0.0/8', '10.1.2.3/32'], serviceAccounts: [{ namespace: 'ns', serviceAccount: 'sa1' }, { namespace: 'other', serviceAccount: 'sa2' }], principals: [{ Presence: [] }, { Prefix: 'cluster.local/' }, { Suffix: '/sa/x' }] }],
      [{ destinationPorts: [8080] }],
      [{ notNamespaces: [{ Exact: 'kube-system' }] }],
    ]]);
  });
  it('the classic trap: an ALLOW with HTTP methods for ztunnel rejects even the caller it names', () => {
    const c = one({ selector: { matchLabels: { app: 'a' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/ns/sa/client'] } }], to: [{ operation: { methods: ['GET'] } }] }] });
    const pol = parseZtunnelPolicy(c.policies[0], '$');
    const e = evaluatePolicy(pol, { src: { ip: '10.0.0.1', port: 1 }, dst: { ip: '10.0.0.2', port: 80 }, srcIdentity: parseSpiffeIdentity('spiffe://cluster.local/ns/ns/sa/client') });
    expect(e.matched).toBe(false);
  });
  it('dry-run annotation: kept as dryRun, or refused with istiod\'s message when support is off', () => {
    const dry = { annotations: { 'istio.io/dry-run': 'true' } };
    expect(compileAmbient([ap({ rules: [{}] }, dry)]).policies[0]!.dryRun).toBe(true);
    const off = compileAmbient([ap({ rules: [{}] }, dry)], { dryRunSupported: false });
    expect(off.status[0]!.message).toBe('found policy "ns/p" using dry-run annotation, but support for ambient dry-run authorizationPolicies isn\'t enabled');
  });
});
