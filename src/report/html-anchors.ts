/**
 * The HTML report's cross-references: which element (request row, captured connection, timeline
 * entry, or an entry of "other cited evidence") shows each piece of evidence a finding cites, and
 * which findings cite each element (the links back). Ids are generated (`finding-3`, `req-12`,
 * `flow-4`, `tl-40`, `ev-2`): nothing from the evidence ever becomes an id or a class name.
 */
import type { EvidenceRef } from '../model/records.js';
import type { FlowView, ReportModel } from '../analysis/report-model.js';
import { refKey } from '../analysis/timeline.js';

/** Where a finding's evidence is shown. */
export interface EvidenceTargets {
  ref: EvidenceRef;
  /** The log record's row (`req-N`). */
  request?: string;
  /** The captured connection's row (`flow-N`). */
  flow?: string;
  /** The timeline entry that carries it (`tl-N`). */
  timeline?: string;
  /** An entry of "other cited evidence" (config dumps, policy files, anything without a row). */
  other?: string;
}

const captureKey = (file: string, frame: number): string => `${file}|#${frame}`;

export class ReportAnchors {
  /** refKey of a log record → index in `requests`. */
  private readonly requestByKey = new Map<string, number>();
  /** file|#frame (first frame, a cleartext exchange's request/response frame, or a cleartext statement's frame) → index in `flows`. */
  private readonly flowByFrame = new Map<string, number>();
  /** refKey (record or capture) → timeline indices. */
  private readonly timelineByKey = new Map<string, number[]>();
  /** flow index → timeline indices. */
  private readonly timelineByFlow = new Map<number, number[]>();
  /** Evidence without a row of its own, in first-cited order. */
  readonly others: { id: string; ref: EvidenceRef }[] = [];
  private readonly otherByKey = new Map<string, string>();
  /** element id → indices of the findings that cite it. */
  private readonly citedBy = new Map<string, number[]>();
  /** Per finding: its evidence, resolved. */
  readonly findingTargets: EvidenceTargets[][];

  constructor(private readonly m: ReportModel) {
    m.requests.forEach((r, i) => {
      const k = refKey(r.ref);
      if (!this.requestByKey.has(k)) this.requestByKey.set(k, i);
    });
    m.flows.forEach((f, i) => {
      const first = f.frames[0];
      if (first !== undefined && !this.flowByFrame.has(captureKey(f.file, first))) this.flowByFrame.set(captureKey(f.file, first), i);
      for (const x of f.http) {
        for (const fr of [x.requestFrame, x.responseFrame]) if (fr !== undefined && !this.flowByFrame.has(captureKey(f.file, fr))) this.flowByFrame.set(captureKey(f.file, fr), i);
      }
      for (const x of f.app?.statements ?? []) if (!this.flowByFrame.has(captureKey(f.file, x.frame))) this.flowByFrame.set(captureKey(f.file, x.frame), i);
    });
    m.timeline.forEach((e, i) => {
      for (const r of [e.ref, ...(e.correlated ? [e.correlated] : []), ...(e.also ?? [])]) {
        push(this.timelineByKey, refKey(r), i);
        const fi = this.flowIndex(r);
        if (fi !== undefined) push(this.timelineByFlow, fi, i);
      }
    });
    this.findingTargets = m.findings.map((f, fi) =>
      f.evidence.map((ref) => {
        const t = this.resolve(ref);
        for (const id of [t.request, t.flow, t.timeline, t.other]) if (id) push(this.citedBy, id, fi);
        // Every timeline entry that carries this evidence links back (a connection can be on several rows).
        for (const ti of this.timelinesOf(ref)) push(this.citedBy, `tl-${ti}`, fi);
        return t;
      }),
    );
    for (const ids of this.citedBy.values()) ids.splice(0, ids.length, ...[...new Set(ids)].sort((a, b) => a - b));
  }

  /** The flow shown for a capture reference (its first frame, or a frame of one of its cleartext exchanges or statements). */
  flowIndex(r: EvidenceRef): number | undefined {
    if (r.frame === undefined) return undefined;
    return this.flowByFrame.get(captureKey(r.file, r.frame));
  }

  requestIndex(r: EvidenceRef): number | undefined {
    return this.requestByKey.get(refKey(r));
  }

  /** The first timeline entry carrying this evidence. */
  timelineIndex(ref: EvidenceRef): number | undefined {
    const t = this.timelinesOf(ref);
    return t.length ? Math.min(...t) : undefined;
  }

  private timelinesOf(ref: EvidenceRef): number[] {
    const direct = this.timelineByKey.get(refKey(ref)) ?? [];
    const fi = this.flowIndex(ref);
    const viaFlow = fi !== undefined ? (this.timelineByFlow.get(fi) ?? []) : [];
    return [...new Set([...direct, ...viaFlow])];
  }

  private resolve(ref: EvidenceRef): EvidenceTargets {
    const t: EvidenceTargets = { ref };
    const ri = ref.line !== undefined || ref.stream !== undefined ? this.requestIndex(ref) : undefined;
    if (ri !== undefined) t.request = `req-${ri}`;
    const fi = this.flowIndex(ref);
    if (fi !== undefined) t.flow = `flow-${fi}`;
    const tl = this.timelinesOf(ref);
    if (tl.length > 0) t.timeline = `tl-${Math.min(...tl)}`;
    if (!t.request && !t.flow && !t.timeline) {
      const k = refKey(ref) + `|${ref.path ?? ''}`;
      let id = this.otherByKey.get(k);
      if (!id) {
        id = `ev-${this.others.length}`;
        this.otherByKey.set(k, id);
        this.others.push({ id, ref });
      }
      t.other = id;
    }
    return t;
  }

  /** Indices of the findings citing element `id` (sorted, distinct). */
  findingsCiting(id: string): number[] {
    return this.citedBy.get(id) ?? [];
  }

  /** Rows that must be shown whatever the per-section limits, because a finding links to them. */
  citedIndices(prefix: 'req' | 'flow' | 'tl'): Set<number> {
    const out = new Set<number>();
    for (const id of this.citedBy.keys()) if (id.startsWith(`${prefix}-`)) out.add(Number(id.slice(prefix.length + 1)));
    return out;
  }

  /** The flow of a timeline entry's capture evidence, when it has one. */
  flowOf(r: EvidenceRef | undefined): FlowView | undefined {
    if (!r) return undefined;
    const i = this.flowIndex(r);
    return i === undefined ? undefined : this.m.flows[i];
  }
}

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}
