/**
 * The worker thread of src/cli/parallel.ts: runs one task at a time (a capture file for `flows`, a byte
 * range of an access log for `explain`, an access log read into sorted runs for `report`) and posts its
 * events back in order, at most `window` ahead of what the main thread has consumed. Errors are events (the main thread words them exactly as the
 * single-threaded path does); a bug in a task is posted as an internal error.
 */
import type { KeyLog } from '../protocols/tls/keylog.js';
import { parentPort } from 'node:worker_threads';
import type { FromWorker, TaskMessage, ToWorker } from './parallel.js';
import type { Flow } from '../model/records.js';
import type { LogTaskSpec } from '../analysis/log-runs.js';

const port = parentPort;
if (!port) throw new Error('src/cli/worker.ts runs only as a worker thread');

interface TaskState {
  credit: number;
  wakeCredit: (() => void) | null;
  signal: { value: unknown } | null;
  wakeSignal: (() => void) | null;
}
const tasks = new Map<number, TaskState>();

/** What a task sees of the pool. */
export interface TaskContext {
  /** Posts a message, waiting first for credit (the main thread consuming earlier ones). */
  send(msg: TaskMessage): Promise<void>;
  /**
   * Posts a message that needs no credit (progress): the main thread keeps only the latest of a run of
   * them while it has not consumed it (parallel.ts TaskStream), so they cannot fill its memory, and the
   * task never waits for them (a task whose turn has not come keeps reading up to its window).
   */
  post(msg: TaskMessage): void;
  /** Waits for the main thread's signal for this task (sent once). */
  signal(): Promise<unknown>;
}

function context(id: number, st: TaskState): TaskContext {
  return {
    async send(msg) {
      while (st.credit <= 0) await new Promise<void>((r) => (st.wakeCredit = r));
      st.credit--;
      port!.postMessage({ id, msg } satisfies FromWorker);
    },
    post(msg) {
      port!.postMessage({ id, msg, free: true } satisfies FromWorker);
    },
    async signal() {
      while (!st.signal) await new Promise<void>((r) => (st.wakeSignal = r));
      return st.signal.value;
    },
  };
}

/** Key logs read once per worker (every capture task of a run names the same files). */
let keyLogCache: { paths: string; keys: KeyLog } | null = null;

async function keyLogOf(paths: readonly string[] | undefined): Promise<KeyLog | undefined> {
  if (!paths?.length) return undefined;
  const id = paths.join('\0');
  if (keyLogCache?.paths !== id) {
    const { readKeyLogs } = await import('../readers/keylog.js');
    keyLogCache = { paths: id, keys: (await readKeyLogs(paths)).keys };
  }
  return keyLogCache.keys;
}

/**
 * A capture's events; with `sha256` the file is hashed as it is read (its bytes go through the hash on
 * this thread, and what the reader left unread after damage is hashed after), then `{ t: 'sha256' }`
 * follows the last event: `report` then need not read the file a second time on the main thread.
 */
async function runFlows(path: string, ctx: TaskContext, keylog?: string[], sha256 = false): Promise<void> {
  const [{ captureEvents }, { FileHash }] = await Promise.all([import('../analysis/capture-events.js'), import('../analysis/file-hash.js')]);
  const keys = await keyLogOf(keylog);
  const hash = sha256 ? new FileHash(path) : null;
  let flows: Flow[] = [];
  let lastProgress = 0;
  const flush = async (): Promise<void> => {
    if (!flows.length) return;
    const batch = flows;
    flows = [];
    await ctx.send({ t: 'flows', flows: batch } as TaskMessage);
  };
  for await (const ev of captureEvents(path, keys, hash ? (b) => hash.update(b) : undefined)) {
    if (ev.t === 'flows') {
      for (const f of ev.flows) flows.push(f);
      if (flows.length >= 256) await flush();
      continue;
    }
    await flush();
    if (ev.t === 'progress') {
      const now = Date.now();
      if (now - lastProgress < 50) continue;
      lastProgress = now;
      ctx.post(ev);
      continue;
    }
    await ctx.send(ev);
  }
  await flush();
  if (hash) await ctx.send({ t: 'sha256', sha256: await hash.digest().catch(() => null) } as TaskMessage);
}

/**
 * `report`'s access log (log-runs.ts): read into sorted runs in the spill's directory; progress goes without
 * credit (at most every 50 ms), then the result (counts, diagnostics, runs, sha256).
 */
async function runReportLog(spec: unknown, ctx: TaskContext): Promise<void> {
  const { readLogToRuns } = await import('../analysis/log-runs.js');
  let last = 0;
  const result = await readLogToRuns(spec as LogTaskSpec, (bytes, records) => {
    const now = Date.now();
    if (now - last < 50) return;
    last = now;
    ctx.post({ t: 'progress', bytes, records } as TaskMessage);
  });
  await ctx.send({ t: 'log', result } as TaskMessage);
}

async function run(m: Extract<ToWorker, { type: 'task' }>): Promise<void> {
  const st: TaskState = { credit: m.window, wakeCredit: null, signal: null, wakeSignal: null };
  tasks.set(m.id, st);
  const ctx = context(m.id, st);
  try {
    if (m.spec.kind === 'flows-capture') await runFlows(m.spec.path, ctx, m.spec.keylog, m.spec.sha256);
    else if (m.spec.kind === 'report-log') await runReportLog(m.spec.log, ctx);
    else {
      const { runExplainChunk } = await import('./explain-run.js');
      await runExplainChunk(m.spec.chunk, m.spec.setup, ctx);
    }
  } catch (err) {
    const { serializeError } = await import('../model/errors.js');
    port!.postMessage({ id: m.id, msg: { t: 'error', error: serializeError(err) } as TaskMessage } satisfies FromWorker);
  }
  tasks.delete(m.id);
  port!.postMessage({ id: m.id, msg: { t: 'done' } } satisfies FromWorker);
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'task') {
    void run(m);
    return;
  }
  const st = tasks.get(m.id);
  if (!st) return;
  if (m.type === 'credit') {
    st.credit += m.n;
    const w = st.wakeCredit;
    st.wakeCredit = null;
    w?.();
  } else {
    st.signal = { value: m.value };
    const w = st.wakeSignal;
    st.wakeSignal = null;
    w?.();
  }
});
