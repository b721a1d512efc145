import { describe, expect, it } from 'vitest';
import { correlate, field, parseHostPort, recordDirection, DEFAULT_SKEW_MS } from '../../src/analysis/correlate.js';
import type { AccessRecord } from '../../src/model/records.js';
import { exchange, flow, inventory, pod, proxyOf, record, T0 } from './report-fixtures.js';

const INV = inventory([pod('sleep-1', 'legacy', '10.0.0.5', 'sleep', 'sleep'), pod('details-1', 'default', '10.0.0.7', 'bookinfo-details', 'details')]);

describe('parseHostPort', () => {
  it('reads ip:port, [v6]:port, tcp:// forms and bare IPs', () => {
    expect(parseHostPort('10.0.0.1:80')).toEqual({ ip: '10.0.0.1', port: 80 });
    expect(parseHostPort('[fd00::1]:9080')).toEqual({ ip: 'fd00::1', port: 9080 });
    expect(parseHostPort('tcp://10.0.2.1:80')).toEqual({ ip: '10.0.2.1', port: 80 });
    expect(parseHostPort('10.0.0.1')).toEqual({ ip: '10.0.0.1' });
    expect(parseHostPort('-')).toBeUndefined();
  });
});

describe('field', () => {
  const rec = (fields: AccessRecord['fields']): AccessRecord => ({ fields }) as AccessRecord;
  it('finds a logged field by an exact spelling first, then by any spelling ignoring case', () => {
    expect(field(rec({ UPSTREAM_HOST: '10.0.0.1:80', upstream_host: 'x' }), 'upstream_host', 'UPSTREAM_HOST')).toBe('x');
    expect(field(rec({ Upstream_Host: '10.0.0.1:80' }), 'UPSTREAM_HOST', 'upstream_host')).toBe('10.0.0.1:80');
    expect(field(rec({ 'x-envoy-original-path?:path': '/a' }), 'X-ENVOY-ORIGINAL-PATH?:PATH')).toBe('/a');
    // the first spelling that matches wins; among keys equal but for case, the last one logged
    expect(field(rec({ Path: '/1', PATH: '/2', Host: 'h' }), 'host', 'path')).toBe('h');
    expect(field(rec({ Path: '/1', PATH: '/2' }), 'path')).toBe('/2');
    expect(field(rec({ UPSTREAM_HOSTS: 'no', UPSTREAM_HOS: 'no' }), 'upstream_host')).toBeUndefined();
    expect(field(rec({}), 'a', 'b')).toBeUndefined();
  });
});

describe('captures ↔ access records', () => {
  it('joins an inbound record to the flow whose client is its DOWNSTREAM_REMOTE_ADDRESS, within the skew window', () => {
    const f = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', startMs: T0, durMs: 50 });
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', timeMs: T0 + 1500 });
    const c = correlate([f], [r], [], [], INV, { skewMs: DEFAULT_SKEW_MS });
    expect(c.recordFlow.get(r)?.flow).toBe(f);
    expect(c.recordFlow.get(r)?.by).toBe('5-tuple');
    expect(c.flowRecords.get(f)).toEqual([r]);
    expect(c.observedSkew).toMatchObject({ n: 1, medianMs: 1450 });
  });

  it('does not join outside the stated window, and the window is configurable', () => {
    const f = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', startMs: T0, durMs: 50 });
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', timeMs: T0 + 5000 });
    expect(correlate([f], [r], [], [], null, { skewMs: 2000 }).recordFlow.has(r)).toBe(false);
    expect(correlate([f], [r], [], [], null, { skewMs: 6000 }).recordFlow.has(r)).toBe(true);
  });

  it('picks the right connection when a client port is reused', () => {
    const a = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', startMs: T0, durMs: 100 });
    const b = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', startMs: T0 + 60_000, durMs: 100 });
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', timeMs: T0 + 60_050 });
    expect(correlate([a, b], [r], [], [], null, { skewMs: 2000 }).recordFlow.get(r)?.flow).toBe(b);
  });

  it('joins on x-request-id seen in a cleartext exchange, naming the exchange', () => {
    const f = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', http: [exchange({ path: '/a', headers: { 'x-request-id': ['id-1'] } }), exchange({ path: '/b', requestFrame: 9, headers: { 'x-request-id': ['id-2'] } })] });
    const r = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', requestId: 'id-2', timeMs: T0 + 999_999 });
    const link = correlate([f], [r], [], [], null, { skewMs: 2000 }).recordFlow.get(r)!;
    expect(link.by).toBe('request-id');
    expect(link.exchange).toBe(1);
  });

  it('joins an outbound record by UPSTREAM_LOCAL_ADDRESS → UPSTREAM_HOST', () => {
    const f = flow({ client: '10.0.0.5:51234', server: '10.0.0.7:9080' });
    const r = record({ cluster: 'outbound|9080||details.default.svc.cluster.local', upstreamHost: '10.0.0.7:9080', fields: { UPSTREAM_LOCAL_ADDRESS: '10.0.0.5:51234' }, from: '127.0.0.1:33000', to: '10.96.0.10:9080' });
    const c = correlate([f], [r], [], [], null, { skewMs: 2000 });
    expect(c.recordDirection.get(r)).toBe('outbound');
    expect(c.recordFlow.get(r)?.flow).toBe(f);
  });
});

describe('records ↔ proxies ↔ dumps, IPs ↔ workloads', () => {
  const p = proxyOf({ source: 'details.json', ip: '10.0.0.7', pod: 'details-1', namespace: 'default', app: 'details', sa: 'bookinfo-details' });

  it('finds the proxy by node id, by kubectl pod prefix, or by its own address', () => {
    const byNode = record({ node: p.nodeId!, from: '10.0.0.5:1', to: '10.0.0.99:9080' });
    const byPod = record({ node: 'details-1', from: '10.0.0.5:2', to: '10.0.0.99:9080' });
    const byAddr = record({ from: '10.0.0.5:3', to: '10.0.0.7:9080' });
    const c = correlate([], [byNode, byPod, byAddr], [], [p], null, { skewMs: 2000 });
    expect(c.recordProxy.get(byNode)).toBe(p);
    expect(c.recordProxy.get(byPod)).toBe(p);
    expect(c.recordProxy.get(byAddr)).toBe(p);
  });

  it('resolves IPs from the inventory first, the dumps second', () => {
    const c = correlate([], [], [], [p], INV, { skewMs: 2000 });
    expect(c.resolve('10.0.0.7')).toMatchObject({ source: 'inventory', name: 'details', serviceAccount: 'bookinfo-details' });
    const noInv = correlate([], [], [], [p], null, { skewMs: 2000 });
    expect(noInv.resolve('10.0.0.7')).toMatchObject({ source: 'config-dump', name: 'details', namespace: 'default', serviceAccount: 'bookinfo-details' });
    expect(noInv.resolve('10.0.0.5')).toBeUndefined();
  });

  it('tells inbound from outbound records', () => {
    expect(recordDirection(record({ cluster: 'inbound|9080||' }), undefined)).toBe('inbound');
    expect(recordDirection(record({ cluster: 'outbound|9080||details.default.svc.cluster.local' }), undefined)).toBe('outbound');
    expect(recordDirection(record({ cluster: '-', upstreamCluster: undefined, to: '10.0.0.7:9080' }), p)).toBe('inbound');
  });
});

describe('several dumps of one proxy', () => {
  it('replays a record against the dump in force at its time (newest not after it)', () => {
    const base = proxyOf({ source: 'now.json', ip: '10.0.0.7', pod: 'details-1', namespace: 'default' });
    const stage0 = { ...proxyOf({ source: 'stage0.json', ip: '10.0.0.7', pod: 'details-1', namespace: 'default' }), asOfMs: T0 };
    const stage1 = { ...proxyOf({ source: 'stage1.json', ip: '10.0.0.7', pod: 'details-1', namespace: 'default' }), asOfMs: T0 + 60_000 };
    const now = { ...base, asOfMs: T0 + 120_000 };
    const early = record({ node: base.nodeId!, timeMs: T0 + 30_000, from: '10.0.0.5:1', to: '10.0.0.7:9080' });
    const mid = record({ timeMs: T0 + 90_000, from: '10.0.0.5:2', to: '10.0.0.7:9080' });
    const late = record({ node: base.nodeId!, timeMs: T0 + 200_000, from: '10.0.0.5:3', to: '10.0.0.7:9080' });
    const c = correlate([], [early, mid, late], [], [now, stage1, stage0], null, { skewMs: 2000 });
    expect(c.recordProxy.get(early)?.source).toBe('stage0.json');
    expect(c.recordProxy.get(mid)?.source).toBe('stage1.json');
    expect(c.recordProxy.get(late)?.source).toBe('now.json');
    expect(c.proxyForIp('10.0.0.7', T0 + 61_000)?.source).toBe('stage1.json');
  });
});
