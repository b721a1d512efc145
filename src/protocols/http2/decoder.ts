/**
 * HTTP/2 cleartext (h2c) meaning: header blocks (HEADERS/PUSH_PROMISE + CONTINUATION) decoded
 * with HPACK — one decompressor per direction, fed in frame order, so the dynamic table carries
 * across requests — and per-stream request/response exchanges.
 */
import { createRequire } from 'node:module';
import type hpackModule from 'hpack.js';
import type { HttpExchange } from '../../model/records.js';
import type { Direction, SegmentMeta } from '../stream.js';
import { addHeader, pushExchange, rfc3339, type ExchangeSink } from '../http-common.js';
import { FLAG, FRAME, FRAME_NAMES, FrameReader, type Frame, type FrameEvent } from './frames.js';

/** Largest header block (HEADERS + CONTINUATIONs) we assemble. */
const MAX_HEADER_BLOCK = 1 << 20;

/**
 * Largest decoded header list we keep per block, counted as RFC 9113 §6.5.2 counts SETTINGS_MAX_HEADER_LIST_SIZE
 * (name + value + 32 per field). HPACK references make a few bytes decode into a copy of a dynamic-table entry
 * of up to the table's size, so a 1 MB block can decode to gigabytes; past this the block is still decoded to
 * keep the dynamic table right, but fields are dropped and the exchange is marked truncated. Envoy's own
 * default limit is 60 KiB (max_request_headers_kb), its maximum 8 MiB.
 */
export const MAX_HEADER_LIST_SIZE = 1 << 20;

/**
 * The per-block cap alone lets many small blocks each decode to MAX_HEADER_LIST_SIZE (13,000 blocks of 64
 * one-byte references to a 16 KB entry fit in a 1 MB capture and decode to 13 GB). So each direction of a
 * connection also keeps at most HEADER_FREE_BYTES + HEADER_RATIO × the bytes it carried of decoded header list:
 * linear in the capture whatever the references do. Real traffic decodes to a few times what it carries (HPACK
 * saves 50–90% on headers; bodies count too), far under the ratio.
 */
export const HEADER_FREE_BYTES = 64 * 1024;
export const HEADER_RATIO = 64;

/** Standard pseudo-headers: the first of each is kept past a cap when short, to say what the exchange was. */
const PSEUDO = new Set([':method', ':scheme', ':path', ':authority', ':status', ':protocol']);
/** Longest pseudo-header value kept past a cap (each costs at most this from a one-byte reference). */
const PSEUDO_PAST_CAP = 256;

interface DecodedBlock {
  headers: Array<[string, string]>;
  /** fields dropped because the list exceeded the limit */
  dropped: number;
  /** header-list bytes (name + value + 32 per field) of the fields kept */
  kept: number;
}

interface HpackLike {
  decode(block: Uint8Array, limit: number): DecodedBlock;
}

/**
 * hpack.js, loaded when the first HTTP/2 header block needs it: with the stream library it brings it takes
 * ~30 ms to load, a tenth of `flows` on a small capture, and most captures have no cleartext HTTP/2.
 */
let hpackLoaded: typeof hpackModule | null = null;
function hpackLib(): typeof hpackModule {
  return (hpackLoaded ??= createRequire(import.meta.url)('hpack.js') as typeof hpackModule);
}

function newHpack(): HpackLike {
  const hpack = hpackLib();
  const d = hpack.decompressor.create({ table: { maxSize: 4096 } });
  // The encoder may raise the table size up to what its peer advertised in SETTINGS; it says so
  // with a dynamic table size update, which hpack.js checks against protocolMaxSize.
  d._table.protocolMaxSize = 0xffffffff;
  // Drive hpack.js's decoder directly rather than through its stream interface (write/execute/
  // read), which costs more than the decoding itself: same code path, headers collected here.
  let sink: Array<[string, string]> = [];
  let size = 0;
  let kept = 0;
  let dropped = 0;
  let limit = MAX_HEADER_LIST_SIZE;
  const pseudoSeen = new Set<string>();
  d.push = (h: { name: string; value: string } | null) => {
    if (!h) return true;
    const cost = h.name.length + h.value.length + 32;
    size += cost;
    // the first of each pseudo-header is kept when short (method, path, status say what the exchange was)
    const pseudo = PSEUDO.has(h.name) && !pseudoSeen.has(h.name) && h.value.length <= PSEUDO_PAST_CAP;
    if (size <= limit || pseudo) {
      if (h.name.startsWith(':')) pseudoSeen.add(h.name);
      sink.push([h.name, h.value]);
      kept += cost;
    } else dropped++;
    return true;
  };
  return {
    decode(block, max) {
      sink = [];
      size = 0;
      kept = 0;
      dropped = 0;
      limit = max;
      pseudoSeen.clear();
      d._decoder.push(Buffer.from(block.buffer, block.byteOffset, block.length));
      try {
        while (!d._decoder.isEmpty()) d._execute();
      } catch (err) {
        // leave nothing behind: the caller stops decoding this direction anyway
        d._decoder = hpack.decoder.create();
        throw err instanceof Error ? err : new Error(String(err));
      }
      return { headers: sink, dropped, kept };
    },
  };
}

interface DirState {
  reader: FrameReader;
  hpack: HpackLike;
  hpackBroken: boolean;
  block: { streamId: number; type: number; endStream: boolean; parts: Uint8Array[]; size: number; frame: number; timeMs: number; promised: number } | null;
  frames: number;
  /** bytes this direction carried (captured), and decoded header-list bytes kept: the budget's two sides */
  carried: number;
  keptHeaders: number;
  /** a note already said the direction's budget was spent */
  budgetNoted: boolean;
}

export interface Http2Summary {
  preface: boolean;
  upgrade: boolean;
  frames: Record<Direction, number>;
  frameTypes: Record<string, number>;
}

export class Http2Decoder {
  private readonly dirs: Record<Direction, DirState>;
  private readonly streams = new Map<number, HttpExchange>();
  private readonly frameTypes: Record<string, number> = {};

  constructor(
    private readonly sink: ExchangeSink,
    private readonly opts: { upgrade?: HttpExchange } = {},
  ) {
    const mk = (preface: boolean): DirState => ({ reader: new FrameReader(preface), hpack: newHpack(), hpackBroken: false, block: null, frames: 0, carried: 0, keptHeaders: 0, budgetNoted: false });
    this.dirs = { c2s: mk(true), s2c: mk(false) };
    if (opts.upgrade) {
      // RFC 7540 §3.2: the upgrade request becomes stream 1, half-closed (local) for the client.
      const u = opts.upgrade;
      const x = pushExchange(sink, {
        streamId: 1,
        version: 'HTTP/2',
        headers: u.headers,
        ...(u.method !== undefined ? { method: u.method } : {}),
        ...(u.path !== undefined ? { path: u.path } : {}),
        ...(u.authority !== undefined ? { authority: u.authority } : {}),
        ...(u.requestFrame !== undefined ? { requestFrame: u.requestFrame } : {}),
        ...(u.time !== undefined ? { time: u.time } : {}),
      });
      if (x) this.streams.set(1, x);
    }
  }

  summary(): Http2Summary {
    return {
      preface: this.dirs.c2s.reader.prefaceSeen,
      upgrade: this.opts.upgrade !== undefined,
      frames: { c2s: this.dirs.c2s.frames, s2c: this.dirs.s2c.frames },
      frameTypes: { ...this.frameTypes },
    };
  }

  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    if (d.reader.lost) return;
    d.carried += bytes.length;
    const ev: FrameEvent[] = [];
    d.reader.push(bytes, meta.frame, ev);
    this.onEvents(dir, ev, meta);
  }

  gap(dir: Direction, length: number, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    if (d.reader.lost) return;
    const ev: FrameEvent[] = [];
    d.reader.gap(length, meta.frame, ev);
    this.onEvents(dir, ev, meta);
  }

  wants(dir: Direction): boolean {
    return !this.dirs[dir].reader.lost;
  }

  private onEvents(dir: Direction, ev: FrameEvent[], meta: SegmentMeta): void {
    for (const e of ev) {
      if (e.kind === 'desync') {
        this.sink.notes.push(`h2 ${dir}: payload not captured or not HTTP/2 at frame ${e.frame}: ${e.reason}`);
        continue;
      }
      this.onFrame(dir, e.frame, meta);
    }
  }

  private onFrame(dir: Direction, f: Frame, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    d.frames++;
    const name = FRAME_NAMES[f.type] ?? `type${f.type}`;
    this.frameTypes[name] = (this.frameTypes[name] ?? 0) + 1;
    if (d.block && f.type !== FRAME.CONTINUATION) {
      this.breakHpack(dir, `${name} frame inside a header block (frame ${f.frame})`);
      d.block = null;
    }
    switch (f.type) {
      case FRAME.HEADERS:
      case FRAME.PUSH_PROMISE: {
        if (d.hpackBroken) return;
        if (!f.payload) {
          this.breakHpack(dir, `header block at frame ${f.frame} not captured (${f.missing} bytes missing)`);
          return;
        }
        let p = f.payload;
        try {
          let pad = 0;
          let off = 0;
          if (f.flags & FLAG.PADDED) pad = p[off++]!;
          let promised = 0;
          if (f.type === FRAME.PUSH_PROMISE) {
            promised = ((p[off]! & 0x7f) << 24) | (p[off + 1]! << 16) | (p[off + 2]! << 8) | p[off + 3]!;
            off += 4;
          } else if (f.flags & FLAG.PRIORITY) off += 5;
          if (off + pad > p.length) throw new Error('padding longer than the frame');
          p = p.subarray(off, p.length - pad);
          d.block = { streamId: f.streamId, type: f.type, endStream: (f.flags & FLAG.END_STREAM) !== 0, parts: [p], size: p.length, frame: f.frame, timeMs: meta.timeMs, promised };
        } catch (err) {
          this.breakHpack(dir, `malformed ${name} frame at frame ${f.frame}: ${(err as Error).message}`);
          return;
        }
        if (f.flags & FLAG.END_HEADERS) this.endBlock(dir);
        return;
      }
      case FRAME.CONTINUATION: {
        if (!d.block) {
          if (!d.hpackBroken) this.breakHpack(dir, `CONTINUATION without a header block (frame ${f.frame})`);
          return;
        }
        if (!f.payload || d.block.streamId !== f.streamId || d.block.size + f.length > MAX_HEADER_BLOCK) {
          this.breakHpack(dir, `CONTINUATION at frame ${f.frame} not usable`);
          d.block = null;
          return;
        }
        d.block.parts.push(f.payload);
        d.block.size += f.payload.length;
        if (f.flags & FLAG.END_HEADERS) this.endBlock(dir);
        return;
      }
      case FRAME.GOAWAY:
      case FRAME.RST_STREAM:
      case FRAME.SETTINGS:
      default:
        return;
    }
  }

  private breakHpack(dir: Direction, why: string): void {
    const d = this.dirs[dir];
    if (d.hpackBroken) return;
    d.hpackBroken = true;
    this.sink.notes.push(`h2 ${dir}: header decoding stopped: ${why} (HPACK state unknown from here on)`);
  }

  private endBlock(dir: Direction): void {
    const d = this.dirs[dir];
    const b = d.block!;
    d.block = null;
    let headers: Array<[string, string]>;
    let dropped: number;
    let kept: number;
    const budget = Math.max(0, HEADER_FREE_BYTES + HEADER_RATIO * d.carried - d.keptHeaders);
    const limit = Math.min(MAX_HEADER_LIST_SIZE, budget);
    try {
      ({ headers, dropped, kept } = d.hpack.decode(Buffer.concat(b.parts, b.size), limit));
    } catch (err) {
      this.breakHpack(dir, `HPACK error in the header block at frame ${b.frame}: ${(err as Error).message}`);
      return;
    }
    d.keptHeaders += kept;
    if (dropped > 0) {
      if (limit === MAX_HEADER_LIST_SIZE) {
        this.sink.notes.push(
          `h2 ${dir}: header block at frame ${b.frame} decodes to more than ${MAX_HEADER_LIST_SIZE} bytes of header list; ${dropped} field(s) beyond that not kept (HPACK amplification?)`,
        );
      } else if (!d.budgetNoted) {
        d.budgetNoted = true;
        this.sink.notes.push(
          `h2 ${dir}: from the header block at frame ${b.frame} on, header fields past ${HEADER_FREE_BYTES} bytes + ${HEADER_RATIO}× the ${d.carried} bytes carried so far are not kept (HPACK amplification?); those exchanges are marked headersTruncated`,
        );
      }
    }
    const pseudo: Record<string, string> = {};
    const regular: Record<string, string[]> = {};
    for (const [n, v] of headers) {
      if (n.startsWith(':')) pseudo[n] = v;
      else addHeader(regular, n, v);
    }
    const time = rfc3339(b.timeMs);
    if (b.type === FRAME.PUSH_PROMISE || (dir === 'c2s' && pseudo[':method'] !== undefined)) {
      const sid = b.type === FRAME.PUSH_PROMISE ? b.promised : b.streamId;
      const x = pushExchange(this.sink, {
        streamId: sid,
        version: 'HTTP/2',
        requestFrame: b.frame,
        time,
        headers: regular,
        ...(dropped > 0 ? { headersTruncated: true } : {}),
        ...(pseudo[':method'] !== undefined ? { method: pseudo[':method'] } : {}),
        ...(pseudo[':path'] !== undefined ? { path: pseudo[':path'] } : {}),
        ...(pseudo[':authority'] !== undefined ? { authority: pseudo[':authority'] } : regular['host'] ? { authority: regular['host'][0]! } : {}),
      });
      if (x) this.streams.set(sid, x);
      return;
    }
    if (dir === 's2c' && pseudo[':status'] !== undefined) {
      const status = Number(pseudo[':status']);
      if (status >= 100 && status < 200) return; // interim response
      let x = this.streams.get(b.streamId);
      if (!x) {
        // request not seen (capture started mid-connection)
        x = pushExchange(this.sink, { streamId: b.streamId, version: 'HTTP/2', headers: {} }) ?? undefined;
        if (x) this.streams.set(b.streamId, x);
      }
      if (x && x.status === undefined) {
        x.status = status;
        x.responseHeaders = regular;
        x.responseFrame = b.frame;
        if (dropped > 0) x.headersTruncated = true;
      }
    }
    // otherwise: trailers
  }
}
