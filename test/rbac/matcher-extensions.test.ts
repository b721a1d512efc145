/**
 * Matcher-tree extensions in the RBAC `matcher`: the action type check (envoy#22336), DynamicMetadataInput
 * with the metadata input matcher (invert included), an unknown predicate decided when both ways lead to the
 * same action, IPMatcher trees (longest prefix first, `exclusive` stops the fallback), prefix maps falling
 * back to shorter prefixes.
 */
import { describe, expect, it } from 'vitest';
import { parseRbacFilter, evaluateRbacFilter } from '../../src/rbac/index.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const A = 'type.googleapis.com/envoy.config.rbac.v3.Action';
const act = (name: string, action = 'ALLOW') => ({ action: { name: 'a', typed_config: { '@type': A, name, action } } });
const NET = 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.';
const filter = (matcher: unknown) => parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', matcher }, { kind: 'http' });
const run = (matcher: unknown, req: RequestAttrs, unknown: string[] = []) => {
  const d = evaluateRbacFilter(filter(matcher), req, { unknown });
  return `${d.result} ${d.effectivePolicy ?? '-'}`;
};
const http = (extra: Partial<RequestAttrs> = {}): RequestAttrs => ({ source: { address: '10.0.0.1', port: 1 }, http: { method: 'GET', path: '/', headers: {} }, ...extra });

describe('RBAC matcher extensions', () => {
  it('an action whose type is not envoy.config.rbac.v3.Action is rejected, as Envoy does (envoy#22336)', () => {
    expect(() => filter({ on_no_match: { action: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.config.route.v3.Route' } } } })).toThrow(/Didn't find a registered implementation for 'type.googleapis.com\/envoy.config.route.v3.Route'/);
  });

  const claim = (value: unknown, invert = false) => ({
    matcher_list: {
      matchers: [
        {
          predicate: {
            single_predicate: {
              input: { name: 'claim', typed_config: { '@type': `${NET}DynamicMetadataInput`, filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: 'groups' }] } },
              custom_match: { name: 'm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.input_matchers.metadata.v3.Metadata', value, invert } },
            },
          },
          on_match: act('admins'),
        },
      ],
    },
    on_no_match: act('others', 'DENY'),
  });
  const jwt = (groups: unknown) => http({ metadata: { 'envoy.filters.http.jwt_authn': { payload: { groups } } } });
  it('DynamicMetadataInput + metadata input matcher: list claims, absent claims, invert', () => {
    const admins = { list_match: { one_of: { string_match: { exact: 'admin' } } } };
    expect(run(claim(admins), jwt(['dev', 'admin']))).toBe('ALLOW admins');
    expect(run(claim(admins), jwt(['dev']))).toBe('DENY others');
    expect(run(claim(admins), http())).toBe('DENY others');
    expect(run(claim(admins, true), jwt(['dev']))).toBe('ALLOW admins');
    expect(run(claim(admins), http(), ['metadata'])).toBe('UNDECIDABLE -');
  });
  it('an unknown input is decided when both ways lead to the same action', () => {
    const same = { matcher_list: { matchers: [{ predicate: { single_predicate: { input: { name: 'h', typed_config: { '@type': `${NET}DynamicMetadataInput`, filter: 'x', path: [{ key: 'k' }] } }, custom_match: { name: 'm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.input_matchers.metadata.v3.Metadata', value: { present_match: true } } } } }, on_match: act('deny', 'DENY') }] }, on_no_match: act('deny', 'DENY') };
    expect(run(same, http(), ['metadata'])).toBe('DENY deny');
  });
  it('IPMatcher tree: longest prefix first, non-exclusive ranges fall back, exclusive ones do not', () => {
    const nested = (name: string) => ({ matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: { name: 'h', typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: 'x-ok' } }, value_match: { exact: 'yes' } } }, on_match: act(name) }] } } });
    const tree = (exclusive: boolean) => ({
      matcher_tree: {
        input: { name: 'ip', typed_config: { '@type': `${NET}SourceIPInput` } },
        custom_match: {
          name: 'ip',
          typed_config: {
            '@type': 'type.googleapis.com/xds.type.matcher.v3.IPMatcher',
            range_matchers: [
              { ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }], on_match: act('wide') },
              { ranges: [{ address_prefix: '10.0.0.0', prefix_len: 24 }], on_match: nested('narrow'), exclusive },
            ],
          },
        },
      },
      on_no_match: act('none', 'DENY'),
    });
    const withHeader = http({ http: { method: 'GET', path: '/', headers: { 'x-ok': ['yes'] } } });
    expect(run(tree(false), withHeader)).toBe('ALLOW narrow');
    expect(run(tree(false), http())).toBe('ALLOW wide');
    expect(run(tree(true), http())).toBe('DENY none');
    expect(run(tree(false), http({ source: { address: '192.168.0.1', port: 1 } }))).toBe('DENY none');
  });
  it('prefix_match_map: longest prefix first, then shorter ones when the subtree misses', () => {
    const tree = {
      matcher_tree: {
        input: { name: 'p', typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: ':path' } },
        prefix_match_map: {
          map: {
            '/api/': act('api'),
            '/api/admin/': { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: { name: 'm', typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: ':method' } }, value_match: { exact: 'GET' } } }, on_match: act('admin-read') }] } } },
          },
        },
      },
    };
    expect(run(tree, http({ http: { method: 'GET', path: '/api/admin/x', headers: {} } }))).toBe('ALLOW admin-read');
    expect(run(tree, http({ http: { method: 'POST', path: '/api/admin/x', headers: {} } }))).toBe('ALLOW api');
    expect(run(tree, http({ http: { method: 'POST', path: '/other', headers: {} } }))).toBe('DENY -');
  });
});
