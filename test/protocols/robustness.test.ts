/** Bad input never throws: random bytes, cut and bit-flipped real handshakes, random gaps. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createStreamDecoder } from '../../src/protocols/index.js';
import type { Direction } from '../../src/protocols/stream.js';
import { ISTIO_ALPN, runTlsSession } from '../../src/synth/tls-session.js';
import { h2cUpgradeConversation } from '../../src/synth/http.js';

type Op = { dir: Direction; bytes?: Uint8Array; gap?: number };

function run(ops: Op[]) {
  const d = createStreamDecoder();
  let frame = 1;
  for (const o of ops) {
    if (o.gap !== undefined) d.gap(o.dir, o.gap, { frame: frame++, timeMs: 0 });
    else d.data(o.dir, o.bytes!, { frame: frame++, timeMs: 0 });
    d.wants(o.dir);
  }
  d.end();
  const f = d.facts();
  expect(['tls', 'http/1.1', 'http/1.0', 'http/0.9', 'h2c', 'mysql', 'postgresql', 'redis', 'mongodb', 'tcp', 'unknown']).toContain(f.protocol);
  JSON.stringify(f);
  return f;
}

const op = fc.oneof(
  fc.record({ dir: fc.constantFrom<Direction>('c2s', 's2c'), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ dir: fc.constantFrom<Direction>('c2s', 's2c'), gap: fc.integer({ min: 1, max: 5000 }) }),
);

/** A prefix that steers random bytes into each decoder. */
const prefixes = [
  Buffer.from('160303', 'hex'),
  Buffer.from('GET / HTTP/1.1\r\n'),
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
];

describe('decoders never throw on bad input', () => {
  it('random bytes and gaps in both directions, after each protocol prefix', () => {
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.array(op, { maxLength: 30 }), (p, ops) => {
        run([{ dir: 'c2s', bytes: p }, ...ops]);
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('bit flips and cuts in a real mTLS handshake and an h2c upgrade', async () => {
    const r = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', alpn: ISTIO_ALPN.http11, sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' });
    const h2 = h2cUpgradeConversation({ request: { path: '/', host: 'a' }, response: { status: 200, body: 'x' } }, [{ request: { path: '/b', host: 'a' }, response: { status: 204 } }]);
    for (const msgs of [r.messages, h2]) {
      const total = msgs.reduce((n, m) => n + m.bytes.length, 0);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: total - 1 }), fc.integer({ min: 1, max: 255 })), { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (flips, seg) => {
          let pos = 0;
          const ops: Op[] = [];
          for (const m of msgs) {
            const b = Buffer.from(m.bytes);
            for (const [at, x] of flips) if (at >= pos && at < pos + b.length) b[at - pos] ^= x;
            pos += b.length;
            for (let o = 0; o < b.length; o += seg) ops.push({ dir: m.dir, bytes: b.subarray(o, o + seg) });
          }
          run(ops);
        }),
        { numRuns: 150, seed: 7 },
      );
    }
  });

  it('a corrupt length (huge handshake message / h2 frame / chunk) does not buffer unboundedly', () => {
    // ClientHello claiming 16 MB, then 1 MB of filler in legal-looking records
    const ops: Op[] = [{ dir: 'c2s', bytes: Buffer.from('16030100040100ffff', 'hex').subarray(0, 9) }];
    const rec = Buffer.concat([Buffer.from('1603014000', 'hex'), Buffer.alloc(0x4000, 0x41)]);
    for (let i = 0; i < 64; i++) ops.push({ dir: 'c2s', bytes: rec });
    const f = run(ops);
    expect(f.protocol).toBe('tls');
    const g = run([{ dir: 'c2s', bytes: Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n') }]);
    expect(g.notes.join('\n')).toMatch(/malformed chunk size|stopped/);
  });
});

describe('the caller may reuse its buffer', () => {
  it('every decoder copies what it keeps past a data() call', async () => {
    const { http1Conversation, h2Conversation } = await import('../../src/synth/http.js');
    const app = http1Conversation([{ request: { path: '/a', host: 'h', headers: [['X-Long', 'v'.repeat(3000)]] }, response: { status: 200, body: 'ok' } }]);
    const tlsMsgs = (await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', alpn: ISTIO_ALPN.http11, sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local', app })).messages;
    const h2 = await h2Conversation([{ request: { path: '/b', host: 'h', headers: [['x-long', 'w'.repeat(3000)]] }, response: { status: 204 } }]);
    // segments of 100 bytes split every record and message; of 1460, most arrive whole in one segment (the
    // decoders then work on the caller's bytes without copying them, and must copy what they keep)
    for (const [msgs, size] of [tlsMsgs, app, h2].flatMap((m) => [100, 1460].map((n) => [m, n] as const))) {
      // like a capture reader: every segment is delivered from one scratch buffer, then scribbled over
      const scratch = Buffer.alloc(1 << 16);
      const reused = createStreamDecoder();
      const fresh = createStreamDecoder();
      let frame = 1;
      for (const m of msgs) {
        for (let o = 0; o < m.bytes.length; o += size) {
          const seg = m.bytes.subarray(o, o + size);
          scratch.set(seg, 0);
          reused.data(m.dir, scratch.subarray(0, seg.length), { frame, timeMs: 0 });
          scratch.fill(0xee, 0, seg.length);
          fresh.data(m.dir, Buffer.from(seg), { frame: frame++, timeMs: 0 });
        }
      }
      reused.end();
      fresh.end();
      expect(reused.facts()).toEqual(fresh.facts());
      expect(fresh.facts().notes).toEqual([]);
    }
  });
});
