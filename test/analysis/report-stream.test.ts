/**
 * The streaming report (report-stream.ts: records spilled to sorted runs, read back in passes, joined and
 * grouped in a window) is the same model as buildReportModel over every record in memory, on every
 * bundled sample, with the spill forced onto disk in runs of a few records.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel } from '../../src/analysis/report-model.js';
import { buildReportStreaming } from '../../src/analysis/report-stream.js';
import { RecordSpill } from '../../src/analysis/record-spill.js';

const SAMPLES = ['bookinfo-authz', 'bank-breach', 'legacy-plaintext', 'tcp-echo', 'wordpress-mtls', 'ambient-bookinfo', 'details-path', 'bookinfo-netpol'];
const opts = { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00Z' };

describe('streaming report', () => {
  for (const s of SAMPLES) {
    it(`gives the in-memory report of ${s}, its records spilled in runs of 7`, async () => {
      const whole = buildReportModel(await gatherEvidence([join(REPO, 'samples', s)], { compactRecords: true }), opts);
      const spill = new RecordSpill({ maxRecords: 7 });
      try {
        const ev = await gatherEvidence([join(REPO, 'samples', s)], { compactRecords: true, spill });
        expect(ev.records).toEqual([]);
        if (spill.count > 7) expect(spill.runCount).toBeGreaterThan(0);
        const streamed = await buildReportStreaming(ev, spill, { ...opts, ztunnelRecords: ev.ztunnelRecords });
        expect(JSON.parse(JSON.stringify(streamed))).toEqual(JSON.parse(JSON.stringify(whole)));
        expect(streamed.summary.records.total).toBe(spill.count);
      } finally {
        spill.close();
      }
    }, 120_000);
  }

  // Past `listAll` only exemplars are listed: pass 3 then takes the others' replay verdicts from pass 2's side log
  // and replays only the records it lists (report-stream.ts); the counts, kinds and exemplars must not change.
  for (const s of ['bookinfo-authz', 'bank-breach', 'ambient-bookinfo']) {
    it(`gives the in-memory report of ${s} with small request limits (most records not listed), its records spilled in runs of 7`, async () => {
      const small = { ...opts, limits: { requests: { listAll: 3, perKind: 1, perKindUnexplained: 2, max: 6 } } };
      const whole = buildReportModel(await gatherEvidence([join(REPO, 'samples', s)], { compactRecords: true }), small);
      const spill = new RecordSpill({ maxRecords: 7 });
      try {
        const ev = await gatherEvidence([join(REPO, 'samples', s)], { compactRecords: true, spill });
        const streamed = await buildReportStreaming(ev, spill, { ...small, ztunnelRecords: ev.ztunnelRecords });
        expect(JSON.parse(JSON.stringify(streamed))).toEqual(JSON.parse(JSON.stringify(whole)));
        expect(streamed.requests.length).toBeLessThan(spill.count);
      } finally {
        spill.close();
      }
    }, 120_000);
  }
});
