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
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tcpConversation, type Message } from '../src/synth/tcp.js';
import { frame } from '../src/synth/link.js';
import { wrap, type WrapKind } from '../src/synth/encap.js';
import { runTlsSession, ISTIO_ALPN, istioSni, type WireMessage } from '../src/synth/tls-session.js';
import { http1Conversation, h2Conversation } from '../src/synth/http.js';

const MB = 1e6;

function body(n: number, seed: number): string {
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += x.toString(36);
  }
  return s.slice(0, n);
}

interface Template {
  kind: string;
  messages: WireMessage[];
  weight: number;
}

async function templates(): Promise<Template[]> {
  const out: Template[] = [];
  const sizes = [8_000, 40_000, 120_000];
  for (const [i, size] of sizes.entries()) {
    const app = http1Conversation([
      { request: { path: `/bytes/${size}`, host: 'httpbin.foo.svc.cluster.local:8000' }, response: { status: 200, body: body(size, i + 1), headers: [['content-type', 'application/octet-stream']] } },
      { request: { path: '/headers', host: 'httpbin.foo.svc.cluster.local:8000' }, response: { status: 200, body: body(size / 4, i + 7) } },
    ]);
    const sni = istioSni(8000, 'httpbin.foo.svc.cluster.local');
    const m12 = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni, alpn: ISTIO_ALPN.http11, app });
    const m13 = await runTlsSession({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', sni, alpn: ISTIO_ALPN.http11, app });
    const tcp = await runTlsSession({ version: 'TLSv1.3', server: 'foo/tcp-echo', client: 'foo/sleep', sni: istioSni(9000, 'tcp-echo.foo.svc.cluster.local'), alpn: ISTIO_ALPN.tcp, serverAlpn: ['istio-peer-exchange', 'istio'], app: [{ dir: 'c2s', bytes: Buffer.from(body(size / 2, 3)) }, { dir: 's2c', bytes: Buffer.from(body(size / 2, 4)) }] });
    const one = await runTlsSession({ version: i % 2 ? 'TLSv1.3' : 'TLSv1.2', server: 'partner/api', sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'], app });
    const h2 = await h2Conversation([{ request: { path: `/bytes/${size}` }, response: { status: 200, body: body(size, 9) } }], { authority: 'grpc-echo.foo.svc.cluster.local:9090' });
    const resp: WireMessage[] = [];
    for (let k = 0; k < 20; k++) {
      resp.push({ dir: 'c2s', bytes: Buffer.from(`*3\r\n$3\r\nSET\r\n$6\r\nkey:${String(k).padStart(2, '0')}\r\n$${size / 20}\r\n${body(size / 20, k)}\r\n`) });
      resp.push({ dir: 's2c', bytes: Buffer.from('+OK\r\n') });
    }
    out.push(
      { kind: 'mtls12', messages: m12.messages, weight: 30 },
      { kind: 'mtls13', messages: m13.messages, weight: 30 },
      { kind: 'mtcp', messages: tcp.messages, weight: 5 },
      { kind: 'tls', messages: one.messages, weight: 8 },
      { kind: 'http', messages: app, weight: 17 },
      { kind: 'h2c', messages: h2, weight: 5 },
      { kind: 'other', messages: resp, weight: 5 },
    );
  }
  return out;
}

/** Writes a classic µs pcap of at least `targetBytes`; returns packets and connections written. */
export async function buildCapture(path: string, targetBytes: number, encap?: WrapKind): Promise<{ packets: number; conns: number; bytes: number }> {
  const tpl = await templates();
  const total = tpl.reduce((s, t) => s + t.weight, 0);
  const fd = openSync(path, 'w');
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  writeSync(fd, gh);
  let written = 24;
  let packets = 0;
  let conns = 0;
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x / 2 ** 32);
  let t = 1_763_800_000_000;
  const buf = Buffer.alloc(8 << 20);
  let bo = 0;
  const flush = () => {
    writeSync(fd, buf, 0, bo);
    written += bo;
    bo = 0;
  };
  while (written + bo < targetBytes) {
    // 8 concurrent connections, interleaved by time
    const group: { timeNs: bigint; data: Uint8Array }[] = [];
    for (let k = 0; k < 8; k++) {
      let r = rnd() * total;
      const tp = tpl.find((q) => (r -= q.weight) < 0) ?? tpl[0]!;
      const client = { ip: `10.1.${(conns >> 8) & 255}.${conns & 255}`, port: 32768 + (conns % 28000) };
      const server = { ip: `10.2.0.${1 + (conns % 50)}`, port: tp.kind === 'http' ? 8000 : tp.kind === 'h2c' ? 9090 : tp.kind === 'other' ? 6379 : 15006 };
      const msgs: Message[] = tp.messages.map((m) => ({ dir: m.dir, bytes: m.bytes }));
      const pk = tcpConversation(msgs, { client, server, startMs: t + k * 0.37, mss: 1160, stepMs: 0.05, seed: conns + 1 });
      for (const p of pk) group.push({ timeNs: p.timeNs, data: encap ? wrap(p.ip, encap, p.dir).frame : frame(p.ip, { linkType: 1 }) });
      conns++;
    }
    group.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    for (const p of group) {
      if (bo + 16 + p.data.length > buf.length) flush();
      const sec = Number(p.timeNs / 1_000_000_000n);
      const usec = Number((p.timeNs % 1_000_000_000n) / 1000n);
      buf.writeUInt32LE(sec, bo);
      buf.writeUInt32LE(usec, bo + 4);
      buf.writeUInt32LE(p.data.length, bo + 8);
      buf.writeUInt32LE(p.data.length, bo + 12);
      buf.set(p.data, bo + 16);
      bo += 16 + p.data.length;
      packets++;
    }
    t += 40;
  }
  flush();
  closeSync(fd);
  return { packets, conns, bytes: written };
}

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
