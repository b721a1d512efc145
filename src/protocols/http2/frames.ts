/**
 * HTTP/2 framing (RFC 9113 §4, §6), wire format only: splits one direction's bytes into frames
 * across any segmentation. Payloads of DATA frames are skipped without buffering; other payloads
 * are buffered up to MAX_BUFFERED_FRAME. A gap inside a payload damages only that frame; a gap in
 * a frame header loses the frame boundaries.
 */

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const FRAME_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

export const FLAG = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Largest non-DATA payload buffered (the spec maximum frame size is 2^24-1). */
export const MAX_BUFFERED_FRAME = 1 << 20;

export interface Frame {
  length: number;
  type: number;
  flags: number;
  streamId: number;
  /** Payload; null for DATA (not buffered), oversize, or when part of it was not captured. */
  payload: Uint8Array | null;
  missing: number;
  frame: number;
}

export type FrameEvent = { kind: 'frame'; frame: Frame } | { kind: 'desync'; reason: string; frame: number };

export class FrameReader {
  private head = new Uint8Array(9);
  private headLen = 0;
  private headFrame = 0;
  private cur: { f: Omit<Frame, 'payload' | 'missing'>; parts: Uint8Array[]; got: number; missing: number; buffer: boolean } | null = null;
  private dead = false;
  /** Bytes of the client connection preface still expected (c2s only). */
  private prefaceLeft: number;
  prefaceSeen = false;

  constructor(expectPreface: boolean) {
    this.prefaceLeft = expectPreface ? PREFACE.length : 0;
  }

  get lost(): boolean {
    return this.dead;
  }

  push(bytes: Uint8Array, frame: number, out: FrameEvent[]): void {
    let off = 0;
    if (this.prefaceLeft > 0) {
      const take = Math.min(this.prefaceLeft, bytes.length);
      const at = PREFACE.length - this.prefaceLeft;
      if (!Buffer.from(bytes.buffer, bytes.byteOffset, take).equals(PREFACE.subarray(at, at + take))) {
        this.dead = true;
        out.push({ kind: 'desync', reason: 'expected the HTTP/2 client preface', frame });
        return;
      }
      this.prefaceLeft -= take;
      off = take;
      if (this.prefaceLeft === 0) this.prefaceSeen = true;
    }
    while (off < bytes.length && !this.dead) {
      if (!this.cur) {
        if (this.headLen === 0) this.headFrame = frame;
        const take = Math.min(9 - this.headLen, bytes.length - off);
        this.head.set(bytes.subarray(off, off + take), this.headLen);
        this.headLen += take;
        off += take;
        if (this.headLen < 9) return;
        this.headLen = 0;
        const h = this.head;
        const length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
        const type = h[3]!;
        const f = { length, type, flags: h[4]!, streamId: ((h[5]! & 0x7f) << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!, frame: this.headFrame };
        this.cur = { f, parts: [], got: 0, missing: 0, buffer: type !== FRAME.DATA && length <= MAX_BUFFERED_FRAME };
        if (length === 0) this.finish(out);
        continue;
      }
      const c = this.cur;
      const take = Math.min(c.f.length - c.got - c.missing, bytes.length - off);
      // copied: the caller may reuse its buffer once data() returns
      if (c.buffer && c.missing === 0) c.parts.push(Buffer.from(bytes.subarray(off, off + take)));
      c.got += take;
      off += take;
      if (c.got + c.missing === c.f.length) this.finish(out);
    }
  }

  gap(length: number, frame: number, out: FrameEvent[]): void {
    let left = length;
    if (this.prefaceLeft > 0) {
      this.dead = true;
      out.push({ kind: 'desync', reason: 'gap in the HTTP/2 preface', frame });
      return;
    }
    while (left > 0 && !this.dead) {
      if (!this.cur) {
        this.dead = true;
        out.push({ kind: 'desync', reason: 'gap in an HTTP/2 frame header: frame boundaries lost', frame });
        return;
      }
      const c = this.cur;
      const take = Math.min(c.f.length - c.got - c.missing, left);
      c.missing += take;
      left -= take;
      if (c.got + c.missing === c.f.length) this.finish(out);
    }
  }

  private finish(out: FrameEvent[]): void {
    const c = this.cur!;
    this.cur = null;
    out.push({
      kind: 'frame',
      frame: { ...c.f, payload: c.buffer && c.missing === 0 ? Buffer.concat(c.parts, c.got) : null, missing: c.missing },
    });
  }
}
