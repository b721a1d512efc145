/**
 * HTTP/1.x requests and responses (RFC 9112): message heads are parsed, bodies are skipped by
 * Content-Length or chunked framing without being buffered, keep-alive and pipelined requests
 * are paired with responses in order, and `Upgrade: h2c` + `101 Switching Protocols` hands both
 * directions to the HTTP/2 decoder (the bytes after the 101 head are HTTP/2 frames).
 */
import type { HttpExchange } from '../../model/records.js';
import type { HeaderMap } from '../../model/attrs.js';
import type { Direction, SegmentMeta } from '../stream.js';
import { addHeader, pushExchange, rfc3339, type ExchangeSink } from '../http-common.js';
import { Http2Decoder } from '../http2/decoder.js';

/** Longest message head (start line + headers) we buffer. */
export const MAX_HEAD = 64 * 1024;

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'PURGE'];

type BodyState =
  | { kind: 'none' }
  | { kind: 'fixed'; left: number }
  | { kind: 'chunk-size'; line: string }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-crlf'; left: number }
  | { kind: 'trailers'; line: string }
  | { kind: 'until-close' }
  | { kind: 'tunnel' };

interface DirState {
  head: Uint8Array[];
  headLen: number;
  headFrame: number;
  headTime: number;
  body: BodyState;
  dead: boolean;
  /** Bytes after an upgrade go to HTTP/2. */
  upgraded: boolean;
}

interface Parsed {
  startLine: string;
  headers: HeaderMap;
}

function parseHead(text: string): Parsed {
  const lines = text.split(/\r?\n/);
  const startLine = lines.shift() ?? '';
  const headers: HeaderMap = {};
  let last: string | null = null;
  for (const l of lines) {
    if (l === '') continue;
    if ((l[0] === ' ' || l[0] === '\t') && last) {
      // obsolete line folding
      const arr = headers[last]!;
      arr[arr.length - 1] += ' ' + l.trim();
      continue;
    }
    const i = l.indexOf(':');
    if (i <= 0) continue;
    last = l.slice(0, i).trim().toLowerCase();
    addHeader(headers, last, l.slice(i + 1).trim());
  }
  return { startLine, headers };
}

function headerValue(h: HeaderMap, name: string): string | undefined {
  return h[name]?.join(', ');
}

function hasToken(h: HeaderMap, name: string, token: string): boolean {
  return (headerValue(h, name) ?? '')
    .toLowerCase()
    .split(',')
    .some((t) => t.trim() === token);
}

/** The last `n` bytes of a list of chunks. */
function tailBytes(parts: Uint8Array[], n: number): Uint8Array {
  const out: number[] = [];
  for (let i = parts.length - 1; i >= 0 && out.length < n; i--) {
    const p = parts[i]!;
    for (let j = p.length - 1; j >= 0 && out.length < n; j--) out.unshift(p[j]!);
  }
  return Uint8Array.from(out);
}

/** Where the message head ends ("\r\n\r\n" or "\n\n"), or -1. */
function headEnd(b: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i < b.length; i++) {
    if (b[i] === 10) {
      if (b[i - 1] === 10) return i + 1;
      if (b[i - 1] === 13 && b[i - 2] === 10) return i + 1;
    }
  }
  return -1;
}

export class Http1Decoder {
  private readonly dirs: Record<Direction, DirState>;
  /** Requests waiting for their response, in order (pipelining). */
  private readonly pending: Array<{ x: HttpExchange | null; method: string }> = [];
  version: 'http/1.1' | 'http/1.0' | 'http/0.9' | null = null;
  /** An HTTP/0.9 request (`GET /path`, no version, no headers): the response is the raw body. */
  private http09: HttpExchange | null = null;
  h2: Http2Decoder | null = null;
  private upgradeRequest: HttpExchange | null = null;
  /** Client bytes after an h2c upgrade request that arrived before the server's 101. */
  private held: Array<{ bytes: Uint8Array; meta: SegmentMeta }> = [];
  private requests = 0;
  private responses = 0;

  constructor(private readonly sink: ExchangeSink) {
    const mk = (): DirState => ({ head: [], headLen: 0, headFrame: 0, headTime: 0, body: { kind: 'none' }, dead: false, upgraded: false });
    this.dirs = { c2s: mk(), s2c: mk() };
  }

  get counts(): { requests: number; responses: number } {
    return { requests: this.requests, responses: this.responses };
  }

  wants(dir: Direction): boolean {
    const d = this.dirs[dir];
    if (this.http09) return dir === 's2c' && this.http09.responseFrame === undefined;
    if (d.upgraded) return this.h2 ? this.h2.wants(dir) : false;
    return !d.dead && d.body.kind !== 'tunnel';
  }

  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    if (this.version === 'http/0.9') {
      if (dir === 's2c' && this.http09 && this.http09.responseFrame === undefined) this.http09.responseFrame = meta.frame;
      return;
    }
    let off = 0;
    while (off < bytes.length) {
      if (d.upgraded) {
        this.h2?.data(dir, bytes.subarray(off), meta);
        return;
      }
      if (d.dead) return;
      const b = d.body;
      if (dir === 'c2s' && this.upgradeRequest && !this.h2 && b.kind === 'none' && d.headLen === 0 && this.held.length < 64 && (this.held.length > 0 || bytes[off] === 0x50 /* 'P'RI */)) {
        this.held.push({ bytes: Buffer.from(bytes.subarray(off)), meta });
        return;
      }
      switch (b.kind) {
        case 'none': {
          if (d.headLen === 0) {
            d.headFrame = meta.frame;
            d.headTime = meta.timeMs;
          }
          const prev = d.headLen;
          const chunk = bytes.subarray(off);
          // look for the blank line in the new bytes, with the last 3 bytes before them
          const tail = prev > 0 ? tailBytes(d.head, 3) : new Uint8Array(0);
          const probe = tail.length ? Buffer.concat([tail, chunk]) : chunk;
          const endInProbe = headEnd(probe, 0);
          if (endInProbe < 0) {
            d.headLen += chunk.length;
            if (d.headLen > MAX_HEAD) {
              d.dead = true;
              d.head = [];
              this.sink.notes.push(`HTTP/1 ${dir}: message head longer than ${MAX_HEAD} bytes at frame ${d.headFrame}; stopped parsing`);
            } else {
              // copied: the caller may reuse its buffer once data() returns
              d.head.push(Buffer.from(chunk));
              if (dir === 'c2s' && this.requests === 0) this.checkHttp09(d);
            }
            return;
          }
          const used = endInProbe - tail.length; // bytes of `chunk` that belong to the head
          const head = Buffer.concat([...d.head, chunk.subarray(0, used)]);
          d.head = [];
          d.headLen = 0;
          off += used;
          this.onHead(dir, head.toString('latin1'));
          continue;
        }
        case 'fixed': {
          const take = Math.min(b.left, bytes.length - off);
          b.left -= take;
          off += take;
          if (b.left === 0) d.body = { kind: 'none' };
          continue;
        }
        case 'chunk-size':
        case 'trailers': {
          const nl = bytes.indexOf(10, off);
          const piece = Buffer.from(bytes.buffer, bytes.byteOffset + off, (nl < 0 ? bytes.length : nl) - off).toString('latin1');
          b.line += piece;
          if (b.line.length > 8192) {
            d.dead = true;
            this.sink.notes.push(`HTTP/1 ${dir}: malformed chunked body (line too long); stopped parsing`);
            return;
          }
          if (nl < 0) return;
          off = nl + 1;
          const line = b.line.replace(/\r$/, '');
          if (b.kind === 'trailers') {
            if (line === '') d.body = { kind: 'none' };
            else b.line = '';
            continue;
          }
          const hex = line.split(';')[0]!.trim();
          const size = /^[0-9a-fA-F]{1,13}$/.test(hex) ? parseInt(hex, 16) : NaN;
          if (!Number.isSafeInteger(size)) {
            d.dead = true;
            this.sink.notes.push(`HTTP/1 ${dir}: malformed chunk size ${JSON.stringify(line.slice(0, 40))} at frame ${meta.frame}; stopped parsing`);
            return;
          }
          d.body = size === 0 ? { kind: 'trailers', line: '' } : { kind: 'chunk-data', left: size };
          continue;
        }
        case 'chunk-data': {
          const take = Math.min(b.left, bytes.length - off);
          b.left -= take;
          off += take;
          if (b.left === 0) d.body = { kind: 'chunk-crlf', left: 2 };
          continue;
        }
        case 'chunk-crlf': {
          // CRLF after chunk data (tolerate a bare LF)
          const c = bytes[off]!;
          off++;
          if (c === 10) d.body = { kind: 'chunk-size', line: '' };
          else if (c !== 13) {
            d.dead = true;
            this.sink.notes.push(`HTTP/1 ${dir}: chunk not followed by CRLF at frame ${meta.frame}; stopped parsing`);
            return;
          }
          continue;
        }
        case 'until-close':
        case 'tunnel':
          return;
      }
    }
  }

  gap(dir: Direction, length: number, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    if (d.upgraded) {
      this.h2?.gap(dir, length, meta);
      return;
    }
    if (d.dead) return;
    const b = d.body;
    if ((b.kind === 'fixed' || b.kind === 'chunk-data') && length <= b.left) {
      b.left -= length;
      if (b.left === 0) d.body = b.kind === 'fixed' ? { kind: 'none' } : { kind: 'chunk-crlf', left: 2 };
      return;
    }
    if (b.kind === 'until-close' || b.kind === 'tunnel') return;
    d.dead = true;
    this.sink.notes.push(`HTTP/1 ${dir}: payload not captured at frame ${meta.frame} (${length} bytes) inside a message head or chunk framing; stopped parsing this direction`);
  }

  /** A first request line without a version (`GET /path` CRLF, RFC 1945 §4.1 Simple-Request) is HTTP/0.9. */
  private checkHttp09(d: DirState): void {
    const text = Buffer.concat(d.head).toString('latin1');
    const nl = text.indexOf('\n');
    if (nl < 0) return;
    const m = /^GET (\S+)\r?$/.exec(text.slice(0, nl));
    if (!m) return;
    this.onHttp09(d, m[1]!);
  }

  private onHttp09(d: DirState, path: string): void {
    this.version = 'http/0.9';
    this.requests++;
    d.head = [];
    d.headLen = 0;
    d.dead = true;
    this.dirs.s2c.dead = true;
    this.http09 = pushExchange(this.sink, { requestFrame: d.headFrame, time: rfc3339(d.headTime), method: 'GET', path, version: 'HTTP/0.9', headers: {} });
    this.sink.notes.push(`HTTP/0.9 request at frame ${d.headFrame}: no version, no headers; the response is the raw body`);
  }

  private onHead(dir: Direction, text: string): void {
    const d = this.dirs[dir];
    const { startLine, headers } = parseHead(text);
    if (dir === 'c2s' && this.requests === 0) {
      const m09 = /^GET (\S+)$/.exec(startLine);
      if (m09) return this.onHttp09(d, m09[1]!);
    }
    if (dir === 'c2s') {
      const m = /^([A-Za-z]+) (\S+) (HTTP\/\d\.\d)$/.exec(startLine);
      if (!m) {
        d.dead = true;
        this.sink.notes.push(`HTTP/1 c2s: not a request line at frame ${d.headFrame}: ${JSON.stringify(startLine.slice(0, 80))}`);
        return;
      }
      const [, method, path, version] = m as unknown as [string, string, string, string];
      this.requests++;
      this.version ??= version === 'HTTP/1.0' ? 'http/1.0' : 'http/1.1';
      const host = headers['host']?.[0];
      const x = pushExchange(this.sink, {
        requestFrame: d.headFrame,
        time: rfc3339(d.headTime),
        method,
        path,
        version,
        headers,
        ...(host !== undefined ? { authority: host } : {}),
      });
      this.pending.push({ x, method });
      if (hasToken(headers, 'upgrade', 'h2c') && hasToken(headers, 'connection', 'upgrade') && x) this.upgradeRequest = x;
      d.body = this.bodyOf(headers, 'request');
      return;
    }
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: .*)?$/.exec(startLine);
    if (!m) {
      d.dead = true;
      this.sink.notes.push(`HTTP/1 s2c: not a status line at frame ${d.headFrame}: ${JSON.stringify(startLine.slice(0, 80))}`);
      return;
    }
    const status = Number(m[2]);
    this.responses++;
    if (status >= 100 && status < 200 && status !== 101) {
      d.body = { kind: 'none' }; // interim (100 Continue): the final response follows
      return;
    }
    const req = this.pending.shift();
    let x = req?.x ?? null;
    if (!req) {
      // response without a request seen (capture started mid-connection, or server-first)
      x = pushExchange(this.sink, { headers: {}, version: m[1]! });
    }
    if (x) {
      x.status = status;
      x.responseHeaders = headers;
      x.responseFrame = d.headFrame;
    }
    if (status === 101) {
      if (hasToken(headers, 'upgrade', 'h2c') && this.upgradeRequest && this.upgradeRequest === req?.x) {
        this.h2 = new Http2Decoder(this.sink, { upgrade: this.upgradeRequest });
        this.dirs.s2c.upgraded = true;
        this.dirs.c2s.upgraded = true;
        for (const h of this.held.splice(0)) this.h2.data('c2s', h.bytes, h.meta);
      } else {
        d.body = { kind: 'tunnel' };
        this.dirs.c2s.body = { kind: 'tunnel' };
        this.sink.notes.push(`HTTP/1 upgraded to ${JSON.stringify(headerValue(headers, 'upgrade') ?? '?')} at frame ${d.headFrame}; not followed`);
      }
      return;
    }
    if (req?.method === 'CONNECT' && status >= 200 && status < 300) {
      d.body = { kind: 'tunnel' };
      this.dirs.c2s.body = { kind: 'tunnel' };
      this.sink.notes.push(`CONNECT tunnel established at frame ${d.headFrame}; not followed`);
      return;
    }
    if (req?.method === 'HEAD' || status === 204 || status === 304) {
      d.body = { kind: 'none' };
      return;
    }
    d.body = this.bodyOf(headers, 'response');
  }

  private bodyOf(h: HeaderMap, kind: 'request' | 'response'): BodyState {
    const te = headerValue(h, 'transfer-encoding');
    if (te !== undefined && te.toLowerCase().split(',').map((s) => s.trim()).at(-1) === 'chunked') return { kind: 'chunk-size', line: '' };
    if (te !== undefined) return kind === 'response' ? { kind: 'until-close' } : { kind: 'none' };
    const cl = h['content-length']?.[0];
    if (cl !== undefined) {
      const n = Number(cl.trim());
      if (Number.isSafeInteger(n) && n >= 0) return n === 0 ? { kind: 'none' } : { kind: 'fixed', left: n };
      return { kind: 'until-close' };
    }
    return kind === 'response' ? { kind: 'until-close' } : { kind: 'none' };
  }
}
