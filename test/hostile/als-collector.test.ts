/** The ALS collector survives its clients: hostile entries, huge messages, a full disk, a shutdown under load. */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { alsTypes } from '../../src/readers/accesslog/als.js';
import { entriesOnWire, MAX_ENTRIES_PER_MESSAGE } from '../../src/readers/accesslog/collector.js';
import { runCli, REPO } from '../helpers/cli.js';
import { detailsAlsMessage } from '../../src/synth/hostile.js';
import { sampleHttpMessage } from '../readers/accesslog/als-helpers.js';

const ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';
const CONFIG = join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');

interface Running {
  port: number;
  stderr: () => string;
  exited: Promise<number>;
  stop: (signal: NodeJS.Signals) => Promise<number>;
}

/** `collect` with `args`; `wrap` runs it under another command (prlimit, unshare) given the node command line. */
function startCollect(args: string[], wrap: (node: string[]) => string[] = (node) => node): Promise<Running> {
  return new Promise((resolve, reject) => {
    const [cmd, ...argv] = wrap([process.execPath, ENTRY, 'collect', '--listen', '127.0.0.1:0', ...args]);
    const child = spawn(cmd!, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let started = false;
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m && !started) {
        started = true;
        resolve({ port: Number(m[1]), stderr: () => err, exited, stop: async (sig) => { child.kill(sig); return exited; } });
      }
    });
    child.stdout.resume();
    void exited.then((code) => { if (!started) reject(new Error(`collect exited ${code}: ${err}`)); });
  });
}

/** One message with `n` copies of the sample entry (request ids and ports made distinct). */
function bigMessage(n: number, first: number, withIdentifier: boolean): Record<string, unknown> {
  const base = sampleHttpMessage(0, withIdentifier) as { http_logs: { log_entry: Record<string, unknown>[] } };
  const proto = base.http_logs.log_entry[0]!;
  const entries = Array.from({ length: n }, (_, i) => {
    const e = structuredClone(proto) as { common_properties: { start_time?: { seconds: number; nanos?: number } }; request?: Record<string, unknown> };
    e.common_properties.start_time = { seconds: 1_795_000_000 + first + i };
    e.request = { ...(e.request ?? {}), request_id: `r-${first + i}` };
    return e;
  });
  return { ...base, http_logs: { log_entry: entries } };
}

function send(port: number, msgs: Record<string, unknown>[]): Promise<grpc.ServiceError | null> {
  const t = alsTypes().message;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 128 * 1024 * 1024 });
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<Record<string, unknown>, Buffer>(PATH, (m) => Buffer.from(t.encode(t.fromObject(m)).finish()), (b: Buffer) => b, (err) => {
      client.close();
      resolve(err ?? null);
    });
    call.on('error', () => undefined);
    for (const m of msgs) call.write(m);
    call.end();
  });
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-als-'));

/** Whether this user may mount a tmpfs in a mount namespace of its own (unprivileged user namespaces). */
const canMountTmpfs = ((): boolean => {
  const d = tmp();
  return spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${d}'`], { stdio: 'ignore' }).status === 0;
})();
const havePrlimit = spawnSync('prlimit', ['--fsize=1000', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * Two ways to fill the disk under the collector without root: a 256 KiB tmpfs mounted in a mount namespace of
 * its own (ENOSPC; the file is copied out when the collector exits, since the mount goes with the namespace), and
 * a file size limit (RLIMIT_FSIZE, EFBIG: the write that crosses it is short, the next one fails).
 */
const FULL_DISKS = [
  {
    name: 'a 256 KiB tmpfs (ENOSPC)',
    needs: 'unshare -rm and tmpfs',
    ok: canMountTmpfs,
    errno: 'ENOSPC',
    start: (dir: string) =>
      startCollect(['--out', join(dir, 'mnt/als.ndjson'), '--quiet'], (node) => [
        'unshare', '-rm', 'sh', '-c', `mkdir '${dir}/mnt' && mount -t tmpfs -o size=256k tmpfs '${dir}/mnt' && "$@"; rc=$?; cp '${dir}/mnt/als.ndjson' '${dir}/copy.ndjson'; exit $rc`, 'sh', ...node,
      ]),
    file: (dir: string) => join(dir, 'copy.ndjson'),
    out: (dir: string) => join(dir, 'mnt/als.ndjson'),
  },
  {
    name: 'a file size limit of 300,001 bytes (EFBIG)',
    needs: 'prlimit',
    ok: havePrlimit,
    errno: 'EFBIG',
    start: (dir: string) => startCollect(['--out', join(dir, 'als.ndjson'), '--quiet'], (node) => ['prlimit', '--fsize=300001', ...node]),
    file: (dir: string) => join(dir, 'als.ndjson'),
    out: (dir: string) => join(dir, 'als.ndjson'),
  },
];

describe('ALS collector under hostile clients', () => {
  it('an entry whose start_time is past year 9999 is written like the others, explained as an error, and read back with a precise diagnostic', async () => {
    const out = join(tmp(), 'als.ndjson');
    const c = await startCollect(['--out', out, '--quiet', '--config', CONFIG]);
    const m = bigMessage(10_000, 0, true) as { http_logs: { log_entry: { common_properties: { start_time: { seconds: number } } }[] } };
    m.http_logs.log_entry[5000]!.common_properties.start_time = { seconds: 9e15 };
    expect(await send(c.port, [m])).toBeNull();
    expect(await send(c.port, [bigMessage(10, 20_000, true)])).toBeNull(); // the collector still serves
    expect(await c.stop('SIGTERM')).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; explanation?: { verdict: string; reason: string } });
    expect(lines).toHaveLength(10_010);
    expect(lines[5000]!.explanation).toMatchObject({ verdict: 'error' });
    expect(lines[5000]!.explanation!.reason).toMatch(/start_time\.seconds = 9000000000000000 is outside google\.protobuf\.Timestamp's range/);
    expect(c.stderr()).toMatch(/stopped: 10010 entries from 2 streams .*; 10010 written to /);
    const r = await runCli(['explain', CONFIG, out, '-o', 'ndjson']);
    expect(r.code).not.toBe(3);
    expect(r.stdout.trim().split('\n')).toHaveLength(10_009);
    expect(r.stderr).toMatch(/als\.ndjson, line 5001: ALS entry: entry\.common_properties\.start_time\.seconds = 9000000000000000 is outside/);
  });

  it(`a message of more than ${MAX_ENTRIES_PER_MESSAGE} entries is refused with RESOURCE_EXHAUSTED before it is decoded, and other streams go on`, async () => {
    const out = join(tmp(), 'als.ndjson');
    const c = await startCollect(['--out', out, '--quiet']);
    // 1,000,000 empty entries: 2 MB on the wire, hundreds of MB once decoded
    const t = alsTypes().message;
    const empty = { identifier: { node: { id: 'x' }, log_name: 'l' }, http_logs: { log_entry: Array.from({ length: 1_000_000 }, () => ({})) } };
    const bytes = t.encode(t.fromObject(empty)).finish();
    expect(entriesOnWire(bytes)).toBe(1_000_000);
    const err = await send(c.port, [empty]);
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await send(c.port, [bigMessage(3, 0, true)])).toBeNull();
    expect(await c.stop('SIGTERM')).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it.skipIf(!existsSync('/dev/full'))('a full disk fails the streams with UNAVAILABLE at once, says so, and never claims the entries were written (needs /dev/full)', async () => {
    const c = await startCollect(['--out', '/dev/full', '--quiet']);
    const err = await send(c.port, [bigMessage(100, 0, true), bigMessage(100, 100, false)]);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(err?.details).toMatch(/cannot write \/dev\/full/);
    const code = await c.exited;
    expect(code).toBe(2);
    expect(c.stderr()).toMatch(/ending every stream with UNAVAILABLE/);
    expect(c.stderr()).toMatch(/; 0 written to \/dev\/full, \d+ NOT written/);
  });

  for (const disk of FULL_DISKS) {
    it.skipIf(!disk.ok)(`a disk that fills up mid-write, ${disk.name}: the written count is exactly the complete lines in the file, and a partial last line is reported as partial (needs ${disk.needs})`, async () => {
      const dir = tmp();
      const c = await disk.start(dir);
      const msgs = (s: number): Record<string, unknown>[] => Array.from({ length: 20 }, (_, k) => bigMessage(100, s * 2000 + k * 100, k === 0));
      const errs = await Promise.all([0, 1].map((s) => send(c.port, msgs(s))));
      expect(errs.map((e) => e?.code)).toEqual([grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]);
      expect(await c.exited).toBe(2);
      const bytes = readFileSync(disk.file(dir));
      const complete = bytes.toString('utf8').split('\n').length - 1;
      const partial = bytes.length - (bytes.lastIndexOf(10) + 1);
      expect(complete).toBeGreaterThan(0);
      const stop = new RegExp(`stopped: (\\d+) entries from 2 streams .*; (\\d+) written to ${disk.out(dir).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, (\\d+) NOT written \\(${disk.errno}[^)]*\\)(; the file ends in the first (\\d+) bytes of one of them \\(a partial line\\))?\n`).exec(c.stderr());
      expect(stop, c.stderr()).not.toBeNull();
      expect(Number(stop![2])).toBe(complete);
      expect(Number(stop![1])).toBe(complete + Number(stop![3]));
      expect(Number(stop![5] ?? 0)).toBe(partial);
      // every complete line is a whole entry
      expect(bytes.toString('utf8').split('\n').slice(0, complete).every((l) => (JSON.parse(l) as { type: string }).type === 'als')).toBe(true);
    });
  }

  it('the output file is created 0600 (it holds request headers)', async () => {
    const out = join(tmp(), 'als.ndjson');
    const c = await startCollect(['--out', out, '--quiet']);
    expect(await send(c.port, [bigMessage(1, 0, true)])).toBeNull();
    expect(await c.stop('SIGTERM')).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('SIGTERM right after a burst explained with --config: every received entry is written (nothing queued is lost)', async () => {
    const out = join(tmp(), 'als.ndjson');
    const c = await startCollect(['--out', out, '--quiet', '--config', CONFIG]);
    const streams = await Promise.all([0, 1, 2, 3].map((k) => send(c.port, [bigMessage(5_000, k * 5_000, true)])));
    expect(streams.every((e) => e === null)).toBe(true);
    expect(await c.stop('SIGTERM')).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(lines.every((l) => (JSON.parse(l) as { explanation?: unknown }).explanation !== undefined)).toBe(true);
  });

  it('explaining on a worker thread (--threads 2) writes the very lines explaining on the main thread (--threads 1) writes, in order', async () => {
    const runs: string[][] = [];
    for (const threads of ['1', '2']) {
      const out = join(tmp(), 'als.ndjson');
      const c = await startCollect(['--out', out, '--quiet', '--config', CONFIG, '--threads', threads]);
      const m = detailsAlsMessage(300, 0) as { http_logs: { log_entry: { common_properties: { start_time: { seconds: number } } }[] } };
      m.http_logs.log_entry[7]!.common_properties.start_time = { seconds: 9e15 };
      expect(await send(c.port, [m, detailsAlsMessage(300, 300, false), detailsAlsMessage(1, 600, false)])).toBeNull();
      expect(await c.stop('SIGTERM')).toBe(0);
      expect(c.stderr()).toMatch(/; 601 written to /);
      // what differs between two runs: the receive time and the client's port in the stream label
      runs.push(readFileSync(out, 'utf8').trim().split('\n').map((l) => l.replace(/"stream":"[^"]*","index":(\d+),"received":"[^"]*"/, '"index":$1')));
    }
    expect(runs[1]).toEqual(runs[0]);
    const verdicts = runs[0]!.map((l) => (JSON.parse(l) as { explanation: { verdict: string } }).explanation.verdict);
    expect(new Set(verdicts)).toEqual(new Set(['agrees', 'disagrees', 'error']));
    expect(verdicts[7]).toBe('error');
  });
});
