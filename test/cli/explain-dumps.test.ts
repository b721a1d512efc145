/**
 * The same dump decides the same record: given several dumps of one proxy (bookinfo-authz's stages and
 * final state), `explain` replays each log line through the dump in force at the line's time, as `report`
 * does (proxies.ts ProxyIndex / inForceAt), and says which dump it used. A record whose local address is
 * not the proxy's is "not from this proxy", never a disagreement or "config drift".
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';

const B = 'samples/bookinfo-authz';
const D = 'details-v1-5f4d584748-2w7mh.default';
const STAGES = ['00-no-policy', '01-allow-nothing', '02-productpage-viewer', '03-details-reviews-viewer'].map((s) => `${B}/stages/${s}/config_dumps/${D}.json`);
const FINAL = `${B}/config_dumps/${D}.json`;
const LOG = `${B}/logs/${D}.istio-proxy.log`;

interface Rec { ref: string; time: string; verdict: string; dump: string | null; reason: string; decision: { config?: string } | null }

describe.skipIf(!existsSync(join(REPO, B)))('explain with several dumps of one proxy (needs samples/bookinfo-authz)', () => {
  it('replays each record through the dump in force at its time and names it: no drift left', async () => {
    // given in any order, the final dump first
    const r = await runCli(['explain', FINAL, ...STAGES.slice().reverse(), LOG, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { summary: { disagreements: number }; records: Rec[] };
    const byTime = Object.fromEntries(out.records.map((x) => [x.time.slice(11, 16), x.dump]));
    expect(byTime).toEqual({
      '10:00': STAGES[0], // before any policy: allowed, as logged
      '10:10': STAGES[2], // productpage-viewer only: details denied [none], as logged
      '10:15': STAGES[3],
      '10:20': FINAL,
      '10:21': FINAL,
    });
    expect(out.summary.disagreements).toBe(0);
    expect(out.records.find((x) => x.time.startsWith('2026-11-22T10:00'))!.verdict).toBe('agrees');
    expect(out.records.find((x) => x.time.startsWith('2026-11-22T10:10'))!.verdict).toBe('agrees');
    // the table says which dump each group was replayed through
    const t = await runCli(['explain', FINAL, ...STAGES, LOG]);
    expect(t.stdout).toMatch(/^DECISION\s+POLICY\s+VERDICT\s+COUNT\s+DUMP\s+EXAMPLE\s+REASON/);
    expect(t.stdout).toContain(STAGES[2]);
    expect(t.stdout).not.toContain('config drift');
  });

  it('report picks the same dump for the same record (one mechanism)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-dumps-'));
    const rep = await runCli(['report', B, '--out', join(dir, 'r.json')]);
    expect(rep.code, rep.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { requests: { ref: { file: string; line: number }; proxy: string | null }[] };
    const fromReport = Object.fromEntries(m.requests.filter((x) => x.ref.file === LOG).map((x) => [`${x.ref.file}:${x.ref.line}`, x.proxy]));
    const ex = JSON.parse((await runCli(['explain', FINAL, ...STAGES, LOG, '-o', 'json'])).stdout) as { records: Rec[] };
    const fromExplain = Object.fromEntries(ex.records.map((x) => [x.ref, x.dump]));
    expect(Object.keys(fromExplain)).toHaveLength(5);
    expect(fromExplain).toEqual(fromReport);
  });

  it('with only the final dump, the same 10:10 record is what the final config would do (the dump is not the one in force)', async () => {
    const r = await runCli(['explain', FINAL, LOG, '-o', 'json']);
    const out = JSON.parse(r.stdout) as { records: Rec[] };
    expect(out.records.every((x) => x.dump === FINAL)).toBe(true);
  });

  it('a record whose local address is not the proxy\'s is "not from this proxy", never a disagreement', async () => {
    // productpage's log replayed through the details sidecar's dump
    const r = await runCli(['explain', FINAL, `${B}/logs/productpage-v1-7c8b6f9d4d-m9qzv.default.istio-proxy.log`, '-o', 'json', '--fail-on', 'disagreement']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { summary: { disagreements: number; notFromProxy: number; records: number }; records: Rec[] };
    expect(out.summary.disagreements).toBe(0);
    expect(out.summary.notFromProxy).toBe(out.summary.records);
    for (const x of out.records) {
      expect(x.verdict).toBe('not-from-this-proxy');
      expect(x.reason).toMatch(/^not from this proxy: /);
      expect(x.reason).not.toMatch(/drift/);
    }
    expect(out.records[0]!.reason).toContain('local address 10.244.1.7:9080 is not this proxy\'s (10.244.2.5');
    const t = await runCli(['explain', FINAL, `${B}/logs/productpage-v1-7c8b6f9d4d-m9qzv.default.istio-proxy.log`]);
    expect(t.stdout).toContain('NOT THIS PROXY');
    expect(t.stdout).toContain('13 not from this proxy; 0 disagreements');
  });

  it('a log whose proxy has none of the dumps is not from these proxies', async () => {
    const r = await runCli(['explain', `${B}/config_dumps`, `${B}/logs/sleep-9454cc476-tb7xv.default.istio-proxy.log`, '-o', 'json']);
    const out = JSON.parse(r.stdout) as { records: Rec[] };
    expect(out.records.map((x) => x.verdict)).toEqual(['not-from-this-proxy']);
    expect(out.records[0]!.reason).toContain('none of the 4 config dumps is for this record\'s proxy');
  });
});
