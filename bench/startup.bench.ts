/**
 * Start-up time relative to Node itself (issue 18 item 1): `--version`, `--help`, a completion request and the
 * completion script should start within 1.5× of a bare `node -e 0`, measured here on the same machine, runs
 * interleaved (so load from other processes hits both alike), as the median of several runs. A timing target,
 * so it lives in the bench, not in the test suite (test/cli/startup.test.ts pins what start-up loads).
 * Last, a whole command on a small input (`flows` on the bundled sample capture: yargs, the command's own
 * modules and the work), for which there is no target: it shows what a command's start-up costs.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI } from './timed.js';

const RUNS = 11;
const SAMPLE_CAPTURE = fileURLToPath(new URL('../../samples/details-path/captures/details-v1-5f4d584748-vn4cx.default.pcap', import.meta.url));
const TARGET = 1.5;

function timed(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default async function bench(): Promise<void> {
  for (const [name, args, target] of [
    ['--version', ['--version'], TARGET],
    ['--help', ['--help'], TARGET],
    ['a completion request (flows --fail-on values)', ['__complete', 'flows', '--fail-on', ''], TARGET],
    ['the completion script', ['completion', 'bash'], TARGET],
    ['a command (flows on the bundled sample capture, -o ndjson)', ['flows', SAMPLE_CAPTURE, '-o', 'ndjson'], null],
  ] as const) {
    timed(['-e', '0']);
    timed([CLI, ...args]); // warm the file cache
    const node: number[] = [];
    const cli: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      node.push(timed(['-e', '0']));
      cli.push(timed([CLI, ...args]));
    }
    const n = median(node);
    const c = median(cli);
    const ratio = c / n;
    const verdict = target === null ? 'no target' : `target ≤ ${target}×: ${ratio <= target ? 'met' : 'NOT met'}`;
    process.stdout.write(`startup ${name}: ${c.toFixed(1)} ms vs node -e 0 ${n.toFixed(1)} ms = ${ratio.toFixed(2)}× (median of ${RUNS} interleaved runs; ${verdict})\n`);
  }
}
