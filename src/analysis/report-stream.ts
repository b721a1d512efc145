/**
 * `report` over records that never are all in memory (issue 17): the records of the logs wait in a
 * RecordSpill (record-spill.ts: sorted runs on disk past a budget) and are read back in canonical order
 * (by time, records without a time last) in passes, each record joined (correlate.ts CorrelationIndex),
 * grouped into request events in a sliding window (request-events.ts EventWindow), replayed
 * (replay.ts), handed to the builders and forgotten:
 *
 *  - pass 1 (index): what the records say about each captured flow (flow-facts.ts), the events and
 *    joins counted, the clock offsets of the joins; what it learned of each record (its joins, its event)
 *    goes to a side log (side-log.ts, a file in the spill's directory) that passes 2 and 3 read beside the
 *    records instead of joining and grouping again (pass-facts.ts FactsReplay);
 *  - pass 2 (findings): FindingsBuilder, the captures first, then each record; the findings are final;
 *    each record's replay verdict and reason go to a second side log (pass-facts.ts ReplayVerdicts);
 *  - pass 3 (views): the graph, the flows, the timeline and the requests listed, citing the final
 *    findings (ReportViewsBuilder); only the records it lists are replayed again (for their explanation).
 *
 * What stays in memory grows with the flows, workloads, finding groups and exemplar limits, plus one
 * window of records (the skew plus the longest logged duration), plus what cannot be placed in time or
 * must be paired across the whole log: records without a time, and ztunnel (ambient) records' tunnel
 * pairs and waypoint callers (held once, in a pre-pass, only when such records exist).
 * The result is the same model `buildReportModel` makes from every record in canonical order.
 */
import type { AccessRecord, Explanation, Finding, Flow } from '../model/records.js';
import { appendAll } from '../model/arrays.js';
import { CorrelationIndex, linkOffset, skewSummary, type Correlation } from './correlate.js';
import { EventWindow, pairZtunnelLegs, type EventRecord, type RequestEvent } from './request-events.js';
import { RecordFacts, type RecordLookup } from './record-facts.js';
import { FlowFactsCollector } from './flow-facts.js';
import { FindingsBuilder, SEVERITY_ORDER } from './findings.js';
import { FlowLayerEvaluator, networkLayerFindings, networkLintFindings, annotateNetworkLayers } from './network-layers.js';
import { RecordReplayer } from './replay.js';
import { WaypointCallerIndex } from './waypoint-callers.js';
import { decideHboneFlows, joinHboneFlows } from './ztunnel.js';
import type { RecordCompactor } from './compact-record.js';
import type { ProxyView } from './proxies.js';
import { SideLog } from './side-log.js';
import { eventNumber, FactsReplay, ReplayVerdicts, ROW, writeRow } from './pass-facts.js';
import type { BuildOptions, Evidence, ReportModel } from './report-model.js';
import { ReportViewsBuilder } from './report-model.js';

/** Where the records come from: canonical order, as many passes as asked (record-spill.ts RecordSpill). */
export interface RecordSource {
  readonly count: number;
  /** Records without a time: the last `untimed` of every pass. */
  readonly untimed: number;
  readonly maxDurationMs: number;
  batches(size?: number): AsyncGenerator<AccessRecord[]>;
  /**
   * A path for a scratch file in the source's private temporary space, removed with it (record-spill.ts):
   * where pass 1 writes what later passes read. Without it that side log stays in memory (52 bytes a record).
   */
  scratchFile?(name: string): string;
}

export interface StreamOptions extends BuildOptions {
  /** Records that are ztunnel (ambient) records: a pre-pass pairs their tunnels and finds waypoint callers. */
  ztunnelRecords: number;
  compactor?: RecordCompactor | null;
  /** Hears how far each pass over the records got (after each batch; the CLI draws it on a terminal). */
  onPass?: (p: PassProgress) => void;
}

/** One pass over the records: `pass` of `passes` (1-based; 4 with the pre-pass), what it does, records done of `total`. */
export interface PassProgress {
  pass: number;
  passes: number;
  what: string;
  done: number;
  total: number;
}

const PRE_PASS = 'tunnel pairs, records without a time';

/** Growable list of numbers (8 bytes each): the clock offsets of the joins, for the observed skew. */
class Offsets {
  private a = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.a.subarray(0, this.length).sort();
  }
}

/**
 * The report model of `ev` (its flows, dumps, inventory, policies, gathered with the records sent to
 * `source` instead of `ev.records`) and of the records of `source`. Async: the records are read back.
 */
export async function buildReportStreaming(ev: Evidence, source: RecordSource, opts: StreamOptions): Promise<ReportModel> {
  const skewMs = opts.skewMs;
  const timed = source.count - source.untimed;
  const ztunnels = ev.ztunnels ?? [];

  // Pre-pass, only when the log holds records without a time or ztunnel records: those are held (see the module comment).
  const untimed: AccessRecord[] = [];
  const callers = new WaypointCallerIndex();
  const pairByIndex = new Map<number, number>();
  const prePass = source.untimed > 0 || opts.ztunnelRecords > 0;
  const passes = prePass ? 4 : 3;
  let passNo = 0;
  const told = (what: string, done: number): void => opts.onPass?.({ pass: passNo, passes, what, done, total: source.count });
  if (prePass) {
    const zt: AccessRecord[] = [];
    const ztIndex: number[] = [];
    let i = 0;
    passNo++;
    told(PRE_PASS, 0);
    for await (const batch of source.batches()) {
      for (const r of batch) {
        if (i >= timed) untimed.push(r);
        if (r.ztunnel) {
          zt.push(r);
          ztIndex.push(i);
          callers.addRecord(r);
        }
        i++;
      }
      told(PRE_PASS, i);
    }
    if (zt.length) {
      const pairs = pairZtunnelLegs(zt, skewMs);
      zt.forEach((r, k) => {
        const p = pairs.get(r);
        if (p !== undefined) pairByIndex.set(ztIndex[k]!, p);
      });
      // Ambient: HBONE flows get the identities the ztunnel log shows for them.
      joinHboneFlows(ev.flows, zt, skewMs);
    }
  }
  // ... and what the ztunnel config alone decides for them (the caller is the client IP's workload).
  if (ztunnels.length) decideHboneFlows(ev.flows, ztunnels);

  const layers = ev.k8sObjects?.length ? FlowLayerEvaluator.fromObjects(ev.k8sObjects, { nodeLayersOnly: true }) : null;
  if (layers) annotateNetworkLayers(ev.flows, layers);

  const idx = new CorrelationIndex(ev.flows, ev.proxies, ev.inventory, { skewMs });
  const recordEvent = new RecordFacts<AccessRecord, RequestEvent>('event');
  const replayer = new RecordReplayer({ ztunnels, callers, skewMs, compactor: opts.compactor ?? null });
  const replay = (r: AccessRecord): void => {
    const x = replayer.sidecar(r, idx) ?? replayer.ztunnel(r);
    if (x) idx.explanationFor.set(r, x);
  };
  for (const r of untimed) {
    idx.correlateRecord(r);
    replay(r);
  }
  const untimedStart = timed;
  const untimedPairs = untimed.map((r, k) => ({ r, ...(pairByIndex.has(untimedStart + k) ? { ztunnelPair: pairByIndex.get(untimedStart + k)! } : {}) }));

  // Pass 1 joins every record and groups the events (EventWindow); what it learns of each record goes to a
  // side log (side-log.ts, a file in the spill's directory), which passes 2 and 3 read instead of joining
  // and grouping again (FactsReplay).
  const proxyNo = new Map<ProxyView, number>();
  ev.proxies.forEach((p, i) => proxyNo.set(p, i));
  const flowNo = new Map<Flow, number>();
  ev.flows.forEach((f, i) => flowNo.set(f, i));
  const side = new SideLog(ROW, source.scratchFile ? source.scratchFile('record-facts.bin') : null);

  /** Every timed record of the source, in canonical order (the records without a time are held: `untimed`), then `end()`. */
  const each = async (name: string, push: (r: AccessRecord, i: number) => void, end: () => void): Promise<void> => {
    let i = 0;
    passNo++;
    told(name, 0);
    for await (const batch of source.batches()) {
      for (const r of batch) {
        if (i >= timed) break;
        push(r, i);
        i++;
      }
      if (i >= timed) break;
      told(name, i);
    }
    end();
    told(name, source.count);
  };

  // Pass 1: what the records say about each flow; the joins' clock offsets; the side log.
  const flowFacts = new FlowFactsCollector();
  const offsets = new Offsets();
  /** Records without a time: the event each joined (by number), for the later passes. */
  const untimedEventNo: number[] = [];
  {
    const window = new EventWindow({ recordFlow: idx.recordFlow, recordWire: idx.recordWire, recordDirection: idx.recordDirection, skewMs, maxDurationMs: source.maxDurationMs }, untimedPairs);
    let visited = 0;
    const hand = (out: EventRecord[]): void => {
      for (const { record: r, event, first } of out) {
        recordEvent.set(r, event);
        const n = eventNumber(event);
        writeRow(side, idx, r, n, first, event, proxyNo, flowNo);
        if (visited++ >= timed) untimedEventNo.push(n);
        if (first) flowFacts.addEvent(event);
        const l = idx.recordFlow.get(r);
        if (!l) continue;
        flowFacts.addRecord(r, l.flow, idx.recordDirection.get(r));
        const o = linkOffset(l);
        if (o !== undefined) offsets.push(o);
      }
    };
    await each(
      'flow facts',
      (r, i) => {
        idx.correlateRecord(r);
        hand(window.push(r, pairByIndex.get(i)));
      },
      () => hand(window.end()),
    );
    side.seal();
  }

  /** Passes 2 and 3: every record in canonical order with its pass-1 facts, `also` done, its event complete. */
  const pass = async (name: string, also: (r: AccessRecord) => void, visit: (x: EventRecord) => void): Promise<void> => {
    const facts = new FactsReplay(side.reader(), idx, recordEvent, ev.proxies, ev.flows, untimed, untimedEventNo, visit);
    try {
      await each(
        name,
        (r) => {
          facts.apply(r);
          also(r);
          facts.push(r);
        },
        () => facts.end(),
      );
    } finally {
      facts.close();
    }
  };

  const observedSkew = skewSummary(offsets.sorted());
  const c: Correlation = idx.correlation({
    events: notKept('events'),
    recordEvent,
    flowEvents: notKept('flowEvents'),
    links: notKept('links'),
    flowRecords: notKept('flowRecords'),
    observedSkew,
  });

  // Pass 2: the findings.
  const fb = new FindingsBuilder({ flows: ev.flows, proxies: ev.proxies, policies: ev.policies, correlation: c, showSecrets: opts.showSecrets, ztunnels, flowFacts });
  fb.addFlows();
  // Each timed record's replay verdict and reason goes to a side log (one integer: see ReplayVerdicts), so pass 3
  // replays only the records it lists.
  const verdicts = new ReplayVerdicts(source.scratchFile ? source.scratchFile('replay-verdicts.bin') : null);
  await pass(
    'findings',
    (r) => {
      replay(r);
      verdicts.write(idx.explanationFor.get(r));
    },
    ({ record }) => fb.addRecord(record),
  );
  verdicts.seal();
  const findings: Finding[] = fb.finish();
  if (layers) {
    // Observed flows against NetworkPolicy / admin tiers / Calico (findings stay in severity order).
    appendAll(findings, networkLayerFindings(ev.flows, ev.k8sObjects ?? [], layers, ev.attempts));
    appendAll(findings, networkLintFindings(layers));
    findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  }

  // Pass 3: the views, citing the final findings.
  // The explanations the views ask for (the records they list) are replayed then; the others' verdicts come from pass 2.
  const explanationFor: RecordLookup<AccessRecord, Explanation> = {
    get: (r) => {
      if (!idx.explanationFor.has(r)) replay(r);
      return idx.explanationFor.get(r);
    },
    has: (r) => {
      if (!idx.explanationFor.has(r)) replay(r);
      return idx.explanationFor.has(r);
    },
    set(r, x) {
      idx.explanationFor.set(r, x);
      return this;
    },
  };
  const replayVerdict = verdicts.lookup(explanationFor);
  const vb = new ReportViewsBuilder({ inputs: ev.inputs, hashes: ev.hashes, items: ev.items, problems: ev.problems, unreadable: ev.unreadable, flows: ev.flows, attempts: ev.attempts, proxies: ev.proxies, inventory: ev.inventory, diagnostics: ev.diagnostics, window: ev.window, correlation: { ...c, explanationFor }, findings, flowFacts, replayVerdict }, opts);
  vb.addFlows();
  const read = replayVerdict.reader();
  try {
    await pass(
      'views',
      (r) => read.next(r),
      ({ record, event, first }) => {
        if (first) vb.addEvent(event);
        vb.addRecord(record);
      },
    );
  } finally {
    read.close();
  }
  return vb.finish();
}

/** A whole-input list the streaming correlation does not keep: touching it is a bug, said loudly. */
function notKept<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(): never {
      throw new Error(`streaming report: correlation.${name} is not kept (records stream through; see analysis/report-stream.ts)`);
    },
  });
}
