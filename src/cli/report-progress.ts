/**
 * `report`'s progress line (progress.ts: one line on a terminal's stderr, nothing otherwise or with -q).
 * The analysis says how far it got (evidence.ts ReadProgress, report-stream.ts PassProgress); this draws it:
 *
 *   report  reading  120.4 MB / 302.0 MB (39%)  401,220 records  52k records/s  ETA 9s  logs/productpage.log
 *   report  sorting the records  2s
 *   report  pass 2/3 (findings)  512,000/1,000,000 records (51%)  12k records/s  ETA 40s  all passes: ETA 1m52s
 *   report  filling in the fields of the requests listed  1s
 *
 * Each step has its own clock (its rate and ETA); a pass's records are those the spill holds. The findings
 * pass also shows the ETA of all passes, counting the views pass as long as the findings pass (both replay
 * every record). Measured at 1M records (/tmp/fleet-1000000) the views pass took 49 s of CPU, the findings
 * pass 30 s, the flow-facts pass 14 s: that ETA is low by the difference. Earlier passes show none: they run
 * much faster than the ones to come, and a figure that low misleads.
 */
import type { PassProgress } from '../analysis/report-stream.js';
import type { ReadProgress } from '../analysis/evidence.js';
import { formatDuration, type Progress } from './progress.js';

export class ReportProgress {
  private step = '';
  private passStart = 0;

  constructor(
    private readonly p: Progress,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): boolean {
    return this.p.active;
  }

  /** gatherEvidence's onRead. */
  readonly onRead = (r: ReadProgress): void => {
    if (this.step !== 'reading') {
      this.step = 'reading';
      this.p.phase({ label: 'report', totalBytes: r.totalBytes, unit: 'records' });
    }
    this.p.update({ detail: 'reading', bytes: r.bytes, records: r.records, note: r.file });
  };

  /** A step with no count (sorting the records, filling fields, writing): its name and the time it has taken. */
  readonly onStep = (what: string): void => {
    if (this.step === what) return;
    this.step = what;
    this.p.phase({ label: 'report' });
    this.p.update({ detail: what });
  };

  /** buildReportStreaming's onPass. */
  readonly onPass = (x: PassProgress): void => {
    const step = `pass ${x.pass}/${x.passes} (${x.what})`;
    const t = this.now();
    if (this.step !== step) {
      this.step = step;
      this.passStart = t;
      this.p.phase({ label: 'report', totalRecords: x.total, unit: 'records' });
    }
    const elapsed = t - this.passStart;
    const fraction = x.total > 0 ? x.done / x.total : 1;
    let note: string | undefined;
    if (x.pass === x.passes - 1 && fraction > 0 && elapsed >= 1000) {
      const projected = elapsed / fraction;
      note = `all passes: ETA ${formatDuration((2 * projected - elapsed) / 1000)}`;
    }
    this.p.update({ detail: step, records: x.done, ...(note ? { note } : {}) });
  };

  clear(): void {
    this.p.clear();
  }

  done(): void {
    this.p.done();
  }
}
