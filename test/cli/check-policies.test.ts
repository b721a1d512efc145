import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const POLICIES = 'samples/details-path/policies.yaml';
const WORKLOAD = ['--workload', 'default/details-v1-5f4d584748-vn4cx', '--inventory', 'samples/details-path/inventory.json'];
const PRODUCTPAGE = ['--from', 'cluster.local/ns/default/sa/bookinfo-productpage', '--port', '9080'];

describe('check --policies: what-if against manifests instead of a config dump', () => {
  it('allows GET /details/0 from the productpage identity under details-viewer', async () => {
    const r = await runCli(['check', '--policies', POLICIES, ...WORKLOAD, ...PRODUCTPAGE, '--method', 'GET', '--path', '/details/0', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { decision: string; policy: string | null };
    expect(d.decision).toBe('ALLOW');
    expect(d.policy).toBe('ns[default]-policy[details-viewer]-rule[0]');
  });

  it('denies POST /details/0 and names the failing method condition as the closest miss', async () => {
    const r = await runCli(['check', '--policies', POLICIES, ...WORKLOAD, ...PRODUCTPAGE, '--method', 'POST', '--path', '/details/0', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { decision: string; responseCodeDetails: string; closestMiss: { policy: string; failing: { detail: string }[] }[] };
    expect(d.decision).toBe('DENY');
    expect(d.responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
    expect(d.closestMiss[0]!.policy).toBe('ns[default]-policy[details-viewer]-rule[0]');
    expect(d.closestMiss[0]!.failing.map((f) => f.detail).join('\n')).toMatch(/:method.*POST.*GET/);
  });

  it('refuses a config and --policies together, and neither, with exit 2', async () => {
    expect((await runCli(['check', 'x.json', '--policies', POLICIES, ...WORKLOAD])).code).toBe(2);
    const r = await runCli(['check', '--method', 'GET']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--policies/);
  });
});
