/**
 * The built CLI in a fresh process under /usr/bin/time, as the benches measure it: wall seconds, CPU seconds
 * (user + system: the steadier figure on a shared machine) and peak RSS, process start included.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js of this build. */
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface TimedRun {
  status: number | null;
  wallS: number;
  cpuS: number;
  rssMb: number;
  /** What the CLI wrote to stderr (without time's own lines). */
  stderr: string;
}

const TIME_LINE = /(Command exited with non-zero status \d+\n)?TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/;

/** Whether /usr/bin/time is there (Debian package `time`). */
export function haveTime(): boolean {
  return spawnSync('/usr/bin/time', ['true']).status === 0;
}

/** Runs `node [node...] CLI args...` under /usr/bin/time; stdout is discarded unless `stdout` names an open fd. */
export function timedCli(args: string[], opts: { node?: string[]; stdout?: number } = {}): TimedRun {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, ...(opts.node ?? []), CLI, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
    maxBuffer: 256 << 20,
  });
  const m = TIME_LINE.exec(r.stderr ?? '');
  return {
    status: r.status,
    wallS: m ? Number(m[2]) : NaN,
    cpuS: m ? Number(m[3]) + Number(m[4]) : NaN,
    rssMb: m ? Number(m[5]) / 1024 : NaN,
    stderr: (r.stderr ?? '').replace(TIME_LINE, ''),
  };
}

/** The last `n` lines of a CLI's stderr on one line, at most `max` characters. */
export function lastLines(s: string, n = 2, max = 400): string {
  return s.trim().split('\n').slice(-n).join(' | ').slice(0, max);
}

/**
 * A run as the benches print it: wall, CPU and peak RSS, then, unless its exit status is one of `ok`, the status
 * and the last `lines` lines of its stderr.
 */
export function describeRun(r: TimedRun, opts: { ok?: number[]; lines?: number; max?: number } = {}): string {
  const ok = opts.ok ?? [0];
  const tail = r.status !== null && ok.includes(r.status) ? '' : ` (exit ${r.status}: ${lastLines(r.stderr, opts.lines, opts.max)})`;
  return `${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU, ${r.rssMb.toFixed(0)} MB peak RSS${tail}`;
}
