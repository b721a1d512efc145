/**
 * The Kubernetes network policy API's tiers for one connection: AdminNetworkPolicy, then
 * NetworkPolicy (when it isolates the pod), then BaselineAdminNetworkPolicy, then allow — per
 * direction, and egress of the source AND ingress of the destination. Returns the two layers
 * `reach` reports: `adminnetworkpolicy` (ANP and BANP) and `networkpolicy`.
 */
import type { TraceNode } from '../model/decision.js';
import type { DecidedBy, LayerDecision } from '../model/layers.js';
import type { AdminDirection, AdminEngine } from './admin.js';
import type { NetpolConnection, NetpolEngine } from './engine.js';

type Who = 'anp' | 'np' | 'banp' | 'default';
interface Dir {
  dir: 'ingress' | 'egress';
  who: Who;
  ok: boolean;
  admin: AdminDirection;
  baseline?: AdminDirection;
  np?: ReturnType<NetpolEngine['evaluateDirection']>;
}

const adminBy = (d: AdminDirection, dir: 'ingress' | 'egress'): DecidedBy => ({ kind: d.policy!.kind, name: d.policy!.name, rule: d.rule!, direction: dir });

export function decideTiers(np: NetpolEngine, admin: AdminEngine, conn: NetpolConnection): { networkpolicy: LayerDecision; adminnetworkpolicy: LayerDecision } {
  const dirs: Dir[] = (['egress', 'ingress'] as const).map((dir) => {
    const a = admin.direction('admin', dir, conn.src, conn.dst, conn.protocol, conn.port);
    if (a.result === 'allow' || a.result === 'deny') return { dir, who: 'anp', ok: a.result === 'allow', admin: a };
    const n = np.evaluateDirection(dir, conn);
    if (n.isolatedBy.length > 0) return { dir, who: 'np', ok: n.ok, admin: a, np: n };
    const b = admin.direction('baseline', dir, conn.src, conn.dst, conn.protocol, conn.port);
    if (b.result === 'allow' || b.result === 'deny') return { dir, who: 'banp', ok: b.result === 'allow', admin: a, baseline: b, np: n };
    return { dir, who: 'default', ok: true, admin: a, baseline: b, np: n };
  });
  const saw = { source: conn.src.kind === 'pod' ? `${conn.src.pod.namespace}/${conn.src.pod.name}` : conn.src.ip, destination: `${conn.dst.kind === 'pod' ? `${conn.dst.pod.namespace}/${conn.dst.pod.name}` : conn.dst.ip}:${conn.port}`, protocol: conn.protocol };
  const passNotes = dirs.filter((d) => d.admin.result === 'pass').map((d) => `${d.dir}: ${d.admin.node.detail} → NetworkPolicy tier`);
  const adminDirs = dirs.filter((d) => d.who === 'anp' || d.who === 'banp');
  // No admin rule decided anything: NetworkPolicy alone (with its plugin-defined readings) is the answer.
  if (adminDirs.length === 0) {
    const n = np.decide(conn);
    return {
      networkpolicy: n,
      adminnetworkpolicy: { layer: 'adminnetworkpolicy', verdict: 'not-applicable', decidedBy: null, explanation: passNotes.length ? passNotes.join('; ') : `no AdminNetworkPolicy or BaselineAdminNetworkPolicy rule matches (${admin.anps.length} ANP, ${admin.banp ? 'a' : 'no'} BANP)`, saw, trace: { node: 'adminnetworkpolicy', matched: true, detail: 'no admin rule decided', children: dirs.flatMap((d) => [d.admin.node, ...(d.baseline ? [d.baseline.node] : [])]) } },
    };
  }
  const adminDeny = adminDirs.find((d) => !d.ok);
  const decidingAdmin = adminDeny ?? adminDirs[0]!;
  const ad = decidingAdmin.who === 'anp' ? decidingAdmin.admin : decidingAdmin.baseline!;
  const adminTrace: TraceNode = { node: 'adminnetworkpolicy', matched: !adminDeny, detail: adminDirs.map((d) => `${d.dir}: ${(d.who === 'anp' ? d.admin : d.baseline!).node.detail}`).join('; '), children: dirs.flatMap((d) => [d.admin.node, ...(d.baseline ? [d.baseline.node] : [])]) };
  const adminLayer: LayerDecision = {
    layer: 'adminnetworkpolicy',
    verdict: adminDeny ? 'deny' : 'allow',
    decidedBy: adminBy(ad, decidingAdmin.dir),
    explanation: adminTrace.detail + (passNotes.length ? `; ${passNotes.join('; ')}` : ''),
    saw,
    trace: adminTrace,
  };
  const npDirs = dirs.filter((d) => d.who === 'np');
  let npLayer: LayerDecision;
  if (npDirs.length === 0) {
    const why = dirs.map((d) => `${d.dir}: ${d.who === 'anp' ? 'decided by AdminNetworkPolicy' : d.who === 'banp' ? 'not isolated by NetworkPolicy, decided by the BaselineAdminNetworkPolicy' : 'not isolated, allowed'}`).join('; ');
    npLayer = { layer: 'networkpolicy', verdict: 'not-applicable', decidedBy: null, explanation: why, saw };
  } else {
    const deny = npDirs.find((d) => !d.ok);
    const d = deny ?? npDirs[0]!;
    const n = d.np!;
    npLayer = {
      layer: 'networkpolicy',
      verdict: deny ? 'deny' : 'allow',
      decidedBy: deny ? { kind: 'NetworkPolicy', namespace: n.isolatedBy[0]!.namespace, name: n.isolatedBy[0]!.name, direction: d.dir } : (n.matched[0] ?? null),
      explanation: npDirs.map((x) => x.np!.node.detail).join('; ') + (dirs.some((x) => x.who === 'anp') ? ' (the other direction was decided by AdminNetworkPolicy)' : ''),
      saw,
      trace: { node: 'networkpolicy', matched: !deny, detail: 'NetworkPolicy tier', children: npDirs.map((x) => x.np!.node) },
    };
  }
  return { networkpolicy: npLayer, adminnetworkpolicy: adminLayer };
}
