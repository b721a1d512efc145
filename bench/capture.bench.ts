/**
 * Capture pipeline throughput: `flows` (pcap reader → TCP reassembly → protocol decoders →
 * verdicts → NDJSON) over a generated ≥ 200 MB capture of mixed traffic with ~900-byte packets,
 * beside tshark's TLS fields pass (`tshark -T fields`) on the same file in the same run.
 *
 * The capture is written into os.tmpdir() and deleted afterwards. Its conversations are real:
 * TLS 1.2/1.3 sessions recorded from Node's tls module (mTLS with SPIFFE certificates and Istio
 * ALPN/SNI, one-way TLS), HTTP/1.1 with keep-alive, h2c with prior knowledge and a RESP-like
 * plaintext protocol, framed as EN10MB/IPv4/TCP with MSS 1160 (≈ 900-byte average packets with the ACKs) and interleaved 8 connections at a
 * time. Mix by connection: 30% mTLS 1.2, 30% mTLS 1.3, 5% mTLS TCP, 8% one-way TLS, 17% HTTP/1.1,
 * 5% h2c, 5% other plaintext (as research/captures.md's generator).
 *
 * The same traffic is then written again inside a VXLAN overlay (UDP 4789, VNI 4096, node
 * addresses outside) and measured the same way: decapsulation must not cost the plain path, and
 * the overlay copy is reported beside it.
 *
 * Env: MESHSLEUTH_BENCH_CAPTURE_MB (default 200).
 * Measurement runs in a child process so peak RSS (maxRSS) is the pipeline's alone.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { WrapKind } from '../src/synth/encap.js';
import { buildCapture } from '../src/synth/mixed-capture.js';

export { buildCapture };

const MB = 1e6;

interface Measured {
  seconds: number;
  /** CPU time of the pipeline itself (no start-up). */
  cpuSeconds: number;
  flows: number;
  frames: number;
  maxRssMb: number;
  bySecurity: Record<string, number>;
}

/** The child: runs the pipeline over the file, serializing every flow as NDJSON (as `flows -o ndjson`). */
async function measureChild(path: string): Promise<void> {
  const { flowsFromCapture } = await import('../src/analysis/flows.js');
  const { captureFile, newCaptureStats } = await import('../src/readers/capture/index.js');
  const { createStreamDecoder } = await import('../src/protocols/index.js');
  const stats = newCaptureStats(path);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let flows = 0;
  let out = 0;
  const bySecurity: Record<string, number> = {};
  for await (const f of flowsFromCapture(captureFile(path), { decoder: createStreamDecoder }, stats)) {
    flows++;
    out += JSON.stringify(f).length;
    bySecurity[f.security] = (bySecurity[f.security] ?? 0) + 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const m: Measured = { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, flows, frames: stats.reader.frames, maxRssMb: process.resourceUsage().maxRSS / 1024, bySecurity };
  process.stdout.write(JSON.stringify({ ...m, ndjsonBytes: out }) + '\n');
}

function runChild(path: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [self, '--measure', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Measured) : reject(new Error(`measurement child exited ${code}`))));
  });
}

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

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function measureVariant(label: string, targetMb: number, encap?: WrapKind): Promise<void> {
  const path = join(tmpdir(), `meshsleuth-bench-${process.pid}${encap ? '-' + encap : ''}.pcap`);
  try {
    const g0 = Date.now();
    const built = await buildCapture(path, targetMb * MB, encap);
    const size = statSync(path).size;
    process.stdout.write(
      `${label}: ${path}: ${(size / MB).toFixed(1)} MB, ${built.packets} packets (avg ${(size / built.packets).toFixed(0)} B), ${built.conns} connections; generated in ${((Date.now() - g0) / 1000).toFixed(1)} s\n`,
    );
    // Warm the page cache so both tools read from memory.
    execFileSync('cat', [path], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 });
    const runs: Measured[] = [];
    let ourCpu = Infinity;
    for (let i = 0; i < 2; i++) {
      const c0 = childrenCpuSeconds();
      runs.push(await runChild(path));
      const c1 = childrenCpuSeconds();
      if (c0 !== null && c1 !== null) ourCpu = Math.min(ourCpu, c1 - c0);
    }
    const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const ours = size / MB / best.seconds;
    process.stdout.write(
      `  flows (reader + ${encap ? encap + ' decapsulation + ' : ''}reassembly + TLS/HTTP decoders + verdicts + NDJSON): best of 2 ${best.seconds.toFixed(2)} s wall, ${ours.toFixed(0)} MB/s, ${(best.frames / best.seconds / 1000).toFixed(0)} k packets/s; ` +
        `CPU ${Number.isFinite(ourCpu) ? ourCpu.toFixed(2) + ' s (incl. Node start-up) = ' + (size / MB / ourCpu).toFixed(0) + ' MB/s of CPU' : 'n/a'}; peak RSS ${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB (target < 300 MB); ${best.flows} flows ${JSON.stringify(best.bySecurity)}\n`,
    );
    if (!hasTshark()) {
      process.stdout.write('  tshark: not installed, comparison skipped (Debian: apt-get install tshark)\n');
      return;
    }
    const ver = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    const args = ['-n', '-r', path, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tls.handshake.type', '-e', 'tls.handshake.extensions_server_name', '-e', 'tls.handshake.extensions_alpn_str'];
    let tbest = Infinity;
    let tcpu = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = process.hrtime.bigint();
      const c0 = childrenCpuSeconds();
      const r = spawnSync('tshark', args, { stdio: ['ignore', 'ignore', 'ignore'] });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const c1 = childrenCpuSeconds();
      if (c0 !== null && c1 !== null) tcpu = Math.min(tcpu, c1 - c0);
      if (r.status !== 0) {
        process.stdout.write(`  tshark: exited ${r.status}, comparison skipped\n`);
        return;
      }
      tbest = Math.min(tbest, s);
    }
    const theirs = size / MB / tbest;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    process.stdout.write(
      `  tshark -T fields (TLS fields pass, ${ver}): best of 2 ${tbest.toFixed(2)} s wall, ${theirs.toFixed(0)} MB/s, ${(built.packets / tbest / 1000).toFixed(0)} k packets/s; CPU ${Number.isFinite(tcpu) ? tcpu.toFixed(2) + ' s' : 'n/a'}\n` +
        `  ratio: flows is ${(ours / theirs).toFixed(1)}x tshark by wall clock` +
        (Number.isFinite(tcpu) && Number.isFinite(ourCpu) ? `, ${(tcpu / ourCpu).toFixed(1)}x by CPU time` : '') +
        ` (target >= 5x); load average ${load}\n`,
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
  await measureVariant('capture (plain EN10MB/IPv4)', targetMb);
  await measureVariant('capture (the same traffic in a VXLAN overlay)', targetMb, 'vxlan');
}

if (process.argv[2] === '--measure' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await measureChild(process.argv[3]!);
}
