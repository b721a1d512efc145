/**
 * report's worker wiring (src/cli/report-workers.ts): logs read in worker threads count as read while they wait
 * for their turn (ReadAhead), so the progress line moves with the workers; a log's share leaves `ahead` once its
 * events are asked for. Polls for the workers' messages (no timing assertion).
 */
import { describe, expect, it } from 'vitest';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { logWorkers } from '../../src/cli/report-workers.js';
import { RecordSpill } from '../../src/analysis/record-spill.js';
import type { LogReaders, LogTaskSpec } from '../../src/analysis/log-runs.js';
import { newStats, readAccessLogs } from '../../src/readers/accesslog/index.js';

const dir = join(REPO, 'samples/bookinfo-authz/logs');
const logs = readdirSync(dir).sort().slice(0, 2).map((f) => join(dir, f));

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1500 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
}

/** The records a log holds, read on this thread. */
async function count(path: string): Promise<number> {
  let n = 0;
  for await (const _ of readAccessLogs({ path, stream: createReadStream(path) }, { stats: newStats(), maxDiagnostics: 5 })) n++;
  return n;
}

async function recordsOf(r: LogReaders, path: string): Promise<number> {
  let n = -1;
  for await (const ev of r.events(path)!) if (ev.t === 'log') n = ev.result.records;
  return n;
}

describe('report log workers: progress of logs read ahead of their turn', () => {
  it("sums the logs not yet taken, all of each once its worker is done, and drops a log's share when its turn comes", async () => {
    const spill = new RecordSpill({});
    try {
      const specs: LogTaskSpec[] = logs.map((path, i) => ({ path, bytes: statSync(path).size, maxDiagnostics: 5, compact: true, prefix: `t${i}` }));
      const r = logWorkers(2, spill)(specs)!;
      expect(r).not.toBeNull();
      const size = specs.reduce((a, s) => a + s.bytes, 0);
      const [n0, n1] = [await count(logs[0]!), await count(logs[1]!)];
      expect(n0 * n1).toBeGreaterThan(0);
      await until(() => r.ahead!().records === n0 + n1);
      expect(r.ahead!()).toEqual({ bytes: size, records: n0 + n1 });
      expect(await recordsOf(r, logs[0]!)).toBe(n0);
      expect(r.ahead!()).toEqual({ bytes: specs[1]!.bytes, records: n1 });
      expect(await recordsOf(r, logs[1]!)).toBe(n1);
      expect(r.ahead!()).toEqual({ bytes: 0, records: 0 });
      await r.close();
    } finally {
      spill.close();
    }
  }, 60_000);
});
