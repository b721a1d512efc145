/**
 * Which records share an endpoint object (RecordCompactor shares equal `{ address, port }` endpoints up to
 * a bound; a spill batch keeps objects shared within it) changes nothing in the report: the same report
 * with no endpoint shared across records as with every one shared.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { RecordCompactor } from '../../src/analysis/compact-record.js';
import { RecordSpill } from '../../src/analysis/record-spill.js';
import { buildReportStreaming } from '../../src/analysis/report-stream.js';
import type { BuildOptions } from '../../src/analysis/report-model.js';
import { writeFleetEvidence } from '../../src/synth/fleet.js';

const OPTS: BuildOptions = { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00.000Z' };
const SAMPLES = join(REPO, 'samples');
const samples = existsSync(SAMPLES) ? readdirSync(SAMPLES).filter((s) => existsSync(join(SAMPLES, s, 'logs'))) : [];

async function reportJson(dir: string, compactor: RecordCompactor, maxRecords?: number): Promise<string> {
  const spill = new RecordSpill(maxRecords ? { maxRecords } : {});
  try {
    const ev = await gatherEvidence([dir], { compactRecords: compactor, spill });
    return JSON.stringify(await buildReportStreaming(ev, spill, { ...OPTS, ztunnelRecords: ev.ztunnelRecords }));
  } finally {
    spill.close();
  }
}

describe('the report does not depend on which records share endpoint objects', () => {
  it.each(samples)('%s: no endpoint shared (bound 0), one shared, the default bound; in memory and spilled in runs of 7', async (s) => {
    const dir = join(SAMPLES, s);
    const ref = await reportJson(dir, new RecordCompactor());
    expect(await reportJson(dir, new RecordCompactor({ endpoints: 0 }))).toBe(ref);
    expect(await reportJson(dir, new RecordCompactor({ endpoints: 1 }), 7)).toBe(ref);
  }, 120_000);

  const fleet = mkdtempSync(join(tmpdir(), 'meshsleuth-sharing-'));
  afterAll(() => rmSync(fleet, { recursive: true, force: true }));
  it.skipIf(!existsSync(join(SAMPLES, 'bookinfo-authz')))('a fleet log of 3,000 lines (clients on ephemeral ports): bound 0 and 16 give the default bound\'s report (needs samples/bookinfo-authz)', async () => {
    await writeFleetEvidence(fleet, { lines: 3000, sample: join(SAMPLES, 'bookinfo-authz') });
    const ref = await reportJson(fleet, new RecordCompactor());
    expect(await reportJson(fleet, new RecordCompactor({ endpoints: 0 }), 500)).toBe(ref);
    expect(await reportJson(fleet, new RecordCompactor({ endpoints: 16 }))).toBe(ref);
  }, 240_000);
});
