/**
 * One capture on two threads (src/cli/capture-pipeline.ts: frames and headers decoded on the main thread,
 * TCP and the protocol decoders in a worker) gives exactly the events of the single-threaded path
 * (analysis/capture-events.ts): the same flows (deep-equal, in the same order), the same diagnostics
 * before the same flows, the same end summary or error; and `flows --threads 2` on one capture prints
 * byte for byte what `--threads 1` prints.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureEvents, type CaptureEvent } from '../../src/analysis/capture-events.js';
import { pipelinedCaptureEvents } from '../../src/cli/capture-pipeline.js';
import { buildCapture } from '../../src/synth/mixed-capture.js';
import { describeShared, runCli, REPO, SHARED } from '../helpers/cli.js';

/** The events minus progress (display only), flows one per item so batching does not matter. */
async function events(it: AsyncIterable<CaptureEvent>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const ev of it) {
    if (ev.t === 'progress') continue;
    if (ev.t === 'flows') for (const f of ev.flows) out.push({ flow: f });
    else out.push(ev);
  }
  return out;
}

async function expectSameEvents(path: string, window?: number): Promise<unknown[]> {
  const one = await events(captureEvents(path));
  const two = await events(pipelinedCaptureEvents(path, [], window));
  // JSON first (what the CLI prints), then deep equality of the objects themselves
  expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  expect(two).toEqual(one);
  return one;
}

const flowsOf = (evs: unknown[]): number => evs.filter((e) => (e as { flow?: unknown }).flow).length;

describe('capture pipeline: the same events as one thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-pipeline-'));
  const files: Record<string, string> = {};
  beforeAll(async () => {
    // ~6 MB of mixed Istio traffic (mTLS 1.2/1.3, one-way TLS, HTTP/1.1, h2c, RESP): ~7,000 frames, many batches
    for (const kind of ['plain', 'vxlan', 'geneve'] as const) {
      files[kind] = join(dir, `${kind}.pcap`);
      await buildCapture(files[kind]!, 6e6, kind === 'plain' ? undefined : kind);
    }
  }, 120_000);

  it('a generated capture of mixed traffic, plain and inside VXLAN and Geneve, with a window of 1, 2 and 32 batches', async () => {
    for (const kind of ['plain', 'vxlan', 'geneve']) {
      for (const w of [1, 2, 32]) {
        const evs = await expectSameEvents(files[kind]!, w);
        expect(flowsOf(evs)).toBeGreaterThan(50);
        expect((evs[evs.length - 1] as CaptureEvent).t).toBe('end');
      }
    }
  });

  it('a capture cut mid-record, one whose record length is impossible, a non-capture and a missing file: the same diagnostics, flows and error', async () => {
    const whole = readFileSync(files.plain!);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const bad = join(dir, 'bad-length.pcap');
    const b = Buffer.from(whole.subarray(0, 2_000_000));
    // the first record header after 1 MB: find it by walking the records
    let o = 24;
    while (o < 1_000_000) o += 16 + b.readUInt32LE(o + 8);
    b.writeUInt32LE(100_000_000, o + 8);
    writeFileSync(bad, b);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'this is not a capture\n');
    const cutEvents = await expectSameEvents(cut, 2);
    expect(cutEvents.some((e) => (e as CaptureEvent).t === 'diag')).toBe(true);
    const badEvents = await expectSameEvents(bad, 2);
    expect(JSON.stringify(badEvents)).toContain('100000000');
    expect(flowsOf(badEvents)).toBeGreaterThan(5);
    const notCapture = await expectSameEvents(text);
    expect((notCapture[notCapture.length - 1] as CaptureEvent).t).toBe('error');
    const missing = await expectSameEvents(join(dir, 'missing.pcap'));
    expect((missing[0] as CaptureEvent).t).toBe('error');
  });

  it('flows --threads 2 on one capture prints what --threads 1 prints (ndjson, json, wide)', async () => {
    for (const o of ['ndjson', 'json', 'wide']) {
      const one = await runCli(['flows', files.vxlan!, '-o', o, '--threads', '1']);
      const two = await runCli(['flows', files.vxlan!, '-o', o, '--threads', '2']);
      expect(one.code).toBe(0);
      expect(one.stdout.length).toBeGreaterThan(10_000);
      expect(two.code).toBe(one.code);
      expect(two.stderr).toBe(one.stderr);
      expect(two.stdout).toBe(one.stdout);
    }
  });

  it('the sample bundles\' captures, each alone', async () => {
    for (const s of ['bank-breach', 'bookinfo-authz', 'legacy-plaintext', 'tcp-echo', 'details-path']) {
      for (const f of readdirSync(join(REPO, 'samples', s, 'captures'))) await expectSameEvents(join(REPO, 'samples', s, 'captures', f), 1);
    }
  });
});

describeShared('capture pipeline on the real captures of ../shared', () => {
  it('every capture alone: the same events as one thread', async () => {
    const caps = readdirSync(join(SHARED, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
    expect(caps.length).toBeGreaterThan(10);
    for (const f of caps) await expectSameEvents(join(SHARED, 'captures', f), 1);
  });
});
