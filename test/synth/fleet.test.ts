/**
 * The fleet generator (src/synth/fleet.ts) writes each log line by joining a template cut once at its changing
 * parts; what it writes must be what the three regular-expression rewrites define (`rewrite`): the time, the
 * request ids' first 8 hex digits and every ephemeral port, per replay. Checked line by line on every sample
 * whose logs it can replay, over replays whose hex ids, ports and times differ (including a day boundary).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { rewrite, writeFleetEvidence } from '../../src/synth/fleet.js';

const TIME = /^\[([^\]]+)\]/;
const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-fleet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each log's lines with a bracketed time (the template lines), in the generator's order. */
function templateLines(sample: string): { file: string; text: string }[] {
  const logDir = join(sample, 'logs');
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(logDir, f), 'utf8')
        .split('\n')
        .filter((l) => {
          const m = TIME.exec(l);
          return m !== null && Number.isFinite(Date.parse(m[1]!));
        })
        .map((text) => ({ file: f, text })),
    );
}

const samples = readdirSync(join(REPO, 'samples')).filter((s) => existsSync(join(REPO, 'samples', s, 'logs')) && templateLines(join(REPO, 'samples', s)).length > 0);

describe('fleet evidence', () => {
  it('finds samples to replay (bookinfo-authz among them)', () => {
    expect(samples).toContain('bookinfo-authz');
  });

  it.each(samples)('%s: every written line is its template rewritten for its replay (time, request ids, ports)', async (s) => {
    const sample = join(REPO, 'samples', s);
    const tpl = templateLines(sample);
    // enough replays to cross a UTC day boundary at a 40-minute gap between request groups
    const lines = tpl.length * 40 + Math.floor(tpl.length / 2);
    const out = join(dir, s);
    const r = await writeFleetEvidence(out, { lines, sample, gapMs: 2_400_000 });
    expect(r.lines).toBe(lines);
    expect(r.replayLines).toBe(tpl.length);
    const written = new Map<string, string[]>();
    for (const p of r.logs) written.set(p.slice(p.lastIndexOf('/') + 1), readFileSync(p, 'utf8').split('\n').filter((l) => TIME.test(l)));
    const next = new Map<string, number>();
    const days = new Set<string>();
    let last = -Infinity;
    for (let n = 0; n < lines; n++) {
      const iter = Math.floor(n / tpl.length);
      const t = tpl[n % tpl.length]!;
      const i = next.get(t.file) ?? 0;
      next.set(t.file, i + 1);
      const got = written.get(t.file)![i]!;
      const ms = Date.parse(TIME.exec(got)![1]!);
      last = Math.max(last, ms);
      days.add(new Date(ms).toISOString().slice(0, 10));
      expect(got).toBe(rewrite(t.text, iter, ms));
    }
    for (const [f, ls] of written) expect(ls.length, f).toBe(next.get(f) ?? 0);
    expect(days.size).toBeGreaterThan(1);
    expect(r.firstMs).toBe(Date.parse('2026-11-22T10:00:00Z'));
    expect(r.lastMs).toBe(last);
  });
});
