/**
 * Hostile and huge evidence (issue 19) at the issue's own sizes: each input is built here, at bench time
 * (src/synth/hostile.ts), and the built CLI runs on it in a fresh process under /usr/bin/time. Each case prints
 * exit code, wall and CPU (user+sys) seconds, peak RSS, and what was kept (flows, records, entries), so a
 * regression to a crash, a hang or a loss shows as a figure.
 *
 * Then the ALS collector: entries/s received and written with and without --config (a real gRPC client on
 * loopback, several streams, Envoy-sized messages), and its hostile clients (a 60 MB message of 15M empty
 * entries, one entry at start_time.seconds = 9e15 among 10,000, a full disk, SIGTERM with entries queued).
 *
 * Env: MESHSLEUTH_BENCH_HOSTILE = comma list of case names to run (default all; names printed with each case);
 * MESHSLEUTH_BENCH_ALS = comma list of the ALS parts to run (throughput, empty, timestamp, disk, sigterm; default all);
 * MESHSLEUTH_BENCH_ALS_ENTRIES = entries of the throughput part (default 200,000).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, renameSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import {
  detailsAlsMessage,
  emptyEntriesMessage,
  fragmentDuplicateFlood,
  headersOnlyWithLoss,
  hpackAmplification,
  hpackManyBlocks,
  malformedListenersDump,
  manyPolicies,
  synFlood,
  writeDistinctRequests,
  writeRichPolicies,
  yamlAliasBomb,
} from '../src/synth/hostile.js';
import { alsTypes } from '../src/readers/accesslog/als.js';
import { CLI, haveTime, timedCli } from './timed.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DETAILS_DUMP = join(root, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');
const DETAILS_LOG = join(root, 'samples/details-path/logs/details-v1-5f4d584748-vn4cx.default.istio-proxy.log');
const ALS_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

interface Run {
  code: number | null;
  wallS: number;
  cpuS: number;
  rssMb: number;
  stderr: string;
  out: string;
}

/** The built CLI under /usr/bin/time (bench/timed.ts); stdout to a file (returned as `out`), stderr kept. */
function run(args: string[], dir: string, node: string[] = []): Run {
  const out = join(dir, `stdout-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(out, 'w');
  const r = timedCli(args, { node, stdout: fd });
  closeSync(fd);
  return { code: r.status, wallS: r.wallS, cpuS: r.cpuS, rssMb: r.rssMb, stderr: r.stderr, out };
}

const fig = (r: Run): string => `exit ${r.code}, ${r.wallS.toFixed(1)} s wall / ${r.cpuS.toFixed(1)} s CPU, ${r.rssMb.toFixed(0)} MB peak RSS`;
const last = (s: string, n = 2): string => s.trim().split('\n').slice(-n).join(' | ').slice(0, 400);
const mb = (f: string): string => {
  const n = statSync(f).size;
  return n < 1e6 ? `${(n / 1e3).toFixed(0)} KB` : `${(n / 1e6).toFixed(1)} MB`;
};

async function countLines(file: string, pred: (l: string) => boolean = () => true): Promise<number> {
  let n = 0;
  for await (const l of createInterface({ input: createReadStream(file) })) if (l.length && pred(l)) n++;
  return n;
}

function say(name: string, what: string, r: Run, kept: string): void {
  process.stdout.write(`[${name}] ${what}: ${fig(r)}; ${kept}\n`);
}

type Case = (dir: string, name: string) => Promise<void>;

const CASES: Record<string, Case> = {
  async hpack(dir, name) {
    const f = join(dir, 'h2c.pcap');
    writeFileSync(f, hpackAmplification());
    const r = run(['flows', f, '-o', 'json'], dir);
    let kept = last(r.stderr);
    if (r.code === 0) {
      type Flow = { http: { headersTruncated?: boolean; headers: Record<string, string[]> }[] };
      const doc = JSON.parse(readFileSync(r.out, 'utf8')) as Flow[] | { flows: Flow[] };
      const http = (Array.isArray(doc) ? doc : doc.flows).flatMap((x) => x.http);
      kept = `${http.length} exchanges, truncated: ${http.filter((h) => h.headersTruncated).length}, x-big kept ${http.map((h) => h.headers['x-big']?.length ?? 0).join('/')}`;
    }
    say(name, `flows -o json on a ${mb(f)} capture of 1M HPACK references to a 16 KB header`, r, kept);
    const rep = run(['report', f, '--out', join(dir, 'r.json')], dir);
    say(name, 'report', rep, rep.code === 0 ? `report ${mb(join(dir, 'r.json'))}` : last(rep.stderr));
  },

  async spread(dir, name) {
    const cap = join(dir, 'syn.pcap');
    writeFileSync(cap, synFlood(130_000));
    const r = run(['flows', cap, '-o', 'ndjson'], dir);
    say(name, `flows -o ndjson on 130,000 SYN-only connections (${mb(cap)})`, r, `${await countLines(r.out)} flows listed`);
    const dump = join(dir, 'listeners.json');
    writeFileSync(dump, malformedListenersDump(150_000));
    const p = run(['policies', dump], dir);
    say(name, `policies on 150,000 malformed listeners (${mb(dump)})`, p, `${(p.stderr.match(/filter_chains/g) ?? []).length} diagnostics naming filter_chains; ${last(p.stderr, 1)}`);
    const e = run(['explain', dump, DETAILS_LOG, '-o', 'ndjson'], dir);
    say(name, 'explain with that dump', e, `${await countLines(e.out)} records explained; ${last(e.stderr, 1)}`);
    const fc = join(dir, 'one.pcap');
    writeFileSync(fc, synFlood(10));
    const fl = run(['flows', fc, '--config', dump, '-o', 'ndjson'], dir);
    say(name, 'flows --config with that dump', fl, `${await countLines(fl.out)} flows; ${last(fl.stderr, 1)}`);
    const pol = join(dir, 'policies.yaml');
    writeFileSync(pol, manyPolicies(150_000));
    const c = run(['compile', pol, '--workload', 'default/details', '--labels', 'app=details', '--ports', '9080/http'], dir);
    const text = readFileSync(c.out, 'utf8');
    say(name, `compile on 150,000 AuthorizationPolicy documents (${mb(pol)})`, c, `${(text.match(/"\/p\d+"/g) ?? []).length} policy paths in the output; ${last(c.stderr, 1)}`);
  },

  async compilerich(dir, name) {
    // 150,000 rich policies (2.6 KB each): 395 MB of YAML, in four files under the 256 MiB structured-input limit
    const pdir = join(dir, 'rich');
    mkdirSync(pdir);
    const n = 150_000;
    const files = 4;
    for (let k = 0; k < files; k++) await writeRichPolicies(join(pdir, `rich-${k}.yaml`), n / files, (k * n) / files);
    const c = run(['compile', pdir, '--workload', 'default/details', '--labels', 'app=details', '--ports', '9080/http'], dir);
    const rules = await countLines(c.out, (l) => /^ {10}ns\[default\]-policy\[rich-\d+\]-rule\[\d\]:$/.test(l));
    say(name, `compile on ${n.toLocaleString('en-US')} rich AuthorizationPolicy documents (3 rules with principals, paths, when-conditions; ${files} files, ${(statSync(join(pdir, 'rich-0.yaml')).size * files / 1e6).toFixed(0)} MB)`, c, `${rules} RBAC policies (rules) in the output (${mb(c.out)}); ${last(c.stderr, 1)}`);
    rmSync(c.out, { force: true });
  },

  async yaml(dir, name) {
    const head = 'configs:\n- "@type": type.googleapis.com/envoy.admin.v3.ListenersConfigDump\n  dynamic_listeners: []\n';
    for (const [cmd, size, extra] of [
      ['check', 36_000, ['--port', '80', '--plaintext']],
      ['policies', 62_000, []],
    ] as const) {
      const f = join(dir, `bomb-${size}.yaml`);
      writeFileSync(f, yamlAliasBomb(head, size));
      const r = run([cmd, f, ...extra], dir);
      say(name, `${cmd} on a ${mb(f)} alias bomb (10^9 copies)`, r, last(r.stderr, 1));
    }
  },

  async fragments(dir, name) {
    const f = join(dir, 'frag.pcap');
    writeFileSync(f, fragmentDuplicateFlood(40_000));
    const r = run(['flows', f, '-o', 'ndjson'], dir);
    say(name, `flows on 40,000 duplicates of a never-completed fragment (${mb(f)})`, r, `${await countLines(r.out)} flow(s) listed; ${last(r.stderr.split('\n').filter((l) => /fragment/.test(l)).join('\n'), 1)}`);
  },

  async snaplen(dir, name) {
    const segments = 1_000_000;
    const f = join(dir, 's54.pcap');
    writeFileSync(f, headersOnlyWithLoss(segments, 3));
    const r = run(['flows', f, '-o', 'ndjson'], dir);
    let kept = last(r.stderr);
    if (r.code === 0) {
      const fl = readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { bytes: { clientToServer: number }; connState: string });
      kept = `${fl.length} flow, ${fl[0]?.bytes.clientToServer} of ${(segments - 1) * 1400} bytes client→server counted, ${fl[0]?.connState}`;
    }
    say(name, `flows on a ${mb(f)} headers-only (-s 54) capture, one lost segment`, r, kept);
  },

  async neverclosed(dir, name) {
    const f = join(dir, 'syn1m.pcap');
    writeFileSync(f, synFlood(1_000_000));
    const r = run(['flows', f, '-o', 'ndjson'], dir);
    say(name, `flows on 1,000,000 SYN-only connections (${mb(f)})`, r, `${await countLines(r.out)} flows listed`);
  },

  async size(dir, name) {
    const z = run(['policies', '/dev/zero'], dir);
    say(name, 'policies /dev/zero', z, last(z.stderr, 1));
    const f = join(dir, 'huge.json');
    const fd = openSync(f, 'w');
    const chunk = Buffer.alloc(1 << 20, 0x20);
    writeSync(fd, '{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[');
    for (let i = 0; i < 600; i++) writeSync(fd, chunk);
    writeSync(fd, ']}]}');
    closeSync(fd);
    const p = run(['policies', f], dir);
    say(name, `policies on a ${mb(f)} dump`, p, last(p.stderr, 1));
    const ev = join(dir, 'ev');
    mkdirSync(ev);
    renameSync(f, join(ev, 'huge.json'));
    copyFileSync(DETAILS_LOG, join(ev, 'details.log'));
    const rep = run(['report', ev, '--out', join(dir, 'r.json')], dir);
    say(name, 'report on a directory holding that dump and a log', rep, last(rep.stderr, 2));
  },

  async hpackspread(dir, name) {
    const f = join(dir, 'h2c-many.pcap');
    writeFileSync(f, hpackManyBlocks(13_000));
    const r = run(['flows', f, '-o', 'ndjson'], dir);
    let kept = last(r.stderr);
    if (r.code === 0) {
      const [flow] = readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { http: { headersTruncated?: boolean; headers: Record<string, string[]> }[] });
      kept = `${flow!.http.length} exchanges listed, ${flow!.http.filter((h) => h.headersTruncated).length} truncated, ${flow!.http.reduce((a, h) => a + (h.headers['x-big']?.length ?? 0), 0)} copies of the 16 KB header kept`;
    }
    say(name, `flows -o ndjson on ${mb(f)} of 13,000 header blocks each just under the per-block cap`, r, kept);
  },

  async explain(dir, name) {
    const log = join(dir, 'distinct.log');
    const n = 2_000_000;
    await writeDistinctRequests(log, n);
    const r = run(['explain', DETAILS_DUMP, log, '-o', 'ndjson'], dir);
    say(name, `explain -o ndjson on ${n.toLocaleString('en-US')} distinct requests (${mb(log)})`, r, `${await countLines(r.out)} records explained`);
  },

  async als(dir, name) {
    await alsCases(dir, name);
  },
};

interface Collector {
  child: ChildProcess;
  /** Signals the collector itself (not /usr/bin/time, which would leave it running). */
  stop: (signal: NodeJS.Signals) => void;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; wallS: number; cpuS: number; rssMb: number }>;
}

function startCollector(args: string[]): Promise<Collector> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, CLI, 'collect', '--listen', '127.0.0.1:0', '--quiet', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let started = false;
    const exited = new Promise<{ code: number | null; wallS: number; cpuS: number; rssMb: number }>((res) =>
      child.on('close', (code) => {
        const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(err);
        res({ code, wallS: m ? Number(m[1]) : NaN, cpuS: m ? Number(m[2]) + Number(m[3]) : NaN, rssMb: m ? Number(m[4]) / 1024 : NaN });
      }),
    );
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m && !started) {
        started = true;
        const stop = (signal: NodeJS.Signals): void => {
          const pid = Number(spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
          if (pid > 0) process.kill(pid, signal);
        };
        resolve({ child, stop, port: Number(m[1]), stderr: () => err, exited });
      }
    });
    void exited.then(({ code }) => {
      if (!started) reject(new Error(`collect exited ${code}: ${err}`));
    });
  });
}

/** One client stream sending pre-encoded messages; resolves with the final status (null = OK). */
function stream(port: number, msgs: Buffer[]): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 128 << 20 });
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<Buffer, Buffer>(ALS_PATH, (b) => b, (b) => b, (err) => {
      client.close();
      resolve(err ?? null);
    });
    call.on('error', () => undefined);
    let i = 0;
    const pump = (): void => {
      while (i < msgs.length) if (!call.write(msgs[i++]!)) return void call.once('drain', pump);
      call.end();
    };
    pump();
  });
}

function encode(m: Record<string, unknown>): Buffer {
  const t = alsTypes().message;
  return Buffer.from(t.encode(t.fromObject(m)).finish());
}

/** `streams` streams of `perStream` entries in messages of `batch` (the first of each stream with its identifier). */
function workload(streams: number, perStream: number, batch: number): Buffer[][] {
  const out: Buffer[][] = [];
  for (let s = 0; s < streams; s++) {
    const msgs: Buffer[] = [];
    for (let k = 0; k < perStream; k += batch) msgs.push(encode(detailsAlsMessage(Math.min(batch, perStream - k), s * perStream + k, k === 0)));
    out.push(msgs);
  }
  return out;
}

async function alsCases(dir: string, name: string): Promise<void> {
  const parts = process.env.MESHSLEUTH_BENCH_ALS?.split(',').filter(Boolean);
  const part = (p: string): boolean => !parts || parts.includes(p);
  if (part('throughput')) await alsThroughput(dir, name);
  if (part('empty')) await alsEmptyEntries(dir, name);
  if (part('timestamp')) await alsTimestamp(dir, name);
  if (part('disk')) await alsFullDisk(dir, name);
  if (part('sigterm')) await alsSigterm(dir, name);
}

async function alsThroughput(dir: string, name: string): Promise<void> {
  // Throughput: 4 streams × 50,000 entries in messages of 50 (an Envoy buffer of 16 KiB holds a few dozen).
  const perStream = Number(process.env.MESHSLEUTH_BENCH_ALS_ENTRIES ?? 200_000) / 4;
  const load = workload(4, perStream, 50);
  const total = perStream * 4;
  for (const config of [false, true]) {
    const out = join(dir, `tp-${config}.ndjson`);
    const c = await startCollector(['--out', out, ...(config ? ['--config', DETAILS_DUMP] : [])]);
    const load0 = loadavg()[0]!;
    const t0 = process.hrtime.bigint();
    const errs = await Promise.all(load.map((m) => stream(c.port, m)));
    const acked = Number(process.hrtime.bigint() - t0) / 1e9;
    c.stop('SIGTERM');
    const x = await c.exited;
    const all = Number(process.hrtime.bigint() - t0) / 1e9;
    const written = await countLines(out);
    process.stdout.write(
      `[${name}] collector ${config ? 'with --config (each entry explained)' : 'without --config'}: ${total.toLocaleString('en-US')} entries on 4 streams acknowledged in ${acked.toFixed(1)} s (${Math.round(total / acked).toLocaleString('en-US')} entries/s), all written and the collector stopped at ${all.toFixed(1)} s (${Math.round(total / all).toLocaleString('en-US')} entries/s end to end); ` +
        `collector ${x.cpuS.toFixed(1)} s CPU (${Math.round(written / x.cpuS).toLocaleString('en-US')} entries per CPU-second), ${x.rssMb.toFixed(0)} MB peak RSS, exit ${x.code}; ${errs.filter((e) => e).length} streams failed; ${written.toLocaleString('en-US')} lines written; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} (${cpus().length} CPUs)\n`,
    );
  }
}

/** One 60 MB message of 15M empty entries. */
async function alsEmptyEntries(dir: string, name: string): Promise<void> {
  {
    const out = join(dir, 'empty.ndjson');
    const c = await startCollector(['--out', out]);
    const big = emptyEntriesMessage(15_000_000);
    const t0 = process.hrtime.bigint();
    const err = await stream(c.port, [big]);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const ok = await stream(c.port, [encode(detailsAlsMessage(10))]);
    c.stop('SIGTERM');
    const x = await c.exited;
    process.stdout.write(
      `[${name}] one ${(big.length / 1e6).toFixed(0)} MB message of 15,000,000 empty entries: ${err ? grpc.status[err.code] : 'accepted'} after ${s.toFixed(1)} s; the next stream ${ok ? `failed (${ok.details})` : 'OK'}; collector exit ${x.code}, ${x.cpuS.toFixed(1)} s CPU, ${x.rssMb.toFixed(0)} MB peak RSS; ${await countLines(out)} lines written (10 sent after)\n`,
    );
  }
}

/** One entry at start_time.seconds = 9e15 among 10,000, explained. */
async function alsTimestamp(dir: string, name: string): Promise<void> {
  {
    const out = join(dir, 'ts.ndjson');
    const c = await startCollector(['--out', out, '--config', DETAILS_DUMP]);
    const m = detailsAlsMessage(10_000) as { http_logs: { log_entry: { common_properties: { start_time: { seconds: number } } }[] } };
    m.http_logs.log_entry[5000]!.common_properties.start_time = { seconds: 9e15 };
    const err = await stream(c.port, [encode(m)]);
    c.stop('SIGTERM');
    const x = await c.exited;
    const errors = await countLines(out, (l) => l.includes('"verdict":"error"'));
    const back = run(['explain', DETAILS_DUMP, out, '-o', 'ndjson'], dir);
    process.stdout.write(
      `[${name}] 10,000 entries, one at start_time.seconds = 9e15, with --config: stream ${err ? grpc.status[err.code] : 'OK'}; collector exit ${x.code}; ${await countLines(out)} lines written (${errors} explained as an error); explain reads back ${await countLines(back.out)} records, exit ${back.code}: ${last(back.stderr.split('\n').filter((l) => /9000000000000000/.test(l)).join('\n'), 1)}\n`,
    );
  }
}

/** A full disk: a 1 MiB tmpfs when we may mount one, else /dev/full. */
async function alsFullDisk(dir: string, name: string): Promise<void> {
  {
    let target = '/dev/full';
    let mnt: string | null = null;
    const m = join(dir, 'small-disk');
    mkdirSync(m);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', m]).status === 0) {
      mnt = m;
      target = join(m, 'als.ndjson');
    }
    if (existsSync(target) || mnt) {
      const c = await startCollector(['--out', target]);
      const errs = await Promise.all(workload(2, 5_000, 50).map((msgs) => stream(c.port, msgs)));
      const x = await c.exited;
      const written = mnt ? await countLines(target) : 0;
      const stop = /stopped: .*/.exec(c.stderr())?.[0] ?? '';
      process.stdout.write(
        `[${name}] --out on a full disk (${mnt ? '1 MiB tmpfs' : '/dev/full'}), 2 streams × 5,000 entries: streams ${errs.map((e) => (e ? grpc.status[e.code] : 'OK')).join(', ')}; collector exit ${x.code}; ${written} complete lines on disk; "${stop}"\n`,
      );
      if (mnt) spawnSync('umount', [mnt]);
    }
  }
}

/** SIGTERM with entries queued (explaining is slower than receiving). */
async function alsSigterm(dir: string, name: string): Promise<void> {
  {
    const out = join(dir, 'term.ndjson');
    const c = await startCollector(['--out', out, '--config', DETAILS_DUMP]);
    const errs = await Promise.all(workload(4, 25_000, 100).map((msgs) => stream(c.port, msgs)));
    c.stop('SIGTERM');
    const x = await c.exited;
    const written = await countLines(out);
    const explained = await countLines(out, (l) => l.includes('"explanation"'));
    process.stdout.write(
      `[${name}] SIGTERM right after 4 streams × 25,000 entries with --config: ${errs.filter((e) => e).length} streams failed; collector exit ${x.code} after ${x.wallS.toFixed(1)} s; ${written.toLocaleString('en-US')} of 100,000 written, ${explained.toLocaleString('en-US')} explained\n`,
    );
  }
}

export default async function (): Promise<void> {
  if (!haveTime()) {
    process.stdout.write('hostile: /usr/bin/time not available (Debian: apt-get install time), skipped\n');
    return;
  }
  const only = process.env.MESHSLEUTH_BENCH_HOSTILE?.split(',').filter(Boolean);
  for (const [name, fn] of Object.entries(CASES)) {
    if (only && !only.includes(name)) continue;
    const dir = mkdtempSync(join(tmpdir(), `meshsleuth-hostile-${name}-`));
    try {
      await fn(dir, name);
    } catch (e) {
      process.stdout.write(`[${name}] bench failed: ${(e as Error).stack ?? e}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
