/**
 * The service graph as static inline SVG. Layout by dagre (@dagrejs/dagre, run when the report is
 * generated; nothing runs when it is viewed): a layered left-to-right layout in which edge labels
 * are laid out as boxes of their own, so no label overlaps a node or another label.
 *
 * An edge's colour comes from its strongest evidence: the captured connections' verdicts when the
 * pair was captured, else the security of the logged requests (each already the capture's proof
 * when joined, else the log's). When that evidence is mixed the edge takes the worst colour and its
 * label lists every count (`mtls 3 · plaintext 1`); requests show `2 allowed ✕ 1 denied`.
 */
import dagre from '@dagrejs/dagre';
import type { FlowSecurity } from '../model/records.js';
import type { GraphEdge, GraphNode } from '../analysis/report-model.js';
import { esc, truncate } from './html-escape.js';

export const SEC_COLOR: Record<FlowSecurity, string> = { mtls: '#2e7d32', tls: '#1565c0', plaintext: '#c62828', unknown: '#757575' };
const DENIED_COLOR = '#b71c1c';

const NODE_W = 196;
const NODE_H = 48;
/** Approximate advance of an 11 px sans-serif character, for sizing label boxes. */
const CHAR_W = 6.3;
const LINE_H = 13;
/** Past this many edges the graph keeps the busiest ones (the JSON report has all). */
export const GRAPH_MAX_EDGES = 400;

const SEC_ORDER: FlowSecurity[] = ['plaintext', 'tls', 'mtls', 'unknown'];

/** The counts an edge is judged by: captured connections when there are any, else the requests' connection security. */
export function edgeEvidence(e: GraphEdge): { from: 'capture' | 'requests' | 'none'; counts: Record<FlowSecurity, number>; security: FlowSecurity; mixed: boolean } {
  const sum = (c: Record<FlowSecurity, number>): number => c.mtls + c.tls + c.plaintext + c.unknown;
  const from = sum(e.flows) > 0 ? 'capture' : sum(e.requestSecurity) > 0 ? 'requests' : 'none';
  const counts = from === 'capture' ? e.flows : e.requestSecurity;
  const known = SEC_ORDER.filter((s) => s !== 'unknown' && counts[s] > 0);
  const security = known[0] ?? (from === 'none' ? e.security : 'unknown');
  return { from, counts, security, mixed: known.length > 1 };
}

/** The label lines of an edge: port and security (with counts when mixed), then the requests. */
export function edgeLabelLines(e: GraphEdge): string[] {
  const ev = edgeEvidence(e);
  const port = e.port !== null ? `:${e.port} ` : '';
  const secs = SEC_ORDER.filter((s) => ev.counts[s] > 0);
  const first = ev.mixed ? `${port}${secs.map((s) => `${s} ${ev.counts[s]}`).join(' · ')}` : `${port}${secs.filter((s) => s !== 'unknown').join('+') || e.marks.filter((m) => m !== 'denied' && m !== 'unknown').join('+') || 'unknown'}`;
  const denied = e.requests.denied + e.requests.rejected;
  const second = [e.requests.allowed ? `${e.requests.allowed} allowed` : '', denied ? `✕ ${denied} denied` : ''].filter(Boolean).join(' ');
  return second ? [first, second] : [first];
}

interface Pt {
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: Map<string, { node: GraphNode; x: number; y: number }>;
  edges: { edge: GraphEdge; points: Pt[]; label: Pt; lines: string[] }[];
  width: number;
  height: number;
  omittedEdges: number;
}

/** Lays the graph out (dagre, left to right); nodes' x/y are their top-left corners. */
export function layoutGraph(nodes: GraphNode[], edges: GraphEdge[]): GraphLayout {
  const total = (e: GraphEdge): number => e.flows.mtls + e.flows.tls + e.flows.plaintext + e.flows.unknown + e.requests.allowed + e.requests.denied + e.requests.rejected;
  const kept = edges.length > GRAPH_MAX_EDGES ? [...edges].sort((a, b) => total(b) - total(a)).slice(0, GRAPH_MAX_EDGES) : edges;
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 26, edgesep: 14, ranksep: 70, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  const lines = new Map<GraphEdge, string[]>();
  kept.forEach((e, i) => {
    if (!byId.has(e.from) || !byId.has(e.to)) return;
    const l = edgeLabelLines(e);
    lines.set(e, l);
    g.setEdge(e.from, e.to, { width: Math.max(...l.map((s) => s.length)) * CHAR_W + 10, height: l.length * LINE_H + 6, labelpos: 'c', minlen: 1 }, `e${i}`);
  });
  dagre.layout(g);
  const placed = new Map<string, { node: GraphNode; x: number; y: number }>();
  for (const n of nodes) {
    const p = g.node(n.id);
    placed.set(n.id, { node: n, x: (p.x ?? 0) - NODE_W / 2, y: (p.y ?? 0) - NODE_H / 2 });
  }
  const out: GraphLayout['edges'] = [];
  kept.forEach((e, i) => {
    const l = g.edge({ v: e.from, w: e.to, name: `e${i}` });
    if (!l) return;
    out.push({ edge: e, points: (l.points ?? []).map((q: Pt) => ({ x: q.x, y: q.y })), label: { x: l.x ?? 0, y: l.y ?? 0 }, lines: lines.get(e) ?? [] });
  });
  const gl = g.graph();
  return { nodes: placed, edges: out, width: Math.ceil(Math.max(gl.width ?? 0, 300)), height: Math.ceil(Math.max(gl.height ?? 0, 100)), omittedEdges: edges.length - kept.length };
}

/** A smooth path through dagre's control points (uniform cubic B-spline, as d3's curveBasis). */
function basisPath(p: Pt[]): string {
  if (p.length === 0) return '';
  const f = (n: number): string => n.toFixed(1);
  if (p.length < 3) return `M${f(p[0]!.x)},${f(p[0]!.y)}${p.slice(1).map((q) => ` L${f(q.x)},${f(q.y)}`).join('')}`;
  let d = `M${f(p[0]!.x)},${f(p[0]!.y)} L${f((5 * p[0]!.x + p[1]!.x) / 6)},${f((5 * p[0]!.y + p[1]!.y) / 6)}`;
  for (let i = 1; i < p.length - 1; i++) {
    const a = p[i - 1]!;
    const b = p[i]!;
    const c = p[i + 1]!;
    d += ` C${f((2 * a.x + b.x) / 3)},${f((2 * a.y + b.y) / 3)} ${f((a.x + 2 * b.x) / 3)},${f((a.y + 2 * b.y) / 3)} ${f((a.x + 4 * b.x + c.x) / 6)},${f((a.y + 4 * b.y + c.y) / 6)}`;
  }
  const a = p[p.length - 2]!;
  const b = p[p.length - 1]!;
  d += ` C${f((2 * a.x + b.x) / 3)},${f((2 * a.y + b.y) / 3)} ${f((a.x + 2 * b.x) / 3)},${f((a.y + 2 * b.y) / 3)} ${f(b.x)},${f(b.y)}`;
  return d;
}

export function renderGraphSvg(nodes: GraphNode[], edges: GraphEdge[]): string {
  if (nodes.length === 0) return '<p class="muted">No workload-to-workload traffic in the evidence.</p>';
  const lay = layoutGraph(nodes, edges);
  const { width, height } = lay;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" id="service-graph" role="img" aria-label="service graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  parts.push('<defs>');
  for (const [k, c] of Object.entries(SEC_COLOR)) parts.push(`<marker id="arrow-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`);
  parts.push('</defs>');
  // Edges first, then their labels (above every edge), then nodes.
  const labels: string[] = [];
  for (const { edge: e, points, label, lines } of lay.edges) {
    const ev = edgeEvidence(e);
    const color = SEC_COLOR[ev.security];
    const denied = e.requests.denied + e.requests.rejected > 0;
    const counts = SEC_ORDER.filter((s) => e.flows[s]).map((s) => `${e.flows[s]} ${s}`);
    const req = e.requests.allowed + e.requests.denied + e.requests.rejected;
    const title = `${e.from} → ${e.to}${e.port !== null ? ` port ${e.port}` : ''}: connections ${counts.join(', ') || 'none captured'}; requests ${req}, each counted once (allowed ${e.requests.allowed}, denied ${e.requests.denied}, rejected ${e.requests.rejected}); colour from ${ev.from === 'capture' ? 'the captured connections' : ev.from === 'requests' ? "the requests' connection security" : 'no security evidence'}`;
    parts.push(`<g class="edge" data-security="${esc(ev.security)}" data-marks="${esc(e.marks.join(' '))}"><title>${esc(title)}</title><path d="${basisPath(points)}" fill="none" stroke="${color}" stroke-width="${ev.security === 'plaintext' ? 2.6 : 1.8}"${denied ? ' stroke-dasharray="6 4"' : ''} marker-end="url(#arrow-${ev.security})"/></g>`);
    const w = Math.max(...lines.map((s) => s.length)) * CHAR_W + 10;
    const h = lines.length * LINE_H + 6;
    const x0 = label.x - w / 2;
    const y0 = label.y - h / 2;
    const tspans = lines.map((s, i) => `<tspan x="${label.x.toFixed(1)}" y="${(y0 + 3 + LINE_H * (i + 1) - 3).toFixed(1)}"${i === 1 && denied ? ` fill="${DENIED_COLOR}"` : ''}>${esc(s)}</tspan>`).join('');
    labels.push(`<g class="edge-label"><title>${esc(title)}</title><rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" rx="3" fill="#fff" fill-opacity="0.92" stroke="${color}" stroke-width="0.6"/><text font-size="11" text-anchor="middle" fill="${color}">${tspans}</text></g>`);
  }
  parts.push(...labels);
  for (const p of lay.nodes.values()) {
    const n = p.node;
    const hasFinding = n.findings.length > 0;
    const fill = n.kind === 'workload' ? '#e8f0fe' : n.kind === 'service' ? '#f3e5f5' : '#f1f1f1';
    const stroke = hasFinding ? '#c62828' : '#90a4ae';
    const sub = n.kind === 'workload' ? `${n.namespace ?? ''}${n.serviceAccount ? ` · sa ${n.serviceAccount}` : ''}` : n.kind === 'address' ? 'unresolved address' : n.kind;
    const title = `${n.id}${n.pods.length ? `\npods: ${n.pods.join(', ')}` : ''}${n.ips.length ? `\nIPs: ${n.ips.join(', ')}` : ''}${n.sidecar === false ? '\nno sidecar' : ''}${hasFinding ? `\nfindings: ${n.findings.join(', ')}` : ''}`;
    parts.push(`<g class="node" data-node="${esc(n.id)}"><title>${esc(title)}</title><rect x="${p.x.toFixed(1)}" y="${p.y.toFixed(1)}" width="${NODE_W}" height="${NODE_H}" rx="7" fill="${fill}" stroke="${stroke}" stroke-width="${hasFinding ? 2 : 1}"/><text x="${(p.x + 10).toFixed(1)}" y="${(p.y + 19).toFixed(1)}" font-size="13" font-weight="600" fill="#1d2430">${esc(truncate(n.label, 24))}${n.sidecar === false ? ' ⚠' : ''}</text><text x="${(p.x + 10).toFixed(1)}" y="${(p.y + 36).toFixed(1)}" font-size="11" fill="#546e7a">${esc(truncate(sub, 30))}</text></g>`);
  }
  parts.push('</svg>');
  if (lay.omittedEdges > 0) parts.push(`<p class="muted">${lay.omittedEdges} quieter edge(s) not drawn (the ${GRAPH_MAX_EDGES} busiest are); the JSON report has all.</p>`);
  return parts.join('\n');
}
