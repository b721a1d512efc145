import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { correlate, DEFAULT_SKEW_MS } from '../../src/analysis/correlate.js';
import { withXfccIdentity, inboundXfccModes } from '../../src/analysis/evidence.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';
import type { ConfigDump } from '../../src/envoy/model.js';
import type { AccessRecord } from '../../src/model/records.js';
import { REPO } from '../helpers/cli.js';
import { exchange, flow, inventory, pod, record, T0 } from './report-fixtures.js';

const INV = inventory([pod('productpage-1', 'default', '10.0.0.5', 'bookinfo-productpage', 'productpage'), pod('details-1', 'default', '10.0.0.7', 'bookinfo-details', 'details')]);
const CALLER = 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage';
const XFCC = `By=spiffe://cluster.local/ns/default/sa/bookinfo-details;Hash=95d6e7;Subject="";URI=${CALLER}`;

/** The request the details sidecar forwarded to its app: 127.0.0.6:<eph> → 10.0.0.7:9080, cleartext, with XFCC. */
function localLeg(p: { port?: number; requestId?: string; xfcc?: string | null; startMs?: number; path?: string; server?: string; file?: string } = {}) {
  const headers: Record<string, string[]> = {};
  if (p.requestId) headers['x-request-id'] = [p.requestId];
  if (p.xfcc !== null) headers['x-forwarded-client-cert'] = [p.xfcc ?? XFCC];
  return flow({
    client: `127.0.0.6:${p.port ?? 54969}`,
    server: p.server ?? '10.0.0.7:9080',
    startMs: p.startMs ?? T0 + 2,
    durMs: 10,
    file: p.file ?? 'details.pcap',
    frames: [9, 10, 11, 12, 13],
    sidecarLocal: true,
    http: [exchange({ requestFrame: 12, path: p.path ?? '/details/0', headers })],
  });
}

/** The details sidecar's inbound line (Istio default format): identity not logged, mTLS by SNI. */
function inbound(p: { requestId?: string; upstreamHost?: string; upstreamLocal?: string; timeMs?: number; path?: string } = {}): AccessRecord {
  const fields: AccessRecord['fields'] = { UPSTREAM_HOST: p.upstreamHost ?? '10.0.0.7:9080' };
  if (p.upstreamLocal !== undefined) fields.UPSTREAM_LOCAL_ADDRESS = p.upstreamLocal;
  return record({
    from: '10.0.0.5:52010',
    to: '10.0.0.7:9080',
    timeMs: p.timeMs ?? T0,
    ...(p.requestId ? { requestId: p.requestId } : {}),
    fields,
    ...(p.upstreamHost === '-' ? {} : { upstreamHost: p.upstreamHost ?? '10.0.0.7:9080' }),
    unknown: ['tls.uriSans', 'filterState'],
    attrs: { sni: 'outbound_.9080_._.details.default.svc.cluster.local', http: { method: 'GET', path: p.path ?? '/details/0', headers: {} } },
  });
}

const corr = (flows: ReturnType<typeof flow>[], records: AccessRecord[]) => correlate(flows, records, [], [], INV, { skewMs: DEFAULT_SKEW_MS });

describe('inbound record ↔ sidecar-local leg carrying x-forwarded-client-cert', () => {
  it('joins by x-request-id on the leg to the same pod', () => {
    const leg = localLeg({ requestId: 'rid-1' });
    const r = inbound({ requestId: 'rid-1' });
    const l = corr([leg], [r]).recordLocalLeg.get(r);
    expect(l).toMatchObject({ flow: leg, exchange: 0, by: 'request-id', xfcc: XFCC });
  });

  it('does not take the leg of another pod that shares the request id (one trace id spans every hop)', () => {
    const other = localLeg({ requestId: 'rid-1', server: '10.0.0.9:9080' });
    const r = inbound({ requestId: 'rid-1' });
    expect(corr([other], [r]).recordLocalLeg.has(r)).toBe(false);
  });

  it('no leg for a request the sidecar never forwarded (UPSTREAM_HOST `-`), nor for a leg without XFCC', () => {
    const denied = inbound({ requestId: 'rid-1', upstreamHost: '-' });
    expect(corr([localLeg({ requestId: 'rid-1' })], [denied]).recordLocalLeg.has(denied)).toBe(false);
    const r = inbound({ requestId: 'rid-2' });
    expect(corr([localLeg({ requestId: 'rid-2', xfcc: null })], [r]).recordLocalLeg.has(r)).toBe(false);
  });

  it('without a request id: the UPSTREAM_LOCAL_ADDRESS connection within the window', () => {
    const a = localLeg({ port: 40001 });
    const b = localLeg({ port: 40002 });
    const r = inbound({ upstreamLocal: '127.0.0.6:40002' });
    expect(corr([a, b], [r]).recordLocalLeg.get(r)).toMatchObject({ flow: b, by: 'upstream-address' });
    const late = inbound({ upstreamLocal: '127.0.0.6:40002', timeMs: T0 + 60_000 });
    expect(corr([a, b], [late]).recordLocalLeg.has(late)).toBe(false);
  });

  it('without request id or local address: time and route, only when exactly one leg fits', () => {
    const r = inbound({});
    expect(corr([localLeg({ port: 40001 }), localLeg({ port: 40002, path: '/health' })], [r]).recordLocalLeg.get(r)?.by).toBe('time-route');
    const r2 = inbound({});
    expect(corr([localLeg({ port: 40001 }), localLeg({ port: 40002 })], [r2]).recordLocalLeg.has(r2)).toBe(false);
    // A pooled leg (one connection, several forwarded requests): the exchange time picks the request.
    const pooled = localLeg({ port: 40003 });
    pooled.endMs = T0 + 60_000;
    pooled.http.push({ ...pooled.http[0]!, requestFrame: 40, time: new Date(T0 + 30_000).toISOString() });
    const early = inbound({});
    const laterOne = inbound({ timeMs: T0 + 29_999 });
    const cp = corr([pooled], [early, laterOne]);
    expect(cp.recordLocalLeg.get(early)).toMatchObject({ exchange: 0, by: 'time-route' });
    expect(cp.recordLocalLeg.get(laterOne)).toMatchObject({ exchange: 1, by: 'time-route' });
    // A leg that carries a different request id is another request.
    const r3 = inbound({ requestId: 'mine' });
    expect(corr([localLeg({ port: 40001, requestId: 'theirs' })], [r3]).recordLocalLeg.has(r3)).toBe(false);
  });
});

describe('withXfccIdentity', () => {
  let dump: ConfigDump;
  beforeAll(async () => {
    const res = await loadConfigDumps([join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json')]);
    dump = res.dumps[0]!;
  });
  const joined = (xfcc = XFCC, r = inbound({ requestId: 'rid-1' })) => {
    const leg = localLeg({ requestId: 'rid-1', xfcc });
    return { r, leg: corr([leg], [r]).recordLocalLeg.get(r) };
  };

  it("fills the peer URI SAN and Istio's peer principal from the last element, naming the frame", () => {
    expect(inboundXfccModes(dump, 9080)).toEqual(['APPEND_FORWARD']);
    const { r, leg } = joined(`By=spiffe://cluster.local/ns/default/sa/forged;URI=spiffe://cluster.local/ns/evil/sa/x,${XFCC}`);
    const out = withXfccIdentity(r, leg, dump);
    expect(out.record.attrs.tls?.uriSans).toEqual([CALLER]);
    expect(out.record.attrs.filterState?.['io.istio.peer_principal']).toBe(CALLER);
    expect(out.record.unknown).not.toContain('tls.uriSans');
    expect(out.note).toBe(`xfcc-sidecar-local-leg details.pcap#12 (URI=${CALLER}; Hash=95d6e7; same x-request-id)`);
  });

  it('never invents an identity: no leg, malformed or URI-less XFCC, a plaintext record, a logged identity', () => {
    const r = inbound({ requestId: 'rid-1' });
    expect(withXfccIdentity(r, undefined, dump)).toEqual({ record: r, note: null });
    for (const bad of ['URI="unterminated', 'By=spiffe://cluster.local/ns/default/sa/bookinfo-details;Hash=1;Subject="";URI=']) {
      const j = joined(bad);
      expect(withXfccIdentity(j.r, j.leg, dump).note).toBeNull();
    }
    const plain = { ...inbound({ requestId: 'rid-1' }), unknown: [] as string[] };
    delete plain.attrs.sni;
    expect(withXfccIdentity(plain, joined(XFCC, plain).leg, dump).note).toBeNull();
    const logged = inbound({ requestId: 'rid-1' });
    logged.attrs.tls = { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [], subject: '', peerCertificateValidated: true };
    logged.unknown = [];
    expect(withXfccIdentity(logged, joined(XFCC, logged).leg, dump).record.attrs.tls?.uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/sleep']);
  });

  it("is not used when the element was not added by this sidecar (By is another proxy's identity)", () => {
    const { r, leg } = joined(`By=spiffe://cluster.local/ns/default/sa/other;Hash=1;URI=${CALLER}`);
    expect(withXfccIdentity(r, leg, dump).note).toBeNull();
  });

  it('is not used when the inbound HCM forwards the client\'s XFCC unchanged (FORWARD_ONLY) instead of appending its own', () => {
    const fwd: ConfigDump = {
      ...dump,
      listeners: dump.listeners.map((l) => ({
        ...l,
        filterChains: l.filterChains.map((c) => ({ ...c, filters: c.filters.map((f) => (f.hcm ? { ...f, hcm: { ...f.hcm, forwardClientCertDetails: 'FORWARD_ONLY' } } : f)) })),
      })),
    };
    expect(inboundXfccModes(fwd, 9080)).toEqual(['FORWARD_ONLY']);
    const { r, leg } = joined();
    expect(withXfccIdentity(r, leg, fwd).note).toBeNull();
  });
});
