import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const YAO = 'test/fixtures/netpol/yaobank';
const OB = 'test/fixtures/netpol/onlineboutique';

describe('meshsleuth reach', () => {
  it('-o json for one connection: verdict, layers with layer/verdict/decidedBy/explanation', async () => {
    const r = await runCli(['reach', YAO, '--from', 'default/attack', '--to', 'default/database:2379', '--identity', 'spiffe://cluster.local/ns/default/sa/summary', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { verdict: string; layers: { layer: string; verdict: string; decidedBy: unknown; explanation: string }[] };
    expect(j.verdict).toBe('deny');
    expect(j.layers.map((l) => l.layer)).toEqual(['networkpolicy', 'adminnetworkpolicy', 'calico', 'istio-peerauthentication', 'istio-authorization']);
    const c = j.layers.find((l) => l.layer === 'calico')!;
    expect(c.verdict).toBe('deny');
    expect(c.decidedBy).toMatchObject({ kind: 'Tier', name: 'default' });
    expect(typeof c.explanation).toBe('string');
  });
  it('the connectivity map in np-guard’s text form, JSON and dot', async () => {
    const t = await runCli(['reach', OB]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('default/frontend[Deployment] => default/adservice[Deployment] : TCP 9555\n');
    const j = await runCli(['reach', OB, '-o', 'json']);
    expect((JSON.parse(j.stdout) as { pairs: unknown[] }).pairs).toHaveLength(17);
    const d = await runCli(['reach', OB, '-o', 'dot']);
    expect(d.stdout.startsWith('digraph {')).toBe(true);
  });
  it('usage errors exit 2 with one line', async () => {
    const r = await runCli(['reach', OB, '--from', 'default/frontend']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give both --from and --to');
    const bad = await runCli(['reach', OB, '--from', 'default/frontend', '--to', 'default/nope:80']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to default/nope: no pod or workload');
    const port = await runCli(['reach', OB, '--from', 'default/frontend', '--to', 'default/adservice']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--to: expected <namespace>/<pod>:<port>');
  });
});
