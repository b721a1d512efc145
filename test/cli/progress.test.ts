/**
 * Progress: one line on a terminal's stderr (bytes and % of known-size inputs, records/s, ETA), redrawn at
 * most ~10×/s and cleared at the end; nothing at all when stderr is not a terminal.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes, progressLine, REDRAW_MS, setProgressQuiet, startProgress, type ProgressStream } from '../../src/cli/progress.js';
import { REPO, runCli } from '../helpers/cli.js';

function fakeTty(): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY: true, columns: 200, out, write: (s: string) => out.push(s) };
}

describe('the progress line', () => {
  it('shows bytes of the known total, the percentage, records/s and an ETA', () => {
    const line = progressLine({ label: 'flows', totalBytes: 200e6, unit: 'frames' }, { bytes: 50e6, records: 60_000, elapsedMs: 2000 });
    expect(line).toBe('flows  50.0 MB / 200.0 MB (25%)  60,000 frames  30k frames/s  ETA 6s');
  });

  it('without a known size: what was read and the elapsed time, no percentage or ETA', () => {
    const line = progressLine({ label: 'explain', totalBytes: null }, { bytes: 1_500_000, records: 1200, elapsedMs: 3000 });
    expect(line).toBe('explain  1.5 MB  1,200 records  400 records/s  3s');
  });

  it('is redrawn at most every REDRAW_MS, cleared before a warning and at the end', () => {
    const s = fakeTty();
    let now = 0;
    const p = startProgress({ label: 'x', totalBytes: 100 }, s, () => now);
    for (let t = 0; t <= 1000; t += 10) {
      now = t;
      p.update({ bytes: t / 10, records: t });
    }
    const draws = s.out.filter((w) => w.length > 4);
    expect(draws.length).toBeLessThanOrEqual(1000 / REDRAW_MS + 1);
    expect(draws.length).toBeGreaterThanOrEqual(5);
    p.clear();
    expect(s.out.at(-1)).toBe('\r\x1b[K');
    now = 1005;
    p.update({ records: 1 });
    expect(s.out.at(-1)).toMatch(/^\r\x1b\[Kx /); // drawn again right after a clear
    p.done();
    expect(s.out.at(-1)).toBe('\r\x1b[K');
    const n = s.out.length;
    now = 5000;
    p.update({ records: 2 });
    expect(s.out.length).toBe(n);
  });

  it('writes nothing when the stream is not a terminal, or when quiet', () => {
    const pipe = { ...fakeTty(), isTTY: false };
    startProgress({ label: 'x' }, pipe).update({ records: 1 });
    expect(pipe.out).toEqual([]);
    const tty = fakeTty();
    setProgressQuiet(true);
    try {
      startProgress({ label: 'x' }, tty).update({ records: 1 });
    } finally {
      setProgressQuiet(false);
    }
    expect(tty.out).toEqual([]);
  });

  it('fits the terminal width', () => {
    const s = { ...fakeTty(), columns: 30 };
    startProgress({ label: 'a-long-label-for-a-narrow-terminal', totalBytes: 1e9 }, s).update({ bytes: 1e6, records: 5 });
    expect(s.out[0]!.length).toBeLessThanOrEqual(30 + 4);
  });
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Runs the CLI with stderr on a pseudo-terminal (util-linux `script`), stdout to a file; returns what the terminal showed. */
function onTty(args: string[]): { tty: string; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-pty-'));
  const out = join(dir, 'stdout');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('script', ['-qec', `${q(process.execPath)} ${q(ENTRY)} ${args.map(q).join(' ')} > ${q(out)}`, '/dev/null'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
  return { tty: r.stdout, stdout: readFileSync(out, 'utf8') };
}

/** The terminal text with the progress draws (CR, erase line, text up to the next CR + erase line) taken out. */
const withoutProgress = (tty: string): string => tty.replace(/\r\x1b\[K[^\r\n]*(?=\r\x1b\[K)/g, '').replace(/\r\x1b\[K/g, '').replace(/\r\n/g, '\n');

(hasScript ? describe : describe.skip)(`progress on a pseudo-terminal${hasScript ? '' : ' — skipped: util-linux `script` is not installed'}`, () => {
  const cases: [string, string[], RegExp][] = [
    ['flows', ['flows', 'samples/bank-breach/captures/database-0.bank.pcap', 'samples/bank-breach/captures/customer-web-5b9d7c6f8-wq4zt.bank.pcap', '-o', 'ndjson'], /flows {2}\d.* \/ .*\(\d+%\) {2}[\d,]+ frames/],
    ['flows --threads 2', ['flows', 'samples/bank-breach/captures/database-0.bank.pcap', 'samples/bank-breach/captures/customer-web-5b9d7c6f8-wq4zt.bank.pcap', '-o', 'ndjson', '--threads', '2'], /flows {2}\d.* \/ .*\(\d+%\) {2}[\d,]+ frames/],
    ['explain', ['explain', 'samples/bookinfo-authz/config_dumps/details-v1-5f4d584748-2w7mh.default.json', 'samples/bookinfo-authz/logs/details-v1-5f4d584748-2w7mh.default.istio-proxy.log', '-o', 'ndjson'], /explain {2}[\d.]+ kB \/ [\d.]+ kB \(\d+%\) {2}\d+ records/],
    ['report', ['report', 'samples/bank-breach', '--out', '/tmp/meshsleuth-pty-report.json'], /report {2}reading {2}[\d.]+ k?B \/ [\d.]+ kB \(\d+%\)/],
    ['reach (map)', ['reach', 'samples/bookinfo-netpol'], /reach {2}map {2}0\/[\d,]+ pairs \(0%\)/],
    ['compile', ['compile', 'test/istio/compile/scenarios/tcp-echo-methods.yaml', 'test/istio/compile/scenarios/peerauthn.yaml', '--workload', 'foo/tcp-echo', '--labels', 'app=tcp-echo', '--ports', '9000/tcp,9001/tcp,9002/tcp'], /compile {2}(reading manifests|compiling [\d,]+ objects|writing {2}[\d.]+ k?B)/],
  ];
  it('-q: nothing but the output, on a terminal too', () => {
    const t = onTty(['flows', 'samples/bank-breach/captures/database-0.bank.pcap', '-o', 'ndjson', '-q']);
    expect(t.stdout.length).toBeGreaterThan(100);
    expect(t.tty).not.toContain('\x1b[');
    expect(t.tty).not.toMatch(/flows {2}/);
  });

  it('flows on a gzip-compressed capture: the percentage of its compressed bytes, read in this thread or in the two-thread pipeline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-pty-gz-'));
    const gz = join(dir, 'db.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(REPO, 'samples/bank-breach/captures/database-0.bank.pcap'))));
    const total = formatBytes(statSync(gz).size).replace('.', '\\.');
    for (const threads of ['1', '2']) {
      const t = onTty(['flows', gz, '-o', 'ndjson', '--threads', threads]);
      expect(t.stdout.length).toBeGreaterThan(100);
      // the first update is drawn at once: no timing
      expect(t.tty).toMatch(new RegExp(`flows {2}[\\d.]+ k?B / ${total} \\(\\d+%\\)`));
    }
  });

  it('check over a file of requests: requests decided of all, cleared before a malformed line is named; stderr and stdout as a pipe gets them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-pty-check-'));
    const reqs = join(dir, 'reqs.ndjson');
    const req = (method: string) => JSON.stringify({ destination: { address: '10.0.0.2', port: 9080 }, http: { method, path: '/details/0' } });
    writeFileSync(reqs, [req('GET'), '{oops', req('POST')].join('\n') + '\n');
    const args = ['check', 'samples/bookinfo-authz/config_dumps/details-v1-5f4d584748-2w7mh.default.json', '--request', `@${reqs}`, '-o', 'ndjson'];
    const t = onTty(args);
    expect(t.tty).toMatch(/check {2}0\/3 requests \(0%\)/); // the first update is drawn at once
    const piped = await runCli(args);
    expect(piped.stderr).toContain('line 2');
    expect(piped.stderr).not.toMatch(/\r|\x1b\[|requests \(/);
    expect(withoutProgress(t.tty)).toBe(piped.stderr);
    expect(t.stdout).toBe(piped.stdout);
  });

  for (const [name, args, shape] of cases) {
    it(`${name}: the progress line appears, is cleared, and the rest of stderr and stdout are what a pipe gets`, async () => {
      const t = onTty(args);
      expect(t.tty).toMatch(shape);
      expect(t.tty).toContain('\r\x1b[K');
      const piped = await runCli(args);
      expect(piped.stderr).not.toContain('\x1b[');
      expect(piped.stderr).not.toContain('\r');
      expect(withoutProgress(t.tty)).toBe(piped.stderr);
      if (name !== 'report') expect(t.stdout).toBe(piped.stdout);
    });
  }
});
