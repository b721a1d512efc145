/**
 * `--threads N` (worker threads) prints exactly what the single-threaded path prints: stdout, stderr and the
 * exit code, byte for byte, on the real captures of ../shared and the samples' captures and logs.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeShared, runCli, REPO, SHARED, type CliResult } from '../helpers/cli.js';

const samples = (sample: string, dir: string): string[] =>
  readdirSync(join(REPO, 'samples', sample, dir)).sort().map((f) => join('samples', sample, dir, f));

async function both(args: string[], env: Record<string, string> = {}): Promise<[CliResult, CliResult]> {
  const one = await runCli([...args, '--threads', '1'], { env });
  const two = await runCli([...args, '--threads', '2'], { env });
  return [one, two];
}

function expectSame([one, two]: [CliResult, CliResult]): void {
  expect(two.code).toBe(one.code);
  expect(two.stderr).toBe(one.stderr);
  expect(two.stdout).toBe(one.stdout);
}

describe('flows --threads: the same output as one thread', () => {
  const captures = ['bank-breach', 'bookinfo-authz', 'legacy-plaintext', 'tcp-echo', 'details-path'].flatMap((s) => samples(s, 'captures'));

  it('every sample capture in one run, -o ndjson / json / wide', async () => {
    for (const o of ['ndjson', 'json', 'wide']) {
      const r = await both(['flows', ...captures, '-o', o]);
      expect(r[0].code).toBe(0);
      expect(r[0].stdout.length).toBeGreaterThan(1000);
      expectSame(r);
    }
  });

  it('with filters, a config check and --fail-on (exit 1 either way)', async () => {
    const r = await both(['flows', ...samples('bank-breach', 'captures'), ...samples('legacy-plaintext', 'captures'), '--config', 'samples/legacy-plaintext/config_dumps', '--security', 'plaintext,mtls', '--fail-on', 'plaintext']);
    expect(r[0].code).toBe(1);
    expectSame(r);
  });

  it('a damaged or missing capture among good ones: the same one-line message, exit 2, the rest listed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-threads-'));
    const good = readFileSync(join(REPO, samples('tcp-echo', 'captures')[0]!));
    const bad = join(dir, 'cut.pcap');
    // a classic pcap header, then a record claiming 100 MB
    const b = Buffer.from(good.subarray(0, 24 + 16));
    b.writeUInt32LE(100_000_000, 24 + 8);
    writeFileSync(bad, b);
    const r = await both(['flows', samples('tcp-echo', 'captures')[0]!, bad, join(dir, 'missing.pcap'), samples('tcp-echo', 'captures')[1]!, '-o', 'ndjson']);
    expect(r[0].code).toBe(2);
    expect(r[0].stderr).toContain('cut.pcap');
    expect(r[0].stderr).toContain('missing.pcap: no such file or directory');
    expect(r[0].stdout.trim().split('\n').length).toBeGreaterThan(2);
    expectSame(r);
  });
});

describeShared('flows --threads on the real captures of ../shared', () => {
  it('all of them in one run (-o json), and each alone in the table', async () => {
    const caps = readdirSync(join(SHARED, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f)).sort().map((f) => join(SHARED, 'captures', f));
    expect(caps.length).toBeGreaterThan(10);
    expectSame(await both(['flows', ...caps, '-o', 'json']));
    expectSame(await both(['flows', ...caps]));
  });
});

describe('explain --threads: the same output as one thread, also when a log is split into byte ranges', () => {
  const dump = 'samples/bookinfo-authz/stages/02-productpage-viewer/config_dumps/details-v1-5f4d584748-2w7mh.default.json';
  const logs = samples('bookinfo-authz', 'logs');
  // tiny ranges, so every log is cut into several (line numbers must still be the file's)
  const split = { MESHSLEUTH_CHUNK_BYTES: '2048' };

  it('-o ndjson / json / table over every bookinfo log, split and not', async () => {
    for (const env of [{}, split]) {
      for (const o of ['ndjson', 'json', 'table']) {
        const r = await both(['explain', dump, ...logs, '-o', o], env);
        expect(r[0].code).toBe(0);
        expectSame(r);
      }
    }
  });

  it('several dumps in force at different times, --until, --fail-on (exit 1 either way)', async () => {
    const dumps = ['samples/bookinfo-authz/config_dumps/details-v1-5f4d584748-2w7mh.default.json', ...['00-no-policy', '01-allow-nothing', '02-productpage-viewer', '03-details-reviews-viewer'].map((s) => `samples/bookinfo-authz/stages/${s}/config_dumps/details-v1-5f4d584748-2w7mh.default.json`)];
    const r = await both(['explain', ...dumps, 'samples/bookinfo-authz/logs/details-v1-5f4d584748-2w7mh.default.istio-proxy.log', '--until', '2026-11-22T10:14:59Z', '--fail-on', 'denied', '-o', 'ndjson'], split);
    expect(r[0].code).toBe(1);
    expectSame(r);
  });

  it('against a proposed config (--config): the same changes', async () => {
    const r = await both(['explain', '--config', dump, ...samples('bank-breach', 'logs'), ...logs, '-o', 'json'], split);
    expectSame(r);
  });

  it('bad lines in a split log: the same first diagnostics and counts, with the file\'s line numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-threads-'));
    const text = readFileSync(join(REPO, logs[0]!), 'utf8').split('\n');
    const withJunk = text.flatMap((l, i) => (i % 7 === 3 ? ['this is not an access log line', l] : [l])).join('\n');
    const f = join(dir, 'junk.log');
    writeFileSync(f, withJunk);
    const r = await both(['explain', dump, f, '-o', 'ndjson'], split);
    expect(r[0].stderr).toMatch(/junk\.log, line \d+/);
    expectSame(r);
  });
});

describe('report --threads: captures read in workers while the main thread reads the rest, the same report', () => {
  it('JSON and table over two sample bundles (every capture, log, dump and inventory)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-threads-'));
    const env = { SOURCE_DATE_EPOCH: '1764000000' };
    const outs: string[] = [];
    for (const t of ['1', '2']) {
      const out = join(dir, `report.json`);
      const r = await runCli(['report', 'samples/bookinfo-authz', 'samples/bank-breach', '--out', out, '--threads', t], { env });
      expect(r.code).toBe(0);
      outs.push(readFileSync(out, 'utf8'), r.stderr);
    }
    expect(outs[0]!.length).toBeGreaterThan(10_000);
    expect(outs[2]).toBe(outs[0]);
    expect(outs[3]).toBe(outs[1]);
    expectSame(await both(['report', 'samples/bookinfo-authz', 'samples/bank-breach'], env));
  });
});

describe('report --threads: access logs parsed and written to sorted runs in workers, adopted in input order', () => {
  it('several logs (ztunnel ones, a gzip one, a damaged gzip one, one with bad lines), --since, default and tiny spill budgets: the same JSON and stderr', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-threads-'));
    const bookinfo = samples('bookinfo-authz', 'logs');
    writeFileSync(join(dir, 'productpage.log.gz'), gzipSync(readFileSync(join(REPO, bookinfo[1]!))));
    // long enough that detection judges its head; damaged past it (exit 2, the records before the damage kept)
    const cut = gzipSync(readFileSync(join(REPO, bookinfo[0]!), 'utf8').repeat(60));
    writeFileSync(join(dir, 'cut.log.gz'), cut.subarray(0, Math.floor(cut.length * 0.6)));
    const text = readFileSync(join(REPO, bookinfo[3]!), 'utf8').split('\n');
    writeFileSync(join(dir, 'junk.log'), text.flatMap((l, i) => (i % 5 === 2 ? ['GET / not an access log line', l] : [l])).join('\n'));
    const args = ['report', 'samples/bookinfo-authz', 'samples/ambient-bookinfo', 'samples/bank-breach/logs', join(dir, 'productpage.log.gz'), join(dir, 'cut.log.gz'), join(dir, 'junk.log'), '--since', '2026-11-22T10:05:00Z'];
    const out = join(dir, 'out', 'report.json');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'out'));
    const runs: { json: string; stderr: string; code: number }[] = [];
    for (const budget of [{}, { MESHSLEUTH_SPILL_RECORDS: '5' }]) {
      for (const t of ['1', '2']) {
        const r = await runCli([...args, '--out', out, '--threads', t], { env: { SOURCE_DATE_EPOCH: '1764000000', ...budget } });
        runs.push({ json: readFileSync(out, 'utf8'), stderr: r.stderr, code: r.code });
      }
    }
    const first = runs[0]!;
    expect(first.code).toBe(2); // the damaged log
    expect(first.stderr).toContain('cut.log.gz');
    expect(first.stderr).toMatch(/left out \d+ record\(s\) outside it/);
    expect(first.json).toContain('junk.log');
    expect(first.json).toContain('ztunnel');
    expect(first.json.length).toBeGreaterThan(10_000);
    for (const r of runs.slice(1)) {
      expect(r.code).toBe(first.code);
      expect(r.stderr).toBe(first.stderr);
      expect(r.json).toBe(first.json);
    }
  }, 240_000); // four reports: on a loaded 2-core machine 30-60 s
});

describe('explain --threads on a gzip-compressed log', () => {
  it('is read whole by one worker (never cut into byte ranges): the same output', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-threads-'));
    const f = join(dir, 'details.log.gz');
    writeFileSync(f, gzipSync(readFileSync(join(REPO, 'samples/bookinfo-authz/logs/details-v1-5f4d584748-2w7mh.default.istio-proxy.log'))));
    const r = await both(['explain', 'samples/bookinfo-authz/config_dumps/details-v1-5f4d584748-2w7mh.default.json', f, '-o', 'ndjson'], { MESHSLEUTH_CHUNK_BYTES: '64' });
    expect(r[0].code).toBe(0);
    expect(r[0].stdout.split('\n').length).toBeGreaterThan(3);
    expectSame(r);
  });
});
