/**
 * Capture throughput: the built CLI's `flows <capture> -o ndjson` (a fresh process: Node start-up, module
 * loading, pcap reader → headers and tunnels → TCP reassembly → TLS/HTTP decoders → verdicts → NDJSON),
 * beside tshark's TLS fields pass (`tshark -n -r X -T fields -e frame.number -e tcp.stream -e
 * tls.handshake.type -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str`) on the
 * same file in the same run, runs interleaved (ours, ours, tshark; three rounds, MESHSLEUTH_BENCH_CAPTURE_ROUNDS) so
 * load changes hit all of them.
 *
 * The capture (src/synth/mixed-capture.ts: real TLS 1.2/1.3 sessions with SPIFFE certificates, HTTP/1.1,
 * h2c, RESP; ~900-byte packets, 8 connections interleaved) is written into os.tmpdir() and deleted
 * afterwards: plain EN10MB/IPv4, then the same traffic inside VXLAN and inside Geneve (node addresses
 * outside).
 *
 * `flows` runs twice per round: `--threads 1` (one thread) and the default (`auto`: a capture of
 * pipelineMinBytes() or more, 512 MiB on two cores, is read in a two-thread pipeline,
 * src/cli/capture-pipeline.ts); outputs are compared (they must be equal). Reported per tool: best wall clock
 * of the rounds (process start included) and the median, its CPU time (user + sys of the process, all threads)
 * and peak RSS; the ratio to tshark by wall clock, best against best (the issue's target: ≥ 5×) and median
 * against median, and by CPU; the machine's load average (on a shared machine wall clock mostly measures
 * waiting for a core).
 *
 * Env: MESHSLEUTH_BENCH_CAPTURE_MB (default 200), MESHSLEUTH_BENCH_CAPTURE_ROUNDS (default 3),
 * MESHSLEUTH_BENCH_CAPTURE_ENCAPS (default
 * `plain,vxlan,geneve`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WrapKind } from '../src/synth/encap.js';
import { buildCapture } from '../src/synth/mixed-capture.js';
import { pipelineMinBytes } from '../src/cli/capture-prestart.js';

export { buildCapture };

const MB = 1e6;
const ENTRY = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TIME = '/usr/bin/time';

/** CPU seconds (user + system) of this process's waited-for children, from /proc/self/stat. */
export function childrenCpuSeconds(): number | null {
  try {
    const st = readFileSync('/proc/self/stat', 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // fields after ")": state(3) ... cutime is field 16, cstime field 17 (1-based over the whole line)
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

export interface ToolRun {
  wall: number;
  /** user + sys of the child (every thread), null where /proc is absent. */
  cpu: number | null;
  /** Peak RSS in MB (GNU time), null without it. */
  rssMb: number | null;
  code: number | null;
  digest: string;
  stderr: string;
}

/** Runs a command to completion, stdout hashed (not kept), timing wall clock and CPU. */
export function timed(cmd: string, args: string[]): ToolRun {
  const gnuTime = existsSync(TIME);
  const c0 = childrenCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = gnuTime
    ? spawnSync(TIME, ['-f', '%M', cmd, ...args], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawnSync(cmd, args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = childrenCpuSeconds();
  let stderr = r.stderr?.toString('utf8') ?? '';
  let rssMb: number | null = null;
  if (gnuTime) {
    const lines = stderr.trimEnd().split('\n');
    const kb = Number(lines.pop());
    if (Number.isFinite(kb)) rssMb = kb / 1024;
    stderr = lines.join('\n');
  }
  const digest = createHash('sha256').update(r.stdout ?? '').digest('hex').slice(0, 16);
  return { wall, cpu: c0 !== null && c1 !== null ? c1 - c0 : null, rssMb, code: r.status, digest, stderr };
}

function hasTshark(): string | null {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]! : null;
}

/** Rounds of (ours, ours, tshark): MESHSLEUTH_BENCH_CAPTURE_ROUNDS, default 3 (this machine's wall clock moves by ±15%). */
const rounds = (): number => Math.max(1, Number(process.env.MESHSLEUTH_BENCH_CAPTURE_ROUNDS ?? 3) || 3);
const bestOf = (runs: ToolRun[]): ToolRun => runs.reduce((a, b) => (b.wall < a.wall ? b : a));
const medianWall = (runs: ToolRun[]): number => {
  const w = runs.map((r) => r.wall).sort((a, b) => a - b);
  return w.length % 2 ? w[(w.length - 1) / 2]! : (w[w.length / 2 - 1]! + w[w.length / 2]!) / 2;
};
const cpuOf = (runs: ToolRun[]): number | null => (runs.every((r) => r.cpu !== null) ? Math.min(...runs.map((r) => r.cpu!)) : null);
const fmtCpu = (c: number | null): string => (c === null ? 'CPU n/a' : `CPU ${c.toFixed(2)} s`);
const fmtRss = (r: ToolRun[]): string => (r[0]!.rssMb === null ? '' : `, peak RSS ${Math.max(...r.map((x) => x.rssMb ?? 0)).toFixed(0)} MB`);

async function measureVariant(label: string, targetMb: number, tshark: string | null, encap?: WrapKind): Promise<void> {
  const path = join(tmpdir(), `meshsleuth-bench-${process.pid}${encap ? '-' + encap : ''}.pcap`);
  try {
    const g0 = Date.now();
    const built = await buildCapture(path, targetMb * MB, encap);
    const size = statSync(path).size;
    process.stdout.write(
      `${label}: ${(size / MB).toFixed(1)} MB, ${built.packets.toLocaleString('en-US')} packets (avg ${(size / built.packets).toFixed(0)} B), ${built.conns.toLocaleString('en-US')} connections; generated in ${((Date.now() - g0) / 1000).toFixed(1)} s\n`,
    );
    // Warm the page cache so every tool reads from memory.
    spawnSync('cat', [path], { stdio: 'ignore' });
    const one: ToolRun[] = [];
    const auto: ToolRun[] = [];
    const theirs: ToolRun[] = [];
    const targs = ['-n', '-r', path, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tls.handshake.type', '-e', 'tls.handshake.extensions_server_name', '-e', 'tls.handshake.extensions_alpn_str'];
    for (let i = 0; i < rounds(); i++) {
      one.push(timed(process.execPath, [ENTRY, 'flows', path, '-o', 'ndjson', '--threads', '1']));
      auto.push(timed(process.execPath, [ENTRY, 'flows', path, '-o', 'ndjson']));
      if (tshark) theirs.push(timed('tshark', targs));
    }
    const all = [...one, ...auto];
    if (all.some((r) => r.code !== 0)) throw new Error(`flows exited ${all.map((r) => r.code).join(',')}: ${all.find((r) => r.code !== 0)!.stderr.slice(0, 500)}`);
    const same = all.every((r) => r.digest === all[0]!.digest);
    if (!same) process.exitCode = 1;
    const summary = all[0]!.stderr.trim().split('\n').pop() ?? '';
    const b1 = bestOf(one);
    const ba = bestOf(auto);
    const line = (name: string, r: ToolRun[]) => {
      const b = bestOf(r);
      return `  ${name}: ${b.wall.toFixed(2)} s wall (${(size / MB / b.wall).toFixed(0)} MB/s, ${(built.packets / b.wall / 1000).toFixed(0)} k packets/s; median of ${r.length} ${medianWall(r).toFixed(2)} s), ${fmtCpu(cpuOf(r))}${fmtRss(r)}\n`;
    };
    process.stdout.write(line('flows --threads 1', one) + line(`flows (default: ${size >= pipelineMinBytes() ? 'two-thread pipeline' : `one thread, below ${pipelineMinBytes() / 2 ** 20} MiB`})`, auto) + `  flows: ${summary}; outputs ${same ? 'identical' : 'DIFFERENT (a bug)'}\n`);
    if (!tshark) {
      process.stdout.write('  tshark: not installed, comparison skipped (Debian: apt-get install tshark)\n');
      return;
    }
    if (theirs.some((r) => r.code !== 0)) {
      process.stdout.write(`  tshark: exited ${theirs.map((r) => r.code).join(',')}, comparison skipped\n`);
      return;
    }
    const bt = bestOf(theirs);
    const tc = cpuOf(theirs);
    const ratio = (ours: ToolRun[], oursCpu: number | null) =>
      `${(bt.wall / bestOf(ours).wall).toFixed(1)}x by wall clock (medians: ${(medianWall(theirs) / medianWall(ours)).toFixed(1)}x)${tc !== null && oursCpu !== null ? `, ${(tc / oursCpu).toFixed(1)}x by CPU` : ''}`;
    process.stdout.write(
      line(`tshark -T fields (TLS fields pass, ${tshark})`, theirs) +
        `  ratio to tshark: flows (default) ${ratio(auto, cpuOf(auto))}; --threads 1 ${ratio(one, cpuOf(one))} (target >= 5x by wall clock, best against best); load average ${loadAverage()}\n`,
    );
  } finally {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  }
}

export default async function (): Promise<void> {
  const targetMb = Number(process.env.MESHSLEUTH_BENCH_CAPTURE_MB ?? 200);
  const encaps = (process.env.MESHSLEUTH_BENCH_CAPTURE_ENCAPS ?? 'plain,vxlan,geneve').split(',').map((s) => s.trim());
  const tshark = hasTshark();
  process.stdout.write(`load average ${loadAverage()} at the start\n`);
  for (const e of encaps) {
    if (e === 'plain') await measureVariant('capture (plain EN10MB/IPv4)', targetMb, tshark);
    else await measureVariant(`capture (the same traffic in a ${e === 'vxlan' ? 'VXLAN' : e === 'geneve' ? 'Geneve' : e} overlay)`, targetMb, tshark, e as WrapKind);
  }
}
