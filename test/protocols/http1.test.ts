import { describe, expect, it } from 'vitest';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { c2s, feed, s2c } from './feed.js';

describe('HTTP/1.x decoder', () => {
  const req1 = 'GET /ip HTTP/1.1\r\nHost: httpbin.foo:8000\r\nUser-Agent: curl/8\r\nAuthorization: Bearer x\r\n\r\n';
  const resp1 = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{"origin": "10.244.0.12"}\n';
  const req2 = 'POST /post HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
  const resp2 = 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';

  it('pairs keep-alive requests with responses, skipping Content-Length and chunked bodies', () => {
    for (const segment of [undefined, 1, 7]) {
      const f = feed([c2s(req1), s2c(resp1), c2s(req2), s2c(resp2)], { segment });
      expect(f.protocol).toBe('http/1.1');
      expect(f.cleartext).toBe(true);
      expect(f.http.map((x) => [x.method, x.path, x.status])).toEqual([
        ['GET', '/ip', 200],
        ['POST', '/post', 201],
      ]);
      expect(f.http[0]!.authority).toBe('httpbin.foo:8000');
      expect(f.http[0]!.headers['authorization']).toEqual(['Bearer x']);
      expect(f.http[1]!.responseHeaders!['transfer-encoding']).toEqual(['chunked']);
    }
  });

  it('pipelined requests in one segment are answered in order', () => {
    const f = feed([c2s(req1 + req1.replace('/ip', '/headers') + 'HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n'), s2c(resp1 + resp1 + 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n')]);
    expect(f.http.map((x) => [x.path, x.status])).toEqual([
      ['/ip', 200],
      ['/headers', 200],
      ['/x', 200],
    ]);
  });

  it('a lost segment inside a body keeps alignment; one inside a head stops that direction', () => {
    const body = 'x'.repeat(3000);
    const resp = `HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n`;
    const f = feed([c2s(req1), s2c(resp + body.slice(0, 1000)), { dir: 's2c', gap: 1500 }, s2c(body.slice(2500)), c2s(req1), s2c(resp1)]);
    expect(f.http.map((x) => x.status)).toEqual([200, 200]);
    expect(f.missing.s2c).toBe(1500);
    const g = feed([c2s(req1.slice(0, 10)), { dir: 'c2s', gap: 20 }, c2s(req1.slice(30)), s2c(resp1)]);
    expect(g.notes.join('\n')).toMatch(/payload not captured/);
  });

  it('HTTP/1.0 and 100-continue', () => {
    const f = feed([
      c2s('PUT /a HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n'),
      s2c('HTTP/1.1 100 Continue\r\n\r\n'),
      c2s('abc'),
      s2c('HTTP/1.0 204 No Content\r\n\r\n'),
    ]);
    expect(f.protocol).toBe('http/1.0');
    expect(f.http.map((x) => [x.method, x.status])).toEqual([['PUT', 204]]);
  });

  it('non-HTTP payload is tcp (or a cleartext protocol named by content), no payload is unknown, by content not port', () => {
    expect(feed([c2s('*1\r\n$4\r\nPING\r\n'), s2c('+PONG\r\n')]).protocol).toBe('redis');
    expect(feed([c2s('SSH-2.0-OpenSSH_9.6\r\n'), s2c('SSH-2.0-OpenSSH_9.6\r\n')]).protocol).toBe('tcp');
    expect(feed([]).protocol).toBe('unknown');
    expect(feed([{ dir: 'c2s', gap: 100 }]).protocol).toBe('unknown');
    expect(feed([c2s('GE')]).protocol).toBe('tcp');
    expect(feed([s2c('220 smtp.example ESMTP\r\n')]).protocol).toBe('tcp');
  });
});

describe('HTTP/1.x edge cases', () => {
  it('WebSocket upgrade and CONNECT tunnels are noted and not parsed as HTTP', () => {
    const ws = feed([
      c2s('GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
      s2c('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello'),
      c2s('\x81\x85abcd\x00\x00\x00\x00\x00'),
    ]);
    expect(ws.protocol).toBe('http/1.1');
    expect(ws.http.map((x) => x.status)).toEqual([101]);
    expect(ws.notes.join('\n')).toMatch(/upgraded to "websocket"/);
    const tunnel = feed([c2s('CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n'), s2c('HTTP/1.1 200 OK\r\n\r\n'), c2s('\x00\x00\x00\x08\x04\xd2\x16\x2f')]);
    expect(tunnel.http.map((x) => [x.method, x.path, x.status])).toEqual([['CONNECT', 'db:5432', 200]]);
    expect(tunnel.notes.join('\n')).toMatch(/CONNECT tunnel/);
  });

  it('a capture that starts mid-connection with a response is still HTTP by content', () => {
    const f = feed([s2c('Content-Length: 5\r\n\r\nhello'), s2c('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')]);
    // the first server bytes are not conclusive (a header line), so nothing is decided on them
    expect(f.protocol).toBe('tcp');
    const g = feed([s2c('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), c2s('GET /next HTTP/1.1\r\nHost: a\r\n\r\n'), s2c('HTTP/1.1 204 No Content\r\n\r\n')]);
    expect(g.protocol).toBe('http/1.1');
    expect(g.http.map((x) => [x.path ?? null, x.status])).toEqual([
      [null, 200],
      ['/next', 204],
    ]);
  });

  it('absolute-form targets, obsolete line folding, repeated headers kept in order', () => {
    const f = feed([c2s('GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nX-A: 2\r\nX-Long: part1\r\n  part2\r\n\r\n'), s2c('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')]);
    expect(f.http[0]!.path).toBe('http://example.com/a?b=1');
    expect(f.http[0]!.headers['x-a']).toEqual(['1', '2']);
    expect(f.http[0]!.headers['x-long']).toEqual(['part1 part2']);
  });

  it('a response without Content-Length runs to the end of the connection', () => {
    const f = feed([c2s('GET / HTTP/1.0\r\n\r\n'), s2c('HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 999 this is body text\r\n')]);
    expect(f.http.map((x) => x.status)).toEqual([200]);
  });
});

describe('sniffing after holes', () => {
  it('a stream whose first client bytes were lost is judged on what follows, with bounded buffering', () => {
    const f = feed([{ dir: 'c2s', gap: 1448 }, c2s('GET /after-hole HTTP/1.1\r\nHost: a\r\n\r\n'), s2c('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')]);
    expect(f.protocol).toBe('http/1.1');
    expect(f.http.map((x) => x.path)).toEqual(['/after-hole']);
    // unknown bytes after a hole wait for a conclusive server, at most 4 KiB
    const d = createStreamDecoder();
    d.gap('c2s', 100, { frame: 1, timeMs: 0 });
    d.data('c2s', Buffer.alloc(100, 7), { frame: 2, timeMs: 0 });
    expect(d.wants('c2s')).toBe(true); // sampling the payload
    for (let i = 0; i < 50; i++) d.data('c2s', Buffer.alloc(100, 7), { frame: 3 + i, timeMs: 0 });
    expect(d.wants('c2s')).toBe(false);
    expect(d.facts().protocol).toBe('tcp');
  });
});
