/**
 * `reach` connectivity map for a generated cluster: 2,000 pods (400 workloads of 5 replicas with IPs,
 * 40 namespaces) and 500 NetworkPolicies mixing default-deny, pod/namespace selectors, both-in-one
 * peers, named ports, port ranges and ipBlocks with except. Target (issue 15): all pairs in < 10 s.
 * The map is computed over workloads (np-guard's unit); a second figure evaluates every pod pair.
 */
import { performance } from 'node:perf_hooks';
import type { Cluster, ClusterPod } from '../src/model/cluster.js';
import type { NetworkPolicy } from '../src/netpol/types.js';
import { NetpolEngine } from '../src/netpol/engine.js';
import { connectivityMap } from '../src/netpol/connectivity.js';

function generate(pods: number, policies: number, replicas: number): { cluster: Cluster; policies: NetworkPolicy[] } {
  let seed = 11;
  const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % k);
  const nsCount = 40;
  const namespaces = new Map<string, { name: string; labels: Record<string, string> }>();
  for (let n = 0; n < nsCount; n++) namespaces.set(`ns${n}`, { name: `ns${n}`, labels: { 'kubernetes.io/metadata.name': `ns${n}`, team: `t${n % 8}`, env: n % 3 === 0 ? 'prod' : 'dev' } });
  const list: ClusterPod[] = [];
  for (let i = 0; i < pods; i++) {
    const w = Math.floor(i / replicas);
    const ns = `ns${w % nsCount}`;
    list.push({
      namespace: ns,
      name: `w${w}-${i % replicas}`,
      labels: { app: `app${w}`, tier: ['web', 'api', 'db', 'cache'][w % 4]!, version: `v${w % 3}` },
      ips: [`10.${Math.floor(i / 250)}.${i % 250}.${(w % 200) + 1}`],
      serviceAccount: `sa${w % 50}`,
      hostNetwork: false,
      ports: [{ name: 'http', containerPort: 8000 + (w % 50), protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
      workload: { kind: 'Deployment', name: `w${w}` },
      sidecar: true,
      ambient: false,
    });
  }
  const out: NetworkPolicy[] = [];
  for (let p = 0; p < policies; p++) {
    const ns = `ns${p % nsCount}`;
    const kind = p % 10;
    const name = `np${p}`;
    if (kind === 0) out.push({ namespace: ns, name, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] } });
    else if (kind < 5)
      out.push({
        namespace: ns,
        name,
        spec: {
          podSelector: { matchLabels: { tier: ['web', 'api', 'db', 'cache'][kind % 4]! } },
          ingress: [
            { from: [{ podSelector: { matchLabels: { tier: ['web', 'api', 'db', 'cache'][(kind + 1) % 4]! } } }], ports: [{ port: 'http' }] },
            { from: [{ namespaceSelector: { matchLabels: { team: `t${rnd(8)}` } }, podSelector: { matchExpressions: [{ key: 'version', operator: 'In', values: ['v1', 'v2'] }] } }], ports: [{ port: 8000, endPort: 8049 }] },
          ],
        },
      });
    else if (kind < 8)
      out.push({
        namespace: ns,
        name,
        spec: {
          podSelector: { matchLabels: { app: `app${rnd(400)}` } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }, { ipBlock: { cidr: '192.168.0.0/16', except: [`192.168.${rnd(256)}.0/24`] } }] }],
          egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'metrics' }, { port: 53, protocol: 'UDP' }] }, { to: [{ ipBlock: { cidr: `172.${16 + rnd(16)}.0.0/16` } }] }],
        },
      });
    else out.push({ namespace: ns, name, spec: { podSelector: { matchLabels: { version: `v${rnd(3)}` } }, ingress: [{ ports: [{ port: 9090 }, { protocol: 'UDP' }] }] } });
  }
  return { cluster: { pods: list, namespaces, serviceAccounts: [], nodes: [] }, policies: out };
}

export default async function run(): Promise<void> {
  for (const [label, replicas] of [['400 workloads × 5 replicas', 5], ['2,000 single-pod workloads', 1]] as const) {
    const { cluster, policies } = generate(2000, 500, replicas);
    const t0 = performance.now();
    const m = connectivityMap(new NetpolEngine(policies, cluster));
    const ms = performance.now() - t0;
    const peers = m.peers.length;
    process.stdout.write(`reach map, 2,000 pods / 500 policies (${label}): ${peers} peers, ${m.pairs.length} allowed pairs in ${(ms / 1000).toFixed(2)} s (target < 10 s)\n`);
  }
  // Per-connection decisions with traces (reach --from/--to), for scale.
  const { cluster, policies } = generate(2000, 500, 5);
  const e = new NetpolEngine(policies, cluster);
  const t1 = performance.now();
  let n = 0;
  for (let i = 0; i < 2000; i += 7) for (let j = 0; j < 2000; j += 13) if (i !== j) {
    e.decide({ src: { kind: 'pod', pod: cluster.pods[i]! }, dst: { kind: 'pod', pod: cluster.pods[j]! }, protocol: 'TCP', port: 8000 + (j % 50) });
    n++;
  }
  const ms = performance.now() - t1;
  process.stdout.write(`reach --from/--to with traces: ${n} decisions in ${(ms / 1000).toFixed(2)} s (${Math.round(n / (ms / 1000))}/s)\n`);
}
