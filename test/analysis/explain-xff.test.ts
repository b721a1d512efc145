/**
 * source_ip / remote_ip / direct_remote_ip when the HCM took the address from X-Forwarded-For:
 * %DOWNSTREAM_REMOTE_ADDRESS% then has port 0 and is the remote address, not the connection peer.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import { alsEntryToRecord } from '../../src/readers/accesslog/als.js';
import { explainRecord } from '../../src/analysis/explain.js';
import { decideWithFilter } from '../../src/envoy/decide.js';
import { parseRbacFilter } from '../../src/rbac/index.js';
import type { AccessRecord } from '../../src/model/records.js';
import type { Decider } from '../../src/analysis/explain.js';

const LOG = new URL('../../samples/details-path/logs/details-v1-5f4d584748-vn4cx.default.istio-proxy.log', import.meta.url);
const served = readFileSync(LOG, 'utf8').split('\n').find((l) => l.includes('"GET /details/0 HTTP/1.1" 200'))!;
// The same served request as a sidecar with use_remote_address would log it behind a proxy that set XFF.
const viaXff = served.replace('"-" "python-requests', '"203.0.113.7" "python-requests').replace('10.244.1.71:58110', '203.0.113.7:0');

async function one(line: string): Promise<AccessRecord> {
  for await (const r of readAccessLogs({ path: 'details.log', stream: Readable.from([line + '\n']) })) return r;
  throw new Error('no record');
}

const filter = (principal: Record<string, unknown>) => {
  const f = parseRbacFilter({ rules: { policies: { p: { permissions: [{ any: true }], principals: [principal] } } } }, { kind: 'http' });
  const d: Decider = (req, opts) => decideWithFilter(f, req, { unknown: opts.unknown });
  return d;
};

describe('an HTTP remote address with port 0 came from X-Forwarded-For', () => {
  it('the reader keeps it as the remote address and leaves the connection peer unknown', async () => {
    const r = await one(viaXff);
    expect(r.attrs.remote).toEqual({ address: '203.0.113.7', port: 0 });
    expect(r.attrs.source).toBeUndefined();
    expect(r.unknown).toContain('source');
    const plain = await one(served);
    expect(plain.attrs.source).toEqual({ address: '10.244.1.71', port: 58110 });
  });
  it('a source_ip policy is undecidable from that record, and says why', async () => {
    const e = explainRecord(await one(viaXff), filter({ source_ip: { address_prefix: '10.244.1.0', prefix_len: 24 } }));
    expect(e.verdict).toBe('undecidable');
    expect(e.missing).toContain('source');
    expect(e.reason).toMatch(/port 0: it came from X-Forwarded-For/);
  });
  it('a remote_ip policy is decided on the XFF address', async () => {
    expect(explainRecord(await one(viaXff), filter({ remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } })).verdict).toBe('agrees');
    expect(explainRecord(await one(viaXff), filter({ remote_ip: { address_prefix: '10.244.1.0', prefix_len: 24 } })).verdict).toBe('disagrees');
  });
  it('without XFF the source_ip policy is decided as before', async () => {
    expect(explainRecord(await one(served), filter({ source_ip: { address_prefix: '10.244.1.0', prefix_len: 24 } })).verdict).toBe('agrees');
  });
  it('ALS: a remote address without port (port_value 0 omitted) is the remote; source_ip reads the direct remote', () => {
    const r = alsEntryToRecord('http', {
      common_properties: {
        downstream_remote_address: { socket_address: { address: '203.0.113.7' } },
        downstream_direct_remote_address: { socket_address: { address: '10.244.1.71', port_value: 58110 } },
        downstream_local_address: { socket_address: { address: '10.244.2.72', port_value: 9080 } },
      },
      request: { request_method: 'GET', path: '/details/0' },
      response: { response_code: 200, response_code_details: 'via_upstream' },
    }, { file: 'als' });
    expect(r.attrs.source).toBeUndefined();
    expect(r.unknown).toContain('source');
    expect(r.attrs.remote).toEqual({ address: '203.0.113.7' });
    expect(r.attrs.directRemote).toEqual({ address: '10.244.1.71', port: 58110 });
  });
});
