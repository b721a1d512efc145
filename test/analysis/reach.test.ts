import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inputsFromYaml } from '../netpol/helpers.js';
import { analyzeReach, lintNetworkLayers } from '../../src/analysis/reach.js';

const FIX = fileURLToPath(new URL('../fixtures/netpol/', import.meta.url));
const read = (p: string) => readFileSync(`${FIX}${p}`, 'utf8');
const layer = (r: ReturnType<typeof analyzeReach>, name: string) => r.layers.find((l) => l.layer === name)!;

describe('Bookinfo lockdown with Istio: every layer that can stop a connection', () => {
  const inputs = inputsFromYaml(read('bookinfo-lockdown/cluster.yaml'), read('bookinfo-lockdown/istio.yaml'));
  it('a compromised ingress pod reaches ratings at the network layer; Istio authorization denies it and names the allow-list', () => {
    const r = analyzeReach(inputs, { from: 'istio-system/istio-ingressgateway-abc', to: 'default/ratings-v1-1', port: 9080, protocol: 'TCP', method: 'GET', path: '/ratings/0' });
    expect(layer(r, 'networkpolicy').verdict).toBe('allow');
    expect(layer(r, 'istio-peerauthentication')).toMatchObject({ verdict: 'allow', decidedBy: { kind: 'PeerAuthentication', namespace: 'istio-system', name: 'default' } });
    expect(layer(r, 'istio-authorization')).toMatchObject({ verdict: 'deny', decidedBy: { kind: 'AuthorizationPolicy', namespace: 'default', name: 'ratings-viewer' } });
    expect(layer(r, 'istio-authorization').closestMiss?.summary).toContain('needs authenticated spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
    expect(r.deniedBy).toBe('istio-authorization');
  });
  it('plaintext from outside the mesh is refused by STRICT PeerAuthentication before authorization', () => {
    const r = analyzeReach(inputs, { from: '10.9.9.9', to: 'default/ratings-v1-1', port: 9080, protocol: 'TCP' });
    expect(layer(r, 'istio-peerauthentication').verdict).toBe('deny');
    expect(layer(r, 'istio-authorization').verdict).toBe('not-applicable');
  });
  it('ratings → productpage is dropped by product-page-ingress, with the closest miss', () => {
    const r = analyzeReach(inputs, { from: 'default/ratings-v1-1', to: 'default/productpage-v1-1', port: 9080, protocol: 'TCP' });
    expect(r.deniedBy).toBe('networkpolicy');
    expect(layer(r, 'networkpolicy').decidedBy).toMatchObject({ kind: 'NetworkPolicy', namespace: 'default', name: 'product-page-ingress', direction: 'ingress' });
    expect(layer(r, 'networkpolicy').closestMiss?.failedConditions).toBe(2);
  });
  it('the sidecar does not change the port NetworkPolicy sees', () => {
    const r = analyzeReach(inputs, { from: 'istio-system/istio-ingressgateway-abc', to: 'default/productpage-v1-1', port: 9080, protocol: 'TCP' });
    expect(layer(r, 'networkpolicy').verdict).toBe('allow');
    expect(layer(r, 'networkpolicy').saw?.note).toContain('application port 9080');
  });
  it('lints: ratings is left open in a namespace NetworkPolicy locked down', () => {
    const f = lintNetworkLayers(inputs);
    expect(f).toContainEqual(expect.objectContaining({ id: 'unselected-in-locked-namespace', object: 'namespace default' }));
    expect(f.find((x) => x.id === 'unselected-in-locked-namespace')!.summary).toContain('ratings-v1-1');
  });
});

describe('lints on the YAO Bank policies and on mesh ports', () => {
  it('GlobalNetworkPolicy serviceAccounts.names without a namespaceSelector can be satisfied from any namespace', () => {
    const f = lintNetworkLayers(inputsFromYaml(read('yaobank/cluster.yaml'), read('yaobank/policy.yaml')));
    expect(f.filter((x) => x.id === 'gnp-serviceaccount-any-namespace').map((x) => x.object)).toEqual(['GlobalNetworkPolicy summary ingress[0]', 'GlobalNetworkPolicy database ingress[0]']);
  });
  it('a default-deny in an ambient namespace blocks HBONE 15008 and the probe address; egress isolation blocks istiod', () => {
    const f = lintNetworkLayers(
      inputsFromYaml(`apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: istio-system}}
- {apiVersion: v1, kind: Pod, metadata: {name: istiod-1, namespace: istio-system, labels: {app: istiod}}, spec: {containers: [{name: d}]}, status: {podIP: 10.0.9.9}}
- {apiVersion: v1, kind: Pod, metadata: {name: cart-1, namespace: shop, labels: {app: cart}}, spec: {containers: [{name: c, ports: [{containerPort: 7070}]}]}, status: {podIP: 10.0.1.1}}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: default-deny, namespace: shop}
  spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{podSelector: {}}], ports: [{port: 7070}]}]}
`),
    );
    const s = f.filter((x) => x.id === 'blocks-mesh-port').map((x) => x.summary).join('\n');
    expect(s).toContain('TCP 15008 (HBONE)');
    expect(s).toContain('169.254.7.127');
    expect(s).toContain('TCP 15012 to istiod');
  });
});
