/**
 * TLS record layer (RFC 5246 §6.2, RFC 8446 §5.1), wire format only: splits one direction's
 * byte stream into records, across any segmentation, and keeps record alignment across gaps of
 * known length (a gap inside a record body only damages that record). Record bodies of
 * application_data are skipped without being buffered.
 */

export const CONTENT_TYPE = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
  heartbeat: 24,
} as const;

/** Largest record the spec allows: 2^14 + 2048 (TLSCiphertext). */
export const MAX_RECORD = 16384 + 2048;

export interface TlsRecord {
  type: number;
  /** Record-layer version, e.g. 0x0303. */
  version: number;
  length: number;
  /** Body, or null when not buffered (application_data) or damaged by a gap. */
  fragment: Uint8Array | null;
  /** The body as captured: byte runs and gaps (number = missing byte count), in order. Empty when not buffered. */
  pieces: Array<Uint8Array | number>;
  /** Bytes of the body that were missing (gap). */
  missing: number;
  frame: number;
}

export type RecordEvent =
  | { kind: 'record'; record: TlsRecord }
  | { kind: 'invalid'; reason: string; frame: number }
  | { kind: 'desync'; reason: string; frame: number };

/** Does `b` start with something that can be a TLS record header (as far as it goes)? */
export function looksLikeTlsRecord(b: Uint8Array): boolean | undefined {
  if (b.length === 0) return undefined;
  const t = b[0]!;
  if (t < 20 || t > 24) return false;
  if (b.length < 2) return undefined;
  if (b[1] !== 3) return false;
  if (b.length < 3) return undefined;
  if (b[2]! > 4) return false;
  if (b.length < 5) return undefined;
  const len = (b[3]! << 8) | b[4]!;
  return len > 0 && len <= MAX_RECORD;
}

export class RecordReader {
  private head = new Uint8Array(5);
  private headLen = 0;
  /**
   * The record being read. A buffered one is copied once, into `body` (its own memory, sized by the header) at
   * its place in the record; `parts` are views of `body` (the caller may reuse its buffer once push returns).
   */
  private cur: { type: number; version: number; length: number; parts: Array<Uint8Array | number>; got: number; missing: number; body: Buffer | null; frame: number } | null = null;
  private dead = false;

  constructor(private readonly bufferAppData = false) {}

  get lost(): boolean {
    return this.dead;
  }

  push(bytes: Uint8Array, frame: number, out: RecordEvent[]): void {
    let off = 0;
    while (off < bytes.length && !this.dead) {
      if (!this.cur) {
        const take = Math.min(5 - this.headLen, bytes.length - off);
        this.head.set(bytes.subarray(off, off + take), this.headLen);
        this.headLen += take;
        off += take;
        if (this.headLen < 5) return;
        this.headLen = 0;
        const type = this.head[0]!;
        const version = (this.head[1]! << 8) | this.head[2]!;
        const length = (this.head[3]! << 8) | this.head[4]!;
        if (type < 20 || type > 24 || this.head[1] !== 3 || length > MAX_RECORD) {
          this.dead = true;
          out.push({
            kind: 'invalid',
            reason: `not a TLS record header: ${Buffer.from(this.head).toString('hex')}`,
            frame,
          });
          return;
        }
        const buffer = type !== 23 || this.bufferAppData;
        this.cur = { type, version, length, parts: [], got: 0, missing: 0, body: buffer ? Buffer.allocUnsafe(length) : null, frame };
        if (length === 0) this.finish(out);
        continue;
      }
      const c = this.cur;
      const take = Math.min(c.length - c.got - c.missing, bytes.length - off);
      if (c.body) {
        // copied: the caller may reuse its buffer once data() returns
        const at = c.got + c.missing;
        c.body.set(bytes.subarray(off, off + take), at);
        c.parts.push(c.body.subarray(at, at + take));
      }
      c.got += take;
      off += take;
      if (c.got + c.missing === c.length) this.finish(out);
    }
  }

  gap(length: number, frame: number, out: RecordEvent[]): void {
    let left = length;
    while (left > 0 && !this.dead) {
      if (!this.cur) {
        // a gap in a record header: the record boundaries are lost from here on
        this.dead = true;
        out.push({ kind: 'desync', reason: 'gap in a TLS record header: record boundaries lost', frame });
        return;
      }
      const c = this.cur;
      const take = Math.min(c.length - c.got - c.missing, left);
      c.missing += take;
      if (c.body) c.parts.push(take);
      left -= take;
      if (c.got + c.missing === c.length) this.finish(out);
    }
  }

  private finish(out: RecordEvent[]): void {
    const c = this.cur!;
    this.cur = null;
    out.push({
      kind: 'record',
      record: {
        type: c.type,
        version: c.version,
        length: c.length,
        fragment: c.missing === 0 ? c.body : null,
        pieces: c.parts,
        missing: c.missing,
        frame: c.frame,
      },
    });
  }
}
