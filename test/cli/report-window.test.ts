/**
 * `report --since/--until`: the window is applied while reading; what it left out is counted in the
 * manifest and on stderr, and the report over the window equals the report over evidence cut to it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import type { ReportModel } from '../../src/analysis/report-model.js';

const SAMPLE = join(REPO, 'samples/bookinfo-authz');
const SINCE = '2026-11-22T10:10:00Z';
const UNTIL = '2026-11-22T10:16:00Z';

/** Records in the sample's logs by their bracketed start time (independent of the reader). */
function recordTimes(): number[] {
  const out: number[] = [];
  for (const f of readdirSync(join(SAMPLE, 'logs'))) {
    for (const line of readFileSync(join(SAMPLE, 'logs', f), 'utf8').split('\n')) {
      const m = /^\[([^\]]+)\]/.exec(line);
      if (m) out.push(Date.parse(m[1]!));
    }
  }
  return out;
}

describe.skipIf(!existsSync(SAMPLE))('report --since/--until (needs samples/bookinfo-authz)', () => {
  it('keeps the records inside the window, counts the rest, and says so', async () => {
    const r = await runCli(['report', SAMPLE, '-o', 'json', '--since', SINCE, '--until', UNTIL]);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as ReportModel;
    const times = recordTimes();
    const inside = times.filter((t) => t >= Date.parse(SINCE) && t <= Date.parse(UNTIL)).length;
    expect(inside).toBeGreaterThan(0);
    expect(m.summary.records.total).toBe(inside);
    expect(m.manifest.window).toMatchObject({ since: '2026-11-22T10:10:00.000Z', until: '2026-11-22T10:16:00.000Z', recordsOutside: times.length - inside, recordsWithoutTime: 0 });
    for (const q of m.requests) expect(Date.parse(q.time!)).toBeGreaterThanOrEqual(Date.parse(SINCE));
    for (const f of m.flows) expect(f.endMs).toBeGreaterThanOrEqual(Date.parse(SINCE) - m.manifest.skewMs);
    expect(m.manifest.window!.flowsOutside).toBeGreaterThan(0);
    // Every input is still hashed whole: the window limits the analysis, not the chain of custody.
    const all = JSON.parse((await runCli(['report', SAMPLE, '-o', 'json'])).stdout) as ReportModel;
    expect(m.manifest.inputs.map((i) => i.sha256)).toEqual(all.manifest.inputs.map((i) => i.sha256));
    expect(all.manifest.window).toBeUndefined();
    expect(r.stderr).toMatch(/time window 2026-11-22T10:10:00.000Z – 2026-11-22T10:16:00.000Z: left out \d+ record\(s\) outside it/);
  }, 60_000);

  it('a relative --since far enough back keeps everything; a bad value is a usage error', async () => {
    const r = await runCli(['report', SAMPLE, '-o', 'json', '--since', '100000d']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ReportModel).manifest.window).toMatchObject({ until: null, recordsOutside: 0 });
    const bad = await runCli(['report', SAMPLE, '--until', 'tomorrow']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--until: expected an RFC 3339 time/);
  }, 60_000);
});
