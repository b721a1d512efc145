/**
 * `policies` on a ztunnel dump: istioctl ztunnel-config policy's columns plus, per policy, the
 * workloads it applies to and what it can do, and per workload its effective stance.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseZtunnelConfig } from '../../src/readers/configdump/ztunnel.js';
import { ztunnelPolicies } from '../../src/analysis/ztunnel-policies.js';
import { runCli } from '../helpers/cli.js';

const FILE = 'test/fixtures/ztunnel/config_dump.json';
const view = ztunnelPolicies(parseZtunnelConfig(JSON.parse(readFileSync(FILE, 'utf8')), FILE));

describe('ztunnel policies view', () => {
  it('lists each policy with its scope, targets and effect', () => {
    const byName = Object.fromEntries(view.policies.map((p) => [p.name, p]));
    expect(byName['cart-allow-frontend']).toMatchObject({ scope: 'WorkloadSelector', appliesTo: ['shop/cart-v1-5f7d9c8b6d-abcde'] });
    expect(byName['ledger-allow-http-only']!.effect).toMatch(/^matches nothing/);
    expect(byName['deny-get-only']!.effect).toMatch(/can never match.*no effect/);
    expect(byName['deny-outside-mesh']!.effect).toMatch(/dry-run/);
  });
  it('gives each workload its effective stance', () => {
    const byW = Object.fromEntries(view.workloads.map((w) => [w.workload, w.effective]));
    expect(byW).toEqual({ 'shop/cart-v1-5f7d9c8b6d-abcde': 'allow-listed', 'shop/frontend-7c9f6d5b4-xyz12': 'deny-listed', 'legacy/batch-6d8f-qq7rt': 'open', 'pay/ledger-0': 'deny-all' });
  });
  it('the CLI prints istioctl\'s columns first', async () => {
    const r = await runCli(['policies', FILE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NAMESPACE\s+POLICY NAME\s+ACTION\s+SCOPE\s+RULES\s+APPLIES TO\s+EFFECT/);
    expect(r.stdout).toMatch(/pay\/ledger-0\s+\/10\.244\.2\.30\s+HBONE\s+-\s+.*deny-all/);
  });
});
