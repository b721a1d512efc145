import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inputsFromYaml } from './helpers.js';
import { analyzeConnectivity, analyzeReach } from '../../src/analysis/reach.js';
import { renderMapText } from '../../src/report/reach.js';

const FIX = fileURLToPath(new URL('../fixtures/netpol/anp-banp-blog-demo/', import.meta.url));
const inputs = () => inputsFromYaml(readFileSync(`${FIX}manifests.yaml`, 'utf8'));
const layer = (r: ReturnType<typeof analyzeReach>, name: string) => r.layers.find((l) => l.layer === name)!;

describe('AdminNetworkPolicy → NetworkPolicy → BaselineAdminNetworkPolicy tiers', () => {
  it('agrees with np-guard/netpol-analyzer on every pair of anp_banp_blog_demo', () => {
    expect(renderMapText(analyzeConnectivity(inputs()))).toBe(readFileSync(`${FIX}expected_connlist.txt`, 'utf8'));
  });
  it('Pass hands monitoring → foo to the NetworkPolicy that allows it', () => {
    const r = analyzeReach(inputs(), { from: 'monitoring/mymonitoring', to: 'foo/myfoo', port: 80, protocol: 'TCP' });
    expect(r.verdict).toBe('allow');
    expect(layer(r, 'networkpolicy').decidedBy).toMatchObject({ kind: 'NetworkPolicy', name: 'allow-monitoring', rule: 0 });
    expect(layer(r, 'adminnetworkpolicy').explanation).toContain('pass-monitoring ingress[0] Pass');
  });
  it('Pass into a namespace no NetworkPolicy isolates falls to the baseline, which denies', () => {
    const r = analyzeReach(inputs(), { from: 'monitoring/mymonitoring', to: 'bar/mybar', port: 80, protocol: 'TCP' });
    expect(r.verdict).toBe('deny');
    expect(r.deniedBy).toBe('adminnetworkpolicy');
    expect(layer(r, 'adminnetworkpolicy').decidedBy).toMatchObject({ kind: 'BaselineAdminNetworkPolicy', name: 'default', rule: 0, direction: 'ingress' });
    expect(layer(r, 'networkpolicy').verdict).toBe('not-applicable');
  });
  it('an ANP Allow overrides what NetworkPolicy would deny', () => {
    const doc = readFileSync(`${FIX}manifests.yaml`, 'utf8') + `- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny-all, namespace: baz}
  spec: {podSelector: {}, policyTypes: [Ingress]}
`;
    const r = analyzeReach(inputsFromYaml(doc), { from: 'monitoring/mymonitoring', to: 'baz/mybaz', port: 80, protocol: 'TCP' });
    expect(r.verdict).toBe('allow');
    expect(layer(r, 'adminnetworkpolicy').decidedBy).toMatchObject({ kind: 'AdminNetworkPolicy', name: 'allow-monitoring' });
    expect(layer(r, 'networkpolicy').verdict).toBe('not-applicable');
    const other = analyzeReach(inputsFromYaml(doc), { from: 'foo/myfoo', to: 'baz/mybaz', port: 80, protocol: 'TCP' });
    expect(other.verdict).toBe('deny');
    expect(other.deniedBy).toBe('networkpolicy');
  });
  it('rejects what the API rejects: a BANP not named default, an ANP priority out of range', () => {
    const bad = inputsFromYaml(`apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: other}
spec: {subject: {namespaces: {}}}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: p}
spec: {priority: 1001, subject: {namespaces: {}}}
`);
    const msgs = bad.diagnostics.map((d) => d.message).join('\n');
    expect(msgs).toContain('must be named "default"');
    expect(msgs).toContain('expected an integer 0-1000');
  });
});
