/**
 * The record spill (src/analysis/record-spill.ts): its batch format against v8.serialize, and a report's
 * use of it (every record added once, read back in three passes), on fleet records (src/synth/fleet.ts,
 * bookinfo-authz replayed) read with the access-log reader, as kept (full) and compact. CPU time
 * (user + system of this process) is the figure to compare on a shared machine; best of a few runs.
 * `SPILL_LINES` sets the fleet size (default 200,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { writeFleetEvidence } from '../src/synth/fleet.js';
import { readAccessLogBatches } from '../src/readers/accesslog/index.js';
import { RecordCompactor } from '../src/analysis/compact-record.js';
import { decodeBatch, encodeBatch } from '../src/analysis/record-codec.js';
import { RecordSpill } from '../src/analysis/record-spill.js';
import type { AccessRecord } from '../src/model/records.js';

const SAMPLE = fileURLToPath(new URL('../../samples/bookinfo-authz', import.meta.url));

function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

function formats(name: string, rs: AccessRecord[]): void {
  const batch = 512;
  for (const [fmt, enc, dec] of [
    ['v8', (x: unknown) => serialize(x), (b: Buffer) => deserialize(b) as unknown[]],
    ['codec', encodeBatch, (b: Buffer) => decodeBatch(b) as unknown[]],
  ] as const) {
    let bestEnc = Infinity;
    let bestDec = Infinity;
    let bytes = 0;
    for (let rep = 0; rep < 4; rep++) {
      const bufs: Buffer[] = [];
      bytes = 0;
      let t = cpuMs();
      for (let i = 0; i < rs.length; i += batch) {
        const b = enc(rs.slice(i, i + batch));
        bufs.push(b);
        bytes += b.length;
      }
      bestEnc = Math.min(bestEnc, cpuMs() - t);
      t = cpuMs();
      let n = 0;
      for (const b of bufs) n += dec(b).length;
      bestDec = Math.min(bestDec, cpuMs() - t);
      if (n !== rs.length) throw new Error(`${fmt}: ${n} records back of ${rs.length}`);
    }
    const rate = (ms: number): string => `${Math.round(rs.length / (ms / 1000)).toLocaleString('en-US')}/s`;
    console.log(`  ${name.padEnd(8)} ${fmt.padEnd(6)} write ${rate(bestEnc).padStart(10)}  read ${rate(bestDec).padStart(10)}  ${Math.round(bytes / rs.length)} bytes/record`);
  }
}

async function spillPasses(name: string, rs: AccessRecord[]): Promise<void> {
  let best = { add: Infinity, pass: Infinity, runs: 0 };
  for (let rep = 0; rep < 2; rep++) {
    const spill = new RecordSpill();
    try {
      let t = cpuMs();
      for (const r of rs) spill.add(r);
      await spill.seal();
      const add = cpuMs() - t;
      let pass = Infinity;
      for (let p = 0; p < 3; p++) {
        t = cpuMs();
        let n = 0;
        for await (const b of spill.batches()) n += b.length;
        pass = Math.min(pass, cpuMs() - t);
        if (n !== rs.length) throw new Error(`spill: ${n} records back of ${rs.length}`);
      }
      if (add + pass < best.add + best.pass) best = { add, pass, runs: spill.runCount };
    } finally {
      spill.close();
    }
  }
  const rate = (ms: number): string => `${Math.round(rs.length / (ms / 1000)).toLocaleString('en-US')}/s`;
  console.log(`  ${name.padEnd(8)} spill  add+seal ${rate(best.add).padStart(10)}  one pass ${rate(best.pass).padStart(10)}  (${best.runs} runs, default budget)`);
}

export default async function main(): Promise<void> {
  const lines = Number(process.env.SPILL_LINES ?? 200_000);
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-spill-bench-'));
  try {
    const fleet = await writeFleetEvidence(dir, { lines, sample: SAMPLE });
    const full: AccessRecord[] = [];
    for await (const b of readAccessLogBatches(fleet.logs)) for (const r of b) full.push(r);
    console.log(`${full.length.toLocaleString('en-US')} fleet records (bookinfo-authz); CPU time, best of runs`);
    formats('full', full);
    const c = new RecordCompactor();
    const compact = full.map((r) => c.compact(r));
    formats('compact', compact);
    await spillPasses('compact', compact);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
