/**
 * Test-only reference reassembler for GENERATED captures: extracts TCP payload from the
 * synthetic IP packets and replays it in sequence order into a StreamDecoder, turning holes into
 * gap() calls. (The product's reassembler lives in src/readers/capture; this one only needs to
 * understand what src/synth/tcp.ts emits.)
 */
import type { Direction, StreamDecoder } from '../../src/protocols/stream.js';
import type { TcpPacket } from '../../src/synth/tcp.js';

interface Seg {
  seq: number;
  payload: Uint8Array;
  frame: number;
  timeMs: number;
}

export function tcpPayload(ip: Uint8Array): { seq: number; ack: number; flags: number; payload: Uint8Array } {
  const v6 = ip[0]! >> 4 === 6;
  const ihl = v6 ? 40 : (ip[0]! & 0x0f) * 4;
  const total = v6 ? 40 + ((ip[4]! << 8) | ip[5]!) : (ip[2]! << 8) | ip[3]!;
  const tcp = ip.subarray(ihl, total);
  const seq = ((tcp[4]! << 24) | (tcp[5]! << 16) | (tcp[6]! << 8) | tcp[7]!) >>> 0;
  const ack = ((tcp[8]! << 24) | (tcp[9]! << 16) | (tcp[10]! << 8) | tcp[11]!) >>> 0;
  const off = (tcp[12]! >> 4) * 4;
  return { seq, ack, flags: tcp[13]!, payload: tcp.subarray(off) };
}

/** Feeds the packets (in capture order) to `d`; `snaplen` cuts IP datagrams as a capture would. */
export function replay(packets: TcpPacket[], d: StreamDecoder, o: { snapIp?: number } = {}): void {
  const next: Partial<Record<Direction, number>> = {};
  const held: Record<Direction, Seg[]> = { c2s: [], s2c: [] };
  const fin: Record<Direction, boolean> = { c2s: false, s2c: false };
  // `acked`: the peer acknowledged up to here, so a hole below it will never be filled
  const drain = (dir: Direction, final: boolean, acked?: number) => {
    const q = held[dir];
    q.sort((a, b) => a.seq - b.seq);
    while (q.length) {
      const s = q[0]!;
      const n = next[dir]!;
      if (s.seq + s.payload.length <= n) {
        q.shift(); // duplicate
        continue;
      }
      if (s.seq > n) {
        if (!final && !(acked !== undefined && acked >= s.seq)) return;
        d.gap(dir, s.seq - n, { frame: s.frame, timeMs: s.timeMs });
        next[dir] = s.seq;
        continue;
      }
      q.shift();
      const bytes = s.payload.subarray(n - s.seq);
      next[dir] = s.seq + s.payload.length;
      if (bytes.length) d.data(dir, bytes, { frame: s.frame, timeMs: s.timeMs });
    }
  };
  packets.forEach((p, i) => {
    const { seq, ack, flags, payload } = tcpPayload(p.ip);
    const other: Direction = p.dir === 'c2s' ? 's2c' : 'c2s';
    if (flags & 0x01) fin[p.dir] = true;
    if (flags & 0x10 && next[other] !== undefined) {
      if (held[other].length) drain(other, false, ack);
      // the peer acknowledged bytes never seen (a lost last segment): a hole
      const upTo = ack - (fin[other] ? 1 : 0);
      if (!held[other].length && upTo > next[other]! && upTo - next[other]! < 1 << 20) {
        d.gap(other, upTo - next[other]!, { frame: i + 1, timeMs: Number(p.timeNs) / 1e6 });
        next[other] = upTo;
      }
    }
    const frame = i + 1;
    const timeMs = Number(p.timeNs) / 1e6;
    if (flags & 0x02) {
      next[p.dir] = (seq + 1) >>> 0;
      return;
    }
    if (next[p.dir] === undefined) next[p.dir] = seq;
    if (payload.length === 0) return;
    let pl = payload;
    let cut = 0;
    if (o.snapIp !== undefined) {
      const hdr = p.ip.length - payload.length;
      const keep = Math.max(0, o.snapIp - hdr);
      if (keep < payload.length) {
        cut = payload.length - keep;
        pl = payload.subarray(0, keep);
      }
    }
    if (cut > 0) {
      // a snaplen-cut segment: its bytes are known to be missing, in order
      drain(p.dir, false);
      if (seq === next[p.dir]) {
        if (pl.length) d.data(p.dir, pl, { frame, timeMs });
        d.gap(p.dir, cut, { frame, timeMs });
        next[p.dir] = seq + payload.length;
        return;
      }
    }
    held[p.dir].push({ seq, payload: pl, frame, timeMs });
    drain(p.dir, false);
  });
  drain('c2s', true);
  drain('s2c', true);
  d.end();
}
