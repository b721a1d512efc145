import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inputsFromYaml } from './helpers.js';
import { analyzeConnectivity } from '../../src/analysis/reach.js';
import { mapJson, renderMapDot, renderMapText } from '../../src/report/reach.js';
import { ConnSet } from '../../src/netpol/connset.js';

const FIX = fileURLToPath(new URL('../fixtures/netpol/', import.meta.url));

describe('connectivity map agrees with np-guard/netpol-analyzer', () => {
  it('onlineboutique_workloads: every pair of the analyzer’s connlist output, and nothing else', () => {
    const inputs = inputsFromYaml(readFileSync(`${FIX}onlineboutique/manifests.yaml`, 'utf8'));
    expect(renderMapText(analyzeConnectivity(inputs))).toBe(readFileSync(`${FIX}onlineboutique/expected_connlist.txt`, 'utf8'));
  });

  // ipblockstest shape: ingress ipBlocks cut the source address space into the analyzer's ranges.
  it('ipBlock cidr/except boundaries become the external ranges np-guard prints (ipblockstest)', () => {
    const inputs = inputsFromYaml(`apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: calico-node-tier, namespace: kube-system}
  spec: {template: {metadata: {labels: {k8s-app: calico-node, tier: frontend}}, spec: {containers: [{name: c}]}}}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: calico-node, namespace: kube-system}
  spec: {template: {metadata: {labels: {k8s-app: calico-node}}, spec: {containers: [{name: c}]}}}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: frontend-dns-from-outside, namespace: kube-system}
  spec:
    podSelector: {matchLabels: {tier: frontend}}
    ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.21.0.0/16, 172.30.0.0/16]}}]
      ports: [{port: 53, protocol: UDP}]
`);
    const lines = renderMapText(analyzeConnectivity(inputs)).split('\n').filter((l) => l.includes('calico-node-tier[DaemonSet]') && l.includes('[External] =>'));
    // The analyzer's own lines for kube-system/calico-node-tier in test_outputs/connlist/ipblockstest_connlist_output.txt.
    expect(lines).toEqual([
      '0.0.0.0-9.255.255.255[External] => kube-system/calico-node-tier[DaemonSet] : UDP 53',
      '11.0.0.0-172.20.255.255[External] => kube-system/calico-node-tier[DaemonSet] : UDP 53',
      '172.22.0.0-172.29.255.255[External] => kube-system/calico-node-tier[DaemonSet] : UDP 53',
      '172.31.0.0-255.255.255.255[External] => kube-system/calico-node-tier[DaemonSet] : UDP 53',
    ]);
    const all = renderMapText(analyzeConnectivity(inputs));
    expect(all).toContain('10.0.0.0-10.255.255.255[External] => kube-system/calico-node[DaemonSet] : All Connections');
    expect(all).toContain('kube-system/calico-node-tier[DaemonSet] => 0.0.0.0-255.255.255.255[External] : All Connections');
    expect(all).not.toContain('kube-system/calico-node[DaemonSet] => kube-system/calico-node-tier');
  });

  it('with_end_port_example: TCP, UDP and SCTP over 1-65535 is All Connections', () => {
    const inputs = inputsFromYaml(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: cog-agents-d54st, namespace: default, labels: {app: skydive, tier: agent}, ownerReferences: [{kind: DaemonSet, name: cog-agents, controller: true}]}
  spec: {containers: [{ports: []}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: heapster-7df8cb8c66-zxkk2, namespace: kube-system, labels: {k8s-app: heapster}, ownerReferences: [{kind: ReplicaSet, name: heapster-7df8cb8c66, controller: true}]}
  spec: {containers: [{ports: []}]}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: enable-all-protocols-with-all-ports, namespace: kube-system}
  spec:
    podSelector: {}
    policyTypes: [Ingress]
    ingress:
    - ports: [{port: 1, endPort: 65535, protocol: UDP}, {port: 1, endPort: 65535, protocol: TCP}, {port: 1, endPort: 65535, protocol: SCTP}]
`);
    expect(renderMapText(analyzeConnectivity(inputs))).toBe(
      [
        '0.0.0.0-255.255.255.255[External] => default/cog-agents[DaemonSet] : All Connections',
        '0.0.0.0-255.255.255.255[External] => kube-system/heapster-7df8cb8c66[ReplicaSet] : All Connections',
        'default/cog-agents[DaemonSet] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'default/cog-agents[DaemonSet] => kube-system/heapster-7df8cb8c66[ReplicaSet] : All Connections',
        'kube-system/heapster-7df8cb8c66[ReplicaSet] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'kube-system/heapster-7df8cb8c66[ReplicaSet] => default/cog-agents[DaemonSet] : All Connections',
        '',
      ].join('\n'),
    );
  });

  it('JSON pairs and Graphviz dot', () => {
    const m = analyzeConnectivity(inputsFromYaml(readFileSync(`${FIX}onlineboutique/manifests.yaml`, 'utf8')));
    const j = mapJson(m);
    expect(j.pairs).toContainEqual({ src: 'default/loadgenerator', dst: 'default/frontend', srcKind: 'Deployment', dstKind: 'Deployment', connections: 'TCP 8080' });
    expect(j.pairs).toContainEqual({ src: '0.0.0.0-255.255.255.255', dst: 'default/redis-cart', srcKind: 'External', dstKind: 'Deployment', connections: 'All Connections' });
    const dot = renderMapDot(m);
    expect(dot).toMatch(/^digraph \{/);
    expect(dot).toContain('"default/loadgenerator[Deployment]" -> "default/frontend[Deployment]" [label="TCP 8080"');
  });
});

describe('connection-set printing (np-guard vocabulary)', () => {
  it('prints sorted protocol items with port ranges', () => {
    expect(ConnSet.ports('UDP', 53).union(ConnSet.ports('TCP', 80)).toString()).toBe('TCP 80,UDP 53');
    expect(ConnSet.protocol('TCP').subtract(ConnSet.ports('TCP', 80)).toString()).toBe('TCP 1-79,81-65535');
    expect(ConnSet.NONE.toString()).toBe('No Connections');
    expect(ConnSet.ALL.toString()).toBe('All Connections');
  });
});

describe('connectivity map progress (onPairs)', () => {
  it('counts every pair it evaluates, external ranges included, up to an exact total', () => {
    // onlineboutique's ingress ipBlocks give external ranges as sources too
    const inputs = inputsFromYaml(readFileSync(`${FIX}onlineboutique/manifests.yaml`, 'utf8'));
    const heard: [number, number][] = [];
    const m = analyzeConnectivity(inputs, { includeEmpty: true, onPairs: (done, total) => heard.push([done, total]) });
    expect(heard[0]).toEqual([0, m.pairs.length]); // with includeEmpty every evaluated pair is listed
    expect(heard.at(-1)).toEqual([m.pairs.length, m.pairs.length]);
    for (let i = 1; i < heard.length; i++) expect(heard[i]![0]).toBeGreaterThan(heard[i - 1]![0]);
    expect(m.peers.some((p) => p.kind === 'external')).toBe(true);
  });
});
