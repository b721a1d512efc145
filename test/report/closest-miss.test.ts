/**
 * The closest miss reaches the report: on the details-path sample every `rbac-denied` finding names the
 * policy that came closest and its failing conditions, in the table, JSON, HTML and SARIF alike; the
 * deny-all policy (Istio's `not any`) is never offered as a closest miss; an attribute the access log does
 * not carry reads "unknown (not logged)", never "none". `check` (README walk-through 1) shares the ranking.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';

const SAMPLE = 'samples/details-path';
const DUMP = `${SAMPLE}/config_dumps/details-v1-5f4d584748-vn4cx.default.json`;

interface Miss { policy: string; failedConditions: number; failing: { condition: string; attribute: string | null; actual: unknown; result: string }[] }
interface Finding { id: string; summary: string; details: { closestMiss?: Miss | null; neverMatchingPolicies?: string[]; principal?: unknown; examples?: string[] } }

describe.skipIf(!existsSync(join(REPO, SAMPLE)))('the closest miss reaches the report (needs samples/details-path)', () => {
  it('rbac-denied findings carry the policy and failing conditions in JSON, table, HTML and SARIF', async () => {
    const out = mkdtempSync(join(tmpdir(), 'meshsleuth-miss-'));
    for (const ext of ['json', 'sarif', 'html']) {
      const r = await runCli(['report', SAMPLE, '--out', join(out, `r.${ext}`)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const m = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8')) as { findings: Finding[] };
    const denied = m.findings.filter((f) => f.id === 'rbac-denied');
    const byExample = (e: string): Finding => denied.find((f) => f.details.examples?.includes(e) && f.summary.startsWith('default/productpage'))!;
    // one finding per failing condition: POST → :method, GET /ping → path
    const post = byExample('POST /details/0').details.closestMiss!;
    expect(post.policy).toBe('ns[default]-policy[details-viewer]-rule[0]');
    expect(post.failing.find((c) => c.result === 'failed')!.condition).toBe(':method: "POST" — needs exact "GET"');
    const ping = byExample('GET /ping').details.closestMiss!;
    expect(ping.failing.find((c) => c.result === 'failed')!.condition).toBe('path: "/ping" — needs prefix "/details/"');
    // the log has no peer identity: unknown, not none
    const unknown = ping.failing.find((c) => c.result === 'unknown')!;
    expect(unknown.actual).toBe('unknown (not logged)');
    expect(unknown.condition).not.toMatch(/\bnone\b/);
    expect(byExample('POST /details/0').details.principal).toBe('unknown (not logged)');
    // while only deny-all was in force there is no closest miss, and it says so
    const early = byExample('GET /details/0');
    expect(early.details.closestMiss).toBeNull();
    expect(early.details.neverMatchingPolicies).toEqual(['ns[default]-policy[deny-all]-rule[0]']);
    for (const f of denied) expect(JSON.stringify(f.details.closestMiss ?? {})).not.toContain('deny-all');

    const table = (await runCli(['report', SAMPLE])).stdout;
    expect(table).toContain('closest miss ns[default]-policy[details-viewer]-rule[0] (1 failing: path: "/ping" — needs prefix "/details/"');
    expect(table).toContain('no closest miss: every ALLOW policy in force can never match (ns[default]-policy[deny-all]-rule[0])');
    const html = readFileSync(join(out, 'r.html'), 'utf8');
    expect(html).toContain('<b>Closest miss:</b> <code>ns[default]-policy[details-viewer]-rule[0]</code>');
    expect(html).toContain('path: &quot;/ping&quot; — needs prefix &quot;/details/&quot;');
    const sarif = JSON.parse(readFileSync(join(out, 'r.sarif'), 'utf8')) as { runs: { results: { ruleId: string; message: { text: string }; properties: { details: Finding['details'] } }[] }[] };
    const sr = sarif.runs[0]!.results.filter((x) => x.ruleId === 'rbac-denied');
    expect(sr.some((x) => x.message.text.includes(':method: "POST" — needs exact "GET"'))).toBe(true);
    expect(sr.some((x) => x.properties.details.closestMiss?.policy === 'ns[default]-policy[details-viewer]-rule[0]')).toBe(true);
  });

  it('check (README walk-through 1) never offers deny-all as a closest miss', async () => {
    const r = await runCli(['check', DUMP, '--from', 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage', '--port', '9080', '--method', 'GET', '--path', '/ping']);
    expect(r.stdout).toContain('closest miss:');
    expect(r.stdout).toContain('ns[default]-policy[details-viewer]-rule[0] (1 failing)');
    expect(r.stdout).not.toContain('deny-all');
  });
});
