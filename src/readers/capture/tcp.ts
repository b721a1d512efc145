/**
 * TCP connection tracking and stream reassembly.
 *
 * Connections are keyed by 5-tuple (both directions map to one key). The client is the sender of
 * the SYN (or the receiver of the SYN-ACK); a capture that starts mid-stream picks the side with
 * the ephemeral port, else the first sender. Each direction is reassembled by sequence number
 * (32-bit wrap-around arithmetic): in-order bytes go straight to the StreamDecoder, out-of-order
 * segments are buffered (copied, bounded per direction and globally), retransmissions and overlaps
 * are trimmed to the bytes not yet delivered, holes that can no longer be filled become `gap`s.
 * Snaplen-truncated payload is reported as a gap ("payload not captured"), never as data.
 *
 * The same packet captured on two paths (a pod's veth and the node's VXLAN overlay, or two
 * interfaces of `tcpdump -i any`) is one packet: a segment identical to a recent one of the same
 * connection (direction, seq, ack, flags, length) that arrived on another path (`view`) within a
 * second is folded in as a copy (frame listed, not counted again, not reassembled again).
 *
 * Once the decoder no longer `wants` a direction, its bytes are only counted. A SYN on a key whose
 * connection has ended (FIN/RST) or carries another ISN starts a new connection (port reuse); a
 * SYN with the connection's own ISN (seen in its SYN, or acknowledged by its SYN-ACK) is a
 * retransmission of it, even after it closed.
 * Ended connections linger briefly (capture time) to collect final ACKs, then are handed to
 * `onClose`; everything still open is handed over by `finish()`.
 *
 * Memory does not grow with the capture: a connection with no packet for `idleSec` of capture time
 * (1 h: longer than Zeek's 5 min tcp_inactivity_timeout, because real sessions idle for 15 min and
 * tshark lists them as one stream) is handed over unfinished, as Zeek would log it (its conn_state
 * says how far it got: S0, S1, OTH, ...), and when more than `maxOpen` connections are
 * open the least recently active tenth are handed over the same way. Either way a note on the
 * connection says so, and a later packet of the same 5-tuple starts a new connection.
 */
import type { Direction, StreamDecoder, StreamFacts } from '../../protocols/stream.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Encapsulation, type TcpSegment } from './decode.js';
import { ZeekTcpState } from './conn-state.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface TcpTableOptions {
  /** Creates the decoder for a new connection. */
  decoder: () => StreamDecoder;
  /** Receives each connection once it is complete (ended and lingered, or at finish()). */
  onClose: (c: TcpConnection) => void;
  /** Out-of-order bytes buffered per direction before a hole is given up as a gap (default 1 MiB). */
  maxBufferPerDirection?: number;
  /** Out-of-order bytes buffered across all connections (default 64 MiB). */
  maxBufferTotal?: number;
  /** Frame numbers kept per connection (default 100 000); the count is always exact. */
  maxFramesPerConnection?: number;
  /** Capture-time seconds an ended connection waits for stray packets (default 5). */
  lingerSec?: number;
  /**
   * Once a connection has ended, keep only its decoder's facts and drop the decoder (and whatever
   * it holds) while the connection lingers (default false: tests inspect the decoder).
   */
  releaseDecoders?: boolean;
  /** Capture-time seconds without a packet after which an open connection is handed over unfinished (default 3600). */
  idleSec?: number;
  /** Open connections kept; beyond this the least recently active are handed over unfinished (default 50 000). */
  maxOpen?: number;
}

/** What an ended connection's decoder is replaced with when decoders are released. */
const RELEASED: StreamDecoder = {
  data() {},
  gap() {},
  end() {},
  wants: () => false,
  facts: () => {
    throw new Error('decoder released: use TcpConnection.facts');
  },
};

interface Pending {
  seq: number;
  /** Captured bytes (copied). */
  data: Uint8Array;
  /** Length in sequence space (payload length per the IP header). */
  len: number;
  /** Arrival order: segments with the same seq leave in the order they came. */
  order: number;
}

/** a comes before b: lower seq (32-bit wrap-around), then earlier arrival. */
function before(a: Pending, b: Pending): boolean {
  const d = sdiff(a.seq, b.seq);
  return d < 0 || (d === 0 && a.order < b.order);
}

/**
 * Out-of-order segments of one direction as a binary min-heap by sequence number: O(log n) to
 * buffer one and to take the first, so a long hole costs O(n log n) whatever the buffer holds.
 * (All buffered segments lie within the reorder cap of the next expected byte, so wrap-around
 * comparison is consistent.)
 */
export class PendingQueue {
  private readonly h: Pending[] = [];
  private n = 0;
  get length(): number {
    return this.h.length;
  }
  first(): Pending | undefined {
    return this.h[0];
  }
  push(seq: number, data: Uint8Array, len: number): void {
    const h = this.h;
    const p: Pending = { seq, data, len, order: this.n++ };
    let i = h.length;
    h.push(p);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(p, h[up]!)) break;
      h[i] = h[up]!;
      i = up;
    }
    h[i] = p;
  }
  shift(): Pending | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const m = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[m]!, last)) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
    return top;
  }
  /** Empties the queue, returning what it held (in no particular order). */
  clear(): Pending[] {
    return this.h.splice(0);
  }
}

export class DirState {
  /** Next expected sequence number; null until the first SYN or data segment. */
  nextSeq: number | null = null;
  isn: number | null = null;
  /** Sequence number of the FIN, when seen. */
  finSeq: number | null = null;
  finSeen = false;
  ended = false;
  pending = new PendingQueue();
  /** Sequence space the buffered segments cover (captured or not: counted toward the reorder caps). */
  pendingBytes = 0;
  /** Payload bytes per the IP headers (what was on the wire). */
  wireBytes = 0;
  /** Payload bytes handed to the decoder, and bytes reported as gaps. */
  delivered = 0;
  gapBytes = 0;
  /** Bytes missing because the snap length cut them. */
  notCaptured = 0;
  /** Bytes lost to a hole in the sequence space (segments not in the capture). */
  lost = 0;
  retransmitted = 0;
  outOfOrder = 0;
  /** Counted only after the decoder stopped wanting this direction. */
  skipped = 0;
  packets = 0;
  midStream = false;
}

export class TcpConnection {
  readonly id: number;
  /** 5-tuple key parts in canonical order (see ConnIndex). */
  readonly key: ConnKey;
  client: Endpoint;
  server: Endpoint;
  readonly family: 4 | 6;
  synSeen = false;
  synAckSeen = false;
  /** The client's ISN as the SYN-ACK acknowledges it (ack - 1), when the SYN itself was not seen first. */
  isnFromSynAck: number | null = null;
  rstSeen = false;
  /** Direction was guessed (no SYN or SYN-ACK seen). */
  directionGuessed = false;
  firstFrame: number;
  lastFrame: number;
  /** Earliest and latest timestamps (captures are not always in time order). */
  startSec: number;
  startNsec: number;
  endSec: number;
  endNsec: number;
  precision: number;
  packets = 0;
  frames: number[] = [];
  framesDropped = 0;
  readonly c2s = new DirState();
  readonly s2c = new DirState();
  decoder: StreamDecoder;
  /** The decoder's facts, kept when the decoder was released. */
  finalFacts: StreamFacts | null = null;
  ended = false;
  endedAt = 0;
  decoderEnded = false;
  ifaces = new Set<number>();
  loopback = false;
  truncatedPackets = 0;
  notes: string[] = [];
  /** The path of the first packet (see TcpSegment.view). */
  readonly view0: number;
  /** Packets per path, once a second path was seen. */
  views: Map<number, { encap: Encapsulation | null; packets: number }> | null = null;
  /** The first encapsulation seen, and whether it came from a client→server packet. */
  encap: Encapsulation | null;
  encapC2s = true;
  /** Copies of packets already seen on another path. */
  duplicates = 0;
  /** Zeek's endpoint states, for conn_state. */
  readonly zeek = new ZeekTcpState();
  /**
   * Recent segments (ring of RING entries × 6 numbers: seq, ack, flags|dir<<8|used<<9, len, view, time ms).
   * It starts with room for 2 and doubles up to RING as packets arrive (none is overwritten before the
   * ring is full): most connections of a big capture (scans, SYN floods) never send more than a few.
   */
  recent = new Float64Array(2 * 6);
  recentNext = 0;

  constructor(id: number, key: ConnKey, client: Endpoint, server: Endpoint, family: 4 | 6, seg: TcpSegment, decoder: StreamDecoder) {
    this.id = id;
    this.key = key;
    this.client = client;
    this.server = server;
    this.family = family;
    this.firstFrame = seg.frame;
    this.lastFrame = seg.frame;
    this.startSec = this.endSec = seg.sec;
    this.startNsec = this.endNsec = seg.nsec;
    this.precision = seg.precision;
    this.decoder = decoder;
    this.view0 = seg.view;
    this.encap = seg.encap;
    this.encapC2s = seg.src === client.ip && seg.sport === client.port;
  }

  get startMs(): number {
    return this.startSec * 1000 + this.startNsec / 1e6;
  }
  get endMs(): number {
    return this.endSec * 1000 + this.endNsec / 1e6;
  }
  dir(d: Direction): DirState {
    return d === 'c2s' ? this.c2s : this.s2c;
  }
  /** The decoder's facts (kept after the decoder was released). */
  facts(): StreamFacts {
    return this.finalFacts ?? this.decoder.facts();
  }
}

/** Recent segments kept per connection to recognise the copy of a packet seen on another path. */
const RING = 32;
/** How far apart (capture time) two copies of one packet may be. */
const COPY_WINDOW_MS = 1000;

/** Ports below this are well known; ports from EPHEMERAL_MIN up are what OSes hand out to clients. */
const WELL_KNOWN_MAX = 1024;
const EPHEMERAL_MIN = 32768;

/** (lower endpoint IP, higher endpoint IP, their ports packed into one int32). */
export interface ConnKey {
  a: string;
  b: string;
  ports: number;
}

/**
 * Connections by 5-tuple without building a key string per packet: nested maps over the (cached)
 * address strings and the two ports packed into one small integer.
 */
class ConnIndex {
  private readonly m = new Map<string, Map<string, Map<number, TcpConnection>>>();
  size = 0;
  get(a: string, b: string, ports: number): TcpConnection | undefined {
    return this.m.get(a)?.get(b)?.get(ports);
  }
  set(c: TcpConnection): void {
    let mb = this.m.get(c.key.a);
    if (!mb) this.m.set(c.key.a, (mb = new Map()));
    let mp = mb.get(c.key.b);
    if (!mp) mb.set(c.key.b, (mp = new Map()));
    if (!mp.has(c.key.ports)) this.size++;
    mp.set(c.key.ports, c);
  }
  delete(c: TcpConnection): void {
    const mb = this.m.get(c.key.a);
    const mp = mb?.get(c.key.b);
    if (!mp || mp.get(c.key.ports) !== c) return;
    mp.delete(c.key.ports);
    this.size--;
    if (mp.size === 0) {
      mb!.delete(c.key.b);
      if (mb!.size === 0) this.m.delete(c.key.a);
    }
  }
  *values(): IterableIterator<TcpConnection> {
    for (const mb of this.m.values()) for (const mp of mb.values()) yield* mp.values();
  }
  /** Every connection, in the order of values() (without a generator: sweep runs after every batch). */
  forEach(fn: (c: TcpConnection) => void): void {
    for (const mb of this.m.values()) for (const mp of mb.values()) for (const c of mp.values()) fn(c);
  }
}

/** Signed 32-bit difference a - b in sequence space. */
function sdiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class TcpTable {
  private conns = new ConnIndex();
  private nextId = 0;
  private readonly maxDir: number;
  private readonly maxTotal: number;
  private readonly maxFrames: number;
  private readonly lingerSec: number;
  private readonly idleSec: number;
  private readonly maxOpen: number;
  private pendingTotal = 0;
  private latestSec = 0;
  /** Lower bounds of endSec over the ended connections in the table, and over all of them (see sweep). */
  private endedFloor = Infinity;
  private openFloor = Infinity;
  private sinceSweep = 0;
  /** Connections handed to onClose so far. */
  closed = 0;
  /** Bytes given up as gaps because the buffers were full. */
  bufferOverflows = 0;
  /** Connections whose decoder threw. */
  decoderErrors = 0;
  /** Open connections handed over unfinished: idle for idleSec, or the least recently active beyond maxOpen. */
  evictedIdle = 0;
  evictedOverCap = 0;

  constructor(private readonly opts: TcpTableOptions) {
    this.maxDir = opts.maxBufferPerDirection ?? 1 << 20;
    this.maxTotal = opts.maxBufferTotal ?? 64 << 20;
    this.maxFrames = opts.maxFramesPerConnection ?? 100_000;
    this.lingerSec = opts.lingerSec ?? 5;
    this.idleSec = opts.idleSec ?? 3600;
    this.maxOpen = Math.max(1, opts.maxOpen ?? 50_000);
  }

  get open(): number {
    return this.conns.size;
  }

  push(seg: TcpSegment): void {
    const { src, dst, sport, dport } = seg;
    const aFirst = src < dst || (src === dst && sport <= dport);
    const ka = aFirst ? src : dst;
    const kb = aFirst ? dst : src;
    const ports = aFirst ? (sport << 16) | dport : (dport << 16) | sport;
    const syn = (seg.flags & TCP_SYN) !== 0;
    const ackf = (seg.flags & TCP_ACK) !== 0;
    let c = this.conns.get(ka, kb, ports);
    if (c && (c.views !== null || seg.view !== c.view0) && this.isCopy(c, seg)) return;
    if (c && !c.ended && seg.sec - c.endSec > this.idleSec) {
      // Idle longer than the timeout (capture time): that connection is over, this is a new one.
      this.evictIdle(c);
      c = undefined;
    }
    if (c && syn && !ackf) {
      // A new SYN: a retransmitted SYN of this connection, or port reuse.
      const sameClient = c.client.ip === src && c.client.port === sport;
      const isn = c.c2s.isn ?? c.isnFromSynAck;
      // The same ISN from the same client is this connection's SYN again (a retransmission, or the
      // original arriving late), even after the connection closed: not a second flow.
      const sameSyn = sameClient && isn !== null && isn === seg.seq;
      if (!sameSyn && (c.ended || !sameClient || isn !== null || (!c.synSeen && !c.synAckSeen && c.packets > 0))) {
        this.close(c);
        c = undefined;
      }
    }
    if (!c) {
      if (this.conns.size >= this.maxOpen) this.evictLeastActive();
      c = this.create({ a: ka, b: kb, ports }, seg);
      this.conns.set(c);
      if (c.endSec < this.openFloor) this.openFloor = c.endSec;
    }
    this.onSegment(c, seg);
    if (seg.sec > this.latestSec) this.latestSec = seg.sec;
    if (++this.sinceSweep >= 8192) {
      this.sinceSweep = 0;
      this.sweep();
    }
  }

  /**
   * Is `seg` the copy of a recent packet of `c` seen on another path? Records the path either
   * way; a copy is listed (frame) but not processed again.
   */
  private isCopy(c: TcpConnection, seg: TcpSegment): boolean {
    if (c.views === null) {
      c.views = new Map([[c.view0, { encap: c.encap, packets: c.packets }]]);
    }
    const dir = seg.src === c.client.ip && seg.sport === c.client.port ? 0 : 1;
    const t = seg.sec * 1000 + seg.nsec / 1e6;
    const r = c.recent;
    const fl = seg.flags | (dir << 8);
    for (let i = 0; i < r.length; i += 6) {
      if (r[i + 4] === seg.view || r[i + 3] !== seg.payloadLen || r[i] !== seg.seq || r[i + 1] !== seg.ack || r[i + 2] !== fl) continue;
      if (Math.abs(r[i + 5]! - t) > COPY_WINDOW_MS) continue;
      r[i + 2] = fl | 512; // used: one copy per original
      c.duplicates++;
      c.frames.length < this.maxFrames ? c.frames.push(seg.frame) : c.framesDropped++;
      c.lastFrame = seg.frame;
      const v = c.views.get(seg.view);
      if (v) v.packets++;
      else c.views.set(seg.view, { encap: seg.encap, packets: 1 });
      if (!c.encap && seg.encap) {
        c.encap = seg.encap;
        c.encapC2s = dir === 0;
      }
      return true;
    }
    return false;
  }

  private create(key: ConnKey, seg: TcpSegment): TcpConnection {
    const syn = (seg.flags & TCP_SYN) !== 0;
    const ackf = (seg.flags & TCP_ACK) !== 0;
    const a = { ip: seg.src, port: seg.sport };
    const b = { ip: seg.dst, port: seg.dport };
    let client = a;
    let server = b;
    let guessed = false;
    if (syn && ackf) {
      client = b;
      server = a;
    } else if (!syn) {
      guessed = true;
      // Mid-stream: the side with a well-known port, or the lower port against an ephemeral one, is the server.
      if ((seg.sport < WELL_KNOWN_MAX && seg.dport >= WELL_KNOWN_MAX) || (seg.sport < EPHEMERAL_MIN && seg.dport >= EPHEMERAL_MIN)) {
        client = b;
        server = a;
      }
    }
    const c = new TcpConnection(this.nextId++, key, client, server, seg.family, seg, this.opts.decoder());
    c.directionGuessed = guessed;
    return c;
  }

  private onSegment(c: TcpConnection, seg: TcpSegment): void {
    c.packets++;
    const d: Direction = seg.src === c.client.ip && seg.sport === c.client.port ? 'c2s' : 's2c';
    {
      const r = c.recent;
      const i = c.recentNext;
      r[i] = seg.seq;
      r[i + 1] = seg.ack;
      r[i + 2] = seg.flags | (d === 'c2s' ? 0 : 256);
      r[i + 3] = seg.payloadLen;
      r[i + 4] = seg.view;
      r[i + 5] = seg.sec * 1000 + seg.nsec / 1e6;
      if (i + 6 < r.length) c.recentNext = i + 6;
      else if (r.length < RING * 6) {
        const grown = new Float64Array(Math.min(RING * 6, r.length * 2));
        grown.set(r);
        c.recent = grown;
        c.recentNext = i + 6;
      } else c.recentNext = 0;
    }
    if (c.views !== null) {
      const v = c.views.get(seg.view);
      if (v) v.packets++;
      else c.views.set(seg.view, { encap: seg.encap, packets: 1 });
      if (!c.encap && seg.encap) {
        c.encap = seg.encap;
        c.encapC2s = d === 'c2s';
      }
    }
    if (c.frames.length < this.maxFrames) c.frames.push(seg.frame);
    else c.framesDropped++;
    c.lastFrame = seg.frame;
    if (seg.sec < c.startSec || (seg.sec === c.startSec && seg.nsec < c.startNsec)) {
      c.startSec = seg.sec;
      c.startNsec = seg.nsec;
    }
    if (seg.sec > c.endSec || (seg.sec === c.endSec && seg.nsec > c.endNsec)) {
      c.endSec = seg.sec;
      c.endNsec = seg.nsec;
    }
    c.ifaces.add(seg.iface);
    if (seg.loopback) c.loopback = true;
    if (seg.payload.length < seg.payloadLen) c.truncatedPackets++;
    const ds = c.dir(d);
    ds.packets++;
    const flags = seg.flags;
    c.zeek.update(d === 'c2s', flags, seg.payloadLen);
    if (flags & TCP_SYN) {
      if (d === 'c2s' && !(flags & TCP_ACK)) c.synSeen = true;
      if (d === 's2c' && flags & TCP_ACK) {
        c.synAckSeen = true;
        c.isnFromSynAck ??= (seg.ack - 1) >>> 0;
      }
      if (ds.isn === null || ds.nextSeq === null || ds.delivered === 0) {
        ds.isn = seg.seq;
        ds.nextSeq = (seg.seq + 1) >>> 0;
      }
    }
    if (flags & TCP_RST) c.rstSeen = true;
    const len = seg.payloadLen;
    const dataSeq = flags & TCP_SYN ? (seg.seq + 1) >>> 0 : seg.seq;
    if (len > 0) {
      ds.wireBytes += len;
      if (c.ended) {
        ds.skipped += len; // stray data after the connection ended
      } else {
        try {
          this.onData(c, d, ds, dataSeq, seg.payload, len, seg);
        } catch (err) {
          this.decoderFailed(c, seg.frame, err);
        }
      }
    }
    if (flags & TCP_FIN) {
      ds.finSeen = true;
      ds.finSeq = (dataSeq + len) >>> 0;
      if (ds.nextSeq === null || sdiff(ds.nextSeq, ds.finSeq) >= 0 || !c.decoder.wants(d)) ds.ended = true;
    }
    if (!c.ended && (c.rstSeen || (c.c2s.ended && c.s2c.ended))) {
      c.ended = true;
      c.endedAt = seg.sec;
      if (c.endSec < this.endedFloor) this.endedFloor = c.endSec;
      this.endDecoder(c);
    }
  }

  private onData(c: TcpConnection, d: Direction, ds: DirState, seq: number, data: Uint8Array, len: number, seg: TcpSegment): void {
    const dec = c.decoder;
    if (!dec.wants(d)) {
      if (ds.pending.length) this.dropPending(ds);
      ds.skipped += len;
      if (ds.nextSeq !== null && sdiff((seq + len) >>> 0, ds.nextSeq) > 0) ds.nextSeq = (seq + len) >>> 0;
      return;
    }
    if (ds.nextSeq === null) {
      ds.nextSeq = seq;
      ds.midStream = true;
    }
    const rel = sdiff(seq, ds.nextSeq);
    if (rel <= 0) {
      const skip = -rel;
      if (skip >= len) {
        ds.retransmitted += len;
        return;
      }
      if (skip > 0) ds.retransmitted += skip;
      this.deliver(c, d, ds, data, len, skip, seg);
      this.drain(c, d, ds, seg);
    } else {
      ds.outOfOrder++;
      // Buffer a copy. The caps count sequence space, not captured bytes: with a short snap length
      // a hole would otherwise be waited for until the end of the capture.
      ds.pending.push(seq, data.slice(), len);
      ds.pendingBytes += len;
      this.pendingTotal += len;
      if (ds.pendingBytes > this.maxDir || this.pendingTotal > this.maxTotal) {
        this.bufferOverflows++;
        this.forceGap(c, d, ds, seg);
      }
    }
  }

  /** Delivers `data` (captured prefix of a `len`-byte segment) from offset `skip`. */
  private deliver(c: TcpConnection, d: Direction, ds: DirState, data: Uint8Array, len: number, skip: number, seg: { frame: number; sec: number; nsec: number }): void {
    const meta = { frame: seg.frame, timeMs: seg.sec * 1000 + seg.nsec / 1e6 };
    const dec = c.decoder;
    if (skip < data.length) {
      const part = skip === 0 && data.length === len ? data : data.subarray(skip);
      if (dec.wants(d)) {
        dec.data(d, part, meta);
        ds.delivered += part.length;
      } else ds.skipped += part.length;
    }
    const missing = len - Math.max(skip, data.length);
    if (missing > 0) {
      if (dec.wants(d)) {
        dec.gap(d, missing, meta);
        ds.gapBytes += missing;
      } else ds.skipped += missing;
      ds.notCaptured += missing;
    }
    ds.nextSeq = ((ds.nextSeq ?? 0) + (len - skip)) >>> 0;
    if (ds.finSeq !== null && ds.nextSeq === ds.finSeq) ds.ended = true;
  }

  private drain(c: TcpConnection, d: Direction, ds: DirState, seg: { frame: number; sec: number; nsec: number }): void {
    const q = ds.pending;
    for (let p = q.first(); p !== undefined; p = q.first()) {
      const rel = sdiff(p.seq, ds.nextSeq!);
      if (rel > 0) break;
      q.shift();
      ds.pendingBytes -= p.len;
      this.pendingTotal -= p.len;
      const skip = -rel;
      if (skip >= p.len) {
        ds.retransmitted += p.len;
        continue;
      }
      if (skip > 0) ds.retransmitted += skip;
      this.deliver(c, d, ds, p.data, p.len, skip, seg);
    }
  }

  /** Gives up the hole before the first buffered segment: reports it as a gap and drains. */
  private forceGap(c: TcpConnection, d: Direction, ds: DirState, seg: { frame: number; sec: number; nsec: number }): void {
    while (ds.pending.length) {
      const first = ds.pending.first()!;
      const hole = sdiff(first.seq, ds.nextSeq!);
      if (hole > 0) {
        const meta = { frame: seg.frame, timeMs: seg.sec * 1000 + seg.nsec / 1e6 };
        if (c.decoder.wants(d)) {
          c.decoder.gap(d, hole, meta);
          ds.gapBytes += hole;
        } else ds.skipped += hole;
        ds.lost += hole;
        ds.nextSeq = first.seq;
      }
      this.drain(c, d, ds, seg);
      if (!c.decoder.wants(d)) {
        this.dropPending(ds);
        break;
      }
    }
  }

  private dropPending(ds: DirState): void {
    for (const p of ds.pending.clear()) {
      this.pendingTotal -= p.len;
      ds.skipped += p.len;
    }
    ds.pendingBytes = 0;
  }

  /**
   * A decoder that throws on hostile or corrupt bytes must not take the whole capture down: keep
   * what it knew, note the failure on the connection, and count the rest of its bytes.
   */
  private decoderFailed(c: TcpConnection, frame: number, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    c.notes.push(`protocol decoder failed at frame ${frame} (${msg}); later bytes only counted`);
    this.decoderErrors++;
    let facts: StreamFacts | null = null;
    try {
      facts = c.decoder.facts();
    } catch {
      facts = null;
    }
    c.finalFacts = facts ?? {
      protocol: 'unknown',
      tls: null,
      http: [],
      cleartext: false,
      seen: { c2s: c.c2s.delivered, s2c: c.s2c.delivered },
      missing: { c2s: c.c2s.gapBytes, s2c: c.s2c.gapBytes },
      notes: [],
    };
    for (const d of ['c2s', 's2c'] as const) this.dropPending(c.dir(d));
    c.decoder = RELEASED;
    c.decoderEnded = true;
  }

  private endDecoder(c: TcpConnection): void {
    if (c.decoderEnded) return;
    try {
      this.endDecoderUnsafe(c);
    } catch (err) {
      this.decoderFailed(c, c.lastFrame, err);
    }
  }

  private endDecoderUnsafe(c: TcpConnection): void {
    const last = { frame: c.lastFrame, sec: c.endSec, nsec: c.endNsec };
    for (const d of ['c2s', 's2c'] as const) {
      const ds = c.dir(d);
      if (ds.pending.length) this.forceGap(c, d, ds, last);
      // A FIN beyond what we delivered means bytes that never showed up in the capture.
      if (ds.finSeq !== null && ds.nextSeq !== null) {
        const hole = sdiff(ds.finSeq, ds.nextSeq);
        if (hole > 0 && hole < 1 << 30 && c.decoder.wants(d)) {
          c.decoder.gap(d, hole, { frame: c.lastFrame, timeMs: c.endMs });
          ds.gapBytes += hole;
          ds.lost += hole;
          ds.nextSeq = ds.finSeq;
        }
      }
    }
    c.decoderEnded = true;
    c.decoder.end();
    if (this.opts.releaseDecoders) {
      c.finalFacts = c.decoder.facts();
      c.decoder = RELEASED;
    }
  }

  private close(c: TcpConnection): void {
    this.endDecoder(c);
    this.conns.delete(c);
    this.closed++;
    this.opts.onClose(c);
  }

  /**
   * Hands over connections that ended more than lingerSec ago, and open ones idle for more than
   * idleSec (capture time).
   */
  sweep(): void {
    const expired: TcpConnection[] = [];
    const idle: TcpConnection[] = [];
    const latest = this.latestSec;
    const linger = this.lingerSec;
    const idleSec = this.idleSec;
    // Nothing can have expired while every ended connection is within the linger and every one within the
    // idle time (the floors are lower bounds of their last-packet times): the scan is skipped, same result.
    if (latest - this.endedFloor <= linger && latest - this.openFloor <= idleSec) return;
    let endedFloor = Infinity;
    let openFloor = Infinity;
    this.conns.forEach((c) => {
      const quiet = latest - c.endSec;
      if (c.ended) {
        if (quiet > linger) return void expired.push(c);
        if (c.endSec < endedFloor) endedFloor = c.endSec;
      } else if (quiet > idleSec) return void idle.push(c);
      if (c.endSec < openFloor) openFloor = c.endSec;
    });
    this.endedFloor = endedFloor;
    this.openFloor = openFloor;
    for (const c of expired) this.close(c);
    if (idle.length === 0) return;
    idle.sort((a, b) => a.firstFrame - b.firstFrame);
    for (const c of idle) this.evictIdle(c);
  }

  private evictIdle(c: TcpConnection): void {
    c.notes.push(`no packet for more than ${this.idleSec} s of capture time: handed over unfinished (a later packet of this 5-tuple starts a new flow)`);
    this.evictedIdle++;
    this.close(c);
  }

  /** maxOpen reached: hands over the least recently active tenth of the open connections. */
  private evictLeastActive(): void {
    const all = [...this.conns.values()].sort((a, b) => a.endMs - b.endMs || a.firstFrame - b.firstFrame);
    const victims = all.slice(0, Math.max(1, Math.ceil(all.length / 10))).sort((a, b) => a.firstFrame - b.firstFrame);
    for (const c of victims) {
      if (!c.ended) {
        c.notes.push(`more than ${this.maxOpen} connections open at once: handed over unfinished as one of the least recently active (a later packet of this 5-tuple starts a new flow)`);
        this.evictedOverCap++;
      }
      this.close(c);
    }
  }

  /** End of capture: every connection is complete. Returned in first-frame order. */
  finish(): void {
    const all = [...this.conns.values()].sort((a, b) => a.firstFrame - b.firstFrame);
    for (const c of all) this.close(c);
  }
}
