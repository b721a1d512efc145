/**
 * ztunnel's assert_rbac (src/state.rs) over a config dump: policy selection by scope (Namespace of
 * the destination, Global, WorkloadSelector via the workload's authorizationPolicies), DENY before
 * ALLOW, "no ALLOW policies → allow", "allow policies exist, but none allowed", dry-run never
 * enforcing, and the decision / trace / closest-miss shape shared with the Envoy engine.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseZtunnelConfig } from '../../src/readers/configdump/ztunnel.js';
import { decideZtunnel, policiesForWorkload, workloadsForPolicy } from '../../src/ztunnel/state.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const FILE = 'test/fixtures/ztunnel/config_dump.json';
const cfg = parseZtunnelConfig(JSON.parse(readFileSync(FILE, 'utf8')), FILE);
const mtls = (id: string, src: string, dst: string, port: number): RequestAttrs => ({
  source: { address: src, port: 41000 },
  destination: { address: dst, port },
  tls: { uriSans: [`spiffe://${id}`], dnsSans: [], subject: '', peerCertificateValidated: true },
});

describe('ztunnel policy selection', () => {
  it('takes Namespace policies of the destination namespace, Global policies, then the workload-attached ones', () => {
    const cart = cfg.workloads.find((w) => w.name.startsWith('cart'))!;
    const sel = policiesForWorkload(cfg, cart).selected.map((s) => `${s.source}:${s.policy.namespace}/${s.policy.name}`);
    expect(sel).toEqual(['namespace:shop/deny-legacy', 'global:istio-system/deny-outside-mesh', 'workload:shop/cart-allow-frontend']);
  });
  it('lists the workloads each policy applies to', () => {
    const byName = (n: string) => cfg.policies.find((p) => p.name === n)!;
    expect(workloadsForPolicy(cfg, byName('cart-allow-frontend')).map((w) => w.name)).toEqual(['cart-v1-5f7d9c8b6d-abcde']);
    expect(workloadsForPolicy(cfg, byName('deny-legacy')).map((w) => w.name).sort()).toEqual(['cart-v1-5f7d9c8b6d-abcde', 'frontend-7c9f6d5b4-xyz12']);
    expect(workloadsForPolicy(cfg, byName('deny-outside-mesh'))).toHaveLength(cfg.workloads.length);
  });
});

describe('decideZtunnel', () => {
  it('allows a connection an ALLOW policy matches, naming the policy', () => {
    const d = decideZtunnel(cfg, mtls('cluster.local/ns/shop/sa/frontend', '10.244.2.21', '10.244.2.20', 8080));
    expect(d).toMatchObject({ decision: 'ALLOW', policy: 'shop/cart-allow-frontend', connectionTerminationDetails: null });
  });
  it('rejects with "allow policies exist, but none allowed" and a closest miss when no ALLOW matches', () => {
    const d = decideZtunnel(cfg, mtls('cluster.local/ns/shop/sa/other', '10.244.2.22', '10.244.2.20', 8080));
    expect(d.decision).toBe('DENY');
    expect(d.policy).toBeNull();
    expect(d.connectionTerminationDetails).toBe('connection closed due to policy rejection: allow policies exist, but none allowed');
    expect(d.closestMiss?.[0]?.policy).toBe('shop/cart-allow-frontend');
    expect(d.closestMiss?.[0]?.failing[0]?.attribute).toBe('source.principal');
  });
  it('a matching DENY wins over a matching ALLOW: "explicitly denied by: ns/name"', () => {
    const d = decideZtunnel(cfg, mtls('cluster.local/ns/legacy/sa/default', '10.244.1.9', '10.244.2.20', 8080));
    expect(d).toMatchObject({ decision: 'DENY', policy: 'shop/deny-legacy', connectionTerminationDetails: 'connection closed due to policy rejection: explicitly denied by: shop/deny-legacy' });
  });
  it('no ALLOW policy for the workload: allow', () => {
    const d = decideZtunnel(cfg, mtls('cluster.local/ns/legacy/sa/default', '10.244.1.9', '10.244.1.9', 80));
    expect(d.decision).toBe('ALLOW');
    expect(d.filters.find((f) => f.action === 'ALLOW' && !f.shadow)?.note).toBe('no ALLOW policies: allow');
  });
  it('an ALLOW policy with no rules makes the workload deny-all; a DENY of only empty matches has no effect', () => {
    const d = decideZtunnel(cfg, mtls('cluster.local/ns/pay/sa/teller', '10.244.2.31', '10.244.2.30', 8443));
    expect(d.decision).toBe('DENY');
    expect(d.connectionTerminationDetails).toMatch(/allow policies exist, but none allowed$/);
    expect(d.filters[0]!.policies.find((p) => p.name === 'pay/deny-get-only')?.matched).toBe(false);
  });
  it('dry-run policies are evaluated apart and never enforce', () => {
    const d = decideZtunnel(cfg, { source: { address: '10.244.1.9', port: 5 }, destination: { address: '10.244.1.9', port: 80 } });
    expect(d.decision).toBe('ALLOW');
    const shadow = d.filters.find((f) => f.shadow && f.action === 'DENY')!;
    expect(shadow).toMatchObject({ result: 'DENY', effectivePolicy: 'istio-system/deny-outside-mesh', enforcing: false });
  });
  it('is UNDECIDABLE for an unknown destination, a service VIP, or a peer identity it cannot read', () => {
    expect(decideZtunnel(cfg, mtls('cluster.local/ns/a/sa/b', '10.0.0.1', '10.9.9.9', 80)).reasons?.[0]).toMatch(/no workload with IP 10\.9\.9\.9/);
    expect(decideZtunnel(cfg, mtls('cluster.local/ns/a/sa/b', '10.0.0.1', '10.96.40.7', 80)).reasons?.[0]).toMatch(/VIP of service shop\/cart/);
    const bad = decideZtunnel(cfg, mtls('example.org/x', '10.0.0.1', '10.244.2.20', 8080));
    expect(bad.decision).toBe('UNDECIDABLE');
    expect(bad.reasons?.[0]).toMatch(/SPIFFE identity/);
    expect(decideZtunnel(cfg, { destination: { address: '10.244.2.20', port: 1 } }).reasons?.[0]).toMatch(/source address/);
  });
});
