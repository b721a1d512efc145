/**
 * The time-axis plot (static SVG): one lane per workload pair (client → server, as the timeline's
 * graph node ids), a mark wherever that pair's traffic happened, coloured by the connection's
 * security, denied and rejected requests drawn as a dark-red ✕ / ▽ over it; config changes (the
 * `last_updated` of each dump, grouped by time, so a policy stage is one line) are vertical dashed
 * lines across every lane, so "before and after the fix" reads off the picture. Marks are binned
 * per few pixels, so the picture's size does not grow with the number of events.
 * Sidecar-local and loopback legs are not workload pairs and are left out (counted in the caption).
 */
import type { FlowSecurity } from '../model/records.js';
import type { ReportModel } from '../analysis/report-model.js';
import type { TimelineEvent } from '../analysis/timeline.js';
import { esc, fmtClock, fmtTimeMs, truncate } from './html-escape.js';
import { SEC_COLOR } from './html-graph.js';

const W = 1000;
const LABEL_W = 250;
const PLOT_X0 = LABEL_W + 10;
const PLOT_X1 = W - 20;
const TOP = 34;
const LANE_H = 24;
const BIN_PX = 4;
export const PLOT_MAX_LANES = 40;
const DENIED = '#7f0000';

export interface ConfigChange {
  /** `C1`, `C2`, ... in time order. */
  label: string;
  timeMs: number;
  /** The dumps whose listeners' newest `last_updated` is this time. */
  sources: string[];
}

/** Dumps grouped by their `last_updated` (within one second): one config change each. */
export function configChanges(m: ReportModel): ConfigChange[] {
  const times = m.proxies
    .map((p) => ({ source: p.source, t: p.asOf ? Date.parse(p.asOf) : NaN }))
    .filter((x) => Number.isFinite(x.t))
    .sort((a, b) => a.t - b.t || a.source.localeCompare(b.source));
  const out: ConfigChange[] = [];
  for (const x of times) {
    const last = out[out.length - 1];
    if (last && x.t - last.timeMs < 1000) last.sources.push(x.source);
    else out.push({ label: `C${out.length + 1}`, timeMs: x.t, sources: [x.source] });
  }
  return out;
}

/** Whether the plot draws this event: traffic between two ends that are not the same pod's legs. */
function plotted(e: TimelineEvent, localFlow: (e: TimelineEvent) => boolean): boolean {
  return !!e.from && !!e.to && e.from !== 'local' && e.to !== 'local' && !localFlow(e);
}

type Outcome = 'allowed' | 'denied' | 'rejected';
const outcomeOf = (e: TimelineEvent): Outcome => (e.kind === 'denied' ? 'denied' : e.kind === 'rejected' ? 'rejected' : 'allowed');

/** Nice tick step (ms) for a span, at most ~8 ticks. */
function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 21600e3, 43200e3, 86400e3, 7 * 86400e3];
  return steps.find((s) => span / s <= 8) ?? 30 * 86400e3;
}

/**
 * The plot and its caption. `localFlow` says whether an event's capture evidence is a sidecar-local
 * leg; `laneLabel` turns a graph node id into what a person reads.
 */
export function renderTimePlot(m: ReportModel, localFlow: (e: TimelineEvent) => boolean, laneLabel: (id: string) => string): string {
  const events = m.timeline.filter((e) => Number.isFinite(e.timeMs));
  const shown = events.filter((e) => plotted(e, localFlow));
  const leftOut = events.length - shown.length;
  const changes = configChanges(m);
  if (shown.length === 0) return `<p class="muted">No timed traffic between workloads to plot${leftOut ? ` (${leftOut} sidecar-local or loopback event(s) left out)` : ''}.</p>`;

  // Lanes in order of first traffic; the busiest kept when there are too many.
  const lanes = new Map<string, { from: string; to: string; first: number; events: TimelineEvent[] }>();
  for (const e of shown) {
    const k = `${e.from}\u0000${e.to}`;
    let l = lanes.get(k);
    if (!l) lanes.set(k, (l = { from: e.from!, to: e.to!, first: e.timeMs, events: [] }));
    l.events.push(e);
  }
  let laneList = [...lanes.values()];
  let omittedLanes = 0;
  if (laneList.length > PLOT_MAX_LANES) {
    omittedLanes = laneList.length - PLOT_MAX_LANES;
    laneList = [...laneList].sort((a, b) => b.events.length - a.events.length).slice(0, PLOT_MAX_LANES);
  }
  laneList.sort((a, b) => a.first - b.first || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));

  // Time range: the traffic, widened to config changes no further than one span away (others listed).
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of shown) {
    const until = e.more ? Date.parse(e.more.until) : NaN;
    lo = Math.min(lo, e.timeMs);
    hi = Math.max(hi, e.timeMs, Number.isFinite(until) ? until : -Infinity);
  }
  const span0 = Math.max(hi - lo, 1000);
  const inRange = changes.filter((c) => c.timeMs >= lo - span0 && c.timeMs <= hi + span0);
  for (const c of inRange) {
    lo = Math.min(lo, c.timeMs);
    hi = Math.max(hi, c.timeMs);
  }
  const pad = Math.max((hi - lo) * 0.02, 500);
  lo -= pad;
  hi += pad;
  const x = (t: number): number => PLOT_X0 + ((t - lo) / (hi - lo)) * (PLOT_X1 - PLOT_X0);
  const height = TOP + laneList.length * LANE_H + 28;

  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" id="time-plot" class="plot" role="img" aria-label="traffic per workload pair over time" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}">`);
  // Lanes and labels.
  laneList.forEach((l, i) => {
    const y = TOP + i * LANE_H;
    const full = `${laneLabel(l.from)} → ${laneLabel(l.to)}`;
    // Too long with namespaces: the workload names alone (the tooltip has both ids).
    const name = full.length <= 40 ? full : `${laneLabel(l.from).replace(/^[^/]*\//, '')} → ${laneLabel(l.to).replace(/^[^/]*\//, '')}`;
    p.push(`<g class="lane"><rect x="0" y="${y}" width="${W}" height="${LANE_H}" fill="${i % 2 ? '#fafbfc' : '#fff'}"/><text x="${LABEL_W}" y="${y + 16}" font-size="11.5" text-anchor="end" fill="#1d2430"><title>${esc(`${l.from} → ${l.to}: ${l.events.reduce((n, e) => n + 1 + (e.more?.count ?? 0), 0)} event(s)`)}</title>${esc(truncate(name, 40))}</text></g>`);
  });
  // Time axis.
  const step = tickStep(hi - lo);
  const axisY = TOP + laneList.length * LANE_H;
  p.push(`<line x1="${PLOT_X0}" y1="${axisY}" x2="${PLOT_X1}" y2="${axisY}" stroke="#90a4ae"/>`);
  const multiDay = fmtTimeMs(lo).slice(0, 10) !== fmtTimeMs(hi).slice(0, 10);
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    const tx = x(t).toFixed(1);
    const label = multiDay ? `${fmtTimeMs(t).slice(5, 10)} ${fmtClock(t).slice(0, 5)}` : step >= 60e3 ? fmtClock(t).slice(0, 5) : step >= 1e3 ? fmtClock(t).slice(0, 8) : fmtClock(t);
    p.push(`<line x1="${tx}" y1="${TOP}" x2="${tx}" y2="${axisY + 4}" stroke="#eceff3"/><text x="${tx}" y="${axisY + 17}" font-size="10.5" text-anchor="middle" fill="#546e7a">${esc(label)}</text>`);
  }
  // Config changes.
  for (const c of inRange) {
    const cx = x(c.timeMs).toFixed(1);
    p.push(`<g class="config-change"><title>${esc(`${c.label} ${fmtTimeMs(c.timeMs)}: config of ${c.sources.length} dump(s) last updated\n${c.sources.join('\n')}`)}</title><line x1="${cx}" y1="${TOP - 14}" x2="${cx}" y2="${axisY}" stroke="#6a1b9a" stroke-width="1.4" stroke-dasharray="4 3"/><text x="${cx}" y="${TOP - 18}" font-size="10.5" font-weight="600" text-anchor="middle" fill="#6a1b9a">${esc(c.label)}</text></g>`);
  }
  // Marks, binned per BIN_PX pixels per lane.
  const secRank: FlowSecurity[] = ['plaintext', 'tls', 'mtls', 'unknown'];
  laneList.forEach((l, i) => {
    const y = TOP + i * LANE_H;
    const bins = new Map<number, { n: Record<Outcome, number>; sec: Record<FlowSecurity, number>; t0: number; t1: number }>();
    const add = (t: number, e: TimelineEvent, n: number): void => {
      const b = Math.floor((x(t) - PLOT_X0) / BIN_PX);
      let bin = bins.get(b);
      if (!bin) bins.set(b, (bin = { n: { allowed: 0, denied: 0, rejected: 0 }, sec: { mtls: 0, tls: 0, plaintext: 0, unknown: 0 }, t0: t, t1: t }));
      bin.n[outcomeOf(e)] += n;
      bin.sec[e.security ?? 'unknown'] += n;
      bin.t0 = Math.min(bin.t0, t);
      bin.t1 = Math.max(bin.t1, t);
    };
    for (const e of l.events) {
      add(e.timeMs, e, 1);
      // An exemplar standing for more events like it: a band to the last of them, which is counted there.
      const until = e.more ? Date.parse(e.more.until) : NaN;
      if (e.more && Number.isFinite(until)) {
        add(until, e, e.more.count);
        p.push(`<rect class="span" x="${x(e.timeMs).toFixed(1)}" y="${y + LANE_H / 2 - 1.5}" width="${Math.max(x(until) - x(e.timeMs), 1).toFixed(1)}" height="3" fill="${e.kind === 'denied' || e.kind === 'rejected' ? DENIED : SEC_COLOR[e.security ?? 'unknown']}" fill-opacity="0.45"><title>${esc(`${e.more.count} more like the event at ${fmtTimeMs(e.timeMs)}, until ${fmtTimeMs(until)} (counted; the last one marked there)`)}</title></rect>`);
      }
    }
    for (const [b, bin] of [...bins.entries()].sort((a2, b2) => a2[0] - b2[0])) {
      const bx = PLOT_X0 + b * BIN_PX;
      const sec = secRank.find((s) => bin.sec[s] > 0) ?? 'unknown';
      const when = bin.t0 === bin.t1 ? fmtTimeMs(bin.t0) : `${fmtTimeMs(bin.t0)} – ${fmtClock(bin.t1)}`;
      const what = [bin.n.allowed ? `${bin.n.allowed} allowed` : '', bin.n.denied ? `${bin.n.denied} denied` : '', bin.n.rejected ? `${bin.n.rejected} rejected` : ''].filter(Boolean).join(', ');
      const secs = secRank.filter((s) => bin.sec[s] > 0).map((s) => `${bin.sec[s]} ${s}`).join(', ');
      const marks: string[] = [];
      if (bin.n.allowed) marks.push(`<rect x="${bx}" y="${y + 5}" width="${BIN_PX - 1}" height="${LANE_H - 10}" fill="${SEC_COLOR[sec]}"/>`);
      if (bin.n.denied) marks.push(`<path d="M${bx - 2},${y + 6} l${BIN_PX + 3},${LANE_H - 12} m0,-${LANE_H - 12} l-${BIN_PX + 3},${LANE_H - 12}" stroke="${DENIED}" stroke-width="2"/>`);
      if (bin.n.rejected) marks.push(`<path d="M${bx - 2},${y + 6} h${BIN_PX + 3} l-${(BIN_PX + 3) / 2},${LANE_H - 12} z" fill="none" stroke="${DENIED}" stroke-width="1.6"/>`);
      p.push(`<g class="mark" data-outcome="${bin.n.denied ? 'denied' : bin.n.rejected ? 'rejected' : 'allowed'}" data-security="${sec}"><title>${esc(`${when}: ${what} (${secs})`)}</title>${marks.join('')}</g>`);
    }
  });
  p.push('</svg>');

  const legend = `<div class="legend"><span style="color:${SEC_COLOR.mtls}">▮ mTLS</span><span style="color:${SEC_COLOR.tls}">▮ TLS</span><span style="color:${SEC_COLOR.plaintext}">▮ plaintext</span><span style="color:${SEC_COLOR.unknown}">▮ unknown</span><span style="color:${DENIED}">✕ denied</span><span style="color:${DENIED}">▽ rejected (NR / refused)</span><span style="color:#6a1b9a">┆ config change</span></div>`;
  const notes: string[] = [];
  if (leftOut) notes.push(`${leftOut} sidecar-local or loopback event(s) are not workload pairs and are left out.`);
  if (omittedLanes) notes.push(`${omittedLanes} quieter pair(s) not drawn (the ${PLOT_MAX_LANES} busiest are).`);
  const outside = changes.filter((c) => !inRange.includes(c));
  const changeList = changes.length
    ? `<details class="changes"${changes.length <= 8 ? ' open' : ''}><summary>config changes (${changes.length}): dumps grouped by their listeners' newest <code>last_updated</code></summary><ul>${changes.map((c) => `<li><b>${esc(c.label)}</b> <span class="mono">${esc(fmtTimeMs(c.timeMs))}</span>${inRange.includes(c) ? '' : ' <span class="muted">(outside the plotted range)</span>'} — ${esc(c.sources.length)} dump(s): <span class="mono">${esc(commonDir(c.sources))}</span></li>`).join('')}</ul></details>`
    : '<p class="muted">No config dump carries a <code>last_updated</code> time: no config changes to mark.</p>';
  if (outside.length) notes.push(`${outside.length} config change(s) lie far outside the traffic and are listed, not drawn.`);
  return `${legend}<div class="scroll">${p.join('\n')}</div>${notes.length ? `<p class="muted">${esc(notes.join(' '))}</p>` : ''}${changeList}`;
}

/** The directory the sources share (`…/stages/01-allow-nothing/config_dumps/`), or the one source. */
function commonDir(sources: string[]): string {
  if (sources.length === 1) return sources[0]!;
  const split = sources.map((s) => s.split('/'));
  const first = split[0]!;
  let n = 0;
  while (n < first.length - 1 && split.every((s) => s[n] === first[n] && n < s.length - 1)) n++;
  return n === 0 ? sources.join(', ') : `${first.slice(0, n).join('/')}/ (${sources.map((s) => s.split('/').slice(n).join('/')).join(', ')})`;
}
