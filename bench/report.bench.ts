/**
 * `report` at fleet scale: peak RSS and wall time of the built CLI (a fresh process each run, as a
 * user runs it) over generated evidence — the dumps, inventory and access logs of five Istio proxies
 * (samples/bookinfo-authz replayed, src/synth/fleet.ts) plus a capture of ~900-byte packets
 * (bench/capture.bench.ts buildCapture) — at 10k, 100k and 1M log lines, beside `explain` on the same
 * logs and `flows` on the same capture run alone.
 *
 * Targets (issue 17): at 1M lines peak RSS ≤ 1 GB and ≤ 1.2× the 100k peak; wall ≤ 2× (explain + flows).
 *
 * Env: MESHSLEUTH_BENCH_REPORT_LINES (comma list, default 10000,100000,1000000),
 *      MESHSLEUTH_BENCH_REPORT_CAPTURE_MB (default 100).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFleetEvidence } from '../src/synth/fleet.js';
import { buildCapture } from './capture.bench.js';
import { describeRun, haveTime, timedCli, type TimedRun } from './timed.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sample = join(root, 'samples/bookinfo-authz');

type Run = TimedRun;
const run = (args: string[]): Run => timedCli(args);
const fmt = (r: Run): string => describeRun(r, { ok: [0, 1], lines: 3 });

export default async function (): Promise<void> {
  if (!haveTime()) {
    process.stdout.write('report: /usr/bin/time not available (Debian: apt-get install time), skipped\n');
    return;
  }
  const sizes = (process.env.MESHSLEUTH_BENCH_REPORT_LINES ?? '10000,100000,1000000').split(',').map(Number);
  const captureMb = Number(process.env.MESHSLEUTH_BENCH_REPORT_CAPTURE_MB ?? 100);
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-bench-'));
  try {
    const cap = join(dir, 'capture', 'node.pcap');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'capture'), { recursive: true });
    const built = await buildCapture(cap, captureMb * 1e6);
    const capBytes = statSync(cap).size;
    process.stdout.write(`capture: ${(capBytes / 1e6).toFixed(0)} MB, ${built.packets} packets (avg ${(capBytes / built.packets).toFixed(0)} B), ${built.conns} connections\n`);
    const flows = run(['flows', cap, '-o', 'ndjson']);
    process.stdout.write(`  flows alone: ${fmt(flows)}\n`);
    const rows: { lines: number; report: Run; reportLogs: Run; explain: Run }[] = [];
    for (const n of sizes) {
      const ev = join(dir, `ev-${n}`);
      const res = await writeFleetEvidence(ev, { lines: n, sample });
      const logBytes = readdirSync(join(ev, 'logs')).reduce((s, f) => s + statSync(join(ev, 'logs', f)).size, 0);
      const explain = run(['explain', join(ev, 'config_dumps'), join(ev, 'logs'), '-o', 'ndjson']);
      const reportLogs = run(['report', ev, '--out', join(dir, `logs-${n}.json`)]);
      const report = run(['report', ev, cap, '--out', join(dir, `report-${n}.json`)]);
      const outMb = statSync(join(dir, `report-${n}.json`), { throwIfNoEntry: false })?.size ?? 0;
      rows.push({ lines: n, report, reportLogs, explain });
      process.stdout.write(
        `${res.lines.toLocaleString('en-US')} log lines (${(logBytes / 1e6).toFixed(0)} MB, 5 proxies) + 4 dumps + inventory:\n` +
          `  explain alone: ${fmt(explain)} (${Math.round(res.lines / explain.wallS).toLocaleString('en-US')} lines/s incl. start-up)\n` +
          `  report (logs, dumps, inventory): ${fmt(reportLogs)}\n` +
          `  report (+ capture): ${fmt(report)}; JSON ${(outMb / 1e6).toFixed(1)} MB; wall / (explain + flows) = ${(report.wallS / (explain.wallS + flows.wallS)).toFixed(2)} (target ≤ 2)\n`,
      );
      rmSync(ev, { recursive: true, force: true });
    }
    const big = rows.find((r) => r.lines === 1_000_000);
    const mid = rows.find((r) => r.lines === 100_000);
    if (big && mid) process.stdout.write(`  1M peak / 100k peak = ${(big.report.rssMb / mid.report.rssMb).toFixed(2)} (target ≤ 1.2); 1M peak ${big.report.rssMb.toFixed(0)} MB (target ≤ 1024)\n`);
    // The curve: how peak RSS and CPU time grow with the number of records (logs only, and with the capture).
    process.stdout.write(`  curve (lines: report logs-only peak MB / CPU s; with capture peak MB / CPU s):\n`);
    for (const r of rows) process.stdout.write(`    ${r.lines.toLocaleString('en-US')}: ${r.reportLogs.rssMb.toFixed(0)} MB / ${r.reportLogs.cpuS.toFixed(1)} s; ${r.report.rssMb.toFixed(0)} MB / ${r.report.cpuS.toFixed(1)} s\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
