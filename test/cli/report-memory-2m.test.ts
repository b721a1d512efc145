/**
 * Issue 17's bounded-memory check: `report` over 2 million generated records (five Istio proxies' logs
 * replaying samples/bookinfo-authz, its four dumps and inventory; src/synth/fleet.ts) in a child process whose
 * heap ceiling is set from outside (NODE_OPTIONS=--max-old-space-size), with no timing assertion.
 *
 * The ceiling is twice what a 100k-record report needs (it fails at 64 MB and completes at 80), not a 2M one:
 * memory must be flat in records (records go to the spill and are read back in passes, STREAMING.md), so twenty
 * times the records must fit the same heap. Before streaming, records were held (~1 KB each: ~2 GB at 2M) and
 * 200k already needed 256 MB.
 *
 * Counts are exact, not only bounded: the fleet is whole replays of the bundle (each with fresh request
 * ids, ports and times) plus the first lines of one more, and every per-record count (records by kind,
 * denials, replay verdicts, request events) is a sum over replays; so the 2M report's counts must equal
 * those of a report over one whole replay plus the partial one, plus (replays − 1) times those of one
 * replay, both small reports made by the same CLI. The output lists bounded exemplars.
 *
 * It runs in every `npm test` (vitest.config.ts starts it first: it is the longest file: measured at d584188, load
 * 10-13, the report 240 s of CPU on one core, the whole file 254 s with writing the 604 MB of logs and the two small
 * reports; the spill takes ~1.5 GB of TMPDIR while it runs).
 * MESHSLEUTH_TEST_REPORT_2M_RECORDS and MESHSLEUTH_TEST_REPORT_2M_HEAP_MB override the size and the ceiling
 * (the test's name says which were used).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { writeFleetEvidence } from '../../src/synth/fleet.js';
import { REQUEST_LIMITS, type ReportModel } from '../../src/analysis/report-model.js';
import { TIMELINE_LIMITS } from '../../src/analysis/timeline.js';

const RECORDS = Number(process.env.MESHSLEUTH_TEST_REPORT_2M_RECORDS ?? 2_000_000);
const HEAP_MB = Number(process.env.MESHSLEUTH_TEST_REPORT_2M_HEAP_MB ?? 160);
const SAMPLE = join(REPO, 'samples/bookinfo-authz');
const CLI = join(REPO, 'dist/src/cli/main.js');

/** The built CLI's `report DIR --out OUT` in a child, its heap ceiling (if any) in NODE_OPTIONS. */
function report(ev: string, out: string, heapMb: number | null): Promise<{ code: number | null; stderr: string }> {
  const env = { ...process.env };
  if (heapMb !== null) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --max-old-space-size=${heapMb}`.trim();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'report', ev, '--out', out], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** The summary counts that are sums over records (and over request events). */
function perRecordCounts(m: ReportModel): Record<string, number> {
  const r = m.summary.records;
  const x = m.summary.explanations;
  return {
    total: r.total,
    requests: r.requests,
    http: r.http,
    tcp: r.tcp,
    denied: r.denied,
    rejected: r.rejected,
    agrees: x.agrees,
    disagrees: x.disagrees,
    undecidable: x.undecidable,
    notFromThisProxy: x.notFromThisProxy,
    aggregatedRequests: m.summary.aggregated?.requests.total ?? r.total,
  };
}

describe.skipIf(!existsSync(SAMPLE))(
  `report over ${RECORDS.toLocaleString('en-US')} generated records under a ${HEAP_MB} MB heap set in NODE_OPTIONS (needs samples/bookinfo-authz)`,
  () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-2m-'));
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('completes with flat memory and counts every record exactly (the sum over the bundle replays)', async () => {
      // The small reports first: one replay, and one replay plus the partial one the big fleet ends with.
      const one = await writeFleetEvidence(join(dir, 'one'), { lines: 1, sample: SAMPLE });
      const perReplay = one.replayLines;
      rmSync(join(dir, 'one'), { recursive: true, force: true });
      const replays = Math.floor(RECORDS / perReplay);
      const rest = RECORDS % perReplay;
      expect(replays, `${RECORDS} records is less than one replay of ${perReplay} lines`).toBeGreaterThanOrEqual(1);
      const small: Record<string, number>[] = [];
      for (const lines of [perReplay, perReplay + rest]) {
        const ev = join(dir, `ev-${lines}`);
        await writeFleetEvidence(ev, { lines, sample: SAMPLE });
        const out = join(dir, `report-${lines}.json`);
        const r = await report(ev, out, null);
        expect(r.code, r.stderr.slice(-2000)).toBe(0);
        small.push(perRecordCounts(JSON.parse(readFileSync(out, 'utf8')) as ReportModel));
        rmSync(ev, { recursive: true, force: true });
      }
      const [c1, cTail] = small as [Record<string, number>, Record<string, number>];
      const expected = Object.fromEntries(Object.keys(c1).map((k) => [k, cTail[k]! + (replays - 1) * c1[k]!]));
      expect(expected.total).toBe(RECORDS);

      const ev = await writeFleetEvidence(join(dir, 'ev'), { lines: RECORDS, sample: SAMPLE });
      expect(ev.lines).toBe(RECORDS);
      const out = join(dir, 'report.json');
      const r = await report(join(dir, 'ev'), out, HEAP_MB);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      rmSync(join(dir, 'ev'), { recursive: true, force: true });
      const m = JSON.parse(readFileSync(out, 'utf8')) as ReportModel;
      expect(perRecordCounts(m)).toEqual(expected);
      // bounded exemplars: what the report lists does not grow with records
      const cited = m.requests.filter((q) => q.findings.length > 0).length;
      expect(m.requests.length - cited).toBeLessThanOrEqual(REQUEST_LIMITS.max);
      expect(m.timeline.filter((e) => e.findings.length === 0).length).toBeLessThanOrEqual(TIMELINE_LIMITS.max);
      expect(m.summary.aggregated?.requests.listed ?? m.requests.length).toBeLessThan(RECORDS);
      expect(m.summary.explanations.agrees + m.summary.explanations.disagrees).toBeGreaterThan(0);
    }, 3_600_000);
  },
);
