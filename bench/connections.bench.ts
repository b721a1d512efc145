/**
 * Memory in the number of captured connections (issues 17 and 19): `flows` and `report` on generated
 * captures of N connections that never close (only the SYN captured, each from its own client, one
 * every 0.1 ms), as a fresh process each (the built CLI under /usr/bin/time: wall, user+sys CPU, peak
 * RSS), plus `report` under a heap ceiling (`--max-old-space-size`) to show what it needs rather than
 * what a lazy collector takes.
 *
 * What bounds it: the TCP table (at most 50,000 open connections, the least recently active handed
 * over beyond); `report` summarises connection attempts nobody answered into bounded groups as it reads
 * them past 20,000 (analysis/attempts.ts), so its heap no longer grows with them (before: a compact flow
 * of ~536 B each, analysis/compact-flow.ts: 1M took 1,123 MB peak RSS); answered connections are still
 * one compact flow each plus 20 B per timeline row (timeline.ts ConnRows); listings are bounded
 * (FLOW_LIMITS, TIMELINE_LIMITS).
 * Measured (shared 2-core machine, load ~19; report --out json): 250k 807 MB peak RSS, 14.4 s CPU;
 * 1M 842 MB peak RSS, 44.5 s CPU (V8 takes what it is given); under --max-old-space-size=192 250k and 1M both
 * complete (1M: 313 MB peak RSS, 138 s CPU with the GC at the ceiling), where the per-flow path ran out of
 * 192 MB at 250k.
 *
 * Env: MESHSLEUTH_BENCH_CONNECTIONS (comma list, default 100000,1000000),
 *      MESHSLEUTH_BENCH_CONNECTIONS_HEAP_MB (default 1024: `report` under this ceiling).
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpConversation } from '../src/synth/tcp.js';
import { frame } from '../src/synth/link.js';
import { pcapGlobalHeader } from '../src/synth/pcap-writer.js';
import { describeRun, haveTime, timedCli, type TimedRun } from './timed.js';


/** Writes a classic pcap of `n` SYN-only connections (streamed: 1M connections are 74 MB). */
function writeSynOnly(path: string, n: number): void {
  const fd = openSync(path, 'w');
  const gh = pcapGlobalHeader();
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

const run = (node: string[], args: string[]): TimedRun => timedCli(args, { node });
const fmt = (r: TimedRun): string => describeRun(r, { lines: 2, max: 300 });

export default async function (): Promise<void> {
  if (!haveTime()) {
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
