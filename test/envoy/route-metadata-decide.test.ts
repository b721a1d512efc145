/**
 * sourced_metadata with metadata_source ROUTE reads the matched route's metadata: from the dump's
 * matched route, from the request (`routeMetadata`) with a bare filter config, else UNDECIDABLE —
 * never evaluated as if the metadata were absent. Data: samples/details-path's details dump with a
 * route metadata tier and a policy on it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { decideRequest, decideWithFilter } from '../../src/envoy/decide.js';
import { parseRbacFilter, parseRequestAttrs } from '../../src/rbac/index.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const FILE = new URL('../../samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', import.meta.url);
const tierIs = (tier: string) => ({ sourced_metadata: { metadata_matcher: { filter: 'example.com/tier', path: [{ key: 'tier' }], value: { string_match: { exact: tier } } }, metadata_source: 'ROUTE' } });
const goldPolicy = { permissions: [tierIs('gold')], principals: [{ any: true }] };
const route = (prefix: string, tier: string, name: string) => ({ match: { prefix }, route: { cluster: 'inbound|9080||' }, name, metadata: { filter_metadata: { 'example.com/tier': { tier } } } });

const dump = parseConfigDump(JSON.parse(readFileSync(FILE, 'utf8'), (_k, v: unknown) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  if (o.name === 'inbound|9080||' && Array.isArray(o.virtual_hosts)) {
    return { ...o, virtual_hosts: [{ name: 'inbound|http|9080', domains: ['*'], routes: [route('/internal/', 'bronze', 'internal'), route('/', 'gold', 'default')] }] };
  }
  if (String(o['@type'] ?? '').endsWith('filters.http.rbac.v3.RBAC') && o.rules) {
    const rules = o.rules as { policies?: Record<string, unknown> };
    return { ...o, rules: { ...rules, policies: { ...(rules.policies ?? {}), 'route-gold': goldPolicy } } };
  }
  return v;
}) as unknown, 'details-route-metadata.json');

const sleep = (path: string): RequestAttrs => ({
  destination: { address: '10.244.2.72', port: 9080 },
  tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [], subject: '', peerCertificateValidated: true },
  http: { method: 'GET', path, authority: 'details:9080', headers: {} },
});

describe('sourced_metadata ROUTE over a full dump reads the matched route', () => {
  it('the gold route allows, the bronze route does not', () => {
    expect(decideRequest(dump, sleep('/details/0'))).toMatchObject({ decision: 'ALLOW', policy: 'route-gold' });
    const d = decideRequest(dump, sleep('/internal/x'));
    expect(d.decision).toBe('DENY');
    expect(JSON.stringify(d.closestMiss)).toContain('route metadata');
  });
  it('a record that does not carry the path has an unknown route: UNDECIDABLE, with the reason', () => {
    const d = decideRequest(dump, sleep('/details/0'), { unknown: ['http.path'] });
    expect(d.decision).toBe('UNDECIDABLE');
    expect(d.reasons!.join(' ')).toMatch(/sourced_metadata ROUTE reads the matched route's metadata: the evidence does not carry http\.path/);
  });
});

describe('sourced_metadata ROUTE with a bare filter config', () => {
  const f = parseRbacFilter({ rules: { policies: { 'route-gold': goldPolicy } } }, { kind: 'http' });
  const req = sleep('/details/0');
  it('is UNDECIDABLE without routeMetadata, and says how to give it', () => {
    const d = decideWithFilter(f, req);
    expect(d.decision).toBe('UNDECIDABLE');
    expect(d.reasons!.join(' ')).toContain('give it as routeMetadata in the request');
  });
  it('reads routeMetadata from the request JSON (namespaces or a Metadata message; null = no route)', () => {
    const gold = parseRequestAttrs({ ...req, routeMetadata: { 'example.com/tier': { tier: 'gold' } } });
    expect(decideWithFilter(f, gold)).toMatchObject({ decision: 'ALLOW', policy: 'route-gold' });
    const bronze = parseRequestAttrs({ ...req, routeMetadata: { filter_metadata: { 'example.com/tier': { tier: 'bronze' } } } });
    expect(decideWithFilter(f, bronze).decision).toBe('DENY');
    expect(decideWithFilter(f, parseRequestAttrs({ ...req, routeMetadata: null })).decision).toBe('DENY');
  });
  it('rejects a malformed routeMetadata naming the JSON path', () => {
    expect(() => parseRequestAttrs({ routeMetadata: { 'example.com/tier': 'gold' } })).toThrow(/\$\.routeMetadata\["example\.com\/tier"\]/);
  });
});
