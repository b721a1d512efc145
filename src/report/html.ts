/**
 * `report -o out.html`: ONE self-contained file. Nothing is fetched when it is viewed (no scripts,
 * no external styles, fonts or images; a Content-Security-Policy forbids them all), and every
 * byte that came from the evidence is HTML-escaped. Sections: summary, findings, the service graph
 * (inline SVG: workloads as nodes, edges marked mTLS / TLS / plaintext / denied), the timeline,
 * per-request explanation traces, flows, and the chain-of-custody manifest.
 */
import type { EvidenceRef, Finding } from '../model/records.js';
import type { JsonValue } from '../model/attrs.js';
import type { Decision, TraceNode } from '../model/decision.js';
import type { GraphEdge, GraphNode, ReportModel, RequestView } from '../analysis/report-model.js';
import { formatRef } from '../analysis/report-model.js';

/** Rows shown per long section (the JSON report has everything). */
export const HTML_LIMITS = { timeline: 2000, requests: 500, flows: 2000 };

/** Escapes text for HTML element content and attribute values. */
export function esc(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    // C0 controls (except tab/newline) would make the document invalid; show them as escapes.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    // bidirectional controls would reorder what the reader sees (captured text reversing the tool's own words)
    .replace(/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const SEC_COLOR: Record<string, string> = { mtls: '#2e7d32', tls: '#1565c0', plaintext: '#c62828', unknown: '#757575' };
const SEV_COLOR: Record<string, string> = { critical: '#7b1fa2', high: '#c62828', medium: '#ef6c00', low: '#1565c0', info: '#546e7a' };

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{background:#1d2430;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header .meta{opacity:.8;font-size:13px}
main{padding:18px 28px;max-width:1500px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 18px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #dde1e7;border-radius:6px;padding:8px 12px;min-width:130px}
.card b{display:block;font-size:20px}
.sev{display:inline-block;color:#fff;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:600;text-transform:uppercase}
.finding{border-left:4px solid #999;padding:8px 12px;margin:0 0 10px;background:#fafbfc}
.finding h3{margin:0 0 4px;font-size:15px}
.finding .id{font-family:ui-monospace,Menlo,monospace;color:#455;font-size:12px}
.fix{margin:4px 0}
code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;background:#f0f2f5;padding:6px 8px;border-radius:4px;margin:4px 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;border-bottom:1px solid #eceff3;padding:4px 6px;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:12px}
td{font-size:12.5px}
.pill{display:inline-block;border-radius:10px;padding:0 7px;font-size:11px;color:#fff;margin-right:3px}
details{margin:3px 0}
summary{cursor:pointer}
ul.trace{list-style:none;padding-left:16px;margin:2px 0}
ul.trace li{margin:1px 0}
.m-true{color:#2e7d32}.m-false{color:#c62828}.m-undecidable{color:#ef6c00}
.legend span{margin-right:14px;font-size:12px}
.muted{color:#667}
svg text{font-family:system-ui,sans-serif}
`;

function sevBadge(sev: string): string {
  return `<span class="sev" style="background:${SEV_COLOR[sev] ?? '#555'}">${esc(sev)}</span>`;
}

function secPill(sec: string): string {
  return `<span class="pill" style="background:${SEC_COLOR[sec] ?? '#555'}">${esc(sec)}</span>`;
}

function refList(refs: EvidenceRef[]): string {
  if (refs.length === 0) return '';
  return `<ul class="mono">${refs.map((r) => `<li>${esc(formatRef(r))}</li>`).join('')}</ul>`;
}

function detailsJson(d: Record<string, JsonValue> | undefined): string {
  if (!d || Object.keys(d).length === 0) return '';
  return `<details><summary>details</summary><pre>${esc(JSON.stringify(d, null, 2))}</pre></details>`;
}

/** The closest miss an `rbac-denied` finding carries: the policy and each failing condition. */
function closestMissHtml(f: Finding): string {
  const m = f.details?.closestMiss;
  if (!m || typeof m !== 'object' || Array.isArray(m)) return '';
  const failing = Array.isArray(m.failing) ? m.failing : [];
  const items = failing.map((x) => (x && typeof x === 'object' && !Array.isArray(x) ? `<li class="mono">${esc(String(x.condition ?? ''))}</li>` : '')).join('');
  return `<div class="miss"><b>Closest miss:</b> <code>${esc(String(m.policy ?? ''))}</code><ul>${items}</ul></div>\n`;
}

function renderFinding(f: Finding): string {
  return `<div class="finding" style="border-left-color:${SEV_COLOR[f.severity] ?? '#999'}" data-finding="${esc(f.id)}">
<h3>${sevBadge(f.severity)} ${esc(f.summary)}</h3>
<div class="id">${esc(f.id)}</div>
${f.fix ? `<div class="fix"><b>Fix:</b> ${esc(f.fix)}</div>` : ''}
${closestMissHtml(f)}<details${f.evidence.length <= 3 ? ' open' : ''}><summary>evidence (${f.evidence.length}${typeof f.details?.occurrences === 'number' && f.details.occurrences > f.evidence.length ? ` of ${f.details.occurrences}` : ''})</summary>${refList(f.evidence)}</details>
${detailsJson(f.details)}
</div>`;
}

// ---- Service graph (inline SVG, deterministic layered layout).

interface Placed {
  node: GraphNode;
  x: number;
  y: number;
}

const NODE_W = 190;
const NODE_H = 48;
const COL_GAP = 120;
const ROW_GAP = 34;

export function layoutGraph(nodes: GraphNode[], edges: GraphEdge[]): { placed: Map<string, Placed>; width: number; height: number } {
  const layer = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  const maxLayer = Math.max(0, Math.min(nodes.length - 1, 5));
  for (let i = 0; i < nodes.length; i++) {
    let changed = false;
    for (const e of edges) {
      if (e.from === e.to) continue;
      const lu = layer.get(e.from) ?? 0;
      const lv = layer.get(e.to) ?? 0;
      if (lv < lu + 1 && lu + 1 <= maxLayer) {
        layer.set(e.to, lu + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const cols = new Map<number, GraphNode[]>();
  for (const n of nodes) {
    const l = layer.get(n.id) ?? 0;
    cols.set(l, [...(cols.get(l) ?? []), n]);
  }
  const placed = new Map<string, Placed>();
  let height = 0;
  const layers = [...cols.keys()].sort((a, b) => a - b);
  layers.forEach((l, ci) => {
    const col = cols.get(l)!.sort((a, b) => (a.namespace ?? '~').localeCompare(b.namespace ?? '~') || a.label.localeCompare(b.label));
    col.forEach((n, ri) => {
      const p = { node: n, x: 20 + ci * (NODE_W + COL_GAP), y: 30 + ri * (NODE_H + ROW_GAP) };
      placed.set(n.id, p);
      height = Math.max(height, p.y + NODE_H + 30);
    });
  });
  const width = 40 + layers.length * NODE_W + Math.max(0, layers.length - 1) * COL_GAP;
  return { placed, width: Math.max(width, 400), height: Math.max(height + 60, 120) };
}

export function renderGraphSvg(nodes: GraphNode[], edges: GraphEdge[]): string {
  if (nodes.length === 0) return '<p class="muted">No workload-to-workload traffic in the evidence.</p>';
  const { placed, width, height } = layoutGraph(nodes, edges);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" id="service-graph" role="img" aria-label="service graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  parts.push('<defs>');
  for (const [k, c] of Object.entries(SEC_COLOR)) parts.push(`<marker id="arrow-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`);
  parts.push('</defs>');
  // Parallel edges between the same pair get spread apart.
  const pairCount = new Map<string, number>();
  for (const e of edges) {
    const a = placed.get(e.from);
    const b = placed.get(e.to);
    if (!a || !b) continue;
    const pk = `${e.from}|${e.to}`;
    const k = pairCount.get(pk) ?? 0;
    pairCount.set(pk, k + 1);
    const color = SEC_COLOR[e.security] ?? '#757575';
    const denied = e.marks.includes('denied');
    let d: string;
    let lx: number;
    let ly: number;
    if (e.from === e.to) {
      const x = a.x + NODE_W - 30;
      const y = a.y;
      d = `M${x},${y} C${x + 20},${y - 40} ${x + 60},${y - 10} ${a.x + NODE_W},${y + 12}`;
      lx = x + 20;
      ly = y - 28;
    } else {
      const forward = b.x > a.x;
      const x1 = forward ? a.x + NODE_W : a.x + NODE_W / 2;
      const y1 = forward ? a.y + NODE_H / 2 + k * 8 : a.y + (b.y > a.y ? NODE_H : 0);
      const x2 = forward ? b.x : b.x + NODE_W / 2 + k * 8;
      const y2 = forward ? b.y + NODE_H / 2 + k * 8 : b.y + (b.y > a.y ? 0 : NODE_H);
      const bend = forward ? (x2 - x1) / 2 : 60 + k * 20;
      const c1x = x1 + bend;
      const c2x = forward ? x2 - bend : x2 + bend;
      // An edge that skips a column dips below the nodes in between instead of crossing them.
      const skips = forward && b.x - a.x > NODE_W + COL_GAP + 1;
      const c1y = skips ? Math.max(a.y, b.y) + NODE_H + 50 + k * 16 : y1;
      const c2y = skips ? c1y : y2;
      d = `M${x1},${y1} C${c1x},${c1y} ${c2x},${c2y} ${x2},${y2}`;
      // Label a third of the way along the curve (half-way on a dip), where edges from different sources are apart.
      const t = skips ? 0.5 : 0.3;
      const u = 1 - t;
      lx = u * u * u * x1 + 3 * u * u * t * c1x + 3 * u * t * t * c2x + t * t * t * x2;
      ly = u * u * u * y1 + 3 * u * u * t * c1y + 3 * u * t * t * c2y + t * t * t * y2 - 5 + k * 13;
    }
    const counts: string[] = [];
    for (const s of ['mtls', 'tls', 'plaintext', 'unknown'] as const) if (e.flows[s]) counts.push(`${e.flows[s]} ${s}`);
    const req = e.requests.allowed + e.requests.denied + e.requests.rejected;
    const label = `${e.port !== null ? `:${e.port} ` : ''}${e.marks.filter((m) => m !== 'denied' && m !== 'unknown').join('+') || 'unknown'}`;
    // The requests, each counted once, on a second line: `2 allowed ✕ 1 denied`.
    const reqLabel = [e.requests.allowed ? `${e.requests.allowed} allowed` : '', denied ? `✕ ${e.requests.denied + e.requests.rejected} denied` : ''].filter(Boolean).join(' ');
    const title = `${e.from} → ${e.to}${e.port !== null ? ` port ${e.port}` : ''}: connections ${counts.join(', ') || 'none captured'}; requests ${req}, each counted once (allowed ${e.requests.allowed}, denied ${e.requests.denied}, rejected ${e.requests.rejected})`;
    parts.push(`<g class="edge" data-security="${esc(e.security)}" data-marks="${esc(e.marks.join(' '))}"><title>${esc(title)}</title><path d="${d}" fill="none" stroke="${color}" stroke-width="${e.security === 'plaintext' ? 2.6 : 1.8}"${denied ? ' stroke-dasharray="6 4"' : ''} marker-end="url(#arrow-${esc(e.security in SEC_COLOR ? e.security : 'unknown')})"/><text x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" font-size="11" text-anchor="middle" fill="${denied ? '#b71c1c' : color}" stroke="#fff" stroke-width="3" paint-order="stroke">${reqLabel ? `<tspan x="${lx.toFixed(1)}" y="${(ly - 12).toFixed(1)}">${esc(label)}</tspan><tspan x="${lx.toFixed(1)}" y="${ly.toFixed(1)}">${esc(reqLabel)}</tspan>` : esc(label)}</text></g>`);
  }
  for (const p of placed.values()) {
    const n = p.node;
    const hasFinding = n.findings.length > 0;
    const fill = n.kind === 'workload' ? '#e8f0fe' : n.kind === 'service' ? '#f3e5f5' : '#f1f1f1';
    const stroke = hasFinding ? '#c62828' : '#90a4ae';
    const sub = n.kind === 'workload' ? `${n.namespace ?? ''}${n.serviceAccount ? ` · sa ${n.serviceAccount}` : ''}` : n.kind === 'address' ? 'unresolved address' : n.kind;
    const title = `${n.id}${n.pods.length ? `\npods: ${n.pods.join(', ')}` : ''}${n.ips.length ? `\nIPs: ${n.ips.join(', ')}` : ''}${n.sidecar === false ? '\nno sidecar' : ''}${hasFinding ? `\nfindings: ${n.findings.join(', ')}` : ''}`;
    parts.push(`<g class="node" data-node="${esc(n.id)}"><title>${esc(title)}</title><rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="7" fill="${fill}" stroke="${stroke}" stroke-width="${hasFinding ? 2 : 1}"/><text x="${p.x + 10}" y="${p.y + 19}" font-size="13" font-weight="600" fill="#1d2430">${esc(truncate(n.label, 24))}${n.sidecar === false ? ' ⚠' : ''}</text><text x="${p.x + 10}" y="${p.y + 36}" font-size="11" fill="#546e7a">${esc(truncate(sub, 30))}</text></g>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ---- Explanation traces.

function traceTree(n: TraceNode, depth = 0): string {
  const m = String(n.matched);
  const kids = n.children && n.children.length > 0 && depth < 12 ? `<ul class="trace">${n.children.map((c) => traceTree(c, depth + 1)).join('')}</ul>` : '';
  return `<li><span class="m-${esc(m)}">${n.matched === true ? '✔' : n.matched === false ? '✘' : '?'}</span> <code>${esc(n.node)}</code> ${esc(n.detail)}${kids}</li>`;
}

function renderDecision(d: Decision): string {
  const out: string[] = [];
  out.push(`<div>reconstructed: <b>${esc(d.decision)}</b>${d.policy ? ` by <code>${esc(d.policy)}</code>` : ''}${d.responseCodeDetails ? ` — would log <code>${esc(d.responseCodeDetails)}</code>` : ''}${d.listener ? ` <span class="muted">(listener ${esc(d.listener)}${d.filterChain ? `, chain ${esc(d.filterChain)}` : ''})</span>` : ''}</div>`);
  for (const f of d.filters) {
    out.push(`<div><code>${esc(f.name)}</code> ${esc(f.action)}${f.shadow ? ' (shadow)' : ''} → <b>${esc(f.result)}</b>${f.effectivePolicy ? ` <code>${esc(f.effectivePolicy)}</code>` : ''}${f.note ? ` <span class="muted">${esc(f.note)}</span>` : ''}</div>`);
    if (f.policies.length > 0) out.push(`<ul class="trace">${f.policies.map((p) => `<li><span class="m-${esc(String(p.matched))}">${p.matched === true ? '✔' : p.matched === false ? '✘' : '?'}</span> policy <code>${esc(p.name)}</code><ul class="trace">${traceTree(p.trace)}</ul></li>`).join('')}</ul>`);
  }
  if (d.closestMiss && d.closestMiss.length > 0) out.push(`<div>closest miss: <code>${esc(d.closestMiss[0]!.policy)}</code> — ${esc(d.closestMiss[0]!.summary)}</div>`);
  if (d.reasons && d.reasons.length > 0) out.push(`<div class="muted">${d.reasons.map(esc).join('<br>')}</div>`);
  return out.join('\n');
}

function requestLine(r: RequestView): string {
  const what = r.kind === 'http' ? `${r.method ?? '-'} ${r.path ?? '-'} → ${r.responseCode ?? '-'}` : 'TCP connection';
  return `${r.time ?? ''} ${r.direction} ${what} ${r.responseCodeDetails ?? r.connectionTerminationDetails ?? ''} ${r.client ?? '?'} → ${r.server ?? '?'}`;
}

function renderRequest(r: RequestView): string {
  const verdict = r.explanation ? r.explanation.verdict : null;
  const badge = verdict ? `<span class="pill" style="background:${verdict === 'agrees' ? '#2e7d32' : verdict === 'disagrees' ? '#c62828' : '#ef6c00'}">${esc(verdict)}</span>` : '';
  const fields = Object.entries(r.fields ?? {}).map(([k, v]) => `<tr><td class="mono">${esc(k)}</td><td class="mono">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`).join('');
  return `<details class="request"><summary>${badge}${r.findings.map((f) => `<span class="pill" style="background:#455a64">${esc(f)}</span>`).join('')} <span class="mono">${esc(requestLine(r))}</span></summary>
<div class="mono">evidence: ${esc(formatRef(r.ref))}${r.flow ? ` · capture: ${esc(formatRef(r.flow))} (${esc(r.correlatedBy ?? '')})` : ''}${r.proxy ? ` · dump: ${esc(r.proxy)}` : ''}${r.principal ? ` · peer: ${esc(r.principal)}` : ''} · peer TLS: ${esc(r.peerSecurity)}</div>
${r.explanation ? `<div>${esc(r.explanation.reason)}</div>${r.explanation.identityEvidence.length ? `<div class="muted">identity evidence: ${esc(r.explanation.identityEvidence.join('; '))}</div>` : ''}${r.explanation.text ? `<pre>${esc(r.explanation.text)}</pre>` : ''}${r.explanation.decision ? `<details><summary>full trace</summary>${renderDecision(r.explanation.decision)}</details>` : ''}` : `<div class="muted">not replayed (${r.direction === 'inbound' ? 'no config dump for this proxy' : 'only inbound records are replayed'})</div>`}
${fields ? `<details><summary>logged fields</summary><table>${fields}</table></details>` : ''}
</details>`;
}

export function renderHtml(m: ReportModel): string {
  const s = m.summary;
  const range = m.manifest.timeRange.start ? `${m.manifest.timeRange.start} – ${m.manifest.timeRange.end}` : 'no timed events';
  const card = (label: string, value: string | number, color?: string): string => `<div class="card"${color ? ` style="border-color:${color}"` : ''}><b${color ? ` style="color:${color}"` : ''}>${esc(value)}</b>${esc(label)}</div>`;
  const sevCards = (['critical', 'high', 'medium', 'low', 'info'] as const).map((sv) => card(`${sv} findings`, s.findings.bySeverity[sv], SEV_COLOR[sv])).join('');

  const timelineRows = m.timeline.slice(0, HTML_LIMITS.timeline).map((e) => `<tr data-kind="${esc(e.kind)}"${e.summary.includes('(sidecar-local leg)') ? ' class="muted"' : ''}><td class="mono">${esc(e.time)}</td><td>${esc(e.source)}</td><td>${e.security ? secPill(e.security) : ''}${esc(e.kind)}</td><td class="mono">${esc(e.summary)}</td><td class="mono">${esc(formatRef(e.ref))}${(e.also ?? []).map((a) => `<br><span class="muted">+ ${esc(formatRef(a))}</span>`).join('')}${e.correlated ? `<br><span class="muted">↔ ${esc(formatRef(e.correlated))}</span>` : ''}</td><td>${e.findings.map((f) => `<span class="pill" style="background:#455a64">${esc(f)}</span>`).join('')}</td></tr>`).join('\n');

  // Requests: the ones cited by findings or disagreeing first.
  const reqs = [...m.requests].sort((a, b) => (b.findings.length > 0 ? 1 : 0) - (a.findings.length > 0 ? 1 : 0) || (b.explanation?.verdict === 'disagrees' ? 1 : 0) - (a.explanation?.verdict === 'disagrees' ? 1 : 0));
  const reqHtml = reqs.slice(0, HTML_LIMITS.requests).map(renderRequest).join('\n');

  const flowRows = m.flows.slice(0, HTML_LIMITS.flows).map((f) => `<tr><td class="mono">${esc(f.start)}</td><td class="mono">${esc(f.client.ip)}:${esc(f.client.port)}</td><td class="mono">${esc(f.server.ip)}:${esc(f.server.port)}</td><td>${secPill(f.security)}${f.sidecarLocal ? ' <span class="muted">sidecar-local</span>' : ''}</td><td class="mono">${esc(f.protocol)}${f.tls?.sni ? `<br>SNI ${esc(f.tls.sni)}` : ''}${f.tls?.uriSans.length ? `<br>${esc(f.tls.uriSans.join(', '))}` : ''}</td><td class="mono">${esc(f.evidence.join(', '))}</td><td class="mono">${f.http.slice(0, 5).map((x) => `${esc(x.method ?? '')} ${esc(x.path ?? '')}${x.status !== undefined ? ` → ${esc(x.status)}` : ''}${Object.entries(x.headers).filter(([k]) => k !== 'x-request-id').slice(0, 6).map(([k, v]) => `<br><span class="muted">${esc(k)}: ${esc(v.join(', '))}</span>`).join('')}`).join('<br>')}${f.http.length > 5 ? `<br>… ${f.http.length - 5} more` : ''}</td><td class="mono">${esc(f.file)}#${esc(f.frames[0] ?? '')}</td></tr>`).join('\n');

  const inputsRows = m.manifest.inputs.map((i) => `<tr><td class="mono">${esc(i.path)}</td><td>${esc(i.kind)}${i.format ? ` (${esc(i.format)})` : ''}</td><td>${esc(i.bytes)}</td><td>${esc(i.items)}</td><td>${esc(i.problems)}</td><td class="mono">${esc(i.sha256 ?? '')}</td></tr>`).join('\n');
  const skippedRows = m.manifest.skipped.map((k) => `<tr><td class="mono">${esc(k.path)}</td><td>${esc(k.reason)}</td></tr>`).join('\n');
  const diagRows = m.diagnostics.slice(0, 500).map((d) => `<tr><td>${esc(d.severity)}</td><td class="mono">${esc(d.where)}</td><td>${esc(d.message)}</td></tr>`).join('\n');
  const more = (n: number, limit: number, what: string): string => (n > limit ? `<p class="muted">Showing the first ${limit} of ${n} ${what}; the JSON report (-o report.json) has all of them.</p>` : '');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="meshsleuth ${esc(m.manifest.tool.version)}">
<title>meshsleuth incident report — ${esc(range)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>meshsleuth incident report</h1><div class="meta">${esc(range)} · ${esc(m.manifest.inputs.length)} inputs · generated ${esc(m.manifest.generatedAt)} by meshsleuth ${esc(m.manifest.tool.version)} · clock-skew window ±${esc(m.manifest.skewMs)} ms${m.manifest.secretsShown ? ' · <b>SECRETS SHOWN</b>' : ' · secrets redacted'}</div></header>
<main>
<section id="summary"><h2>Summary</h2>
<div class="cards">${sevCards}</div>
<div class="cards" style="margin-top:10px">${card('connections captured', s.flows.total)}${card('mTLS', s.flows.mtls, SEC_COLOR.mtls)}${card('TLS (one-way)', s.flows.tls, SEC_COLOR.tls)}${card('plaintext that left the pod', s.flows.plaintextLeftPod, SEC_COLOR.plaintext)}${card('sidecar-local legs (plaintext by design)', s.flows.sidecarLocal)}${card('log records', s.records.total)}${card('RBAC denied', s.records.denied, '#c62828')}${card('NR (no filter chain)', s.records.rejected)}${card('replay disagrees', s.explanations.disagrees, s.explanations.disagrees ? '#c62828' : undefined)}${card('proxies (dumps)', s.proxies)}</div>
</section>
<section id="findings"><h2>Findings (${esc(m.findings.length)})</h2>
${m.findings.length === 0 ? '<p>No findings.</p>' : m.findings.filter((f) => f.severity !== 'info').map(renderFinding).join('\n')}
${m.findings.some((f) => f.severity === 'info') ? `<details id="info-findings"><summary>${esc(m.findings.filter((f) => f.severity === 'info').length)} informational finding(s): configuration facts without observed impact</summary>${m.findings.filter((f) => f.severity === 'info').map(renderFinding).join('\n')}</details>` : ''}
</section>
<section id="graph"><h2>Service graph</h2>
<div class="legend"><span style="color:${SEC_COLOR.mtls}">━ mTLS</span><span style="color:${SEC_COLOR.tls}">━ TLS (no client cert)</span><span style="color:${SEC_COLOR.plaintext}">━ plaintext</span><span style="color:${SEC_COLOR.unknown}">━ unknown</span><span style="color:#b71c1c">┅ denied / rejected</span><span>red outline: involved in a finding · ⚠ no sidecar</span></div>
<div style="overflow-x:auto">${renderGraphSvg(m.graph.nodes, m.graph.edges)}</div>
</section>
<section id="timeline"><h2>Timeline (${esc(m.timeline.length)} events${s.recordsWithoutTime ? `; ${esc(s.recordsWithoutTime)} records without a time not shown` : ''})</h2>
${more(m.timeline.length, HTML_LIMITS.timeline, 'events')}
<table><thead><tr><th>time (UTC)</th><th>source</th><th>kind</th><th>event</th><th>evidence</th><th>findings</th></tr></thead><tbody>
${timelineRows}
</tbody></table>
</section>
<section id="requests"><h2>Requests and explanation traces (${esc(m.requests.length)})</h2>
${more(m.requests.length, HTML_LIMITS.requests, 'records')}
${reqHtml || '<p class="muted">No access-log records.</p>'}
</section>
<section id="flows"><h2>Captured connections (${esc(m.flows.length)})</h2>
${more(m.flows.length, HTML_LIMITS.flows, 'flows')}
${m.flows.length ? `<table><thead><tr><th>start</th><th>client</th><th>server</th><th>security</th><th>protocol</th><th>evidence</th><th>cleartext HTTP</th><th>frames</th></tr></thead><tbody>${flowRows}</tbody></table>` : '<p class="muted">No captures.</p>'}
</section>
<section id="custody"><h2>Chain of custody</h2>
<p>meshsleuth ${esc(m.manifest.tool.version)} · generated ${esc(m.manifest.generatedAt)} · evidence time range ${esc(range)} · observed log↔capture offset: ${m.manifest.observedSkew.n ? `median ${esc(m.manifest.observedSkew.medianMs)} ms over ${esc(m.manifest.observedSkew.n)} matches` : 'no matches'}</p>
<table><thead><tr><th>input</th><th>kind</th><th>bytes</th><th>items</th><th>problems</th><th>sha256</th></tr></thead><tbody>${inputsRows}</tbody></table>
${skippedRows ? `<h3>Skipped inputs</h3><table><thead><tr><th>path</th><th>reason</th></tr></thead><tbody>${skippedRows}</tbody></table>` : ''}
${diagRows ? `<h3>Input problems (${esc(m.diagnostics.length)})</h3><table><thead><tr><th>severity</th><th>where</th><th>message</th></tr></thead><tbody>${diagRows}</tbody></table>` : ''}
</section>
</main>
</body>
</html>
`;
}
