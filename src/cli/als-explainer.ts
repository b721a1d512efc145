/**
 * `collect --config` on two cores: the entries' explanations are computed on a worker thread
 * (als-explain-worker.ts), so the main thread goes on receiving, decoding and writing while the replay runs on the
 * other core. Batches are answered in the order they were sent; the EntrySink (analysis/als-sink.ts) bounds how
 * many are in flight and pauses the gRPC streams when entries pile up. If the worker thread fails, what it had not
 * answered, and everything after, is explained on the main thread (nothing is lost, only slower).
 */
import { Worker } from 'node:worker_threads';
import { explanationText, type Explainer, type ToExplain } from '../analysis/als-sink.js';
import type { Decider } from '../analysis/explain.js';
import { workerUrl } from './parallel.js';

/** Main → worker. */
export type AlsExplainToWorker = { t: 'start'; configs: string[] } | { t: 'batch'; k: number; texts: string[] };

/** Worker → main: one batch's explanations (JSON text, in entry order), or a failure. */
export type AlsExplainFromWorker = { t: 'explained'; k: number; explanations: string[] } | { t: 'error'; message: string };

export class WorkerExplainer implements Explainer {
  private worker: Worker | null;
  private next = 0;
  private readonly waiting = new Map<number, { batch: ToExplain[]; resolve: (explanations: string[]) => void }>();

  /**
   * `configs`: the config dump files (the worker loads them again); `fallback`: the same config loaded here, used
   * if the worker fails; `onFailure` is told why.
   */
  constructor(
    configs: string[],
    private readonly fallback: Decider,
    private readonly onFailure: (message: string) => void = () => undefined,
  ) {
    const w = new Worker(workerUrl('als-explain-worker.js'));
    this.worker = w;
    w.on('message', (m: AlsExplainFromWorker) => {
      if (m.t === 'error') return this.failed(m.message);
      const x = this.waiting.get(m.k);
      if (!x) return;
      this.waiting.delete(m.k);
      this.refWhileBusy();
      x.resolve(m.explanations);
    });
    w.on('error', (err: Error) => this.failed(err.message));
    w.on('exit', (code) => {
      if (this.worker) this.failed(`exited with code ${code}`);
    });
    w.postMessage({ t: 'start', configs } satisfies AlsExplainToWorker);
    this.refWhileBusy();
  }

  explain(batch: ToExplain[]): Promise<string[]> {
    if (!this.worker) return Promise.resolve(batch.map((b) => explanationText(b.line, this.fallback)));
    const k = this.next++;
    const answer = new Promise<string[]>((resolve) => this.waiting.set(k, { batch, resolve }));
    this.worker.postMessage({ t: 'batch', k, texts: batch.map((b) => b.text) } satisfies AlsExplainToWorker);
    this.refWhileBusy();
    return answer;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  /** The worker keeps the process alive only while it holds batches (an idle one must not block the exit). */
  private refWhileBusy(): void {
    if (!this.worker) return;
    if (this.waiting.size) this.worker.ref();
    else this.worker.unref();
  }

  private failed(message: string): void {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    this.onFailure(message);
    void w.terminate();
    // what the worker had not answered, in order, here
    for (const [k, x] of [...this.waiting].sort((a, b) => a[0] - b[0])) {
      this.waiting.delete(k);
      x.resolve(x.batch.map((b) => explanationText(b.line, this.fallback)));
    }
  }
}
