/**
 * samples/ambient-bookinfo: each decision is reproduced with the policy and the condition that made it — from the
 * ztunnel logs replayed through the ztunnel config dump, from the waypoint dump with the caller identity the client
 * ztunnel logged (and the HBONE flow the capture shows), and `report` names the ALLOW-with-HTTP-fields trap.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { SAMPLES } from './helpers.js';
import { sampleReportModel } from '../helpers/sample-report.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel } from '../../src/analysis/report-model.js';
import { correlate } from '../../src/analysis/correlate.js';

const S = join(SAMPLES, 'ambient-bookinfo');
const ZT1 = join(S, 'config_dumps/ztunnel-4xk2p.istio-system.ztunnel.json');
const WP = join(S, 'config_dumps/waypoint-6f9c8d7b5-k2x4n.bookinfo.json');
const ZT2 = join(S, 'config_dumps/ztunnel-q8n7d.istio-system.ztunnel.json');
const LOGS = ['logs/ztunnel-4xk2p.istio-system.ztunnel.log', 'logs/ztunnel-q8n7d.istio-system.ztunnel.log'].map((f) => join(S, f));
const WP_LOG = join(S, 'logs/waypoint-6f9c8d7b5-k2x4n.bookinfo.istio-proxy.log');
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

interface ExplainJson {
  records: Array<{ ref: string; verdict: string; logged: { outcome: string | null }; decision: { decision: string; policy: string | null; reasons: string[] } | null; reason: string; identityEvidence: string[] }>;
}

describe('ambient-bookinfo sample', () => {
  it('ztunnel logs + config: the L4 deny and the deny-all from the dropped ALLOW rule, each with its policy', async () => {
    const r = await runCli(['explain', ZT1, ...LOGS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as ExplainJson;
    const denied = doc.records.filter((x) => x.decision?.decision === 'DENY');
    expect(denied.map((x) => [x.verdict, x.decision!.policy])).toEqual(
      expect.arrayContaining([
        ['agrees', 'bookinfo/ratings-deny-other-namespaces'],
        ['agrees', null],
      ]),
    );
    expect(denied.find((x) => x.decision!.policy === null)!.reason).toContain('bookinfo/details-get-only has no rules: it matches nothing');
    expect(doc.records.filter((x) => x.verdict === 'disagrees')).toEqual([]);
  });

  it('the waypoint decides the L7 deny with the caller identity from the HBONE peer (client ztunnel log)', async () => {
    const base = ['check', WP, '--source-ip', '10.244.1.15', '--dest-ip', '10.96.20.20', '--port', '9080', '--method', 'GET', '--path', '/reviews/0', '-o', 'json'];
    const sleep = JSON.parse((await runCli([...base, '--from', 'spiffe://cluster.local/ns/default/sa/sleep'])).stdout) as { decision: string; responseCodeDetails: string; closestMiss: Array<{ policy: string; summary: string }> };
    expect(sleep).toMatchObject({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    expect(sleep.closestMiss[0]!.policy).toBe('ns[bookinfo]-policy[reviews-get-from-productpage]-rule[0]');
    const pp = JSON.parse((await runCli([...base, '--from', 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage'])).stdout) as { decision: string; policy: string };
    expect(pp).toMatchObject({ decision: 'ALLOW', policy: 'ns[bookinfo]-policy[reviews-get-from-productpage]-rule[0]' });
  });

  it('the waypoint log alone: the allowed and denied requests are undecidable (no identity), never a disagreement', async () => {
    const r = await runCli(['explain', WP, join(S, 'logs/waypoint-6f9c8d7b5-k2x4n.bookinfo.istio-proxy.log'), '-o', 'json']);
    const doc = JSON.parse(r.stdout) as ExplainJson;
    expect(doc.records.map((x) => x.verdict)).toEqual(['undecidable', 'agrees', 'undecidable']);
    expect(doc.records[2]!.reason).toContain("the caller's identity: the client ztunnel's outbound record to this waypoint, src.identity");
  });

  it('the node capture shows HBONE only (TLS 1.3 to 15008, ALPN h2, no SNI), and report names the trap without plaintext false alarms', async () => {
    const f = JSON.parse((await runCli(['flows', join(S, 'captures/kind-worker.node.pcap'), '-o', 'json'])).stdout) as { flows: Array<{ server: { port: number }; security: string; evidence: string[]; tls: { sni: string | null; alpn: string[] | string | null } | null }> } | Array<{ server: { port: number }; security: string; evidence: string[] }>;
    const list = Array.isArray(f) ? f : f.flows;
    expect(list.length).toBe(5);
    for (const x of list) {
      expect(x.server.port).toBe(15008);
      expect(x.evidence).toContain('istio-hbone');
    }
    const table = (await runCli(['flows', join(S, 'captures/kind-worker.node.pcap')])).stdout;
    expect(table).toContain('mtls**');
    expect(table).toContain('** istio-hbone: ambient HBONE (TLS 1.3 to port 15008, ALPN exactly h2, no SNI)');
    expect(table).toContain('the identities are only in the ztunnel log');
    expect(table).not.toContain('Istio ClientHello');
    const rep = await runCli(['report', S]);
    expect(rep.stdout).toContain('ambient-allow-http-fields');
    expect(rep.stdout).toMatch(/bookinfo\/details-get-only uses HTTP fields \(methods\)/);
    expect(rep.stdout).toContain('explicitly denied by: bookinfo/ratings-deny-other-namespaces');
    expect(rep.stdout).not.toMatch(/plaintext-(flow|accepted)/);
  });

  it('from logs alone (both ztunnel dumps, the waypoint dump, all three logs): every decision with its policy and condition, the waypoint caller from the client ztunnel record', async () => {
    const r = await runCli(['explain', ZT1, ZT2, WP, ...LOGS, WP_LOG, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as ExplainJson;
    const at = (ref: string) => doc.records.find((x) => x.ref.endsWith(ref))!;
    // L4 deny (ztunnel on kind-worker2): the DENY policy and the condition (source namespace not bookinfo)
    expect(at('ztunnel-q8n7d.istio-system.ztunnel.log:3')).toMatchObject({ verdict: 'agrees', decision: { decision: 'DENY', policy: 'bookinfo/ratings-deny-other-namespaces' } });
    // the ALLOW with HTTP fields: ztunnel's deny-all, the rule-less policy named
    const trap = at('ztunnel-4xk2p.istio-system.ztunnel.log:3');
    expect(trap).toMatchObject({ verdict: 'agrees', decision: { decision: 'DENY', policy: null } });
    expect(trap.reason).toContain('bookinfo/details-get-only has no rules: it matches nothing');
    // L7 deny at the waypoint: the caller from the ztunnel record (file:line), the failing principal condition
    const l7 = at('waypoint-6f9c8d7b5-k2x4n.bookinfo.istio-proxy.log:3');
    expect(l7).toMatchObject({ verdict: 'agrees', decision: { decision: 'DENY', policy: null } });
    expect(l7.reason).toContain(`"${SLEEP}" — needs exact "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage"`);
    expect(l7.reason).toContain(`caller ${SLEEP} (io.istio.peer_principal) from the client ztunnel's outbound record ${join(S, 'logs/ztunnel-4xk2p.istio-system.ztunnel.log')}:5`);
    expect(l7.identityEvidence).toContain(`src.identity ${SLEEP} in the client ztunnel's record ${join(S, 'logs/ztunnel-4xk2p.istio-system.ztunnel.log')}:5`);
    // the allowed request at the waypoint: its ALLOW policy, with productpage as the caller
    expect(at('waypoint-6f9c8d7b5-k2x4n.bookinfo.istio-proxy.log:1')).toMatchObject({ verdict: 'agrees', decision: { decision: 'ALLOW', policy: 'ns[bookinfo]-policy[reviews-get-from-productpage]-rule[0]' } });
    expect(doc.records.filter((x) => x.verdict === 'disagrees')).toEqual([]);
    // worker threads (the logs split into chunks) get the same callers and decide the same
    const threaded = await runCli(['explain', ZT1, ZT2, WP, ...LOGS, WP_LOG, '-o', 'json', '--threads', '2'], { env: { MESHSLEUTH_CHUNK_BYTES: '256' } });
    expect(threaded.code, threaded.stderr).toBe(0);
    expect((JSON.parse(threaded.stdout) as ExplainJson).records.map((x) => [x.ref, x.verdict, x.reason])).toEqual(doc.records.map((x) => [x.ref, x.verdict, x.reason]));
    // what stays undecidable is only what no engine decides: outbound ztunnel records and the CONNECT refused with 401
    expect(doc.records.filter((x) => x.verdict === 'undecidable').map((x) => x.ref.replace(/.*\//, ''))).toEqual([
      'ztunnel-4xk2p.istio-system.ztunnel.log:2', 'ztunnel-4xk2p.istio-system.ztunnel.log:4', 'ztunnel-4xk2p.istio-system.ztunnel.log:5', 'ztunnel-4xk2p.istio-system.ztunnel.log:6',
    ]);
  });

  it('from config + capture: the HBONE flow of the L7 deny is joined to the ztunnel record that names the caller, and report decides the waypoint deny with it', async () => {
    const ev = await gatherEvidence([S]);
    const flow = ev.flows.find((f) => f.client.ip === '10.244.1.15' && f.client.port === 39456)!;
    expect(flow.server).toEqual({ ip: '10.244.2.30', port: 15008 });
    expect(flow.notes.join('\n')).toMatch(new RegExp(`ztunnel-4xk2p\\.istio-system\\.ztunnel\\.log:5 outbound ${SLEEP.replace(/[/.]/g, '\\$&')} → spiffe://cluster\\.local/ns/bookinfo/sa/waypoint \\(10\\.96\\.20\\.20:9080\\)`));
    // config + capture without any log: the ztunnel config decides the tunnels to workloads, the caller being the
    // config's workload for the client IP; the tunnels to the waypoint say why they are not replayable
    const note = (port: number) => ev.flows.find((f) => f.client.port === port)!.notes.find((n) => n.startsWith('ztunnel config: '))!;
    expect(note(39470)).toContain('decides DENY: explicitly denied by: bookinfo/ratings-deny-other-namespaces (source.namespace: "default" — matches none of [exact "bookinfo"]) for default/sleep-5b8d7f6c4-jw9zt → bookinfo/ratings-v1-8f6d5c7b9-h3n6v — caller spiffe://cluster.local/ns/default/sa/sleep');
    expect(note(52230)).toContain('decides DENY: allow policies exist, but none allowed (closest: bookinfo/details-get-only: 1 failing condition — bookinfo/details-get-only has no rules: it matches nothing) for bookinfo/waypoint-6f9c8d7b5-k2x4n → bookinfo/details-v1-6b9d7c5f8-r7p2q — caller spiffe://cluster.local/ns/bookinfo/sa/waypoint');
    expect(note(39456)).toContain('HBONE to a waypoint (10.244.2.30): the target service and the request are inside the encrypted tunnel');
    const model = await sampleReportModel('ambient-bookinfo');
    const denied = model.findings.find((f) => f.id === 'rbac-denied')!;
    expect(denied.summary).toContain(`(src.identity ${SLEEP} in the client ztunnel's record`);
    expect(denied.summary).toContain(`"${SLEEP}" — needs exact "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage"`);
    expect(denied.summary).not.toContain('not decidable');
    // every replayed record is decided; the trap is named
    expect(ev.explanations.filter((e) => e.verdict !== 'agrees').map((e) => `${e.record.ref.file}:${e.record.ref.line}`)).toEqual([]);
    expect(model.findings.some((f) => f.id === 'ambient-allow-http-fields')).toBe(true);
  });

  it('report counts 9 requests in 10 records: the client ztunnel\'s outbound record and the destination ztunnel\'s inbound record of the denied tunnel to ratings are one event (client pod IP, dst.hbone_addr, time — not the port, which differs)', async () => {
    const model = await sampleReportModel('ambient-bookinfo');
    expect(model.summary.records).toMatchObject({ total: 10, requests: 9 });
    const ev = await gatherEvidence([S]);
    const c = correlate(ev.flows, ev.records, ev.explanations, ev.proxies, ev.inventory, { skewMs: 2000 });
    const merged = c.events.filter((e) => e.records.length > 1).map((e) => e.records.map((r) => `${r.ref.file.replace(/.*\//, '')}:${r.ref.line}`).sort());
    expect(merged).toEqual([['ztunnel-4xk2p.istio-system.ztunnel.log:6', 'ztunnel-q8n7d.istio-system.ztunnel.log:3']]);
  });

  it('config + capture alone (no log): report names the trap from the dump and decides the tunnels to workloads', async () => {
    const ev = await gatherEvidence([join(S, 'config_dumps'), join(S, 'captures')]);
    expect(ev.records).toEqual([]);
    const model = buildReportModel(ev, { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00Z' });
    const trap = model.findings.find((f) => f.id === 'ambient-allow-http-fields')!;
    expect(trap.summary).toContain('bookinfo/details-get-only has no rules');
    const notes = ev.flows.flatMap((f) => f.notes.filter((n) => n.startsWith('ztunnel config: ') && n.includes(' decides ')));
    expect(notes.map((n) => n.replace(/.* decides (DENY: [^(]*?)( \(|$).*/, '$1'))).toEqual([
      'DENY: allow policies exist, but none allowed',
      'DENY: explicitly denied by: bookinfo/ratings-deny-other-namespaces',
    ]);
  });
});

