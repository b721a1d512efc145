import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('report --policies: policy manifests compiled for a workload stand in for its config dump', () => {
  it('replays the tcp-echo logs against the DENY-port-9000 stage and hashes the manifest as evidence', async () => {
    const policies = 'samples/tcp-echo/stages/04-deny-port-9000/policies.yaml';
    const r = await runCli([
      'report', 'samples/tcp-echo/logs', 'samples/tcp-echo/inventory.json',
      '--policies', policies, '--workload', 'foo/tcp-echo-7f8c7b8d5-xq2lr', '--inventory', 'samples/tcp-echo/inventory.json',
      '-o', 'json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const model = JSON.parse(r.stdout) as {
      manifest: { inputs: { path: string; sha256: string | null }[] };
      findings: { id: string; summary: string }[];
    };
    expect(model.manifest.inputs.some((i) => i.path === policies && typeof i.sha256 === 'string')).toBe(true);
    // Records logged under earlier stages are replayed against the proposed policy: its DENY rule decides some.
    expect(model.findings.some((f) => f.id === 'verdict-mismatch' && f.summary.includes('ns[foo]-policy[tcp-policy]-rule[0]'))).toBe(true);
  });
});
