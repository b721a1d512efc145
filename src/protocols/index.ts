/**
 * Protocol decoders, chosen by content (never by port): TLS, HTTP/1.x, HTTP/2 cleartext (prior
 * knowledge or h2c upgrade), anything else with payload = `tcp`. `createStreamDecoder()` is what
 * the TCP reassembler feeds; see ./stream.ts for the contract.
 */
import type { Direction, SegmentMeta, StreamDecoder, StreamFacts, StreamProtocol } from './stream.js';
import type { ExchangeSink } from './http-common.js';
import { TlsAnalyzer } from './tls/analyzer.js';
import { looksLikeTlsRecord } from './tls/records.js';
import { looksLikeSslv2ClientHello } from './tls/sslv2.js';
import { Http1Decoder, METHODS } from './http1/decoder.js';
import { Http2Decoder } from './http2/decoder.js';
import { PREFACE } from './http2/frames.js';
import { clientHelloAt, preambleKind, UPGRADE_SCAN_LIMIT } from './upgrade.js';
import { appendAll, maxOf } from '../model/arrays.js';
import type { KeyLog } from './tls/keylog.js';
import { AppProtocolDecoder, detectAppProtocol } from './cleartext/index.js';

export type { Direction, SegmentMeta, StreamDecoder, StreamFacts, StreamProtocol } from './stream.js';
export { TlsAnalyzer } from './tls/analyzer.js';
export { Http1Decoder } from './http1/decoder.js';
export { Http2Decoder } from './http2/decoder.js';
export { certificateInfo } from './tls/x509.js';
export { KeyLog, parseKeyLog } from './tls/keylog.js';

export interface StreamDecoderOptions {
  /** Key-log secrets: TLS sessions found in it are decrypted and their content decoded. */
  keys?: KeyLog;
}

export type Sniffed = 'tls' | 'http1-request' | 'http1-response' | 'h2-preface' | 'tcp';

const MAX_METHOD = maxOf(METHODS.map((m) => m.length));

/**
 * What the first bytes of a direction are; `undefined` = too few bytes to tell yet. When
 * `final` is set (no more bytes will come before a gap / the end) an undecided prefix is `tcp`.
 */
export function sniff(b: Uint8Array, final = false): Sniffed | undefined {
  if (b.length === 0) return final ? 'tcp' : undefined;
  const tls = looksLikeTlsRecord(b);
  if (tls === true) return 'tls';
  // an SSLv2-format ClientHello (2-byte header with the high bit set): TLS/SSL
  const v2 = looksLikeSslv2ClientHello(b);
  if (v2 === true) return 'tls';
  if (v2 === undefined && !final) return undefined;
  // The h2 preface starts like an HTTP/1 request ("PRI * HTTP/2.0"): check it first.
  const n = Math.min(b.length, PREFACE.length);
  if (Buffer.from(b.buffer, b.byteOffset, n).equals(PREFACE.subarray(0, n))) {
    if (n === PREFACE.length) return 'h2-preface';
    return final ? 'tcp' : undefined;
  }
  const head = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, 16)).toString('latin1');
  const sp = head.indexOf(' ');
  if (sp > 0 && METHODS.includes(head.slice(0, sp))) return 'http1-request';
  if (head.startsWith('HTTP/1.')) return 'http1-response';
  if (!final) {
    if (tls === undefined) return undefined;
    if (sp < 0 && head.length <= MAX_METHOD && METHODS.some((m) => m.startsWith(head))) return undefined;
    if ('HTTP/1.'.startsWith(head)) return undefined;
  }
  return 'tcp';
}

type Pending = { kind: 'data'; dir: Direction; bytes: Uint8Array; meta: SegmentMeta } | { kind: 'gap'; dir: Direction; length: number; meta: SegmentMeta };

/** Bytes buffered per direction while sniffing (the longest signature is the 24-byte h2 preface). */
const SNIFF_LIMIT = 64;
/** Bytes per direction of an unrecognised (`tcp`) stream kept to judge whether they look random. */
const SAMPLE = 512;
/** Smallest sample judged. */
const MIN_SAMPLE = 128;

/** Shannon entropy of the byte distribution, bits per byte. */
export function byteEntropy(b: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (let i = 0; i < b.length; i++) counts[b[i]!]++;
  let h = 0;
  for (let i = 0; i < 256; i++) {
    const c = counts[i]!;
    if (c) {
      const p = c / b.length;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

/**
 * Does the sample look like random bytes (ciphertext or compressed data)? Compares its entropy
 * with what a uniformly random sample of that size would show (Miller–Madow bias:
 * 8 − 255/(2n·ln 2)), less half a bit of slack. Text and structured binary protocols stay far below.
 */
export function looksRandom(b: Uint8Array): boolean {
  if (b.length < MIN_SAMPLE) return false;
  const expected = 8 - 255 / (2 * b.length * Math.LN2);
  return byteEntropy(b) >= expected - 0.5;
}

/** Notes kept per stream (a lossy capture can damage every record). */
const MAX_NOTES = 20;
/** Chunks (bytes and holes) held while the protocol is not known; past it the protocol is decided from them. */
const MAX_PENDING = 1024;
/** Server bytes held while waiting for the client to speak (server-first protocols). */
const SERVER_FIRST_LIMIT = 4096;

class ContentDispatcher implements StreamDecoder {
  /** Decrypted TLS application data is decoded by a nested dispatcher (HTTP/1.x, h2, ...). */
  private inner: ContentDispatcher | null = null;
  /** A `tcp` stream's protocol named by content (MySQL, PostgreSQL, Redis, MongoDB), once recognised. */
  private app: AppProtocolDecoder | null = null;
  /** While not yet recognised: the first bytes of each direction (bounded), replayed once it is. */
  private appPending: Record<Direction, Array<{ bytes: Uint8Array; meta: SegmentMeta }>> | null = null;
  private readonly appPendingBytes: Record<Direction, number> = { c2s: 0, s2c: 0 };

  constructor(
    private readonly opts: StreamDecoderOptions = {},
    sink?: ExchangeSink,
  ) {
    // a nested (decrypted) stream's exchanges are the flow's
    this.sink = sink ?? { exchanges: [], dropped: 0, notes: [] };
  }

  private newTls(): TlsAnalyzer {
    if (!this.opts.keys) return new TlsAnalyzer();
    return new TlsAnalyzer({
      keys: this.opts.keys,
      onPlaintext: (dir, bytes, meta) => {
        this.inner ??= new ContentDispatcher({}, this.sink);
        this.inner.data(dir, bytes, meta);
      },
    });
  }

  private readonly seen: Record<Direction, number> = { c2s: 0, s2c: 0 };
  private readonly missing: Record<Direction, number> = { c2s: 0, s2c: 0 };
  private readonly sink: ExchangeSink;
  private pending: Pending[] = [];
  private readonly pendingBytes: Record<Direction, number> = { c2s: 0, s2c: 0 };
  private protocol: StreamProtocol | null = null;
  private tls: TlsAnalyzer | null = null;
  private http1: Http1Decoder | null = null;
  private h2: Http2Decoder | null = null;
  /** Cleartext seen in a direction of a TLS stream (e.g. a plaintext server answering a ClientHello). */
  private cleartextDir: Partial<Record<Direction, Http1Decoder | 'other'>> = {};
  private cleartext = false;
  private ended = false;
  private h2ServerChecked = false;
  /** First bytes of each direction of a `tcp` stream. */
  private readonly sample: Record<Direction, Uint8Array[]> = { c2s: [], s2c: [] };
  private readonly sampled: Record<Direction, number> = { c2s: 0, s2c: 0 };
  /** TLS that started after cleartext: the preamble kept so far (bounded), and what it was. */
  private readonly preamble: Record<Direction, Uint8Array[]> = { c2s: [], s2c: [] };
  private readonly preambleBytes: Record<Direction, number> = { c2s: 0, s2c: 0 };
  private upgrade: { kind: string; detail: string | null; frame: number } | null = null;

  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    if (bytes.length === 0) return;
    this.seen[dir] += bytes.length;
    if (this.protocol === null) {
      // a view while the protocol is decided now (decide() routes what is pending at once); copied if it
      // has to wait for more bytes, as the caller reuses its buffer after this call
      const p: Extract<Pending, { kind: 'data' }> = { kind: 'data', dir, bytes, meta };
      this.pending.push(p);
      this.pendingBytes[dir] += bytes.length;
      this.trySniff();
      if (this.protocol === null) p.bytes = Buffer.from(bytes);
      return;
    }
    this.route(dir, bytes, meta);
  }

  gap(dir: Direction, length: number, meta: SegmentMeta): void {
    if (length <= 0) return;
    this.missing[dir] += length;
    if (this.protocol === null) {
      this.pendGap(dir, length, meta);
      this.trySniff();
      return;
    }
    this.routeGap(dir, length, meta);
  }

  /**
   * Holds a hole while the protocol is not known. A headers-only capture (`-s 54`) brings a hole with every
   * segment and never a byte to decide by, so holes are merged: with the hole just before in the same direction,
   * and while no byte is held, with the direction's one hole (both are skipped as leading holes). Past
   * MAX_PENDING entries (holes alternating with a few bytes) the protocol is decided from what is held.
   */
  private pendGap(dir: Direction, length: number, meta: SegmentMeta): void {
    const last = this.pending[this.pending.length - 1];
    if (last?.kind === 'gap' && last.dir === dir) {
      last.length += length;
      return;
    }
    if (this.pendingBytes.c2s + this.pendingBytes.s2c === 0) {
      const same = this.pending.find((p): p is Extract<Pending, { kind: 'gap' }> => p.kind === 'gap' && p.dir === dir);
      if (same) {
        same.length += length;
        return;
      }
    }
    this.pending.push({ kind: 'gap', dir, length, meta });
  }

  /** Nothing more will change the decision: the stream ended, or too much is held waiting for it. */
  private get final(): boolean {
    return this.ended || this.pending.length > MAX_PENDING;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.inner?.end();
    if (this.protocol === null) this.trySniff();
  }

  wants(dir: Direction): boolean {
    if (this.protocol === null) return true;
    if (this.upgrade) return this.tls!.wants(dir);
    // cleartext that may still turn into TLS (STARTTLS, SSLRequest, CONNECT): keep looking
    if (this.scanning(dir)) return true;
    return this.decoderWants(dir);
  }

  /** Cleartext so far, short enough that a ClientHello may still follow (never once TLS or h2c was seen). */
  private scanning(dir: Direction): boolean {
    return !this.tls && !this.h2 && this.preambleBytes[dir] < UPGRADE_SCAN_LIMIT;
  }

  /** Whether the decoder chosen for the stream wants more bytes of `dir`. */
  private decoderWants(dir: Direction): boolean {
    const c = this.cleartextDir[dir];
    if (c === 'other') return false;
    if (c) return c.wants(dir);
    if (this.tls) return this.tls.wants(dir);
    if (this.http1) return this.http1.wants(dir);
    if (this.h2) return this.h2.wants(dir);
    if (this.protocol === 'tcp') return this.sampled[dir] < SAMPLE || this.appPending !== null || (this.app?.wants(dir) ?? false);
    return false;
  }

  /**
   * The first contiguous run of bytes a direction sent (leading gaps skipped: what follows a
   * hole is judged like a capture that starts mid-stream), and whether it can still grow.
   */
  private firstRun(dir: Direction): { bytes: Uint8Array; fixed: boolean; afterHole: boolean } {
    const parts: Uint8Array[] = [];
    let fixed = this.final;
    let afterHole = false;
    for (const p of this.pending) {
      if (p.dir !== dir) continue;
      if (p.kind === 'gap') {
        if (parts.length === 0) {
          afterHole = true;
          continue;
        }
        fixed = true;
        break;
      }
      parts.push(p.bytes);
    }
    return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), fixed, afterHole };
  }

  private firstBytes(dir: Direction): Uint8Array {
    return this.firstRun(dir).bytes;
  }

  /**
   * Decides by the client's first bytes; the server's only when they are conclusive on their
   * own (TLS, an HTTP response: a capture that starts mid-connection), because servers may speak
   * first (an HTTP/2 server's SETTINGS, SMTP/MySQL greetings). A prefix that cannot grow any more
   * (a gap follows it, or the stream ended) is judged as it is.
   */
  private trySniff(): void {
    const total = this.pendingBytes.c2s + this.pendingBytes.s2c;
    const c = this.pendingBytes.c2s > 0 ? this.firstRun('c2s') : null;
    const sv = this.pendingBytes.s2c > 0 ? this.firstRun('s2c') : null;
    const serverSays = sv && sv.bytes.length > 0 ? sniff(sv.bytes, false) : undefined;
    if (c && c.bytes.length > 0) {
      const s = sniff(c.bytes, false);
      if (s === 'tcp' && c.afterHole) {
        // bytes after a hole may sit in the middle of anything: let a conclusive server decide
        if (serverSays === 'tls' || serverSays === 'http1-response') return this.decide(serverSays);
        if (this.final || total > SERVER_FIRST_LIMIT) return this.decide('tcp');
        return;
      }
      if (s !== undefined) return this.decide(s);
      if (c.bytes.length >= SNIFF_LIMIT) return this.decide('tcp');
      if (!c.fixed) return;
      // the client's prefix is all there will be: the server may still be conclusive
      if (serverSays === 'tls' || serverSays === 'http1-response') return this.decide(serverSays);
      if (this.final || total > SERVER_FIRST_LIMIT) return this.decide(sniff(c.bytes, true) ?? 'tcp');
      return;
    }
    if (sv && sv.bytes.length > 0) {
      if (serverSays === 'tls' || serverSays === 'http1-response') return this.decide(serverSays);
      if (this.final || this.pendingBytes.s2c > SERVER_FIRST_LIMIT) return this.decide(sniff(sv.bytes, true) ?? 'tcp');
      return;
    }
    if (this.final) this.decide(this.seen.c2s + this.seen.s2c > 0 ? 'tcp' : null);
  }

  private decide(s: Sniffed | null): void {
    switch (s) {
      case 'tls':
        this.protocol = 'tls';
        this.tls = this.newTls();
        break;
      case 'http1-request':
      case 'http1-response':
        this.http1 = new Http1Decoder(this.sink);
        this.protocol = 'http/1.1';
        this.cleartext = true;
        break;
      case 'h2-preface':
        this.h2 = new Http2Decoder(this.sink);
        this.protocol = 'h2c';
        this.cleartext = true;
        break;
      case 'tcp':
        this.protocol = 'tcp';
        this.cleartext = true;
        this.appPending = { c2s: [], s2c: [] };
        break;
      case null:
        this.protocol = 'unknown';
        break;
    }
    // A hole before anything was seen in a direction: decoding starts after it, as in a
    // mid-stream capture (the TLS decoder takes the hole itself: it must check that a record
    // header follows it).
    const skipLeading = !this.tls;
    const pend = this.pending;
    this.pending = [];
    const started: Record<Direction, boolean> = { c2s: false, s2c: false };
    for (const p of pend) {
      if (p.kind === 'data') {
        started[p.dir] = true;
        this.route(p.dir, p.bytes, p.meta);
      } else if (!started[p.dir] && skipLeading) {
        // a hole before anything was seen: decoding starts after it, as in a mid-stream capture
        this.sink.notes.push(`payload not captured: the first ${p.length} byte(s) ${p.dir === 'c2s' ? 'client→server' : 'server→client'} (frame ${p.meta.frame}); decoding starts after them`);
      } else this.routeGap(p.dir, p.length, p.meta);
    }
  }

  private route(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    if (this.upgrade) return this.routeTls(dir, bytes, meta);
    if (this.scanning(dir)) {
      if (dir === 'c2s') {
        const at = clientHelloAt(bytes);
        if (at >= 0) {
          if (at > 0) this.keepPreamble(dir, bytes.subarray(0, at));
          return this.startTls(bytes.subarray(at), meta);
        }
      }
      this.keepPreamble(dir, bytes);
      // delivered only because a ClientHello might follow: the decoder itself is done
      if (!this.decoderWants(dir)) return;
    }
    const c = this.cleartextDir[dir];
    if (c) {
      if (c !== 'other') c.data(dir, bytes, meta);
      return;
    }
    if (this.tls) {
      this.tls.data(dir, bytes, meta);
      const why = this.tls.notTls(dir);
      if (why) this.switchToCleartext(dir, bytes, meta);
      return;
    }
    if (this.http1) return this.http1.data(dir, bytes, meta);
    if (this.h2) {
      if (dir === 's2c' && !this.h2ServerChecked) {
        this.h2ServerChecked = true;
        // a server that does not speak HTTP/2 answers the preface with an HTTP/1.x error
        if (sniff(bytes, true) === 'http1-response') {
          const h = new Http1Decoder(this.sink);
          this.cleartextDir.s2c = h;
          this.sink.notes.push(`server answered the HTTP/2 preface with HTTP/1.x (frame ${meta.frame})`);
          return h.data(dir, bytes, meta);
        }
      }
      return this.h2.data(dir, bytes, meta);
    }
    if (this.protocol === 'tcp' && this.sampled[dir] < SAMPLE) {
      const take = bytes.subarray(0, SAMPLE - this.sampled[dir]);
      this.sample[dir].push(Buffer.from(take));
      this.sampled[dir] += take.length;
    }
    if (this.app) this.app.data(dir, bytes, meta);
    else if (this.appPending) this.tryApp(dir, bytes, meta);
  }

  /** Names a `tcp` stream's protocol from the first bytes of both directions, then replays them to it. */
  private tryApp(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    const p = this.appPending!;
    p[dir].push({ bytes: Buffer.from(bytes), meta });
    this.appPendingBytes[dir] += bytes.length;
    const first = (d: Direction) => Buffer.concat(p[d].map((x) => x.bytes)).subarray(0, 64);
    const name = detectAppProtocol(first('c2s'), first('s2c'));
    if (name) {
      this.appPending = null;
      this.app = new AppProtocolDecoder(name);
      // the server's greeting first (MySQL speaks first); each direction in its own order
      for (const d of ['s2c', 'c2s'] as const) for (const x of p[d]) this.app.data(d, x.bytes, x.meta);
      return;
    }
    // both directions have shown enough (or one has shown a lot) without a protocol we name
    const enough = (d: Direction) => this.appPendingBytes[d] >= 64;
    if ((enough('c2s') && enough('s2c')) || this.appPendingBytes.c2s + this.appPendingBytes.s2c > SERVER_FIRST_LIMIT) this.appPending = null;
  }

  private keepPreamble(dir: Direction, bytes: Uint8Array): void {
    const take = bytes.subarray(0, Math.max(0, UPGRADE_SCAN_LIMIT - this.preambleBytes[dir]));
    if (take.length) this.preamble[dir].push(Buffer.from(take));
    this.preambleBytes[dir] += bytes.length;
  }

  /** The client sent a ClientHello after cleartext: TLS from here on, the cleartext was its preamble. */
  private startTls(hello: Uint8Array, meta: SegmentMeta): void {
    const p = preambleKind(Buffer.concat(this.preamble.c2s), Buffer.concat(this.preamble.s2c));
    this.upgrade = { ...p, frame: meta.frame };
    this.tls = this.newTls();
    this.protocol = 'tls';
    this.cleartext = false;
    this.cleartextDir = {};
    this.app = null;
    this.appPending = null;
    this.preamble.c2s = [];
    this.preamble.s2c = [];
    this.routeTls('c2s', hello, meta);
  }

  private routeTls(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    const c = this.cleartextDir[dir];
    if (c) {
      if (c !== 'other') c.data(dir, bytes, meta);
      return;
    }
    this.tls!.data(dir, bytes, meta);
    if (this.tls!.notTls(dir)) this.switchToCleartext(dir, bytes, meta);
  }

  private routeGap(dir: Direction, length: number, meta: SegmentMeta): void {
    if (this.upgrade) return this.tls!.gap(dir, length, meta);
    const c = this.cleartextDir[dir];
    if (c) {
      if (c !== 'other') c.gap(dir, length, meta);
      return;
    }
    if (this.tls) return this.tls.gap(dir, length, meta);
    if (this.http1) return this.http1.gap(dir, length, meta);
    if (this.h2) return this.h2.gap(dir, length, meta);
    this.app?.gap(dir);
  }

  /** A TLS stream whose other direction turned out not to be TLS (plaintext server, or a client talking cleartext). */
  private switchToCleartext(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    this.cleartext = true;
    const s = sniff(bytes, true);
    const who = dir === 'c2s' ? 'client' : 'server';
    if (s === 'http1-response' || s === 'http1-request') {
      const h = new Http1Decoder(this.sink);
      this.cleartextDir[dir] = h;
      h.data(dir, bytes, meta);
      this.sink.notes.push(`${who} answered in cleartext HTTP/1.x, not TLS (frame ${meta.frame})`);
    } else {
      this.cleartextDir[dir] = 'other';
      this.sink.notes.push(`${who} sent cleartext, not TLS (frame ${meta.frame}): ${JSON.stringify(Buffer.from(bytes.subarray(0, 24)).toString('latin1'))}`);
    }
  }

  facts(): StreamFacts {
    const notes: string[] = [];
    let protocol: StreamProtocol = this.protocol ?? 'unknown';
    if (this.protocol === null) {
      // still undecided (stream ended with a short prefix): decide without mutating state
      const first: Direction | null = this.pendingBytes.c2s > 0 ? 'c2s' : this.pendingBytes.s2c > 0 ? 's2c' : null;
      const s = first ? sniff(this.firstBytes(first), true) : null;
      protocol = s === 'tls' ? 'tls' : s === 'h2-preface' ? 'h2c' : s === 'http1-request' || s === 'http1-response' ? 'http/1.1' : s === 'tcp' ? 'tcp' : 'unknown';
    }
    if (this.http1) {
      if (this.http1.h2) protocol = 'h2c';
      else if (this.http1.version) protocol = this.http1.version;
    }
    if (this.seen.c2s + this.seen.s2c === 0) {
      protocol = 'unknown';
      if (this.missing.c2s + this.missing.s2c > 0) notes.push(`payload not captured: ${this.missing.c2s + this.missing.s2c} byte(s) missing (snap length or lost segments), none seen`);
    } else if (this.missing.c2s + this.missing.s2c > 0) {
      notes.push(`payload not captured: ${this.missing.c2s} byte(s) client→server and ${this.missing.s2c} byte(s) server→client missing`);
    }
    if (this.tls) appendAll(notes, this.tls.allNotes());
    appendAll(notes, this.sink.notes);
    if (this.sink.dropped > 0) notes.push(`${this.sink.dropped} further HTTP exchange(s) not kept (limit reached)`);
    let opaque = false;
    if (protocol === 'tcp' && this.protocol === 'tcp') {
      const judged = (['c2s', 's2c'] as const).filter((d) => this.sampled[d] >= MIN_SAMPLE);
      opaque = judged.length > 0 && judged.every((d) => looksRandom(Buffer.concat(this.sample[d])));
      if (opaque) {
        notes.push(
          `payload of an unrecognised protocol looks encrypted or compressed (byte entropy ${judged.map((d) => `${d} ${byteEntropy(Buffer.concat(this.sample[d])).toFixed(2)}`).join(', ')} bits/byte): not counted as cleartext`,
        );
      }
    }
    if (notes.length > MAX_NOTES) notes.splice(MAX_NOTES, notes.length - MAX_NOTES, `… and ${notes.length - MAX_NOTES} more note(s)`);
    const out: StreamFacts = {
      protocol,
      tls: this.tls && this.tls.seen ? this.tls.facts() : null,
      http: [...this.sink.exchanges],
      cleartext: (this.cleartext || (this.protocol === null && protocol !== 'tls' && protocol !== 'unknown')) && this.seen.c2s + this.seen.s2c > 0 && !opaque,
      seen: { ...this.seen },
      missing: { ...this.missing },
      notes,
    };
    const h2 = this.h2 ?? this.http1?.h2 ?? null;
    if (h2) out.http2 = h2.summary();
    if (this.upgrade) {
      out.upgrade = { ...this.upgrade };
      out.protocol = 'tls';
      notes.unshift(`TLS after a cleartext ${this.upgrade.kind}${this.upgrade.detail ? ` (${this.upgrade.detail})` : ''} preamble: ClientHello at frame ${this.upgrade.frame}`);
    }
    if (opaque) out.opaque = true;
    if (this.app && out.protocol === 'tcp') {
      out.protocol = this.app.protocol;
      out.app = this.app.result();
    }
    if (this.inner && out.tls?.decryption) {
      const i = this.inner.facts();
      out.tls.decryption.protocol = i.protocol === 'h2c' ? 'h2' : i.protocol;
      if (i.http2) out.http2 = i.http2;
      // the nested stream's exchanges went to this sink; its other notes are about the plaintext
      for (const n of i.notes) if (!notes.includes(n)) notes.push(`decrypted: ${n}`);
    }
    return out;
  }
}

export function createStreamDecoder(opts: StreamDecoderOptions = {}): StreamDecoder {
  return new ContentDispatcher(opts);
}
