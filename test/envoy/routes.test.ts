import { describe, expect, it } from 'vitest';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { matchRoute, matchVirtualHost, re2FullMatch } from '../../src/envoy/routes.js';
import type { RouteConfiguration } from '../../src/envoy/model.js';
import { SHARED, hasShared, describeShared } from '../helpers/cli.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';

function rc(virtualHosts: unknown[]): RouteConfiguration {
  const d = parseConfigDump([{ name: 'r', virtual_hosts: virtualHosts }], 'r.json');
  return d.routeConfigs.get('r')!;
}
const H = (path: string, authority = 'svc', extra: Partial<{ method: string; headers: Record<string, string[]> }> = {}) => ({ path, authority, method: extra.method ?? 'GET', headers: extra.headers ?? {} });

describe('virtual host domain matching', () => {
  const r = rc([
    { name: 'exact', domains: ['api.example.com'], routes: [] },
    { name: 'suffix-long', domains: ['*.api.example.com'], routes: [] },
    { name: 'suffix', domains: ['*.example.com'], routes: [] },
    { name: 'prefix', domains: ['api.*'], routes: [] },
    { name: 'all', domains: ['*'], routes: [] },
  ]);
  it('exact, then longest suffix wildcard, then prefix wildcard, then *', () => {
    expect(matchVirtualHost(r, 'API.example.com')?.name).toBe('exact');
    expect(matchVirtualHost(r, 'v1.api.example.com')?.name).toBe('suffix-long');
    expect(matchVirtualHost(r, 'www.example.com')?.name).toBe('suffix');
    expect(matchVirtualHost(r, 'api.other.org')?.name).toBe('prefix');
    expect(matchVirtualHost(r, 'nothing')?.name).toBe('all');
  });
});

describe('ignore_port_in_host_matching', () => {
  it('strips the Host port only when the route configuration says so', () => {
    const mk = (ignore: boolean) =>
      parseConfigDump([{ name: 'r', ignore_port_in_host_matching: ignore, virtual_hosts: [{ name: 'h', domains: ['api.example.com'], routes: [] }, { name: 'all', domains: ['*'], routes: [] }] }], 'r.json').routeConfigs.get('r')!;
    expect(matchVirtualHost(mk(false), 'api.example.com:8080')?.name).toBe('all');
    expect(matchVirtualHost(mk(true), 'api.example.com:8080')?.name).toBe('h');
  });
});

describe('route matching', () => {
  const r = rc([
    {
      name: 'vh',
      domains: ['*'],
      routes: [
        { name: 'exact', match: { path: '/data' }, route: { cluster: 'a' } },
        { name: 'regex', match: { safe_regex: { regex: '/items/[0-9]+' } }, route: { cluster: 'b' } },
        { name: 'sep', match: { path_separated_prefix: '/api' }, route: { cluster: 'c' } },
        { name: 'hdr', match: { prefix: '/h', headers: [{ name: 'x-env', string_match: { exact: 'canary' } }] }, route: { cluster: 'd' } },
        { name: 'query', match: { prefix: '/q', query_parameters: [{ name: 'debug', present_match: true }] }, route: { cluster: 'e' } },
        { name: 'ci', match: { prefix: '/CI', case_sensitive: false }, route: { cluster: 'f' } },
        { name: 'runtime', match: { prefix: '/rt', runtime_fraction: { default_value: { numerator: 50 } } }, route: { cluster: 'g' } },
        { name: 'default', match: { prefix: '/' }, route: { cluster: 'z' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': 'x.RBACPerRoute' } } },
      ],
    },
  ]);
  const name = (path: string, extra?: Parameters<typeof H>[2]) => matchRoute(r, H(path, 'svc', extra))?.route.name;
  it('path is exact and ignores the query; prefix does not', () => {
    expect(name('/data?x=1')).toBe('exact');
    expect(name('/data/1')).toBe('default');
  });
  it('safe_regex is an RE2 full match on the path without query', () => {
    expect(name('/items/42')).toBe('regex');
    expect(name('/items/42x')).toBe('default');
    expect(name('/items/42?q=1')).toBe('regex');
  });
  it('path_separated_prefix matches the segment only', () => {
    expect(name('/api')).toBe('sep');
    expect(name('/api/v1')).toBe('sep');
    expect(name('/apiv1')).toBe('default');
  });
  it('headers and query parameters', () => {
    expect(name('/h', { headers: { 'x-env': ['canary'] } })).toBe('hdr');
    expect(name('/h', { headers: { 'x-env': ['prod'] } })).toBe('default');
    expect(name('/q?debug')).toBe('query');
    expect(name('/q?x=1')).toBe('default');
  });
  it('case_sensitive: false', () => {
    expect(name('/ci/x')).toBe('ci');
  });
  it('an unevaluable matcher is reported and marks later matches uncertain', () => {
    const m = matchRoute(r, H('/rt'))!;
    expect(m.route.name).toBe('default');
    expect(m.uncertain).toBe(true);
    expect(m.unevaluated).toEqual(['runtime: runtime_fraction not evaluated']);
    expect(m.route.typedPerFilterConfig['envoy.filters.http.rbac']).toBeDefined();
  });
  it('regexes are RE2, not JavaScript: lookahead is rejected, not silently evaluated', () => {
    expect(() => re2FullMatch('(?=a)a', 'a')).toThrow(/invalid RE2 regex/);
    expect(re2FullMatch('a|ab', 'ab')).toBe(true);
  });
});

describeShared('gateway routes fixture (needs ../shared)', () => {
  it('GET /get/x on httpbin.example.com hits the VirtualService httpbin.default route', async () => {
    const { dumps } = await loadConfigDumps([`${SHARED}fixtures/istio/istioctl/pkg/writer/envoy/configdump/testdata/routes/istio-gateway-http-route-prefix/configdump.json`]);
    const m = matchRoute(dumps[0]!.routeConfigs.get('http.8080')!, H('/get/x', 'httpbin.example.com'))!;
    expect(m.virtualHost.name).toBe('httpbin.example.com:80');
    expect(m.route.match.prefix).toBe('/get');
  });
});
