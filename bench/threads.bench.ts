/**
 * Both cores: the CLI run single-threaded (`--threads 1`) and with worker threads (`--threads N`, N =
 * os.availableParallelism()), by wall clock and CPU time, including process start, on
 *
 * - `flows -o ndjson` over several generated captures of ~900-byte packets (the same mix as capture.bench:
 *   mTLS 1.2/1.3, one-way TLS, HTTP/1.1, h2c, RESP), one worker per capture;
 * - `flows -o ndjson` over one large capture (default ~1 GB of the same traffic): `--threads 2` reads it in a
 *   two-thread pipeline (src/cli/capture-pipeline.ts: frames and headers on the main thread, TCP and the
 *   protocol decoders in a worker);
 * - `explain` (table and `-o ndjson`) over one large generated Istio-format log through the authz fixture's
 *   dump (../shared), split into line-aligned byte ranges across the workers.
 *
 * Each figure is the best of 2 runs; outputs of the two modes are compared byte for byte (they must be
 * equal). The machine's load average is printed with each figure: on a shared machine the speedup is
 * bounded by the cores actually free.
 *
 * Env: MESHSLEUTH_BENCH_THREADS_MB (total of the several captures, default 200),
 * MESHSLEUTH_BENCH_THREADS_SINGLE_MB (the one large capture, default 1000), MESHSLEUTH_BENCH_THREADS_LINES (log
 * lines, default 500000), MESHSLEUTH_BENCH_THREADS_ONLY (`captures`, `single` or `explain`: only that part).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCapture, childrenCpuSeconds } from './capture.bench.js';
import { generate } from './accesslog.bench.js';

const MB = 1e6;
const ENTRY = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function load(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

interface Run {
  wall: number;
  cpu: number | null;
  digest: string;
  code: number | null;
}

function runOnce(args: string[]): Run {
  const c0 = childrenCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [ENTRY, ...args], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = childrenCpuSeconds();
  const digest = createHash('sha256').update(r.stdout ?? '').update('\0').update(r.stderr ?? '').digest('hex').slice(0, 16);
  return { wall, cpu: c0 !== null && c1 !== null ? c1 - c0 : null, digest, code: r.status };
}

function best(args: string[]): Run {
  const a = runOnce(args);
  const b = runOnce(args);
  if (a.digest !== b.digest) throw new Error(`two runs of ${args.join(' ')} printed different output`);
  return a.wall <= b.wall ? a : b;
}

function compare(label: string, args: string[], threads: number, units: { n: number; what: string }): void {
  const one = best([...args, '--threads', '1']);
  const many = best([...args, '--threads', String(threads)]);
  const same = one.digest === many.digest && one.code === many.code;
  const cpu = (r: Run) => (r.cpu !== null ? `, CPU ${r.cpu.toFixed(2)} s` : '');
  const rate = (r: Run) => `${Math.round(units.n / r.wall).toLocaleString('en-US')} ${units.what}/s`;
  process.stdout.write(
    `  ${label}\n` +
      `    --threads 1: ${one.wall.toFixed(2)} s wall${cpu(one)}, ${rate(one)}\n` +
      `    --threads ${threads}: ${many.wall.toFixed(2)} s wall${cpu(many)}, ${rate(many)}\n` +
      `    speedup ${(one.wall / many.wall).toFixed(2)}x by wall clock; output ${same ? 'identical' : 'DIFFERENT (a bug)'}; load average ${load()}\n`,
  );
  if (!same) process.exitCode = 1;
}

export default async function (): Promise<void> {
  const threads = Math.max(2, availableParallelism());
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-threads-bench-'));
  process.stdout.write(`${availableParallelism()} core(s) available; multi-threaded runs use --threads ${threads}\n`);
  try {
    const only = process.env.MESHSLEUTH_BENCH_THREADS_ONLY;
    const totalMb = Number(process.env.MESHSLEUTH_BENCH_THREADS_MB ?? 200);
    const singleMb = Number(process.env.MESHSLEUTH_BENCH_THREADS_SINGLE_MB ?? 1000);
    const parts = threads * 2;
    if (!only || only === 'captures') {
      const files: string[] = [];
      let packets = 0;
      for (let i = 0; i < parts; i++) {
        const p = join(dir, `part-${i}.pcap`);
        packets += (await buildCapture(p, (totalMb / parts) * MB)).packets;
        files.push(p);
      }
      const size = files.reduce((s, f) => s + statSync(f).size, 0);
      process.stdout.write(`flows: ${parts} captures, ${(size / MB).toFixed(0)} MB, ${packets.toLocaleString('en-US')} packets (avg ${(size / packets).toFixed(0)} B)\n`);
      compare(`flows -o ndjson over the ${parts} captures (one worker per capture)`, ['flows', ...files, '-o', 'ndjson'], threads, { n: packets, what: 'packets' });
      compare(`flows (table) over the ${parts} captures`, ['flows', ...files], threads, { n: packets, what: 'packets' });
      for (const f of files) rmSync(f);
    }
    if (!only || only === 'single') {
      const single = join(dir, 'single.pcap');
      const built = await buildCapture(single, singleMb * MB);
      spawnSync('cat', [single], { stdio: 'ignore' }); // page cache
      const mb = (statSync(single).size / MB).toFixed(0);
      process.stdout.write(`flows: one capture, ${mb} MB, ${built.packets.toLocaleString('en-US')} packets\n`);
      compare(`flows -o ndjson over one ${mb} MB capture (--threads 2+: the two-thread pipeline)`, ['flows', single, '-o', 'ndjson'], threads, { n: built.packets, what: 'packets' });
      rmSync(single);
    }
    if (only && only !== 'explain') return;

    const dump = fileURLToPath(new URL('../../../shared/fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml', import.meta.url));
    if (!existsSync(dump)) {
      process.stdout.write('explain: skipped (needs ../shared/fixtures for a real Istio dump)\n');
      return;
    }
    const lines = Number(process.env.MESHSLEUTH_BENCH_THREADS_LINES ?? 500_000);
    const log = join(dir, 'istio-proxy.log');
    await generate(log, lines);
    process.stdout.write(`explain: one Istio-format log, ${lines.toLocaleString('en-US')} lines, ${(statSync(log).size / MB).toFixed(0)} MB, through the authz fixture's dump\n`);
    compare('explain (table): read + replay + aggregate', ['explain', dump, log], threads, { n: lines, what: 'lines' });
    compare('explain -o ndjson: read + replay + one JSON line per record', ['explain', dump, log, '-o', 'ndjson'], threads, { n: lines, what: 'lines' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
