/**
 * Ambient findings in `report`: ztunnel policy rejections grouped by destination and reason, the
 * ALLOW-with-HTTP-fields trap (from the manifest through the ambient compiler, and from a ztunnel
 * dump's rule-less ALLOW), HBONE port 15008 blocked, and replay disagreements.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ms-ambient-'));
for (const f of ['config_dump.json', 'ztunnel.log', 'policies.yaml']) copyFileSync(join('test/fixtures/ztunnel', f), join(dir, f));

describe('report on ambient evidence', () => {
  it('detects the kinds, replays ztunnel records and names the ambient findings', async () => {
    const out = join(dir, 'report.json');
    const r = await runCli(['report', dir, '--out', out]);
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { findings: { id: string; severity: string; summary: string }[]; manifest: { inputs: { kind: string }[] } };
    expect(j.manifest.inputs.map((i) => i.kind).sort()).toEqual(['access-log', 'istio-policy', 'ztunnel-config']);
    const ids = j.findings.map((f) => f.id);
    expect(ids).toContain('ambient-allow-http-fields');
    expect(ids).toContain('hbone-blocked');
    expect(ids.filter((x) => x === 'ztunnel-policy-rejected')).toHaveLength(2);
    const trap = j.findings.find((f) => f.id === 'ambient-allow-http-fields' && /ledger-allow-get/.test(f.summary))!;
    expect(trap.severity).toBe('high');
    expect(trap.summary).toMatch(/HTTP fields \(methods\) without a waypoint: ztunnel drops every rule/);
    expect(j.findings.find((f) => f.id === 'verdict-mismatch')?.summary).toMatch(/ztunnel record/);
    // Envoy wording never describes ztunnel records.
    expect(j.findings.some((f) => /rbac_access_denied_matched_policy/.test(f.summary))).toBe(false);
  });
});
