import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { detectContent } from '../../src/readers/detect.js';

const NP = 'test/fixtures/netpol/bookinfo-authz-ratings-deny.yaml';

describe('report: observed flows against the network policy layers', () => {
  it('a connection seen although NetworkPolicy denies it is a finding naming the policy', async () => {
    const r = await runCli(['report', 'samples/bookinfo-authz', NP, '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { findings: { id: string; severity: string; summary: string; evidence: { file: string; frames?: number[]; frame?: number }[]; details: Record<string, unknown> }[] };
    const f = j.findings.find((x) => x.id === 'network-policy-not-enforced');
    expect(f).toBeDefined();
    expect(f!.severity).toBe('high');
    expect(f!.details).toMatchObject({ layer: 'networkpolicy', decidedBy: 'NetworkPolicy default/ratings-deny-all (ingress)', destination: 'default/ratings:9080' });
    expect(f!.evidence[0]!.file).toContain('ratings-v1-85c74b6cb4-8nl5t.default.pcap');
    expect(f!.evidence[0]!.frame).toBeGreaterThan(0);
    // Each flow carries every layer's verdict; Istio's from the manifests, beside the network layer.
    const toRatings = (j as unknown as { flows: { server: { port: number }; networkLayers?: { destination: string; deniedBy: string; layers: { layer: string }[] } }[] }).flows.filter((x) => x.networkLayers?.destination.startsWith('default/ratings'));
    expect(toRatings.length).toBeGreaterThan(0);
    expect(toRatings[0]!.networkLayers!.deniedBy).toBe('networkpolicy');
    expect(toRatings[0]!.networkLayers!.layers.map((l) => l.layer)).toEqual(['networkpolicy', 'adminnetworkpolicy', 'calico', 'istio-peerauthentication', 'istio-authorization']);
  });
  it('without a node-level policy the report adds no per-flow layers (Istio is read from the dumps in force)', async () => {
    const r = await runCli(['report', 'samples/tcp-echo', '-o', 'json']);
    const j = JSON.parse(r.stdout) as { flows: { networkLayers?: unknown }[] };
    expect(j.flows.every((f) => f.networkLayers === undefined)).toBe(true);
  });
  it('NetworkPolicy and Calico manifests are detected by content', () => {
    expect(detectContent(Buffer.from('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {}}\n'), true).kind).toBe('network-policy');
    expect(detectContent(Buffer.from('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\nspec: {selector: all()}\n'), true).kind).toBe('network-policy');
  });
});
