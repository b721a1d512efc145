import { describe, expect, it } from 'vitest';
import hpack from 'hpack.js';
import { h2Conversation, h2cUpgradeConversation, type SynthExchange } from '../../src/synth/http.js';
import type { WireMessage } from '../../src/synth/tls-session.js';
import { c2s, feed, s2c, type Step } from './feed.js';
import { h2Frame } from '../helpers/h2.js';

const steps = (m: WireMessage[]): Step[] => m.map((x) => ({ dir: x.dir, bytes: x.bytes }));
const H = (k: string, v: string): [string, string] => [k, v];

const exchanges: SynthExchange[] = [
  { request: { path: '/bytes/10', host: 'grpc-echo.foo.svc.cluster.local:9090', headers: [H('x-request-id', 'r-1'), H('authorization', 'Bearer abc')] }, response: { status: 200, body: '0123456789', headers: [H('x-envoy-upstream-service-time', '3')] } },
  { request: { method: 'POST', path: '/echo', host: 'grpc-echo.foo.svc.cluster.local:9090', headers: [H('x-request-id', 'r-2'), H('authorization', 'Bearer abc')], body: 'ping' }, response: { status: 403, body: 'RBAC: access denied' } },
  { request: { path: '/bytes/0', host: 'grpc-echo.foo.svc.cluster.local:9090', headers: [H('x-request-id', 'r-3'), H('authorization', 'Bearer abc')] }, response: { status: 200 } },
];

const frame = h2Frame;

describe('HTTP/2 cleartext decoder', () => {
  it('prior knowledge (bytes recorded from Node http2): per-stream exchanges, HPACK dynamic table across requests', async () => {
    const m = await h2Conversation(exchanges);
    // the server's SETTINGS may precede the client preface: the client's bytes decide
    expect(m[0]!.dir).toBe('s2c');
    for (const segment of [undefined, 1, 10]) {
      const f = feed(steps(m), { segment });
      expect(f.protocol).toBe('h2c');
      expect(f.cleartext).toBe(true);
      expect(f.http2!.preface).toBe(true);
      expect(f.http2!.upgrade).toBe(false);
      expect(f.http.map((x) => [x.streamId, x.method, x.path, x.status])).toEqual([
        [1, 'GET', '/bytes/10', 200],
        [3, 'POST', '/echo', 403],
        [5, 'GET', '/bytes/0', 200],
      ]);
      // repeated headers are sent as dynamic-table indexes the second time: decoded identically
      expect(f.http.map((x) => x.headers['authorization'])).toEqual([['Bearer abc'], ['Bearer abc'], ['Bearer abc']]);
      expect(f.http.map((x) => x.headers['x-request-id'])).toEqual([['r-1'], ['r-2'], ['r-3']]);
      expect(f.http[0]!.authority).toBe('grpc-echo.foo.svc.cluster.local:9090');
      expect(f.http[0]!.responseHeaders!['x-envoy-upstream-service-time']).toEqual(['3']);
      expect(f.notes).toEqual([]);
    }
  });

  it('h2c by Upgrade: 101, stream 1 answers the upgrade request, HEADERS + CONTINUATION', () => {
    const m = h2cUpgradeConversation(exchanges[0]!, exchanges.slice(1), { maxHeaderFrame: 8 });
    for (const segment of [undefined, 1, 13]) {
      const f = feed(steps(m), { segment });
      expect(f.protocol).toBe('h2c');
      expect(f.http2!.upgrade).toBe(true);
      expect(f.http2!.frameTypes['CONTINUATION']).toBeGreaterThan(0);
      expect(f.http.map((x) => [x.version, x.streamId ?? null, x.method, x.path, x.status])).toEqual([
        ['HTTP/1.1', null, 'GET', '/bytes/10', 101],
        ['HTTP/2', 1, 'GET', '/bytes/10', 200],
        ['HTTP/2', 3, 'POST', '/echo', 403],
        ['HTTP/2', 5, 'GET', '/bytes/0', 200],
      ]);
      expect(f.http[3]!.headers['authorization']).toEqual(['Bearer abc']);
    }
  });

  it('the client preface arriving before the 101 is held until the upgrade completes', () => {
    const m = h2cUpgradeConversation(exchanges[0]!, exchanges.slice(1));
    // reorder: request, client preface + settings, then the 101 + server frames
    const f = feed(steps([m[0]!, m[2]!, m[1]!, m[3]!, ...m.slice(4)]));
    expect(f.http.filter((x) => x.version === 'HTTP/2').map((x) => x.status)).toEqual([200, 403, 200]);
  });

  it('PADDED and PRIORITY flags on HEADERS; PUSH_PROMISE; interim 1xx ignored; trailers ignored', () => {
    const ce = hpack.compressor.create({ table: { maxSize: 4096 } });
    const se = hpack.compressor.create({ table: { maxSize: 4096 } });
    const enc = (c: typeof ce, h: Array<[string, string]>) => {
      c.write(h.map(([name, value]) => ({ name, value })));
      const parts: Buffer[] = [];
      for (let x = c.read(); x !== null; x = c.read()) parts.push(x);
      return Buffer.concat(parts);
    };
    const reqBlock = enc(ce, [H(':method', 'GET'), H(':scheme', 'http'), H(':authority', 'a'), H(':path', '/p')]);
    const padded = Buffer.concat([Buffer.from([3]), Buffer.from([0x80, 0, 0, 0, 16]), reqBlock, Buffer.alloc(3)]);
    const pushBlock = enc(se, [H(':method', 'GET'), H(':scheme', 'http'), H(':authority', 'a'), H(':path', '/style.css')]);
    const f = feed([
      c2s(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0x4 | 0x8 | 0x20 | 0x1, 1, padded)])),
      s2c(
        Buffer.concat([
          frame(4, 0, 0, Buffer.alloc(0)),
          frame(5, 0x4, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), pushBlock])),
          frame(1, 0x4, 1, enc(se, [H(':status', '103'), H('link', '</style.css>')])),
          frame(1, 0x4, 1, enc(se, [H(':status', '200')])),
          frame(0, 0, 1, Buffer.from('body')),
          frame(1, 0x4 | 0x1, 1, enc(se, [H('grpc-status', '0')])),
          frame(1, 0x4 | 0x1, 2, enc(se, [H(':status', '200')])),
        ]),
      ),
    ]);
    expect(f.http.map((x) => [x.streamId, x.path, x.status])).toEqual([
      [1, '/p', 200],
      [2, '/style.css', 200],
    ]);
    expect(f.notes).toEqual([]);
  });

  it('a lost segment inside DATA is skipped; one inside a header block stops header decoding with a note', async () => {
    const m = await h2Conversation(exchanges);
    // find the s2c message carrying the first DATA payload ('0123456789') and cut 4 bytes out of it
    const i = m.findIndex((x) => x.dir === 's2c' && Buffer.from(x.bytes).includes('0123456789'));
    const b = Buffer.from(m[i]!.bytes);
    const at = b.indexOf('0123456789');
    const s = [...steps(m.slice(0, i)), s2c(b.subarray(0, at + 2)), { dir: 's2c' as const, gap: 4 }, s2c(b.subarray(at + 6)), ...steps(m.slice(i + 1))];
    const f = feed(s);
    expect(f.http.map((x) => x.status)).toEqual([200, 403, 200]);
    // now lose bytes inside the second request's HEADERS block
    const j = m.findIndex((x) => x.dir === 'c2s' && Buffer.from(x.bytes).includes('r-2'));
    const hb = Buffer.from(m[j]!.bytes);
    const k = hb.indexOf('r-2');
    const g = feed([...steps(m.slice(0, j)), c2s(hb.subarray(0, k)), { dir: 'c2s', gap: 3 }, c2s(hb.subarray(k + 3)), ...steps(m.slice(j + 1))]);
    // the responses are still decoded (the server's HPACK state is intact); the requests are not guessed
    expect(g.http.map((x) => [x.path, x.status])).toEqual([
      ['/bytes/10', 200],
      [undefined, 403],
      [undefined, 200],
    ]);
    expect(g.notes.join('\n')).toMatch(/header decoding stopped/);
  });

  it('an h2 frame stream without preface from the client is not h2c', () => {
    expect(feed([c2s(frame(4, 0, 0, Buffer.alloc(0)))]).protocol).toBe('tcp');
  });
});

describe('HTTP/2 preface refused', () => {
  it('a server answering the preface with HTTP/1.1 is decoded as such', () => {
    const f = feed([c2s(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))])), s2c('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')]);
    expect(f.protocol).toBe('h2c');
    expect(f.http.map((x) => x.status)).toEqual([400]);
    expect(f.notes.join('\n')).toMatch(/answered the HTTP\/2 preface with HTTP\/1/);
  });
});
