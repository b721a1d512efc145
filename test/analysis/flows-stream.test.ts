/**
 * Streaming: a flow that has ended is handed out while the capture is still being read (as with
 * `tcpdump -w - | meshsleuth flows - -o ndjson`), not only at the end of the input.
 */
import { expect, it } from 'vitest';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { PcapWriter } from '../../src/synth/pcap-writer.js';
import { frame } from '../../src/synth/link.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import type { Flow } from '../../src/model/records.js';

it('emits a finished flow before the input ends', async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const first = tcpConversation([{ dir: 'c2s', bytes: enc('GET / HTTP/1.1\r\nhost: a\r\n\r\n') }, { dir: 's2c', bytes: enc('HTTP/1.1 204 No Content\r\n\r\n') }], {
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '10.0.0.2', port: 80 },
    startMs: 1_700_000_000_000,
  });
  // A packet of another connection 10 s later (capture time) moves the clock past the linger.
  const later = tcpConversation([], { client: { ip: '10.0.0.3', port: 40001 }, server: { ip: '10.0.0.2', port: 80 }, startMs: 1_700_000_010_000 }).slice(0, 1);
  const w = new PcapWriter();
  for (const p of [...first, ...later]) w.add({ timeNs: p.timeNs, data: frame(p.ip, { linkType: 1 }) });
  const bytes = w.toBuffer();
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let inputEnded = false;
  const src = {
    name: 'live',
    async *open() {
      yield bytes; // everything so far; then the "live" capture stalls until we saw the flow
      await gate;
      inputEnded = true;
    },
  };
  const got: Array<{ flow: Flow; beforeEnd: boolean }> = [];
  for await (const f of flowsFromCapture(src, { decoder: createStreamDecoder })) {
    got.push({ flow: f, beforeEnd: !inputEnded });
    release();
  }
  expect(got.map((g) => [g.flow.client.port, g.flow.security, g.beforeEnd])).toEqual([
    [40000, 'plaintext', true],
    [40001, 'unknown', false],
  ]);
});
