/**
 * Cleartext HTTP conversations as real bytes: HTTP/1.1 (keep-alive, pipelined, chunked) built
 * per RFC 9112; HTTP/2 with prior knowledge recorded from Node's own `http2` module (nghttp2)
 * over an in-memory duplex pair; h2c by Upgrade (Node does not implement it) built frame by frame
 * per RFC 7540 §3.2 with an HPACK encoder (hpack.js).
 */
import * as http2 from 'node:http2';
import hpack from 'hpack.js';
import type { Dir } from './tcp.js';
import { wirePair, type WireMessage } from './wire.js';

export interface SynthRequest {
  method?: string;
  path: string;
  host?: string;
  /** Extra headers, in order. */
  headers?: Array<[string, string]>;
  body?: string | Uint8Array;
  chunked?: boolean;
  version?: 'HTTP/1.1' | 'HTTP/1.0';
}

export interface SynthResponse {
  status: number;
  reason?: string;
  headers?: Array<[string, string]>;
  body?: string | Uint8Array;
  chunked?: boolean;
}

export interface SynthExchange {
  request: SynthRequest;
  response: SynthResponse;
}

const REASONS: Record<number, string> = { 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

const bytesOf = (b: string | Uint8Array | undefined): Buffer => (b === undefined ? Buffer.alloc(0) : typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b));

function chunkedBody(body: Buffer, chunk = 1024): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < body.length; off += chunk) {
    const c = body.subarray(off, off + chunk);
    parts.push(Buffer.from(c.length.toString(16) + '\r\n', 'latin1'), c, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

function withBody(head: string[], body: Buffer, chunked: boolean | undefined, isRequest: boolean): Buffer {
  if (chunked) head.push('Transfer-Encoding: chunked');
  else if (body.length > 0 || !isRequest) head.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), chunked ? chunkedBody(body) : body]);
}

export function http1Request(r: SynthRequest): Buffer {
  const head = [`${r.method ?? 'GET'} ${r.path} ${r.version ?? 'HTTP/1.1'}`];
  if (r.host !== undefined) head.push(`Host: ${r.host}`);
  for (const [k, v] of r.headers ?? []) head.push(`${k}: ${v}`);
  return withBody(head, bytesOf(r.body), r.chunked, true);
}

export function http1Response(r: SynthResponse): Buffer {
  const head = [`HTTP/1.1 ${r.status} ${r.reason ?? REASONS[r.status] ?? 'Status'}`];
  for (const [k, v] of r.headers ?? []) head.push(`${k}: ${v}`);
  if (r.status === 101 || r.status === 204 || r.status === 304) return Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1');
  return withBody(head, bytesOf(r.body), r.chunked, false);
}

/** Keep-alive HTTP/1.1 conversation; `pipelined` sends all requests before the first response. */
export function http1Conversation(exchanges: readonly SynthExchange[], o: { pipelined?: boolean } = {}): WireMessage[] {
  if (o.pipelined) {
    return [
      { dir: 'c2s', bytes: Buffer.concat(exchanges.map((x) => http1Request(x.request))) },
      ...exchanges.map((x): WireMessage => ({ dir: 's2c', bytes: http1Response(x.response) })),
    ];
  }
  return exchanges.flatMap((x): WireMessage[] => [
    { dir: 'c2s', bytes: http1Request(x.request) },
    { dir: 's2c', bytes: http1Response(x.response) },
  ]);
}

const DATE = 'Thu, 01 Jan 2026 00:00:00 GMT';

/**
 * HTTP/2 with prior knowledge, recorded from Node's http2 client and server (nghttp2): the
 * client preface, SETTINGS exchange, HPACK-compressed headers (dynamic table in use across
 * requests), DATA, WINDOW_UPDATE, GOAWAY. Requests are sent one after another.
 */
export async function h2Conversation(exchanges: readonly SynthExchange[], o: { authority?: string } = {}): Promise<WireMessage[]> {
  const log: WireMessage[] = [];
  const { client: cw, server: sw } = wirePair(log, { deferred: true });
  const server = http2.createServer();
  const queue = [...exchanges];
  server.on('stream', (stream) => {
    const x = queue.shift();
    const res = x?.response ?? { status: 404 };
    const headers: http2.OutgoingHttpHeaders = { ':status': res.status, date: DATE };
    for (const [k, v] of res.headers ?? []) headers[k.toLowerCase()] = v;
    const body = bytesOf(res.body);
    stream.respond(headers, { endStream: body.length === 0 });
    if (body.length > 0) stream.end(body);
    stream.resume();
  });
  server.emit('connection', sw);
  const authority = o.authority ?? exchanges[0]?.request.host ?? 'localhost';
  const client = http2.connect(`http://${authority}`, { createConnection: () => cw });
  for (const x of exchanges) {
    const r = x.request;
    const headers: http2.OutgoingHttpHeaders = { ':method': r.method ?? 'GET', ':path': r.path, ':authority': r.host ?? authority, ':scheme': 'http' };
    for (const [k, v] of r.headers ?? []) headers[k.toLowerCase()] = v;
    const body = bytesOf(r.body);
    const req = client.request(headers, { endStream: body.length === 0 });
    if (body.length > 0) req.end(body);
    await new Promise<void>((resolve, reject) => {
      req.on('response', () => undefined);
      req.on('data', () => undefined);
      req.on('end', () => resolve());
      req.on('error', reject);
    });
  }
  await new Promise<void>((resolve) => client.close(() => resolve()));
  await new Promise<void>((resolve) => setTimeout(resolve, 5));
  server.close();
  cw.destroy();
  sw.destroy();
  return log;
}

// --- h2c Upgrade, frame by frame ------------------------------------------------------------

function h2Frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h.writeUInt8(type, 3);
  h.writeUInt8(flags, 4);
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function settingsPayload(s: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(6 * s.length);
  s.forEach(([id, v], i) => {
    b.writeUInt16BE(id, 6 * i);
    b.writeUInt32BE(v, 6 * i + 2);
  });
  return b;
}

/**
 * h2c by Upgrade (RFC 7540 §3.2): the first request goes as HTTP/1.1 with `Upgrade: h2c` and
 * `HTTP2-Settings`; the server answers 101 and then HTTP/2 (its SETTINGS, the response to the
 * upgrade request on stream 1); the client sends the preface and its further requests on
 * streams 3, 5, ... Headers are HPACK-encoded with one encoder per direction (dynamic table
 * shared across requests). `maxFrame` splits header blocks into HEADERS + CONTINUATION.
 */
export function h2cUpgradeConversation(first: SynthExchange, rest: readonly SynthExchange[] = [], o: { maxHeaderFrame?: number } = {}): WireMessage[] {
  const clientSettings = settingsPayload([
    [3, 100],
    [4, 65535],
  ]);
  const up: SynthRequest = {
    ...first.request,
    headers: [
      ...(first.request.headers ?? []),
      ['Connection', 'Upgrade, HTTP2-Settings'],
      ['Upgrade', 'h2c'],
      ['HTTP2-Settings', clientSettings.toString('base64url')],
    ],
  };
  const enc: Record<Dir, ReturnType<typeof hpack.compressor.create>> = {
    c2s: hpack.compressor.create({ table: { maxSize: 4096 } }),
    s2c: hpack.compressor.create({ table: { maxSize: 4096 } }),
  };
  const maxHeader = o.maxHeaderFrame ?? 16384;
  const headerFrames = (dir: Dir, streamId: number, headers: Array<[string, string]>, endStream: boolean): Buffer => {
    enc[dir].write(headers.map(([name, value]) => ({ name, value })));
    const parts: Buffer[] = [];
    for (let c = enc[dir].read(); c !== null; c = enc[dir].read()) parts.push(c);
    const block = Buffer.concat(parts);
    const frames: Buffer[] = [];
    for (let off = 0, first = true; first || off < block.length; off += maxHeader, first = false) {
      const piece = block.subarray(off, off + maxHeader);
      const last = off + maxHeader >= block.length;
      const flags = (last ? 0x4 : 0) | (first && endStream ? 0x1 : 0);
      frames.push(h2Frame(first ? 1 : 9, flags, streamId, piece));
    }
    return Buffer.concat(frames);
  };
  const respond = (streamId: number, r: SynthResponse): Buffer => {
    const body = bytesOf(r.body);
    const hs: Array<[string, string]> = [[':status', String(r.status)], ['date', DATE], ...(r.headers ?? []).map(([k, v]): [string, string] => [k.toLowerCase(), v])];
    if (body.length > 0) hs.push(['content-length', String(body.length)]);
    return Buffer.concat([headerFrames('s2c', streamId, hs, body.length === 0), body.length > 0 ? h2Frame(0, 0x1, streamId, body) : Buffer.alloc(0)]);
  };
  const msgs: WireMessage[] = [
    { dir: 'c2s', bytes: http1Request(up) },
    {
      dir: 's2c',
      bytes: Buffer.concat([
        http1Response({ status: 101, headers: [['Connection', 'Upgrade'], ['Upgrade', 'h2c']] }),
        h2Frame(4, 0, 0, settingsPayload([[3, 100]])),
        respond(1, first.response),
      ]),
    },
    { dir: 'c2s', bytes: Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), h2Frame(4, 0, 0, clientSettings), h2Frame(4, 0x1, 0, Buffer.alloc(0))]) },
    { dir: 's2c', bytes: h2Frame(4, 0x1, 0, Buffer.alloc(0)) },
  ];
  let sid = 3;
  for (const x of rest) {
    const r = x.request;
    const body = bytesOf(r.body);
    const hs: Array<[string, string]> = [
      [':method', r.method ?? 'GET'],
      [':scheme', 'http'],
      [':authority', r.host ?? first.request.host ?? 'localhost'],
      [':path', r.path],
      ...(r.headers ?? []).map(([k, v]): [string, string] => [k.toLowerCase(), v]),
    ];
    msgs.push({ dir: 'c2s', bytes: Buffer.concat([headerFrames('c2s', sid, hs, body.length === 0), body.length > 0 ? h2Frame(0, 0x1, sid, body) : Buffer.alloc(0)]) });
    msgs.push({ dir: 's2c', bytes: respond(sid, x.response) });
    sid += 2;
  }
  // client GOAWAY: last server-initiated stream 0, NO_ERROR
  msgs.push({ dir: 'c2s', bytes: h2Frame(7, 0, 0, Buffer.alloc(8)) });
  return msgs;
}
