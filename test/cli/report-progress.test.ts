/**
 * `report`'s progress line on a terminal (src/cli/report-progress.ts): reading with bytes and the percentage
 * of the inputs' sizes, then "pass k/3 (what)" with records done of the spill's count and the percentage, the
 * steps after; one line, cleared at the end; nothing when stderr is not a terminal or with -q. No assertion
 * depends on timing (the fake clock moves by hand; the pty runs only look for lines drawn unthrottled).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProgress, type ProgressStream } from '../../src/cli/progress.js';
import { ReportProgress } from '../../src/cli/report-progress.js';
import { REPO, runCli } from '../helpers/cli.js';

function fakeTty(): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY: true, columns: 300, out, write: (s: string) => out.push(s) };
}

/** The lines drawn (each write after its "\r\x1b[K"), without the clears. */
const drawn = (s: { out: string[] }): string[] => s.out.map((w) => w.replace(/^\r\x1b\[K/, '')).filter((w) => w !== '');

describe("report's progress line", () => {
  it('reading: bytes of the total and the percentage, the records read, an ETA once a second has passed, the file last', () => {
    const s = fakeTty();
    let now = 0;
    const p = new ReportProgress(startProgress({ label: 'report' }, s, () => now), () => now);
    p.onRead({ file: 'logs/a.log', kind: 'access-log', bytes: 1_000_000, totalBytes: 4_000_000, records: 3000 });
    expect(drawn(s).at(-1)).toBe('report  reading  1.0 MB / 4.0 MB (25%)  3,000 records  0s  logs/a.log');
    now = 2000;
    p.onRead({ file: 'logs/a.log', kind: 'access-log', bytes: 2_000_000, totalBytes: 4_000_000, records: 6000 });
    expect(drawn(s).at(-1)).toBe('report  reading  2.0 MB / 4.0 MB (50%)  6,000 records  3.0k records/s  ETA 2s  logs/a.log');
  });

  it('each pass: its number of all, what it does, records done of the total and the percentage, its own rate and ETA; the findings pass adds the ETA of all passes', () => {
    const s = fakeTty();
    let now = 0;
    const p = new ReportProgress(startProgress({ label: 'report' }, s, () => now), () => now);
    p.onRead({ file: 'x.log', kind: 'access-log', bytes: 10, totalBytes: 10, records: 1000 });
    now = 10_000;
    p.onStep('sorting the records');
    expect(drawn(s).at(-1)).toBe('report  sorting the records  0s');
    p.onPass({ pass: 1, passes: 3, what: 'flow facts', done: 0, total: 1000 });
    expect(drawn(s).at(-1)).toBe('report  pass 1/3 (flow facts)  0/1,000 records (0%)  0s');
    now = 12_000;
    p.onPass({ pass: 1, passes: 3, what: 'flow facts', done: 500, total: 1000 });
    expect(drawn(s).at(-1)).toBe('report  pass 1/3 (flow facts)  500/1,000 records (50%)  250 records/s  ETA 2s'); // its own clock, not the command's
    now = 14_000;
    p.onPass({ pass: 2, passes: 3, what: 'findings', done: 0, total: 1000 });
    expect(drawn(s).at(-1)).toBe('report  pass 2/3 (findings)  0/1,000 records (0%)  0s');
    now = 18_000;
    p.onPass({ pass: 2, passes: 3, what: 'findings', done: 250, total: 1000 });
    // this pass: 12 s to go; the views pass counted as long as this one (16 s)
    expect(drawn(s).at(-1)).toBe('report  pass 2/3 (findings)  250/1,000 records (25%)  63 records/s  ETA 12s  all passes: ETA 28s');
    now = 30_000;
    p.onPass({ pass: 3, passes: 3, what: 'views', done: 0, total: 1000 });
    now = 31_000;
    p.onPass({ pass: 3, passes: 3, what: 'views', done: 100, total: 1000 });
    expect(drawn(s).at(-1)).toBe('report  pass 3/3 (views)  100/1,000 records (10%)  100 records/s  ETA 9s');
    p.done();
    expect(s.out.at(-1)).toBe('\r\x1b[K');
    const n = s.out.length;
    now = 40_000;
    p.onStep('writing the JSON');
    expect(s.out.length).toBe(n); // done is done
  });

  it('draws nothing when stderr is not a terminal', () => {
    const pipe = { ...fakeTty(), isTTY: false };
    const p = new ReportProgress(startProgress({ label: 'report' }, pipe));
    expect(p.active).toBe(false);
    p.onRead({ file: 'x.log', kind: 'access-log', bytes: 1, totalBytes: 2, records: 1 });
    p.onPass({ pass: 1, passes: 3, what: 'flow facts', done: 0, total: 1 });
    p.done();
    expect(pipe.out).toEqual([]);
  });
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Runs the CLI with stderr (and stdout) on a pseudo-terminal (util-linux `script`); returns what the terminal showed. */
function onTty(args: string[]): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('script', ['-qec', `${q(process.execPath)} ${q(ENTRY)} ${args.map(q).join(' ')}`, '/dev/null'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, COLUMNS: '300' } });
  return r.stdout;
}

(hasScript ? describe : describe.skip)(`report on a pseudo-terminal${hasScript ? '' : ' — skipped: util-linux `script` is not installed'}`, () => {
  const out = join(mkdtempSync(join(tmpdir(), 'meshsleuth-report-pty-')), 'r.json');

  it('shows reading with the percentage of the inputs, then each pass with its records and percentage, and clears the line', async () => {
    const tty = onTty(['report', 'samples/bank-breach', '--out', out]);
    const records = JSON.parse(readFileSync(out, 'utf8')).summary.records.total as number;
    expect(records).toBeGreaterThan(0);
    expect(tty).toMatch(/report {2}reading {2}[\d.]+ k?B \/ [\d.]+ kB \(\d+%\)/);
    // each pass is drawn as it starts (a new step is drawn at once, whatever the throttle)
    for (const [k, what] of [[1, 'flow facts'], [2, 'findings'], [3, 'views']] as const) expect(tty).toContain(`report  pass ${k}/3 (${what})  0/${records} records (0%)`);
    expect(tty).toContain('report  writing the JSON');
    // the last draw is cleared before the summary line
    expect(tty).toMatch(/\r\x1b\[Kmeshsleuth: wrote /);
    const piped = await runCli(['report', 'samples/bank-breach', '--out', out]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toMatch(/pass \d|reading|\r|\x1b\[/);
  }, 120_000);

  it('with ztunnel records: the pre-pass, then three passes (k/4)', () => {
    const tty = onTty(['report', 'samples/ambient-bookinfo', '--out', out]);
    expect(tty).toContain('report  pass 1/4 (tunnel pairs, records without a time)  0/');
    expect(tty).toContain('report  pass 4/4 (views)  0/');
  }, 120_000);

  it('-q: nothing but the error that ends the command, on a terminal too', () => {
    const tty = onTty(['report', 'samples/bank-breach', '--out', out, '-q']);
    expect(tty).not.toContain('\x1b[');
    expect(tty).not.toMatch(/pass \d|reading/);
  }, 120_000);
});
