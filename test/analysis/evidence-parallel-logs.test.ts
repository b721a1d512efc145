/**
 * gatherEvidence with `parallelLogs`: access logs read elsewhere (as a worker thread does, readLogToRuns) into
 * sorted runs that the main spill adopts in input order give the same evidence and the same records in the same
 * canonical order as reading every log on this thread — with a time window, a gzip log, a damaged gzip log, a
 * log with bad lines, ztunnel logs, and budgets small enough that every part is many runs.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { readLogToRuns, type LogTaskEvent, type LogTaskSpec } from '../../src/analysis/log-runs.js';
import { RecordSpill } from '../../src/analysis/record-spill.js';
import type { AccessRecord } from '../../src/model/records.js';
import { REPO } from '../helpers/cli.js';

const logs = (sample: string): string[] => readdirSync(join(REPO, 'samples', sample, 'logs')).sort().map((f) => join(REPO, 'samples', sample, 'logs', f));

function inputs(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-plogs-'));
  const pp = readFileSync(logs('bookinfo-authz')[1]!);
  writeFileSync(join(dir, 'pp.log.gz'), gzipSync(pp));
  // long enough that detection judges its head, then damaged past it (the records before the damage are kept)
  const cut = gzipSync(readFileSync(logs('bookinfo-authz')[0]!, 'utf8').repeat(60));
  writeFileSync(join(dir, 'cut.log.gz'), cut.subarray(0, Math.floor(cut.length * 0.6)));
  const text = readFileSync(logs('bookinfo-authz')[3]!, 'utf8').split('\n');
  writeFileSync(join(dir, 'junk.log'), text.flatMap((l, i) => (i % 5 === 2 ? ['GET / not an access log line', l] : [l])).join('\n'));
  return [...logs('bookinfo-authz'), ...logs('ambient-bookinfo'), join(REPO, 'samples', 'bookinfo-authz', 'config_dumps'), join(dir, 'pp.log.gz'), join(dir, 'cut.log.gz'), join(dir, 'junk.log')];
}

async function drain(spill: RecordSpill): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const b of spill.batches()) for (const r of b) out.push(r);
  return out;
}

/** The parts of the evidence the log case makes (everything but the records, which are compared from the spill). */
function evidencePart(ev: Awaited<ReturnType<typeof gatherEvidence>>): unknown {
  return { items: [...ev.items], problems: [...ev.problems], unreadable: [...ev.unreadable], damaged: [...(ev.damaged ?? [])], hashes: [...ev.hashes], diagnostics: ev.diagnostics, window: ev.window, ztunnelRecords: ev.ztunnelRecords };
}

describe('gatherEvidence: access logs read into runs elsewhere and adopted in input order', () => {
  for (const [name, window] of [['no window', undefined], ['--since', { sinceMs: Date.parse('2026-11-22T10:05:00Z') }]] as const) {
    it(`the same evidence and records in the same canonical order as one thread (${name})`, async () => {
      const paths = inputs();
      const one = new RecordSpill({ maxRecords: 9 });
      const two = new RecordSpill({ maxRecords: 9 });
      try {
        const a = await gatherEvidence(paths, { compactRecords: true, spill: one, maxDiagnosticsPerInput: 3, ...(window ? { window } : {}) });
        const asked: string[] = [];
        const b = await gatherEvidence(paths, {
          compactRecords: true,
          spill: two,
          maxDiagnosticsPerInput: 3,
          ...(window ? { window } : {}),
          parallelLogs: (specs: LogTaskSpec[]) => {
            // every log is handed over, in input order, with unique run prefixes
            expect(new Set(specs.map((s) => s.prefix)).size).toBe(specs.length);
            const results = new Map(specs.map((s) => [s.path, readLogToRuns({ ...s, dir: two.runDirectory(), maxRecords: 4 })]));
            return {
              events: (path) => {
                asked.push(path);
                const r = results.get(path);
                return r
                  ? (async function* (): AsyncGenerator<LogTaskEvent> {
                      yield { t: 'log', result: await r };
                    })()
                  : undefined;
              },
              close: async () => undefined,
            };
          },
        });
        expect(asked.length).toBe(11); // every log (5 + 3 samples, 3 made here), not the dumps
        expect(evidencePart(b)).toEqual(evidencePart(a));
        expect(a.damaged?.size).toBe(1);
        expect(a.diagnostics.some((d) => d.location.file.endsWith('junk.log'))).toBe(true);
        expect(a.ztunnelRecords).toBeGreaterThan(0);
        if (window) expect(a.window!.recordsOutside).toBeGreaterThan(0);
        expect(two.count).toBe(one.count);
        expect(two.untimed).toBe(one.untimed);
        expect(two.maxDurationMs).toBe(one.maxDurationMs);
        expect(two.runCount).toBeGreaterThan(10);
        const ra = await drain(one);
        const rb = await drain(two);
        expect(ra.length).toBeGreaterThan(50);
        expect(rb.map((r) => `${r.ref.file}:${r.ref.line}`)).toEqual(ra.map((r) => `${r.ref.file}:${r.ref.line}`));
        expect(rb).toEqual(ra);
      } finally {
        one.close();
        two.close();
      }
    });
  }

  it('a worker that dies (out of its heap) after writing runs: its runs are not adopted, its log is read on this thread, the same evidence and records', async () => {
    const paths = inputs();
    const one = new RecordSpill({ maxRecords: 9 });
    const two = new RecordSpill({ maxRecords: 9 });
    try {
      const a = await gatherEvidence(paths, { compactRecords: true, spill: one });
      let died = 0;
      const b = await gatherEvidence(paths, {
        compactRecords: true,
        spill: two,
        parallelLogs: (specs: LogTaskSpec[]) => ({
          events: (path) => {
            const spec = specs.find((s) => s.path === path)!;
            const dies = /productpage|ztunnel-4xk2p|junk/.test(path);
            return (async function* (): AsyncGenerator<LogTaskEvent> {
              const r = await readLogToRuns({ ...spec, dir: two.runDirectory(), maxRecords: 4 });
              yield { t: 'progress', bytes: 100, records: Math.floor(r.records / 2) };
              if (dies) {
                died++;
                throw new Error('worker thread: Worker terminated due to reaching memory limit: JS heap out of memory');
              }
              yield { t: 'log', result: r };
            })();
          },
          close: async () => undefined,
        }),
      });
      expect(died).toBe(3);
      expect(evidencePart(b)).toEqual(evidencePart(a));
      expect(two.count).toBe(one.count);
      expect(await drain(two)).toEqual(await drain(one));
    } finally {
      one.close();
      two.close();
    }
  });
});
