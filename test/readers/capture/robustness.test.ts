/**
 * Damaged captures never crash the pipeline nor make it hang: random byte corruption and random
 * truncation of a capture with TLS and HTTP traffic still end in flows (or one clear InputError
 * when the file header itself is gone), within a time bound.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { flowsFromCapture } from '../../../src/analysis/flows.js';
import { captureBuffer, newCaptureStats } from '../../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../../src/protocols/index.js';
import { InputError } from '../../../src/model/errors.js';
import { buildCapture } from '../../../src/synth/capture.js';
import { tcpConversation } from '../../../src/synth/tcp.js';
import { http1Conversation } from '../../../src/synth/http.js';
import { runTlsSession, ISTIO_ALPN, istioSni } from '../../../src/synth/tls-session.js';

let pcap: Buffer;
let pcapng: Buffer;

beforeAll(async () => {
  const app = http1Conversation([{ request: { path: '/x', host: 'h' }, response: { status: 200, body: 'y'.repeat(2000) } }]);
  const tls = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app });
  const flows = [
    { packets: tcpConversation(tls.messages.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 8000 }, startMs: 1, mss: 400 }) },
    { packets: tcpConversation(app.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: { ip: '10.0.0.3', port: 40001 }, server: { ip: '10.0.0.2', port: 8080 }, startMs: 2, mss: 400 }) },
  ];
  pcap = buildCapture(flows, { format: 'pcap' });
  pcapng = buildCapture(flows, { format: 'pcapng' });
});

async function run(bytes: Uint8Array): Promise<{ flows: number; error?: string }> {
  const stats = newCaptureStats('fuzz');
  let flows = 0;
  try {
    for await (const _ of flowsFromCapture(captureBuffer('fuzz', bytes, 997), { decoder: createStreamDecoder }, stats)) flows++;
  } catch (err) {
    if (err instanceof InputError) return { flows, error: err.message };
    throw err;
  }
  return { flows };
}

describe('damaged captures', () => {
  for (const which of ['pcap', 'pcapng'] as const) {
    it(`${which}: random corruption and truncation never crash or hang`, async () => {
      const base = which === 'pcap' ? pcap : pcapng;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 }),
          fc.option(fc.nat(base.length), { nil: undefined }),
          async (flips, cut) => {
            const b = Buffer.from(base);
            for (const [i, v] of flips) b[i] = v;
            // a hang is caught by the test's timeout, not by timing a case (no timings in unit tests)
            const r = await run(cut === undefined ? b : b.subarray(0, cut));
            if (r.error) expect(r.error).toMatch(/offset/);
          },
        ),
        { numRuns: 150, seed: 4242 },
      );
    });
  }

  it('the intact captures give both flows', async () => {
    expect((await run(pcap)).flows).toBe(2);
    expect((await run(pcapng)).flows).toBe(2);
  });
});
