/**
 * The network policy layers on observed evidence: every captured TCP flow between known addresses is
 * asked of NetworkPolicy (with the admin tiers) and Calico, as `reach` does for one connection. A flow
 * the server answered although a layer denies it means the plugin does not enforce that policy (or the
 * policy was not in force then); an attempt nobody answered that a layer denies is explained by it.
 * Pure: no I/O.
 */
import type { Finding, Flow } from '../model/records.js';
import { flowRef } from './findings.js';
import { formatDecidedBy, type LayerDecision } from '../model/layers.js';
import type { K8sObject } from '../readers/k8s.js';
import { reachInputs } from './reach.js';
import { NetpolEngine, type Peer } from '../netpol/engine.js';
import { AdminEngine } from '../netpol/admin.js';
import { decideTiers } from '../netpol/tiers.js';
import { CalicoEngine } from '../calico/engine.js';
import { normalizeIp } from '../readers/inventory.js';

const MAX_EVIDENCE = 50;

export const NETWORK_FINDING_IDS = ['network-policy-not-enforced', 'network-policy-explains-unanswered'] as const;

export function networkLayerFindings(flows: Flow[], objects: K8sObject[]): Finding[] {
  const inputs = reachInputs(objects);
  if (!inputs.networkPolicies.length && !inputs.adminPolicies.length && !inputs.calico) return [];
  const np = new NetpolEngine(inputs.networkPolicies, inputs.cluster);
  const admin = inputs.adminPolicies.length ? new AdminEngine(inputs.adminPolicies, inputs.cluster) : null;
  const calico = inputs.calico ? new CalicoEngine(inputs.calico, inputs.cluster) : null;
  const byIp = new Map<string, Peer>();
  for (const p of inputs.cluster.pods) if (!p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed') for (const ip of p.ips) byIp.set(normalizeIp(ip), { kind: 'pod', pod: p });
  const peer = (ip: string): Peer => byIp.get(normalizeIp(ip)) ?? { kind: 'ip', ip };
  const name = (p: Peer) => (p.kind === 'pod' ? `${p.pod.namespace}/${p.pod.workload.name}` : p.ip);
  const groups = new Map<string, { flows: Flow[]; layer: LayerDecision; answered: boolean; src: string; dst: string; port: number }>();
  for (const f of flows) {
    if (f.sidecarLocal) continue;
    const src = peer(f.client.ip);
    const dst = peer(f.server.ip);
    if (src.kind !== 'pod' && dst.kind !== 'pod') continue;
    const conn = { src, dst, protocol: 'TCP' as const, port: f.server.port };
    const layers: LayerDecision[] = [];
    if (admin) {
      const t = decideTiers(np, admin, conn);
      layers.push(t.adminnetworkpolicy, t.networkpolicy);
    } else layers.push(np.decide(conn));
    // The dataplane's view: the capture shows addresses, not which certificate the peer presented.
    if (calico) layers.push(calico.decide({ ...conn, identity: null, alp: false }));
    const deny = layers.find((l) => l.verdict === 'deny');
    if (!deny) continue;
    // Zeek's S0: a connection attempt the server never answered (no SYN-ACK).
    const answered = f.connState !== undefined ? f.connState !== 'S0' : f.bytes.serverToClient > 0;
    const key = `${answered}|${deny.layer}|${name(src)}|${name(dst)}|${f.server.port}|${formatDecidedBy(deny.decidedBy)}`;
    const g = groups.get(key) ?? { flows: [], layer: deny, answered, src: name(src), dst: name(dst), port: f.server.port };
    g.flows.push(f);
    groups.set(key, g);
  }
  const out: Finding[] = [];
  for (const g of groups.values()) {
    const by = formatDecidedBy(g.layer.decidedBy);
    const n = g.flows.length;
    out.push({
      id: g.answered ? 'network-policy-not-enforced' : 'network-policy-explains-unanswered',
      severity: g.answered ? 'high' : 'low',
      summary: g.answered
        ? `${n} connection(s) ${g.src} → ${g.dst}:${g.port} were answered although ${g.layer.layer} denies them (${by}): the network plugin does not enforce it, or the policy was not in force then`
        : `${n} connection attempt(s) ${g.src} → ${g.dst}:${g.port} got no answer; ${g.layer.layer} drops them (${by})`,
      evidence: g.flows.slice(0, MAX_EVIDENCE).map((f) => flowRef(f)),
      ...(g.answered ? { fix: `check that the CNI enforces ${g.layer.layer === 'calico' ? 'Calico policy' : 'NetworkPolicy'} on these nodes and when the policy was applied; ${g.layer.closestMiss ? `closest allowing rule: ${g.layer.closestMiss.summary}` : ''}`.trim() } : {}),
      details: { layer: g.layer.layer, decidedBy: by, explanation: g.layer.explanation, flows: n, source: g.src, destination: `${g.dst}:${g.port}` },
    });
  }
  return out;
}
