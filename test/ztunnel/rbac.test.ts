/**
 * ztunnel's Authorization::matches (src/rbac.rs) semantics, case by case: empty rules, empty
 * clauses, empty matches, positive/negative lists, principals with the spiffe:// prefix stripped,
 * namespaces from the identity (empty without one), service accounts, IP networks and ports.
 */
import { describe, expect, it } from 'vitest';
import { evaluatePolicy, parseSpiffeIdentity, principalMatches, stringMatches } from '../../src/ztunnel/rbac.js';
import { parseZtunnelPolicy } from '../../src/readers/configdump/ztunnel.js';
import type { ZtConnectionAttrs } from '../../src/ztunnel/rbac.js';

const conn = (over: Partial<ZtConnectionAttrs> = {}): ZtConnectionAttrs => ({
  src: { ip: '10.0.0.1', port: 40000 },
  dst: { ip: '10.0.0.2', port: 8080 },
  srcIdentity: parseSpiffeIdentity('spiffe://cluster.local/ns/default/sa/sleep'),
  ...over,
});
const pol = (rules: unknown, extra: Record<string, unknown> = {}) => parseZtunnelPolicy({ name: 'p', namespace: 'default', scope: 'Namespace', action: 'Allow', rules, ...extra }, '$');

describe('ztunnel Authorization::matches', () => {
  it('a policy with no rules matches nothing', () => {
    expect(evaluatePolicy(pol([]), conn()).matched).toBe(false);
    expect(evaluatePolicy(pol([]), conn()).failing[0]!.detail).toMatch(/no rules/);
  });
  it('a rule with no clauses matches everything', () => {
    expect(evaluatePolicy(pol([[]]), conn()).matched).toBe(true);
  });
  it('a clause with no matches matches; a clause of only empty matches never does', () => {
    expect(evaluatePolicy(pol([[[]]]), conn()).matched).toBe(true);
    expect(evaluatePolicy(pol([[[{}]]]), conn()).matched).toBe(false);
    expect(evaluatePolicy(pol([[[{}, { destinationPorts: [8080] }]]]), conn()).matched).toBe(true);
  });
  it('clauses are ANDed, matches in a clause ORed, rules ORed', () => {
    const and = pol([[[{ destinationPorts: [8080] }], [{ namespaces: [{ Exact: 'other' }] }]]]);
    expect(evaluatePolicy(and, conn()).matched).toBe(false);
    const or = pol([[[{ namespaces: [{ Exact: 'other' }] }, { destinationPorts: [8080] }]]]);
    expect(evaluatePolicy(or, conn()).matched).toBe(true);
    const rules = pol([[[{ destinationPorts: [1] }]], [[{ destinationPorts: [8080] }]]]);
    expect(evaluatePolicy(rules, conn()).matched).toBe(true);
  });
  it('fields within a match are ANDed; a negative list must not contain the value', () => {
    expect(evaluatePolicy(pol([[[{ destinationPorts: [8080], notDestinationPorts: [8080] }]]]), conn()).matched).toBe(false);
    expect(evaluatePolicy(pol([[[{ notDestinationPorts: [9090] }]]]), conn()).matched).toBe(true);
    expect(evaluatePolicy(pol([[[{ notSourceIps: ['10.0.0.0/24'] }]]]), conn()).matched).toBe(false);
    expect(evaluatePolicy(pol([[[{ sourceIps: ['10.0.0.0/24'], destinationIps: ['10.0.0.2/32'] }]]]), conn()).matched).toBe(true);
    expect(evaluatePolicy(pol([[[{ destinationIps: ['fd00::/8'] }]]]), conn()).matched).toBe(false);
  });
  it('principals are matched without the spiffe:// prefix, and never without an identity', () => {
    expect(principalMatches({ kind: 'exact', value: 'cluster.local/ns/default/sa/sleep' }, 'spiffe://cluster.local/ns/default/sa/sleep')).toBe(true);
    expect(principalMatches({ kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/sleep' }, 'spiffe://cluster.local/ns/default/sa/sleep')).toBe(false);
    expect(principalMatches({ kind: 'presence' }, '')).toBe(false);
    expect(evaluatePolicy(pol([[[{ principals: [{ Suffix: '/sa/sleep' }] }]]]), conn()).matched).toBe(true);
    expect(evaluatePolicy(pol([[[{ principals: [{ Presence: [] }] }]]]), conn({ srcIdentity: null })).matched).toBe(false);
    // notPrincipals: presence → plaintext (no identity) is "not present", so the negative list passes.
    expect(evaluatePolicy(pol([[[{ notPrincipals: [{ Presence: [] }] }]]]), conn({ srcIdentity: null })).matched).toBe(true);
  });
  it('namespaces read the identity namespace, the empty string without an identity', () => {
    expect(evaluatePolicy(pol([[[{ namespaces: [{ Exact: 'default' }] }]]]), conn()).matched).toBe(true);
    expect(evaluatePolicy(pol([[[{ namespaces: [{ Exact: '' }] }]]]), conn({ srcIdentity: null })).matched).toBe(true);
    expect(evaluatePolicy(pol([[[{ namespaces: [{ Prefix: 'def' }] }]]]), conn()).matched).toBe(true);
    expect(stringMatches({ kind: 'presence' }, '')).toBe(false);
  });
  it('service accounts compare namespace and name of the identity, never match without one', () => {
    const p = pol([[[{ serviceAccounts: [{ namespace: 'default', serviceAccount: 'sleep' }] }]]]);
    expect(evaluatePolicy(p, conn()).matched).toBe(true);
    expect(evaluatePolicy(p, conn({ srcIdentity: null })).matched).toBe(false);
    const n = pol([[[{ notServiceAccounts: [{ namespace: 'default', serviceAccount: 'sleep' }] }]]]);
    expect(evaluatePolicy(n, conn()).matched).toBe(false);
  });
  it('accepts the xDS spellings (rules[].clauses[].matches[], lower-case string matches, base64 addresses)', () => {
    const p = parseZtunnelPolicy(
      { name: 'x', namespace: 'ns', scope: 'WORKLOAD_SELECTOR', action: 'DENY', rules: [{ clauses: [{ matches: [{ sourceIps: [{ address: 'CgAAAA==', length: 8 }], principals: [{ exact: 'cluster.local/ns/default/sa/sleep' }] }] }] }] },
      '$',
    );
    expect(p.scope).toBe('WorkloadSelector');
    expect(p.action).toBe('Deny');
    expect(p.rules[0]![0]![0]!.sourceIps[0]!.text).toBe('10.0.0.0/8');
    expect(evaluatePolicy(p, conn()).matched).toBe(true);
  });
  it('names the failing leaves with attribute, value and expectation', () => {
    const e = evaluatePolicy(pol([[[{ principals: [{ Exact: 'cluster.local/ns/a/sa/b' }], destinationPorts: [8080] }]]]), conn());
    expect(e.matched).toBe(false);
    expect(e.failing).toHaveLength(1);
    expect(e.failing[0]).toMatchObject({ attribute: 'source.principal', actual: 'spiffe://cluster.local/ns/default/sa/sleep' });
  });
  it('rejects malformed policies with the JSON path', () => {
    expect(() => pol([[[{ destinationPorts: ['x'] }]]])).toThrow(/\$\.rules\[0\]\[0\]\[0\]\.destinationPorts\[0\]: expected a port number/);
    expect(() => pol([[[{ bogus: [] }]]])).toThrow(/expected a match field/);
    expect(() => pol([], { scope: 'Cluster' })).toThrow(/\$\.scope: expected Global, Namespace or WorkloadSelector/);
  });
});

describe('xDS Authorization with groups', () => {
  it('reads groups[].rules[].matches[] as rules → clauses → matches', () => {
    const p = parseZtunnelPolicy({ name: 'g', namespace: 'ns', scope: 'NAMESPACE', action: 'ALLOW', groups: [{ rules: [{ matches: [{ destinationPorts: [8080] }] }, { matches: [{ namespaces: [{ exact: 'default' }] }] }] }] }, '$');
    expect(p.rules).toHaveLength(1);
    expect(p.rules[0]).toHaveLength(2);
    expect(evaluatePolicy(p, conn()).matched).toBe(true);
  });
});
