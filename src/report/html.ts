/**
 * `report --out out.html`: ONE self-contained file a responder can navigate. Nothing is fetched or
 * run when it is viewed (no scripts, no external styles, fonts or images; a Content-Security-Policy
 * forbids them all), and every byte that came from the evidence is HTML-escaped (html-escape.ts).
 *
 * Navigation without script: a table of contents; every finding links to the rows that show its
 * evidence (log record, captured connection, timeline entry, explanation trace; config and policy
 * evidence under "other cited evidence") and every such row links back (html-anchors.ts); filters
 * are CSS `:target` rules (per severity and namespace for findings, per kind for the timeline);
 * long tables scroll inside their section. Sections: summary cards (coloured by value), findings,
 * the time-axis plot (html-timeplot.ts), the service graph (html-graph.ts, dagre layout), the
 * timeline (one expandable row per request or connection: outbound log, capture, inbound log),
 * requests and their explanation traces, captured connections, other cited evidence, chain of
 * custody. Sidecar-local legs (plaintext by design) are muted everywhere. Times are shown at one
 * precision (milliseconds, UTC); the as-recorded value is in each time's tooltip.
 */
import type { AppProtocolFacts, AppStatement, EvidenceRef, Finding, FlowSecurity } from '../model/records.js';
import type { JsonValue } from '../model/attrs.js';
import type { Decision, TraceNode } from '../model/decision.js';
import type { FlowView, ReportModel, RequestView } from '../analysis/report-model.js';
import type { TimelineEvent } from '../analysis/timeline.js';
import { formatRef } from '../analysis/report-model.js';
import { esc, fmtClock, fmtTimeMs, fmtTimeString, truncate } from './html-escape.js';
import { ReportAnchors, type EvidenceTargets } from './html-anchors.js';
import { renderGraphSvg, SEC_COLOR } from './html-graph.js';
import { renderTimePlot } from './html-timeplot.js';

export { esc } from './html-escape.js';
export { renderGraphSvg, layoutGraph } from './html-graph.js';

/** Rows shown per long section (the JSON report has everything); rows a finding links to are always shown. */
export const HTML_LIMITS = { timeline: 2000, requests: 500, flows: 2000 };

const SEV_COLOR: Record<string, string> = { critical: '#7b1fa2', high: '#c62828', medium: '#ef6c00', low: '#1565c0', info: '#546e7a' };
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const LOCAL_COLOR = '#90a4ae';
const TL_FILTERS = [
  ['denied', 'denied'],
  ['rejected', 'rejected'],
  ['cited', 'cited by a finding'],
  ['nolocal', 'without sidecar-local legs'],
] as const;

const CSS = `
*{box-sizing:border-box}
html{scroll-padding-top:92px}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f5f6f8;overflow-wrap:anywhere}
header{background:#1d2430;color:#fff;padding:16px 24px}
header h1{margin:0 0 4px;font-size:22px}
header .meta{opacity:.85;font-size:13px}
nav.toc{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid #dde1e7;padding:6px 24px;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}
nav.toc a{color:#1d2430;text-decoration:none;white-space:nowrap}
nav.toc a:hover{text-decoration:underline}
nav.toc b{font-weight:600;color:#546e7a}
main{padding:16px 24px;max-width:1500px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 16px;margin:0 0 16px;min-width:0}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:12px 0 6px}
a{color:#0b57d0}
:target{outline:3px solid #ffb300;outline-offset:2px}
.ftarget:target{outline:none}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 8px}
.card{display:block;border:1px solid #dde1e7;border-radius:6px;padding:7px 11px;min-width:118px;color:#1d2430;text-decoration:none;background:#fff}
.card b{display:block;font-size:20px}
.card.zero{color:#78909c;background:#f7f8fa}
.card.zero b{color:#90a4ae}
.card:hover{box-shadow:0 1px 4px rgba(0,0,0,.15)}
.sev{display:inline-block;color:#fff;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:600;text-transform:uppercase}
.fbar{display:flex;flex-wrap:wrap;gap:4px 6px;margin:0 0 10px;font-size:12.5px;align-items:center}
.fbar a{border:1px solid #cfd6de;border-radius:12px;padding:1px 9px;text-decoration:none;color:#1d2430;background:#fff}
.fbar .lbl{color:#546e7a;margin-left:6px}
.ftarget{display:block;height:0;overflow:hidden}
details.finding{border-left:4px solid #999;padding:6px 12px;margin:0 0 10px;background:#fafbfc;border-radius:0 6px 6px 0}
details.finding>summary{font-weight:600;font-size:15px}
details.finding .id{font-family:ui-monospace,Menlo,monospace;color:#455;font-size:12px;font-weight:400}
.fix{margin:4px 0}
.evidence{margin:4px 0}
.evidence li{margin:2px 0}
.evidence a,.back a,.legs a{font-size:12px;margin-right:6px}
.back{font-size:12px;color:#546e7a}
code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;background:#f0f2f5;padding:6px 8px;border-radius:4px;margin:4px 0}
code.stmt{white-space:pre-wrap;word-break:break-word;background:#fff3e0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;border-bottom:1px solid #eceff3;padding:4px 6px;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:12px;position:sticky;top:0}
td{font-size:12.5px;min-width:4em}
tr.local td,details.local>summary,.ev.local>summary{color:#78909c}
.pill{display:inline-block;border-radius:10px;padding:0 7px;font-size:11px;color:#fff;margin-right:3px;white-space:nowrap}
.pill.local{background:${LOCAL_COLOR}}
.pill.more{background:#546e7a}
a.pill{text-decoration:none}
details{margin:3px 0}
summary{cursor:pointer}
ul.trace{list-style:none;padding-left:16px;margin:2px 0}
ul.trace li{margin:1px 0}
.m-true{color:#2e7d32}.m-false{color:#c62828}.m-undecidable{color:#ef6c00}
.legend{margin:0 0 6px}
.legend span{margin-right:14px;font-size:12px;display:inline-block}
.muted{color:#667}
svg text{font-family:system-ui,sans-serif}
svg.plot{display:block}
.day{font-weight:600;font-size:12.5px;margin:10px 0 2px;color:#455a64;border-bottom:1px solid #dde1e7}
.ev{margin:0;border-bottom:1px solid #f0f2f5}
.ev>summary{padding:2px 0;font-size:12.5px}
.ev .t{font-family:ui-monospace,Menlo,monospace;font-size:12px;color:#455a64;margin-right:4px}
.ev .k{display:inline-block;min-width:80px;font-size:11.5px;color:#455a64}
.ev.k-denied .k,.ev.k-rejected .k{color:#b71c1c;font-weight:600}
.legs{margin:2px 0 6px 22px;font-size:12.5px}
.legs div{margin:1px 0}
.legs .role{display:inline-block;min-width:92px;color:#546e7a;font-size:12px}
.changes ul{margin:4px 0;padding-left:20px;font-size:12.5px}
`;

function sevBadge(sev: string): string {
  return `<span class="sev" style="background:${SEV_COLOR[sev] ?? '#555'}">${esc(sev)}</span>`;
}

const LOCAL_TITLE = 'the app↔sidecar leg inside a pod: plaintext by design, not a finding';

/** A security pill; a sidecar-local leg gets a muted `sidecar-local` pill, never a red `plaintext` one. */
function secPill(sec: FlowSecurity | undefined, local: boolean): string {
  if (local) return `<span class="pill local" title="${esc(LOCAL_TITLE)}">sidecar-local</span>`;
  if (!sec) return '';
  return `<span class="pill" style="background:${SEC_COLOR[sec] ?? '#555'}">${esc(sec)}</span>`;
}

function timeHtml(ms: number | null | undefined, recorded: string | null | undefined, clockOnly = false): string {
  const shown = ms !== null && ms !== undefined && Number.isFinite(ms) ? (clockOnly ? fmtClock(ms) : fmtTimeMs(ms)) : fmtTimeString(recorded);
  return `<span class="t mono"${recorded ? ` title="${esc(`as recorded: ${recorded}`)}"` : ''}>${esc(shown)}</span>`;
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

function requestWhat(r: RequestView): string {
  const what = r.kind === 'http' ? `${r.method ?? '-'} ${r.path ?? '-'} → ${r.responseCode ?? '-'}` : 'TCP connection';
  return `${r.direction} ${what} ${r.responseCodeDetails ?? r.connectionTerminationDetails ?? ''} ${r.client ?? '?'} → ${r.server ?? '?'}`;
}

/** Everything the page renders, with the cross-references between its parts. */
class Page {
  readonly a: ReportAnchors;
  /** graph node id → namespace (from the graph; `ns/name` ids otherwise). */
  private readonly nsOfNode = new Map<string, string>();
  /** namespace → index (ids and class names never carry evidence text). */
  readonly namespaces: string[];
  readonly findingNs: number[][];
  readonly shownRequests: Set<number>;
  readonly shownFlows: Set<number>;
  readonly shownTimeline: Set<number>;
  private readonly labelOf = new Map<string, string>();
  /** request index → id of its (shared) explanation trace. */
  readonly traceOf = new Map<number, string>();
  readonly traces: { id: string; html: string; requests: number[] }[];

  constructor(readonly m: ReportModel) {
    this.a = new ReportAnchors(m);
    for (const n of m.graph.nodes) {
      if (n.namespace) this.nsOfNode.set(n.id, n.namespace);
      this.labelOf.set(n.id, n.kind === 'workload' && n.namespace ? `${n.namespace}/${n.label}` : n.label);
    }
    const nsSet = new Set<string>();
    const perFinding = m.findings.map((f, fi) => {
      const s = new Set<string>();
      for (const t of this.a.findingTargets[fi] ?? []) {
        const r = t.request ? m.requests[Number(t.request.slice(4))] : undefined;
        const fl = t.flow ? m.flows[Number(t.flow.slice(5))] : undefined;
        const ev = t.timeline ? m.timeline[Number(t.timeline.slice(3))] : undefined;
        for (const id of [r?.clientNode, r?.serverNode, fl?.clientNode, fl?.serverNode, ev?.from, ev?.to]) {
          const ns = this.nodeNamespace(id);
          if (ns) s.add(ns);
        }
      }
      for (const v of detailStrings(f.details)) {
        const ns = this.nsOfNode.get(v);
        if (ns) s.add(ns);
      }
      const dns = f.details?.namespace;
      if (typeof dns === 'string' && dns) s.add(dns);
      for (const x of s) nsSet.add(x);
      return s;
    });
    this.namespaces = [...nsSet].sort();
    this.findingNs = perFinding.map((s) => [...s].map((ns) => this.namespaces.indexOf(ns)).sort((x, y) => x - y));
    const firstN = (n: number, limit: number, cited: Set<number>): Set<number> => {
      const out = new Set(cited);
      for (let i = 0; i < Math.min(n, limit); i++) out.add(i);
      return out;
    };
    // Requests cited by findings or disagreeing first, then the rest in order (see renderRequests).
    this.shownRequests = new Set(this.requestOrder().slice(0, HTML_LIMITS.requests));
    for (const i of this.a.citedIndices('req')) this.shownRequests.add(i);
    this.shownFlows = firstN(m.flows.length, HTML_LIMITS.flows, this.a.citedIndices('flow'));
    // Identical explanation traces (the same decision over the same config) are shown once and shared.
    const byHtml = new Map<string, { id: string; html: string; requests: number[] }>();
    for (const i of this.requestOrder()) {
      const d = this.shownRequests.has(i) ? m.requests[i]!.explanation?.decision : null;
      if (!d) continue;
      const html = renderDecision(d);
      let t = byHtml.get(html);
      if (!t) byHtml.set(html, (t = { id: `trace-${byHtml.size}`, html, requests: [] }));
      t.requests.push(i);
      this.traceOf.set(i, t.id);
    }
    this.traces = [...byHtml.values()];
    this.shownTimeline = firstN(m.timeline.length, HTML_LIMITS.timeline, this.a.citedIndices('tl'));
  }

  private nodeNamespace(id: string | null | undefined): string | null {
    if (!id || id === 'local' || id.startsWith('ip:')) return null;
    return this.nsOfNode.get(id) ?? (id.includes('/') ? id.slice(0, id.indexOf('/')) : null);
  }

  nodeLabel(id: string): string {
    return this.labelOf.get(id) ?? (id.startsWith('ip:') ? id.slice(3) : id);
  }

  requestOrder(): number[] {
    const rank = (r: RequestView): number => (r.findings.length > 0 ? 0 : r.explanation?.verdict === 'disagrees' ? 1 : 2);
    return this.m.requests.map((_, i) => i).sort((x, y) => rank(this.m.requests[x]!) - rank(this.m.requests[y]!) || x - y);
  }

  flowIsLocal(f: FlowView | undefined): boolean {
    return !!f && (f.sidecarLocal || f.clientNode === 'local' || f.serverNode === 'local');
  }

  eventIsLocal = (e: TimelineEvent): boolean => {
    if (e.from === 'local' || e.to === 'local') return true;
    return this.flowIsLocal(this.a.flowOf(e.source === 'capture' ? e.ref : e.correlated));
  };

  requestIsLocal(r: RequestView): boolean {
    return r.clientNode === 'local' || r.serverNode === 'local' || this.flowIsLocal(this.a.flowOf(r.flow ?? undefined));
  }

  /** Links to the findings citing element `id`. */
  back(id: string): string {
    return this.backList(this.a.findingsCiting(id));
  }

  backList(fs: number[]): string {
    if (fs.length === 0) return '';
    return `<span class="back">↩ ${fs.map((i) => `<a href="#finding-${i}" class="pill" style="background:${SEV_COLOR[this.m.findings[i]!.severity] ?? '#455a64'}" title="${esc(truncate(this.m.findings[i]!.summary, 140))}">${esc(this.m.findings[i]!.id)}</a>`).join('')}</span>`;
  }

  reqLink(ref: EvidenceRef | null | undefined, text?: string): string {
    if (!ref) return '';
    const i = this.a.requestIndex(ref);
    return i !== undefined && this.shownRequests.has(i) ? `<a href="#req-${i}">${esc(text ?? formatRef(ref))}</a>` : `<span class="mono">${esc(text ?? formatRef(ref))}</span>`;
  }

  flowLink(ref: EvidenceRef | null | undefined, text?: string): string {
    if (!ref) return '';
    const i = this.a.flowIndex(ref);
    return i !== undefined && this.shownFlows.has(i) ? `<a href="#flow-${i}">${esc(text ?? formatRef(ref))}</a>` : `<span class="mono">${esc(text ?? formatRef(ref))}</span>`;
  }

  tlLink(ref: EvidenceRef | null | undefined): string {
    if (!ref) return '';
    const i = this.a.timelineIndex(ref);
    return i !== undefined && this.shownTimeline.has(i) ? `<a href="#tl-${i}">timeline</a>` : '';
  }
}

/** String values inside a finding's details (to find the workloads it names). */
function detailStrings(d: JsonValue | undefined, depth = 0, out: string[] = []): string[] {
  if (d === null || d === undefined || depth > 4 || out.length > 200) return out;
  if (typeof d === 'string') out.push(d);
  else if (Array.isArray(d)) for (const x of d) detailStrings(x, depth + 1, out);
  else if (typeof d === 'object') for (const x of Object.values(d)) detailStrings(x, depth + 1, out);
  return out;
}

// ---- Findings.

/** The cleartext statement a capture reference points at (its frame), as the connection row shows it (redacted). */
function statementAt(p: Page, ref: EvidenceRef): AppStatement | undefined {
  if (ref.frame === undefined || ref.frames) return undefined;
  return p.a.flowOf(ref)?.app?.statements.find((x) => x.frame === ref.frame);
}

function evidenceItem(t: EvidenceTargets, trace: string | undefined, statement?: AppStatement): string {
  const links: string[] = [];
  if (t.request) links.push(`<a href="#${t.request}">log record</a>`);
  if (trace) links.push(`<a href="#${trace}">trace</a>`);
  if (t.flow) links.push(`<a href="#${t.flow}">connection</a>`);
  if (t.timeline) links.push(`<a href="#${t.timeline}">timeline</a>`);
  if (t.other) links.push(`<a href="#${t.other}">cited evidence</a>`);
  return `<li><span class="mono">${esc(formatRef(t.ref))}</span> ${links.join('')}${statement ? `<br><code class="stmt">${esc(truncate(statement.text, 300))}</code>` : ''}</li>`;
}

function renderFinding(p: Page, f: Finding, i: number): string {
  const targets = p.a.findingTargets[i] ?? [];
  const occ = typeof f.details?.occurrences === 'number' ? f.details.occurrences : null;
  const nsClasses = (p.findingNs[i] ?? []).map((n) => ` ns-${n}`).join('');
  const seen = typeof f.details?.firstSeen === 'string' ? ` · ${esc(fmtTimeString(f.details.firstSeen))}${typeof f.details?.lastSeen === 'string' && f.details.lastSeen !== f.details.firstSeen ? ` – ${esc(fmtTimeString(f.details.lastSeen))}` : ''}` : '';
  const items = targets.map((t) => evidenceItem(t, t.request ? p.traceOf.get(Number(t.request.slice(4))) : undefined, statementAt(p, t.ref)));
  const shownItems = items.length > 12 ? `${items.slice(0, 12).join('')}</ul><details><summary>${items.length - 12} more</summary><ul>${items.slice(12).join('')}</ul></details><ul>` : items.join('');
  return `<details class="finding sev-${esc(f.severity)}${nsClasses}" id="finding-${i}" data-finding="${esc(f.id)}" style="border-left-color:${SEV_COLOR[f.severity] ?? '#999'}"${f.severity !== 'info' ? ' open' : ''}>
<summary>${sevBadge(f.severity)} ${esc(f.summary)} <span class="id">${esc(f.id)}${occ !== null && !f.summary.includes(`(×${occ})`) ? ` · ×${esc(occ)}` : ''}${seen}</span></summary>
${f.fix ? `<div class="fix"><b>Fix:</b> ${esc(f.fix)}</div>` : ''}
${closestMissHtml(f)}<div class="evidence"><b>Evidence</b> (${esc(f.evidence.length)}${occ !== null && occ > f.evidence.length ? ` of ${esc(occ)} occurrences` : ''}):<ul>${shownItems}</ul></div>
${detailsJson(f.details)}
</details>`;
}

function renderFindings(p: Page): string {
  const m = p.m;
  if (m.findings.length === 0) return '<p>No findings.</p>';
  const sevCount = (s: string): number => m.findings.filter((f) => f.severity === s).length;
  const targets = [...SEVERITIES.filter((s) => sevCount(s) > 0).map((s) => `ff-sev-${s}`), ...p.namespaces.map((_, i) => `ff-ns-${i}`)];
  const bar = `<div class="fbar"><span class="lbl">show:</span><a href="#ff-all">all (${m.findings.length})</a>${SEVERITIES.filter((s) => sevCount(s) > 0).map((s) => `<a href="#ff-sev-${s}" style="border-color:${SEV_COLOR[s]}">${s} (${sevCount(s)})</a>`).join('')}${p.namespaces.length ? `<span class="lbl">namespace:</span>${p.namespaces.map((ns, i) => `<a href="#ff-ns-${i}">${esc(ns)} (${p.findingNs.filter((x) => x.includes(i)).length})</a>`).join('')}` : ''}</div>`;
  return `${['ff-all', ...targets].map((t) => `<span class="ftarget" id="${t}"></span>`).join('')}
${bar}
<div class="flist">
${m.findings.map((f, i) => renderFinding(p, f, i)).join('\n')}
</div>`;
}

/** The :target filter rules (generated from fixed names and indices only). */
function filterCss(p: Page): string {
  const rules: string[] = [];
  for (const s of SEVERITIES) {
    rules.push(`#ff-sev-${s}:target~.flist>.finding:not(.sev-${s}){display:none}`);
    rules.push(`#ff-sev-${s}:target~.fbar a[href="#ff-sev-${s}"]{background:#1d2430;color:#fff}`);
  }
  p.namespaces.forEach((_, i) => {
    rules.push(`#ff-ns-${i}:target~.flist>.finding:not(.ns-${i}){display:none}`);
    rules.push(`#ff-ns-${i}:target~.fbar a[href="#ff-ns-${i}"]{background:#1d2430;color:#fff}`);
  });
  for (const [k] of TL_FILTERS) rules.push(`#tlf-${k}:target~.fbar a[href="#tlf-${k}"]{background:#1d2430;color:#fff}`);
  rules.push('#tlf-denied:target~.tl .ev:not(.k-denied){display:none}');
  rules.push('#tlf-rejected:target~.tl .ev:not(.k-rejected){display:none}');
  rules.push('#tlf-cited:target~.tl .ev:not(.cited){display:none}');
  rules.push('#tlf-nolocal:target~.tl .ev.local{display:none}');
  return rules.join('\n');
}

// ---- Timeline: one row per request or connection; it expands to the records and capture behind it.

function renderTimeline(p: Page): string {
  const m = p.m;
  // A cleartext exchange on a connection that has its own row (the connection, or the request it carried)
  // is shown inside that row: one row per connection or request.
  const flowOfEvent = (e: TimelineEvent): number | undefined => p.a.flowIndex(e.source === 'capture' ? e.ref : (e.correlated ?? e.ref));
  const rowOfFlow = new Map<number, number>();
  m.timeline.forEach((e, i) => {
    if (e.kind === 'exchange') return;
    const fi = flowOfEvent(e);
    if (fi !== undefined && !rowOfFlow.has(fi)) rowOfFlow.set(fi, i);
  });
  const children = new Map<number, number[]>();
  const nested = new Set<number>();
  m.timeline.forEach((e, i) => {
    if (e.kind !== 'exchange') return;
    const fi = flowOfEvent(e);
    const parent = fi !== undefined ? rowOfFlow.get(fi) : undefined;
    if (parent === undefined) return;
    nested.add(i);
    const c = children.get(parent) ?? [];
    c.push(i);
    children.set(parent, c);
  });
  const out: string[] = [];
  let day = '';
  let skipped = 0;
  m.timeline.forEach((e, i) => {
    if (nested.has(i)) return;
    const kids = children.get(i) ?? [];
    if (!p.shownTimeline.has(i) && !kids.some((k) => p.shownTimeline.has(k))) {
      skipped++;
      return;
    }
    if (skipped) {
      out.push(`<div class="muted">… ${skipped} event(s) not shown …</div>`);
      skipped = 0;
    }
    const d = fmtTimeMs(e.timeMs).slice(0, 10);
    if (d !== day) {
      day = d;
      out.push(`<div class="day">${esc(d || 'no date')}</div>`);
    }
    const local = p.eventIsLocal(e);
    const cited = [i, ...kids].some((k) => p.a.findingsCiting(`tl-${k}`).length > 0);
    const cut = e.summary.indexOf(' — ');
    let head = cut > 0 ? e.summary.slice(0, cut) : e.summary;
    if (e.kind === 'connection' && kids.length) {
      const x = m.timeline[kids[0]!]!.summary;
      head += ` · ${x.replace(/ in \S+ \S+$/, '')}${kids.length > 1 ? ` (+${kids.length - 1} more)` : ''}`;
    }
    const back = [...new Set([i, ...kids].flatMap((k) => p.a.findingsCiting(`tl-${k}`)))].sort((a, b) => a - b);
    const kidRows = kids
      .map((k) => {
        const x = m.timeline[k]!;
        return `<div id="tl-${k}"><span class="role">HTTP exchange</span>${p.flowLink(x.ref)} ${timeHtml(x.timeMs, x.time, true)} <span class="mono">${esc(x.summary)}</span> ${p.back(`tl-${k}`)}</div>`;
      })
      .join('');
    out.push(`<details class="ev k-${esc(e.kind)}${local ? ' local' : ''}${cited ? ' cited' : ''}" id="tl-${i}"><summary>${timeHtml(e.timeMs, e.time, true)}<span class="k">${esc(e.kind)}</span>${secPill(e.security, local)}<span class="mono">${esc(head)}</span>${e.more ? ` <span class="pill more" title="${esc(`${e.more.count} more events like this one, counted, not listed`)}">+${esc(e.more.count)} more until ${esc(fmtClock(Date.parse(e.more.until)))}</span>` : ''} ${p.backList(back)}</summary><div class="legs">${timelineLegs(p, e)}${kidRows}${e.more ? moreLine(p, e.more) : ''}</div></details>`);
  });
  if (skipped) out.push(`<div class="muted">… ${skipped} event(s) not shown …</div>`);
  const filters = `${TL_FILTERS.map(([k]) => `<span class="ftarget" id="tlf-${k}"></span>`).join('')}<span class="ftarget" id="tlf-all"></span>
<div class="fbar"><span class="lbl">show:</span><a href="#tlf-all">all</a>${TL_FILTERS.map(([k, label]) => `<a href="#tlf-${k}">${esc(label)}</a>`).join('')}</div>`;
  return `${filters}<div class="tl">${out.join('\n')}</div>`;
}

/** The parts of one timeline row: outbound log record(s), the capture, inbound log record(s). */
function timelineLegs(p: Page, e: TimelineEvent): string {
  const m = p.m;
  const rows: { order: number; html: string }[] = [];
  const flowPart = (ref: EvidenceRef, role: string, order: number): void => {
    const f = p.a.flowOf(ref);
    const text = f ? `${f.security.toUpperCase()} ${f.protocol} ${f.client.ip}:${f.client.port} → ${f.server.ip}:${f.server.port}${f.tls?.sni ? ` SNI ${f.tls.sni}` : ''}` : '';
    rows.push({ order, html: `<div><span class="role">${esc(role)}</span>${p.flowLink(ref)} ${f ? secPill(f.security, p.flowIsLocal(f)) : ''}<span class="mono">${esc(text)}</span></div>` });
  };
  if (e.source === 'access-log') {
    for (const ref of [e.ref, ...(e.also ?? [])]) {
      const ri = p.a.requestIndex(ref);
      const r = ri !== undefined ? m.requests[ri] : undefined;
      const dir = r?.direction ?? 'unknown';
      const order = dir === 'outbound' ? 0 : dir === 'inbound' ? 2 : 3;
      rows.push({ order, html: `<div><span class="role">log ${esc(dir)}</span>${p.reqLink(ref)} <span class="mono">${r ? `${timeHtml(r.time ? Date.parse(r.time) : null, r.time)} ${esc(requestWhat(r))}${r.proxy ? ` · ${esc(r.proxy)}` : ''}` : ''}</span></div>` });
    }
    if (e.correlated) flowPart(e.correlated, 'capture', 1);
    const cut = e.summary.indexOf(' — ');
    if (cut > 0) rows.push({ order: 4, html: `<div class="muted">${esc(e.summary.slice(cut + 3))}</div>` });
  } else {
    flowPart(e.ref, e.kind === 'exchange' ? 'capture (HTTP)' : 'capture', 1);
    for (const ref of e.also ?? []) flowPart(ref, 'also captured', 2);
    const f = p.a.flowOf(e.ref);
    if (f && f.records.length) rows.push({ order: 3, html: `<div><span class="role">log records</span>${f.records.map((r) => p.reqLink(r)).join(' ')}${f.recordsNotListed ? ` <span class="muted">and ${esc(f.recordsNotListed)} more</span>` : ''}</div>` });
  }
  return rows.sort((x, y) => x.order - y.order).map((r) => r.html).join('');
}

/** An exemplar's `more`: how many like it were counted but not listed, until when, and the last one's evidence. */
function moreLine(p: Page, more: { count: number; until: string | null; last: EvidenceRef }): string {
  const last = p.a.requestIndex(more.last) !== undefined ? p.reqLink(more.last) : p.a.flowIndex(more.last) !== undefined ? p.flowLink(more.last) : `<span class="mono">${esc(formatRef(more.last))}</span>`;
  return `<div class="more"><span class="role">and ${esc(more.count)} more</span>like this one, counted, not listed${more.until ? `, the last at ${timeHtml(Date.parse(more.until), more.until)}` : ''}: ${last}</div>`;
}

// ---- Requests and traces.

function renderTraces(p: Page): string {
  if (p.traces.length === 0) return '';
  const items = p.traces.map((t, k) => {
    const d = p.m.requests[t.requests[0]!]!.explanation!.decision!;
    const back = [...new Set(t.requests.flatMap((i) => p.a.findingsCiting(`req-${i}`)))].sort((a, b) => a - b);
    const used = t.requests.slice(0, 20).map((i) => `<a href="#req-${i}">${esc(formatRef(p.m.requests[i]!.ref).replace(/^.*\//, ''))}</a>`).join(' ');
    return `<details class="trace"><summary>T${k + 1}: <b>${esc(d.decision)}</b>${d.policy ? ` by <code>${esc(d.policy)}</code>` : ''}${d.responseCodeDetails ? ` <code>${esc(d.responseCodeDetails)}</code>` : ''} <span class="muted">— ${esc(t.requests.length)} record(s)</span></summary><div id="${t.id}"><div class="back">records: ${used}${t.requests.length > 20 ? ` … ${t.requests.length - 20} more` : ''} ${p.backList(back)}</div>${t.html}</div></details>`;
  });
  return `<h3 id="traces">Explanation traces (${p.traces.length} distinct; identical decisions are shown once)</h3>\n${items.join('\n')}`;
}

function renderRequest(p: Page, r: RequestView, i: number): string {
  const verdict = r.explanation ? r.explanation.verdict : null;
  const local = p.requestIsLocal(r);
  const badge = verdict ? `<span class="pill" style="background:${verdict === 'agrees' ? '#2e7d32' : verdict === 'disagrees' ? '#c62828' : '#ef6c00'}">${esc(verdict)}</span>` : '';
  const fields = Object.entries(r.fields ?? {}).map(([k, v]) => `<tr><td class="mono">${esc(k)}</td><td class="mono">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`).join('');
  const tl = p.tlLink(r.ref);
  return `<details class="request${local ? ' local' : ''}" id="req-${i}"><summary>${badge}${secPill(r.peerSecurity === 'unknown' ? undefined : r.peerSecurity, local)} ${timeHtml(r.time ? Date.parse(r.time) : null, r.time)} <span class="mono">${esc(requestWhat(r))}</span>${r.more ? ` <span class="pill more">+${esc(r.more.count)} more like this</span>` : ''} ${p.back(`req-${i}`)}</summary>${r.more ? `<div class="legs">${moreLine(p, r.more)}</div>` : ''}
<div class="mono">evidence: ${esc(formatRef(r.ref))}${r.flow ? ` · capture: ${p.flowLink(r.flow)} (${esc(r.correlatedBy ?? '')})` : ''}${tl ? ` · ${tl}` : ''}${r.proxy ? ` · dump: ${esc(r.proxy)}` : ''}${r.principal ? ` · peer: ${esc(r.principal)}` : ''} · peer TLS: ${esc(local ? 'sidecar-local leg' : r.peerSecurity)}</div>
${r.explanation ? `<div>${esc(r.explanation.reason)}</div>${r.explanation.identityEvidence.length ? `<div class="muted">identity evidence: ${esc(r.explanation.identityEvidence.join('; '))}</div>` : ''}${r.explanation.text ? `<pre>${esc(r.explanation.text)}</pre>` : ''}${p.traceOf.has(i) ? `<div><a href="#${p.traceOf.get(i)}">full trace</a></div>` : ''}` : `<div class="muted">not replayed (${r.direction === 'inbound' ? 'no config dump for this proxy' : 'only inbound records are replayed'})</div>`}
${fields ? `<details><summary>logged fields</summary><div class="scroll"><table>${fields}</table></div></details>` : ''}
</details>`;
}

/** Every policy layer's verdict on a flow: the first layer that denies (or the overall verdict), each layer on expanding. */
function layersHtml(f: ReportModel['flows'][number]): string {
  const v = f.networkLayers;
  if (!v) return '';
  const denied = v.deniedBy ? v.layers.find((l) => l.layer === v.deniedBy) : undefined;
  const head = denied ? `deny: ${denied.layer} (${denied.decidedBy})` : v.verdict;
  const items = v.layers
    .filter((l) => l.verdict !== 'not-applicable')
    .map((l) => `<li><b>${esc(l.layer)}</b> ${esc(l.verdict)}${l.decidedBy !== '-' ? ` — ${esc(l.decidedBy)}` : ''}<br><span class="muted">${esc(l.explanation)}</span>${l.closestMiss ? `<br><span class="muted">closest miss: ${esc(l.closestMiss)}</span>` : ''}</li>`)
    .join('');
  const notes = (v.notes ?? []).map((n) => `<li class="muted">${esc(n)}</li>`).join('');
  return `<details><summary>${esc(head)}</summary><ul>${items}${notes}</ul></details>`;
}

/** Statements shown in a connection's row before "N more" (all the report keeps are behind it). */
const STATEMENTS_SHOWN = 5;

/** A cleartext database/cache session (src/protocols/cleartext): who logged in, and its statements (redacted in the model). */
function appHtml(a: AppProtocolFacts): string {
  const who = [a.serverVersion ? `server ${a.serverVersion}` : '', a.user !== undefined ? `user ${a.user}` : '', a.database !== undefined ? `db ${a.database}` : '', a.auth ? `auth ${a.auth}` : '', a.passwordSent ? 'password sent' : ''].filter(Boolean);
  const line = (x: AppStatement): string => `<span class="muted">#${esc(x.frame)} ${esc(x.kind)}</span> <code class="stmt">${esc(truncate(x.text, 300))}</code>`;
  const shown = a.statements.slice(0, STATEMENTS_SHOWN).map(line);
  const rest = a.statements.slice(STATEMENTS_SHOWN).map(line);
  const notKept = a.statementsNotKept ? `<br><span class="muted">${esc(a.statementsNotKept)} more statement(s) counted, not kept</span>` : '';
  const errors = (a.errors ?? []).slice(0, 3).map((e) => `<br><span class="muted">#${esc(e.frame)} error</span> ${esc(truncate(e.text, 200))}`).join('');
  return `${esc(a.protocol)}${who.length ? ` <span class="muted">${esc(who.join(', '))}</span>` : ''}${shown.map((x) => `<br>${x}`).join('')}${rest.length ? `<details><summary>${esc(rest.length)} more</summary>${rest.join('<br>')}</details>` : ''}${notKept}${errors}`;
}

function renderFlows(p: Page): string {
  const m = p.m;
  const rows: string[] = [];
  const withLayers = m.flows.some((f) => f.networkLayers);
  m.flows.forEach((f, i) => {
    if (!p.shownFlows.has(i)) return;
    const local = p.flowIsLocal(f);
    const layers = withLayers ? `<td>${layersHtml(f)}</td>` : '';
    const http = `${f.http.slice(0, 5).map((x) => `${esc(x.method ?? '')} ${esc(x.path ?? '')}${x.status !== undefined ? ` → ${esc(x.status)}` : ''}${Object.entries(x.headers).filter(([k]) => k !== 'x-request-id').slice(0, 6).map(([k, v]) => `<br><span class="muted">${esc(k)}: ${esc(v.join(', '))}</span>`).join('')}`).join('<br>')}${f.http.length > 5 ? `<br>… ${f.http.length - 5} more` : ''}`;
    const recs = `${f.records.map((r) => p.reqLink(r, r.line !== undefined ? `:${r.line}` : formatRef(r))).join(' ')}${f.recordsNotListed ? ` <span class="muted">and ${esc(f.recordsNotListed)} more</span>` : ''}`;
    const tl = p.tlLink({ file: f.file, frame: f.frames[0] });
    rows.push(`<tr id="flow-${i}"${local ? ' class="local"' : ''}><td>${timeHtml(f.startMs, f.start)}</td><td class="mono">${esc(f.client.ip)}:${esc(f.client.port)}</td><td class="mono">${esc(f.server.ip)}:${esc(f.server.port)}</td><td>${secPill(f.security, local)}${local ? `<br><span class="muted">${esc(f.security)}</span>` : ''}</td><td class="mono">${esc(f.protocol)}${f.tls?.sni ? `<br>SNI ${esc(f.tls.sni)}` : ''}${f.tls?.uriSans.length ? `<br>${esc(f.tls.uriSans.join(', '))}` : ''}</td><td class="mono">${esc(f.evidence.join(', '))}</td>${layers}<td class="mono">${http}${f.app ? `${http ? '<br>' : ''}${appHtml(f.app)}` : ''}</td><td class="mono">${esc(f.file)}#${esc(f.frames[0] ?? '')}${f.frames.length > 1 ? `-${esc(f.frames[f.frames.length - 1])}` : ''}${f.sameConnectionAs ? `<br><span class="muted">same connection as ${p.flowLink(f.sameConnectionAs)}</span>` : ''}</td><td>${recs}${tl ? ` ${tl}` : ''} ${p.back(`flow-${i}`)}</td></tr>`);
  });
  if (m.flows.length === 0) return '<p class="muted">No captures.</p>';
  return `<div class="scroll"><table><thead><tr><th>start (UTC)</th><th>client</th><th>server</th><th>security</th><th>protocol</th><th>evidence</th>${withLayers ? '<th>policy layers</th>' : ''}<th>cleartext (HTTP, statements)</th><th>frames</th><th>links</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function renderOthers(p: Page): string {
  if (p.a.others.length === 0) return '<p class="muted">Every cited piece of evidence is a row above.</p>';
  const inputIdx = new Map(p.m.manifest.inputs.map((x, i) => [x.path, i]));
  const rows = p.a.others.map(({ id, ref }) => {
    const ii = inputIdx.get(ref.file);
    const input = ii !== undefined ? p.m.manifest.inputs[ii]! : undefined;
    return `<tr id="${id}"><td class="mono">${esc(formatRef(ref))}</td><td>${input ? `<a href="#input-${ii}">${esc(input.kind)}</a>` : ''}</td><td>${p.back(id)}</td></tr>`;
  });
  return `<div class="scroll"><table><thead><tr><th>evidence</th><th>input</th><th>cited by</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

export function renderHtml(m: ReportModel): string {
  const p = new Page(m);
  const s = m.summary;
  const tr = m.manifest.timeRange;
  const range = tr.start ? `${fmtTimeString(tr.start)} – ${fmtTimeString(tr.end)}` : 'no timed events';
  type Tone = 'bad' | 'good' | 'neutral';
  const card = (label: string, value: number, tone: Tone, href: string, color?: string): string => {
    const zero = value === 0 && tone !== 'neutral';
    const c = color ?? (tone === 'good' ? SEC_COLOR.mtls : undefined);
    const style = !zero && c && tone !== 'neutral' ? ` style="border-color:${c};background:${c}14"` : '';
    return `<a class="card${zero ? ' zero' : ''}" href="${href}"${style}><b${!zero && c && tone !== 'neutral' ? ` style="color:${c}"` : ''}>${esc(value)}</b>${esc(label)}</a>`;
  };
  const sevCards = SEVERITIES.map((sv) => card(`${sv} findings`, s.findings.bySeverity[sv], sv === 'info' ? 'neutral' : 'bad', s.findings.bySeverity[sv] ? `#ff-sev-${sv}` : '#findings', SEV_COLOR[sv])).join('');
  const requestsShown = p.requestOrder().filter((i) => p.shownRequests.has(i));
  const more = (n: number, shown: number, what: string): string => (n > shown ? `<p class="muted">Showing ${shown} of ${n} ${what} (every one a finding cites, then the first); the JSON report (--out report.json) has all of them.</p>` : '');
  const inputsRows = m.manifest.inputs.map((i, k) => `<tr id="input-${k}"><td class="mono">${esc(i.path)}</td><td>${esc(i.kind)}${i.format ? ` (${esc(i.format)})` : ''}</td><td>${esc(i.bytes)}</td><td>${esc(i.items)}</td><td>${esc(i.problems)}</td><td class="mono">${esc(i.sha256 ?? '')}</td></tr>`).join('\n');
  const skippedRows = m.manifest.skipped.map((k) => `<tr><td class="mono">${esc(k.path)}</td><td>${esc(k.reason)}</td></tr>`).join('\n');
  const diagRows = m.diagnostics.slice(0, 500).map((d) => `<tr><td>${esc(d.severity)}</td><td class="mono">${esc(d.where)}</td><td>${esc(d.message)}</td></tr>`).join('\n');
  const toc: [string, string][] = [
    ['summary', 'Summary'],
    ['findings', `Findings (${m.findings.length})`],
    ['time-axis', 'Time axis'],
    ['graph', 'Service graph'],
    ['timeline', `Timeline (${s.timelineEvents})`],
    ['requests', `Requests (${s.records.total})`],
    ['flows', `Connections (${m.flows.length})`],
    ['cited', `Other cited evidence (${p.a.others.length})`],
    ['custody', 'Chain of custody'],
  ];

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="meshsleuth ${esc(m.manifest.tool.version)}">
<title>meshsleuth incident report — ${esc(range)}</title>
<style>${CSS}
${filterCss(p)}</style>
</head>
<body>
<header><h1>meshsleuth incident report</h1><div class="meta">${esc(range)} · ${esc(m.manifest.inputs.length)} inputs · generated ${esc(m.manifest.generatedAt)} by meshsleuth ${esc(m.manifest.tool.version)} · clock-skew window ±${esc(m.manifest.skewMs)} ms · times in UTC at millisecond precision${m.manifest.secretsShown ? ' · <b>SECRETS SHOWN</b>' : ' · secrets redacted'}</div></header>
<nav class="toc" aria-label="contents">${toc.map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`).join('')}</nav>
<main>
<section id="summary"><h2>Summary</h2>
<div class="cards">${sevCards}</div>
<div class="cards">${card('connections captured', s.flows.total, 'neutral', '#flows')}${card('mTLS', s.flows.mtls, 'good', '#flows')}${card('TLS (one-way)', s.flows.tls, 'bad', '#flows', SEC_COLOR.tls)}${card('plaintext that left the pod', s.flows.plaintextLeftPod, 'bad', '#findings', SEC_COLOR.plaintext)}${card('sidecar-local legs (plaintext by design)', s.flows.sidecarLocal, 'neutral', '#flows')}</div>
<div class="cards">${card('log records', s.records.total, 'neutral', '#requests')}${card('RBAC denied', s.records.denied, 'bad', '#tlf-denied', '#c62828')}${card('NR (no filter chain)', s.records.rejected, 'bad', '#tlf-rejected', '#ef6c00')}${card('replay disagrees', s.explanations.disagrees, 'bad', '#requests', '#c62828')}${card('replay undecidable', s.explanations.undecidable, 'bad', '#requests', '#ef6c00')}${card('proxies (dumps)', s.proxies, 'neutral', '#custody')}</div>
</section>
<section id="findings"><h2>Findings (${esc(m.findings.length)})</h2>
${renderFindings(p)}
</section>
<section id="time-axis"><h2>Time axis: traffic per workload pair, and config changes</h2>
${renderTimePlot(m, p.eventIsLocal, (id) => p.nodeLabel(id))}
</section>
<section id="graph"><h2>Service graph</h2>
<div class="legend"><span style="color:${SEC_COLOR.mtls}">━ mTLS</span><span style="color:${SEC_COLOR.tls}">━ TLS (no client cert)</span><span style="color:${SEC_COLOR.plaintext}">━ plaintext</span><span style="color:${SEC_COLOR.unknown}">━ unknown</span><span style="color:#b71c1c">┅ denied / rejected</span><span>colour from the strongest evidence (captured connections, else the requests' connection security); mixed edges list each count</span><span>red outline: involved in a finding · ⚠ no sidecar</span></div>
<div class="scroll">${renderGraphSvg(m.graph.nodes, m.graph.edges)}</div>
</section>
<section id="timeline"><h2>Timeline (${esc(s.timelineEvents)} events${s.aggregated ? `, ${esc(s.aggregated.timeline.listed)} listed as exemplars with counts` : ''}${s.recordsWithoutTime ? `; ${esc(s.recordsWithoutTime)} records without a time not shown` : ''})</h2>
<p class="muted">One row per request or connection: open it for the outbound log record, the capture and the inbound log record behind it.</p>
${more(m.timeline.length, p.shownTimeline.size, 'events')}
${renderTimeline(p)}
</section>
<section id="requests"><h2>Requests and explanation traces (${esc(s.records.total)} records${s.aggregated ? `, ${esc(s.aggregated.requests.listed)} listed as exemplars with counts` : ''})</h2>
${more(m.requests.length, p.shownRequests.size, 'records')}
${requestsShown.map((i) => renderRequest(p, m.requests[i]!, i)).join('\n') || '<p class="muted">No access-log records.</p>'}
${renderTraces(p)}
</section>
<section id="flows"><h2>Captured connections (${esc(m.flows.length)})</h2>
${more(m.flows.length, p.shownFlows.size, 'flows')}
${renderFlows(p)}
</section>
<section id="cited"><h2>Other cited evidence</h2>
<p class="muted">Config dumps, policy files and other evidence findings cite that is not a row above.</p>
${renderOthers(p)}
</section>
<section id="custody"><h2>Chain of custody</h2>
<p>meshsleuth ${esc(m.manifest.tool.version)} · generated ${esc(m.manifest.generatedAt)} · evidence time range ${esc(range)} · observed log↔capture offset: ${m.manifest.observedSkew.n ? `median ${esc(m.manifest.observedSkew.medianMs)} ms over ${esc(m.manifest.observedSkew.n)} matches` : 'no matches'}</p>
<div class="scroll"><table><thead><tr><th>input</th><th>kind</th><th>bytes</th><th>items</th><th>problems</th><th>sha256</th></tr></thead><tbody>${inputsRows}</tbody></table></div>
${skippedRows ? `<h3>Skipped inputs</h3><div class="scroll"><table><thead><tr><th>path</th><th>reason</th></tr></thead><tbody>${skippedRows}</tbody></table></div>` : ''}
${diagRows ? `<h3>Input problems (${esc(m.diagnostics.length)})</h3><div class="scroll"><table><thead><tr><th>severity</th><th>where</th><th>message</th></tr></thead><tbody>${diagRows}</tbody></table></div>` : ''}
</section>
</main>
</body>
</html>
`;
}
