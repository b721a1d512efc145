/**
 * samples/ambient-bookinfo: each decision is reproduced with the policy and the condition that made it — from the
 * ztunnel logs replayed through the ztunnel config dump, from the waypoint dump with the caller identity the client
 * ztunnel logged (and the HBONE flow the capture shows), and `report` names the ALLOW-with-HTTP-fields trap.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { SAMPLES } from './helpers.js';

const S = join(SAMPLES, 'ambient-bookinfo');
const ZT1 = join(S, 'config_dumps/ztunnel-4xk2p.istio-system.ztunnel.json');
const WP = join(S, 'config_dumps/waypoint-6f9c8d7b5-k2x4n.bookinfo.json');
const LOGS = ['logs/ztunnel-4xk2p.istio-system.ztunnel.log', 'logs/ztunnel-q8n7d.istio-system.ztunnel.log'].map((f) => join(S, f));

interface ExplainJson {
  records: Array<{ verdict: string; logged: { outcome: string | null }; decision: { decision: string; policy: string | null; reasons: string[] } | null; reason: string }>;
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
  });

  it('the node capture shows HBONE only (TLS 1.3 to 15008, ALPN h2, no SNI), and report names the trap without plaintext false alarms', async () => {
    const f = JSON.parse((await runCli(['flows', join(S, 'captures/kind-worker.node.pcap'), '-o', 'json'])).stdout) as { flows: Array<{ server: { port: number }; security: string; evidence: string[]; tls: { sni: string | null; alpn: string[] | string | null } | null }> } | Array<{ server: { port: number }; security: string; evidence: string[] }>;
    const list = Array.isArray(f) ? f : f.flows;
    expect(list.length).toBe(5);
    for (const x of list) {
      expect(x.server.port).toBe(15008);
      expect(x.evidence).toContain('istio-hbone');
    }
    const rep = await runCli(['report', S]);
    expect(rep.stdout).toContain('ambient-allow-http-fields');
    expect(rep.stdout).toMatch(/bookinfo\/details-get-only uses HTTP fields \(methods\)/);
    expect(rep.stdout).toContain('explicitly denied by: bookinfo/ratings-deny-other-namespaces');
    expect(rep.stdout).not.toMatch(/plaintext-(flow|accepted)/);
  });
});
