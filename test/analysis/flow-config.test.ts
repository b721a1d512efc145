import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { Flow } from '../../src/model/records.js';

const CAP = 'samples/bookinfo-authz/captures/ratings-v1-85c74b6cb4-8nl5t.default.pcap';
const INV = 'samples/bookinfo-authz/inventory.json';
const NP = 'test/fixtures/netpol/bookinfo-authz-ratings-deny.yaml';

describe('flows --config with Kubernetes objects: every policy layer per flow', () => {
  it('names the NetworkPolicy that denies each flow to ratings, and leaves sidecar-local legs alone', async () => {
    const r = await runCli(['flows', CAP, '--config', INV, '--config', NP, '-o', 'json']);
    expect(r.code).toBe(0);
    const flows = (JSON.parse(r.stdout) as { flows: Flow[] }).flows;
    const wire = flows.filter((f) => !f.sidecarLocal);
    expect(wire.length).toBe(3);
    for (const f of wire) {
      expect(f.networkLayers).toMatchObject({ destination: expect.stringMatching(/^default\/ratings/), verdict: 'deny', deniedBy: 'networkpolicy' });
      const np = f.networkLayers!.layers.find((l) => l.layer === 'networkpolicy')!;
      expect(np.decidedBy).toBe('NetworkPolicy default/ratings-deny-all (ingress)');
      // TLS 1.3 hides the client certificate: the source pod's own identity is assumed, and said so.
      expect(f.networkLayers!.identity).toBe('spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
      expect(f.networkLayers!.notes?.join(' ')).toMatch(/own identity is assumed/);
    }
    for (const f of flows.filter((x) => x.sidecarLocal)) expect(f.networkLayers).toBeUndefined();
  });

  it('the table gets a POLICY LAYERS column, and --fail-on policy-deny exits 1', async () => {
    const r = await runCli(['flows', CAP, '--config', INV, '--config', NP, '--fail-on', 'policy-deny']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/POLICY LAYERS/);
    expect(r.stdout).toMatch(/deny networkpolicy: NetworkPolicy default\/ratings-deny-all \(ingress\)/);
    const ok = await runCli(['flows', CAP, '--config', INV, '--fail-on', 'policy-deny']);
    expect(ok.code).toBe(2);
    expect(ok.stderr).toMatch(/--fail-on policy-deny needs --config with Kubernetes objects/);
  });

  it('a named --config file of another kind is an error naming it (exit 2); in a directory it is counted', async () => {
    const bad = await runCli(['flows', CAP, '--config', INV, '--config', NP, '--config', CAP, '-o', 'json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${CAP}, offset 0: --config: expected an Envoy config dump or Kubernetes/Calico/Istio objects, found a capture`);
    expect((JSON.parse(bad.stdout) as { flows: Flow[] }).flows.some((f) => f.networkLayers?.verdict === 'deny')).toBe(true);
    const dir = await runCli(['flows', CAP, '--config', 'samples/bookinfo-authz', '--config', NP, '-o', 'json']);
    expect(dir.code).toBe(0);
    expect(dir.stderr).toMatch(/--config: \d+ file\(s\) in the directories not used \(.*4 capture.*\)/);
  });
});
