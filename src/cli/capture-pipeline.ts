/**
 * One large capture on two cores: the main thread reads the file, frames its records (pcap/pcapng) and
 * decodes link, tunnel, IP and TCP headers (readers/capture readTcpSegments); a worker thread
 * (capture-worker.ts) takes the segments in capture order, in transferred batches, and tracks TCP
 * connections, reassembles them, runs the protocol decoders and builds the flows, which come back here.
 *
 * The worker runs the very TCP table the single-threaded path runs (analysis/flows.ts flowsFromSegments)
 * on the same segments in the same order, so connection numbering, idle and over-cap eviction and the
 * order in which flows complete are the same; the events this yields are those of captureEvents
 * (analysis/capture-events.ts): diagnostics raised while reading a batch come before the flows that batch
 * completed, an error stops the file after the flows of the batches read before it, and the end summary
 * joins the reader's counts (main thread) with the table's (worker). test/cli/capture-pipeline.test.ts
 * compares the two paths.
 *
 * Flow control: at most `window` batches are in the worker's hands; each batch it finishes (its flows
 * message) returns one, and its buffer (transferred back: the next batches are packed into it).
 */
import { Worker } from 'node:worker_threads';
import { captureFileSummary, serializeError, type CaptureEvent, type SerializedError } from '../analysis/capture-events.js';
import { captureFile, newCaptureStats, readTcpSegments } from '../readers/capture/index.js';
import { SegmentPacker, type PackedSegments } from '../readers/capture/segment-codec.js';
import type { Diagnostic } from '../model/errors.js';
import type { Flow } from '../model/records.js';
import { workerUrl } from './parallel.js';
import { takeCaptureWorker } from './capture-prestart.js';

/** Main → capture worker. `k` numbers the batches from 0; `end`'s k is one past the last. */
export type PipeToWorker =
  | { type: 'start'; name: string; keylog?: string[] }
  | { type: 'batch'; k: number; packed: PackedSegments; names?: (string | undefined)[] }
  | { type: 'end'; k: number }
  | { type: 'stop' };

/** Capture worker → main. */
export type PipeFromWorker =
  | { t: 'flows'; k: number; flows: Flow[]; buf?: ArrayBuffer }
  | { t: 'end'; tcp: { evictedIdle: number; evictedOverCap: number } }
  | { t: 'stopped' }
  | { t: 'error'; error: SerializedError };

/** Batches in flight to the worker (each ≤ 512 frames: a few MB in all). */
const WINDOW = 32;

/**
 * The events of one capture (a path, or `-`), as captureEvents gives them, with the TCP half in a worker.
 * `keylog` names the key log files the worker reads (the caller has read and checked them already).
 */
export async function* pipelinedCaptureEvents(path: string, keylog?: readonly string[], window = WINDOW): AsyncGenerator<CaptureEvent> {
  const stats = newCaptureStats(path);
  const worker = takeCaptureWorker() ?? new Worker(workerUrl('capture-worker.js'));
  const inbox: PipeFromWorker[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on('message', (m: PipeFromWorker) => {
    inbox.push(m);
    notify();
  });
  worker.on('error', (err: Error) => {
    failure = new Error(`capture worker thread: ${err.message}`);
    failure.stack = err.stack;
    notify();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`capture worker thread exited with code ${code}`);
    notify();
  });
  const receive = async (): Promise<PipeFromWorker> => {
    for (;;) {
      const m = inbox.shift();
      if (m) return m;
      if (failure) throw failure;
      await new Promise<void>((r) => (wake = r));
    }
  };
  worker.postMessage({ type: 'start', name: path, ...(keylog?.length ? { keylog: [...keylog] } : {}) } satisfies PipeToWorker);

  /** Diagnostics with the batch being read when they were raised. */
  const diags: { k: number; d: Diagnostic }[] = [];
  let sent = 0;
  let finished = 0;
  /** The events for one `flows` message: diagnostics raised up to its batch, then its flows. */
  function* flowsEvents(m: Extract<PipeFromWorker, { t: 'flows' }>): Generator<CaptureEvent> {
    finished++;
    if (m.buf) packer.recycle(m.buf);
    let i = 0;
    while (i < diags.length && diags[i]!.k <= m.k) yield { t: 'diag', d: diags[i++]!.d };
    if (i) diags.splice(0, i);
    if (m.flows.length) yield { t: 'flows', flows: m.flows };
  }
  const rest = function* (): Generator<CaptureEvent> {
    for (const x of diags.splice(0)) yield { t: 'diag', d: x.d };
  };
  let workerDone = false;
  const packer = new SegmentPacker();
  try {
    let namesSent = 0;
    let readError: unknown = null;
    let fileBytes = 0;
    try {
      for await (const segs of readTcpSegments(captureFile(path, (n) => (fileBytes = n)), { onDiagnostic: (d) => diags.push({ k: sent, d }) }, stats)) {
        const ifs = stats.reader.interfaces;
        const names = ifs.length !== namesSent ? ifs.map((x) => x.name) : undefined;
        namesSent = ifs.length;
        const packed = packer.pack(segs);
        worker.postMessage({ type: 'batch', k: sent++, packed, ...(names ? { names } : {}) } satisfies PipeToWorker, [packed.buf]);
        yield { t: 'progress', bytes: stats.reader.bytes, frames: stats.reader.frames, ...(fileBytes > 0 ? { fileBytes } : {}) };
        // what the worker has finished, without waiting; then wait while the window is full
        while (inbox.length || sent - finished >= window) {
          const m = await receive();
          if (m.t === 'flows') yield* flowsEvents(m);
          else if (m.t === 'error') {
            workerDone = true;
            yield* rest();
            yield { t: 'error', error: m.error };
            return;
          }
        }
      }
    } catch (err) {
      readError = err;
    }
    worker.postMessage((readError === null ? { type: 'end', k: sent } : { type: 'stop' }) satisfies PipeToWorker);
    for (;;) {
      const m = await receive();
      if (m.t === 'flows') {
        yield* flowsEvents(m);
        continue;
      }
      workerDone = true;
      yield* rest();
      if (m.t === 'error') yield { t: 'error', error: m.error };
      else if (m.t === 'stopped') yield { t: 'error', error: serializeError(readError) };
      else {
        stats.tcp.evictedIdle = m.tcp.evictedIdle;
        stats.tcp.evictedOverCap = m.tcp.evictedOverCap;
        yield { t: 'end', summary: captureFileSummary(path, stats) };
      }
      return;
    }
  } finally {
    worker.removeAllListeners('exit');
    if (!workerDone) worker.postMessage({ type: 'stop' } satisfies PipeToWorker);
    await worker.terminate();
  }
}
