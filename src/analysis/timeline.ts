/**
 * The incident timeline: capture flows (connection opened, with its security verdict), cleartext
 * HTTP exchanges seen on the wire, and access-log records, on one clock, each pointing back to its
 * evidence and to the findings that cite it. Times are shown as each source recorded them; the
 * stated skew window is what correlation tolerated between sources.
 */
import type { AccessRecord, EvidenceRef, Finding, Flow, FlowSecurity } from '../model/records.js';
import { fmtAddr, isLoopback, type Correlation, type Direction } from './correlate.js';
import { loggedRbacDeny } from './findings.js';
import { eventSecurity, type RequestEvent } from './request-events.js';
import { flowFactsFromCorrelation, type FlowFacts } from './flow-facts.js';
import { redactPath } from '../model/redact.js';
import type { SummarisedAttempts } from './attempts.js';

export interface TimelineEvent {
  timeMs: number;
  /** RFC 3339 UTC as the source recorded it. */
  time: string;
  source: 'capture' | 'access-log';
  kind: 'connection' | 'exchange' | 'request' | 'denied' | 'rejected';
  summary: string;
  /** Graph node ids of the two ends, when known. */
  from?: string;
  to?: string;
  security?: FlowSecurity;
  ref: EvidenceRef;
  /** Finding ids that cite this evidence. */
  findings: string[];
  /** The captured evidence of the same request (its connection, or its cleartext exchange). */
  correlated?: EvidenceRef;
  /** The other log records of the same request (e.g. the client sidecar's when the server's is `ref`). */
  also?: EvidenceRef[];
  /**
   * Set on the last listed event of a kind when a large timeline was aggregated (see TimelineLimits):
   * `count` more events like this one (same kind, source, ends, security and what was asked/answered)
   * were not listed; the last of them at `until`, its evidence `last`.
   */
  more?: { count: number; until: string; last: EvidenceRef };
}

/**
 * How a large timeline stays readable and bounded: up to `listAll` events are all listed; beyond that
 * each kind of event (its signature: kind, source, ends, security, method/path/answer) lists its
 * `perSignature` earliest events and counts the rest on the last one listed (`more`), events cited by a
 * finding are always listed, and at most `max` uncited events are listed in all (the rest counted).
 */
export interface TimelineLimits {
  listAll: number;
  perSignature: number;
  max: number;
}

export const TIMELINE_LIMITS: TimelineLimits = { listAll: 2000, perSignature: 5, max: 5000 };

export interface Timeline {
  events: TimelineEvent[];
  /** Records without a usable time (not on the timeline). */
  untimed: number;
  /** Every event, listed or counted. */
  total: number;
  /** Events counted but not listed (in some event's `more`, or beyond `max`). */
  aggregated: number;
}

/** What a row is ordered and counted by (a TimelineEvent is one): built before the rest of the row (see TimelineCollector.addLazy). */
interface RowHead {
  timeMs: number;
  time: string;
  source: TimelineEvent['source'];
  ref: EvidenceRef;
  findings: string[];
}

const order = (a: RowHead, b: RowHead): number =>
  a.timeMs - b.timeMs || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) || refKey(a.ref).localeCompare(refKey(b.ref), 'en', { numeric: true });

/**
 * Collects timeline events in bounded memory once there are more than `listAll`: per signature the
 * `perSignature` earliest, plus the count and the latest of the rest.
 */
class TimelineCollector {
  private all: { e: TimelineEvent; sig: string }[] | null = [];
  private readonly cited: TimelineEvent[] = [];
  private readonly sigs = new Map<string, { kept: TimelineEvent[]; rest: number; last: RowHead | null }>();
  total = 0;
  constructor(private readonly limits: TimelineLimits) {}

  add(e: TimelineEvent, sig: string): void {
    this.total++;
    if (this.all) {
      this.all.push({ e, sig });
      if (this.all.length <= this.limits.listAll) return;
      const all = this.all;
      this.all = null;
      for (const x of all) this.aggregate(x.e, x.sig);
      return;
    }
    this.aggregate(e, sig);
  }

  /**
   * `add(build(), sig)`, but without building the row when it is only counted: `head` is the row's time,
   * source, evidence and citing findings (as `build()` would give them), which is all a counted row leaves
   * in the timeline (its signature's count, and the latest row's time and evidence).
   */
  addLazy(head: RowHead, sig: string, build: () => TimelineEvent): void {
    if (this.all || head.findings.length > 0) {
      this.add(build(), sig);
      return;
    }
    const s = this.sigs.get(sig);
    if (s && s.kept.length >= this.limits.perSignature && order(head, s.kept[s.kept.length - 1]!) >= 0) {
      this.total++;
      s.rest++;
      if (!s.last || order(head, s.last) > 0) s.last = head;
      return;
    }
    this.add(build(), sig);
  }

  /** Leaves list-everything mode (the caller knows the timeline holds more than `listAll` events). */
  private aggregating(): void {
    if (!this.all) return;
    const all = this.all;
    this.all = null;
    for (const x of all) this.aggregate(x.e, x.sig);
  }

  /**
   * A signature already aggregated by the caller (its `kept` earliest events in order, how many more, the
   * latest of those), exactly as `add` would have left it; `sig` must not be added otherwise.
   */
  addGroup(sig: string, kept: TimelineEvent[], rest: number, last: RowHead | null): void {
    this.aggregating();
    this.total += kept.length + rest;
    this.sigs.set(sig, { kept, rest, last });
  }

  /** `n` uncited events that cannot be among the `max` listed (at least `max` uncited events come before each). */
  addCounted(n: number): void {
    this.aggregating();
    this.total += n;
    this.counted += n;
  }

  private counted = 0;

  private aggregate(e: TimelineEvent, sig: string): void {
    if (e.findings.length > 0) {
      this.cited.push(e);
      return;
    }
    let s = this.sigs.get(sig);
    if (!s) {
      s = { kept: [], rest: 0, last: null };
      this.sigs.set(sig, s);
    }
    // Keep the earliest `perSignature` (sorted insert); the one pushed out is counted.
    let out: RowHead = e;
    if (s.kept.length < this.limits.perSignature || order(e, s.kept[s.kept.length - 1]!) < 0) {
      let i = s.kept.length;
      while (i > 0 && order(e, s.kept[i - 1]!) < 0) i--;
      s.kept.splice(i, 0, e);
      if (s.kept.length <= this.limits.perSignature) return;
      out = s.kept.pop()!;
    }
    s.rest++;
    if (!s.last || order(out, s.last) > 0) s.last = out;
  }

  finish(): { events: TimelineEvent[]; aggregated: number } {
    if (this.all) return { events: this.all.map((x) => x.e).sort(order), aggregated: 0 };
    let aggregated = this.counted;
    const uncited: TimelineEvent[] = [];
    for (const s of this.sigs.values()) {
      if (s.rest > 0 && s.last) {
        const tail = s.kept[s.kept.length - 1]!;
        tail.more = { count: s.rest, until: s.last.time, last: s.last.ref };
        aggregated += s.rest;
      }
      for (const e of s.kept) uncited.push(e);
    }
    uncited.sort(order);
    if (uncited.length > this.limits.max) {
      // (the `more` of a row not listed is already counted above)
      aggregated += uncited.length - this.limits.max;
      uncited.length = this.limits.max;
    }
    return { events: [...this.cited, ...uncited].sort(order), aggregated };
  }
}

/** 32-bit FNV-1a of a string, from a seed (two seeds give a 64-bit key; equal keys are checked by the string). */
function fnv(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The rows of captured connections that carried no logged request and no finding cites, aggregated as
 * TimelineCollector would (per signature the `perSignature` earliest, the count and the latest of the
 * rest; `max` uncited rows listed in all) but holding 20 bytes per connection instead of a row and its
 * signature: the flow's index, start and a 64-bit hash of its signature. At the end the connections are
 * sorted by (hash, row order) — equal hashes are told apart by their signature strings, so the grouping
 * is exact — and only the signatures whose earliest row can still be among the `max` earliest uncited
 * rows are built; every other row is counted.
 */
class ConnRows {
  private idx = new Uint32Array(1024);
  private time = new Float64Array(1024);
  private h1 = new Uint32Array(1024);
  private h2 = new Uint32Array(1024);
  private n = 0;
  constructor(
    private readonly flows: Flow[],
    private readonly sigOf: (f: Flow) => string,
    private readonly eventOf: (f: Flow) => TimelineEvent,
    private readonly limits: TimelineLimits,
  ) {}

  add(i: number, f: Flow): void {
    if (this.n === this.idx.length) {
      const grow = <T extends Uint32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.idx = grow(this.idx);
      this.time = grow(this.time);
      this.h1 = grow(this.h1);
      this.h2 = grow(this.h2);
    }
    const sig = this.sigOf(f);
    this.idx[this.n] = i;
    this.time[this.n] = f.startMs;
    this.h1[this.n] = fnv(sig, 0x811c9dc5);
    this.h2[this.n] = fnv(sig, 0x9e3779b9);
    this.n++;
  }

  /** `order` of two rows (by position in the arrays), without building them unless their times tie. */
  private cmp = (a: number, b: number): number => {
    const d = this.time[a]! - this.time[b]!;
    if (d) return d;
    const fa = this.flows[this.idx[a]!]!;
    const fb = this.flows[this.idx[b]!]!;
    return refKey({ file: fa.file, frame: fa.frames[0] }).localeCompare(refKey({ file: fb.file, frame: fb.frames[0] }), 'en', { numeric: true });
  };

  into(events: TimelineCollector): void {
    const { perSignature, max } = this.limits;
    const n = this.n;
    const byHash = new Uint32Array(n);
    for (let k = 0; k < n; k++) byHash[k] = k;
    byHash.sort((a, b) => this.h1[a]! - this.h1[b]! || this.h2[a]! - this.h2[b]! || this.cmp(a, b));
    // Signature groups: ranges of byHash (each sorted by row order). Rows of one hash almost always share
    // one signature; when two collided, the run is split by the strings (kept in row order).
    const starts: number[] = [];
    const sigAt = (k: number): string => this.sigOf(this.flows[this.idx[byHash[k]!]!]!);
    let start = 0;
    for (let k = 1; k <= n; k++) {
      if (k < n && this.h1[byHash[k]!] === this.h1[byHash[start]!] && this.h2[byHash[k]!] === this.h2[byHash[start]!]) continue;
      const first = k - start > 1 ? sigAt(start) : '';
      let one = true;
      for (let q = start + 1; q < k && one; q++) one = sigAt(q) === first;
      if (one) starts.push(start);
      else {
        const bySig = new Map<string, number[]>();
        for (let q = start; q < k; q++) {
          const sig = sigAt(q);
          const g = bySig.get(sig);
          if (g) g.push(byHash[q]!);
          else bySig.set(sig, [byHash[q]!]);
        }
        let q = start;
        for (const g of bySig.values()) {
          starts.push(q);
          for (const row of g) byHash[q++] = row;
        }
      }
      start = k;
    }
    starts.push(n);
    const groups = starts.length - 1;
    const flowAt = (k: number): Flow => this.flows[this.idx[byHash[k]!]!]!;
    const fcmp = (a: Flow, b: Flow): number => a.startMs - b.startMs || refKey({ file: a.file, frame: a.frames[0] }).localeCompare(refKey({ file: b.file, frame: b.frames[0] }), 'en', { numeric: true });
    // Each signature: its `perSignature` earliest rows, how many more, and the latest of those; rows of
    // signatures supplied already grouped (summarised attempts) are merged in.
    /** A signature's rows: a range of byHash, or merged with a supplied group (kept, how many more, the latest of those). */
    type Sig = { from: number; to: number } | { sig: string; kept: Flow[]; rest: number; last: Flow | null };
    const sigs: Sig[] = [];
    const suppliedHash = new Set<string>();
    for (const sig of this.supplied.keys()) suppliedHash.add(`${fnv(sig, 0x811c9dc5)}|${fnv(sig, 0x9e3779b9)}`);
    const merge = (sig: string, kept: Flow[], n: number, last: Flow | null): void => {
      const s = this.supplied.get(sig)!;
      this.supplied.delete(sig);
      const all = [...kept, ...s.earliest].sort(fcmp).slice(0, perSignature);
      const latest = [last, s.latest].filter((f): f is Flow => f !== null).sort(fcmp).pop() ?? null;
      const total = n + s.count;
      sigs.push({ sig, kept: all, rest: total - all.length, last: total > all.length ? latest : null });
    };
    for (let g = 0; g < groups; g++) {
      const from = starts[g]!;
      const to = starts[g + 1]!;
      if (suppliedHash.has(`${this.h1[byHash[from]!]}|${this.h2[byHash[from]!]}`)) {
        const sig = this.sigOf(flowAt(from));
        if (this.supplied.has(sig)) {
          const kept: Flow[] = [];
          for (let k = from; k < Math.min(from + perSignature, to); k++) kept.push(flowAt(k));
          merge(sig, kept, to - from, to - from > kept.length ? flowAt(to - 1) : null);
          continue;
        }
      }
      sigs.push({ from, to });
    }
    for (const sig of [...this.supplied.keys()]) merge(sig, [], 0, null);
    const firstOf = (x: Sig): Flow => ('from' in x ? flowAt(x.from) : x.kept[0]!);
    // The rows each signature keeps; the `max`-th earliest of them all bounds what can be listed.
    const keptRows: Flow[] = [];
    for (const x of sigs) {
      if ('from' in x) for (let k = x.from; k < Math.min(x.from + perSignature, x.to); k++) keptRows.push(flowAt(k));
      else for (const f of x.kept) keptRows.push(f);
    }
    let bound: Flow | null = null;
    if (keptRows.length > max) {
      keptRows.sort(fcmp);
      bound = keptRows[max - 1]!;
    }
    keptRows.length = 0;
    let counted = 0;
    for (const x of sigs) {
      if (bound !== null && fcmp(firstOf(x), bound) > 0) {
        // at least `max` kept rows come before this signature's earliest: none of its rows is listed
        counted += 'from' in x ? x.to - x.from : x.kept.length + x.rest;
        continue;
      }
      if ('from' in x) {
        const keptN = Math.min(perSignature, x.to - x.from);
        const kept: TimelineEvent[] = [];
        for (let k = x.from; k < x.from + keptN; k++) kept.push(this.eventOf(flowAt(k)));
        const rest = x.to - x.from - keptN;
        events.addGroup(this.sigOf(flowAt(x.from)), kept, rest, rest > 0 ? this.eventOf(flowAt(x.to - 1)) : null);
      } else events.addGroup(x.sig, x.kept.map((f) => this.eventOf(f)), x.rest, x.rest > 0 && x.last ? this.eventOf(x.last) : null);
    }
    if (counted) events.addCounted(counted);
  }

  /** Rows of one signature already grouped elsewhere (summarised attempts): the earliest (sorted), how many in all, the latest. */
  private readonly supplied = new Map<string, { earliest: Flow[]; count: number; latest: Flow | null }>();
  supply(sig: string, earliest: Flow[], count: number, latest: Flow | null): void {
    if (count === 0) return;
    const s = this.supplied.get(sig);
    if (!s) {
      this.supplied.set(sig, { earliest: earliest.slice(0, this.limits.perSignature), count, latest });
      return;
    }
    const fcmp = (a: Flow, b: Flow): number => a.startMs - b.startMs || refKey({ file: a.file, frame: a.frames[0] }).localeCompare(refKey({ file: b.file, frame: b.frames[0] }), 'en', { numeric: true });
    s.earliest = [...s.earliest, ...earliest].sort(fcmp).slice(0, this.limits.perSignature);
    s.count += count;
    if (latest && (!s.latest || fcmp(latest, s.latest) > 0)) s.latest = latest;
  }
}

export function refKey(r: EvidenceRef): string {
  return `${r.file}|${r.line ?? ''}|${r.frame ?? ''}|${r.stream ?? ''}|${r.index ?? ''}`;
}

/** Graph node id for an address: the workload id when resolved, `ip:<addr>` otherwise. */
export function nodeIdFor(c: Correlation, ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const w = c.resolve(ip);
  if (w) return w.id;
  return isLoopback(ip) ? 'local' : `ip:${ip}`;
}

/** What TimelineBuilder is built from: the static evidence, the correlation and the final findings (their citations). */
export interface TimelineInput {
  flows: Flow[];
  /** The final findings: a row lists the ids of those citing its evidence. */
  findings: Finding[];
  /**
   * Flow-level parts (`copyOf`, `copies`, `resolve`) for every flow; per-record lookups (`recordWire`,
   * `recordDirection`) only for the records of the event being added. Never its lists (`events`,
   * `flowEvents`, `flowRecords`, `links`).
   */
  correlation: Correlation;
  /** What the records say about each flow (events carried, exchanges claimed): complete before `addFlows`. */
  flowFacts: FlowFacts;
  showSecrets?: boolean;
  limits?: TimelineLimits;
  /** `false`: hold every connection row until the end (the reference the compact aggregation is tested against). */
  compactConnections?: boolean;
  /** Connection attempts summarised while gathering (attempts.ts): rows of their own, from the groups. */
  attempts?: SummarisedAttempts;
}

/**
 * Builds the timeline incrementally (issue 17, streaming report): `addFlows()` once (the rows of captured
 * connections and of cleartext exchanges no record describes), then `addEvent(e)` for each request event,
 * complete (`e.records` final, inbound first), in creation order, then `finish()`. Memory is bounded by
 * the flows and by the timeline's limits, never by the records: per event only its row (kept while it can
 * still be listed) and the count of records without a time.
 *
 * One event per request (request-events.ts): the log records of a request on one hop (client and
 * server sidecar) and the captured connection or exchange that carried it are one row, with the
 * connection's security (capture proof beats the log's inference) and every source's evidence. A
 * captured connection that carried no logged request is its own row ("connection"), and so is a
 * cleartext exchange no record describes.
 */
export class TimelineBuilder {
  private readonly flows: Flow[];
  private readonly c: Correlation;
  private readonly facts: FlowFacts;
  private readonly showSecrets: boolean;
  private readonly limits: TimelineLimits;
  private readonly compactConnections: boolean;
  private readonly attempts: SummarisedAttempts | undefined;
  private readonly cited = new Map<string, Set<string>>();
  private readonly events: TimelineCollector;
  private untimed = 0;
  private flowsAdded = false;

  constructor(input: TimelineInput) {
    this.flows = input.flows;
    this.c = input.correlation;
    this.facts = input.flowFacts;
    this.showSecrets = input.showSecrets ?? false;
    this.limits = input.limits ?? TIMELINE_LIMITS;
    this.compactConnections = input.compactConnections ?? true;
    this.attempts = input.attempts;
    this.events = new TimelineCollector(this.limits);
    for (const f of input.findings) {
      for (const e of f.evidence) {
        const k = refKey(e);
        const s = this.cited.get(k) ?? new Set<string>();
        s.add(f.id);
        this.cited.set(k, s);
      }
    }
  }

  private citedBy(...refs: EvidenceRef[]): string[] {
    let one: Set<string> | undefined;
    let more = false;
    for (const r of refs) {
      const s = this.cited.get(refKey(r));
      if (s === undefined) continue;
      if (one === undefined) one = s;
      else more = true;
    }
    // (most rows: no finding cites their evidence)
    if (one === undefined) return [];
    if (!more) return [...one].sort();
    return [...new Set(refs.flatMap((r) => [...(this.cited.get(refKey(r)) ?? [])]))].sort();
  }

  private static flowRefs(f: Flow): EvidenceRef[] {
    const ref: EvidenceRef = { file: f.file, frame: f.frames[0] };
    const fref: EvidenceRef = { file: f.file, frame: f.frames[0] };
    if (f.frames.length > 1) fref.frames = [f.frames[0]!, f.frames[f.frames.length - 1]!];
    return [fref, ref];
  }

  private static exchangeRef(f: Flow, i: number): EvidenceRef {
    return { file: f.file, frame: f.http[i]?.requestFrame ?? f.frames[0] };
  }

  private static connText(f: Flow): string {
    const tls = f.tls ? ` ${f.tls.version ?? 'TLS'}${f.tls.sni ? ` SNI ${f.tls.sni}` : ''}` : '';
    return `${f.security.toUpperCase()} ${f.protocol} ${fmtAddr(f.client.ip, f.client.port)} → ${fmtAddr(f.server.ip, f.server.port)}${tls}`;
  }

  /** The other captures of the same connection (captured at both ends): one row, their evidence attached. */
  private copyRefs(f: Flow): EvidenceRef[] {
    return (this.c.copies.get(f) ?? []).flatMap(TimelineBuilder.flowRefs);
  }

  private static connKind(f: Flow): 'rejected' | 'connection' {
    return f.bytes.serverToClient === 0 && f.security === 'plaintext' && !f.sidecarLocal && f.http.every((x) => x.status === undefined) ? 'rejected' : 'connection';
  }

  /** The signature of a captured connection's row. */
  private readonly connSig = (f: Flow): string => {
    const c = this.c;
    return `conn|${TimelineBuilder.connKind(f)}|${nodeIdFor(c, f.client.ip)}|${nodeIdFor(c, f.server.ip)}|${fmtAddr(f.server.ip, f.server.port)}|${f.security}|${f.protocol}|${f.tls?.version ?? ''}|${f.tls?.sni ?? ''}|${f.sidecarLocal}`;
  };

  /** The row of a captured connection that carried no logged request. */
  private readonly connEvent = (f: Flow): TimelineEvent => {
    const c = this.c;
    const [fref, ref] = TimelineBuilder.flowRefs(f);
    const copies = this.copyRefs(f);
    return {
      timeMs: f.startMs,
      time: f.start,
      source: 'capture',
      kind: TimelineBuilder.connKind(f),
      summary: `${TimelineBuilder.connText(f)}${f.sidecarLocal ? ' (sidecar-local leg)' : ''}, ${f.packets} packets`,
      from: nodeIdFor(c, f.client.ip),
      to: nodeIdFor(c, f.server.ip),
      security: f.security,
      ref: fref!,
      findings: this.citedBy(ref!, fref!, ...copies),
      ...(copies.length ? { also: copies.filter((_, i) => i % 2 === 0) } : {}),
    };
  };

  /**
   * The capture's rows: each connection that carried no logged request (`flowFacts.eventCount` 0) and
   * each timed cleartext exchange no event claimed (`flowFacts.claimedExchanges`). Call once, before any
   * event.
   */
  addFlows(): void {
    if (this.flowsAdded) throw new Error('TimelineBuilder.addFlows called twice');
    this.flowsAdded = true;
    const { c, facts, limits, events, attempts, flows } = this;
    const { connSig, connEvent } = this;
    const flowRefs = TimelineBuilder.flowRefs;
    // More connection rows than `listAll`: the uncited ones are aggregated without holding a row (and a
    // signature string) per connection — a capture of a million connections from as many clients has a
    // million signatures (connectionRows).
    let connRows = attempts?.total ?? 0;
    for (const f of flows) if (!c.copyOf.has(f) && facts.eventCount(f) === 0) connRows++;
    const compactConn = (this.compactConnections || attempts) && connRows > limits.listAll ? new ConnRows(flows, connSig, connEvent, limits) : null;
    if (attempts && !compactConn) throw new Error('summarised connection attempts need more than TIMELINE_LIMITS.listAll rows (attempts.ts threshold)');
    // Summarised attempts: never carried by a request, never another capture's copy; the ones a finding cites
    // are rows of their own (as any cited row), the rest rows of their signature.
    for (const g of attempts?.groups ?? []) {
      let cited = 0;
      const isCited = (f: Flow): boolean => {
        const [fref, ref] = flowRefs(f);
        return this.citedBy(ref!, fref!).length > 0;
      };
      const citedSet = new Set<Flow>();
      for (const o of g.first) {
        if (!isCited(o.f)) continue;
        events.add(connEvent(o.f), connSig(o.f));
        citedSet.add(o.f);
        cited++;
      }
      const earliest = g.earliest.filter((f) => !citedSet.has(f));
      const latest = g.latest.find((f) => !citedSet.has(f)) ?? null;
      compactConn!.supply(connSig(g.first[0]!.f), earliest, g.count - cited, latest);
    }
    let fi = -1;
    for (const f of flows) {
      fi++;
      if (c.copyOf.has(f)) continue;
      if (facts.eventCount(f) === 0) {
        if (!compactConn) events.add(connEvent(f), connSig(f));
        else {
          const [fref, ref] = flowRefs(f);
          const cites = this.citedBy(ref!, fref!, ...this.copyRefs(f));
          if (cites.length) events.add(connEvent(f), connSig(f));
          else compactConn.add(fi, f);
        }
      }
      const claimed = facts.claimedExchanges(f);
      f.http.forEach((x, i) => {
        if (!x.time || claimed.has(i)) return;
        const t = Date.parse(x.time);
        if (!Number.isFinite(t)) return;
        const xref = TimelineBuilder.exchangeRef(f, i);
        const sig = `x|${nodeIdFor(c, f.client.ip)}|${nodeIdFor(c, f.server.ip)}|${f.security}|${x.method ?? ''}|${redactPath(x.path ?? '', this.showSecrets)}|${x.authority ?? ''}|${x.status ?? ''}|${x.version ?? f.protocol}`;
        events.add({
          timeMs: t,
          time: x.time,
          source: 'capture',
          kind: 'exchange',
          summary: `${x.method ?? ''} ${redactPath(x.path ?? '', this.showSecrets)}${x.authority ? ` (host ${x.authority})` : ''}${x.status !== undefined ? ` → ${x.status}` : ''} in ${f.security} ${x.version ?? f.protocol}`,
          from: nodeIdFor(c, f.client.ip),
          to: nodeIdFor(c, f.server.ip),
          security: f.security,
          ref: xref,
          findings: this.citedBy(xref),
        }, sig);
      });
    }
    compactConn?.into(events);
  }

  /**
   * One request event, complete (`evt.records` final, inbound first), in creation order: its row, or —
   * when none of its records has a time — its records counted as untimed. Reads the correlation's
   * per-record lookups for `evt.records` only.
   */
  addEvent(evt: RequestEvent): void {
    if (!this.flowsAdded) throw new Error('TimelineBuilder.addEvent before addFlows');
    const { c, showSecrets } = this;
    const dirOf = (r: AccessRecord): Direction => c.recordDirection.get(r) ?? 'unknown';
    const timed = evt.records.filter((r) => r.timeMs !== undefined && r.time);
    if (timed.length === 0) {
      this.untimed += evt.records.length;
      return;
    }
    // When the request started: the earliest record (the client sidecar's, when both logged it).
    const first = timed.reduce((a, b) => (b.timeMs! < a.timeMs! ? b : a));
    const r = evt.records[0]!; // inbound first: the receiving sidecar's view names the decision
    const wire = c.recordWire.get(r) ?? {};
    const dir = dirOf(r);
    const deny = evt.records.map(loggedRbacDeny).find((d) => d !== null) ?? null;
    const nr = evt.records.some((x) => /(^|,)NR(,|$)/.test(x.responseFlags ?? ''));
    const shown = evt.records.find((x) => loggedRbacDeny(x)) ?? r;
    const det = shown.responseCodeDetails ?? shown.connectionTerminationDetails;
    const sec = eventSecurity(evt, dirOf);
    const others = evt.records.filter((x) => x !== r);
    const refs: EvidenceRef[] = evt.records.map((x) => x.ref);
    let correlated: EvidenceRef | undefined;
    if (evt.flow) {
      const [fref, ref] = TimelineBuilder.flowRefs(evt.flow);
      correlated = evt.exchange !== undefined ? TimelineBuilder.exchangeRef(evt.flow, evt.exchange) : ref!;
      refs.push(fref!, ref!, correlated, ...this.copyRefs(evt.flow));
    }
    const kind = deny ? 'denied' : nr ? 'rejected' : 'request';
    const sig = `log|${kind}|${dir}|${shown.kind === 'http' ? `${shown.attrs.http?.method ?? '-'} ${redactPath(shown.attrs.http?.path ?? '-', showSecrets)} → ${shown.responseCode ?? '-'}` : 'TCP'}|${det ?? ''}|${shown.responseFlags ?? ''}|${nodeIdFor(c, wire.client?.ip)}|${nodeIdFor(c, wire.server?.ip)}|${wire.server ? fmtAddr(wire.server.ip, wire.server.port) : ''}|${sec.security}|${sec.principal ?? ''}|${r.node ?? ''}|${others.map((x) => dirOf(x)).join(',')}|${evt.flow ? `${evt.flow.security} ${evt.flow.protocol}` : ''}`;
    const findings = this.citedBy(...refs);
    // A row that will only be counted on its signature is not built (addLazy).
    const head: RowHead = { timeMs: first.timeMs!, time: first.time!, source: 'access-log', ref: r.ref, findings };
    this.events.addLazy(head, sig, () => {
      const what = shown.kind === 'http' ? `${shown.attrs.http?.method ?? '-'} ${redactPath(shown.attrs.http?.path ?? '-', showSecrets)} → ${shown.responseCode ?? '-'}` : `TCP ${shown.bytesReceived ?? 0}/${shown.bytesSent ?? 0} bytes`;
      const seenBy = [others.length ? `also logged ${others.map((x) => dirOf(x)).join(', ')}` : '', evt.flow ? `captured: ${TimelineBuilder.connText(evt.flow)}` : ''].filter(Boolean).join('; ');
      return {
        timeMs: first.timeMs!,
        time: first.time!,
        source: 'access-log',
        kind,
        summary: `${dir !== 'unknown' ? `${dir} ` : ''}${what}${det ? ` ${det}` : ''}${shown.responseFlags && shown.responseFlags !== '-' ? ` [${shown.responseFlags}]` : ''}${wire.client ? ` from ${fmtAddr(wire.client.ip, wire.client.port)}` : ''}${wire.server ? ` to ${fmtAddr(wire.server.ip, wire.server.port)}` : ''}${sec.principal ? ` as ${sec.principal}` : ''}${r.node ? ` (${r.node})` : ''}${seenBy ? ` — ${seenBy}` : ''}`,
        from: nodeIdFor(c, wire.client?.ip),
        to: nodeIdFor(c, wire.server?.ip),
        ...(sec.security !== 'unknown' ? { security: sec.security } : {}),
        ref: r.ref,
        findings,
        ...(correlated ? { correlated } : {}),
        ...(others.length ? { also: others.map((x) => x.ref) } : {}),
      };
    });
  }

  /** The timeline (call once). */
  finish(): Timeline {
    if (!this.flowsAdded) throw new Error('TimelineBuilder.finish before addFlows');
    const total = this.events.total;
    const done = this.events.finish();
    return { events: done.events, untimed: this.untimed, total, aggregated: done.aggregated };
  }
}

/**
 * The whole timeline from a whole correlation (every event in memory): TimelineBuilder fed with
 * `flowFactsFromCorrelation(c)` and every event of `c.events`. `records` are the correlated records (the
 * timeline reads them through the correlation's events).
 */
export function buildTimeline(
  flows: Flow[],
  records: AccessRecord[],
  findings: Finding[],
  c: Correlation,
  showSecrets = false,
  limits: TimelineLimits = TIMELINE_LIMITS,
  /** `false`: hold every connection row until the end (the reference the compact aggregation is tested against). */
  compactConnections = true,
  /** Connection attempts summarised while gathering (attempts.ts): rows of their own, from the groups. */
  attempts?: SummarisedAttempts,
): Timeline {
  const b = new TimelineBuilder({ flows, findings, correlation: c, flowFacts: flowFactsFromCorrelation(c), showSecrets, limits, compactConnections, ...(attempts ? { attempts } : {}) });
  b.addFlows();
  for (const e of c.events) b.addEvent(e);
  return b.finish();
}
