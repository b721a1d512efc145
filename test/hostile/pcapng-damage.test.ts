/**
 * Damaged pcapng at the end of a file and timestamps out of range: every complete frame before the
 * damage is kept, the flows are reported, and the message counts the frames kept.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildCapture, type CaptureOptions } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { http1Conversation } from '../../src/synth/http.js';
import { captureBuffer, newFrameReaderState, readCaptureFrames } from '../../src/readers/capture/index.js';

function twoFlows(o: CaptureOptions = {}, startMs = 1_700_000_000_000): Buffer {
  const app = http1Conversation([{ request: { path: '/x', host: 'h' }, response: { status: 200, body: 'ok' } }]);
  const msgs = app.map((m) => ({ dir: m.dir, bytes: m.bytes }));
  return buildCapture(
    [
      { packets: tcpConversation(msgs, { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 8080 }, startMs }) },
      { packets: tcpConversation(msgs, { client: { ip: '10.0.0.3', port: 40001 }, server: { ip: '10.0.0.2', port: 8080 }, startMs: startMs + 5 }) },
    ],
    { format: 'pcapng', ...o },
  );
}

/** A block of `total` bytes (header, zero body, trailer), little-endian like the writer's default. */
function block(type: number, total: number): Buffer {
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  b.writeUInt32LE(total, total - 4);
  return b;
}

function file(buf: Buffer): string {
  const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-pcapng-')), 'c.pcapng');
  writeFileSync(f, buf);
  return f;
}

async function frameCount(buf: Buffer): Promise<number> {
  let n = 0;
  for await (const _ of readCaptureFrames(captureBuffer('x', buf))) n++;
  return n;
}

describe('pcapng damaged at the end', () => {
  for (const [name, type, total, what] of [
    ['an enhanced packet block of total length 16', 6, 16, 'enhanced packet block: total length 16 is shorter than the 32 bytes'],
    ['an interface description block of length 12', 1, 12, 'interface description block: total length 12 is shorter than the 20 bytes'],
    ['a simple packet block of length 12', 3, 12, 'simple packet block: total length 12 is shorter than the 16 bytes'],
  ] as const) {
    it(`${name} as the last block: exit 2 naming the offset, both flows kept and the frames counted`, async () => {
      const good = twoFlows();
      const kept = await frameCount(good);
      expect(kept).toBeGreaterThan(8);
      const r = await runCli(['flows', file(Buffer.concat([good, block(type, total)]))]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`offset ${good.length}`);
      expect(r.stderr).toContain(what);
      expect(r.stderr).toContain(`stopped reading, ${kept} complete frames kept`);
      expect(r.stdout).toMatch(/10\.0\.0\.1:40000\s+10\.0\.0\.2:8080/);
      expect(r.stdout).toMatch(/10\.0\.0\.3:40001\s+10\.0\.0\.2:8080/);
    });
  }
});

describe('pcapng timestamps out of range', () => {
  for (const [name, o, startMs] of [
    ['if_tsoffset of 2^62 s', { tsoffset: 2n ** 62n }, undefined],
    ['a negative if_tsoffset', { tsoffset: -(2n ** 40n) }, undefined],
    ['if_tsresol=0 with a timestamp past year 9999', { tsresol: 0 }, 1e16],
  ] as const) {
    it(`${name}: frames kept with their time flagged, the count reported, both flows kept`, async () => {
      const buf = twoFlows(o, startMs);
      const state = newFrameReaderState();
      let frames = 0;
      let bad = 0;
      for await (const f of readCaptureFrames(captureBuffer('x', buf), {}, state)) {
        frames++;
        if (f.badTime) {
          bad++;
          expect(f.sec).toBeGreaterThanOrEqual(0);
        }
      }
      expect(bad).toBe(frames);
      expect(state.badTimestamps).toBe(frames);
      const r = await runCli(['flows', file(buf)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`${state.badTimestamps} frames with a timestamp out of range .*expected 1970\\.\\.9999\\): kept`));
      expect(r.stderr).not.toContain('Invalid time value');
      expect(r.stdout).toMatch(/10\.0\.0\.1:40000\s+10\.0\.0\.2:8080/);
      expect(r.stdout).toMatch(/10\.0\.0\.3:40001\s+10\.0\.0\.2:8080/);
    });
  }
});
