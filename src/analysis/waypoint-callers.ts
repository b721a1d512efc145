/**
 * The caller of a request a waypoint logged, from the client-side ztunnel's log.
 *
 * A waypoint receives requests through HBONE: `connect_terminate` (port 15008) terminates the mutual TLS of the
 * client ztunnel and stores the caller's certificate URI SAN as filter state `io.istio.peer_principal`, which the
 * waypoint's RBAC reads on `main_internal`. The waypoint's own access-log record (cluster `inbound-vip|…`) is written
 * on `main_internal`, where no peer certificate exists, so it never carries the caller's identity. The client
 * ztunnel logs the same tunnel from its side (istio/ztunnel `src/proxy/outbound.rs`, `src/proxy/metrics.rs`):
 * `direction="outbound"`, `src.addr` = the app's own socket (client pod IP, the app's ephemeral port),
 * `src.identity` = the identity ztunnel presented on the tunnel, `dst.addr` = the waypoint's `ip:15008`,
 * `dst.hbone_addr` = the CONNECT target, i.e. the service VIP:port the app dialled.
 *
 * The waypoint record shows the same facts from its side: `%DOWNSTREAM_REMOTE_ADDRESS%` = the HBONE connection's
 * peer (client pod IP; the port is that of ztunnel's pooled HBONE connection, not the app's, so ports never join),
 * `%DOWNSTREAM_LOCAL_ADDRESS%` = the CONNECT authority (= `dst.hbone_addr`). The join is therefore: same client IP,
 * same VIP:port, and the request inside the ztunnel connection's lifetime (ztunnel logs `connection complete` when
 * the app connection closes, with its `duration`) within the clock skew. Candidates with different identities make
 * the caller ambiguous: the record stays undecidable and the candidates are named.
 */
import type { AccessRecord, Explanation } from '../model/records.js';
import { isWaypointInboundCluster } from '../istio/traffic.js';
import { splitAddress } from '../readers/accesslog/format.js';

/** One client-side ztunnel record of a tunnel to a waypoint (plain data: it crosses to worker threads). */
export interface WaypointCaller {
  /** The client pod IP (`src.addr` without its port). */
  clientIp: string;
  /** `dst.hbone_addr`: the service VIP:port the app dialled. */
  hbone: string;
  /** `dst.addr`: the waypoint's `ip:15008`. */
  via: string;
  /** The ztunnel connection's start and end (epoch ms): log time − duration .. log time. */
  startMs: number;
  endMs: number;
  /** `src.identity`, absent when the record does not log it. */
  identity: string | null;
  /** Where it was logged (`file:line`). */
  ref: string;
  /** `src.workload` as logged, for people. */
  workload?: string;
}

function ipOf(addr: string): string | null {
  const a = splitAddress(addr);
  return a?.address ?? null;
}

function portOf(addr: string): number | undefined {
  return splitAddress(addr)?.port;
}

function key(ip: string, hbone: string): string {
  return `${ip}|${hbone}`;
}

function endpoint(e: { address: string; port?: number } | undefined): string | null {
  if (!e || e.port === undefined) return null;
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** One ztunnel `connection complete` record of an HBONE tunnel, with the keys both ends of the tunnel log alike. */
export interface ZtunnelTunnel {
  direction: 'inbound' | 'outbound';
  /** The client pod IP (`src.addr` without its port: the port is the app's on the outbound side, the HBONE connection's on the inbound side). */
  clientIp: string;
  /** The tunnel's target ip:port (`dst.hbone_addr`, else `dst.addr` on the inbound side). */
  hbone: string;
  /** Outbound: `dst.addr` is the target's own IP on 15008 (not a waypoint); inbound: always true. */
  toWorkload: boolean;
  /** The connection's start and end (epoch ms): log time − duration .. log time. */
  startMs: number;
  endMs: number;
}

/**
 * The tunnel facts of a ztunnel `connection complete` record: outbound records need `dst.addr` on 15008 and a
 * `dst.hbone_addr`; records without a client address, a time or a duration cannot be joined and give null.
 */
export function ztunnelTunnelOf(r: AccessRecord): ZtunnelTunnel | null {
  const z = r.ztunnel;
  if (!z || (z.direction !== 'outbound' && z.direction !== 'inbound') || z.message !== 'connection complete') return null;
  const clientIp = r.attrs.source?.address;
  if (!clientIp || r.timeMs === undefined || r.durationMs === undefined) return null;
  let toWorkload = true;
  let hbone: string | undefined;
  if (z.direction === 'outbound') {
    if (!z.dstAddr || !z.dstHboneAddr || portOf(z.dstAddr) !== 15008) return null;
    const viaIp = ipOf(z.dstAddr);
    const hboneIp = ipOf(z.dstHboneAddr);
    if (!viaIp || !hboneIp) return null;
    toWorkload = viaIp === hboneIp;
    hbone = z.dstHboneAddr;
  } else hbone = z.dstHboneAddr ?? z.dstAddr;
  if (!hbone) return null;
  return { direction: z.direction, clientIp, hbone, toWorkload, startMs: r.timeMs - r.durationMs, endMs: r.timeMs };
}

/** The join key of a tunnel's two ends (and of a waypoint record with its caller): client IP and target ip:port. */
export function tunnelKey(clientIp: string, hbone: string): string {
  return key(clientIp, hbone);
}

/**
 * The caller facts of a ztunnel record when it is the client side of a tunnel to a waypoint (or any HBONE hop
 * that is not the destination itself): outbound, `connection complete`, `dst.addr` on port 15008 and a
 * `dst.hbone_addr` on another IP. Records without a time or duration cannot be placed in time and are left out.
 */
export function waypointCallerOf(r: AccessRecord): WaypointCaller | null {
  const t = ztunnelTunnelOf(r);
  if (!t || t.direction !== 'outbound' || t.toWorkload) return null;
  const z = r.ztunnel!;
  const client = t.clientIp;
  const ref = r.ref.line !== undefined ? `${r.ref.file}:${r.ref.line}` : r.ref.file;
  return {
    clientIp: own(client), hbone: own(t.hbone), via: own(z.dstAddr!), startMs: t.startMs, endMs: t.endMs,
    identity: z.srcIdentity ? own(z.srcIdentity) : null, ref: Buffer.from(ref).toString(), ...(z.srcWorkload ? { workload: own(z.srcWorkload) } : {}),
  };
}

/**
 * A string of its own, shared by equal values: a parsed field is a slice of the read chunk, and keeping the slice
 * would keep the whole chunk alive for as long as the index lives (50k callers held ~240 MB of chunks before this).
 */
const owned = new Map<string, string>();
function own(s: string): string {
  let v = owned.get(s);
  if (v === undefined) {
    if (owned.size >= 100_000) owned.clear();
    v = Buffer.from(s).toString();
    owned.set(v, v);
  }
  return v;
}

export type CallerMatch =
  | { kind: 'none'; why: string }
  | { kind: 'one'; identity: string; callers: WaypointCaller[] }
  | { kind: 'ambiguous'; why: string; callers: WaypointCaller[] };

/** The waypoint record's join keys: client IP, VIP:port, request start and end; null when it is not a waypoint's record. */
export function waypointRecordKeys(r: AccessRecord): { clientIp: string; hbone: string; startMs: number; endMs: number } | null {
  if (r.ztunnel || !isWaypointInboundCluster(r.upstreamCluster)) return null;
  const clientIp = r.attrs.source?.address ?? r.attrs.remote?.address;
  const hbone = endpoint(r.attrs.destination);
  if (!clientIp || !hbone || r.timeMs === undefined) return null;
  return { clientIp, hbone, startMs: r.timeMs, endMs: r.timeMs + (r.durationMs ?? 0) };
}

/** Outbound ztunnel records to waypoints, by client IP and VIP:port. */
export class WaypointCallerIndex {
  private readonly byKey = new Map<string, WaypointCaller[]>();
  private n = 0;

  static of(callers: readonly WaypointCaller[]): WaypointCallerIndex {
    const ix = new WaypointCallerIndex();
    for (const c of callers) ix.add(c);
    return ix;
  }

  get size(): number {
    return this.n;
  }

  add(c: WaypointCaller): void {
    const k = key(c.clientIp, c.hbone);
    const list = this.byKey.get(k);
    if (list) list.push(c);
    else this.byKey.set(k, [c]);
    this.n++;
  }

  /** Adds the record when it is a client ztunnel's record of a tunnel to a waypoint. */
  addRecord(r: AccessRecord): boolean {
    const c = waypointCallerOf(r);
    if (c) this.add(c);
    return c !== null;
  }

  /** Every caller, in the order added (to hand the index to worker threads). */
  all(): WaypointCaller[] {
    const out: WaypointCaller[] = [];
    for (const list of this.byKey.values()) out.push(...list);
    return out;
  }

  /** The client ztunnel records whose connection contains the waypoint record's request (± skew). */
  lookup(r: AccessRecord, skewMs: number): CallerMatch {
    const k = waypointRecordKeys(r);
    if (!k) return { kind: 'none', why: 'not a waypoint record with a client address, a destination and a time' };
    const list = this.byKey.get(key(k.clientIp, k.hbone)) ?? [];
    const hits = list.filter((c) => c.startMs - skewMs <= k.startMs && k.endMs <= c.endMs + skewMs);
    if (hits.length === 0) {
      const near = list.length ? ` (${list.length} record(s) from ${k.clientIp} to ${k.hbone} at other times)` : '';
      return { kind: 'none', why: `no client ztunnel outbound record from ${k.clientIp} to ${k.hbone} (dst.hbone_addr) whose connection spans the request (±${skewMs} ms)${near}` };
    }
    const ids = new Set(hits.map((c) => c.identity));
    if (ids.has(null)) {
      const bare = hits.filter((c) => c.identity === null);
      return { kind: 'ambiguous', why: `the client ztunnel record${bare.length > 1 ? 's' : ''} ${bare.slice(0, 3).map((c) => c.ref).join(', ')} do${bare.length > 1 ? '' : 'es'} not log src.identity`, callers: hits };
    }
    if (ids.size > 1) {
      const shown = hits.slice(0, 4).map((c) => `${c.ref} (${c.identity})`).join(', ');
      return { kind: 'ambiguous', why: `${hits.length} client ztunnel records from ${k.clientIp} to ${k.hbone} span the request with different identities: ${shown}${hits.length > 4 ? ', …' : ''}`, callers: hits };
    }
    return { kind: 'one', identity: hits[0]!.identity!, callers: hits };
  }
}

/** The record with the HBONE peer certificate the waypoint saw: URI SAN and filter state io.istio.peer_principal. */
export function withWaypointPeer(r: AccessRecord, identity: string): AccessRecord {
  const drop = new Set(['tls', 'tls.uriSans', 'tls.dnsSans', 'tls.subject', 'tls.peerCertificateValidated', 'filterState', 'filterState.io.istio.peer_principal']);
  return {
    ...r,
    attrs: {
      ...r.attrs,
      tls: { uriSans: [identity], dnsSans: [], subject: '', peerCertificateValidated: true },
      filterState: { ...(r.attrs.filterState ?? {}), 'io.istio.peer_principal': identity },
    },
    unknown: r.unknown.filter((u) => !drop.has(u)),
  };
}

/** Says where the caller's identity came from (one line). */
export function callerNote(m: Extract<CallerMatch, { kind: 'one' }>): string {
  const c = m.callers[0]!;
  const more = m.callers.length > 1 ? ` (+${m.callers.length - 1} more with the same identity)` : '';
  return `caller ${m.identity} (io.istio.peer_principal) from the client ztunnel's outbound record ${c.ref}${more}: ${c.workload ?? c.clientIp} → ${c.hbone} via the waypoint ${c.via}`;
}

/** How an explanation's identity evidence names a caller found in the client ztunnel's log. */
export const ZTUNNEL_CALLER_EVIDENCE = 'src.identity ';

function needsIdentity(e: Explanation): boolean {
  return e.verdict === 'undecidable' && (e.missing ?? []).some((m) => m === 'filterState' || m.startsWith('filterState.') || m.startsWith('tls'));
}

/**
 * Replays a waypoint's record with the caller the client ztunnel logged. Records that are not a waypoint's, or
 * whose decision does not depend on the caller, are replayed as they are; when the identity is needed and no
 * unique caller is found, the record stays undecidable and says what is missing or which candidates compete.
 */
export function explainWithWaypointCaller(r: AccessRecord, callers: WaypointCallerIndex, skewMs: number, explain: (r: AccessRecord) => Explanation): Explanation {
  if (callers.size === 0 || !waypointRecordKeys(r) || (r.attrs.tls?.uriSans.length ?? 0) > 0) return explain(r);
  const m = callers.lookup(r, skewMs);
  if (m.kind === 'one') {
    const e = explain(withWaypointPeer(r, m.identity));
    const note = callerNote(m);
    const d = e.decision;
    const miss = d?.decision === 'DENY' && d.policy === null && d.closestMiss?.[0] ? `; closest miss ${d.closestMiss[0].summary}` : '';
    return { ...e, record: r, reason: `${e.reason}${miss} — ${note}`, identityEvidence: [...e.identityEvidence, `${ZTUNNEL_CALLER_EVIDENCE}${m.identity} in the client ztunnel's record ${m.callers[0]!.ref}`] };
  }
  const e = explain(r);
  if (!needsIdentity(e)) return e;
  if (m.kind === 'ambiguous') {
    return { ...e, reason: `the caller's identity is ambiguous: ${m.why} — ${e.reason}`, missing: [...(e.missing ?? []), 'a unique client ztunnel record for the caller'] };
  }
  return { ...e, reason: `${e.reason}; ${m.why}` };
}
