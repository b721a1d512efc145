/** Output for `reach`: per-layer verdicts of one connection, and the connectivity map (txt, JSON, dot). */
import type { ReachResult } from '../analysis/reach.js';
import type { ConnectivityMap } from '../netpol/connectivity.js';
import { formatDecidedBy } from '../model/layers.js';

export { formatDecidedBy };
import { renderTable } from './table.js';

export function renderReachTable(r: ReachResult): string {
  const ep = (e: ReachResult['source']) => (e.kind === 'pod' ? `${e.namespace}/${e.pod} (${[e.ips.join(',') || 'no IP', `sa ${e.serviceAccount}`, e.sidecar ? 'sidecar' : e.ambient ? 'ambient' : '', e.hostNetwork ? 'hostNetwork' : ''].filter(Boolean).join(', ')})` : e.ref);
  let out = `${ep(r.source)} → ${ep(r.destination)} ${r.destination.protocol}/${r.destination.port}${r.identity ? `, presenting ${r.identity}` : ', plaintext'}\n`;
  out += `VERDICT: ${r.verdict.toUpperCase()}${r.deniedBy ? ` (denied by ${r.deniedBy})` : ''}\n\n`;
  out += renderTable({ headers: ['LAYER', 'VERDICT', 'DECIDED BY', 'EXPLANATION'], rows: r.layers.map((l) => [l.layer, l.verdict, formatDecidedBy(l.decidedBy), l.explanation]) });
  for (const l of r.layers) {
    if (l.closestMiss) out += `\n${l.layer} closest miss: ${l.closestMiss.summary}\n`;
    if (l.saw?.note) out += `${l.layer} saw ${l.saw.source} → ${l.saw.destination}: ${l.saw.note}\n`;
    for (const n of l.notes ?? []) out += `${l.layer}: ${n}\n`;
  }
  for (const n of r.notes) out += `note: ${n}\n`;
  return out;
}

/** np-guard/netpol-analyzer's txt format: `src => dst : conns`, one line per pair with connections. */
export function renderMapText(m: ConnectivityMap): string {
  return m.pairs.map((p) => `${p.src.display} => ${p.dst.display} : ${p.conns.toString()}${p.alternative ? `  [implementation-defined: ${p.alternative.conns.toString()} when ${p.alternative.reason}]` : ''}\n`).join('');
}

export function mapJson(m: ConnectivityMap) {
  return {
    pairs: m.pairs.map((p) => ({
      src: p.src.id,
      dst: p.dst.id,
      ...(p.src.workloadKind ? { srcKind: p.src.workloadKind } : p.src.kind === 'external' ? { srcKind: 'External' } : {}),
      ...(p.dst.workloadKind ? { dstKind: p.dst.workloadKind } : p.dst.kind === 'external' ? { dstKind: 'External' } : {}),
      connections: p.conns.toString(),
      ...(p.alternative ? { implementationDefined: { connections: p.alternative.conns.toString(), when: p.alternative.reason } } : {}),
    })),
    notes: m.notes,
  };
}

const dotId = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz: one node per peer that appears in a pair, namespaces as clusters, one edge per pair. */
export function renderMapDot(m: ConnectivityMap): string {
  const used = new Set<string>();
  for (const p of m.pairs) used.add(p.src.display).add(p.dst.display);
  const byNs = new Map<string, string[]>();
  const ext: string[] = [];
  for (const peer of m.peers) {
    if (!used.has(peer.display)) continue;
    if (peer.kind === 'external') ext.push(peer.display);
    else {
      const ns = peer.id.split('/')[0]!;
      byNs.set(ns, [...(byNs.get(ns) ?? []), peer.display]);
    }
  }
  let out = 'digraph {\n';
  let i = 0;
  for (const [ns, nodes] of [...byNs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out += `\tsubgraph cluster_${i++} {\n\t\tlabel=${dotId(ns)}\n`;
    for (const n of nodes) out += `\t\t${dotId(n)} [label=${dotId(n.slice(ns.length + 1))} color="blue" fontcolor="blue"]\n`;
    out += '\t}\n';
  }
  for (const n of ext) out += `\t${dotId(n)} [label=${dotId(n)} color="red2" fontcolor="red2"]\n`;
  for (const p of m.pairs) out += `\t${dotId(p.src.display)} -> ${dotId(p.dst.display)} [label=${dotId(p.conns.toString())} color="gold2" fontcolor="darkgreen"]\n`;
  return out + '}\n';
}
