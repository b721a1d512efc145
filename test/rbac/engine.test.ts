import { describe, expect, it } from 'vitest';
import { parseRbacFilter, parseRbacPerRoute, evaluateRbacFilter, responseCodeDetails, closestMiss, explainText, RbacConfigError, compareUtf8 } from '../../src/rbac/index.js';
import { http, tls } from './helpers.js';

// Modelled on test/extensions/filters/common/rbac/engine_impl_test.cc and the HTTP/network filter tests.
const get = { http: http('GET', '/info'), tls: tls(['spiffe://cluster.local/ns/default/sa/sleep']), destination: { address: '10.0.0.2', port: 80 } };
const post = { ...get, http: http('POST', '/data') };
const methodPolicy = (m: string) => ({ permissions: [{ header: { name: ':method', string_match: { exact: m } } }], principals: [{ any: true }] });

describe('rules engine (RoleBasedAccessControlEngineImpl)', () => {
  it('ALLOW: allowed iff a policy matches; the first match in byte order is the effective policy', () => {
    const f = parseRbacFilter({ rules: { policies: { zz: methodPolicy('GET'), aa: methodPolicy('GET'), mm: methodPolicy('POST') } } }, { kind: 'http' });
    const d = evaluateRbacFilter(f, get);
    expect(d.result).toBe('ALLOW');
    expect(d.effectivePolicy).toBe('aa');
    expect(d.policies.map((p) => p.name)).toEqual(['aa', 'mm', 'zz']);
    const d2 = evaluateRbacFilter(f, { ...get, http: http('PUT', '/') });
    expect([d2.result, d2.effectivePolicy]).toEqual(['DENY', null]);
  });
  it('missing action defaults to ALLOW (JSON omits defaults)', () => {
    const f = parseRbacFilter({ rules: { policies: { p: methodPolicy('GET') } } }, { kind: 'http' });
    expect(f.enforced?.type === 'rules' && f.enforced.action).toBe('ALLOW');
  });
  it('DENY: denied iff a policy matches, reporting its name', () => {
    const f = parseRbacFilter({ rules: { action: 'DENY', policies: { 'deny post': methodPolicy('POST') } } }, { kind: 'http' });
    expect(evaluateRbacFilter(f, get).result).toBe('ALLOW');
    const d = evaluateRbacFilter(f, post);
    expect([d.result, d.effectivePolicy]).toEqual(['DENY', 'deny post']);
    expect(responseCodeDetails(d.effectivePolicy)).toBe('rbac_access_denied_matched_policy[deny_post]');
  });
  it('LOG: always allowed, access_log_hint set in enforced mode', () => {
    const f = parseRbacFilter({ rules: { action: 'LOG', policies: { p: methodPolicy('GET') } } }, { kind: 'http' });
    const d = evaluateRbacFilter(f, get);
    expect(d.result).toBe('ALLOW');
    expect(d.dynamicMetadata?.['envoy.common']?.access_log_hint).toBe('true');
    expect(evaluateRbacFilter(f, post).dynamicMetadata?.['envoy.common']?.access_log_hint).toBe('false');
  });
  it('action as enum number', () => {
    const f = parseRbacFilter({ rules: { action: 1, policies: {} } }, { kind: 'http' });
    expect(f.enforced?.type === 'rules' && f.enforced.action).toBe('DENY');
  });
  it('empty policies: ALLOW denies everything, DENY allows everything', () => {
    expect(evaluateRbacFilter(parseRbacFilter({ rules: {} }, { kind: 'http' }), get).result).toBe('DENY');
    expect(evaluateRbacFilter(parseRbacFilter({ rules: { action: 'DENY' } }, { kind: 'http' }), get).result).toBe('ALLOW');
  });
  it('absent rules: not enforcing', () => {
    const d = evaluateRbacFilter(parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC' }, { kind: 'http' }), get);
    expect([d.result, d.enforcing]).toEqual(['ALLOW', false]);
  });
  it('shadow rules never enforce and write Envoy\'s metadata keys with the prefix', () => {
    const f = parseRbacFilter({ shadow_rules: { action: 'DENY', policies: { p: methodPolicy('GET') } }, shadow_rules_stat_prefix: 'istio_dry_run_deny_' }, { kind: 'http' });
    const d = evaluateRbacFilter(f, get);
    expect(d.shadow).toBe(true);
    expect(d.enforcing).toBe(false);
    expect(d.result).toBe('DENY'); // what it would have decided
    expect(d.dynamicMetadata).toEqual({ 'envoy.filters.http.rbac': { istio_dry_run_deny_shadow_effective_policy_id: 'p', istio_dry_run_deny_shadow_engine_result: 'denied' } });
  });
  it('enforced keys (HTTP) and shadow keys together; no effective id key when none matched', () => {
    const f = parseRbacFilter({ rules: { policies: { p: methodPolicy('GET') } }, rules_stat_prefix: 'r_', shadow_rules: { policies: { q: methodPolicy('PUT') } } }, { kind: 'http' });
    const d = evaluateRbacFilter(f, get);
    expect(d.dynamicMetadata?.['envoy.filters.http.rbac']).toEqual({ r_enforced_effective_policy_id: 'p', r_enforced_engine_result: 'allowed', shadow_engine_result: 'denied' });
    expect(d.shadowDecision?.result).toBe('DENY');
  });
  it('network filter: shadow keys only, under envoy.filters.network.rbac', () => {
    const f = parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', stat_prefix: 'tcp.', rules: { policies: { p: { permissions: [{ destination_port: 80 }], principals: [{ any: true }] } } }, shadow_rules: { policies: {} } }, { kind: 'http' });
    expect(f.kind).toBe('network');
    const d = evaluateRbacFilter(f, { destination: { address: '10.0.0.2', port: 80 } });
    expect(d.result).toBe('ALLOW');
    expect(d.dynamicMetadata).toEqual({ 'envoy.filters.network.rbac': { shadow_engine_result: 'denied' } });
  });
  it('network filter requires stat_prefix in a typed config', () => {
    expect(() => parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', rules: {} }, { kind: 'network' })).toThrow('StatPrefix');
  });
  it('policies are sorted by UTF-8 bytes, not UTF-16 code units', () => {
    const a = '\uFF5E'; // U+FF5E: EF BD 9E
    const b = '\u{1F600}'; // astral: F0 9F 98 80; UTF-16 sorts it first (D83D < FF5E)
    expect(compareUtf8(a, b)).toBeLessThan(0);
    expect([b, a].sort()).toEqual([b, a]);
    const f = parseRbacFilter({ rules: { policies: { [b]: methodPolicy('GET'), [a]: methodPolicy('GET') } } }, { kind: 'http' });
    expect(evaluateRbacFilter(f, get).effectivePolicy).toBe(a);
  });
  it('a policy needs a permission AND a principal (and the condition)', () => {
    const f = parseRbacFilter({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { exact: 'spiffe://x' } } }] } } } }, { kind: 'http' });
    expect(evaluateRbacFilter(f, get).result).toBe('DENY');
  });
  it('accepts camelCase, a {name, typedConfig} wrapper and a bare rules object', () => {
    const camel = { name: 'my-rbac', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rules: { policies: { p: { permissions: [{ urlPath: { path: { prefix: '/info' } } }], principals: [{ andIds: { ids: [{ any: true }] } }] } } } } };
    const f = parseRbacFilter(camel, { kind: 'http' });
    expect(f.name).toBe('my-rbac');
    expect(evaluateRbacFilter(f, get).result).toBe('ALLOW');
    const bare = parseRbacFilter({ action: 'DENY', policies: { p: methodPolicy('GET') } }, { kind: 'http' });
    expect(evaluateRbacFilter(bare, get).result).toBe('DENY');
  });
  it('rejects invalid configs with the JSON path and Envoy\'s reason', () => {
    const bad = () => parseRbacFilter({ rules: { policies: { p: { permissions: [], principals: [{ any: true }] } } } }, { kind: 'http' });
    expect(bad).toThrow(RbacConfigError);
    expect(bad).toThrow('$.rules.policies.p.permissions: invalid RBAC config: PolicyValidationError.Permissions: value must contain at least 1 item(s)');
    expect(() => parseRbacFilter({ rules: { action: 'MAYBE' } }, { kind: 'http' })).toThrow('$.rules.action');
    expect(() => parseRbacFilter({ rules: { policies: { p: { permissions: [{ any: true }] } } } }, { kind: 'http' })).toThrow('PolicyValidationError.Principals');
    expect(() => parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz' }, { kind: 'http' })).toThrow('expected an RBAC filter config');
  });
});

describe('per-route RBACPerRoute', () => {
  const f = parseRbacFilter({ rules: { policies: { 'get-only': methodPolicy('GET') } } }, { kind: 'http' });
  it('an empty per-route config disables RBAC on the route', () => {
    const pr = parseRbacPerRoute({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' });
    expect(pr.rbac).toBeNull();
    expect(evaluateRbacFilter(f, post, { perRoute: pr }).result).toBe('ALLOW');
    expect(evaluateRbacFilter(f, post).result).toBe('DENY');
  });
  it('a per-route config replaces the engines wholesale', () => {
    const pr = parseRbacPerRoute({ rbac: { rules: { policies: { 'post-only': methodPolicy('POST') } } } });
    expect(evaluateRbacFilter(f, post, { perRoute: pr }).effectivePolicy).toBe('post-only');
    expect(evaluateRbacFilter(f, get, { perRoute: pr }).result).toBe('DENY');
  });
  it('a per-route rbac with empty ALLOW rules denies everything on the route', () => {
    const pr = parseRbacPerRoute({ rbac: { rules: {} } });
    expect(evaluateRbacFilter(f, get, { perRoute: pr }).result).toBe('DENY');
  });
});

describe('matcher-tree engine (matcher / shadow_matcher)', () => {
  const action = (name: string, a = 'ALLOW') => ({ action: { name: 'envoy.filters.rbac.action', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name, action: a } } });
  const input = (t: string, extra: object = {}) => ({ name: 'i', typed_config: { '@type': `type.googleapis.com/${t}`, ...extra } });
  const header = (h: string) => input('envoy.type.matcher.v3.HttpRequestHeaderMatchInput', { header_name: h });
  const port = input('envoy.extensions.matching.common_inputs.network.v3.DestinationPortInput');
  const uriSan = input('envoy.extensions.matching.common_inputs.ssl.v3.UriSanInput');
  const tree = (matcher: unknown, rules?: unknown) => parseRbacFilter({ matcher, ...(rules ? { rules } : {}) }, { kind: 'http' });

  it('matcher_list: first match wins, the Action name is the effective policy', () => {
    const f = tree({ matcher_list: { matchers: [
      { predicate: { single_predicate: { input: header(':method'), value_match: { exact: 'POST' } } }, on_match: action('deny-post', 'DENY') },
      { predicate: { single_predicate: { input: port, value_match: { exact: '80' } } }, on_match: action('allow-80') },
    ] } });
    expect(evaluateRbacFilter(f, get)).toMatchObject({ result: 'ALLOW', effectivePolicy: 'allow-80' });
    expect(evaluateRbacFilter(f, post)).toMatchObject({ result: 'DENY', effectivePolicy: 'deny-post' });
  });
  it('no match and no on_no_match: DENY with policy none; rules are ignored when matcher is set', () => {
    const f = tree({ matcher_list: { matchers: [{ predicate: { single_predicate: { input: port, value_match: { exact: '9' } } }, on_match: action('x') }] } }, { action: 'DENY', policies: {} });
    expect(evaluateRbacFilter(f, get)).toMatchObject({ result: 'DENY', effectivePolicy: null });
  });
  it('an empty matcher denies everything; on_no_match applies otherwise', () => {
    expect(evaluateRbacFilter(tree({}), get).result).toBe('DENY');
    expect(evaluateRbacFilter(tree({ on_no_match: action('default-allow') }), get)).toMatchObject({ result: 'ALLOW', effectivePolicy: 'default-allow' });
  });
  it('an SSL input on a plaintext connection is insufficient data: DENY even before on_no_match', () => {
    const f = tree({ matcher_list: { matchers: [{ predicate: { single_predicate: { input: uriSan, value_match: { prefix: 'spiffe://' } } }, on_match: action('mesh') }] }, on_no_match: action('anyone') });
    expect(evaluateRbacFilter(f, get)).toMatchObject({ result: 'ALLOW', effectivePolicy: 'mesh' });
    expect(evaluateRbacFilter(f, { ...get, tls: undefined })).toMatchObject({ result: 'DENY', effectivePolicy: null });
  });
  it('exact_match_map and prefix_match_map (longest prefix first, falls back after a subtree miss); keys are kept verbatim', () => {
    const f = tree({ matcher_tree: { input: header(':method'), exact_match_map: { map: { GET: action('get'), POST: action('post', 'DENY') } } } });
    expect(evaluateRbacFilter(f, get).effectivePolicy).toBe('get');
    expect(evaluateRbacFilter(f, post).result).toBe('DENY');
    const camel = parseRbacFilter({ matcher: { matcherTree: { input: header(':method'), exactMatchMap: { map: { GET: action('get') } } } } }, { kind: 'http' });
    expect(evaluateRbacFilter(camel, get).effectivePolicy).toBe('get');
    const p = tree({ matcher_tree: { input: header(':path'), prefix_match_map: { map: {
      '/info': { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: port, value_match: { exact: '1' } } }, on_match: action('long') }] } } },
      '/': action('short'),
    } } } });
    expect(evaluateRbacFilter(p, get).effectivePolicy).toBe('short');
  });
  it('keep_matching skips an action; nested no-match continues with the next matcher', () => {
    const f = tree({ matcher_list: { matchers: [
      { predicate: { single_predicate: { input: port, value_match: { exact: '80' } } }, on_match: { ...action('skipped', 'DENY'), keep_matching: true } },
      { predicate: { single_predicate: { input: port, value_match: { exact: '80' } } }, on_match: { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: header(':method'), value_match: { exact: 'PUT' } } }, on_match: action('nested') }] } } } },
      { predicate: { and_matcher: { predicate: [
        { single_predicate: { input: port, value_match: { exact: '80' } } },
        { not_matcher: { single_predicate: { input: header('x-missing'), value_match: { exact: 'v' } } } },
      ] } }, on_match: action('third') },
    ] } });
    expect(evaluateRbacFilter(f, get).effectivePolicy).toBe('third');
  });
  it('network filter rejects HTTP inputs', () => {
    expect(() => parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', stat_prefix: 't', matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: header('x'), value_match: { exact: 'v' } } }, on_match: action('a') }] } } }, { kind: 'network' })).toThrow("RBAC network filter cannot match 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput'");
  });
  it('Action name must be non-empty', () => {
    expect(() => tree({ on_no_match: { action: { name: 'a', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name: '' } } } })).toThrow('ActionValidationError.Name');
  });
});

describe('CEL condition (faithful subset)', () => {
  const cond = (expr: unknown) => parseRbacFilter({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], condition: expr } } } }, { kind: 'http' });
  const call = (fn: string, ...args: unknown[]) => ({ call_expr: { function: fn, args } });
  const sel = (operand: unknown, field: string) => ({ select_expr: { operand, field } });
  const id = (name: string) => ({ ident_expr: { name } });
  const str = (s: string) => ({ const_expr: { string_value: s } });
  const req = { ...get, http: http('GET', '/info', { xxx: ['yyy', 'zzz'] }) };
  it('request.headers are comma-joined', () => {
    const h = (v: string) => cond(call('_==_', call('_[_]', sel(id('request'), 'headers'), str('xxx')), str(v)));
    expect(evaluateRbacFilter(h('yyy'), req).result).toBe('DENY');
    expect(evaluateRbacFilter(h('yyy,zzz'), req).result).toBe('ALLOW');
  });
  it('a missing header key is an error → false; || absorbs the error', () => {
    const missing = call('_==_', call('_[_]', sel(id('request'), 'headers'), str('nope')), str('x'));
    expect(evaluateRbacFilter(cond(missing), req).result).toBe('DENY');
    const ok = call('_==_', sel(id('request'), 'method'), str('GET'));
    expect(evaluateRbacFilter(cond(call('_||_', missing, ok)), req).result).toBe('ALLOW');
  });
  it('a non-bool result is false', () => {
    expect(evaluateRbacFilter(cond({ const_expr: { int64_value: '13' } }), req).result).toBe('DENY');
  });
  it('string functions and connection attributes', () => {
    const e = call('_&&_', { call_expr: { target: sel(id('request'), 'path'), function: 'startsWith', args: [str('/in')] } }, call('_==_', sel(id('connection'), 'uri_san_peer_certificate'), str('spiffe://cluster.local/ns/default/sa/sleep')));
    expect(evaluateRbacFilter(cond(e), req).result).toBe('ALLOW');
    const m = { call_expr: { target: sel(id('source'), 'address'), function: 'matches', args: [str('^10\\.')] } };
    expect(evaluateRbacFilter(cond(m), { ...req, source: { address: '10.1.1.1', port: 5 } }).result).toBe('ALLOW');
  });
  it('unsupported functions make the policy UNDECIDABLE with the reason, never a guess', () => {
    const d = evaluateRbacFilter(cond(call('timestamp', str('2020-01-01T00:00:00Z'))), req);
    expect(d.result).toBe('UNDECIDABLE');
    expect(d.policies[0]!.undecidableReason).toContain("CEL function 'timestamp'");
    const d2 = evaluateRbacFilter(cond(call('_==_', sel(id('request'), 'time'), str('x'))), req);
    expect(d2.result).toBe('UNDECIDABLE');
  });
  it('the condition is only consulted after permissions and principals matched', () => {
    const f = parseRbacFilter({ rules: { policies: { p: { permissions: [{ destination_port: 1 }], principals: [{ any: true }], condition: call('timestamp', str('x')) } } } }, { kind: 'http' });
    expect(evaluateRbacFilter(f, req).result).toBe('DENY');
  });
});

describe('a policy that can never match is never a closest miss', () => {
  // Istio renders an AuthorizationPolicy with an empty spec (allow-nothing / deny-all) as `not any`.
  const allowNothing = { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };
  const viewer = { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }] };
  it('leaves out allow-nothing (not_rule/not_id of any) and keeps the policy that could have matched', () => {
    const f = parseRbacFilter({ rules: { policies: { 'ns[default]-policy[deny-all]-rule[0]': allowNothing, 'ns[default]-policy[viewer]-rule[0]': viewer } } }, { kind: 'http' });
    const d = evaluateRbacFilter(f, { http: http('GET', '/'), tls: tls(['spiffe://cluster.local/ns/default/sa/sleep']) });
    expect(d.result).toBe('DENY');
    expect(d.policies.find((p) => p.name.includes('deny-all'))!.neverMatches).toBe(true);
    expect(d.policies.find((p) => p.name.includes('viewer'))!.neverMatches).toBeUndefined();
    expect(closestMiss(d).map((m) => m.policy)).toEqual(['ns[default]-policy[viewer]-rule[0]']);
    expect(explainText(d)).not.toContain('deny-all');
  });
  it('decides "never" from the structure alone: an AND with a never child, an OR of nevers, not of an always-OR', () => {
    const never = (permissions: unknown[]) => parseRbacFilter({ rules: { policies: { p: { permissions, principals: [{ any: true }] } } } }, { kind: 'http' });
    const nm = (permissions: unknown[]) => evaluateRbacFilter(never(permissions), { http: http('GET', '/') }).policies[0]!.neverMatches ?? false;
    expect(nm([{ and_rules: { rules: [{ destination_port: 80 }, { not_rule: { any: true } }] } }])).toBe(true);
    expect(nm([{ or_rules: { rules: [{ not_rule: { any: true } }, { not_rule: { any: true } }] } }])).toBe(true);
    expect(nm([{ not_rule: { or_rules: { rules: [{ destination_port: 80 }, { any: true }] } } }])).toBe(true);
    expect(nm([{ not_rule: { not_rule: { any: true } } }])).toBe(false);
    expect(nm([{ or_rules: { rules: [{ not_rule: { any: true } }, { destination_port: 80 }] } }])).toBe(false);
    expect(nm([{ not_rule: { destination_port: 80 } }])).toBe(false);
  });
  it('an attribute the evidence lacks reads "unknown (not logged)" in the failing conditions, never "none"', () => {
    const fs = parseRbacFilter({ rules: { policies: { v: { permissions: [{ any: true }], principals: [{ filter_state: { key: 'io.istio.peer_principal', string_match: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }] } } } }, { kind: 'http' });
    const d = evaluateRbacFilter(fs, { http: http('GET', '/') }, { unknown: ['filterState'] });
    expect(d.result).toBe('UNDECIDABLE');
    const leafDetail = closestMiss(d)[0]!.failing[0]!.detail;
    expect(leafDetail).toContain('unknown (not logged)');
    expect(leafDetail).not.toContain('none');
    // known absent (no authenticated peer) stays a fact
    const known = evaluateRbacFilter(fs, { http: http('GET', '/') });
    expect(closestMiss(known)[0]!.failing[0]!.detail).toContain('none (no authenticated peer)');
  });
});

describe('undecidable attributes, closest miss and text', () => {
  const f = parseRbacFilter({ rules: { policies: {
    'ns[default]-policy[a]-rule[0]': { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }] },
    'ns[default]-policy[b]-rule[0]': { permissions: [{ and_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'POST' } } }, { url_path: { path: { exact: '/x' } } }] } }], principals: [{ any: true }] },
  } } }, { kind: 'http' });
  const plain = { http: http('GET', '/info') };
  it('explains a plaintext deny with the principal leaf and ranks the closest miss', () => {
    const d = evaluateRbacFilter(f, plain);
    expect(d.result).toBe('DENY');
    const cm = closestMiss(d);
    expect(cm[0]!.policy).toBe('ns[default]-policy[a]-rule[0]');
    expect(cm[0]!.failedConditions).toBe(1);
    expect(cm[0]!.failing[0]!.detail).toBe('principal: none (plaintext connection) — needs authenticated spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
    expect(cm[1]!.failedConditions).toBe(2);
    expect(explainText(d)).toContain('rbac_access_denied_matched_policy[none]');
  });
  it('every trace leaf names attribute, actual, expected and matched', () => {
    const d = evaluateRbacFilter(f, plain);
    const leaves: unknown[] = [];
    const walk = (n: { children?: unknown[] }) => (n.children?.length ? n.children.forEach((c) => walk(c as never)) : leaves.push(n));
    d.policies.forEach((p) => walk(p.trace));
    for (const l of leaves as Record<string, unknown>[]) {
      if (l.node === 'any') continue;
      expect(l).toHaveProperty('attribute');
      expect(l).toHaveProperty('actual');
      expect(l).toHaveProperty('expected');
      expect(typeof l.matched === 'boolean' || l.matched === 'undecidable').toBe(true);
    }
  });
  it('unknown TLS facts make an ALLOW filter undecidable instead of a guessed deny', () => {
    const d = evaluateRbacFilter(f, plain, { unknown: ['tls'] });
    expect(d.result).toBe('UNDECIDABLE');
  });
  it('a definite match decides even when another policy is undecidable', () => {
    const g = parseRbacFilter({ rules: { policies: {
      a: { permissions: [{ any: true }], principals: [{ authenticated: {} }] },
      b: { permissions: [{ any: true }], principals: [{ any: true }] },
    } } }, { kind: 'http' });
    const d = evaluateRbacFilter(g, plain, { unknown: ['tls'] });
    expect([d.result, d.effectivePolicy]).toEqual(['ALLOW', 'b']);
    expect(d.note).toContain('could not be decided');
  });
  it('trace: false gives the same decisions (Envoy short-circuit)', () => {
    for (const r of [plain, { http: http('POST', '/x') }, { ...plain, tls: tls(['spiffe://cluster.local/ns/default/sa/bookinfo-productpage']) }]) {
      const a = evaluateRbacFilter(f, r);
      const b = evaluateRbacFilter(f, r, { trace: false });
      expect([b.result, b.effectivePolicy]).toEqual([a.result, a.effectivePolicy]);
    }
  });
});
