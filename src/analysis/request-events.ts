/**
 * One request, one event, one verdict.
 *
 * The same request (HTTP) or connection (TCP) on one hop can be seen up to three times: in the
 * client sidecar's log (outbound), in the server sidecar's log (inbound), and in a capture of the
 * connection between them. They are one event: it is counted once in the graph, the findings and
 * the timeline, and every source's evidence is attached to it.
 *
 * Grouping (after correlate.ts has joined records to flows):
 *  - records joined to the same captured flow: the same `x-request-id` (HTTP), the same exchange of a
 *    cleartext flow, or — for TCP records, one per side of a connection — the flow itself;
 *  - records not joined to a capture: the same wire leg (client ip:port → server ip:port, as the
 *    server's DOWNSTREAM_REMOTE/LOCAL_ADDRESS and the client's UPSTREAM_LOCAL_ADDRESS/UPSTREAM_HOST
 *    give it) and the same `x-request-id`, or for TCP the same leg within the clock-skew window.
 *  A request id alone never groups: Istio propagates it to every hop of a call chain.
 *  - ambient (ztunnel) records not joined to a capture: the client ztunnel's outbound record and the destination
 *    ztunnel's inbound record of one HBONE tunnel, by client pod IP, target (`dst.hbone_addr`) and time, never by
 *    port (see pairZtunnelLegs); other ztunnel records are events of their own.
 *
 * The event's security: a captured connection's proof (a client certificate seen, cleartext bytes)
 * beats the log's fact, which beats the capture's inference (Istio ClientHello markers), which beats
 * the log's inference (an `outbound_.*` SNI, an empty SNI). The log's guess never overrides the
 * capture's proof: a stolen certificate presented without Istio's SNI is still mTLS.
 */
import type { AccessRecord, Flow, FlowSecurity } from '../model/records.js';
import type { Direction, HostPort, RecordLink } from './correlate.js';
import { isIstioSni, isWaypointInboundCluster } from '../istio/traffic.js';
import { RecordFacts, type RecordLookup } from './record-facts.js';
import { tunnelKey, ztunnelTunnelOf, type ZtunnelTunnel } from './waypoint-callers.js';

export interface RequestEvent {
  /** Stable within one correlation: `e<n>` in record order. */
  id: string;
  /** The log records that describe it (inbound first), at least one. */
  records: AccessRecord[];
  /** The captured connection that carried it, when joined. */
  flow?: Flow;
  /** Index into flow.http when a cleartext exchange was identified. */
  exchange?: number;
}

/** A connection's or request's security with where it comes from. */
export interface EventSecurity {
  security: FlowSecurity;
  /** The peer identity: a logged peer URI SAN or filter-state principal, else the captured client certificate's URI SAN. */
  principal?: string;
  /** `capture` when the joined flow's verdict decided it, `access-log` when the record's did. */
  from: 'capture' | 'access-log';
  /** True when the deciding verdict rests on conventions, not on a seen or logged fact. */
  inferred: boolean;
}

/** The security a record logged (inferSecurity's verdict), and whether it is inferred from conventions. */
export interface LoggedSecurity {
  readonly security: FlowSecurity;
  readonly inferred: boolean;
}

/** The eight answers, shared (a record keeps a reference to one, not a copy), numbered for the report's side log (pass-facts.ts). */
export const LOGGED_SECURITIES: readonly LoggedSecurity[] = (['mtls', 'tls', 'plaintext', 'unknown'] as const).flatMap((security) =>
  [false, true].map((inferred) => Object.freeze({ security, inferred })),
);
const loggedSecurityOf = new RecordFacts<AccessRecord, LoggedSecurity>('logged security');

/** The number of a LoggedSecurity in LOGGED_SECURITIES. */
export function loggedSecurityNumber(v: LoggedSecurity): number {
  return LOGGED_SECURITIES.indexOf(v);
}

/**
 * inferSecurity's security and `inferred` for a record, worked out once per record object and kept on it
 * (record-facts.ts): the findings, the graph, the timeline and the request list each ask for it (issue 17,
 * report speed). A record is
 * never changed after it is read (a changed copy is a new object), so the answer stays right. The streaming
 * report works it out once per record, in pass 1, and gives the later passes' copies of the record the
 * answer (`setLoggedSecurity`, from its side log).
 */
export function loggedSecurity(r: AccessRecord): LoggedSecurity {
  const hit = loggedSecurityOf.get(r);
  if (hit !== undefined) return hit;
  const v = securityVerdict(r);
  loggedSecurityOf.set(r, v);
  return v;
}

const MTLS = LOGGED_SECURITIES[0]!;
const MTLS_INFERRED = LOGGED_SECURITIES[1]!;
const TLS = LOGGED_SECURITIES[2]!;
const TLS_INFERRED = LOGGED_SECURITIES[3]!;
const PLAINTEXT = LOGGED_SECURITIES[4]!;
const PLAINTEXT_INFERRED = LOGGED_SECURITIES[5]!;
const UNKNOWN = LOGGED_SECURITIES[6]!;

/**
 * inferSecurity's security and `inferred` (explain.ts inferSecurityRaw: its branches in its order; the filter
 * state it settles after does not change them), without the request attributes and `unknown` list it builds
 * for the replay: a record read back from the spill has a list of its own, so inferSecurity worked its facts
 * out afresh, ~2.6 KB of garbage per record (issue 17, report speed). test/analysis/logged-security.test.ts
 * pins the two equal.
 */
function securityVerdict(r: AccessRecord): LoggedSecurity {
  const a = r.attrs;
  if (isWaypointInboundCluster(r.upstreamCluster) && !a.tls?.uriSans.length) return MTLS_INFERRED;
  const unknown = r.unknown;
  if (a.tls) {
    if (a.tls.uriSans.length) return MTLS;
    if (!unknown.includes('tls.uriSans')) return TLS;
    return isIstioSni(a.sni) ? MTLS_INFERRED : TLS_INFERRED;
  }
  if (!unknown.includes('tls')) return PLAINTEXT;
  if (unknown.includes('sni')) return UNKNOWN;
  if (a.sni) return isIstioSni(a.sni) ? MTLS_INFERRED : TLS_INFERRED;
  return PLAINTEXT_INFERRED;
}

/** Gives a record the answer loggedSecurity gave for an equal record (one of LOGGED_SECURITIES). */
export function setLoggedSecurity(r: AccessRecord, v: LoggedSecurity): void {
  loggedSecurityOf.set(r, v);
}

/** What the record says about its downstream peer: meaningful on the receiving (inbound) side only. */
export function loggedPeer(r: AccessRecord, dir: Direction): EventSecurity {
  if (dir !== 'inbound') return { security: 'unknown', from: 'access-log', inferred: false };
  const inf = loggedSecurity(r);
  const fsP = r.attrs.filterState?.['io.istio.peer_principal'];
  const principal = r.attrs.tls?.uriSans?.[0] ?? (typeof fsP === 'string' ? fsP : undefined);
  return { security: inf.security, from: 'access-log', inferred: inf.inferred, ...(principal !== undefined ? { principal } : {}) };
}

/**
 * The security of the connection a record was carried on: capture proof > log fact > capture
 * inference > log inference (see the module comment). `flow` is the record's joined wire leg.
 */
export function recordSecurity(r: AccessRecord, dir: Direction, flow: Flow | undefined): EventSecurity {
  const log = loggedPeer(r, dir);
  const captured = flow && flow.security !== 'unknown' ? flow : undefined;
  const fromCapture = (f: Flow): EventSecurity => {
    const principal = log.principal ?? f.tls?.uriSans?.[0];
    return { security: f.security, from: 'capture', inferred: f.inferred === true, ...(principal !== undefined ? { principal } : {}) };
  };
  if (captured && captured.inferred !== true) return fromCapture(captured);
  if (log.security !== 'unknown' && !log.inferred) return log;
  if (captured) return fromCapture(captured);
  return log;
}

/** The security of an event: its flow's and its receiving record's, by the same precedence. */
export function eventSecurity(e: RequestEvent, dirOf: (r: AccessRecord) => Direction): EventSecurity {
  const primary = e.records.find((r) => dirOf(r) === 'inbound') ?? e.records[0]!;
  return recordSecurity(primary, dirOf(primary), e.flow);
}

export interface GroupInput {
  records: AccessRecord[];
  recordFlow: RecordLookup<AccessRecord, RecordLink>;
  recordWire: RecordLookup<AccessRecord, { client?: HostPort; server?: HostPort }>;
  recordDirection: RecordLookup<AccessRecord, Direction>;
  skewMs: number;
}

function legKey(w: { client?: HostPort; server?: HostPort } | undefined): string | undefined {
  if (!w?.client?.port || !w.server?.port) return undefined;
  return `${w.client.ip}:${w.client.port}>${w.server.ip}:${w.server.port}`;
}

/**
 * Pairs the client ztunnel's outbound record with the destination ztunnel's inbound record of the same HBONE tunnel
 * (outbound `dst.addr` = the target's own IP on 15008, not a waypoint): same client pod IP, same target
 * (`dst.hbone_addr`; inbound `dst.addr` when it has none) and connection intervals that overlap within ±skewMs.
 * Never by port: outbound ztunnel logs the app's socket (its ephemeral port), inbound the HBONE connection's.
 * A record with more than one fitting partner is paired with none (its records stay separate events), so the
 * result does not depend on record order. Returns a pair number per paired record.
 */
export function pairZtunnelLegs(records: Iterable<AccessRecord>, skewMs: number): Map<AccessRecord, number> {
  const outs = new Map<string, Array<{ r: AccessRecord; t: ZtunnelTunnel }>>();
  const ins: Array<{ r: AccessRecord; t: ZtunnelTunnel }> = [];
  for (const r of records) {
    if (!r.ztunnel) continue;
    const t = ztunnelTunnelOf(r);
    if (!t || !t.toWorkload) continue;
    if (t.direction === 'inbound') ins.push({ r, t });
    else {
      const k = tunnelKey(t.clientIp, t.hbone);
      const list = outs.get(k);
      if (list) list.push({ r, t });
      else outs.set(k, [{ r, t }]);
    }
  }
  const pairs = new Map<AccessRecord, number>();
  if (outs.size === 0 || ins.length === 0) return pairs;
  const overlap = (a: ZtunnelTunnel, b: ZtunnelTunnel): boolean => a.startMs <= b.endMs + skewMs && b.startMs <= a.endMs + skewMs;
  const inboundFits = new Map<AccessRecord, number>();
  const single: Array<[AccessRecord, AccessRecord]> = [];
  for (const i of ins) {
    const fits = (outs.get(tunnelKey(i.t.clientIp, i.t.hbone)) ?? []).filter((o) => overlap(o.t, i.t));
    for (const o of fits) inboundFits.set(o.r, (inboundFits.get(o.r) ?? 0) + 1);
    if (fits.length === 1) single.push([i.r, fits[0]!.r]);
  }
  let n = 0;
  for (const [i, o] of single) {
    if (inboundFits.get(o) !== 1) continue;
    pairs.set(i, n);
    pairs.set(o, n++);
  }
  return pairs;
}

/** Groups records (and their joined flows) into request events; see the module comment. */
export function groupRequestEvents(input: GroupInput): { events: RequestEvent[]; recordEvent: RecordLookup<AccessRecord, RequestEvent>; flowEvents: Map<Flow, RequestEvent[]> } {
  const events: RequestEvent[] = [];
  const recordEvent = new RecordFacts<AccessRecord, RequestEvent>('event');
  const byKey = new Map<string, RequestEvent[]>();
  const ztunnelPairs = pairZtunnelLegs(input.records, input.skewMs);
  const inboundFirst = (e: RequestEvent): void => {
    e.records.sort((a, b) => (input.recordDirection.get(a) === 'inbound' ? 0 : 1) - (input.recordDirection.get(b) === 'inbound' ? 0 : 1));
  };
  const close = (a: AccessRecord, b: AccessRecord): boolean => {
    if (a.timeMs === undefined || b.timeMs === undefined) return true;
    const span = Math.max(a.durationMs ?? 0, b.durationMs ?? 0);
    return Math.abs(a.timeMs - b.timeMs) <= input.skewMs + span;
  };
  for (const r of input.records) {
    const link = input.recordFlow.get(r);
    let key: string | undefined;
    if (link) {
      if (r.requestId) key = `flow|${link.flow.id}|rid|${r.requestId}`;
      else if (link.exchange !== undefined) key = `flow|${link.flow.id}|x|${link.exchange}`;
      else if (r.kind === 'tcp') key = `flow|${link.flow.id}|tcp`;
    } else if (r.ztunnel) {
      const pair = ztunnelPairs.get(r);
      if (pair !== undefined) key = `ztunnel|${pair}`;
    } else {
      const leg = legKey(input.recordWire.get(r));
      if (leg && r.requestId) key = `leg|${leg}|rid|${r.requestId}`;
      else if (leg && r.kind === 'tcp') key = `leg|${leg}|tcp`;
    }
    let ev: RequestEvent | undefined;
    if (key) {
      const cands = byKey.get(key) ?? [];
      // Never two records of the same side in one event (a retry re-sends the id on a new request).
      const dir = input.recordDirection.get(r);
      ev = cands.find((c) => close(c.records[0]!, r) && !c.records.some((x) => dir !== undefined && dir !== 'unknown' && input.recordDirection.get(x) === dir));
      if (ev) ev.records.push(r);
      else {
        // (an exact-length list: most events have one record, and `[]` then push reserves room for 17)
        ev = { id: `e${events.length}`, records: [r], ...(link ? { flow: link.flow } : {}) };
        events.push(ev);
        if (cands.length === 0) byKey.set(key, cands);
        cands.push(ev);
      }
    } else {
      ev = { id: `e${events.length}`, records: [r], ...(link ? { flow: link.flow } : {}) };
      events.push(ev);
    }
    if (link && link.exchange !== undefined && ev.exchange === undefined) ev.exchange = link.exchange;
    recordEvent.set(r, ev);
  }
  const flowEvents = new Map<Flow, RequestEvent[]>();
  for (const e of events) {
    // A list grown by push keeps room for 17 records (152 bytes) however few it holds: copied to its length
    // (~100 bytes less per multi-record event; issue 17, memory per record).
    if (e.records.length > 1) e.records = e.records.slice();
    inboundFirst(e);
    if (!e.flow) continue;
    const list = flowEvents.get(e.flow);
    if (list) list.push(e);
    else flowEvents.set(e.flow, [e]);
  }
  return { events, recordEvent, flowEvents };
}

/** The grouping key of a record (see groupRequestEvents): records with equal keys may be one event. */
export function eventKey(r: AccessRecord, link: RecordLink | undefined, wire: { client?: HostPort; server?: HostPort } | undefined, ztunnelPair: number | undefined): string | undefined {
  if (link) {
    if (r.requestId) return `flow|${link.flow.id}|rid|${r.requestId}`;
    if (link.exchange !== undefined) return `flow|${link.flow.id}|x|${link.exchange}`;
    if (r.kind === 'tcp') return `flow|${link.flow.id}|tcp`;
    return undefined;
  }
  if (r.ztunnel) return ztunnelPair !== undefined ? `ztunnel|${ztunnelPair}` : undefined;
  const leg = legKey(wire);
  if (leg && r.requestId) return `leg|${leg}|rid|${r.requestId}`;
  if (leg && r.kind === 'tcp') return `leg|${leg}|tcp`;
  return undefined;
}

/**
 * The records, inbound first, each side in the order given (what a stable sort by "is inbound" gives): a new
 * list of exactly their number.
 */
export function inboundFirst(records: readonly AccessRecord[], dirs: RecordLookup<AccessRecord, Direction>): AccessRecord[] {
  const out = records.slice();
  let inbound = 0;
  for (let i = 0; i < records.length; i++) if (dirs.get(records[i]!) === 'inbound') inbound++;
  if (inbound === 0 || inbound === records.length) return out;
  let a = 0;
  let b = inbound;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (dirs.get(r) === 'inbound') out[a++] = r;
    else out[b++] = r;
  }
  return out;
}

/** EventWindow's answer when no record is ready (never changed: each caller reads it and lets it go). */
const NONE_READY: EventRecord[] = Object.freeze([]) as unknown as EventRecord[];

/** A record handed back by EventWindow once its event is complete. */
export interface EventRecord {
  record: AccessRecord;
  event: RequestEvent;
  /** The record that made the event (the first of it in canonical order): the event is new to the caller. */
  first: boolean;
}

interface OpenEvent {
  event: RequestEvent;
  key: string;
  /** After this time (ms) no record can join it (first record's time + skew + the longest duration). */
  closesAfter: number;
}

/**
 * groupRequestEvents over records that come one at a time in canonical order (analysis/record-spill.ts:
 * by time, records without a time last), in memory bounded by the records of one window (the skew plus
 * the longest logged duration) rather than by all records: the same events, the same ids, the same
 * records in each (issue 17, streaming report).
 *
 * A record with time t can join an event whose first record has time t0 only when
 * t − t0 ≤ skew + max(both durations) ≤ skew + `maxDurationMs`, so an event is complete once a record
 * past that comes (or at the end). Records without a time come last and may join any event of their key
 * (groupRequestEvents' `close` holds for them): the caller hands them over first (`untimed`, each
 * correlated, in canonical order), and each is offered to every event of its key as that event
 * completes, in the events' creation order, as the whole-input grouping would offer it.
 */
export class EventWindow {
  private count = 0;
  private readonly open: OpenEvent[] = [];
  private openHead = 0;
  private readonly byKey = new Map<string, RequestEvent[]>();
  private readonly waiting: EventRecord[] = [];
  private waitingHead = 0;
  private readonly closed = new WeakSet<RequestEvent>();
  /** Untimed records by key, in canonical order, with the event they joined (when they did). */
  private readonly untimedByKey = new Map<string, Array<{ r: AccessRecord; event?: RequestEvent }>>();
  private readonly untimed: Array<{ r: AccessRecord; key: string | undefined; event?: RequestEvent }> = [];

  constructor(
    private readonly facts: {
      recordFlow: RecordLookup<AccessRecord, RecordLink>;
      recordWire: RecordLookup<AccessRecord, { client?: HostPort; server?: HostPort }>;
      recordDirection: RecordLookup<AccessRecord, Direction>;
      skewMs: number;
      /** The longest `durationMs` among the records (0 when none logs one). */
      maxDurationMs: number;
    },
    /** Records without a time, correlated, in canonical order, with their ztunnel pair numbers. */
    untimed: Array<{ r: AccessRecord; ztunnelPair?: number }> = [],
  ) {
    for (const { r, ztunnelPair } of untimed) {
      const key = this.keyOf(r, ztunnelPair);
      const u = { r, key };
      this.untimed.push(u);
      if (key === undefined) continue;
      const list = this.untimedByKey.get(key);
      if (list) list.push(u);
      else this.untimedByKey.set(key, [u]);
    }
  }

  private keyOf(r: AccessRecord, ztunnelPair: number | undefined): string | undefined {
    return eventKey(r, this.facts.recordFlow.get(r), this.facts.recordWire.get(r), ztunnelPair);
  }

  private sameSide(e: RequestEvent, r: AccessRecord): boolean {
    const dir = this.facts.recordDirection.get(r);
    return e.records.some((x) => dir !== undefined && dir !== 'unknown' && this.facts.recordDirection.get(x) === dir);
  }

  private newEvent(r: AccessRecord): RequestEvent {
    const link = this.facts.recordFlow.get(r);
    const ev: RequestEvent = { id: `e${this.count++}`, records: [r], ...(link ? { flow: link.flow } : {}) };
    if (link && link.exchange !== undefined) ev.exchange = link.exchange;
    return ev;
  }

  private join(ev: RequestEvent, r: AccessRecord): void {
    ev.records.push(r);
    const link = this.facts.recordFlow.get(r);
    if (link && link.exchange !== undefined && ev.exchange === undefined) ev.exchange = link.exchange;
  }

  /** Adds a timed record (after every earlier one in canonical order, and correlated); returns the records whose events are complete. */
  push(r: AccessRecord, ztunnelPair?: number): EventRecord[] {
    const t = r.timeMs;
    if (t === undefined) throw new Error('EventWindow.push: a record without a time (records without one are given to the constructor)');
    this.closeUntil(t);
    const key = this.keyOf(r, ztunnelPair);
    const close = (a: AccessRecord): boolean => {
      if (a.timeMs === undefined) return true;
      const span = Math.max(a.durationMs ?? 0, r.durationMs ?? 0);
      return Math.abs(a.timeMs - t) <= this.facts.skewMs + span;
    };
    let ev: RequestEvent | undefined;
    let first = false;
    if (key) {
      const cands = this.byKey.get(key);
      ev = cands?.find((c) => close(c.records[0]!) && !this.sameSide(c, r));
      if (ev) this.join(ev, r);
      else {
        ev = this.newEvent(r);
        first = true;
        if (cands) cands.push(ev);
        else this.byKey.set(key, [ev]);
        this.open.push({ event: ev, key, closesAfter: t + this.facts.skewMs + this.facts.maxDurationMs });
      }
    } else {
      ev = this.newEvent(r);
      first = true;
      this.finishEvent(ev, undefined);
    }
    this.waiting.push({ record: r, event: ev, first });
    return this.drain();
  }

  /** Every remaining record, its event complete: the timed ones, then those without a time. */
  end(): EventRecord[] {
    this.closeUntil(Infinity);
    const out = this.drain().slice();
    // Records without a time no timed event took: grouped among themselves, in canonical order.
    const byKey = new Map<string, RequestEvent[]>();
    // each event made here → the record that made it (its first, before finishEvent sorts inbound first)
    const made = new Map<RequestEvent, AccessRecord>();
    for (const u of this.untimed) {
      if (u.event) continue;
      let ev: RequestEvent | undefined;
      if (u.key) {
        const cands = byKey.get(u.key) ?? [];
        ev = cands.find((c) => !this.sameSide(c, u.r));
        if (ev) this.join(ev, u.r);
        else {
          ev = this.newEvent(u.r);
          made.set(ev, u.r);
          if (cands.length === 0) byKey.set(u.key, cands);
          cands.push(ev);
        }
      } else {
        ev = this.newEvent(u.r);
        made.set(ev, u.r);
      }
      u.event = ev;
    }
    for (const ev of made.keys()) this.finishEvent(ev, undefined);
    for (const u of this.untimed) out.push({ record: u.r, event: u.event!, first: made.get(u.event!) === u.r });
    return out;
  }

  private closeUntil(t: number): void {
    while (this.openHead < this.open.length && this.open[this.openHead]!.closesAfter < t) {
      const o = this.open[this.openHead++]!;
      const cands = this.byKey.get(o.key)!;
      const i = cands.indexOf(o.event);
      if (i >= 0) cands.splice(i, 1);
      if (cands.length === 0) this.byKey.delete(o.key);
      this.finishEvent(o.event, o.key);
    }
    if (this.openHead > 1024 && this.openHead * 2 > this.open.length) {
      this.open.splice(0, this.openHead);
      this.openHead = 0;
    }
  }

  /** The event can take no more timed records: the records without a time of its key join it when they can, then it is complete. */
  private finishEvent(ev: RequestEvent, key: string | undefined): void {
    if (key !== undefined) {
      for (const u of this.untimedByKey.get(key) ?? []) {
        if (u.event || this.sameSide(ev, u.r)) continue;
        this.join(ev, u.r);
        u.event = ev;
      }
    }
    // (an exact-length list: see groupRequestEvents)
    if (ev.records.length > 1) ev.records = inboundFirst(ev.records, this.facts.recordDirection);
    this.closed.add(ev);
  }

  private drain(): EventRecord[] {
    const w = this.waiting;
    // (most pushes: the record waits, or nothing waited before it; no list made when none is ready)
    if (this.waitingHead >= w.length || !this.closed.has(w[this.waitingHead]!.event)) return NONE_READY;
    const out: EventRecord[] = [];
    while (this.waitingHead < this.waiting.length && this.closed.has(this.waiting[this.waitingHead]!.event)) out.push(this.waiting[this.waitingHead++]!);
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
    return out;
  }
}
