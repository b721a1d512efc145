/**
 * The worker half of the capture pipeline (src/cli/capture-pipeline.ts): receives the TCP segments the
 * main thread read and decoded, in capture order, and runs them through the same TCP table, protocol
 * decoders and verdicts as the single-threaded path (analysis/flows.ts flowsFromSegments). After each
 * batch it posts the flows that batch completed (possibly none: the post is also the main thread's
 * credit), and at the end the flows still open and the table's eviction counts.
 */
import { parentPort } from 'node:worker_threads';
import type { PipeFromWorker, PipeToWorker } from './capture-pipeline.js';
import type { TcpSegment } from '../readers/capture/decode.js';
import type { Flow } from '../model/records.js';

const port = parentPort;
if (!port) throw new Error('src/cli/capture-worker.ts runs only as a worker thread');

/** Thrown into the TCP half when the main thread stops reading (an error): no finish(), as in one thread. */
class Stopped extends Error {}

const inbox: PipeToWorker[] = [];
let wake: (() => void) | null = null;
let started = false;

function post(m: PipeFromWorker): void {
  port!.postMessage(m);
}

async function next(): Promise<PipeToWorker> {
  while (!inbox.length) await new Promise<void>((r) => (wake = r));
  return inbox.shift()!;
}

/** Loaded as soon as the thread starts (it may start before the main thread knows the capture: capture-prestart.ts). */
const modules = Promise.all([import('../analysis/flows.js'), import('../protocols/index.js'), import('../readers/capture/segment-codec.js')]);
// (an import that fails is reported by run(), not as an unhandled rejection before it)
modules.catch(() => {});

async function run(start: Extract<PipeToWorker, { type: 'start' }>): Promise<void> {
  const [{ flowsFromSegments }, { createStreamDecoder }, { SegmentUnpacker }] = await modules;
  let keys: import('../protocols/tls/keylog.js').KeyLog | undefined;
  if (start.keylog?.length) {
    const { readKeyLogs } = await import('../readers/keylog.js');
    keys = (await readKeyLogs(start.keylog)).keys;
  }
  const unpacker = new SegmentUnpacker();
  let names: (string | undefined)[] = [];
  /** The batch whose flows are being collected (the end counts as one past the last batch). */
  let current = -1;
  let flows: Flow[] = [];
  /** The current batch's buffer: handed back with its flows (its payload views are stale by then). */
  let buf: ArrayBuffer | null = null;
  const flush = (): void => {
    if (current >= 0) {
      if (buf) port!.postMessage({ t: 'flows', k: current, flows, buf } satisfies PipeFromWorker, [buf]);
      else post({ t: 'flows', k: current, flows });
    }
    current = -1;
    flows = [];
    buf = null;
  };
  async function* batches(): AsyncGenerator<TcpSegment[]> {
    for (;;) {
      // every flow of the previous batch has been collected when the TCP half asks for the next one
      flush();
      const m = await next();
      if (m.type === 'batch') {
        current = m.k;
        if (m.names) names = m.names;
        buf = m.packed.buf;
        yield unpacker.unpack(m.packed);
      } else if (m.type === 'end') {
        current = m.k;
        return;
      } else if (m.type === 'stop') {
        throw new Stopped();
      }
    }
  }
  const tcp = { evictedIdle: 0, evictedOverCap: 0 };
  try {
    for await (const f of flowsFromSegments(start.name, batches(), { decoder: keys ? () => createStreamDecoder({ keys }) : createStreamDecoder }, {
      interfaceNames: () => names,
      interfaceCount: () => names.length,
      tcp,
    })) {
      flows.push(f);
    }
    flush();
    post({ t: 'end', tcp });
  } catch (err) {
    if (err instanceof Stopped) {
      post({ t: 'stopped' });
      return;
    }
    const { serializeError } = await import('../model/errors.js');
    post({ t: 'error', error: serializeError(err) });
  }
}

port.on('message', (m: PipeToWorker) => {
  if (m.type === 'start') {
    if (!started) {
      started = true;
      void run(m);
    }
    return;
  }
  inbox.push(m);
  const w = wake;
  wake = null;
  w?.();
});
