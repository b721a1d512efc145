/**
 * The report recovers the caller's identity, which Istio's default access-log format does not log,
 * from the `x-forwarded-client-cert` header on the sidecar-local leg (Envoy → app) captured in the
 * server pod: replays that were undecidable for want of the peer principal now agree with the log,
 * and the evidence names the capture frame. Requests that never reached the app (RBAC denials) have
 * no such leg and stay undecidable.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gatherEvidence, withCaptureIdentity } from '../../src/analysis/evidence.js';
import { correlate, DEFAULT_SKEW_MS } from '../../src/analysis/correlate.js';
import { explainRecord } from '../../src/analysis/explain.js';
import { decideRequest } from '../../src/envoy/decide.js';
import { REPO, runCli } from '../helpers/cli.js';

async function replayWithAndWithoutXfcc(bundle: string) {
  const ev = await gatherEvidence([join(REPO, 'samples', bundle)]);
  const c = correlate(ev.flows, ev.records, [], ev.proxies, null, { skewMs: DEFAULT_SKEW_MS });
  return ev.explanations.map((e) => {
    const proxy = c.recordProxy.get(e.record)!;
    // The same record replayed as before the XFCC join: the log, plus a TLS 1.2 client certificate on its connection.
    const { record: rec } = withCaptureIdentity(e.record, c.recordFlow.get(e.record)?.flow);
    const logOnly = explainRecord(rec, (req, o) => decideRequest(proxy.dump, req, { unknown: o.unknown, kind: o.kind }));
    return { record: e.record, now: e, before: logOnly };
  });
}

describe('report: caller identity from XFCC on the sidecar-local leg', () => {
  it('bookinfo-authz: the five allowed requests that were undecidable now agree, citing the frame; the sleep denial stays undecidable', async () => {
    const rs = await replayWithAndWithoutXfcc('bookinfo-authz');
    const moved = rs.filter((x) => x.before.verdict === 'undecidable' && x.now.verdict === 'agrees');
    expect(moved).toHaveLength(5);
    for (const m of moved) {
      expect(m.before.reason).toContain('tls.uriSans');
      expect(m.now.logged).toBe('allowed');
      const ev = m.now.identityEvidence.find((s) => s.startsWith('xfcc-sidecar-local-leg '));
      expect(ev, m.now.identityEvidence.join('; ')).toMatch(/^xfcc-sidecar-local-leg .*samples\/bookinfo-authz\/captures\/[a-z0-9.-]+\.pcap#\d+ \(URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-[a-z]+; Hash=[0-9a-f]{64}; same x-request-id\)$/);
    }
    const details8 = moved.find((m) => m.record.ref.file.endsWith('details-v1-5f4d584748-2w7mh.default.istio-proxy.log') && m.record.ref.line === 8)!;
    expect(details8.now.identityEvidence).toContain(
      'xfcc-sidecar-local-leg ' + join(REPO, 'samples/bookinfo-authz/captures/details-v1-5f4d584748-2w7mh.default.pcap') + '#53 (URI=spiffe://cluster.local/ns/default/sa/bookinfo-productpage; Hash=95d6e7250ad40a33980cff0d9a59a03898d1ad8e63dcb6fbfbe0025d36685b41; same x-request-id)',
    );
    const still = rs.filter((x) => x.now.verdict === 'undecidable');
    expect(still).toHaveLength(1);
    expect(still[0]!.record.responseCode).toBe(403);
    expect(still[0]!.now.identityEvidence.some((s) => s.startsWith('xfcc'))).toBe(false);
    expect(rs.filter((x) => x.now.verdict === 'disagrees')).toHaveLength(0);
  });

  it('details-path: the allowed productpage request agrees; bank-breach: only the database legs captured in its pod move', async () => {
    const dp = await replayWithAndWithoutXfcc('details-path');
    expect(dp.filter((x) => x.before.verdict === 'undecidable' && x.now.verdict === 'agrees')).toHaveLength(1);
    expect(dp.filter((x) => x.now.verdict === 'undecidable')).toHaveLength(1);
    const bank = await replayWithAndWithoutXfcc('bank-breach');
    const moved = bank.filter((x) => x.before.verdict === 'undecidable' && x.now.verdict === 'agrees');
    // the account-summary → database GETs of the fix and Calico stages
    expect(moved.map((m) => m.record.ref.file.split('/').pop())).toEqual(['database-0.bank.istio-proxy.log', 'database-0.bank.istio-proxy.log']);
    // account-summary's pod was not captured: no leg, no identity.
    const summary = bank.find((x) => x.record.ref.file.includes('account-summary') && x.record.requestId === '3457c2b0-f715-42d0-a874-81e9c16f5e0f')!;
    expect(summary.now.verdict).toBe('undecidable');
  });

  it('the JSON report carries the evidence in requests[].explanation.identityEvidence and counts the replays', async () => {
    const r = await runCli(['report', 'samples/details-path', '-o', 'json'], {});
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as { summary: { explanations: Record<string, number> }; requests: { explanation?: { verdict: string; identityEvidence: string[] } }[] };
    expect(m.summary.explanations).toMatchObject({ agrees: 4, disagrees: 0, undecidable: 1 });
    const ev = m.requests.flatMap((q) => q.explanation?.identityEvidence ?? []).filter((s) => s.startsWith('xfcc-sidecar-local-leg'));
    expect(ev).toEqual([expect.stringMatching(/^xfcc-sidecar-local-leg samples\/details-path\/captures\/details-v1-5f4d584748-vn4cx\.default\.pcap#\d+ \(URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage; /)]);
  });
});
