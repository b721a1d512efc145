/**
 * Seeded generators so generated captures and samples are reproducible byte for byte: `Rng` (mulberry32, fast
 * numbers for test captures) and `Prng` (SHA-256 in counter mode: keys' serials, sample ids and names).
 */
import { createHash } from 'node:crypto';

/** Small seeded PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

/** A seeded generator (SHA-256 in counter mode), so that every sample value is reproducible. */
export class Prng {
  private counter = 0;
  private pool: Buffer = Buffer.alloc(0);
  constructor(private readonly seed: string) {}

  bytes(n: number): Buffer {
    while (this.pool.length < n) {
      const block = createHash('sha256').update(`${this.seed}#${this.counter++}`).digest();
      this.pool = Buffer.concat([this.pool, block]);
    }
    const out = this.pool.subarray(0, n);
    this.pool = this.pool.subarray(n);
    return Buffer.from(out);
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    const span = max - min + 1;
    return min + (this.bytes(4).readUInt32BE(0) % span);
  }

  /** A random (version 4) UUID, the form Envoy uses for x-request-id. */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  hex(n: number): string {
    return this.bytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
  }

  /** A pod-template-hash-like suffix (`5cb458d74f-56sx7`). */
  podSuffix(): string {
    const alnum = 'bcdfghjklmnpqrstvwxz2456789';
    const pick = (k: number): string => Array.from(this.bytes(k), (x) => alnum[x % alnum.length]).join('');
    return `${pick(10)}-${pick(5)}`;
  }

  fork(label: string): Prng {
    return new Prng(`${this.seed}/${label}`);
  }
}
