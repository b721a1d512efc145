/**
 * Connection attempts nobody answered, summarised as `report` reads them: a capture of a million SYNs
 * (a scan, a flood, a dead backend) is a million flows that can never be joined to anything, so past a
 * threshold they are kept as bounded groups (exact counts, first/last times, exemplar flows) instead of
 * one flow each, and the report model counts, draws and lists them from the groups exactly as it would
 * have from the flows (report-model.ts, timeline.ts, network-layers.ts).
 *
 * The criterion (`isUnansweredAttempt`): the TCP state summary the capture reader gives is Zeek's S0
 * ("connection attempt seen, no reply": the client's SYN, and its retransmissions, and nothing from the
 * server — no SYN-ACK, no RST), no payload either way, no TLS, HTTP or application facts, no tunnel,
 * not a sidecar-local or loopback leg (so it always "left the pod", scope.ts).
 *
 * Why such a flow can never be joined to an access-log record (correlate.ts): a record joins a flow by
 * (1) the request id of a cleartext exchange on the wire — an attempt carries none — or (2) the 5-tuple,
 * which needs the record to log both the client and the server address:port of the leg. A sidecar logs
 * a downstream connection only once accepted, i.e. after the kernel answered the SYN, so the server side
 * has no record of it; the client sidecar's upstream leg of a connect failure (UF) has no
 * UPSTREAM_LOCAL_ADDRESS (Envoy sets it when the connection is established), so it has no client port to
 * join on. Nor can a local leg (findLocalLegs) use it: it has no exchange.
 *
 * When it is used (evidence.ts decides): one capture in the evidence (with two, an attempt could be the
 * other capture's view of the same connection — correlate.ts copyOf — and counting once needs every
 * 5-tuple), no ztunnel config or record (HBONE joins), and neither end an address of a config dump
 * (the capture findings and `tcpTraffic` consult the proxies at both ends); otherwise attempts stay flows.
 *
 * Groups are keyed by (client address, server address:port, verdict, evidence list, network-layer
 * verdict and dataplane denial — evaluated for each attempt as it is read, with the FlowLayerEvaluator
 * the report's annotateNetworkLayers uses). Past `maxKeys` groups, further client addresses fold into one
 * "other addresses" group per server address:port and verdicts (the layer verdict, the denying layer and
 * rule: not the parts naming the client), as GRAPH_ADDRESS_LIMIT folds graph nodes; past `maxKeys` of
 * those, into one group per verdicts. Counts stay exact (flows, edges, timeline rows, NetworkPolicy
 * findings' flow counts); what a folded group cannot keep is which client each attempt came from: its
 * edge starts at "other addresses" (`ip:*`, whose `addresses` counts only the addresses met before the
 * fold), its timeline rows and listed kind are its first attempt's, and a NetworkPolicy finding per
 * source counts it under its first attempt's source. Memory: at most
 * 2 × `maxKeys` groups of at most `bySeq + byTime + 2` exemplar flows (plus `cited` more each for groups a
 * NetworkPolicy finding cites), whatever the capture holds.
 */
import type { EvidenceRef, Flow } from '../model/records.js';
import type { FlowLayerVerdict, FlowNetworkLayers } from '../model/layers.js';
import type { FlowLayerEvaluator } from './network-layers.js';
import { isLoopbackAddress } from './scope.js';

export interface AttemptLimits {
  /** Attempts kept as flows before summarising starts (the report is then byte-identical to the flows' one). */
  threshold: number;
  /** Distinct groups before client addresses fold (and again before server addresses fold). */
  maxKeys: number;
  /** Exemplars in read order (the flow listing's FLOW_LIMITS.perKind). */
  bySeq: number;
  /** Exemplars in time order (the timeline's TIMELINE_LIMITS.perSignature). */
  byTime: number;
  /** Exemplars a NetworkPolicy finding can cite (network-layers.ts MAX_EVIDENCE). */
  cited: number;
}

/**
 * Summarising needs more captured connections than the report lists in full (FLOW_LIMITS.listAll,
 * TIMELINE_LIMITS.listAll): below that every one is listed, so attempts stay flows.
 */
export const MIN_ATTEMPT_THRESHOLD = 2000;

export const ATTEMPT_LIMITS: AttemptLimits = { threshold: 20_000, maxKeys: 2000, bySeq: 3, byTime: 5, cited: 50 };

/** Zeek's S0 with nothing but the client's SYN(s): see the module comment. */
export function isUnansweredAttempt(f: Flow): boolean {
  return (
    f.connState === 'S0' &&
    (f.protocol === 'unknown' || f.protocol === 'tcp') &&
    f.security === 'unknown' &&
    !f.sidecarLocal &&
    f.bytes.clientToServer === 0 &&
    f.bytes.serverToClient === 0 &&
    f.http.length === 0 &&
    f.tls === null &&
    f.app === undefined &&
    !f.tunnel &&
    !isLoopbackAddress(f.client.ip) &&
    !isLoopbackAddress(f.server.ip)
  );
}

/** A flow and its place in read order (among every flow of the capture, attempts or not). */
export interface Ordered {
  f: Flow;
  ord: number;
}

/** A flow's evidence reference as the report cites it (file#first frame). */
export function firstFrameRef(f: Flow): EvidenceRef {
  return { file: f.file, frame: f.frames[0] };
}

/** Timeline order of two connection rows: start, then evidence (timeline.ts `order`). */
export function timeOrder(a: Flow, b: Flow): number {
  return a.startMs - b.startMs || `${a.file}||${a.frames[0] ?? ''}||`.localeCompare(`${b.file}||${b.frames[0] ?? ''}||`, 'en', { numeric: true });
}

export interface AttemptGroup {
  /** 'address': one client address; 'port': client addresses folded per server address:port; 'all': every address folded. */
  fold: 'address' | 'port' | 'all';
  count: number;
  /** The first flows in read order (`bySeq`, plus `cited` when a dataplane layer denies them). */
  first: Ordered[];
  /** The last flow in read order. */
  last: Ordered;
  /** The earliest by timeOrder (`byTime`, plus `cited` when denied), sorted. */
  earliest: Flow[];
  /** The latest by timeOrder (1, plus `cited` when denied), latest first. */
  latest: Flow[];
  /** Earliest start and latest end (ties: the first read). */
  minStart: { ms: number; s: string };
  maxEnd: { ms: number; s: string };
  /** The node-level layer that drops these attempts (network-layers.ts dataplaneDenial), null when none. */
  deny: FlowLayerVerdict | null;
}

/** Inserts `f` into `list` sorted by `cmp`, keeping at most `max`; returns whether it was kept. */
function keepSorted(list: Flow[], f: Flow, max: number, cmp: (a: Flow, b: Flow) => number): void {
  if (list.length >= max && cmp(f, list[list.length - 1]!) >= 0) return;
  let i = list.length;
  while (i > 0 && cmp(f, list[i - 1]!) < 0) i--;
  list.splice(i, 0, f);
  if (list.length > max) list.pop();
}

export class AttemptSummary {
  private readonly groups = new Map<string, AttemptGroup>();
  private addressKeys = 0;
  private portKeys = 0;
  /** Attempts summarised. */
  total = 0;
  private readonly layerText = new WeakMap<object, string>();

  constructor(
    private readonly evaluator: FlowLayerEvaluator | null,
    readonly limits: AttemptLimits = ATTEMPT_LIMITS,
  ) {}

  private text(o: FlowNetworkLayers | FlowLayerVerdict | null): string {
    if (!o) return '';
    let t = this.layerText.get(o);
    if (t === undefined) {
      t = JSON.stringify(o);
      this.layerText.set(o, t);
    }
    return t;
  }

  /** Adds an attempt (isUnansweredAttempt) read as the `ord`-th flow; sets its network layers as annotateNetworkLayers would. */
  add(f: Flow, ord: number): void {
    this.total++;
    const layers = this.evaluator?.decide(f) ?? null;
    if (layers) f.networkLayers = layers;
    const deny = this.evaluator?.dataplaneDenial(f) ?? null;
    const base = `${f.security}|${f.protocol}|${f.evidence.join(',')}`;
    let key = `a|${f.client.ip}|${f.server.ip}|${f.server.port}|${base}|${this.text(layers)}|${this.text(deny)}`;
    // (folded: the verdicts without the parts that name the client)
    const verdicts = `${base}|${layers?.verdict ?? ''}|${layers?.deniedBy ?? ''}|${deny?.layer ?? ''}|${deny?.decidedBy ?? ''}`;
    let g = this.groups.get(key);
    let fold: AttemptGroup['fold'] = 'address';
    if (!g && this.addressKeys >= this.limits.maxKeys) {
      fold = 'port';
      key = `p|${f.server.ip}|${f.server.port}|${verdicts}`;
      g = this.groups.get(key);
      if (!g && this.portKeys >= this.limits.maxKeys) {
        fold = 'all';
        key = `*|${verdicts}`;
        g = this.groups.get(key);
      }
    }
    if (!g) {
      if (fold === 'address') this.addressKeys++;
      else if (fold === 'port') this.portKeys++;
      g = { fold, count: 0, first: [], last: { f, ord }, earliest: [], latest: [], minStart: { ms: f.startMs, s: f.start }, maxEnd: { ms: f.endMs, s: f.end }, deny };
      this.groups.set(key, g);
    }
    g.count++;
    const extra = g.deny ? this.limits.cited : 0;
    if (g.first.length < this.limits.bySeq + extra) g.first.push({ f, ord });
    g.last = { f, ord };
    keepSorted(g.earliest, f, this.limits.byTime + extra, timeOrder);
    keepSorted(g.latest, f, 1 + extra, (a, b) => timeOrder(b, a));
    if (f.startMs < g.minStart.ms) g.minStart = { ms: f.startMs, s: f.start };
    if (f.endMs > g.maxEnd.ms) g.maxEnd = { ms: f.endMs, s: f.end };
  }

  /** The groups, in the order of their first attempt. */
  list(): AttemptGroup[] {
    return [...this.groups.values()];
  }
}

/** Attempts summarised while gathering (evidence.ts), handed to the report model. */
export interface SummarisedAttempts {
  groups: AttemptGroup[];
  total: number;
  /** Read order of each of `Evidence.flows` (same length): where the groups' exemplars fall among them. */
  flowOrd: number[];
}

/**
 * Every flow and every group's first exemplar (or all its `first` exemplars with `all`) in read order:
 * what a loop over the unsummarised flows would meet first.
 */
export function* inReadOrder(flows: Flow[], s: SummarisedAttempts, all: boolean): Generator<{ flow: Flow; ord: number; group: AttemptGroup | null; index: number }> {
  const ex: { o: Ordered; g: AttemptGroup; index: number }[] = [];
  for (const g of s.groups) g.first.forEach((o, i) => (all || i === 0) && ex.push({ o, g, index: i }));
  ex.sort((a, b) => a.o.ord - b.o.ord);
  let j = 0;
  for (let i = 0; i < flows.length; i++) {
    const ord = s.flowOrd[i]!;
    while (j < ex.length && ex[j]!.o.ord < ord) {
      const e = ex[j++]!;
      yield { flow: e.o.f, ord: e.o.ord, group: e.g, index: e.index };
    }
    yield { flow: flows[i]!, ord, group: null, index: 0 };
  }
  while (j < ex.length) {
    const e = ex[j++]!;
    yield { flow: e.o.f, ord: e.o.ord, group: e.g, index: e.index };
  }
}
