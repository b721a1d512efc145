/**
 * Connection attempts nobody answered are summarised into bounded groups while `report` gathers the
 * evidence (analysis/attempts.ts); the report made from the groups is the report made from every flow.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpConversation, type TcpPacket } from '../../src/synth/tcp.js';
import { buildCapture } from '../../src/synth/capture.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel } from '../../src/analysis/report-model.js';
import { ATTEMPT_LIMITS, isUnansweredAttempt, type AttemptLimits } from '../../src/analysis/attempts.js';
import { REPO } from '../helpers/cli.js';

// After the NetworkPolicies of samples/bookinfo-netpol came into force (09:30).
const T0 = Date.parse('2026-11-24T10:00:00Z');
const GATEWAY = '10.244.1.20';
const PRODUCTPAGE = '10.244.1.21';
const DETAILS = '10.244.2.22';
const REVIEWS = '10.244.2.23';
const RATINGS = '10.244.1.24';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * `attempts` SYN-only connections (every seventh retransmits its SYN a second later) mixed with answered
 * HTTP connections: the gateway to details (a NetworkPolicy drops it), unknown clients to productpage
 * (dropped too, one finding per source), scanners to an address no pod has, and real requests.
 */
function mixedCapture(attempts: number, clients = 50): Buffer {
  const flows: { packets: TcpPacket[] }[] = [];
  for (let i = 0; i < attempts; i++) {
    const t = T0 + i * 7;
    const kind = i % 3;
    const client = kind === 0 ? { ip: GATEWAY, port: 30000 + (i % 30000) } : kind === 1 ? { ip: `172.16.${i % 7}.${1 + (i % clients)}`, port: 40000 + (i % 20000) } : { ip: `192.168.0.${1 + (i % clients)}`, port: 50000 + (i % 10000) };
    const server = kind === 0 ? { ip: DETAILS, port: 9080 } : kind === 1 ? { ip: PRODUCTPAGE, port: 9080 } : { ip: '10.0.0.9', port: 443 + (i % 3) };
    const syn = tcpConversation([], { client, server, startMs: t, close: 'none', isnClient: i })[0]!;
    const packets = [syn];
    if (i % 7 === 0) packets.push({ ...syn, timeNs: syn.timeNs + 1_000_000_000n });
    flows.push({ packets });
    if (i % 10 === 0) {
      const from = i % 20 === 0 ? { ip: GATEWAY, port: 20000 + i } : { ip: REVIEWS, port: 20000 + i };
      const to = i % 20 === 0 ? { ip: PRODUCTPAGE, port: 9080 } : { ip: RATINGS, port: 9080 };
      flows.push({ packets: tcpConversation([{ dir: 'c2s', bytes: enc(`GET /r/${i % 4} HTTP/1.1\r\nHost: x\r\n\r\n`) }, { dir: 's2c', bytes: enc('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') }], { client: from, server: to, startMs: t + 1, close: 'fin' }) });
    }
  }
  return buildCapture(flows);
}

function evidenceDir(capture: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-attempts-'));
  writeFileSync(join(dir, 'mixed.pcap'), capture);
  copyFileSync(join(REPO, 'samples/bookinfo-netpol/inventory.json'), join(dir, 'inventory.json'));
  copyFileSync(join(REPO, 'samples/bookinfo-netpol/networkpolicies.yaml'), join(dir, 'networkpolicies.yaml'));
  return [join(dir, 'mixed.pcap'), join(dir, 'inventory.json'), join(dir, 'networkpolicies.yaml')];
}

async function report(paths: string[], limits: AttemptLimits) {
  const ev = await gatherEvidence(paths, { attemptLimits: limits });
  const model = buildReportModel(ev, { skewMs: 2000, showSecrets: false, generatedAt: '2026-12-01T00:00:00.000Z' });
  return { ev, model };
}

const UNSUMMARISED: AttemptLimits = { ...ATTEMPT_LIMITS, threshold: Number.MAX_SAFE_INTEGER };

describe('connection attempts nobody answered', () => {
  it('are S0 flows with nothing from the server; answered or carrying data they are not', () => {
    const syn = tcpConversation([], { client: { ip: '10.1.0.1', port: 1000 }, server: { ip: '10.1.0.2', port: 80 }, startMs: T0, close: 'none' });
    const base = { id: 'x', file: 'f', client: { ip: '10.1.0.1', port: 1000 }, server: { ip: '10.1.0.2', port: 80 }, start: '', end: '', startMs: 0, endMs: 0, packets: syn.length, bytes: { clientToServer: 0, serverToClient: 0 }, frames: [1], security: 'unknown' as const, evidence: [], tls: null, protocol: 'unknown', http: [], tunnel: null, sidecarLocal: false, notes: [], connState: 'S0' };
    expect(isUnansweredAttempt(base)).toBe(true);
    expect(isUnansweredAttempt({ ...base, connState: 'REJ' })).toBe(false);
    expect(isUnansweredAttempt({ ...base, connState: 'S1' })).toBe(false);
    expect(isUnansweredAttempt({ ...base, bytes: { clientToServer: 10, serverToClient: 0 } })).toBe(false);
    expect(isUnansweredAttempt({ ...base, client: { ip: '127.0.0.1', port: 1000 } })).toBe(false);
    expect(isUnansweredAttempt({ ...base, sidecarLocal: true })).toBe(false);
  });

  it('summarised past the threshold, give the report every flow gives: counts, graph, findings, timeline, listing (3,000 attempts among 300 answered connections)', async () => {
    const paths = evidenceDir(mixedCapture(3000));
    const all = await report(paths, UNSUMMARISED);
    const sum = await report(paths, { ...ATTEMPT_LIMITS, threshold: 0 });
    // the summarised path was taken: the attempts are groups, not flows
    expect(all.ev.attempts).toBeUndefined();
    expect(sum.ev.attempts?.total).toBe(3000);
    expect(sum.ev.flows.length).toBe(all.ev.flows.length - 3000);
    // and the case is the one it is meant for: NetworkPolicy denials of unanswered attempts, aggregated listings
    expect(all.model.findings.filter((f) => f.id === 'network-policy-explains-unanswered').length).toBeGreaterThan(1);
    expect(all.model.summary.aggregated).toBeDefined();
    expect(all.model.summary.flows.total).toBe(3300);
    expect(JSON.stringify(sum.model, null, 1)).toBe(JSON.stringify(all.model, null, 1));
  }, 120_000);

  it('fold client addresses past maxKeys into "other addresses" with every count exact', async () => {
    const paths = evidenceDir(mixedCapture(2400, 200));
    const all = await report(paths, UNSUMMARISED);
    const sum = await report(paths, { ...ATTEMPT_LIMITS, threshold: 0, maxKeys: 20 });
    expect(sum.ev.attempts!.groups.some((g) => g.fold === 'port')).toBe(true);
    expect(sum.ev.attempts!.groups.length).toBeLessThanOrEqual(40);
    const a = all.model.summary;
    const s = sum.model.summary;
    expect(s.flows).toEqual(a.flows);
    expect(s.timelineEvents).toBe(a.timelineEvents);
    expect(s.aggregated?.flows.total).toBe(a.aggregated?.flows.total);
    expect(s.aggregated?.timeline.total).toBe(a.aggregated?.timeline.total);
    // every connection is on an edge, by security
    const onEdges = (m: typeof all.model): number => m.graph.edges.reduce((n, e) => n + e.flows.mtls + e.flows.tls + e.flows.plaintext + e.flows.unknown, 0);
    expect(onEdges(sum.model)).toBe(onEdges(all.model));
    // the NetworkPolicy findings count every attempt
    const denied = (m: typeof all.model): number => m.findings.filter((f) => f.id === 'network-policy-explains-unanswered').reduce((n, f) => n + Number(f.details!.flows), 0);
    expect(denied(sum.model)).toBe(denied(all.model));
    expect(sum.model.manifest.timeRange).toEqual(all.model.manifest.timeRange);
    // the fold is said, with how many attempts it took
    const folded = sum.ev.attempts!.groups.reduce((n, g) => n + (g.fold === 'address' ? 0 : g.count), 0);
    expect(folded).toBeGreaterThan(0);
    expect(sum.model.diagnostics.filter((d) => d.message.startsWith(`${folded} unanswered connection attempt(s) from client addresses past the first 20 groups were folded`))).toHaveLength(1);
    expect(all.model.diagnostics.some((d) => /were folded/.test(d.message))).toBe(false);
  }, 120_000);
});
