/**
 * One truth across commands (issue 11 §3): the capture's proof beats a log's inference, and every
 * request counts once — in the graph, the findings and the timeline — on the bundled samples.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { sampleReportModel } from '../helpers/sample-report.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel, type ReportModel } from '../../src/analysis/report-model.js';
import { renderGraphSvg } from '../../src/report/html.js';
import { recordSecurity } from '../../src/analysis/request-events.js';
import { correlate } from '../../src/analysis/correlate.js';
import { flow, record, tls, T0 } from './report-fixtures.js';

const report = sampleReportModel;
const edge = (m: ReportModel, from: string, to: string) => m.graph.edges.find((e) => e.from === from && e.to === to)!;
const sampleDir = (s: string) => existsSync(join(REPO, 'samples', s));

describe('the capture\'s proof beats a log\'s inference', () => {
  it('a client certificate seen in the capture makes a record mTLS though its SNI is not outbound_.* (the log\'s guess: one-way TLS)', () => {
    const f = flow({ client: '10.0.0.66:5000', server: '10.0.0.7:8080', security: 'mtls', evidence: ['client-certificate'], tls: tls({ sni: 'database.bank.svc.cluster.local', uriSans: ['spiffe://cluster.local/ns/bank/sa/account-summary'] }) });
    const r = record({ from: '10.0.0.66:5000', to: '10.0.0.7:8080', timeMs: T0 + 10, unknown: ['tls', 'tls.uriSans', 'tls.dnsSans', 'tls.subject', 'tls.peerCertificateValidated'], attrs: { sni: 'database.bank.svc.cluster.local' } });
    const c = correlate([f], [r], [], [], null, { skewMs: 2000 });
    expect(c.recordFlow.get(r)?.flow).toBe(f);
    expect(recordSecurity(r, 'inbound', undefined)).toMatchObject({ security: 'tls', from: 'access-log', inferred: true });
    expect(c.securityOf(r)).toEqual({ security: 'mtls', from: 'capture', inferred: false, principal: 'spiffe://cluster.local/ns/bank/sa/account-summary' });
  });

  it('a fact the log states (no peer certificate) beats the capture\'s inference from Istio ClientHello markers', () => {
    const f = flow({ client: '10.0.0.5:5001', server: '10.0.0.7:8080', security: 'mtls', inferred: true, evidence: ['istio-alpn', 'tls13-certificates-encrypted'], tls: tls({ version: 'TLSv1.3' }) });
    const r = record({ from: '10.0.0.5:5001', to: '10.0.0.7:8080', attrs: { tls: { uriSans: [], dnsSans: [], subject: '', peerCertificateValidated: false } } });
    const c = correlate([f], [r], [], [], null, { skewMs: 2000 });
    expect(c.securityOf(r)).toMatchObject({ security: 'tls', from: 'access-log', inferred: false });
  });

  it.skipIf(!sampleDir('bank-breach'))('bank-breach: the attacker\'s edge is mTLS (stolen certificate), never "TLS (no client cert)", and shows its 2 allowed requests (needs samples/bank-breach)', async () => {
    const m = await report('bank-breach');
    const e = edge(m, 'ops/toolbox', 'bank/database');
    expect(e.security).toBe('mtls');
    // 'unknown': the last attempt (Calico stage) never got a SYN-ACK, so no TLS to judge
    expect(e.marks).toEqual(['mtls', 'unknown', 'denied']);
    expect(e.requests).toEqual({ allowed: 2, denied: 1, rejected: 0 });
    expect(e.requestSecurity).toEqual({ mtls: 3, tls: 0, plaintext: 0, unknown: 0 });
    const mine = m.requests.filter((r) => r.clientNode === 'ops/toolbox');
    expect(mine).toHaveLength(3);
    for (const r of mine) expect(r).toMatchObject({ peerSecurity: 'mtls', securityFrom: 'capture', principal: 'spiffe://cluster.local/ns/bank/sa/account-summary' });
    const html = renderGraphSvg(m.graph.nodes, m.graph.edges);
    expect(html).toMatch(/<title>ops\/toolbox → bank\/database port 8080:[^<]*allowed 2, denied 1/);
    expect(html).toMatch(/>:8080 mtls<\/tspan><tspan [^>]*>2 allowed ✕ 1 denied<\/tspan>/);
  });
});

describe('every request counts once, everywhere', () => {
  it.skipIf(!sampleDir('bookinfo-authz'))('bookinfo-authz: productpage→reviews and reviews→ratings count their logged requests and denials (x-request-id is shared along the call chain) (needs samples/bookinfo-authz)', async () => {
    const m = await report('bookinfo-authz');
    expect(edge(m, 'default/productpage', 'default/reviews').requests).toEqual({ allowed: 3, denied: 1, rejected: 0 });
    expect(edge(m, 'default/reviews', 'default/ratings').requests).toEqual({ allowed: 2, denied: 1, rejected: 0 });
    // The denials on the graph are the rbac-denied findings' occurrences, pair by pair.
    const denied = m.findings.filter((f) => f.id === 'rbac-denied').reduce((n, f) => n + (f.details!.occurrences as number), 0);
    expect(m.graph.edges.reduce((n, e) => n + e.requests.denied, 0)).toBe(denied);
    // 29 records, each request logged by both sidecars: 17 requests, every one on an edge exactly once.
    expect(m.summary.records).toMatchObject({ total: 29, requests: 17 });
    expect(m.graph.edges.reduce((n, e) => n + e.requests.allowed + e.requests.denied + e.requests.rejected, 0)).toBe(17);
  });

  it.skipIf(!sampleDir('legacy-plaintext'))('legacy-plaintext: plaintext-accepted counts 3 requests once each, citing both the capture and the log (needs samples/legacy-plaintext)', async () => {
    const m = await report('legacy-plaintext');
    const acc = m.findings.find((f) => f.id === 'plaintext-accepted' && f.summary.includes('bar/httpbin'))!;
    expect(acc.details!.occurrences).toBe(3);
    expect(acc.summary).toMatch(/\(×3\)$/);
    expect(acc.evidence.filter((e) => e.frame !== undefined)).toHaveLength(3);
    expect(acc.evidence.filter((e) => e.line !== undefined)).toHaveLength(3);
  });

  it.skipIf(!sampleDir('legacy-plaintext'))('legacy-plaintext: the timeline has one event per request, carrying the capture\'s verdict and evidence (needs samples/legacy-plaintext)', async () => {
    const m = await report('legacy-plaintext');
    const logged = m.timeline.filter((e) => e.source === 'access-log');
    expect(logged).toHaveLength(m.summary.records.requests);
    const fromLegacy = logged.filter((e) => e.from === 'legacy/sleep' && e.to === 'bar/httpbin');
    expect(fromLegacy).toHaveLength(3);
    for (const e of fromLegacy) {
      expect(e.security).toBe('plaintext');
      expect(e.correlated?.file).toMatch(/\.pcap$/);
      expect(e.findings).toEqual(expect.arrayContaining(['plaintext-accepted', 'plaintext-flow']));
    }
    // No separate capture row for a connection whose request is already a row.
    expect(m.timeline.filter((e) => e.source === 'capture' && e.from === 'legacy/sleep' && e.to === 'bar/httpbin')).toHaveLength(0);
  });

  it.skipIf(!sampleDir('tcp-echo'))('tcp-echo: a connection captured in both pods and logged by both sidecars is one connection (needs samples/tcp-echo)', async () => {
    const m = await report('tcp-echo');
    const e = m.graph.edges.find((x) => x.to === 'foo/tcp-echo' && x.port === 9002)!;
    expect(e.flows.plaintext).toBe(5);
    expect(e.requests.allowed + e.requests.denied).toBe(5);
    const pf = m.findings.find((f) => f.id === 'plaintext-flow')!;
    expect(pf.details!.occurrences).toBe(5);
    expect(pf.evidence).toHaveLength(10); // both captures' frames stay cited
    expect(m.summary.flows.capturedTwice).toBe(15);
    expect(m.flows.filter((f) => f.sameConnectionAs !== null)).toHaveLength(15);
  });
});
