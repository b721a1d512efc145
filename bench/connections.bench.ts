/**
 * Memory in the number of captured connections (issues 17 and 19): `flows` and `report` on generated
 * captures of N connections that never close (only the SYN captured, each from its own client, one
 * every 0.1 ms), as a fresh process each (the built CLI under /usr/bin/time: wall, user+sys CPU, peak
 * RSS), plus `report` under a heap ceiling (`--max-old-space-size`) to show what it needs rather than
 * what a lazy collector takes.
 *
 * What bounds it: the TCP table (at most 50,000 open connections, the least recently active handed
 * over beyond), a compact flow per connection kept by `report` (analysis/compact-flow.ts, about 540 B of heap
 * for a SYN-only flow, 536 B measured at 100k) and 20 B per connection row while the timeline is aggregated (timeline.ts
 * ConnRows); listings are bounded (FLOW_LIMITS, TIMELINE_LIMITS).
 *
 * Env: MESHSLEUTH_BENCH_CONNECTIONS (comma list, default 100000,1000000),
 *      MESHSLEUTH_BENCH_CONNECTIONS_HEAP_MB (default 1024: `report` under this ceiling).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tcpConversation } from '../src/synth/tcp.js';
import { frame } from '../src/synth/link.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

/** Writes a classic pcap of `n` SYN-only connections (streamed: 1M connections are 74 MB). */
function writeSynOnly(path: string, n: number): void {
  const fd = openSync(path, 'w');
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  writeSync(fd, gh);
  const buf = Buffer.alloc(4 << 20);
  let bo = 0;
  for (let i = 0; i < n; i++) {
    const client = { ip: `10.${1 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}`, port: 40000 + (i % 20000) };
    const p = tcpConversation([], { client, server: { ip: '10.0.0.2', port: 8080 }, startMs: 1_700_000_000_000 + i / 10, close: 'none', isnClient: i })[0]!;
    const data = frame(p.ip, { linkType: 1 });
    if (bo + 16 + data.length > buf.length) {
      writeSync(fd, buf, 0, bo);
      bo = 0;
    }
    buf.writeUInt32LE(Number(p.timeNs / 1_000_000_000n), bo);
    buf.writeUInt32LE(Number((p.timeNs % 1_000_000_000n) / 1000n), bo + 4);
    buf.writeUInt32LE(data.length, bo + 8);
    buf.writeUInt32LE(data.length, bo + 12);
    buf.set(data, bo + 16);
    bo += 16 + data.length;
  }
  writeSync(fd, buf, 0, bo);
  closeSync(fd);
}

interface Run {
  wallS: number;
  cpuS: number;
  rssMb: number;
  status: number | null;
  stderr: string;
}

const TIME_LINE = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/;

function run(nodeArgs: string[], args: string[]): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M %U %S', process.execPath, ...nodeArgs, cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const m = TIME_LINE.exec(r.stderr ?? '');
  return {
    wallS: m ? Number(m[1]) : NaN,
    rssMb: m ? Number(m[2]) / 1024 : NaN,
    cpuS: m ? Number(m[3]) + Number(m[4]) : NaN,
    status: r.status,
    stderr: (r.stderr ?? '').replace(TIME_LINE, '').trim().split('\n').slice(-2).join(' | ').slice(0, 300),
  };
}

const fmt = (r: Run): string => `${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU, ${r.rssMb.toFixed(0)} MB peak RSS${r.status === 0 ? '' : ` (exit ${r.status}: ${r.stderr})`}`;

export default async function (): Promise<void> {
  if (spawnSync('/usr/bin/time', ['true']).status !== 0) {
    process.stdout.write('connections: /usr/bin/time not available (Debian: apt-get install time), skipped\n');
    return;
  }
  const sizes = (process.env.MESHSLEUTH_BENCH_CONNECTIONS ?? '100000,1000000').split(',').map(Number);
  const heapMb = Number(process.env.MESHSLEUTH_BENCH_CONNECTIONS_HEAP_MB ?? 1024);
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-connections-bench-'));
  try {
    for (const n of sizes) {
      const cap = join(dir, `syn-${n}.pcap`);
      writeSynOnly(cap, n);
      process.stdout.write(`${n.toLocaleString('en-US')} SYN-only connections (${(statSync(cap).size / 1e6).toFixed(0)} MB capture):\n`);
      process.stdout.write(`  flows -o ndjson: ${fmt(run([], ['flows', cap, '-o', 'ndjson']))}\n`);
      process.stdout.write(`  report --out json: ${fmt(run([], ['report', cap, '--out', join(dir, 'r.json')]))}\n`);
      process.stdout.write(`  report under --max-old-space-size=${heapMb}: ${fmt(run([`--max-old-space-size=${heapMb}`], ['report', cap, '--out', join(dir, 'r.json')]))}\n`);
      rmSync(cap, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
