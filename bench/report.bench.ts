/**
 * `report` at fleet scale: peak RSS, CPU time (user + sys) and wall time of the built CLI (a fresh process each
 * run, as a user runs it) over generated evidence — the dumps, inventory and access logs of five Istio proxies
 * (samples/bookinfo-authz replayed, src/synth/fleet.ts) plus a capture of ~900-byte packets
 * (bench/capture.bench.ts buildCapture) — beside `explain` on the same logs and `flows` on the same capture run
 * alone. Every figure is printed with the load average at its start (the machine is shared: CPU time is the
 * steadier figure, wall time mostly measures waiting for a core).
 *
 * Targets (issue 17): at 1M lines + a 1 GB capture, peak RSS ≤ 1 GB and ≤ 1.2× the 100k peak (same capture);
 * wall ≤ 2× (explain on the logs + flows on the capture alone).
 *
 * Configurations (MESHSLEUTH_BENCH_REPORT):
 *  - `curve` (default): 10k → 100k → 1M lines with a 100 MB capture; at each size `report` on the logs, dumps
 *    and inventory alone and with the capture: how memory and CPU grow with records.
 *  - `combined`: the issue's run, 100k and 1M lines with a 1 GB capture (`report` with the capture only; the
 *    1M peak is compared with the 100k peak of the same capture). Generates ~1.3 GB in os.tmpdir().
 * MESHSLEUTH_BENCH_REPORT_LINES (comma list) and MESHSLEUTH_BENCH_REPORT_CAPTURE_MB override a configuration's
 * sizes.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFleetEvidence } from '../src/synth/fleet.js';
import { buildCapture, loadAverage } from './capture.bench.js';
import { describeRun, haveTime, timedCli, type TimedRun } from './timed.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sample = join(root, 'samples/bookinfo-authz');

interface Run extends TimedRun {
  /** Load average (1, 5, 15 min) when the run started. */
  load: string;
}

interface Config {
  lines: number[];
  captureMb: number;
  /** Also run `report` without the capture at each size. */
  logsOnly: boolean;
}

const CONFIGS: Record<string, Config> = {
  curve: { lines: [10_000, 100_000, 1_000_000], captureMb: 100, logsOnly: true },
  combined: { lines: [100_000, 1_000_000], captureMb: 1000, logsOnly: false },
};

/** The configuration the environment names (see the module comment). */
export function benchConfig(env: NodeJS.ProcessEnv = process.env): { name: string } & Config {
  const name = env.MESHSLEUTH_BENCH_REPORT ?? 'curve';
  const base = CONFIGS[name];
  if (!base) throw new Error(`MESHSLEUTH_BENCH_REPORT=${name}: expected one of ${Object.keys(CONFIGS).join(', ')}`);
  const lines = env.MESHSLEUTH_BENCH_REPORT_LINES ? env.MESHSLEUTH_BENCH_REPORT_LINES.split(',').map(Number) : base.lines;
  const captureMb = env.MESHSLEUTH_BENCH_REPORT_CAPTURE_MB ? Number(env.MESHSLEUTH_BENCH_REPORT_CAPTURE_MB) : base.captureMb;
  if (lines.some((n) => !Number.isInteger(n) || n <= 0) || !(captureMb > 0)) throw new Error(`report bench: expected positive line counts and capture MB, found lines=${lines.join(',')} capture=${captureMb}`);
  return { name, ...base, lines, captureMb };
}

const run = (args: string[]): Run => {
  const load = loadAverage();
  return { ...timedCli(args), load };
};
const fmt = (r: Run): string => `${describeRun(r, { ok: [0, 1], lines: 3 })} (load ${r.load})`;
const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
const n = (x: number): string => x.toLocaleString('en-US');

export default async function (): Promise<void> {
  if (!haveTime()) {
    process.stdout.write('report: /usr/bin/time not available (Debian: apt-get install time), skipped\n');
    return;
  }
  const cfg = benchConfig();
  process.stdout.write(`configuration ${cfg.name}: ${cfg.lines.map(n).join(', ')} log lines, ${cfg.captureMb} MB capture; load average ${loadAverage()} at the start\n`);
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-bench-'));
  try {
    const cap = join(dir, 'capture', 'node.pcap');
    mkdirSync(join(dir, 'capture'), { recursive: true });
    const built = await buildCapture(cap, cfg.captureMb * 1e6);
    const capBytes = statSync(cap).size;
    process.stdout.write(`capture: ${(capBytes / 1e6).toFixed(0)} MB, ${n(built.packets)} packets (avg ${(capBytes / built.packets).toFixed(0)} B), ${n(built.conns)} connections\n`);
    const flows = run(['flows', cap, '-o', 'ndjson']);
    process.stdout.write(`  flows alone: ${fmt(flows)}\n`);
    const rows: { lines: number; report: Run; reportLogs: Run | null; explain: Run }[] = [];
    for (const lines of cfg.lines) {
      const ev = join(dir, `ev-${lines}`);
      const res = await writeFleetEvidence(ev, { lines, sample });
      const logBytes = readdirSync(join(ev, 'logs')).reduce((s, f) => s + statSync(join(ev, 'logs', f)).size, 0);
      const explain = run(['explain', join(ev, 'config_dumps'), join(ev, 'logs'), '-o', 'ndjson']);
      const reportLogs = cfg.logsOnly ? run(['report', ev, '--out', join(dir, `logs-${lines}.json`)]) : null;
      const out = join(dir, `report-${lines}.json`);
      const report = run(['report', ev, cap, '--out', out]);
      const outMb = statSync(out, { throwIfNoEntry: false })?.size ?? 0;
      rows.push({ lines, report, reportLogs, explain });
      const wallRatio = report.wallS / (explain.wallS + flows.wallS);
      const cpuRatio = report.cpuS / (explain.cpuS + flows.cpuS);
      process.stdout.write(
        `${n(res.lines)} log lines (${(logBytes / 1e6).toFixed(0)} MB, 5 proxies) + 4 dumps + inventory:\n` +
          `  explain alone: ${fmt(explain)} (${n(Math.round(res.lines / explain.wallS))} lines/s incl. start-up)\n` +
          (reportLogs ? `  report (logs, dumps, inventory): ${fmt(reportLogs)}\n` : '') +
          `  report (+ ${cfg.captureMb} MB capture): ${fmt(report)}; JSON ${(outMb / 1e6).toFixed(1)} MB\n` +
          `    wall / (explain + flows) = ${wallRatio.toFixed(2)} (target ≤ 2: ${met(wallRatio <= 2)}); by CPU ${cpuRatio.toFixed(2)}\n`,
      );
      rmSync(ev, { recursive: true, force: true });
      rmSync(out, { force: true });
    }
    const big = rows.find((r) => r.lines === 1_000_000);
    const mid = rows.find((r) => r.lines === 100_000);
    if (big && mid) {
      const ratio = big.report.rssMb / mid.report.rssMb;
      process.stdout.write(
        `issue 17 (1M lines + ${cfg.captureMb} MB capture): peak ${big.report.rssMb.toFixed(0)} MB (target ≤ 1024: ${met(big.report.rssMb <= 1024)}); ` +
          `1M peak / 100k peak = ${ratio.toFixed(2)} (target ≤ 1.2: ${met(ratio <= 1.2)}); ` +
          `wall / (explain + flows) = ${(big.report.wallS / (big.explain.wallS + flows.wallS)).toFixed(2)} (target ≤ 2: ${met(big.report.wallS <= 2 * (big.explain.wallS + flows.wallS))})\n`,
      );
    }
    // The curve: how peak RSS, CPU and wall time grow with the number of records.
    process.stdout.write(`curve (lines: peak RSS, CPU s, wall s)\n`);
    for (const r of rows) {
      const cell = (x: Run): string => `${x.rssMb.toFixed(0)} MB, ${x.cpuS.toFixed(1)} s CPU, ${x.wallS.toFixed(1)} s wall`;
      process.stdout.write(
        `  ${n(r.lines).padStart(9)}: ${r.reportLogs ? `logs only ${cell(r.reportLogs)}; ` : ''}with capture ${cell(r.report)}; explain ${cell(r.explain)}\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
