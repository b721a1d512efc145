/**
 * Both cores: tasks (a capture file, a byte range of an access log, an access log of `report`) run in worker threads, and their
 * results are consumed on the main thread strictly in task order, so a command's output is the same as a
 * single-threaded run's (test/cli/threads.test.ts compares them byte for byte).
 *
 * - `--threads N` / MESHSLEUTH_THREADS=N: N = 1 is the single-threaded path (no worker); N > 1 uses up to N
 *   workers whatever the input size; unset (`auto`) uses os.availableParallelism() workers only when there
 *   is more than one task and the inputs are large enough to pay for the workers' start-up.
 * - Workers are loaded from the built `dist/src/cli/worker.js` next to this module (the installed CLI and
 *   the tests both run from dist/; a source-mode import maps to dist/ too).
 * - Flow control: a worker may have at most `window` unconsumed messages per task (credits returned as the
 *   main thread consumes), so a task whose turn has not come cannot fill memory while an earlier one is
 *   being written out.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from './common.js';
import { pipelineMinBytes } from './capture-prestart.js';

/** What a task asks a worker to do (see worker.ts). */
export type TaskSpec =
  /** `sha256`: hash the file as it is read and post `{ t: 'sha256', sha256: string | null }` after the last event (report's manifest). */
  | { kind: 'flows-capture'; path: string; keylog?: string[]; sha256?: boolean }
  | { kind: 'explain-chunk'; chunk: unknown; setup: unknown }
  /** `report`'s access log: parsed, window-filtered, compacted and written as sorted runs (log-runs.ts LogTaskSpec). */
  | { kind: 'report-log'; log: unknown };

/** A message a worker sends for a task: its `t` says what it is; the pool only looks at `t === 'done'`. */
export interface TaskMessage {
  t: string;
}

/** Main → worker. */
export type ToWorker =
  | { type: 'task'; id: number; spec: TaskSpec; window: number }
  | { type: 'credit'; id: number; n: number }
  | { type: 'signal'; id: number; value: unknown };

/** Worker → main. `done` ends a task (after its last message). */
export interface FromWorker {
  id: number;
  msg: TaskMessage;
  /** Sent without credit (progress): while unconsumed, a later one of the same `t` right after it replaces it. */
  free?: true;
}

/** Inputs smaller than this in total run in-thread under `auto` (workers cost ~50-100 ms to start). */
export const AUTO_MIN_BYTES = 16 * 1024 * 1024;

export type ThreadSetting = number | 'auto';

/** `--threads` (wins) or MESHSLEUTH_THREADS; a whole number ≥ 1, or `auto`/unset. */
export function threadSetting(flag: unknown, env: string | undefined = process.env.MESHSLEUTH_THREADS): ThreadSetting {
  const from = (v: unknown, name: string): ThreadSetting | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (v === 'auto' || v === 0 || v === '0') return 'auto';
    const n = typeof v === 'number' ? v : /^\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : NaN;
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name}: expected a number of threads (1 = single-threaded) or auto, found '${String(v)}'`);
    return n;
  };
  return from(flag, '--threads') ?? from(env, 'MESHSLEUTH_THREADS') ?? 'auto';
}

/**
 * `flows` reads capture files smaller than this on average in-thread under `auto`: measured on an idle 2-core
 * machine (`npm run bench -- threads`), four captures of ~50 MB took 1/0.86 of the single thread's wall clock
 * with a worker each (a worker's start-up and copying each flow back cost more than the second core gave),
 * four of ~200 MB 1/1.18. (`report` keeps the total-size rule: there the workers read captures while the main
 * thread reads logs and dumps, a case not measured.)
 */
export const AUTO_MIN_CAPTURE_BYTES = 128 * 1024 * 1024;

/**
 * How many workers to use for `tasks` tasks of `bytes` total (0 = run in-thread); under `auto`, only when the
 * tasks average at least `minTaskBytes` (AUTO_MIN_CAPTURE_BYTES for capture files).
 */
export function workerCount(setting: ThreadSetting, tasks: number, bytes: number, minTaskBytes = 0): number {
  if (tasks < 1) return 0;
  if (setting === 'auto') {
    if (tasks < 2 || bytes < AUTO_MIN_BYTES || bytes / tasks < minTaskBytes) return 0;
    return Math.min(availableParallelism(), tasks) >= 2 ? Math.min(availableParallelism(), tasks) : 0;
  }
  if (setting <= 1) return 0;
  return Math.min(setting, tasks);
}

/**
 * Under `auto`, `report` reads a single capture at least this large in a worker (on two cores or more): below
 * it the worker's start-up (~0.1-0.2 s of module loading) is more than it saves.
 */
export const REPORT_CAPTURE_WORKER_MIN_BYTES = 32 * 1024 * 1024;

/**
 * How many workers `report` reads its captures with: as `workerCount`, and under `auto` also one capture
 * alone when it is at least REPORT_CAPTURE_WORKER_MIN_BYTES (on two cores or more): the worker reads it while this thread
 * reads the logs and dumps (report reads captures last, so on one thread they add their whole read to the
 * wall clock). Measured on 100k log lines + a 1 GB capture: see the commit that added it.
 */
export function reportCaptureWorkers(setting: ThreadSetting, tasks: number, bytes: number): number {
  if (setting === 'auto' && tasks === 1 && bytes >= REPORT_CAPTURE_WORKER_MIN_BYTES && availableParallelism() >= 2) return 1;
  return workerCount(setting, tasks, bytes);
}

/** `flows` pipelines a single capture at least this large under `--threads auto` (capture-prestart.ts: by core count). */
export { pipelineMinBytes };

/** Whether one capture of `bytes` (null: unknown, e.g. stdin) is read in a pipeline under `setting`. */
export function pipelineCapture(setting: ThreadSetting, bytes: number | null): boolean {
  if (setting === 'auto') return bytes !== null && availableParallelism() >= 2 && bytes >= pipelineMinBytes();
  return setting >= 2;
}

/** A worker entry (worker.js, capture-worker.js) in dist/ (also when this module runs from src/ under a test runner). */
export function workerUrl(file = 'worker.js'): URL {
  const here = new URL(`./${file}`, import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(here))) return here;
  // running from src/*.ts: the built worker is under dist/src/cli/
  return new URL(`../../dist/src/cli/${file}`, import.meta.url);
}

/** One task's messages, in order, as the main thread consumes them. */
export class TaskStream implements AsyncIterable<TaskMessage> {
  private readonly queue: { m: TaskMessage; free: boolean }[] = [];
  private waiting: { resolve: () => void } | null = null;
  private ended = false;
  private failure: Error | null = null;
  private consumed = 0;
  worker: Worker | null = null;

  constructor(readonly id: number) {}

  /** A message of the task; `free` ones (sent without credit) replace an unconsumed free one of the same kind just before them. */
  push(m: TaskMessage, free = false): void {
    const last = this.queue[this.queue.length - 1];
    if (m.t === 'done') this.ended = true;
    else if (free && last?.free && last.m.t === m.t) last.m = m;
    else this.queue.push({ m, free });
    this.wake();
  }

  fail(err: Error): void {
    this.failure = err;
    this.ended = true;
    this.wake();
  }

  /** Signals the worker running this task (e.g. explain's first line number). */
  signal(value: unknown): void {
    this.worker?.postMessage({ type: 'signal', id: this.id, value } satisfies ToWorker);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TaskMessage> {
    for (;;) {
      while (this.queue.length) {
        const { m, free } = this.queue.shift()!;
        // return credit in small batches
        if (!free && ++this.consumed % 8 === 0) this.worker?.postMessage({ type: 'credit', id: this.id, n: 8 } satisfies ToWorker);
        yield m;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.waiting = { resolve }));
    }
  }
}

/**
 * Runs `specs` on `threads` workers (each worker takes the next task when it finishes one, in task
 * order) and returns one stream per task. `window` bounds the unconsumed messages per task.
 * `close()` ends the workers.
 */
export function runTasks(
  specs: TaskSpec[],
  threads: number,
  window = 64,
  /** Sees every message when it arrives (before its turn), e.g. to signal a later task or draw progress. */
  onArrival?: (id: number, msg: TaskMessage) => void,
  /** The workers' V8 heap limits (Node's Worker resourceLimits), e.g. a cap on the old generation. */
  resourceLimits?: ResourceLimits,
): { streams: TaskStream[]; close: () => Promise<void> } {
  const streams = specs.map((_, i) => new TaskStream(i));
  let next = 0;
  const workers: Worker[] = [];
  const url = workerUrl();
  const startNext = (w: Worker): void => {
    if (next >= specs.length) return;
    const id = next++;
    streams[id]!.worker = w;
    w.postMessage({ type: 'task', id, spec: specs[id]!, window } satisfies ToWorker);
    current.set(w, id);
  };
  const current = new Map<Worker, number>();
  for (let k = 0; k < Math.min(threads, specs.length); k++) {
    const w = new Worker(url, resourceLimits ? { resourceLimits } : {});
    workers.push(w);
    w.on('message', (m: FromWorker) => {
      const s = streams[m.id];
      if (!s) return;
      onArrival?.(m.id, m.msg);
      s.push(m.msg, m.free === true);
      if (m.msg.t === 'done') startNext(w);
    });
    w.on('error', (err: Error) => {
      const id = current.get(w);
      const e = new Error(`worker thread: ${err.message}`);
      e.stack = err.stack;
      if (id !== undefined) streams[id]!.fail(e);
      // tasks not started yet fail too rather than hang
      for (let i = next; i < streams.length; i++) streams[i]!.fail(e);
      next = specs.length;
    });
    w.on('exit', (code) => {
      const id = current.get(w);
      if (code !== 0 && id !== undefined) streams[id]!.fail(new Error(`worker thread exited with code ${code}`));
    });
    startNext(w);
  }
  return {
    streams,
    close: async () => {
      for (const w of workers) w.removeAllListeners('exit');
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** The `--threads` option of the commands that read inputs in parallel. */
export function threadsOption<T>(y: import('yargs').Argv<T>, note?: string) {
  return y.option('threads', note ? { ...threadsOption.spec, describe: `${threadsOption.spec.describe}; ${note}` } : threadsOption.spec);
}

/** What `flows --help` adds to --threads. */
export const PIPELINE_HELP = 'a single capture of 32 MB or more (any size with --threads 2 or more) is read in a two-thread pipeline: frames and headers on one thread, TCP reassembly and protocol decoding on the other';
threadsOption.spec = {
  type: 'string',
  describe: 'worker threads reading the inputs in parallel: a number (1 = single-threaded) or auto (default: MESHSLEUTH_THREADS, else auto = every core when the inputs are large); the output is the same either way',
} as const;
