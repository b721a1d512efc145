import { describe, expect, it } from 'vitest';
import { perm, prin, http, tls } from './helpers.js';
import { StringMatcher } from '../../src/rbac/string-matcher.js';
import { uriTemplateToRegex } from '../../src/rbac/matchers.js';

// Modelled on test/extensions/filters/common/rbac/matchers_test.cc.
const sm = (o: unknown) => StringMatcher.parse(o, '$');

describe('StringMatcher (matchers.h StringMatcherImpl)', () => {
  it.each([
    [{ exact: 'abc' }, 'abc', 1],
    [{ exact: 'abc' }, 'ABC', 0],
    [{ exact: 'abc', ignore_case: true }, 'ABC', 1],
    [{ exact: 'straße', ignore_case: true }, 'STRASSE', 0],
    [{ exact: 'é', ignore_case: true }, 'É', 0], // ASCII-only case folding
    [{ exact: '' }, '', 1],
    [{ exact: '' }, 'x', 0],
    [{ prefix: 'ab' }, 'abc', 1],
    [{ prefix: 'AB', ignore_case: true }, 'abc', 1],
    [{ suffix: 'bc' }, 'abc', 1],
    [{ suffix: 'BC', ignore_case: true }, 'abc', 1],
    [{ contains: 'B', ignore_case: true }, 'abc', 1],
    [{ contains: 'B' }, 'abc', 0],
    [{ safe_regex: { google_re2: {}, regex: '.*cncf.io' } }, 'www.cncf.io', 1],
    [{ safe_regex: { google_re2: {}, regex: 'cncf' } }, 'www.cncf.io', 0],
    [{ safe_regex: { regex: 'www.*' } }, 'www.cncf.io', 1],
    [{ safe_regex: { regex: '.*' } }, '', 1],
    [{ safe_regex: { regex: '(?i)ABC' } }, 'abc', 1],
    [{ safe_regex: { regex: '\\pL+' } }, 'ÉtÉ', 1],
    [{ safe_regex: { regex: 'a.c' } }, 'a\nc', 0], // RE2: `.` does not match newline
    [{ safe_regex: { regex: 'a|b' } }, 'ab', 0], // full match of the whole alternation
  ])('%j vs %j → %i', (cfg, input, expected) => {
    expect(sm(cfg).match(input)).toBe(expected);
  });

  it.each([
    [{ prefix: '' }, 'StringMatcherValidationError.Prefix: value length must be at least 1 characters'],
    [{ suffix: '' }, 'StringMatcherValidationError.Suffix'],
    [{ contains: '' }, 'StringMatcherValidationError.Contains'],
    [{ safe_regex: { regex: 'a' }, ignore_case: true }, 'ignore_case has no effect for safe_regex.'],
    [{ safe_regex: { regex: '(a)\\1' } }, 'Invalid regex'],
    [{ safe_regex: { regex: '(?=a)' } }, 'Invalid regex'],
    [{ safe_regex: { regex: 'a)|(b' } }, 'Invalid regex'],
    [{ safe_regex: { regex: '' } }, 'RegexMatcherValidationError.Regex'],
    [{}, 'StringMatcherValidationError.MatchPattern: value is required'],
    [{ exact: 'a', prefix: 'b' }, 'oneof'],
  ])('rejects %j (%s)', (cfg, reason) => {
    expect(() => sm(cfg)).toThrow(reason);
  });
});

describe('url_path (PathMatcher) and uri_template', () => {
  const r = (path?: string) => ({ http: { method: 'GET', path, headers: {} } });
  it.each([
    [{ path: { exact: '/exact' } }, '/exact?x#y', true],
    [{ path: { exact: '/suffix' } }, '/suffix#seg?param=value', true],
    [{ path: { prefix: '/info' } }, '/info/x', true],
    [{ path: { safe_regex: { regex: '^/path%20with%20spaces$' } } }, '/path%20with%20spaces', true],
    [{ path: { exact: '/path with spaces' } }, '/path%20with%20spaces', false], // no percent-decoding
    [{ path: { exact: '/a' } }, undefined, false], // :path absent
  ])('%j vs %j → %s', (cfg, path, expected) => {
    expect(perm({ url_path: cfg }, r(path))).toBe(expected);
  });

  it('url_path never matches in the network filter, so not_rule of it always does', () => {
    const conn = { destination: { address: '10.0.0.1', port: 80 } };
    expect(perm({ url_path: { path: { prefix: '/' } } }, conn, 'network')).toBe(false);
    expect(perm({ not_rule: { url_path: { path: { prefix: '/' } } } }, conn, 'network')).toBe(true);
  });

  const tpl = (t: string) => ({ uri_template: { name: 'envoy.path.match.uri_template.uri_template_matcher', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig', path_template: t } } });
  it.each([
    ['/bar/{lang}/{country}', '/bar/lang/country', true],
    ['/{foo}', '/foo', true],
    ['/{foo}', '/foo/bar', false],
    ['/api/*/x', '/api/v1/x?q', true],
    ['/api/**', '/api/a/b/c', true],
    ['/api/**', '/api/', true],
    ['/api/{path=**}', '/api/a/b', true],
    ['/api/{v=v1/*}/x', '/api/v1/abc/x', true],
    ['/a.b/{x}', '/aXb/1', false], // literals are escaped
    ['/files/{name}.txt', '/files/report.txt', true],
  ])('uri_template %s vs %s → %s', (t, path, expected) => {
    expect(perm(tpl(t), r(path))).toBe(expected);
  });
  it('uri_template without :path is false', () => {
    expect(perm(tpl('/{foo}'), r(undefined))).toBe(false);
  });
  it.each([['no-slash'], ['/{1bad}'], ['/**/{x}'], ['/a/{x}{y}'], ['/{a}/{a}']])('rejects template %s', (t) => {
    expect(() => uriTemplateToRegex(t)).toThrow();
    expect(() => perm(tpl(t), r('/x'))).toThrow('path_template');
  });
});

describe('IP matchers and ports', () => {
  const conn = { source: { address: '10.1.2.3', port: 5000 }, directRemote: { address: '192.168.0.9' }, remote: { address: '203.0.113.7' }, destination: { address: '10.0.0.2', port: 9080 } };
  it.each([
    [{ source_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, true],
    [{ direct_remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }, true],
    [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, false],
    [{ remote_ip: { address_prefix: '203.0.113.7', prefix_len: 32 } }, true],
    [{ remote_ip: { address_prefix: '203.0.113.7' } }, true], // prefix_len unset = 0 = whole family
    [{ remote_ip: { address_prefix: '::', prefix_len: 0 } }, false], // families never mix
    [{ remote_ip: { address_prefix: '203.0.113.200', prefix_len: 24 } }, true], // host bits masked
    [{ remote_ip: { address_prefix: '203.0.113.7', prefix_len: 64 } }, true], // clamped to 32
  ])('principal %j → %s', (cfg, expected) => {
    expect(prin(cfg, conn)).toBe(expected);
  });
  it.each([
    [{ destination_ip: { address_prefix: '10.0.0.0', prefix_len: 24 } }, true],
    [{ destination_port: 9080 }, true],
    [{ destination_port: 80 }, false],
    [{ destination_port_range: { start: 9000, end: 9081 } }, true],
    [{ destination_port_range: { start: 9000, end: 9080 } }, false], // end exclusive
  ])('permission %j → %s', (cfg, expected) => {
    expect(perm(cfg, conn)).toBe(expected);
  });
  it('port range [1,65535) matches 1 and 65534 but not 65535', () => {
    const p = (port: number) => perm({ destination_port_range: { start: 1, end: 65535 } }, { destination: { address: '1.1.1.1', port } });
    expect([p(1), p(65534), p(65535)]).toEqual([true, true, false]);
  });
  it('IPv6 ranges match IPv6 peers only', () => {
    expect(prin({ remote_ip: { address_prefix: '::', prefix_len: 0 } }, { source: { address: '::1' } })).toBe(true);
    expect(prin({ remote_ip: { address_prefix: '2001:db8::', prefix_len: 32 } }, { source: { address: '[2001:db8::5]' } })).toBe(true);
    expect(prin({ remote_ip: { address_prefix: '0.0.0.0', prefix_len: 0 } }, { source: { address: '::ffff:1.2.3.4' } })).toBe(false);
  });
  it('a non-IP address never matches', () => {
    expect(prin({ remote_ip: { address_prefix: '::', prefix_len: 0 } }, { source: { address: '/tmp/pipe' } })).toBe(false);
    expect(perm({ destination_port: 80 }, { destination: { address: '/tmp/pipe', port: 80 } })).toBe(false);
  });
  it.each([
    [{ source_ip: { address_prefix: 'invalid.ip.address', prefix_len: 8 } }, 'Failed to create CIDR range: malformed IP address'],
    [{ source_ip: { address_prefix: '999.999.999.999' } }, 'malformed IP address'],
    [{ source_ip: { address_prefix: '2001:db8::gggg' } }, 'malformed IP address'],
    [{ source_ip: { address_prefix: '1.2.3.4', prefix_len: 129 } }, 'less than or equal to 128'],
  ])('rejects %j', (cfg, reason) => {
    expect(() => prin(cfg, conn)).toThrow(reason);
  });
  it.each([
    [{ destination_port: 65536 }, 'less than or equal to 65535'],
    [{ destination_port_range: { start: 80, end: 80 } }, 'cannot be greater or equal'],
    [{ destination_port_range: { start: 0, end: 65537 } }, 'out of range'],
  ])('rejects %j', (cfg, reason) => {
    expect(() => perm(cfg, conn)).toThrow(reason);
  });
});

describe('requested_server_name', () => {
  const withSni = { sni: 'www.cncf.io' };
  it.each([
    [{ safe_regex: { regex: '.*cncf.io' } }, true],
    [{ safe_regex: { regex: '.*cncf.*' } }, true],
    [{ safe_regex: { regex: 'www.*' } }, true],
    [{ safe_regex: { regex: '.*io' } }, true],
    [{ safe_regex: { regex: '.*' } }, true],
    [{ exact: 'www.cncf.io' }, true],
    [{ exact: '' }, false],
    [{ exact: 'xyz.cncf.io' }, false],
    [{ exact: 'example.com' }, false],
  ])('SNI www.cncf.io vs %j → %s', (cfg, expected) => {
    expect(perm({ requested_server_name: cfg }, withSni)).toBe(expected);
  });
  it('empty SNI matches regex .* and exact "" only', () => {
    expect(perm({ requested_server_name: { safe_regex: { regex: '.*' } } }, {})).toBe(true);
    expect(perm({ requested_server_name: { exact: '' } }, {})).toBe(true);
    expect(perm({ requested_server_name: { exact: 'example.com' } }, {})).toBe(false);
  });
});

describe('authenticated and mtls_authenticated', () => {
  const spiffe = 'spiffe://cluster.local/ns/default/sa/productpage';
  it.each([
    ['plaintext never matches', {}, { principal_name: { exact: spiffe } }, false],
    ['authenticated {} = any TLS, even without a client cert', { tls: tls([]) }, {}, true],
    ['authenticated {} on plaintext', {}, {}, false],
    ['URI SAN exact', { tls: tls([spiffe]) }, { principal_name: { exact: spiffe } }, true],
    ['second URI SAN is checked too', { tls: tls(['spiffe://x', spiffe]) }, { principal_name: { exact: spiffe } }, true],
    ['DNS SAN', { tls: tls([], { dnsSans: ['a.example.com'] }) }, { principal_name: { exact: 'a.example.com' } }, true],
    ['no DNS wildcard logic', { tls: tls([], { dnsSans: ['*.example.com'] }) }, { principal_name: { exact: 'a.example.com' } }, false],
    ['subject, even when SANs exist', { tls: tls([spiffe], { subject: 'CN=x,O=y' }) }, { principal_name: { exact: 'CN=x,O=y' } }, true],
    ['no client cert: exact "" matches the empty subject', { tls: tls([]) }, { principal_name: { exact: '' } }, true],
    ['no client cert: regex .* matches', { tls: tls([]) }, { principal_name: { safe_regex: { regex: '.*' } } }, true],
    ['Istio "*" principal (.+) needs a cert', { tls: tls([]) }, { principal_name: { safe_regex: { regex: '.+' } } }, false],
    ['namespace regex', { tls: tls(['spiffe://cluster.local/ns/test/sa/a']) }, { principal_name: { safe_regex: { regex: '.*/ns/test/.*' } } }, true],
  ])('%s', (_why, req, cfg, expected) => {
    expect(prin({ authenticated: cfg }, req)).toBe(expected);
  });

  const mtls = (c: unknown) => ({ custom: { name: 'envoy.rbac.principals.mtls_authenticated', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.rbac.principals.mtls_authenticated.v3.Config', ...(c as object) } } });
  it.each([
    ['any validated cert', { any_validated_client_certificate: true }, { tls: tls(['a']) }, true],
    ['not validated', { any_validated_client_certificate: true }, { tls: tls(['a'], { peerCertificateValidated: false }) }, false],
    ['plaintext', { any_validated_client_certificate: true }, {}, false],
    ['URI SAN my_san', { san_matcher: { san_type: 'URI', matcher: { exact: 'my_san' } } }, { tls: tls(['my_san']) }, true],
    ['URI matcher ignores DNS SANs', { san_matcher: { san_type: 'URI', matcher: { exact: 'my_san' } } }, { tls: tls([], { dnsSans: ['my_san'] }) }, false],
    ['DNS exact uses DNS wildcard rules', { san_matcher: { san_type: 'DNS', matcher: { exact: 'foo.example.com' } } }, { tls: tls([], { dnsSans: ['*.example.com'] }) }, true],
    ['DNS wildcard does not span labels', { san_matcher: { san_type: 'DNS', matcher: { exact: 'a.foo.example.com' } } }, { tls: tls([], { dnsSans: ['*.example.com'] }) }, false],
    ['EMAIL SANs are not in the evidence', { san_matcher: { san_type: 'EMAIL', matcher: { exact: 'a@b' } } }, { tls: tls([]) }, 'U'],
  ])('%s', (_why, cfg, req, expected) => {
    expect(prin(mtls(cfg), req)).toBe(expected);
  });
  it('mtls_authenticated with no field set is rejected', () => {
    expect(() => prin(mtls({}), {})).toThrow('san_matcher or any_validated_client_certificate');
  });
  it('an unknown custom principal extension is rejected', () => {
    expect(() => prin({ custom: { name: 'x', typed_config: { '@type': 'type.googleapis.com/foo.Bar' } } }, {})).toThrow("Didn't find a registered implementation");
  });
  it('plaintext with unknown TLS facts is undecidable', () => {
    expect(prin({ authenticated: { principal_name: { exact: spiffe } } }, {}, 'http', ['tls'])).toBe('U');
  });
});

describe('metadata, sourced_metadata, filter_state, upstream_ip_port', () => {
  const md = { metadata: { 'envoy.filters.http.jwt_authn': { payload: { iss: 'https://accounts.google.com', aud: ['a', 'b'], n: 3, ok: true, nul: null, 'a.b': 'dotted' } } } };
  const mm = (path: string[], value: unknown, invert?: boolean) => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: path.map((key) => ({ key })), value, ...(invert ? { invert } : {}) } });
  it.each([
    [mm(['payload', 'iss'], { string_match: { exact: 'https://accounts.google.com' } }), true],
    [mm(['payload', 'iss'], { string_match: { prefix: 'http://' } }), false],
    [mm(['payload', 'aud'], { list_match: { one_of: { string_match: { exact: 'b' } } } }), true],
    [mm(['payload', 'n'], { double_match: { exact: 3 } }), true],
    [mm(['payload', 'n'], { double_match: { range: { start: 0, end: 3 } } }), false],
    [mm(['payload', 'n'], { string_match: { exact: '3' } }), false],
    [mm(['payload', 'ok'], { bool_match: true }), true],
    [mm(['payload', 'nul'], { null_match: {} }), true],
    [mm(['payload', 'iss'], { present_match: true }), true],
    [mm(['payload', 'missing'], { present_match: true }), false],
    [mm(['payload', 'iss'], { present_match: false }), false],
    [mm(['payload', 'missing'], { string_match: { exact: 'x' } }, true), true], // invert on a missing key → true
    [mm(['payload', 'iss', 'deeper'], { present_match: true }), false], // non-struct in the middle
    [mm(['payload', 'a.b'], { string_match: { exact: 'dotted' } }), true], // keys are literal
    [mm(['payload', 'n'], { or_match: { value_matchers: [{ string_match: { exact: 'x' } }, { double_match: { exact: 3 } }] } }), true],
  ])('%j → %s', (cfg, expected) => {
    expect(prin(cfg, md)).toBe(expected);
    expect(perm(cfg, md)).toBe(expected);
  });
  it('sourced_metadata ROUTE reads the route metadata; false when there is no route', () => {
    const cfg = { sourced_metadata: { metadata_matcher: { filter: 'istio', path: [{ key: 'config' }], value: { string_match: { prefix: '/apis' } } }, metadata_source: 'ROUTE' } };
    expect(prin(cfg, {})).toBe(false);
    expect(prin(cfg, {}, 'http', [], { istio: { config: '/apis/x' } } as never)).toBe(true);
  });
  it('filter_state string and address matches', () => {
    const fs = { filterState: { 'io.istio.peer_principal': 'spiffe://cluster.local/ns/default/sa/sleep', 'test.key': 'test.value', addr: '10.0.0.5:8080' } };
    expect(prin({ filter_state: { key: 'test.key', string_match: { prefix: 'test' } } }, fs)).toBe(true);
    expect(prin({ filter_state: { key: 'absent.key', string_match: { prefix: 'test' } } }, fs)).toBe(false);
    expect(prin({ filter_state: { key: 'addr', address_match: { ranges: [{ address_prefix: '10.0.0.0', prefix_len: 24 }] } } }, fs)).toBe(true);
    expect(prin({ filter_state: { key: 'test.key', address_match: { ranges: [{ address_prefix: '10.0.0.0', prefix_len: 24 }] } } }, fs)).toBe(false);
  });
  it('upstream_ip_port: inclusive port range, missing key false, reversed range never matches', () => {
    const m = (c: unknown) => ({ matcher: { name: 'envoy.rbac.matchers.upstream_ip_port', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.rbac.matchers.upstream_ip_port.v3.UpstreamIpPortMatcher', ...(c as object) } } });
    const up = { filterState: { 'envoy.stream.upstream_address': '1.2.3.4:8080' } };
    expect(perm(m({ upstream_port_range: { start: 8000, end: 8080 } }), up)).toBe(true);
    expect(perm(m({ upstream_ip: { address_prefix: '1.2.3.0', prefix_len: 24 } }), up)).toBe(true);
    expect(perm(m({ upstream_port_range: { start: 8080, end: 0 } }), up)).toBe(false);
    expect(perm(m({ upstream_ip: { address_prefix: '1.2.3.0', prefix_len: 24 } }), {})).toBe(false);
    expect(() => perm(m({}), up)).toThrow('UpstreamIpPortMatcher');
  });
});

describe('structure and validation (PGV)', () => {
  const r = { http: http('GET', '/') };
  it.each([
    [{ any: false }, 'PermissionValidationError.Any: value must equal true'],
    [{ and_rules: { rules: [] } }, 'value must contain at least 1 item(s)'],
    [{ or_rules: {} }, 'value must contain at least 1 item(s)'],
    [{ not_rule: {} }, 'PermissionValidationError.Rule: value is required'],
    [{}, 'PermissionValidationError.Rule: value is required'],
    [{ any: true, destination_port: 80 }, 'oneof'],
    [{ header: { name: '' } }, 'HeaderMatcherValidationError.Name'],
    [{ header: { name: 'x', prefix_match: '' } }, 'HeaderMatcherValidationError.PrefixMatch'],
    [{ metadata: { filter: 'f', path: [], value: { present_match: true } } }, 'MetadataMatcherValidationError.Path'],
    [{ metadata: { filter: 'f', path: [{ key: 'a' }] } }, 'MetadataMatcherValidationError.Value'],
    [{ frobnicate: true }, 'unknown Permission field'],
  ])('rejects permission %j', (cfg, reason) => {
    expect(() => perm(cfg, r)).toThrow(reason);
  });
  it('error messages carry the JSON path', () => {
    expect(() => perm({ and_rules: { rules: [{ any: true }, { header: { name: 'x', string_match: { prefix: '' } } }] } }, r)).toThrow('$.and_rules.rules[1].header.string_match.prefix');
  });
  it('network filter rejects header rules anywhere', () => {
    expect(() => perm({ or_rules: { rules: [{ not_rule: { header: { name: ':method', exact_match: 'GET' } } }] } }, {}, 'network')).toThrow('not supported by RBAC network filter');
    expect(() => prin({ header: { name: 'x' } }, {}, 'network')).toThrow('not supported by RBAC network filter');
  });
});

describe('legacy v2 `regex` (std::regex ECMAScript) from old dumps', () => {
  it('evaluates patterns whose meaning is the same in ECMAScript and RE2', () => {
    expect(sm({ regex: '.*/ns/default/.*' }).match('cluster.local/ns/default/sa/x')).toBe(1);
    expect(sm({ regex: '.*/ns/default/.*' }).match('cluster.local/ns/prod/sa/x')).toBe(0);
    expect(sm({ regex: 'a\\.b' }).match('a.b')).toBe(1);
  });
  it('is undecidable otherwise (classes, groups, line terminators in the input)', () => {
    expect(sm({ regex: '[a-z]+' }).match('abc')).toBe(2);
    expect(sm({ regex: '(a|b)' }).match('a')).toBe(2);
    expect(sm({ regex: 'a.b' }).match('a\rb')).toBe(2);
  });
  it('header regex_match uses the same rule', () => {
    expect(perm({ header: { name: ':path', regex_match: '/api/.*' } }, { http: http('GET', '/api/x') })).toBe(true);
    expect(perm({ header: { name: ':path', regex_match: '/api/[0-9]+' } }, { http: http('GET', '/api/1') })).toBe('U');
  });
});
