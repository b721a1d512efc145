/**
 * The streaming report's later passes without joining and grouping each record again (issue 17, report
 * speed): pass 1 (report-stream.ts) joins every record (correlate.ts CorrelationIndex.correlateRecord) and
 * groups the events (request-events.ts EventWindow), and writes what it learned of each record as one row
 * of a side log (side-log.ts), in the order it hands the records over — canonical order, the records
 * without a time last. Passes 2 and 3 read the records in the same order and the rows beside them:
 * `FactsReplay` sets each record's facts from its row and hands the records over with their events, as
 * EventWindow did: in the same order, each event complete (`records` final, inbound first), the same ids,
 * flows and exchanges.
 *
 * A row (32-bit integers): the record's proxy (index in the evidence's proxies, +1; 0 none), direction,
 * joined flow (index in the evidence's flows, +1), exchange (+1; 0 none), how it was joined, its
 * sidecar-local leg (flow +1, exchange, how), its event's number (`e<n>`), whether the record made the event
 * (its first in canonical order) and then the event's record count and exchange (+1), and the security the
 * record logged (request-events.ts loggedSecurity: its number in LOGGED_SECURITIES +1; 0 not worked out, for
 * ztunnel records, whose findings do not ask).
 *
 * `ReplayVerdicts` does the same for pass 2's replay: each timed record's verdict and reason, so that pass 3
 * replays only the records the report lists.
 */
import type { AccessRecord, Explanation, Flow } from '../model/records.js';
import { recordWireLeg, type Direction, type LocalLegLink, type RecordLink, type CorrelationIndex } from './correlate.js';
import type { ProxyView } from './proxies.js';
import { RecordFacts, type RecordLookup } from './record-facts.js';
import { inboundFirst, LOGGED_SECURITIES, loggedSecurity, loggedSecurityNumber, setLoggedSecurity, type EventRecord, type RequestEvent } from './request-events.js';
import { SideLog, type SideLogReader } from './side-log.js';

const PROXY = 0;
const DIR = 1;
const FLOW = 2;
const EXCHANGE = 3;
const BY = 4;
const LEG_FLOW = 5;
const LEG_EXCHANGE = 6;
const LEG_BY = 7;
const EVENT = 8;
const FIRST = 9;
const MEMBERS = 10;
const EVENT_EXCHANGE = 11;
const SECURITY = 12;
/** Integers per row. */
export const ROW = 13;

const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound', 'unknown'];
const LINK_BY: readonly RecordLink['by'][] = ['request-id', '5-tuple'];
const LEG_BYS: readonly LocalLegLink['by'][] = ['request-id', 'upstream-address', 'time-route'];

/** The number of an event (`e<n>`: request-events.ts numbers events in creation order). */
export function eventNumber(e: RequestEvent): number {
  return Number(e.id.slice(1));
}

/** Writes the row of a record pass 1 hands over (its facts set, its event complete). */
export function writeRow(side: SideLog, idx: CorrelationIndex, r: AccessRecord, n: number, first: boolean, event: RequestEvent, proxyNo: Map<ProxyView, number>, flowNo: Map<Flow, number>): void {
  const p = idx.recordProxy.get(r);
  if (p) side.set(PROXY, proxyNo.get(p)! + 1);
  const d = idx.recordDirection.get(r);
  if (d !== undefined) side.set(DIR, DIRECTIONS.indexOf(d) + 1);
  const l = idx.recordFlow.get(r);
  if (l) {
    side.set(FLOW, flowNo.get(l.flow)! + 1);
    if (l.exchange !== undefined) side.set(EXCHANGE, l.exchange + 1);
    side.set(BY, LINK_BY.indexOf(l.by));
  }
  const leg = idx.recordLocalLeg.get(r);
  if (leg) {
    side.set(LEG_FLOW, flowNo.get(leg.flow)! + 1);
    side.set(LEG_EXCHANGE, leg.exchange);
    side.set(LEG_BY, LEG_BYS.indexOf(leg.by));
  }
  side.set(EVENT, n);
  if (first) {
    side.set(FIRST, 1);
    side.set(MEMBERS, event.records.length);
    if (event.exchange !== undefined) side.set(EVENT_EXCHANGE, event.exchange + 1);
  }
  // worked out once here, for the findings (every record) and the views (each event's first) of passes 2 and 3
  if (!r.ztunnel) side.set(SECURITY, loggedSecurityNumber(loggedSecurity(r)) + 1);
  side.next();
}

interface Pending {
  event: RequestEvent;
  /** Timed records of the event not read yet. */
  left: number;
  exchange: number | undefined;
  /** Records without a time that joined it (held in memory: report-stream.ts). */
  untimed: AccessRecord[] | undefined;
}

/**
 * Hands the records of a later pass over as pass 1's EventWindow did, from the side log (see the module
 * comment). `apply(r)` then `push(r)` for each timed record in canonical order, then `end()`. What it holds
 * grows with the records of one window, like EventWindow, plus the records without a time (held anyway).
 */
export class FactsReplay {
  private readonly pending = new Map<number, Pending>();
  /** Events that records without a time joined, by number: their untimed records are handed over at the end. */
  private readonly withUntimed = new Map<number, RequestEvent>();
  private readonly untimedOf = new Map<number, AccessRecord[]>();
  private readonly waiting: EventRecord[] = [];
  /** Each waiting record's event being read (its `left` 0: complete). */
  private readonly waitingOf: Pending[] = [];
  private waitingHead = 0;
  private row: Int32Array | null = null;

  constructor(
    private readonly rows: SideLogReader,
    private readonly idx: CorrelationIndex,
    private readonly recordEvent: RecordFacts<AccessRecord, RequestEvent>,
    private readonly proxies: readonly ProxyView[],
    private readonly flows: readonly Flow[],
    /** The records without a time, in canonical order (correlated), and the number of the event each joined in pass 1. */
    private readonly untimed: readonly AccessRecord[],
    private readonly untimedEventNo: readonly number[],
    private readonly visit: (x: EventRecord) => void,
  ) {
    untimed.forEach((r, k) => {
      const n = untimedEventNo[k]!;
      const list = this.untimedOf.get(n);
      if (list) list.push(r);
      else this.untimedOf.set(n, [r]);
    });
  }

  /** Reads the next record's row and sets its facts (proxy, direction, wire leg, flow link, sidecar-local leg) as correlateRecord did. */
  apply(r: AccessRecord): void {
    const row = (this.row = this.rows.next());
    const idx = this.idx;
    if (row[PROXY]! > 0) idx.recordProxy.set(r, this.proxies[row[PROXY]! - 1]!);
    if (row[DIR]! > 0) {
      const dir = DIRECTIONS[row[DIR]! - 1]!;
      idx.recordDirection.set(r, dir);
      // Its wire leg, worked out once here rather than at each of the builders' several asks (correlate.ts
      // derives it when asked, to keep nothing per record when every record is held; here records stream).
      idx.recordWire.set(r, recordWireLeg(r, dir));
    }
    if (row[FLOW]! > 0) {
      const flow = this.flows[row[FLOW]! - 1]!;
      const link: RecordLink = { record: r, flow, exchange: row[EXCHANGE]! > 0 ? row[EXCHANGE]! - 1 : undefined, offsetMs: (r.timeMs ?? flow.startMs) - flow.startMs, by: LINK_BY[row[BY]!]! };
      idx.recordFlow.set(r, link);
    }
    if (row[LEG_FLOW]! > 0) {
      const flow = this.flows[row[LEG_FLOW]! - 1]!;
      const exchange = row[LEG_EXCHANGE]!;
      const xfcc = flow.http[exchange]!.headers['x-forwarded-client-cert']!.join(',');
      const leg: LocalLegLink = { record: r, flow, exchange, xfcc, by: LEG_BYS[row[LEG_BY]!]! };
      idx.recordLocalLeg.set(r, leg);
    }
    if (row[SECURITY]! > 0) setLoggedSecurity(r, LOGGED_SECURITIES[row[SECURITY]! - 1]!);
  }

  /** Adds the timed record whose row `apply` just read; hands over the records whose events are complete. */
  push(r: AccessRecord): void {
    const row = this.row!;
    const n = row[EVENT]!;
    let p: Pending | undefined;
    const first = row[FIRST] === 1;
    if (first) {
      const link = this.idx.recordFlow.get(r);
      const untimed = this.untimedOf.get(n);
      const id = `e${n}`;
      const event: RequestEvent = link ? { id, records: [r], flow: link.flow } : { id, records: [r] };
      p = { event, left: row[MEMBERS]! - 1 - (untimed?.length ?? 0), exchange: row[EVENT_EXCHANGE]! > 0 ? row[EVENT_EXCHANGE]! - 1 : undefined, untimed };
      if (p.left > 0) this.pending.set(n, p);
    } else {
      p = this.pending.get(n);
      if (!p) throw new Error(`report pass: record facts out of step (event e${n} of a timed record not open)`);
      p.event.records.push(r);
      if (--p.left === 0) this.pending.delete(n);
    }
    if (p.left === 0) this.finish(n, p);
    if (this.waitingHead === this.waiting.length && p.left === 0) {
      // (most records: nothing waits, and the record's event is complete)
      this.hand({ record: r, event: p.event, first });
      return;
    }
    this.waiting.push({ record: r, event: p.event, first });
    this.waitingOf.push(p);
    this.drain();
  }

  /** The event has every record: those without a time join it last, then inbound first (as EventWindow.finishEvent). */
  private finish(n: number, p: Pending): void {
    const ev = p.event;
    if (p.untimed) {
      for (const u of p.untimed) ev.records.push(u);
      this.withUntimed.set(n, ev);
    }
    if (p.exchange !== undefined) ev.exchange = p.exchange;
    if (ev.records.length > 1) ev.records = inboundFirst(ev.records, this.idx.recordDirection);
  }

  private drain(): void {
    const w = this.waiting;
    const wp = this.waitingOf;
    while (this.waitingHead < w.length && wp[this.waitingHead]!.left === 0) this.hand(w[this.waitingHead++]!);
    if (this.waitingHead === w.length) {
      w.length = 0;
      wp.length = 0;
      this.waitingHead = 0;
    } else if (this.waitingHead > 1024 && this.waitingHead * 2 > w.length) {
      w.splice(0, this.waitingHead);
      wp.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private hand(x: EventRecord): void {
    this.recordEvent.set(x.record, x.event);
    this.visit(x);
  }

  /** After the last timed record: the records without a time, each with its event (timed, or made of records without a time). */
  end(): void {
    if (this.pending.size > 0 || this.waitingHead < this.waiting.length) throw new Error(`report pass: record facts out of step (${this.pending.size} event(s) still open after the last record)`);
    const made = new Map<number, RequestEvent>();
    for (const r of this.untimed) {
      const row = this.rows.next();
      const n = row[EVENT]!;
      const first = row[FIRST] === 1;
      let ev = this.withUntimed.get(n) ?? made.get(n);
      if (!ev) {
        if (!first) throw new Error(`report pass: record facts out of step (event e${n} of a record without a time not made)`);
        const members = this.untimedOf.get(n)!;
        const link = this.idx.recordFlow.get(r);
        ev = { id: `e${n}`, records: members.slice(), ...(link ? { flow: link.flow } : {}) };
        if (row[EVENT_EXCHANGE]! > 0) ev.exchange = row[EVENT_EXCHANGE]! - 1;
        if (ev.records.length > 1) ev.records = inboundFirst(ev.records, this.idx.recordDirection);
        made.set(n, ev);
      }
      this.hand({ record: r, event: ev, first });
    }
    if (this.rows.left !== 0) throw new Error(`report pass: record facts out of step (${this.rows.left} row(s) left after the last record)`);
  }

  close(): void {
    this.rows.close();
  }
}

/** A record's replay verdict and reason (report-model.ts ReplayVerdict; an Explanation is one). */
export interface Verdict {
  readonly verdict: Explanation['verdict'];
  readonly reason: string;
}

/** Distinct (verdict, reason) pairs numbered; past it a record's pair is not written (its replay is done again when asked). */
const VERDICTS_KEPT = 4096;
/** A record the replay gave no explanation. */
const NOT_REPLAYED: Verdict = Object.freeze({ verdict: 'agrees', reason: '' });

/**
 * The replay verdict and reason of each timed record, as pass 2 found them, for pass 3 (report-stream.ts): one
 * integer per record in a side log — 0 not replayed, n > 0 the n-th distinct (verdict, reason) pair, −1 a pair
 * past VERDICTS_KEPT (a fleet's replays have a handful of reasons; a reason naming per-record values, such as
 * a not-from-this-proxy address, fills the table, then such records are replayed again when asked). What it
 * keeps is bounded by VERDICTS_KEPT pairs.
 */
export class ReplayVerdicts {
  private readonly log: SideLog;
  private readonly byVerdict = new Map<string, Map<string, number>>();
  private readonly kept: Verdict[] = [];

  constructor(path: string | null) {
    this.log = new SideLog(1, path);
  }

  /** The next timed record's replay (canonical order; undefined: not replayed). */
  write(x: Explanation | undefined): void {
    if (x) this.log.set(0, this.numberOf(x));
    this.log.next();
  }

  private numberOf(x: Explanation): number {
    let m = this.byVerdict.get(x.verdict);
    if (!m) this.byVerdict.set(x.verdict, (m = new Map()));
    let n = m.get(x.reason);
    if (n === undefined) {
      if (this.kept.length >= VERDICTS_KEPT) return -1;
      n = this.kept.length + 1;
      this.kept.push(Object.freeze({ verdict: x.verdict, reason: x.reason }));
      m.set(x.reason, n);
    }
    return n;
  }

  seal(): void {
    this.log.seal();
  }

  /**
   * Each record's verdict for a later pass: from the side log for the timed records (`reader().next(r)` for each,
   * in canonical order), else (records without a time, pairs not kept) from `explanations`.
   */
  lookup(explanations: RecordLookup<AccessRecord, Explanation>): VerdictLookup {
    return new VerdictLookup(this.log, this.kept, explanations);
  }
}

export class VerdictLookup implements RecordLookup<AccessRecord, Verdict> {
  private readonly facts = new RecordFacts<AccessRecord, Verdict>('replay verdict');

  constructor(
    private readonly log: SideLog,
    private readonly kept: readonly Verdict[],
    private readonly explanations: RecordLookup<AccessRecord, Explanation>,
  ) {}

  /** Reads the timed records' verdicts in canonical order: `next(r)` for each; `close()` at the end. */
  reader(): { next(r: AccessRecord): void; close(): void } {
    const rows = this.log.reader();
    return {
      next: (r) => {
        const n = rows.next()[0]!;
        if (n === 0) this.facts.set(r, NOT_REPLAYED);
        else if (n > 0) this.facts.set(r, this.kept[n - 1]!);
      },
      close: () => rows.close(),
    };
  }

  get(r: AccessRecord): Verdict | undefined {
    const v = this.facts.get(r);
    if (v === NOT_REPLAYED) return undefined;
    return v ?? this.explanations.get(r);
  }

  has(r: AccessRecord): boolean {
    return this.get(r) !== undefined;
  }

  set(r: AccessRecord, v: Verdict): this {
    this.facts.set(r, v);
    return this;
  }
}
