/**
 * Turns an application-level conversation between two endpoints into real IPv4/IPv6 + TCP
 * packets: three-way handshake, sequence and acknowledgement numbers, MSS segmentation, pure
 * ACKs, FIN (or RST) teardown, valid IP and TCP checksums. Impairments for reassembly tests:
 * out-of-order, retransmitted (duplicate) and lost data segments, identified by their index in
 * emission order (0-based, counting data segments of both directions).
 */
import { isIPv6 } from 'node:net';
import { Rng } from './rng.js';

export type Dir = 'c2s' | 's2c';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Message {
  dir: Dir;
  bytes: Uint8Array;
  /** Epoch milliseconds when the first byte was sent; default: previous + stepMs. */
  timeMs?: number;
}

export interface TcpConversationOptions {
  client: Endpoint;
  server: Endpoint;
  /** Epoch milliseconds of the SYN. */
  startMs: number;
  /** Spacing between consecutive events when a message has no time (ms). */
  stepMs?: number;
  mss?: number;
  seed?: number;
  isnClient?: number;
  isnServer?: number;
  /** Emit SYN / SYN-ACK / ACK (default true). False: the capture starts mid-stream. */
  handshake?: boolean;
  /** How the connection ends (default 'fin'). */
  close?: 'fin' | 'rst' | 'none';
  /** Data segment indexes emitted after the next data segment. */
  outOfOrder?: number[];
  /** Data segment indexes emitted twice (the copy right after the original). */
  retransmit?: number[];
  /** Data segment indexes never emitted (missing from the capture). */
  lose?: number[];
  ttl?: number;
}

export interface TcpPacket {
  timeNs: bigint;
  /** The IP datagram (IPv4 or IPv6 header + TCP). */
  ip: Uint8Array;
  dir: Dir;
  /** Data segment index when the packet carries payload. */
  segment?: number;
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

export function ipBytes(ip: string): Uint8Array {
  if (!isIPv6(ip)) {
    const parts = ip.split('.').map((p) => Number(p));
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new Error(`synth: bad IPv4 address ${ip}`);
    }
    return Uint8Array.from(parts);
  }
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function sum16(b: Uint8Array, start = 0, end = b.length, acc = 0): number {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) % 2 === 1) s += b[end - 1]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

interface SegSpec {
  flags: number;
  seq: number;
  ack: number;
  payload: Uint8Array;
  mssOption?: number;
}

/** One TCP segment in its IP datagram, with valid checksums (IPv4 or IPv6 by the addresses). */
export interface TcpSegmentSpec {
  /** TCP flags (TCP_FLAGS bits) */
  flags: number;
  seq: number;
  /** written only when ACK is set */
  ack: number;
  payload: Uint8Array;
  /** TCP options, already padded to a multiple of 4 bytes */
  options?: Uint8Array;
  /** receive window (default 65535) */
  window?: number;
  ipId: number;
  ttl?: number;
  /** IPv4 Don't Fragment (default true) */
  dontFragment?: boolean;
}

export const TCP_FLAGS = { FIN, SYN, RST, PSH, ACK } as const;

export function tcpSegment(src: Endpoint, dst: Endpoint, seg: TcpSegmentSpec): Uint8Array {
  const opts = seg.options ?? new Uint8Array(0);
  const hdrLen = 20 + opts.length;
  const tcpLen = hdrLen + seg.payload.length;
  const ttl = seg.ttl ?? 64;
  const tcp = Buffer.alloc(tcpLen);
  tcp.writeUInt16BE(src.port, 0);
  tcp.writeUInt16BE(dst.port, 2);
  tcp.writeUInt32BE(seg.seq >>> 0, 4);
  tcp.writeUInt32BE(seg.flags & ACK ? seg.ack >>> 0 : 0, 8);
  tcp.writeUInt8((hdrLen / 4) << 4, 12);
  tcp.writeUInt8(seg.flags, 13);
  tcp.writeUInt16BE(seg.window ?? 65535, 14);
  tcp.set(opts, 20);
  tcp.set(seg.payload, hdrLen);
  const s = ipBytes(src.ip);
  const d = ipBytes(dst.ip);
  const pseudo = sum16(s) + sum16(d) + 6 + tcpLen;
  tcp.writeUInt16BE(fold(sum16(tcp, 0, tcpLen, pseudo)), 16);
  if (s.length === 4) {
    const ip = Buffer.alloc(20 + tcpLen);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(20 + tcpLen, 2);
    ip.writeUInt16BE(seg.ipId & 0xffff, 4);
    ip.writeUInt16BE(seg.dontFragment === false ? 0 : 0x4000, 6);
    ip.writeUInt8(ttl, 8);
    ip.writeUInt8(6, 9);
    ip.set(s, 12);
    ip.set(d, 16);
    ip.writeUInt16BE(fold(sum16(ip, 0, 20)), 10);
    ip.set(tcp, 20);
    return ip;
  }
  const ip = Buffer.alloc(40 + tcpLen);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(tcpLen, 4);
  ip.writeUInt8(6, 6);
  ip.writeUInt8(ttl, 7);
  ip.set(s, 8);
  ip.set(d, 24);
  ip.set(tcp, 40);
  return ip;
}

function buildPacket(src: Endpoint, dst: Endpoint, seg: SegSpec, ipId: number, ttl: number): Uint8Array {
  const options = seg.mssOption !== undefined ? Uint8Array.from([2, 4, seg.mssOption >> 8, seg.mssOption & 0xff]) : undefined;
  return tcpSegment(src, dst, { flags: seg.flags, seq: seg.seq, ack: seg.ack, payload: seg.payload, ipId, ttl, ...(options ? { options } : {}) });
}

/** Epoch ms (fractional) → ns; exact to the double's precision (≈ 0.25 µs at today's epoch). */
export const msToNs = (ms: number): bigint => {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
};

/** Builds the packets of one TCP connection carrying `messages`. */
export function tcpConversation(messages: readonly Message[], o: TcpConversationOptions): TcpPacket[] {
  const rng = new Rng(o.seed ?? 1);
  const mss = o.mss ?? 1460;
  const step = o.stepMs ?? 1;
  const ttl = o.ttl ?? 64;
  const ends: Record<Dir, { src: Endpoint; dst: Endpoint; seq: number; ipId: number }> = {
    c2s: { src: o.client, dst: o.server, seq: (o.isnClient ?? rng.int(0, 0xffffffff)) >>> 0, ipId: rng.int(0, 0xffff) },
    s2c: { src: o.server, dst: o.client, seq: (o.isnServer ?? rng.int(0, 0xffffffff)) >>> 0, ipId: rng.int(0, 0xffff) },
  };
  const other = (d: Dir): Dir => (d === 'c2s' ? 's2c' : 'c2s');
  const out: TcpPacket[] = [];
  let t = o.startMs;
  const emit = (dir: Dir, flags: number, payload: Uint8Array, time: number, extra: Partial<SegSpec> = {}, segment?: number) => {
    const e = ends[dir];
    const pkt = buildPacket(e.src, e.dst, { flags, seq: e.seq, ack: ends[other(dir)].seq, payload, ...extra }, e.ipId++, ttl);
    out.push({ timeNs: msToNs(time), ip: pkt, dir, ...(segment !== undefined ? { segment } : {}) });
  };

  if (o.handshake ?? true) {
    emit('c2s', SYN, new Uint8Array(0), t, { mssOption: mss });
    ends.c2s.seq = (ends.c2s.seq + 1) >>> 0;
    t += step / 2;
    // SYN-ACK acknowledges the client's ISN + 1
    emit('s2c', SYN | ACK, new Uint8Array(0), t, { mssOption: mss });
    ends.s2c.seq = (ends.s2c.seq + 1) >>> 0;
    t += step / 2;
    emit('c2s', ACK, new Uint8Array(0), t);
  }

  // Data segments, then impairments applied on the list.
  interface Pending {
    dir: Dir;
    flags: number;
    seq: number;
    ack: number;
    payload: Uint8Array;
    time: number;
    segment?: number;
  }
  const pend: Pending[] = [];
  let segIndex = 0;
  for (const m of messages) {
    t = m.timeMs !== undefined ? Math.max(m.timeMs, t) : t + step;
    const e = ends[m.dir];
    for (let off = 0; off < m.bytes.length; off += mss) {
      const chunk = m.bytes.subarray(off, Math.min(off + mss, m.bytes.length));
      const last = off + mss >= m.bytes.length;
      pend.push({ dir: m.dir, flags: ACK | (last ? PSH : 0), seq: e.seq, ack: ends[other(m.dir)].seq, payload: chunk, time: t, segment: segIndex++ });
      e.seq = (e.seq + chunk.length) >>> 0;
      t += 0.01;
    }
    if (m.bytes.length > 0) {
      // the receiver acknowledges the whole message
      t += step / 4;
      pend.push({ dir: other(m.dir), flags: ACK, seq: ends[other(m.dir)].seq, ack: e.seq, payload: new Uint8Array(0), time: t });
    }
  }
  const lose = new Set(o.lose ?? []);
  const dup = new Set(o.retransmit ?? []);
  const ooo = new Set(o.outOfOrder ?? []);
  const ordered: Pending[] = [];
  for (let i = 0; i < pend.length; i++) {
    const p = pend[i]!;
    if (p.segment !== undefined && ooo.has(p.segment)) {
      // find the next data segment and emit it first
      const j = pend.findIndex((q, k) => k > i && q.segment !== undefined);
      if (j > 0) {
        const [next] = pend.splice(j, 1);
        ordered.push({ ...next!, time: p.time });
        ordered.push({ ...p, time: next!.time });
        continue;
      }
    }
    ordered.push(p);
    if (p.segment !== undefined && dup.has(p.segment)) ordered.push({ ...p, time: p.time + 0.2 });
  }
  for (const p of ordered) {
    if (p.segment !== undefined && lose.has(p.segment)) continue;
    const e = ends[p.dir];
    const pkt = buildPacket(e.src, e.dst, { flags: p.flags, seq: p.seq, ack: p.ack, payload: p.payload }, e.ipId++, ttl);
    out.push({ timeNs: msToNs(p.time), ip: pkt, dir: p.dir, ...(p.segment !== undefined ? { segment: p.segment } : {}) });
  }

  t += step;
  const close = o.close ?? 'fin';
  if (close === 'fin') {
    emit('c2s', FIN | ACK, new Uint8Array(0), t);
    ends.c2s.seq = (ends.c2s.seq + 1) >>> 0;
    t += step / 4;
    emit('s2c', FIN | ACK, new Uint8Array(0), t);
    ends.s2c.seq = (ends.s2c.seq + 1) >>> 0;
    t += step / 4;
    emit('c2s', ACK, new Uint8Array(0), t);
  } else if (close === 'rst') {
    emit('c2s', RST | ACK, new Uint8Array(0), t);
  }
  return out;
}
