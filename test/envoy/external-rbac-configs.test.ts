/**
 * Envoy's own RBAC integration-test configs (../shared/external/configs/envoy-rbac-it, -net-it) decided as
 * the upstream tests assert (test/extensions/filters/{http,network}/rbac/*integration_test.cc): the status
 * (200 → ALLOW, 403 → DENY) and the `rbac_access_denied_matched_policy[...]` string. The requests are the
 * tests' own (`:authority sni.lyft.com`, from the loopback address). Cases whose upstream assertions are
 * not in our copy of the test file (sourced metadata, CEL input, filter state, URI template) are decided
 * from the config and Envoy's matcher semantics and say so in their names.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { SHARED, describeShared } from '../helpers/cli.js';
import { decideWithFilter } from '../../src/envoy/decide.js';
import { parseRbacFilter } from '../../src/rbac/index.js';
import type { JsonValue, RequestAttrs } from '../../src/model/attrs.js';

const DIR = join(SHARED, 'external', 'configs');
const filterOf = (sub: string, name: string) => parseRbacFilter(load(readFileSync(join(DIR, sub, `${name}.yaml`), 'utf8')), { kind: 'http' });

function req(method: string, path: string, headers: Record<string, string[]> = {}, extra: Partial<RequestAttrs> = {}): RequestAttrs {
  return { source: { address: '127.0.0.1', port: 40000 }, destination: { address: '127.0.0.1', port: 10000 }, http: { method, path, authority: 'sni.lyft.com', headers }, ...extra };
}

function decide(name: string, r: RequestAttrs, routeMetadata?: Record<string, JsonValue> | null) {
  const d = decideWithFilter(filterOf('envoy-rbac-it', name), r, routeMetadata !== undefined ? { routeMetadata } : {});
  return { decision: d.decision, details: d.responseCodeDetails };
}

const ALLOWED = { decision: 'ALLOW', details: null };
const denied = (policy: string) => ({ decision: 'DENY', details: `rbac_access_denied_matched_policy[${policy}]` });

describeShared('Envoy HTTP RBAC integration tests (needs ../shared/external)', () => {
  it('Allowed / Denied / DeniedHeadReply: GET-only rules', () => {
    expect(decide('RBAC_CONFIG', req('GET', '/'))).toEqual(ALLOWED);
    expect(decide('RBAC_CONFIG', req('POST', '/'))).toEqual(denied('none'));
    expect(decide('RBAC_CONFIG', req('HEAD', '/'))).toEqual(denied('none'));
  });
  it('DeniedWithDenyAction: the policy id has its whitespace replaced by _', () => {
    expect(decide('RBAC_CONFIG_WITH_DENY_ACTION', req('GET', '/'))).toEqual(denied('deny_policy'));
  });
  it('DeniedWithPrefixRule (normalize_path off): /foo/../bar is allowed by the /foo prefix', () => {
    expect(decide('RBAC_CONFIG_WITH_PREFIX_MATCH', req('POST', '/foo/../bar'))).toEqual(ALLOWED);
  });
  it('PathWithQueryAndFragment: url_path ignores the query and fragment', () => {
    for (const p of ['/allow', '/allow?p1=v1&p2=v2', '/allow?p1=v1#seg']) expect(decide('RBAC_CONFIG_WITH_PATH_EXACT_MATCH', req('POST', p)), p).toEqual(ALLOWED);
  });
  it('DenyExactMatchIgnoresQueryAndFragment', () => {
    for (const p of ['/deny#', '/deny#fragment', '/deny?p1=v1&p2=v2', '/deny?p1=v1#seg']) expect(decide('RBAC_CONFIG_DENY_WITH_PATH_EXACT_MATCH', req('POST', p)), p).toEqual(denied('foo'));
  });
  it('PathIgnoreCase', () => {
    for (const p of ['/ignore_case', '/IGNORE_CASE', '/ignore_CASE']) expect(decide('RBAC_CONFIG_WITH_PATH_IGNORE_CASE_MATCH', req('POST', p)), p).toEqual(ALLOWED);
  });
  it('LogConnectionAllow: LOG never denies', () => {
    expect(decide('RBAC_CONFIG_WITH_LOG_ACTION', req('POST', '/'))).toEqual(ALLOWED);
  });
  it('HeaderMatchCondition / HeaderMatchConditionDuplicateHeaderNoMatch (CEL on request.headers)', () => {
    expect(decide('RBAC_CONFIG_HEADER_MATCH_CONDITION', req('POST', '/path', { xxx: ['yyy'] }))).toEqual(ALLOWED);
    expect(decide('RBAC_CONFIG_HEADER_MATCH_CONDITION', req('POST', '/path', { xxx: ['yyy', 'zzz'] }))).toEqual(denied('none'));
  });
  it('MatcherAllowed / MatcherDenied / MatcherDeniedHeadReply', () => {
    expect(decide('RBAC_MATCHER_CONFIG', req('GET', '/'))).toEqual(ALLOWED);
    expect(decide('RBAC_MATCHER_CONFIG', req('POST', '/'))).toEqual(denied('none'));
    expect(decide('RBAC_MATCHER_CONFIG', req('HEAD', '/'))).toEqual(denied('none'));
  });
  it('MatcherDeniedWithDenyAction', () => {
    expect(decide('RBAC_MATCHER_CONFIG_WITH_DENY_ACTION', req('GET', '/'))).toEqual(denied('deny_policy'));
  });
  it('MatcherDeniedWithPrefixRule (normalize_path off)', () => {
    expect(decide('RBAC_MATCHER_CONFIG_WITH_PREFIX_MATCH', req('POST', '/foo/../bar'))).toEqual(ALLOWED);
  });
  it('PathMatcherWithQueryAndFragment / MatcherDenyExactMatchIgnoresQueryAndFragment', () => {
    for (const p of ['/allow', '/allow?p1=v1&p2=v2', '/allow?p1=v1#seg']) expect(decide('RBAC_MATCHER_CONFIG_WITH_PATH_EXACT_MATCH', req('POST', p)), p).toEqual(ALLOWED);
    for (const p of ['/deny?p1=v1&p2=v2', '/deny?p1=v1#seg']) expect(decide('RBAC_MATCHER_CONFIG_DENY_WITH_PATH_EXACT_MATCH', req('POST', p)), p).toEqual(denied('foo'));
  });
  it('MatcherPathIgnoreCase', () => {
    for (const p of ['/ignore_case', '/IGNORE_CASE', '/ignore_CASE']) expect(decide('RBAC_MATCHER_CONFIG_WITH_PATH_IGNORE_CASE_MATCH', req('POST', p)), p).toEqual(ALLOWED);
  });
  it('MatcherLogConnectionAllow: a LOG action allows', () => {
    expect(decide('RBAC_MATCHER_CONFIG_WITH_LOG_ACTION', req('GET', '/'))).toEqual(ALLOWED);
    expect(decide('RBAC_MATCHER_CONFIG_WITH_LOG_ACTION', req('POST', '/'))).toEqual(ALLOWED);
  });

  // Decided from the config and Envoy's semantics (the upstream assertions are not in our copy of the test).
  it('CEL input + IP matcher tree (semantics): the CEL path test, then range 127.0.0.1 without prefix_len, i.e. /0 (envoy#35421)', () => {
    const name = 'RBAC_MATCHER_WITH_HTTP_ATTRS_CEL_MATCH_INPUT_CONFIG';
    expect(decide(name, req('GET', '/test-localhost-deny'))).toEqual(denied('deny-request'));
    expect(decide(name, req('GET', '/test-localhost-allow'))).toEqual(ALLOWED);
    // prefix_len unset is 0: every IPv4 source falls in 127.0.0.1/0.
    expect(decide(name, req('GET', '/test-localhost-deny', {}, { source: { address: '10.1.2.3', port: 1 } }))).toEqual(denied('deny-request'));
    // …but not an IPv6 one: families never cross, so the nested matcher's on_no_match allows.
    expect(decide(name, req('GET', '/test-localhost-deny', {}, { source: { address: '::1', port: 1 } }))).toEqual(ALLOWED);
  });
  it('filter-state input (semantics): test_key=deny_value is denied, anything else allowed', () => {
    expect(decide('RBAC_CONFIG_WITH_FILTER_STATE_INPUT_MATCH', req('GET', '/', {}, { filterState: { test_key: 'deny_value' } }))).toEqual(denied('deny-request'));
    expect(decide('RBAC_CONFIG_WITH_FILTER_STATE_INPUT_MATCH', req('GET', '/', {}, { filterState: { test_key: 'other' } }))).toEqual(ALLOWED);
    expect(decide('RBAC_CONFIG_WITH_FILTER_STATE_INPUT_MATCH', req('GET', '/'))).toEqual(ALLOWED);
  });
  it('uri_template permission (semantics): /test/deny/path is denied', () => {
    expect(decide('RBAC_CONFIG_PERMISSION_WITH_URI_PATH_TEMPLATE_MATCH', req('GET', '/test/deny/path'))).toEqual(denied('foo'));
    expect(decide('RBAC_CONFIG_PERMISSION_WITH_URI_PATH_TEMPLATE_MATCH', req('GET', '/test/allow/path'))).toEqual(ALLOWED);
  });

  const routeMd = { 'envoy.filters.http.lua': { 'foo.bar': { baz: 'bat' }, 'hello.world': { foo: 'baz' } } };
  it('route metadata 1/3 (semantics): dynamic metadata permission AND route-sourced principal', () => {
    const name = 'RBAC_CONFIG_WITH_DYNAMIC_METADATA';
    const md = { metadata: { 'my.ns': { foo: 'baz' } } };
    expect(decide(name, req('GET', '/', {}, md), routeMd)).toEqual(ALLOWED);
    expect(decide(name, req('GET', '/', {}, md), null)).toEqual(denied('none'));
    expect(decide(name, req('GET', '/'), routeMd)).toEqual(denied('none'));
  });
  it('route metadata 2/3 (semantics): DENY on dynamic (default source) AND route metadata', () => {
    const name = 'RBAC_CONFIG_WITH_SOURCED_METADATA_DYNAMIC';
    expect(decide(name, req('GET', '/', {}, { metadata: { 'my.ns': { foo: 'baz' } } }), routeMd)).toEqual(denied('deny_policy'));
    expect(decide(name, req('GET', '/'), routeMd)).toEqual(ALLOWED);
    expect(decide(name, req('GET', '/', {}, { metadata: { 'my.ns': { foo: 'baz' } } }), null)).toEqual(ALLOWED);
  });
  it('route metadata 3/3 (semantics): DENY on route metadata only; keys with dots are literal', () => {
    const name = 'RBAC_CONFIG_WITH_SOURCED_METADATA_ROUTE';
    expect(decide(name, req('GET', '/'), routeMd)).toEqual(denied('deny_policy'));
    expect(decide(name, req('GET', '/'), { 'envoy.filters.http.lua': { foo: { bar: { baz: 'bat' } }, hello: { world: { foo: 'baz' } } } })).toEqual(ALLOWED);
    expect(decide(name, req('GET', '/'), null)).toEqual(ALLOWED);
  });
});

describeShared('Envoy network RBAC integration tests (needs ../shared/external)', () => {
  const net = (name: string, r: RequestAttrs = { source: { address: '127.0.0.1', port: 40000 }, destination: { address: '127.0.0.1', port: 10000 } }) => {
    const d = decideWithFilter(parseRbacFilter(load(readFileSync(join(DIR, 'envoy-rbac-net-it', `${name}.yaml`), 'utf8')), { kind: 'network' }), r);
    return { decision: d.decision, details: d.connectionTerminationDetails ?? null };
  };
  const closed = (p: string) => ({ decision: 'DENY', details: `rbac_access_denied_matched_policy[${p}]` });
  it('Allowed / Denied / DeniedWithDenyAction / DelayDenied', () => {
    expect(net('Allowed')).toEqual({ decision: 'ALLOW', details: null });
    expect(net('Denied')).toEqual(closed('none'));
    expect(net('DeniedWithDenyAction')).toEqual(closed('deny_all'));
    expect(net('DelayDenied')).toEqual(closed('none'));
  });
  it('MatcherAllowed / MatcherDenied / MatcherDeniedWithDenyAction', () => {
    expect(net('MatcherAllowed')).toEqual({ decision: 'ALLOW', details: null });
    expect(net('MatcherDenied')).toEqual(closed('deny_all'));
    expect(net('MatcherDeniedWithDenyAction')).toEqual(closed('deny_all'));
  });
  it('FilterStateMatcherDenied', () => {
    expect(net('FilterStateMatcherDenied', { source: { address: '127.0.0.1', port: 1 }, destination: { address: '127.0.0.1', port: 2 }, filterState: { test_key: 'deny_value' } })).toEqual(closed('deny-request'));
  });
});
