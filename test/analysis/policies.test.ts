/** The policies analysis: Istio meaning of RBAC filters (built from the builder goldens' shapes), per-route overrides, RDS. */
import { describe, expect, it } from 'vitest';
import { parseConfigDump, loadConfigDumps } from '../../src/readers/configdump/index.js';
import { analyzePolicies, summarizeRbac, authzCheckSummary } from '../../src/analysis/policies.js';
import { SHARED, hasShared, describeShared } from '../helpers/cli.js';

const T = 'type.googleapis.com/';
const RBAC = `${T}envoy.extensions.filters.http.rbac.v3.RBAC`;
const pol = { permissions: [{ any: true }], principals: [{ any: true }] };
const f = (config: Record<string, unknown>) => ({ name: 'envoy.filters.http.rbac', typeUrl: RBAC, config: { '@type': RBAC, ...config }, jsonPath: '$' });

describe('summarizeRbac: Istio roles', () => {
  it('AUDIT is RBAC LOG and never denies', () => {
    const s = summarizeRbac('http', f({ rules: { action: 'LOG', policies: { 'ns[foo]-policy[a]-rule[0]': pol } } }), 0);
    expect([s.role, s.policies[0]!.istioAction, s.summary]).toEqual(['enforce', 'AUDIT', 'AUDIT (LOG: never denies): 1 policy enforced']);
  });
  it('dry-run ALLOW and DENY are shadow rules, reported and marked dry-run', () => {
    const s = summarizeRbac('http', f({ shadow_rules: { action: 'DENY', policies: { 'ns[foo]-policy[d]-rule[0]': pol } }, shadow_rules_stat_prefix: 'istio_dry_run_deny_' }), 0);
    expect([s.role, s.rules, s.policies[0]!.enforced, s.policies[0]!.dryRun, s.policies[0]!.istioAction]).toEqual(['dry-run', null, false, true, 'DENY']);
  });
  it('dry-run mix: one filter with enforced rules and shadow rules', () => {
    const s = summarizeRbac('http', f({ rules: { policies: { 'ns[foo]-policy[httpbin-2]-rule[0]': pol } }, shadow_rules: { policies: { 'ns[foo]-policy[httpbin-1]-rule[0]': pol } } }), 0);
    expect(s.policies.map((p) => [p.policy, p.enforced, p.dryRun])).toEqual([
      ['httpbin-2', true, false],
      ['httpbin-1', false, true],
    ]);
    expect(s.summary).toBe('ALLOW: 1 policy enforced; dry-run ALLOW: 1 shadow policy (never enforced)');
  });
  it('CUSTOM: shadow DENY marker with provider; bad CUSTOM: enforced DENY', () => {
    const m = summarizeRbac('http', f({ shadow_rules: { action: 'DENY', policies: { 'istio-ext-authz-default-ns[foo]-policy[httpbin-1]-rule[0]': pol } }, shadow_rules_stat_prefix: 'istio_ext_authz_' }), 0);
    expect([m.role, m.policies[0]!.istioAction, m.policies[0]!.provider, m.policies[0]!.dryRun]).toEqual(['custom-marker', 'CUSTOM', 'default', false]);
    const b = summarizeRbac('http', f({ rules: { action: 'DENY', policies: { 'istio-ext-authz-default-ns[foo]-policy[httpbin-2]-rule[0]-deny-due-to-bad-CUSTOM-action': pol } } }), 0);
    expect([b.role, b.policies[0]!.badCustom, b.policies[0]!.enforced]).toEqual(['custom-bad', true, true]);
  });
  it('rules {} under ALLOW denies everything; no rules at all enforces nothing', () => {
    expect(summarizeRbac('network', f({ rules: {}, stat_prefix: 'tcp.' }), 0).role).toBe('deny-all');
    expect(summarizeRbac('network', f({ rules: { action: 'DENY' } }), 0).role).toBe('none');
    expect(summarizeRbac('http', f({}), 0).role).toBe('none');
  });
  it('matcher trees are recognised, not silently ignored', () => {
    const s = summarizeRbac('http', f({ matcher: { matcher_list: { matchers: [] } } }), 0);
    expect(s.rules?.matcherTree).toBe(true);
  });
});

describe('per-route RBAC overrides (RBACPerRoute in typed_per_filter_config)', () => {
  const dump = parseConfigDump(
    {
      configs: [
        {
          '@type': `${T}envoy.admin.v3.ListenersConfigDump`,
          static_listeners: [
            {
              listener: {
                name: 'l',
                address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
                filter_chains: [
                  {
                    filters: [
                      {
                        name: 'envoy.filters.network.http_connection_manager',
                        typed_config: {
                          '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
                          stat_prefix: 's',
                          rds: { route_config_name: 'r8080' },
                          http_filters: [{ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC, rules: { policies: { 'ns[a]-policy[b]-rule[0]': pol } } } }],
                        },
                      },
                    ],
                  },
                ],
              },
            },
          ],
        },
        {
          '@type': `${T}envoy.admin.v3.RoutesConfigDump`,
          dynamic_route_configs: [
            {
              route_config: {
                name: 'r8080',
                virtual_hosts: [
                  {
                    name: 'vh',
                    domains: ['*'],
                    routes: [
                      { name: 'health', match: { prefix: '/healthz' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute` } } },
                      { name: 'admin', match: { prefix: '/admin' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`, rbac: { rules: { action: 'DENY', policies: { 'no-admin': pol } } } } } },
                    ],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
    'r.json',
  );
  it('the HCM route configuration is resolved from RDS by name (sections in any order)', () => {
    expect(dump.listeners[0]!.filterChains[0]!.filters[0]!.hcm!.routeConfig?.name).toBe('r8080');
  });
  it('lists each route that disables or overrides the RBAC filter', () => {
    const c = analyzePolicies(dump).listeners[0]!.chains[0]!;
    expect(c.perRoute.map((p) => [p.route, p.disabled, p.summary])).toEqual([
      ['health', true, 'RBAC disabled on this route (RBACPerRoute without rbac)'],
      ['admin', false, 'override: DENY: 1 policy enforced'],
    ]);
    expect(analyzePolicies(dump).counts.perRouteOverrides).toBe(2);
  });
  it('istioctl would not see the static listener at all', () => {
    expect(authzCheckSummary(dump)).toEqual([]);
  });
});

describeShared('RDS resolution on a real dump (needs ../shared)', () => {
  it('productpage 1.1: the outbound 0.0.0.0_9080 HCM resolves RDS route 9080', async () => {
    const { dumps } = await loadConfigDumps([`${SHARED}fixtures/istio/istioctl/cmd/testdata/authz/productpage_config_dump.json`]);
    const l = dumps[0]!.listeners.find((x) => x.name === '0.0.0.0_9080')!;
    const hcm = l.filterChains[0]!.filters.find((x) => x.hcm)!.hcm!;
    expect(hcm.rdsName).toBe('9080');
    expect(hcm.routeConfig?.name).toBe('9080');
    expect(hcm.routeConfig?.virtualHosts.length).toBeGreaterThan(0);
  });
});
