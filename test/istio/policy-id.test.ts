import { describe, expect, it } from 'vitest';
import { parsePolicyId } from '../../src/istio/policy-id.js';

describe('parsePolicyId', () => {
  it('decodes ns[..]-policy[..]-rule[..]', () => {
    expect(parsePolicyId('ns[default]-policy[httpbin]-rule[0]')).toMatchObject({ format: 'istio', namespace: 'default', policy: 'httpbin', rule: 0, custom: false, provider: null, badCustom: false, display: 'httpbin.default' });
  });
  it('keeps dashes and dots inside names', () => {
    expect(parsePolicyId('ns[foo-bar]-policy[allow-get.v2]-rule[12]')).toMatchObject({ namespace: 'foo-bar', policy: 'allow-get.v2', rule: 12 });
  });
  it('CUSTOM before Istio 1.30: istio-ext-authz- prefix, no provider', () => {
    expect(parsePolicyId('istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]')).toMatchObject({ format: 'istio', custom: true, provider: null, policy: 'ext-authz', namespace: 'default', rule: 0 });
  });
  it('CUSTOM 1.30+: provider in the key (may contain dashes)', () => {
    expect(parsePolicyId('istio-ext-authz-my-opa-ns[foo]-policy[httpbin-1]-rule[0]')).toMatchObject({ custom: true, provider: 'my-opa', namespace: 'foo', policy: 'httpbin-1' });
    expect(parsePolicyId('istio-ext-authz-default-ns[foo]-policy[httpbin-1]-rule[0]').provider).toBe('default');
  });
  it('bad CUSTOM (1.20+): enforced deny suffix', () => {
    expect(parsePolicyId('istio-ext-authz-default-ns[foo]-policy[httpbin-2]-rule[0]-deny-due-to-bad-CUSTOM-action')).toMatchObject({ badCustom: true, custom: true, provider: 'default', policy: 'httpbin-2', rule: 0 });
  });
  it('synthetic names', () => {
    expect(parsePolicyId('_anonymous_match_nothing_')).toMatchObject({ format: 'synthetic', synthetic: 'match-nothing' });
    expect(parsePolicyId('default-deny-all-due-to-bad-CUSTOM-action')).toMatchObject({ format: 'synthetic', synthetic: 'bad-custom-deny-all', badCustom: true });
  });
  it('non-Istio names (v1alpha1 ServiceRole) stay raw', () => {
    expect(parsePolicyId('service-viewer')).toMatchObject({ format: 'other', namespace: null, policy: null, rule: null, display: 'service-viewer' });
  });
});
