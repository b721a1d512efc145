/**
 * What `report` says of its progress (the CLI draws it; src/cli/report-progress.ts): gatherEvidence's onRead
 * counts the bytes read of the inputs against their sizes (a compressed input: its compressed bytes, also for a
 * capture) and the log records read; buildReportStreaming's onPass names each pass over the spilled records and
 * counts them against the spill's count. Nothing here depends on timing.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence, type ReadProgress } from '../../src/analysis/evidence.js';
import { buildReportStreaming, type PassProgress } from '../../src/analysis/report-stream.js';
import { RecordSpill } from '../../src/analysis/record-spill.js';
import { captureEvents, type CaptureEvent } from '../../src/analysis/capture-events.js';

const BANK = join(REPO, 'samples/bank-breach');

/** Every onRead call's figures stay within the total and never go back. */
function checkMonotonic(seen: ReadProgress[]): void {
  expect(seen.length).toBeGreaterThan(0);
  let last = { bytes: 0, records: 0 };
  for (const p of seen) {
    expect(p.bytes).toBeGreaterThanOrEqual(last.bytes);
    expect(p.records).toBeGreaterThanOrEqual(last.records);
    expect(p.bytes).toBeLessThanOrEqual(p.totalBytes);
    last = p;
  }
}

describe('reading progress (gatherEvidence onRead)', () => {
  it('counts the bytes of the inputs of a known kind up to their total size, and the log records read', async () => {
    const seen: ReadProgress[] = [];
    const ev = await gatherEvidence([BANK], { onRead: (p) => seen.push(p) });
    checkMonotonic(seen);
    const known = ev.inputs.filter((i) => i.kind !== 'unknown');
    expect(ev.inputs.length).toBeGreaterThan(known.length); // README.md: not counted
    const total = known.reduce((a, i) => a + statSync(i.path).size, 0);
    expect(new Set(seen.map((p) => p.totalBytes))).toEqual(new Set([total]));
    expect(seen.at(-1)!.bytes).toBe(total);
    const logRecords = known.filter((i) => i.kind === 'access-log').reduce((a, i) => a + ev.items.get(i.path)!, 0);
    expect(logRecords).toBeGreaterThan(0);
    expect(seen.at(-1)!.records).toBe(logRecords);
    // each input is named while it is read, captures too
    const files = new Set(seen.map((p) => p.file));
    for (const i of known) if (i.kind === 'access-log' || i.kind === 'capture') expect(files).toContain(i.path);
  });

  for (const where of ['on this thread', 'as capture events (how worker threads send them)']) it(`a compressed log and a compressed capture count their compressed bytes (the capture read ${where})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-progress-'));
    try {
      const log = join(BANK, 'logs/database-0.bank.istio-proxy.log');
      const pcap = join(BANK, 'captures/database-0.bank.pcap');
      // repetitive text: the compressed file is much smaller than what it holds
      writeFileSync(join(dir, 'db.log.gz'), gzipSync(Buffer.concat(Array.from({ length: 20 }, () => readFileSync(log)))));
      writeFileSync(join(dir, 'db.pcap.gz'), gzipSync(readFileSync(pcap)));
      cpSync(join(BANK, 'config_dumps'), join(dir, 'config_dumps'), { recursive: true });
      const seen: ReadProgress[] = [];
      const remote = where !== 'on this thread';
      const parallelCaptures = remote ? () => ({ events: (path: string) => captureEvents(path), close: async () => undefined }) : undefined;
      const ev = await gatherEvidence([dir], { onRead: (p) => seen.push(p), ...(parallelCaptures ? { parallelCaptures } : {}) });
      checkMonotonic(seen);
      const sizes = ev.inputs.map((i) => statSync(i.path).size);
      expect(seen[0]!.totalBytes).toBe(sizes.reduce((a, b) => a + b, 0));
      expect(seen.at(-1)!.bytes).toBe(seen[0]!.totalBytes);
      const gzLog = ev.inputs.find((i) => i.path.endsWith('db.log.gz'))!;
      expect(gzLog.compressed).toBeDefined();
      const gzCap = ev.inputs.find((i) => i.path.endsWith('db.pcap.gz'))!;
      expect(gzCap.kind).toBe('capture');
      expect(ev.items.get(gzCap.path)).toBeGreaterThan(0);
      // while the compressed capture was read, its share grew from where the inputs before it ended to its size
      const during = seen.filter((p) => p.file === gzCap.path);
      expect(during.length).toBeGreaterThan(0);
      expect(Math.max(...during.map((p) => p.bytes))).toBe(seen[0]!.totalBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a compressed capture's events carry the compressed bytes read (fileBytes) beside the inflated ones the reader counts", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-progress-'));
    try {
      const gz = join(dir, 'c.pcap.gz');
      writeFileSync(gz, gzipSync(readFileSync(join(BANK, 'captures/customer-web-5b9d7c6f8-wq4zt.bank.pcap'))));
      const size = statSync(gz).size;
      const progress: Extract<CaptureEvent, { t: 'progress' }>[] = [];
      for await (const e of captureEvents(gz)) if (e.t === 'progress') progress.push(e);
      expect(progress.length).toBeGreaterThan(0);
      for (const e of progress) {
        expect(e.fileBytes).toBeGreaterThan(0);
        expect(e.fileBytes).toBeLessThanOrEqual(size);
      }
      expect(progress.at(-1)!.bytes).toBeGreaterThan(size); // inflated: more than the file holds
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The passes heard, in order: [pass, passes, what], with each pass's counts checked. */
async function passesOf(sample: string): Promise<{ passes: [number, number, string][]; count: number }> {
  const spill = new RecordSpill({ maxRecords: 7 });
  try {
    const ev = await gatherEvidence([join(REPO, 'samples', sample)], { compactRecords: true, spill });
    const seen: PassProgress[] = [];
    await buildReportStreaming(ev, spill, { skewMs: 2000, showSecrets: false, ztunnelRecords: ev.ztunnelRecords, onPass: (p) => seen.push(p) });
    const passes: [number, number, string][] = [];
    for (const [i, p] of seen.entries()) {
      expect(p.total).toBe(spill.count);
      const prev = seen[i - 1];
      if (!prev || prev.pass !== p.pass) {
        // a pass starts at 0 and the one before ended with every record
        expect(p.done).toBe(0);
        if (prev) expect(prev.done).toBe(prev.total);
        passes.push([p.pass, p.passes, p.what]);
      } else expect(p.done).toBeGreaterThanOrEqual(prev.done);
      expect(p.done).toBeLessThanOrEqual(p.total);
    }
    expect(seen.at(-1)!.done).toBe(spill.count);
    return { passes, count: spill.count };
  } finally {
    spill.close();
  }
}

describe('pass progress (buildReportStreaming onPass)', () => {
  it('three passes over every spilled record: flow facts, findings, views', async () => {
    const { passes, count } = await passesOf('bank-breach');
    expect(count).toBeGreaterThan(7);
    expect(passes).toEqual([
      [1, 3, 'flow facts'],
      [2, 3, 'findings'],
      [3, 3, 'views'],
    ]);
  }, 60_000);

  it('with ztunnel records, the pre-pass first: four passes', async () => {
    const { passes } = await passesOf('ambient-bookinfo');
    expect(passes).toEqual([
      [1, 4, 'tunnel pairs, records without a time'],
      [2, 4, 'flow facts'],
      [3, 4, 'findings'],
      [4, 4, 'views'],
    ]);
  }, 60_000);
});
