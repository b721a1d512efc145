/**
 * Correlation: joins the independent sources of an incident.
 *
 *  - captures ↔ access records by 5-tuple and time. On the server sidecar the record's
 *    DOWNSTREAM_REMOTE_ADDRESS is the client ip:port seen on the wire and DOWNSTREAM_LOCAL_ADDRESS
 *    the server's; on the client sidecar UPSTREAM_LOCAL_ADDRESS → UPSTREAM_HOST is the wire leg.
 *    A record matches a flow when its start time lies within [flow start − skew, flow end + skew].
 *    A cleartext exchange whose `x-request-id` equals the record's request id is an exact match.
 *  - inbound records ↔ the sidecar-local leg (Envoy → app, `127.0.0.6` → pod IP, cleartext by
 *    design) of the same request in a capture taken inside the server pod: same `x-request-id`, else
 *    (only when unambiguous) the record's UPSTREAM_LOCAL_ADDRESS → UPSTREAM_HOST and time, or time
 *    and route. Its `x-forwarded-client-cert` tells who the caller was (see evidence.ts).
 *  - records ↔ proxies (node id, kubectl pod prefix, or the proxy's own address) ↔ config dumps.
 *  - IPs ↔ workloads from the inventory, else from the dumps (the proxy's own IPs and node
 *    metadata, endpoint metadata).
 */
import type { AccessRecord, Explanation, Flow, HttpExchange } from '../model/records.js';
import type { JsonValue } from '../model/attrs.js';
import { WorkloadIndex, emptyInventory, type Inventory, type WorkloadRef } from '../readers/inventory.js';
import { normalizeIp } from '../readers/ip-text.js';
import { inForceAt, ProxyIndex, type ProxyView } from './proxies.js';
import { isLoopbackAddress, legScope, leftThePod } from './scope.js';
import { groupRequestEvents, recordSecurity, type EventSecurity, type RequestEvent } from './request-events.js';
import { DerivedFacts, RecordFacts, type RecordLookup } from './record-facts.js';

export const DEFAULT_SKEW_MS = 2000;

export interface CorrelateOptions {
  /** Tolerated clock difference between captures and logs (± this many ms). */
  skewMs: number;
}

export interface HostPort {
  ip: string;
  port?: number;
}

export type Direction = 'inbound' | 'outbound' | 'unknown';

export interface RecordLink {
  record: AccessRecord;
  flow: Flow;
  /** Index into flow.http when a single exchange was identified. */
  exchange?: number;
  /** record time − flow start (ms). */
  offsetMs: number;
  by: 'request-id' | '5-tuple';
}

/** An inbound record joined to the request Envoy forwarded to the app (the sidecar-local leg), carrying XFCC. */
export interface LocalLegLink {
  record: AccessRecord;
  flow: Flow;
  /** Index into flow.http. */
  exchange: number;
  /** The `x-forwarded-client-cert` value on that request (several header lines joined with `,`). */
  xfcc: string;
  /**
   * `request-id`: same x-request-id; `upstream-address`: the record's UPSTREAM_LOCAL_ADDRESS →
   * UPSTREAM_HOST and time; `time-route`: the only request to that address with the same method
   * and path within the skew window.
   */
  by: 'request-id' | 'upstream-address' | 'time-route';
}

export interface Correlation {
  skewMs: number;
  workloads: WorkloadIndex;
  /** The proxy (config dump) that wrote each record, when known. */
  recordProxy: RecordLookup<AccessRecord, ProxyView>;
  recordDirection: RecordLookup<AccessRecord, Direction>;
  /** The wire leg of each record (client → server as a capture would show it), when the record carries it. */
  recordWire: RecordLookup<AccessRecord, { client?: HostPort; server?: HostPort }>;
  links: RecordLink[];
  flowRecords: Map<Flow, AccessRecord[]>;
  recordFlow: RecordLookup<AccessRecord, RecordLink>;
  /** Inbound HTTP records whose forwarded request (with XFCC) was found on a sidecar-local leg. */
  recordLocalLeg: RecordLookup<AccessRecord, LocalLegLink>;
  explanationFor: RecordLookup<AccessRecord, Explanation>;
  /** Each request/connection on one hop once, with every record and the flow that saw it (request-events.ts). */
  events: RequestEvent[];
  recordEvent: RecordLookup<AccessRecord, RequestEvent>;
  /** The events a captured flow carried (empty when no record was joined to it). */
  flowEvents: Map<Flow, RequestEvent[]>;
  /** A flow that is another capture's view of a connection already captured (same 4-tuple, overlapping time, another file) → the first flow. */
  copyOf: Map<Flow, Flow>;
  /** The first flow of a connection → its copies in other captures. */
  copies: Map<Flow, Flow[]>;
  /** The security of the connection a record was carried on: the joined flow's proof beats the log's inference. */
  securityOf(r: AccessRecord): EventSecurity;
  /** Offsets between matched records and flows: how far the clocks seem apart. */
  observedSkew: { n: number; medianMs: number | null; minMs: number | null; maxMs: number | null };
  resolve(ip: string | undefined): WorkloadRef | undefined;
  /** The dump of the proxy at this IP in force at `timeMs` (the newest dump when no time is given). */
  proxyForIp(ip: string | undefined, timeMs?: number): ProxyView | undefined;
}

/** Parses `ip:port`, `[v6]:port`, `tcp://ip:port`, or a bare IP. */
export function parseHostPort(s: string | undefined | null): HostPort | undefined {
  if (!s || s === '-') return undefined;
  const fast = parseIpv4Port(s);
  if (fast) return fast;
  let v = s.trim().replace(/^[a-z]+:\/\//, '');
  const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (b) return { ip: normalizeIp(b[1]!), port: b[2] ? Number(b[2]) : undefined };
  const colons = v.split(':').length - 1;
  if (colons === 1) {
    const [ip, port] = v.split(':');
    return { ip: normalizeIp(ip!), port: port ? Number(port) : undefined };
  }
  if (colons === 0 && /^[\d.]+$/.test(v)) return { ip: v };
  if (colons > 1) {
    v = normalizeIp(v);
    return { ip: v };
  }
  return undefined;
}

/**
 * The common case of parseHostPort, `a.b.c.d:port` (digits and dots, then one colon and 1–5 digits), read
 * without regular expressions or splitting: it runs for two addresses each time a record's wire leg is
 * asked for (issue 17, report speed). Anything else → undefined (the general path decides).
 */
function parseIpv4Port(s: string): HostPort | undefined {
  const n = s.length;
  let colon = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) {
      if (colon >= 0) return undefined;
      colon = i;
    } else if (c === 46) {
      if (colon >= 0) return undefined;
    } else if (c < 48 || c > 57) return undefined;
  }
  if (colon <= 0 || colon === n - 1 || n - colon - 1 > 5) return undefined;
  let port = 0;
  for (let i = colon + 1; i < n; i++) port = port * 10 + (s.charCodeAt(i) - 48);
  return { ip: s.slice(0, colon), port };
}

/**
 * Case-insensitive lookup of a logged field by any of its spellings: an exact key first, then (for each
 * spelling in turn) the last key equal to it ignoring ASCII case. Allocates nothing (it runs for several
 * fields of every record, and the miss is the common case for formats that do not log a field).
 */
export function field(r: AccessRecord, ...names: string[]): JsonValue | undefined {
  const fields = r.fields;
  for (const n of names) if (n in fields) return fields[n];
  for (const n of names) {
    let v: JsonValue | undefined;
    for (const k in fields) if (k.length === n.length && equalsIgnoreAsciiCase(k, n)) v = fields[k];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** `a.toLowerCase() === b.toLowerCase()` for same-length keys, without building either lower-cased string. */
function equalsIgnoreAsciiCase(a: string, b: string): boolean {
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x > 127 || y > 127) return a.toLowerCase() === b.toLowerCase();
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

function fieldStr(r: AccessRecord, ...names: string[]): string | undefined {
  const v = field(r, ...names);
  return typeof v === 'string' && v !== '-' && v !== '' ? v : undefined;
}

/** A loopback address (127.0.0.0/8, ::1); see scope.ts. */
export const isLoopback = isLoopbackAddress;

function hostPortOf(e: { address: string; port?: number } | undefined): HostPort | undefined {
  if (!e) return undefined;
  return { ip: normalizeIp(e.address), port: e.port };
}

/** Decides whether a record was written on the receiving (inbound) or sending (outbound) side. */
export function recordDirection(r: AccessRecord, proxy: ProxyView | undefined): Direction {
  const cl = r.upstreamCluster ?? fieldStr(r, 'UPSTREAM_CLUSTER', 'UPSTREAM_CLUSTER_RAW', 'upstream_cluster');
  if (cl) {
    if (cl.startsWith('inbound|') || cl === 'InboundPassthroughCluster' || cl === 'InboundPassthroughClusterIpv4' || cl === 'InboundPassthroughClusterIpv6') return 'inbound';
    if (cl.startsWith('outbound|') || cl === 'PassthroughCluster' || cl === 'BlackHoleCluster') return 'outbound';
  }
  const sni = r.attrs.sni;
  if (sni && sni.startsWith('outbound_.')) return 'inbound';
  const dst = hostPortOf(r.attrs.destination);
  if (proxy && dst && proxy.ips.map(normalizeIp).includes(dst.ip)) return 'inbound';
  const ln = r.logName ?? '';
  if (/inbound/i.test(ln)) return 'inbound';
  if (/outbound/i.test(ln)) return 'outbound';
  return 'unknown';
}

/** Wire endpoints a capture would show for this record. */
export function recordWireLeg(r: AccessRecord, dir: Direction): { client?: HostPort; server?: HostPort } {
  if (dir === 'outbound') {
    const client = parseHostPort(fieldStr(r, 'UPSTREAM_LOCAL_ADDRESS', 'upstream_local_address'));
    const server = parseHostPort(r.upstreamHost ?? fieldStr(r, 'UPSTREAM_HOST', 'upstream_host'));
    return { client, server };
  }
  const client = hostPortOf(r.attrs.directRemote) ?? hostPortOf(r.attrs.source) ?? parseHostPort(fieldStr(r, 'DOWNSTREAM_REMOTE_ADDRESS', 'downstream_remote_address'));
  const server = hostPortOf(r.attrs.destination) ?? parseHostPort(fieldStr(r, 'DOWNSTREAM_LOCAL_ADDRESS', 'downstream_local_address'));
  return { client, server };
}

function flowKey(cip: string, cport: number, sip: string, sport: number): string {
  return `${normalizeIp(cip)}:${cport}>${normalizeIp(sip)}:${sport}`;
}

function requestIdOf(x: HttpExchange): string | undefined {
  return x.headers['x-request-id']?.[0];
}

/**
 * The part of the correlation that does not depend on the records: workloads by address, proxies by
 * address and name, flows by 5-tuple and request id, connections captured twice, the sidecar-local
 * legs. Records are then correlated one at a time (`correlateRecord`), in any number, so a streaming
 * report joins each record as it comes and forgets it (issue 17).
 */
export class CorrelationIndex {
  readonly skewMs: number;
  readonly workloads: WorkloadIndex;
  /** A flow that is another capture's view of a connection already captured → the first flow. */
  readonly copyOf = new Map<Flow, Flow>();
  /** The first flow of a connection → its copies in other captures. */
  readonly copies = new Map<Flow, Flow[]>();
  readonly recordProxy = new RecordFacts<AccessRecord, ProxyView>('proxy');
  readonly recordDirection = new RecordFacts<AccessRecord, Direction>('direction');
  // A record's wire leg is derived from the record and its direction when asked, not stored: it is read a
  // few times per record, and keeping it cost ~150 bytes a record (issue 17, memory per record).
  readonly recordWire: DerivedFacts<AccessRecord, { client?: HostPort; server?: HostPort }>;
  readonly recordFlow = new RecordFacts<AccessRecord, RecordLink>('flow');
  readonly recordLocalLeg = new RecordFacts<AccessRecord, LocalLegLink>('local-leg');
  readonly explanationFor = new RecordFacts<AccessRecord, Explanation>('explanation');
  private readonly proxyIndex: ProxyIndex<ProxyView>;
  private readonly byTuple = new Map<string, Flow[]>();
  private readonly byRequestId = new Map<string, { flow: Flow; exchange: number }>();
  private readonly localLegs: LocalLegIndex;

  constructor(flows: Flow[], proxies: ProxyView[], inventory: Inventory | null, opts: CorrelateOptions) {
    const skewMs = (this.skewMs = opts.skewMs);
    const workloads = (this.workloads = new WorkloadIndex(inventory ?? emptyInventory()));
    // Fallback addresses from the dumps: the proxies' own IPs, then endpoints.
    for (const p of proxies) {
      const md = p.dump.node?.metadata ?? {};
      const sa = typeof md.SERVICE_ACCOUNT === 'string' ? md.SERVICE_ACCOUNT : undefined;
      const wl = typeof md.WORKLOAD_NAME === 'string' ? md.WORKLOAD_NAME : undefined;
      const labels: Record<string, string> = {};
      if (md.LABELS && typeof md.LABELS === 'object' && !Array.isArray(md.LABELS)) {
        for (const [k, v] of Object.entries(md.LABELS)) if (typeof v === 'string') labels[k] = v;
      }
      const name = labels['service.istio.io/canonical-name'] ?? labels['app'] ?? p.app ?? wl ?? p.pod ?? p.nodeId ?? p.source;
      const ns = p.namespace ?? undefined;
      for (const ip of p.ips) {
        workloads.addFallback(ip, { kind: 'proxy', id: ns ? `${ns}/${name}` : name, name, namespace: ns, pod: p.pod ?? undefined, serviceAccount: sa, labels, services: [], source: 'config-dump', sidecar: true });
      }
    }
    for (const p of proxies) {
      for (const e of p.endpoints) {
        if (!/^[\d.]+$|:/.test(e.ip)) continue;
        let name = e.service;
        let ns = e.namespace;
        if (e.workload) {
          const parts = e.workload.split(';');
          if (parts[0]) name = parts[0];
          if (parts[1]) ns = parts[1];
        }
        if (!name) continue;
        workloads.addFallback(e.ip, { kind: 'proxy', id: ns ? `${ns}/${name}` : name, name, namespace: ns, services: e.service ? [`${e.service}.${e.namespace ?? ''}`] : [], source: 'config-dump' });
      }
    }

    // Which dump wrote each record, and which of its proxy's dumps was in force then: the mechanism `explain` uses too.
    this.proxyIndex = new ProxyIndex(proxies);
    const recordDirectionMap = this.recordDirection;
    this.recordWire = new DerivedFacts<AccessRecord, { client?: HostPort; server?: HostPort }>('wire', (r) => {
      const dir = recordDirectionMap.get(r);
      return dir === undefined ? undefined : recordWireLeg(r, dir);
    });

    // Index flows by 5-tuple and by request id of their cleartext exchanges.
    const byTuple = this.byTuple;
    const byRequestId = this.byRequestId;
    for (const f of flows) {
      const k = flowKey(f.client.ip, f.client.port, f.server.ip, f.server.port);
      const list = byTuple.get(k) ?? [];
      list.push(f);
      byTuple.set(k, list);
      f.http.forEach((x, i) => {
        const id = requestIdOf(x);
        if (id && !f.sidecarLocal) byRequestId.set(id, { flow: f, exchange: i });
      });
    }

    // The same connection captured at both ends (in the client's and the server's pod) is one
    // connection: the later capture's flow is a copy of the first, counted once and never joined itself.
    const copyOf = this.copyOf;
    for (const list of byTuple.values()) {
      if (list.length < 2) continue;
      const firsts: Flow[] = [];
      for (const f of list) {
        // Legs inside a pod (sidecar-local, loopback) in two captures are two pods' legs, never one connection.
        if (!leftThePod(legScope(f))) continue;
        const first = firsts.find((g) => g.file !== f.file && f.startMs <= g.endMs + skewMs && g.startMs <= f.endMs + skewMs);
        if (first) copyOf.set(f, first);
        else firsts.push(f);
      }
    }
    if (copyOf.size > 0) {
      for (const [k, list] of byTuple) byTuple.set(k, list.filter((f) => !copyOf.has(f)));
      for (const [id, hit] of byRequestId) {
        const first = copyOf.get(hit.flow);
        if (first) {
          const j = first.http.findIndex((x) => requestIdOf(x) === id);
          if (j >= 0) byRequestId.set(id, { flow: first, exchange: j });
        }
      }
    }
    for (const [copy, first] of copyOf) {
      const list = this.copies.get(first);
      if (list) list.push(copy);
      else this.copies.set(first, [copy]);
    }
    this.localLegs = new LocalLegIndex(flows);
  }

  /** The dump of the proxy at this IP in force at `timeMs` (the newest dump when no time is given). */
  proxyForIp(ip: string | undefined, timeMs?: number): ProxyView | undefined {
    return ip ? inForceAt(this.proxyIndex.atIp(ip), timeMs) : undefined;
  }

  resolve(ip: string | undefined): WorkloadRef | undefined {
    return ip ? this.workloads.lookup(ip) : undefined;
  }

  /**
   * Joins one record: its proxy and direction, its wire leg's captured flow (request id, else 5-tuple and
   * time), its sidecar-local leg; the facts are set on the record (RecordFacts). Returns the flow link.
   */
  correlateRecord(r: AccessRecord): RecordLink | undefined {
    const named = this.proxyIndex.named(r);
    let p = named.length ? inForceAt(named, r.timeMs) : undefined;
    let dir = recordDirection(r, p);
    if (!p && dir === 'inbound') {
      const dst = hostPortOf(r.attrs.destination);
      if (dst) p = this.proxyForIp(dst.ip, r.timeMs);
    }
    if (!p && dir === 'outbound') {
      const up = parseHostPort(fieldStr(r, 'UPSTREAM_LOCAL_ADDRESS', 'upstream_local_address'));
      if (up) p = this.proxyForIp(up.ip, r.timeMs);
    }
    if (p) this.recordProxy.set(r, p);
    if (dir === 'unknown' && p) dir = recordDirection(r, p);
    this.recordDirection.set(r, dir);
    const link = this.linkOf(r);
    if (link) this.recordFlow.set(r, link);
    const leg = this.localLegs.legOf(r, this.recordDirection, this.recordProxy, this.recordFlow, this.skewMs);
    if (leg) this.recordLocalLeg.set(r, leg);
    return link;
  }

  private linkOf(r: AccessRecord): RecordLink | undefined {
    const skewMs = this.skewMs;
    const wire = this.recordWire.get(r)!;
    // 1. Exact: the request id seen in a cleartext exchange on the wire, at the same leg.
    if (r.requestId && this.byRequestId.has(r.requestId)) {
      const hit = this.byRequestId.get(r.requestId)!;
      const sameLeg = !wire.client || (normalizeIp(hit.flow.client.ip) === wire.client.ip && (wire.client.port === undefined || hit.flow.client.port === wire.client.port));
      if (sameLeg) return { record: r, flow: hit.flow, exchange: hit.exchange, offsetMs: (r.timeMs ?? hit.flow.startMs) - hit.flow.startMs, by: 'request-id' };
    }
    // 2. 5-tuple + time window.
    if (!wire.client?.port || !wire.server?.port) return undefined;
    const cands = this.byTuple.get(flowKey(wire.client.ip, wire.client.port, wire.server.ip, wire.server.port));
    if (!cands) return undefined;
    let best: Flow | undefined;
    let bestDist = Infinity;
    for (const f of cands) {
      if (r.timeMs === undefined) {
        if (cands.length === 1) best = f;
        break;
      }
      if (r.timeMs < f.startMs - skewMs || r.timeMs > f.endMs + skewMs) continue;
      const dist = r.timeMs < f.startMs ? f.startMs - r.timeMs : r.timeMs > f.endMs ? r.timeMs - f.endMs : 0;
      if (dist < bestDist) {
        bestDist = dist;
        best = f;
      }
    }
    if (!best) return undefined;
    let exchange: number | undefined;
    if (best.http.length > 0 && r.kind === 'http') {
      const method = r.attrs.http?.method;
      const path = r.attrs.http?.path ?? fieldStr(r, 'X-ENVOY-ORIGINAL-PATH?:PATH', 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)', 'path');
      let bestX = Infinity;
      best.http.forEach((x, i) => {
        if (method && x.method && x.method !== method) return;
        if (path && x.path && x.path !== path) return;
        const t = x.time ? Date.parse(x.time) : NaN;
        const d = Number.isFinite(t) && r.timeMs !== undefined ? Math.abs(t - r.timeMs) : 0;
        if (d < bestX) {
          bestX = d;
          exchange = i;
        }
      });
    }
    return { record: r, flow: best, exchange, offsetMs: (r.timeMs ?? best.startMs) - best.startMs, by: '5-tuple' };
  }

  /** The security of the connection a record was carried on: the joined flow's proof beats the log's inference. */
  securityOf(r: AccessRecord): EventSecurity {
    return recordSecurity(r, this.recordDirection.get(r) ?? 'unknown', this.recordFlow.get(r)?.flow);
  }

  /** A Correlation over this index, with what the records gave (every record's, or a streaming pass's). */
  correlation(parts: { events: RequestEvent[]; recordEvent: RecordLookup<AccessRecord, RequestEvent>; flowEvents: Map<Flow, RequestEvent[]>; links: RecordLink[]; flowRecords: Map<Flow, AccessRecord[]>; observedSkew: Correlation['observedSkew'] }): Correlation {
    return {
      skewMs: this.skewMs,
      workloads: this.workloads,
      copyOf: this.copyOf,
      copies: this.copies,
      events: parts.events,
      recordEvent: parts.recordEvent,
      flowEvents: parts.flowEvents,
      securityOf: (r) => this.securityOf(r),
      recordProxy: this.recordProxy,
      recordDirection: this.recordDirection,
      recordWire: this.recordWire,
      links: parts.links,
      flowRecords: parts.flowRecords,
      recordFlow: this.recordFlow,
      recordLocalLeg: this.recordLocalLeg,
      explanationFor: this.explanationFor,
      observedSkew: parts.observedSkew,
      resolve: (ip) => this.resolve(ip),
      proxyForIp: (ip, timeMs) => this.proxyForIp(ip, timeMs),
    };
  }
}

/** Median, min and max of the offsets (ms outside the flow's span, 0 inside), sorted ascending. */
export function skewSummary(sortedOffsets: ArrayLike<number>): Correlation['observedSkew'] {
  const n = sortedOffsets.length;
  return { n, medianMs: n ? sortedOffsets[Math.floor(n / 2)]! : null, minMs: n ? sortedOffsets[0]! : null, maxMs: n ? sortedOffsets[n - 1]! : null };
}

/** How far a matched record's time lies outside its flow's span (0 inside); undefined for a record without time. */
export function linkOffset(l: RecordLink): number | undefined {
  const t = l.record.timeMs;
  if (t === undefined) return undefined;
  const f = l.flow;
  return t < f.startMs ? t - f.startMs : t > f.endMs ? t - f.endMs : 0;
}

export function correlate(flows: Flow[], records: AccessRecord[], explanations: Explanation[], proxies: ProxyView[], inventory: Inventory | null, opts: CorrelateOptions): Correlation {
  const index = new CorrelationIndex(flows, proxies, inventory, opts);
  const links: RecordLink[] = [];
  const flowRecords = new Map<Flow, AccessRecord[]>();
  for (const r of records) {
    const l = index.correlateRecord(r);
    if (!l) continue;
    links.push(l);
    const list = flowRecords.get(l.flow);
    if (list) list.push(r);
    else flowRecords.set(l.flow, [r]);
  }
  for (const e of explanations) index.explanationFor.set(e.record, e);
  const offsets: number[] = [];
  for (const l of links) {
    const o = linkOffset(l);
    if (o !== undefined) offsets.push(o);
  }
  offsets.sort((a, b) => a - b);
  const grouped = groupRequestEvents({ records, recordFlow: index.recordFlow, recordWire: index.recordWire, recordDirection: index.recordDirection, skewMs: opts.skewMs });
  return index.correlation({ events: grouped.events, recordEvent: grouped.recordEvent, flowEvents: grouped.flowEvents, links, flowRecords, observedSkew: skewSummary(offsets) });
}

interface LocalExchange {
  flow: Flow;
  exchange: number;
  xfcc: string;
  requestId?: string;
  /** When the forwarded request was seen: the exchange's time, else the flow's span (epoch ms). */
  from: number;
  to: number;
}

/**
 * The sidecar-local leg of each inbound HTTP record: the request the server sidecar forwarded to
 * the app (loopback client, e.g. `127.0.0.6:<eph>` → `<pod-ip>:<port>`), in a capture of the same
 * proxy. The leg's server must be the record's UPSTREAM_HOST (where Envoy sent the request; a logged
 * `-` means it was not forwarded, so there is no leg), or the record's own destination when the
 * format does not log UPSTREAM_HOST. A loopback server address (older Istio forwards to
 * 127.0.0.1:<port>) is accepted only in the capture file that holds the record's own wire leg.
 * Only exchanges that carry `x-forwarded-client-cert` are considered. Indexed by server and request
 * id, and by server and time, so a large capture costs O(log n) per record.
 */
class LocalLegIndex {
  private readonly byServer = new Map<string, { list: LocalExchange[]; maxSpan: number }>();
  private readonly byRequestId = new Map<string, LocalExchange[]>();

  constructor(flows: Flow[]) {
    const byServer = this.byServer;
    const byRequestId = this.byRequestId;
    for (const f of flows) {
      if (!f.sidecarLocal || !isLoopback(normalizeIp(f.client.ip))) continue;
      f.http.forEach((x, i) => {
        const v = x.headers['x-forwarded-client-cert'];
        if (!v || v.length === 0) return;
        const k = fmtAddr(normalizeIp(f.server.ip), f.server.port);
        const t = x.time ? Date.parse(x.time) : NaN;
        const rid = requestIdOf(x);
        const e: LocalExchange = { flow: f, exchange: i, xfcc: v.join(','), ...(rid !== undefined ? { requestId: rid } : {}), from: Number.isFinite(t) ? t : f.startMs, to: Number.isFinite(t) ? t : f.endMs };
        const s = byServer.get(k) ?? { list: [], maxSpan: 0 };
        s.list.push(e);
        s.maxSpan = Math.max(s.maxSpan, e.to - e.from);
        byServer.set(k, s);
        if (rid !== undefined) {
          const rk = `${k}|${rid}`;
          const same = byRequestId.get(rk);
          if (same) same.push(e);
          else byRequestId.set(rk, [e]);
        }
      });
    }
    for (const s of byServer.values()) s.list.sort((x, y) => x.from - y.from);
  }

  legOf(
    r: AccessRecord,
    dirs: RecordLookup<AccessRecord, Direction>,
    proxies: RecordLookup<AccessRecord, ProxyView>,
    wireLinks: RecordLookup<AccessRecord, RecordLink>,
    skewMs: number,
  ): LocalLegLink | undefined {
    if (this.byServer.size === 0) return undefined;
    const frameOf = (c: LocalExchange): number => c.flow.http[c.exchange]?.requestFrame ?? c.flow.frames[0] ?? 0;
    const link = (c: LocalExchange, by: LocalLegLink['by']): LocalLegLink => ({ record: r, flow: c.flow, exchange: c.exchange, xfcc: c.xfcc, by });
    if (r.kind !== 'http' || dirs.get(r) !== 'inbound') return undefined;
    const hasUpstreamField = ['UPSTREAM_HOST', 'upstream_host'].some((n) => n in r.fields) || r.upstreamHost !== undefined;
    const upstream = parseHostPort(r.upstreamHost ?? fieldStr(r, 'UPSTREAM_HOST', 'upstream_host'));
    if (hasUpstreamField && !upstream) return undefined; // logged `-`: never forwarded to the app
    const server = upstream ?? hostPortOf(r.attrs.destination);
    if (!server || server.port === undefined) return undefined;
    const key = fmtAddr(server.ip, server.port);
    const idx = this.byServer.get(key);
    if (!idx) return undefined;
    const wireFile = wireLinks.get(r)?.flow.file;
    let samePod: (c: LocalExchange) => boolean = () => true;
    if (isLoopback(server.ip)) {
      // 127.0.0.1:<port> exists in every pod: only the capture that holds this record's wire leg is the same pod's.
      if (!wireFile) return undefined;
      samePod = (c) => c.flow.file === wireFile;
    } else {
      const proxyIps = proxies.get(r)?.ips.map(normalizeIp) ?? [];
      const dst = hostPortOf(r.attrs.destination);
      if (!proxyIps.includes(server.ip) && dst?.ip !== server.ip) samePod = (c) => c.flow.file === wireFile;
    }
    const local = parseHostPort(fieldStr(r, 'UPSTREAM_LOCAL_ADDRESS', 'upstream_local_address'));
    const sameClient = (c: LocalExchange): boolean => !!local && local.port !== undefined && normalizeIp(c.flow.client.ip) === local.ip && c.flow.client.port === local.port;

    // 1. Same x-request-id (retries re-send the same id on new legs: accept when they agree on XFCC).
    if (r.requestId) {
      let hits = (this.byRequestId.get(`${key}|${r.requestId}`) ?? []).filter(samePod);
      if (hits.some(sameClient)) hits = hits.filter(sameClient);
      if (hits.length > 0) {
        if (new Set(hits.map((h) => h.xfcc)).size === 1) return link(hits.slice().sort((a, b) => frameOf(a) - frameOf(b))[0]!, 'request-id');
        return undefined; // several legs with different XFCC for one request id: ambiguous, no identity
      }
    }
    // 2. Failing that: the time window (the forwarded request starts after the record's start time,
    //    within its duration), and the leg's address or route; only when exactly one fits.
    if (r.timeMs === undefined) return undefined;
    const lo = r.timeMs - skewMs;
    const hi = r.timeMs + (r.durationMs ?? 0) + skewMs;
    const inWindow: LocalExchange[] = [];
    const list = idx.list;
    let i = upperBound(list, hi) - 1;
    for (; i >= 0 && list[i]!.from >= lo - idx.maxSpan; i--) {
      const c = list[i]!;
      if (c.to < lo || !samePod(c)) continue;
      if (c.requestId !== undefined && r.requestId && c.requestId !== r.requestId) continue; // another request
      inWindow.push(c);
    }
    if (local && local.port !== undefined) {
      // The record names the leg's client address: only that connection can be it.
      const byAddr = inWindow.filter(sameClient);
      return byAddr.length === 1 ? link(byAddr[0]!, 'upstream-address') : undefined;
    }
    const method = r.attrs.http?.method;
    const path = r.attrs.http?.path;
    if (!method || !path) return undefined;
    const byRoute = inWindow.filter((c) => {
      const x = c.flow.http[c.exchange]!;
      return x.method === method && x.path === path;
    });
    return byRoute.length === 1 ? link(byRoute[0]!, 'time-route') : undefined;
  }
}

/** First index whose `from` is greater than `t` (list sorted by `from`). */
function upperBound(list: LocalExchange[], t: number): number {
  let a = 0;
  let b = list.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (list[m]!.from <= t) a = m + 1;
    else b = m;
  }
  return a;
}

/** A display name for an address: `ns/workload` when known, else the IP. */
export function describeAddress(c: Correlation, hp: HostPort | undefined): string {
  if (!hp) return 'unknown';
  const w = c.resolve(hp.ip);
  const addr = hp.port !== undefined ? (hp.ip.includes(':') ? `[${hp.ip}]:${hp.port}` : `${hp.ip}:${hp.port}`) : hp.ip;
  if (!w) return addr;
  return `${w.namespace ? `${w.namespace}/` : ''}${w.name}${w.pod ? ` (pod ${w.pod}, ${addr})` : ` (${addr})`}`;
}

export function fmtAddr(ip: string, port?: number): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port === undefined ? host : `${host}:${port}`;
}
