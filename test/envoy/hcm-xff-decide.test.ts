/**
 * remote_ip reads the remote address the HTTP connection manager derives from X-Forwarded-For
 * (use_remote_address / xff_num_trusted_hops of the chain's own HCM); source_ip keeps the connection
 * peer. Data: samples/details-path's details dump (Istio inbound: use_remote_address false) with an
 * Istio `remoteIpBlocks`-style policy (remote_ip) added to its HTTP RBAC filter.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { decideRequest } from '../../src/envoy/decide.js';
import { lastAddressFromXff } from '../../src/envoy/hcm/xff.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const FILE = new URL('../../samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', import.meta.url);
const office = { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } }] };
function dumpWith(hcm: Record<string, unknown>) {
  return parseConfigDump(JSON.parse(readFileSync(FILE, 'utf8'), (_k, v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    if (String(o['@type'] ?? '').endsWith('filters.http.rbac.v3.RBAC') && o.rules) {
      const rules = o.rules as { policies?: Record<string, unknown> };
      return { ...o, rules: { ...rules, policies: { ...(rules.policies ?? {}), 'from-office': office } } };
    }
    if (String(o['@type'] ?? '').endsWith('.HttpConnectionManager')) return { ...o, ...hcm };
    return v;
  }) as unknown, 'details-xff.json');
}
const req = (xff?: string): RequestAttrs => ({
  source: { address: '10.244.2.73', port: 44084 },
  destination: { address: '10.244.2.72', port: 9080 },
  tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [], subject: '', peerCertificateValidated: true },
  http: { method: 'GET', path: '/details/0', authority: 'details:9080', headers: xff === undefined ? {} : { 'x-forwarded-for': [xff] } },
});

describe('Envoy getLastAddressFromXFF', () => {
  it('takes the entry num_to_skip from the end, trimmed, and only an IP', () => {
    expect(lastAddressFromXff('1.1.1.1, 2.2.2.2', 0)).toBe('2.2.2.2');
    expect(lastAddressFromXff('1.1.1.1, 2.2.2.2', 1)).toBe('1.1.1.1');
    expect(lastAddressFromXff('1.1.1.1', 1)).toBeNull();
    expect(lastAddressFromXff('1.1.1.1,', 0)).toBeNull();
    expect(lastAddressFromXff('not-an-ip', 0)).toBeNull();
    expect(lastAddressFromXff(' 2001:db8::1 ', 0)).toBe('2001:db8::1');
  });
});

describe('remote_ip from the chain HCM X-Forwarded-For handling', () => {
  it('Istio inbound (use_remote_address false): the last XFF entry is the remote address', () => {
    const dump = dumpWith({});
    const d = decideRequest(dump, req('203.0.113.7'));
    expect(d).toMatchObject({ decision: 'ALLOW', policy: 'from-office' });
    expect(d.reasons!.join(' ')).toMatch(/took the remote address 203\.0\.113\.7 from X-Forwarded-For .*use_remote_address false, xff_num_trusted_hops 0/);
    expect(decideRequest(dump, req()).decision).toBe('DENY');
    expect(decideRequest(dump, req('203.0.113.7, 10.0.0.9')).decision).toBe('DENY');
  });
  it('xff_num_trusted_hops skips trusted proxies from the end', () => {
    expect(decideRequest(dumpWith({ xff_num_trusted_hops: 1 }), req('203.0.113.7, 10.0.0.9')).decision).toBe('ALLOW');
  });
  it('use_remote_address true without trusted hops: the connection peer, XFF ignored', () => {
    expect(decideRequest(dumpWith({ use_remote_address: true }), req('203.0.113.7')).decision).toBe('DENY');
    expect(decideRequest(dumpWith({ use_remote_address: true, xff_num_trusted_hops: 1 }), req('203.0.113.7')).decision).toBe('ALLOW');
  });
  it('a remote address given by the request (or a log record) is kept', () => {
    const r = { ...req('203.0.113.7'), remote: { address: '10.0.0.1' } };
    expect(decideRequest(dumpWith({}), r).decision).toBe('DENY');
  });
});
