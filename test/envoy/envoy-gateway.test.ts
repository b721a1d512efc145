/**
 * Envoy Gateway's authorization xDS goldens (../shared/external/configs/envoy-gateway, the listeners and
 * routes of internal/xds/translator/testdata/out/xds-ir/authorization-*.yaml as one dump) decided end to end:
 * listener, route, RBACPerRoute matcher tree. Every case where the request carries what the rule reads is
 * decided (never UNDECIDABLE); the expectations are read off the goldens' matchers.
 */
import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, describeShared } from '../helpers/cli.js';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { decideRequest } from '../../src/envoy/decide.js';
import type { JsonValue, RequestAttrs } from '../../src/model/attrs.js';

const DIR = join(SHARED, 'external', 'configs', 'envoy-gateway');
const dump = (name: string) => parseConfigDump(JSON.parse(readFileSync(join(DIR, `${name}.dump.json`), 'utf8')), name);

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string[]>;
  source?: string;
  jwt?: Record<string, JsonValue>;
}
function request(r: Req): RequestAttrs {
  return {
    source: { address: r.source ?? '172.16.0.9', port: 50000 },
    destination: { address: '10.0.0.10', port: 10080 },
    http: { method: r.method ?? 'GET', path: r.path, authority: 'www.example.com', headers: r.headers ?? {} },
    ...(r.jwt ? { metadata: { 'envoy.filters.http.jwt_authn': { example1: r.jwt } } } : {}),
  };
}
function decide(name: string, r: Req, unknown: string[] = []) {
  const d = decideRequest(dump(name), request(r), { unknown });
  return `${d.decision}${d.policy !== null ? ` ${d.policy}` : ''}`;
}

describeShared('Envoy Gateway authorization goldens (needs ../shared/external)', () => {
  it('client CIDR: per-route IP matchers (Ip input matcher on SourceIPInput)', () => {
    expect(decide('authorization-client-cidr', { path: '/foo', source: '192.168.2.7' })).toBe('DENY DENY');
    expect(decide('authorization-client-cidr', { path: '/foo', source: '10.75.1.1' })).toBe('DENY DENY');
    expect(decide('authorization-client-cidr', { path: '/foo', source: '10.75.3.1' })).toBe('ALLOW ALLOW');
    expect(decide('authorization-client-cidr', { path: '/bar', source: '10.0.2.200' })).toBe('ALLOW ALLOW');
    expect(decide('authorization-client-cidr', { path: '/bar', source: '10.0.3.1' })).toBe('DENY DENY');
    expect(decide('authorization-client-cidr', { path: '/test', source: '10.0.2.200' })).toBe('DENY DENY');
  });
  it('HTTP headers: or / and predicates over request headers', () => {
    expect(decide('authorization-http-header', { path: '/foo', headers: { 'x-user-id': ['alice'] } })).toBe('ALLOW ALLOW');
    expect(decide('authorization-http-header', { path: '/foo', headers: { 'x-location-id': ['chengdu'], 'x-org-id': ['456'] } })).toBe('ALLOW ALLOW');
    expect(decide('authorization-http-header', { path: '/foo', headers: { 'x-location-id': ['chengdu'], 'x-org-id': ['789'] } })).toBe('DENY DENY');
    expect(decide('authorization-http-header', { path: '/foo' })).toBe('DENY DENY');
  });
  it('path: RE2 regexes on :path, not_matcher', () => {
    expect(decide('authorization-path', { path: '/foo', headers: { 'x-role': ['admin'] } })).toBe('ALLOW ALLOW');
    expect(decide('authorization-path', { path: '/foo/x', headers: { 'x-user-id': ['john'] } })).toBe('DENY DENY');
  });
  it('CEL matcher over HttpAttributesCelMatchInput', () => {
    expect(decide('authorization-cel', { method: 'POST', path: '/foo', headers: { 'x-team': ['team-a'] } })).toBe('ALLOW ALLOW');
    expect(decide('authorization-cel', { method: 'POST', path: '/foo', headers: { 'x-team': ['team-b'] } })).toBe('DENY DENY');
    expect(decide('authorization-cel', { method: 'GET', path: '/foo/admin' })).toBe('DENY DENY');
  });
  it('JWT claims: DynamicMetadataInput + metadata input matcher, decided with and without the JWT payload', () => {
    // /bar: roles (list) and department claims.
    expect(decide('authorization-jwt-claim', { path: '/bar', jwt: { roles: ['dev', 'superuser'], department: 'engineering' } })).toBe('DENY DENY');
    // /foo: every branch of the tree is the same DENY action, so the claims do not matter — even when unknown.
    expect(decide('authorization-jwt-claim', { path: '/foo', jwt: { user: { name: 'alice' } } })).toBe('DENY DENY');
    expect(decide('authorization-jwt-claim', { path: '/foo' })).toBe('DENY DENY');
    expect(decide('authorization-jwt-claim', { path: '/foo' }, ['metadata'])).toBe('DENY DENY');
  });
  it('multiple principals: method, client CIDR and JWT scopes combined', () => {
    expect(decide('authorization-multiple-principals', { method: 'GET', path: '/foo' })).toBe('ALLOW ALLOW');
    expect(decide('authorization-multiple-principals', { method: 'PUT', path: '/foo' })).toBe('DENY DENY');
    // Without a JWT payload the scope/claim predicates are false: the default DENY.
    expect(decide('authorization-multiple-principals', { method: 'POST', path: '/foo', source: '192.168.1.4' })).toBe('DENY DENY');
    // The metadata is unknown and the branches differ (ALLOW vs DENY): undecidable, and says why.
    expect(decide('authorization-multiple-principals', { method: 'POST', path: '/foo', source: '192.168.1.4' }, ['metadata'])).toBe('UNDECIDABLE');
  });
});
