/**
 * `policies` on configs that are not Istio's: matcher trees summarised with each action and the conditions
 * leading to it, per-route overrides, optional mTLS (a trusted CA without require_client_certificate), and
 * the lints (CIDR without prefix_len, unescaped dots in principal regexes, `:path` header matchers,
 * policies shadowed by an earlier match-all).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { SHARED, describeShared } from '../helpers/cli.js';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { analyzePolicies, summarizeRbac } from '../../src/analysis/policies.js';
import { lintRbacConfig } from '../../src/rbac/index.js';

const DIR = join(SHARED, 'external', 'configs');

describe('lints', () => {
  const ids = (cfg: unknown) => lintRbacConfig(cfg).map((l) => `${l.id} ${l.path}`);
  it('CIDR without prefix_len (envoy#35421), in rules and in matcher IP inputs', () => {
    expect(ids({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ source_ip: { address_prefix: '10.0.0.1' } }, { remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }] } } } })).toEqual([
      'cidr-without-prefix-len $.rules.policies.p.principals[0].source_ip',
    ]);
    const m = { matcher_tree: { input: {}, custom_match: { typed_config: { '@type': 'type.googleapis.com/xds.type.matcher.v3.IPMatcher', range_matchers: [{ ranges: [{ address_prefix: '127.0.0.1' }] }] } } } };
    expect(ids({ matcher: m })).toEqual(['cidr-without-prefix-len $.matcher.matcher_tree.custom_match.typed_config.range_matchers[0].ranges[0]']);
  });
  it('principal_name regex with an unescaped dot; escaped dots and classes are fine', () => {
    const p = (regex: string) => ({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { safe_regex: { regex } } } }] } } } });
    expect(ids(p('spiffe://cluster.local/ns/foo/sa/.*'))).toHaveLength(1);
    expect(ids(p('spiffe://cluster\\.local/ns/foo/sa/.*'))).toEqual([]);
    expect(ids(p('spiffe://cluster[.]local/.+'))).toEqual([]);
  });
  it(':path header matchers (rules and matcher inputs), not url_path', () => {
    expect(ids({ rules: { policies: { p: { permissions: [{ header: { name: ':path', string_match: { prefix: '/a' } } }, { url_path: { path: { prefix: '/a' } } }], principals: [{ any: true }] } } } })).toEqual([
      'path-header-matcher $.rules.policies.p.permissions[0].header',
    ]);
  });
  it('policies after a match-all policy (in name order) never decide', () => {
    const rules = { action: 'DENY', policies: { zeta: { permissions: [{ any: true }], principals: [{ any: true }] }, alpha: { permissions: [{ destination_port: 1 }], principals: [{ any: true }] }, zz: { permissions: [{ any: true }], principals: [{ authenticated: {} }] } } };
    expect(ids({ rules })).toEqual(['shadowed-by-match-all $.rules.policies.zz']);
  });
});

describe('matcher trees and optional mTLS in policies', () => {
  it('a mixed-action matcher tree lists each action with its conditions', () => {
    const s = summarizeRbac(
      'http',
      {
        name: 'rbac',
        typeUrl: '',
        jsonPath: '$',
        config: {
          matcher: {
            matcher_list: {
              matchers: [
                {
                  predicate: { single_predicate: { input: { name: 'h', typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: 'x-team' } }, value_match: { exact: 'red' } } },
                  on_match: { action: { name: 'a', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name: 'deny-red', action: 'DENY' } } },
                },
              ],
            },
            on_no_match: { action: { name: 'a', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name: 'default' } } },
          },
        },
      },
      0,
    );
    expect(s.summary).toBe('matcher (mixed: DENY/ALLOW): DENY [deny-red] if x-team exact "red"; otherwise ALLOW [default]');
  });
  it('a matcher tree Envoy would reject says so (action type is not envoy.config.rbac.v3.Action, envoy#22336)', () => {
    const s = summarizeRbac('http', { name: 'rbac', typeUrl: '', jsonPath: '$', config: { matcher: { on_no_match: { action: { name: 'a', typed_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'x' } } } } } }, 0);
    expect(s.summary).toMatch(/^matcher tree Envoy would reject .*envoy\.config\.rbac\.v3\.Action/);
  });
});

describeShared('policies on Envoy Gateway and envoyproxy/examples configs (needs ../shared/external)', () => {
  const pol = (f: string) => analyzePolicies(parseConfigDump(f.endsWith('.json') ? JSON.parse(readFileSync(join(DIR, f), 'utf8')) : load(readFileSync(join(DIR, f), 'utf8')), f));
  it('the rbac example: the referer matcher, DENY when absent, ALLOW otherwise', () => {
    const f = pol('envoy-examples/rbac_envoy.yaml').listeners[0]!.chains[0]!.filters[0]!;
    expect(f.summary).toBe('matcher (mixed: DENY/ALLOW): DENY [illegal-referer] if not (referer regex "https?://(www.)?envoyproxy.io/docs/envoy.*"); otherwise ALLOW [all-pass]');
  });
  it('Envoy Gateway: per-route overrides summarised; optional client certificates shown as optional mTLS', () => {
    const p = pol('envoy-gateway/authorization-client-cidr.dump.json');
    const routes = p.listeners.flatMap((l) => l.chains.flatMap((c) => c.perRoute.map((r) => r.summary)));
    expect(routes).toContain('override: matcher (mixed: DENY/ALLOW): DENY [DENY] if source.ip in 192.168.1.0/24 or 192.168.2.0/24; DENY [DENY] if source.ip in 10.75.1.0/24 or 10.75.2.0/24; otherwise ALLOW [ALLOW]');
    const mt = pol('envoy-gateway/mutual-tls-required-client-certificate-disabled.dump.json');
    expect(mt.listeners.flatMap((l) => l.chains.map((c) => c.clientCertificate))).toEqual(['optional', 'optional']);
  });
});
