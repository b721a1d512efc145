/**
 * Issue 17's `explain` targets first, on the fleet evidence the report bench uses (src/synth/fleet.ts:
 * samples/bookinfo-authz's dumps and logs replayed over its 5 proxies) at the same sizes: parse (reading only)
 * ≥ 300k lines and replay (read + pick the proxy's dump + decide + compare) ≥ 150k records per CPU-second, and
 * the built CLI's `explain -o ndjson --threads 1` (ACCESSLOG_BENCH_FLEET=0 leaves this part out).
 *
 * Then access-log figures at 10k, 100k and 1M generated Istio-format lines (ACCESSLOG_BENCH_SIZES, comma-separated):
 * parse rate (lines/s), replay rate through the RBAC engine on the authz fixture's Istio dump (records/s:
 * read + decide + compare), each by wall clock and per CPU-second (user+system; the steadier figure on a
 * shared machine), then the built CLI's `explain --threads 1` (table and -o json) at each size under
 * /usr/bin/time for its wall time and peak RSS; and ALS ingest with 10 concurrent gRPC streams on loopback.
 */
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { TextFormat } from '../src/readers/accesslog/format.js';
import { ISTIO_TEXT } from '../src/readers/accesslog/builtin.js';
import { readAccessLogBatches, newStats } from '../src/readers/accesslog/index.js';
import { alsTypes } from '../src/readers/accesslog/als.js';
import { haveTime, lastLines, timedCli } from './timed.js';
import { AlsCollector } from '../src/readers/accesslog/collector.js';
import { loadConfigDumps } from '../src/readers/configdump/index.js';
import { deciderOver, explainRecord, ExplainAggregator, summaryLine, type Decider } from '../src/analysis/explain.js';
import { EntrySink } from '../src/analysis/als-sink.js';
import { decideRequest } from '../src/envoy/decide.js';
import { writeFleetEvidence } from '../src/synth/fleet.js';
import { deciderFor } from '../src/cli/explain-run.js';

const SIZES = (process.env.ACCESSLOG_BENCH_SIZES ?? process.env.ACCESSLOG_BENCH_LINES ?? '10000,100000,1000000').split(',').map(Number);
const AUTHZ_DUMP = fileURLToPath(new URL('../../../shared/fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml', import.meta.url));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function generate(path: string, n: number): Promise<void> {
  const f = new TextFormat(ISTIO_TEXT);
  const r = rng(42);
  const out = createWriteStream(path);
  const paths = ['/info', '/info/1', '/data', '/status/200', '/headers'];
  let buf = '';
  const t0 = Date.parse('2024-05-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const src = `10.244.${1 + Math.floor(r() * 4)}.${10 + Math.floor(r() * 5)}`;
    const port = 30000 + Math.floor(r() * 30000);
    const mtls = r() < 0.5;
    const tcp = r() < 0.05;
    const method = r() < 0.7 ? 'GET' : 'POST';
    const path = paths[Math.floor(r() * paths.length)]!;
    // consistent with the authz fixture's ALLOW policy: GET /info* or POST /data from an authenticated peer
    const plainDenied = !mtls || !((method === 'GET' && path.startsWith('/info')) || (method === 'POST' && path === '/data'));
    const v = tcp
      ? {
          START_TIME: new Date(t0 + i * 3).toISOString(), RESPONSE_CODE: 0, CONNECTION_TERMINATION_DETAILS: 'rbac_access_denied_matched_policy[none]',
          BYTES_RECEIVED: 233, BYTES_SENT: 0, DURATION: 1, UPSTREAM_CLUSTER_RAW: 'inbound|9000||',
          DOWNSTREAM_LOCAL_ADDRESS: '10.244.0.14:9000', DOWNSTREAM_REMOTE_ADDRESS: `${src}:${port}`,
          REQUESTED_SERVER_NAME: mtls ? 'outbound_.9000_._.db.default.svc.cluster.local' : null,
        }
      : {
          START_TIME: new Date(t0 + i * 3).toISOString(), 'REQ(:METHOD)': method, 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': path, PROTOCOL: 'HTTP/1.1',
          RESPONSE_CODE: plainDenied ? 403 : 200, RESPONSE_CODE_DETAILS: plainDenied ? 'rbac_access_denied_matched_policy[none]' : 'via_upstream',
          BYTES_RECEIVED: 0, BYTES_SENT: plainDenied ? 19 : 135, DURATION: 3, 'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': plainDenied ? null : 1,
          'REQ(USER-AGENT)': 'curl/8.5.0', 'REQ(X-REQUEST-ID)': `${i.toString(16).padStart(8, '0')}-6d84-429d-98bd-c5aee93b5c88`,
          'REQ(:AUTHORITY)': 'httpbin:80', UPSTREAM_HOST: plainDenied ? null : '10.244.0.14:80', UPSTREAM_CLUSTER_RAW: 'inbound|80||',
          UPSTREAM_LOCAL_ADDRESS: plainDenied ? null : '127.0.0.6:41854', DOWNSTREAM_LOCAL_ADDRESS: '10.244.0.14:80',
          DOWNSTREAM_REMOTE_ADDRESS: `${src}:${port}`, REQUESTED_SERVER_NAME: mtls ? 'outbound_.80_._.httpbin.default.svc.cluster.local' : null,
          ROUTE_NAME: plainDenied ? null : 'default',
        };
    buf += f.render(v) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((res) => out.once('drain', () => res()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((res) => out.on('finish', () => res()));
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
}

/** Wall time and this process's CPU time (user+system): on a shared machine the CPU-time rate is the steadier figure. */
function clock(): () => { wallMs: number; cpuMs: number } {
  const t = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return { wallMs: performance.now() - t, cpuMs: (d.user + d.system) / 1000 };
  };
}

function rates(n: number, c: { wallMs: number; cpuMs: number }): string {
  return `${rate(n, c.wallMs)} wall, ${rate(n, c.cpuMs)} per CPU-second`;
}

const n0 = (n: number): string => n.toLocaleString('en-US');

async function benchParse(file: string, lines: number): Promise<void> {
  const stats = newStats();
  const stop = clock();
  let n = 0;
  for await (const batch of readAccessLogBatches([file], { stats })) n += batch.length;
  const c = stop();
  process.stdout.write(`  parse: ${n0(n)} of ${n0(lines)} lines (${(statSync(file).size / 1e6).toFixed(0)} MB) in ${(c.wallMs / 1000).toFixed(2)} s wall, ${(c.cpuMs / 1000).toFixed(2)} s CPU = ${rates(n, c)} (skipped ${stats.skipped})\n`);
}

async function benchReplay(file: string): Promise<void> {
  if (!existsSync(AUTHZ_DUMP)) {
    process.stdout.write('  replay: skipped (needs ../shared/fixtures for a real Istio dump)\n');
    return;
  }
  const { dumps } = await loadConfigDumps([AUTHZ_DUMP]);
  const decide = deciderOver(dumps, (dump, req, o) => decideRequest(dump, req, { unknown: o.unknown }));
  const agg = new ExplainAggregator();
  const stop = clock();
  for await (const batch of readAccessLogBatches([file])) for (const r of batch) agg.add(explainRecord(r, decide));
  const c = stop();
  process.stdout.write(`  replay (read + decide + compare, authz fixture dump): ${(c.wallMs / 1000).toFixed(2)} s wall, ${(c.cpuMs / 1000).toFixed(2)} s CPU = ${rates(agg.summary.records, c)}; ${summaryLine(agg.summary)}\n`);
}

const FLEET_SAMPLE = fileURLToPath(new URL('../../samples/bookinfo-authz', import.meta.url));
const PARSE_TARGET = 300_000;
const REPLAY_TARGET = 150_000;

/** Parse and replay rates (per CPU-second, the issue's measure) and the CLI's ndjson run on fleet evidence of `lines` lines. */
async function benchFleet(dir: string, lines: number, timeOk: boolean): Promise<void> {
  const ev = join(dir, `fleet-${lines}`);
  const res = await writeFleetEvidence(ev, { lines, sample: FLEET_SAMPLE });
  process.stdout.write(`fleet evidence, ${n0(res.lines)} lines over ${res.logs.length} proxies' logs, ${res.dumps.length} dumps; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  const stats = newStats();
  let stop = clock();
  for await (const batch of readAccessLogBatches(res.logs, { stats })) void batch;
  let c = stop();
  const parseRate = stats.lines / (c.cpuMs / 1000);
  process.stdout.write(`  parse: ${n0(stats.lines)} lines in ${(c.wallMs / 1000).toFixed(2)} s wall, ${(c.cpuMs / 1000).toFixed(2)} s CPU = ${rates(stats.lines, c)} (target ≥ ${n0(PARSE_TARGET)} per CPU-second: ${parseRate >= PARSE_TARGET ? 'met' : 'NOT met'})\n`);
  const { dumps } = await loadConfigDumps(res.dumps);
  const decide = deciderFor(dumps);
  const agg = new ExplainAggregator();
  stop = clock();
  for await (const batch of readAccessLogBatches(res.logs)) for (const r of batch) agg.add(explainRecord(r, decide));
  c = stop();
  const replayRate = agg.summary.records / (c.cpuMs / 1000);
  process.stdout.write(`  replay: ${n0(agg.summary.records)} records in ${(c.wallMs / 1000).toFixed(2)} s wall, ${(c.cpuMs / 1000).toFixed(2)} s CPU = ${rates(agg.summary.records, c)} (target ≥ ${n0(REPLAY_TARGET)} per CPU-second: ${replayRate >= REPLAY_TARGET ? 'met' : 'NOT met'}); ${summaryLine(agg.summary)}\n`);
  if (timeOk) {
    const r = timedCli(['explain', join(ev, 'config_dumps'), join(ev, 'logs'), '--threads', '1', '-o', 'ndjson']);
    process.stdout.write(`  CLI explain --threads 1 -o ndjson: ${Number.isNaN(r.wallS) ? `no figures (exit ${r.status}: ${lastLines(r.stderr)})` : `${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU (${n0(Math.round(res.lines / r.cpuS))} lines per CPU-second, start-up, dump load and output included), peak RSS ${r.rssMb.toFixed(0)} MB`}\n`);
  }
  rmSync(ev, { recursive: true, force: true });
}

/** The built CLI under /usr/bin/time: wall, user+system CPU and peak RSS of the process (stdout discarded). */
function benchCli(file: string, lines: number, args: string[]): void {
  const r = timedCli(['explain', AUTHZ_DUMP, file, '--threads', '1', ...args]);
  if (Number.isNaN(r.wallS)) {
    process.stdout.write(`  explain ${args.join(' ') || '(table)'}: no figures (exit ${r.status}: ${lastLines(r.stderr)})\n`);
    return;
  }
  const wall = r.wallS;
  const cpu = r.cpuS;
  process.stdout.write(`  CLI explain --threads 1 ${args.join(' ') || '(table)'}: ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU (${n0(Math.round(lines / cpu))} lines per CPU-second, start-up and dump load included), peak RSS ${r.rssMb.toFixed(0)} MB${r.status === 0 || r.status === 1 ? '' : ` (exit ${r.status})`}\n`);
}

async function benchAls(): Promise<void> {
  const types = alsTypes();
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-als-bench-'));
  let decider: Decider | null = null;
  if (existsSync(AUTHZ_DUMP)) {
    const { dumps } = await loadConfigDumps([AUTHZ_DUMP]);
    decider = deciderOver(dumps, (dump, req, o) => decideRequest(dump, req, { unknown: o.unknown }));
  } else process.stdout.write('ALS ingest with --config: skipped (needs ../shared/fixtures for a real Istio dump)\n');
  const runs: [number, Decider | null][] = [[1, null], [50, null], ...(decider ? ([[50, decider]] as [number, Decider][]) : [])];
  for (const [batch, decide] of runs) {
    const out = createWriteStream(join(dir, 'als.ndjson'));
    // the collector as `collect` runs it: entries queued, explained (with --config) and written off the receive path
    const sink = new EntrySink(out, decide);
    const col = new AlsCollector({ listen: '127.0.0.1:0', onEntry: (l) => sink.push(l), pressure: () => sink.pressure() });
    const port = await col.start();
    const STREAMS = 10;
    const ENTRIES = batch === 1 ? 20_000 : 100_000; // per stream
    const mkEntry = (i: number) => ({
      common_properties: {
        downstream_remote_address: { socket_address: { address: '10.244.1.10', port_value: 30000 + (i % 30000) } },
        downstream_local_address: { socket_address: { address: '10.244.0.14', port_value: 80 } },
        tls_properties: { tls_version: 'TLSv1_3', tls_sni_hostname: 'outbound_.80_._.httpbin.default.svc.cluster.local', peer_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/default/sa/sleep' }] } },
        start_time: { seconds: 1714521600 + i, nanos: 0 },
        upstream_cluster: 'inbound|80||',
      },
      protocol_version: 'HTTP11',
      request: { request_method: 'GET', path: '/info', authority: 'httpbin:80', request_id: `r-${i}` },
      response: { response_code: { value: 200 }, response_code_details: 'via_upstream' },
    });
    const encodedBatch = Buffer.from(types.message.encode(types.message.fromObject({ http_logs: { log_entry: Array.from({ length: batch }, (_, i) => mkEntry(i)) } })).finish());
    const first = Buffer.from(types.message.encode(types.message.fromObject({ identifier: { node: { id: 'sidecar~10.244.0.14~httpbin.default~default.svc.cluster.local' }, log_name: 'als' }, http_logs: { log_entry: Array.from({ length: batch }, (_, i) => mkEntry(i)) } })).finish());
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const stop = clock();
    await Promise.all(Array.from({ length: STREAMS }, async () => {
      const done = new Promise<void>((res, rej) => {
        const call = client.makeClientStreamRequest<Buffer, Buffer>('/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs', (b: Buffer) => b, (b: Buffer) => b, (err) => (err ? rej(err) : res()));
        void (async () => {
          for (let m = 0; m < ENTRIES / batch; m++) {
            if (!call.write(m === 0 ? first : encodedBatch)) await new Promise((r) => call.once('drain', r));
          }
          call.end();
        })();
      });
      await done;
    }));
    const c = stop();
    await col.shutdown(1000);
    client.close();
    await sink.close();
    const all = stop(); // until every entry is on disk
    process.stdout.write(
      `ALS ingest${decide ? ' with --config (authz fixture dump)' : ''}, ${STREAMS} concurrent streams, ${batch} entr${batch === 1 ? 'y' : 'ies'}/message, NDJSON to disk: ` +
        `${col.stats.entries.toLocaleString('en-US')} entries received in ${(c.wallMs / 1000).toFixed(2)} s = ${rates(col.stats.entries, c)}; ` +
        `${sink.written.toLocaleString('en-US')} written in ${(all.wallMs / 1000).toFixed(2)} s (clients in the same process)\n`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-accesslog-bench-'));
  const timeOk = haveTime();
  try {
    if (process.env.ACCESSLOG_BENCH_FLEET !== '0') for (const lines of SIZES) await benchFleet(dir, lines, timeOk);
    for (const lines of SIZES) {
      const file = join(dir, `istio-proxy-${lines}.log`);
      const t = performance.now();
      await generate(file, lines);
      process.stdout.write(`${n0(lines)} lines (generated in ${((performance.now() - t) / 1000).toFixed(1)} s); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} CPUs\n`);
      await benchParse(file, lines);
      await benchReplay(file);
      if (!existsSync(AUTHZ_DUMP)) {
        // the CLI runs need the same dump
      } else if (!timeOk) process.stdout.write('  CLI explain: skipped (needs /usr/bin/time; Debian: apt-get install time)\n');
      else {
        benchCli(file, lines, []);
        benchCli(file, lines, ['-o', 'json']);
      }
      rmSync(file, { force: true });
    }
    if (process.env.ACCESSLOG_BENCH_ALS !== '0') await benchAls();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
