/** Bounds-checked big-endian reader over a byte slice; every overrun throws a ParseError. */

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseError';
  }
}

export class ByteReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, private readonly what = 'message') {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new ParseError(`${this.what}: needs ${n} byte(s) at offset ${this.pos}, only ${this.remaining} left`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = (this.buf[this.pos]! << 16) | (this.buf[this.pos + 1]! << 8) | this.buf[this.pos + 2]!;
    this.pos += 3;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A sub-reader over a length-prefixed vector (prefix of 1, 2 or 3 bytes). */
  vec(prefix: 1 | 2 | 3, what = this.what): ByteReader {
    const n = prefix === 1 ? this.u8() : prefix === 2 ? this.u16() : this.u24();
    return new ByteReader(this.bytes(n), what);
  }
}

export function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

export function concat(parts: Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, total);
}
