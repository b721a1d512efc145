/** RecordSpill: records in as read, back in canonical order, any number of times, from disk past a budget. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { canonicalOrder, compareRecordTime, RecordSpill } from '../../src/analysis/record-spill.js';
import { RecordCompactor } from '../../src/analysis/compact-record.js';
import { RecordFacts } from '../../src/analysis/record-facts.js';
import { readAccessLogBatches } from '../../src/readers/accesslog/index.js';
import type { AccessRecord } from '../../src/model/records.js';
import { REPO } from '../helpers/cli.js';

const DIST_SPILL = fileURLToPath(new URL('../../dist/src/analysis/record-spill.js', import.meta.url));

/** A small deterministic generator (tests must not depend on chance). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function rec(i: number, timeMs: number | undefined, durationMs?: number): AccessRecord {
  return {
    ref: { file: 'gen.log', line: i + 1 },
    ...(timeMs !== undefined ? { timeMs } : {}),
    kind: i % 3 === 0 ? 'tcp' : 'http',
    attrs: { source: { address: `10.0.${i % 7}.${i % 251}`, port: 40000 + (i % 1000) } },
    unknown: [],
    ...(durationMs !== undefined ? { durationMs } : {}),
    fields: { n: i },
  };
}

/** Timed records with many ties (20 distinct times), untimed ones (absent, NaN, ±Infinity) mixed in. */
function mix(count: number, seed = 7): AccessRecord[] {
  const rnd = lcg(seed);
  const out: AccessRecord[] = [];
  for (let i = 0; i < count; i++) {
    const u = rnd();
    const t = u < 0.1 ? undefined : u < 0.12 ? NaN : u < 0.13 ? Infinity : u < 0.14 ? -Infinity : 1_700_000_000_000 + Math.floor(rnd() * 20) * 0.5;
    out.push(rec(i, t, i % 5 === 0 ? undefined : Math.floor(rnd() * 1000) / 4));
  }
  return out;
}

/** The canonical order spelled out: timed by (timeMs, seq), then untimed by seq. */
function expectedOrder(records: AccessRecord[]): AccessRecord[] {
  const timed = (r: AccessRecord): boolean => typeof r.timeMs === 'number' && Number.isFinite(r.timeMs);
  const idx = records.map((r, seq) => ({ r, seq }));
  const t = idx.filter((x) => timed(x.r)).sort((a, b) => a.r.timeMs! - b.r.timeMs! || a.seq - b.seq);
  const u = idx.filter((x) => !timed(x.r));
  return [...t, ...u].map((x) => x.r);
}

async function drain(spill: RecordSpill, size?: number): Promise<{ records: AccessRecord[]; sizes: number[] }> {
  const records: AccessRecord[] = [];
  const sizes: number[] = [];
  for await (const b of spill.batches(size)) {
    sizes.push(b.length);
    for (const r of b) records.push(r);
  }
  return { records, sizes };
}

const lines = (rs: AccessRecord[]): number[] => rs.map((r) => r.ref.line!);

describe('canonical order', () => {
  it('canonicalOrder is a stable sort by time, untimed (absent, NaN, ±Infinity) last in array order', () => {
    const rs = mix(2000);
    const want = lines(expectedOrder(rs));
    expect(lines(canonicalOrder([...rs]))).toEqual(want);
    expect(want).not.toEqual(lines(rs)); // the mix is not already in order
    expect(compareRecordTime(rec(0, 5), rec(1, undefined))).toBeLessThan(0);
    expect(compareRecordTime(rec(0, NaN), rec(1, 5))).toBeGreaterThan(0);
    expect(compareRecordTime(rec(0, 5), rec(1, 5))).toBe(0);
  });

  it('records kept in memory come back in canonical order, with count, untimed and maxDurationMs', async () => {
    const rs = mix(3000);
    const spill = new RecordSpill();
    try {
      for (const r of rs) spill.add(r);
      await spill.seal();
      expect(spill.runCount).toBe(0);
      expect(spill.directory).toBeNull();
      const { records, sizes } = await drain(spill, 1000);
      expect(lines(records)).toEqual(lines(expectedOrder(rs)));
      expect(sizes).toEqual([1000, 1000, 1000]);
      expect(spill.count).toBe(3000);
      const untimed = rs.filter((r) => !(typeof r.timeMs === 'number' && Number.isFinite(r.timeMs))).length;
      expect(untimed).toBeGreaterThan(100);
      expect(spill.untimed).toBe(untimed);
      expect(spill.maxDurationMs).toBe(Math.max(...rs.map((r) => r.durationMs ?? 0)));
    } finally {
      spill.close();
    }
  });

  it('spilled into many runs (tiny budget, runs merged at seal), the merge gives the same order as a stable sort', async () => {
    const rs = mix(5000, 11);
    const spill = new RecordSpill({ maxRecords: 97, runBatch: 13, fanIn: 4 });
    try {
      for (const r of rs) spill.add(r);
      expect(spill.runCount).toBe(Math.floor(5000 / 97));
      await spill.seal();
      expect(spill.runCount).toBeLessThanOrEqual(4);
      expect(spill.runCount).toBeGreaterThan(1);
      const { records, sizes } = await drain(spill, 333);
      expect(lines(records)).toEqual(lines(expectedOrder(rs)));
      expect(sizes.slice(0, -1).every((s) => s === 333)).toBe(true);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(5000);
      expect(spill.untimed).toBe(rs.filter((r) => !(typeof r.timeMs === 'number' && Number.isFinite(r.timeMs))).length);
    } finally {
      spill.close();
    }
  });

  it('seal(settle) settles each record kept in memory once, before any pass, and never one written to a run', async () => {
    for (const maxRecords of [10_000, 300]) {
      const rs = mix(1000, 11);
      const spill = new RecordSpill({ maxRecords, runBatch: 16 });
      try {
        for (const r of rs) spill.add(r);
        const settled: AccessRecord[] = [];
        await spill.seal((r) => {
          settled.push(r);
          r.attrs = { ...r.attrs };
        });
        const { records } = await drain(spill, 128);
        expect(lines(records)).toEqual(lines(expectedOrder(rs)));
        // in memory: the 1000 - 3 * 300 = 100 added after the last run (or all, when no run was written)
        const kept = maxRecords === 10_000 ? rs : rs.slice(900);
        expect(spill.runCount).toBe(maxRecords === 10_000 ? 0 : 3);
        expect(settled.map((r) => r.ref.line).sort((a, b) => a! - b!)).toEqual(lines(kept));
        expect(records.filter((r) => settled.includes(r)).length).toBe(kept.length);
      } finally {
        spill.close();
      }
    }
  });

  it('all untimed, all one time, and no records at all', async () => {
    for (const rs of [mix(500).map((r, i) => rec(i, undefined)), mix(500).map((r, i) => rec(i, 42)), []]) {
      for (const opts of [{}, { maxRecords: 50, runBatch: 7 }]) {
        const spill = new RecordSpill(opts);
        try {
          for (const r of rs) spill.add(r);
          await spill.seal();
          const { records, sizes } = await drain(spill, 64);
          expect(lines(records)).toEqual(lines(rs));
          if (rs.length === 0) expect(sizes).toEqual([]);
        } finally {
          spill.close();
        }
      }
    }
  });

  it('a byte budget cuts runs before the record budget does', async () => {
    const rs = mix(2000);
    const spill = new RecordSpill({ maxRecords: 1_000_000, maxBytes: 20_000 });
    try {
      for (const r of rs) spill.add(r);
      await spill.seal();
      expect(spill.runCount).toBeGreaterThan(5);
      expect(lines((await drain(spill)).records)).toEqual(lines(expectedOrder(rs)));
    } finally {
      spill.close();
    }
  });
});

describe('adopting runs written elsewhere (a worker thread reading a log)', () => {
  /** Splits `rs` into parts: some added in-thread, some written by writer spills into the owner's directory and adopted. */
  async function interleaved(rs: AccessRecord[], cuts: number[], owner: RecordSpill, writerOpts: { maxRecords: number; runBatch?: number }, inThread: (part: number) => boolean): Promise<void> {
    let at = 0;
    for (let p = 0; p <= cuts.length; p++) {
      const part = rs.slice(at, p < cuts.length ? cuts[p] : rs.length);
      at = p < cuts.length ? cuts[p]! : rs.length;
      if (inThread(p)) {
        for (const r of part) owner.add(r);
        continue;
      }
      const w = new RecordSpill({ ...writerOpts, runsIn: { dir: owner.runDirectory(), prefix: `w${p}` } });
      for (const r of part) w.add(r);
      owner.adopt(w.handOver());
    }
  }

  it('adopted records take their place in canonical order after the records added before them (seq = owner count + own seq), mixed with in-thread ones, merged at seal', async () => {
    const rs = mix(4000, 23);
    const cuts = [700, 1500, 1501, 2600, 3900];
    for (const owner of [{}, { maxRecords: 61, runBatch: 5, fanIn: 3 }]) {
      const spill = new RecordSpill(owner);
      try {
        await interleaved(rs, cuts, spill, { maxRecords: 97, runBatch: 11 }, (p) => p % 2 === 1);
        expect(spill.count).toBe(4000);
        await spill.seal();
        if ('fanIn' in owner) expect(spill.runCount).toBeLessThanOrEqual(3);
        const { records } = await drain(spill, 250);
        expect(lines(records)).toEqual(lines(expectedOrder(rs)));
        // twice: the adopted runs are re-read
        expect(lines((await drain(spill)).records)).toEqual(lines(expectedOrder(rs)));
        expect(spill.untimed).toBe(rs.filter((r) => !(typeof r.timeMs === 'number' && Number.isFinite(r.timeMs))).length);
        expect(spill.maxDurationMs).toBe(Math.max(...rs.map((r) => r.durationMs ?? 0)));
      } finally {
        spill.close();
      }
    }
  });

  it('every part adopted (nothing in-thread), a writer with all its records in memory, and an empty writer', async () => {
    const rs = mix(1200, 5);
    const spill = new RecordSpill();
    try {
      await interleaved(rs, [0, 400, 400, 1100], spill, { maxRecords: 100_000 }, () => false);
      await spill.seal();
      expect(spill.runCount).toBe(3);
      expect(lines((await drain(spill)).records)).toEqual(lines(expectedOrder(rs)));
      const names = readdirSync(spill.directory!).sort();
      expect(names).toEqual(['run-w1-0.bin', 'run-w3-0.bin', 'run-w4-0.bin']);
    } finally {
      const dir = spill.directory!;
      spill.close();
      expect(existsSync(dir)).toBe(false);
    }
  });

  it('refuses a run outside its directory, counts that do not add up, adopt after seal; a writer does not remove the directory', async () => {
    const spill = new RecordSpill();
    const other = mkdtempSync(join(tmpdir(), 'meshsleuth-adopt-'));
    try {
      const w = new RecordSpill({ maxRecords: 10, runsIn: { dir: spill.runDirectory(), prefix: 'a' } });
      for (const r of mix(25)) w.add(r);
      const h = w.handOver();
      w.close();
      expect(existsSync(spill.directory!)).toBe(true);
      expect(h.runs.map((r) => r.count)).toEqual([10, 10, 5]);
      expect(() => w.add(rec(0, 1))).toThrow(/add after close/);
      expect(() => spill.adopt({ ...h, runs: [{ ...h.runs[0]!, path: join(other, 'run-a-0.bin') }], count: 10 })).toThrow(/cannot adopt .*run-a-0\.bin: not a run of/);
      expect(() => spill.adopt({ ...h, count: 24 })).toThrow(/25 record\(s\) said to hold 24/);
      expect(() => new RecordSpill({ runsIn: { dir: other, prefix: '../x' } })).toThrow(/run prefix/);
      expect(() => new RecordSpill({ runsIn: { dir: other, prefix: 'x' } }).handOver()).not.toThrow();
      expect(() => new RecordSpill().handOver()).toThrow(/made without runsIn/);
      spill.adopt(h);
      await spill.seal();
      expect(() => spill.adopt(h)).toThrow(/adopt after seal/);
      expect((await drain(spill)).records.length).toBe(25);
    } finally {
      spill.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('passes', () => {
  it('every call of batches starts from the first record; two passes may run at once', async () => {
    const rs = mix(3000, 3);
    const spill = new RecordSpill({ maxRecords: 400, runBatch: 50 });
    try {
      for (const r of rs) spill.add(r);
      await spill.seal();
      const want = lines(expectedOrder(rs));
      expect(lines((await drain(spill, 100)).records)).toEqual(want);
      expect(lines((await drain(spill, 4096)).records)).toEqual(want);
      // interleaved: the second pass starts while the first is half way
      const a = spill.batches(250);
      const b = spill.batches(250);
      const got: [number[], number[]] = [[], []];
      for (;;) {
        const [x, y] = await Promise.all([a.next(), b.next()]);
        if (!x.done) got[0].push(...lines(x.value));
        if (!y.done) got[1].push(...lines(y.value));
        if (x.done && y.done) break;
      }
      expect(got[0]).toEqual(want);
      expect(got[1]).toEqual(want);
    } finally {
      spill.close();
    }
  });

  it('a pass left early closes its files; add after seal and batches before seal are errors', async () => {
    const spill = new RecordSpill({ maxRecords: 10 });
    try {
      const rs = mix(100);
      for (const r of rs) spill.add(r);
      await expect(spill.batches().next()).rejects.toThrow(/before seal/);
      await spill.seal();
      for await (const b of spill.batches(5)) {
        expect(b).toHaveLength(5);
        break;
      }
      expect(() => spill.add(rec(100, 1))).toThrow(/add after seal/);
      expect(lines((await drain(spill)).records)).toEqual(lines(expectedOrder(rs)));
    } finally {
      spill.close();
    }
  });
});

describe('round trip', () => {
  async function sampleRecords(): Promise<AccessRecord[]> {
    const logs: string[] = [];
    for (const s of readdirSync(join(REPO, 'samples'))) {
      const dir = join(REPO, 'samples', s, 'logs');
      if (existsSync(dir)) for (const f of readdirSync(dir).sort()) logs.push(join(dir, f));
    }
    const out: AccessRecord[] = [];
    for await (const b of readAccessLogBatches(logs)) out.push(...b);
    return out;
  }

  it('parsed records (text, JSON and ztunnel logs; full and compact) come back deep-equal from disk, without their symbol facts', async () => {
    const parsed = await sampleRecords();
    expect(parsed.length).toBeGreaterThan(100);
    expect(parsed.some((r) => r.ztunnel)).toBe(true);
    const compactor = new RecordCompactor();
    const compact = parsed.map((r) => compactor.compact(structuredClone(r)));
    expect(compact.every((r) => r.fieldsElided === true)).toBe(true);
    const all = [...parsed, ...compact];
    const fact = new RecordFacts<AccessRecord, string>('pass-1');
    for (const r of all) fact.set(r, 'seen');
    const spill = new RecordSpill({ maxRecords: 1, runBatch: 16, fanIn: 8 });
    try {
      for (const r of all) spill.add(r);
      await spill.seal();
      expect(spill.runCount).toBeGreaterThan(1);
      const want = canonicalOrder([...all]);
      const got = (await drain(spill, 100)).records;
      expect(got).toHaveLength(want.length);
      expect(got).toStrictEqual(want);
      expect(got.some((r, i) => r === want[i])).toBe(false); // every one was read from disk
      expect(got.some((r) => fact.has(r))).toBe(false);
      // a second pass: fresh copies again, equal again
      const again = (await drain(spill, 7)).records;
      expect(again).toStrictEqual(want);
      expect(again[0]).not.toBe(got[0]);
    } finally {
      spill.close();
    }
  });

  it('a compact record keeps its shared objects shared within a batch and its empty fields empty', async () => {
    const parsed = (await sampleRecords()).slice(0, 50);
    const compactor = new RecordCompactor();
    const compact = parsed.map((r) => compactor.compact(structuredClone(r)));
    const spill = new RecordSpill({ maxRecords: 1000, runBatch: 1000 });
    try {
      for (const r of compact) spill.add(r);
      // filler past the budget: the first 1000 records (the compact ones among them) go to one run, one batch
      for (let i = 0; i < 1000; i++) spill.add(rec(10_000 + i, 0));
      await spill.seal();
      expect(spill.runCount).toBe(1);
      const got = (await drain(spill, 5000)).records.filter((r) => r.fieldsElided);
      expect(got).toStrictEqual(canonicalOrder([...compact]));
      const shared = (rs: AccessRecord[]): number => new Set(rs.map((r) => r.unknown)).size;
      expect(shared(got)).toBe(shared(compact));
    } finally {
      spill.close();
    }
  });
});

describe('buffered reading', () => {
  /** A record of about `bytes` bytes on disk (one long distinct string). */
  function big(i: number, timeMs: number, bytes: number): AccessRecord {
    return { ...rec(i, timeMs), fields: { n: i, pad: `${i}:`.padEnd(bytes, String.fromCharCode(97 + (i % 26))) } };
  }

  it('runs many times larger than a read buffer, with frames smaller and larger than it, come back deep-equal and in order', async () => {
    const rnd = lcg(11);
    const all: AccessRecord[] = [];
    // frames of up to 64 records of 1–40 KB (~1.3 MB): most larger than the read buffer (at most 1 MB), each run's last one smaller
    for (let i = 0; i < 1200; i++) all.push(big(i, 1_700_000_000_000 + Math.floor(rnd() * 50), 1000 + Math.floor(rnd() * 40_000)));
    const spill = new RecordSpill({ maxRecords: 100, runBatch: 64, fanIn: 4 });
    try {
      for (const r of all) spill.add(r);
      await spill.seal();
      expect(spill.runCount).toBeLessThanOrEqual(4);
      const sizes = readdirSync(spill.directory!).map((f) => statSync(join(spill.directory!, f)).size);
      expect(Math.max(...sizes)).toBeGreaterThan(4 << 20); // several buffers' worth
      const want = lines(expectedOrder(all));
      for (let pass = 0; pass < 2; pass++) {
        const got = (await drain(spill, 97)).records;
        expect(lines(got)).toEqual(want);
        const exp = expectedOrder(all);
        expect(got.filter((r, i) => !isDeepStrictEqual(r, exp[i])).length).toBe(0);
      }
    } finally {
      spill.close();
    }
  });

  it('a batch written by v8.serialize (a typed array in a record) keeps its bytes after the read buffer is refilled', async () => {
    const all: AccessRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const r = big(i, 1_700_000_000_000 + (i % 13), 900);
      // not plain data: the codec writes the batch with v8.serialize, whose typed arrays may be views into its input
      (r.fields as Record<string, unknown>).bytes = Uint8Array.from({ length: 64 }, (_, k) => (i * 7 + k) & 255);
      all.push(r);
    }
    const spill = new RecordSpill({ maxRecords: 1000, runBatch: 16 });
    try {
      for (const r of all) spill.add(r);
      await spill.seal();
      expect(spill.runCount).toBe(3);
      const got: AccessRecord[] = [];
      for await (const b of spill.batches(50)) for (const r of b) got.push(r); // held past many refills
      const exp = expectedOrder(all);
      expect(got).toHaveLength(exp.length);
      expect(got.filter((r, i) => !isDeepStrictEqual(r, exp[i])).length).toBe(0);
    } finally {
      spill.close();
    }
  });
});

describe('temporary files', () => {
  it('nothing is written while records fit the budget; runs go to a private directory removed by close', async () => {
    const small = new RecordSpill();
    for (const r of mix(100)) small.add(r);
    await small.seal();
    expect(small.directory).toBeNull();
    small.close();

    const root = mkdtempSync(join(tmpdir(), 'meshsleuth-spill-test-'));
    try {
      const spill = new RecordSpill({ maxRecords: 100, tmpRoot: root });
      for (const r of mix(1000)) spill.add(r);
      await spill.seal();
      const dir = spill.directory!;
      expect(dir.startsWith(join(root, 'meshsleuth-spill-'))).toBe(true);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const files = readdirSync(dir);
      expect(files.length).toBe(10);
      for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
      spill.close();
      expect(existsSync(dir)).toBe(false);
      expect(readdirSync(root)).toEqual([]);
      await expect(spill.batches().next()).rejects.toThrow(/after close/);
      spill.close(); // twice: nothing
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('many spills share one set of exit/SIGINT/SIGTERM handlers, gone when the last one closes', async () => {
    const base = { exit: process.listenerCount('exit'), int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
    const spills: RecordSpill[] = [];
    for (let k = 0; k < 30; k++) {
      const s = new RecordSpill({ maxRecords: 10 });
      for (const r of mix(20)) s.add(r);
      spills.push(s);
    }
    expect(process.listenerCount('exit')).toBe(base.exit + 1);
    expect(process.listenerCount('SIGINT')).toBe(base.int + 1);
    expect(process.listenerCount('SIGTERM')).toBe(base.term + 1);
    for (const s of spills) s.close();
    expect(process.listenerCount('exit')).toBe(base.exit);
    expect(process.listenerCount('SIGINT')).toBe(base.int);
    expect(process.listenerCount('SIGTERM')).toBe(base.term);
  });

  it('a run that cannot be read rejects with one line naming the file and the offset', async () => {
    const spill = new RecordSpill({ maxRecords: 100, runBatch: 10 });
    try {
      for (const r of mix(300)) spill.add(r);
      await spill.seal();
      const run = join(spill.directory!, 'run-1.bin');
      truncateSync(run, statSync(run).size - 10);
      const err = await drain(spill).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(new RegExp(`^record spill: could not read the batch at offset \\d+ of ${run.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .+`));
      expect(err!.message).not.toContain('\n');
    } finally {
      spill.close();
    }
  });
});

/** Runs an ES module script with node (the built dist/), returns exit code/signal and output. */
async function runNode(script: string, env: Record<string, string> = {}, onStdout?: (s: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout, child);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

const FILL = `
const { RecordSpill } = await import(${JSON.stringify(DIST_SPILL)});
const spill = new RecordSpill({ maxRecords: 100 });
for (let i = 0; i < 1000; i++) spill.add({ ref: { file: 'x', line: i }, timeMs: 1000 - i, kind: 'tcp', attrs: {}, unknown: [], fields: {} });
process.stdout.write(spill.directory + '\\n');
`;

describe.skipIf(!existsSync(DIST_SPILL))('in a process of its own (needs dist/, built by the test setup)', () => {
  it('the temporary directory is removed when the process exits without close()', async () => {
    const r = await runNode(FILL + 'process.exit(0);');
    expect(r.code, r.stderr).toBe(0);
    const dir = r.stdout.trim();
    expect(dir).toMatch(/meshsleuth-spill-/);
    expect(existsSync(dir)).toBe(false);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`the temporary directory is removed on ${sig}, and the process still ends by the signal`, async () => {
      let dir = '';
      const r = await runNode(FILL + 'setInterval(() => undefined, 1000);', {}, (out, child) => {
        if (!dir && out.includes('\n')) {
          dir = out.trim();
          expect(existsSync(dir)).toBe(true);
          child.kill(sig);
        }
      });
      expect(r.signal).toBe(sig);
      expect(dir).toMatch(/meshsleuth-spill-/);
      expect(existsSync(dir)).toBe(false);
    });
  }

  it('a million small records pass through the spill within a 128 MB heap (more than the heap if held)', async () => {
    const script = `
const { RecordSpill } = await import(${JSON.stringify(DIST_SPILL)});
const { serialize } = await import('node:v8');
const N = 1_000_000;
const spill = new RecordSpill();
let sampled = 0;
for (let i = 0; i < N; i++) {
  const r = { ref: { file: 'fleet/logs/productpage.log', line: i + 1 }, time: new Date(1.7e12 + (i % 9973) * 3).toISOString(), timeMs: i % 13 === 0 ? undefined : 1.7e12 + (i % 9973) * 3,
    kind: 'http', attrs: { source: { address: '10.1.' + (i % 200) + '.' + (i % 250), port: 30000 + (i % 30000) }, http: { method: 'GET', path: '/api/v1/items/' + i, headers: { 'x-request-id': ['rid-' + i] } } },
    unknown: [], requestId: 'rid-' + i, durationMs: i % 1000, fields: { path: '/api/v1/items/' + i } };
  if (i % 1000 === 0) sampled += serialize(r).length;
  spill.add(r);
}
await spill.seal();
let n = 0, lastT = -Infinity, lastUntimed = -1, ok = true;
for await (const b of spill.batches()) for (const r of b) {
  n++;
  if (r.timeMs === undefined) { if (r.ref.line <= lastUntimed) ok = false; lastUntimed = r.ref.line; lastT = Infinity; }
  else { if (r.timeMs < lastT) ok = false; lastT = r.timeMs; }
}
spill.close();
process.stdout.write(JSON.stringify({ n, ok, count: spill.count, untimed: spill.untimed, max: spill.maxDurationMs, heldBytes: sampled * 1000 }) + '\\n');
`;
    const r = await runNode(script, { NODE_OPTIONS: '--max-old-space-size=128' });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const out = JSON.parse(r.stdout) as { n: number; ok: boolean; count: number; untimed: number; max: number; heldBytes: number };
    expect(out).toMatchObject({ n: 1_000_000, ok: true, count: 1_000_000, untimed: Math.ceil(1_000_000 / 13), max: 999 });
    // the records serialized are more than the heap: held all at once they could not fit
    expect(out.heldBytes).toBeGreaterThan(128 * 1024 * 1024);
  }, 600_000);
});
