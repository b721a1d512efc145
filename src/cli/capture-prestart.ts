/**
 * `flows` on one large capture runs in two threads (capture-pipeline.ts), and the worker's start (a Node
 * thread, then the TCP and protocol modules: ~0.2 s) used to begin only once the command had loaded yargs,
 * parsed its options and opened the capture. main.ts calls prestartCaptureWorker first thing when the
 * command line looks like one (a capture file of pipelineMinBytes() or more, no `--threads 1`), so the
 * worker starts while the main thread loads the command; the pipeline takes it (takeCaptureWorker) or
 * starts one of its own. A worker not taken is unreferenced: it never keeps the process alive, and exits
 * with it. A wrong guess costs that start on the other core, nothing else: the command decides as before.
 */
import { Worker } from 'node:worker_threads';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Under `auto`, `flows` pipelines a capture at least this large (cli/parallel.ts pipelineMinBytes is this
 * function). On two cores the worker, the main thread, the garbage collector's and the file reads' threads
 * share two cores, and the pipeline costs ~30% more CPU in all (packing segments, cloning flows back, the
 * worker's own module loading and heap): measured on the idle 2-core bench machine (plain generated capture,
 * `-o ndjson`, hyperfine, 8 runs), one thread vs the pipeline: 60 MB 0.82 s vs 1.02 s, 200 MB 1.68 vs 1.85,
 * 300 MB 1.92 vs 2.35, 400 MB 2.29 vs 2.30, 1 GB 3.97 vs 3.61 (3 runs). So on two cores only a capture of
 * 512 MiB or more is pipelined. With more cores the threshold stays the worker's start-up (32 MiB: below it the
 * ~0.1-0.2 s of module loading is more than it saves); that was not measured on such a machine.
 */
export function pipelineMinBytes(cores: number = availableParallelism()): number {
  return cores <= 2 ? 512 * 1024 * 1024 : 32 * 1024 * 1024;
}

let held: { worker: Worker; failed: boolean } | null = null;

/** The `--threads` value on the command line, else MESHSLEUTH_THREADS (the last one wins, as in the shell). */
function threadsWord(words: readonly string[]): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--threads') v = words[i + 1];
    else if (w.startsWith('--threads=')) v = w.slice('--threads='.length);
  }
  return v ?? process.env.MESHSLEUTH_THREADS;
}

/** Whether `flows <words…>` will probably read one capture in the pipeline (a guess: the command decides). */
export function looksPipelined(words: readonly string[]): boolean {
  if (words.includes('--help') || words.includes('-h')) return false;
  const t = threadsWord(words)?.trim();
  const explicit = t !== undefined && /^\d+$/.test(t) && Number(t) >= 2;
  if (t !== undefined && t !== '' && t !== 'auto' && t !== '0' && !explicit) return false;
  if (!explicit && availableParallelism() < 2) return false;
  for (const w of words) {
    if (w.startsWith('-')) continue;
    try {
      const st = statSync(w, { throwIfNoEntry: false });
      if (st?.isFile() && st.size >= pipelineMinBytes()) return true;
    } catch {
      // not a file we can see: the command will say so
    }
  }
  return false;
}

/** Starts the capture worker now (see the module comment); `url` is its entry (parallel.ts workerUrl). */
export function prestartCaptureWorker(url: URL): void {
  if (held) return;
  try {
    const worker = new Worker(url);
    const h = { worker, failed: false };
    worker.unref();
    worker.on('error', () => (h.failed = true));
    worker.on('exit', () => (h.failed = true));
    held = h;
  } catch {
    held = null;
  }
}

/** The prestarted worker (referenced again, its listeners removed), or null: start one. */
export function takeCaptureWorker(): Worker | null {
  const h = held;
  held = null;
  if (!h) return null;
  h.worker.removeAllListeners('error');
  h.worker.removeAllListeners('exit');
  if (h.failed) {
    void h.worker.terminate();
    return null;
  }
  h.worker.ref();
  return h.worker;
}
