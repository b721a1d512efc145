/**
 * What the log records say about each captured flow, summarised per flow so a report's memory grows with
 * the flows and not with the records (issue 17, streaming report): how many request events the flow
 * carried, which of its cleartext exchanges an event claimed, the first records joined to it (with the
 * exact count) and the client sidecar's outbound record of it. Collected in one pass over the records in
 * canonical order (analysis/record-order.ts), or from a whole correlation (`flowFactsFromCorrelation`).
 */
import type { AccessRecord, EvidenceRef, Flow } from '../model/records.js';
import type { ClientLogFacts } from './both-halves.js';
import type { Correlation } from './correlate.js';
import type { RequestEvent } from './request-events.js';

/** Joined records a flow keeps references to (the report's flow view lists them); the rest are counted. */
export const FLOW_RECORD_REFS = 100;

export interface FlowFacts {
  /** Request events the flow carried (as the first capture of its connection; 0 for a copy). */
  eventCount(f: Flow): number;
  /** Indices into `f.http` of the exchanges an event claimed. */
  claimedExchanges(f: Flow): ReadonlySet<number>;
  /** The records joined to the flow: the first FLOW_RECORD_REFS refs in canonical order, and how many in all. */
  records(f: Flow): { refs: readonly EvidenceRef[]; count: number };
  /** The first joined outbound record (canonical order) that names its upstream cluster: what the client sidecar logged. */
  clientLog(f: Flow): ClientLogFacts | null;
}

interface PerFlow {
  events: number;
  claimed: Set<number> | null;
  refs: EvidenceRef[];
  count: number;
  clientLog: ClientLogFacts | null;
}

const NO_CLAIMS: ReadonlySet<number> = new Set();
const NO_RECORDS = { refs: [] as readonly EvidenceRef[], count: 0 };

/**
 * Collects FlowFacts: `addEvent` once per request event (with its flow, when joined), `addRecord` once per
 * record joined to a flow, both in canonical order.
 */
export class FlowFactsCollector implements FlowFacts {
  private readonly byFlow = new Map<Flow, PerFlow>();

  private of(f: Flow): PerFlow {
    let p = this.byFlow.get(f);
    if (!p) {
      p = { events: 0, claimed: null, refs: [], count: 0, clientLog: null };
      this.byFlow.set(f, p);
    }
    return p;
  }

  addEvent(e: RequestEvent): void {
    if (!e.flow) return;
    const p = this.of(e.flow);
    p.events++;
    if (e.exchange !== undefined) (p.claimed ??= new Set()).add(e.exchange);
  }

  /** A record joined to `f` (correlate.ts recordFlow), with the direction the correlation gave it. */
  addRecord(r: AccessRecord, f: Flow, direction: string | undefined): void {
    const p = this.of(f);
    p.count++;
    if (p.refs.length < FLOW_RECORD_REFS) p.refs.push(r.ref);
    if (!p.clientLog && direction === 'outbound' && r.upstreamCluster) p.clientLog = { cluster: r.upstreamCluster, source: `${r.ref.file}${r.ref.line !== undefined ? `:${r.ref.line}` : ''}` };
  }

  eventCount(f: Flow): number {
    return this.byFlow.get(f)?.events ?? 0;
  }

  claimedExchanges(f: Flow): ReadonlySet<number> {
    return this.byFlow.get(f)?.claimed ?? NO_CLAIMS;
  }

  records(f: Flow): { refs: readonly EvidenceRef[]; count: number } {
    const p = this.byFlow.get(f);
    return p ? { refs: p.refs, count: p.count } : NO_RECORDS;
  }

  clientLog(f: Flow): ClientLogFacts | null {
    return this.byFlow.get(f)?.clientLog ?? null;
  }
}

/** FlowFacts from a whole correlation (every record and event in memory). */
export function flowFactsFromCorrelation(c: Correlation): FlowFacts {
  const out = new FlowFactsCollector();
  for (const e of c.events) out.addEvent(e);
  for (const l of c.links) out.addRecord(l.record, l.flow, c.recordDirection.get(l.record));
  return out;
}
