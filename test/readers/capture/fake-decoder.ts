/**
 * A tiny StreamDecoder for reader/reassembly tests: records every byte and gap it is given, in
 * order, and sniffs the first bytes the way the real decoders do (TLS record header, HTTP/1.x
 * request line, h2c preface). It lets the TCP layer be tested without the protocol decoders.
 */
import type { Direction, SegmentMeta, StreamDecoder, StreamFacts } from '../../../src/protocols/stream.js';

export interface Recorded {
  chunks: Record<Direction, Array<{ kind: 'data'; bytes: Uint8Array; frame: number } | { kind: 'gap'; length: number; frame: number }>>;
  ended: number;
}

export class FakeDecoder implements StreamDecoder {
  rec: Recorded = { chunks: { c2s: [], s2c: [] }, ended: 0 };
  seen = { c2s: 0, s2c: 0 };
  missing = { c2s: 0, s2c: 0 };
  /** Stop wanting a direction after this many bytes (Infinity: always want). */
  constructor(private readonly wantLimit = Infinity) {}
  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    this.rec.chunks[dir].push({ kind: 'data', bytes: Uint8Array.from(bytes), frame: meta.frame });
    this.seen[dir] += bytes.length;
  }
  gap(dir: Direction, length: number, meta: SegmentMeta): void {
    this.rec.chunks[dir].push({ kind: 'gap', length, frame: meta.frame });
    this.missing[dir] += length;
  }
  end(): void {
    this.rec.ended++;
  }
  wants(dir: Direction): boolean {
    return this.seen[dir] + this.missing[dir] < this.wantLimit;
  }
  /** Concatenated data of one direction, gaps as `?` bytes. */
  text(dir: Direction): string {
    return this.rec.chunks[dir].map((c) => (c.kind === 'data' ? Buffer.from(c.bytes).toString('latin1') : '?'.repeat(c.length))).join('');
  }
  facts(): StreamFacts {
    const first = this.rec.chunks.c2s.find((c) => c.kind === 'data');
    const b = first && first.kind === 'data' ? first.bytes : new Uint8Array(0);
    const s = Buffer.from(b.subarray(0, 24)).toString('latin1');
    let protocol: StreamFacts['protocol'] = this.seen.c2s + this.seen.s2c === 0 ? 'unknown' : 'tcp';
    if (b[0] === 0x16 && b[1] === 0x03) protocol = 'tls';
    else if (s.startsWith('PRI * HTTP/2.0')) protocol = 'h2c';
    else if (/^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) /.test(s)) protocol = 'http/1.1';
    const tls = protocol === 'tls'
      ? { version: null, sni: null, alpn: [], alpnSelected: null, clientCertificateRequested: null, clientCertificateSent: null, uriSans: [], dnsSans: [] }
      : null;
    return {
      protocol,
      tls,
      http: [],
      cleartext: protocol !== 'tls' && protocol !== 'unknown',
      seen: { ...this.seen },
      missing: { ...this.missing },
      notes: [],
    };
  }
}
