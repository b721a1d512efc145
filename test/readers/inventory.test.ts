import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInventory, parseInventory, readInventory, WorkloadIndex, parseSpiffe } from '../../src/readers/inventory.js';
import { normalizeIp } from '../../src/readers/ip-text.js';
import type { Diagnostic } from '../../src/model/errors.js';

const pod = (name: string, ns: string, ip: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: name.split('-')[0] }, ...meta },
  spec: { serviceAccountName: `${name.split('-')[0]}-sa`, containers: [{ name: 'app' }, { name: 'istio-proxy' }], ...extra },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

const LIST = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    pod('details-v1-abc', 'default', '10.0.0.7'),
    pod('sleep-1', 'legacy', '10.0.0.5', { containers: [{ name: 'sleep' }] }),
    pod('node-exporter-x', 'monitoring', '172.18.0.3', { hostNetwork: true, nodeName: 'kind-worker' }),
    pod('fluentd-y', 'logging', '172.18.0.3', { hostNetwork: true, nodeName: 'kind-worker' }),
    { ...pod('old-details-zzz', 'default', '10.0.0.7'), status: { phase: 'Succeeded', podIP: '10.0.0.7' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'details', namespace: 'default' }, spec: { clusterIP: '10.96.0.17', selector: { app: 'details' }, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }] } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'details-sa', namespace: 'default' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ignored', namespace: 'default' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default' } },
  ],
};

describe('Kubernetes inventory', () => {
  it('reads pods, services and service accounts from a kubectl List, skipping other kinds and reporting bad items', () => {
    const diags: Diagnostic[] = [];
    const inv = parseInventory(LIST, 'inv.json', diags);
    expect(inv.pods).toHaveLength(5);
    expect(inv.services).toHaveLength(1);
    expect(inv.serviceAccounts).toHaveLength(1);
    expect(diags).toHaveLength(1);
    expect(diags[0]!.location).toEqual({ file: 'inv.json', path: '$.items[8].metadata.name' });
    expect(inv.pods[0]).toMatchObject({ name: 'details-v1-abc', namespace: 'default', ips: ['10.0.0.7'], serviceAccount: 'details-sa', sidecar: true });
    expect(inv.pods[1]!.sidecar).toBe(false);
  });

  it('maps an IP to its running pod, workload, service account and selecting services', () => {
    const idx = new WorkloadIndex(parseInventory(LIST, 'inv.json'));
    expect(idx.lookup('10.0.0.7')).toMatchObject({ kind: 'pod', id: 'default/details', pod: 'details-v1-abc', serviceAccount: 'details-sa', services: ['details.default'], source: 'inventory' });
    expect(idx.lookup('::ffff:10.0.0.7')?.pod).toBe('details-v1-abc');
    expect(idx.lookup('10.96.0.17')).toMatchObject({ kind: 'service', id: 'svc:default/details' });
    expect(idx.lookup('10.9.9.9')).toBeUndefined();
  });

  it('does not attribute a node IP shared by hostNetwork pods to one of them', () => {
    const idx = new WorkloadIndex(parseInventory(LIST, 'inv.json'));
    const n = idx.lookup('172.18.0.3')!;
    expect(n.kind).toBe('node');
    expect(n.serviceAccount).toBeUndefined();
    expect(n.ambiguous).toEqual(['monitoring/node-exporter-x', 'logging/fluentd-y']);
  });

  it('names workloads like Istio: canonical-name label, app labels, then the owning Deployment', () => {
    const owned = pod('reviews-v3-7d99fd7978-kzp4s', 'default', '10.0.0.9', {}, { labels: {}, ownerReferences: [{ kind: 'ReplicaSet', name: 'reviews-v3-7d99fd7978', controller: true }] });
    const canon = pod('x-1', 'default', '10.0.0.10', {}, { labels: { app: 'x', 'service.istio.io/canonical-name': 'x-canonical' } });
    const inv = parseInventory({ apiVersion: 'v1', kind: 'PodList', items: [owned, canon] }, 'f');
    expect(inv.pods.map((p) => p.workload)).toEqual(['reviews-v3', 'x-canonical']);
  });

  it('reads YAML (several documents) and single objects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-inv-'));
    const f = join(dir, 'inv.yaml');
    writeFileSync(f, 'apiVersion: v1\nkind: Pod\nmetadata: {name: a-1, namespace: ns1}\nspec: {serviceAccountName: a}\nstatus: {podIP: 10.1.1.1}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: ns1}\n');
    const inv = await readInventory(f);
    expect(inv.pods.map((p) => p.ips)).toEqual([['10.1.1.1']]);
    expect(inv.serviceAccounts.map((s) => s.name)).toEqual(['a']);
  });

  it('recognises inventories and nothing else', () => {
    expect(isInventory(LIST)).toBe(true);
    expect(isInventory({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toBe(true);
    expect(isInventory({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'ConfigMap' }] })).toBe(false);
    expect(isInventory({ configs: [] })).toBe(false);
  });

  it('parses Istio SPIFFE ids and normalises addresses', () => {
    expect(parseSpiffe('spiffe://cluster.local/ns/bank/sa/account-summary')).toEqual({ trustDomain: 'cluster.local', namespace: 'bank', serviceAccount: 'account-summary' });
    expect(parseSpiffe('spiffe://cluster.local/other')).toBeNull();
    expect(normalizeIp('[FD00::1]')).toBe('fd00::1');
  });
});
