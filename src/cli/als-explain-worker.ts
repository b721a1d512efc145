/**
 * The worker thread of `collect --config` (als-explainer.ts): loads the config dumps once, then explains the
 * collected entries it is sent, batch by batch, in order, and posts back each entry's `explanation` member as JSON
 * text (analysis/als-sink.ts explanationText: the same replay and wording as explaining on the main thread).
 */
import { parentPort } from 'node:worker_threads';
import type { AlsExplainFromWorker, AlsExplainToWorker } from './als-explainer.js';
import type { AlsLine } from '../readers/accesslog/als.js';
import type { Decider } from '../analysis/explain.js';

const port = parentPort;
if (!port) throw new Error('src/cli/als-explain-worker.ts runs only as a worker thread');

let ready: Promise<Decider> | null = null;

async function load(configs: string[]): Promise<Decider> {
  const [{ loadConfigDumps }, { deciderFor }] = await Promise.all([import('../readers/configdump/index.js'), import('./explain-run.js')]);
  // the main thread has read these files and said what is wrong with them; here they only have to load again
  const { dumps } = await loadConfigDumps(configs);
  if (dumps.length === 0) throw new Error(`no config dump found in ${configs.join(', ')}`);
  return deciderFor(dumps);
}

const post = (m: AlsExplainFromWorker): void => port.postMessage(m);

// Messages are handled one at a time, in order (each waits for the previous one's answer).
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: AlsExplainToWorker) => {
  chain = chain.then(async () => {
    try {
      if (m.t === 'start') {
        ready = load(m.configs);
        await ready;
        return;
      }
      const decide = await ready!;
      const { explanationText } = await import('../analysis/als-sink.js');
      post({ t: 'explained', k: m.k, explanations: m.texts.map((text) => explanationText(JSON.parse(text) as AlsLine, decide)) });
    } catch (err) {
      post({ t: 'error', message: (err as Error).message });
    }
  });
});
