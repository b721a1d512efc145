/** The report model of a bundled sample, built once per test file (gatherEvidence + buildReportModel, fixed clock). */
import { join } from 'node:path';
import { REPO } from './cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel, type ReportModel } from '../../src/analysis/report-model.js';

const models = new Map<string, ReportModel>();

export async function sampleReportModel(sample: string): Promise<ReportModel> {
  let m = models.get(sample);
  if (!m) {
    const ev = await gatherEvidence([join(REPO, 'samples', sample)]);
    m = buildReportModel(ev, { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00Z' });
    models.set(sample, m);
  }
  return m;
}
