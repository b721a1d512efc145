/**
 * yamlChunks/jsonChunks write exactly what toYaml/toJson write, piece by piece: on random JSON-like values with
 * repeated objects (YAML anchors and aliases), multi-line strings (block scalars), keys that need quoting, empty
 * collections and undefined members, walked at every size threshold.
 */
import { describe, expect, it } from 'vitest';
import { jsonChunks, yamlChunks } from '../../src/report/serialize-stream.js';
import { toJson, toYaml } from '../../src/report/serialize.js';

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['x', '', 'a b', 'multi\nline\n', 'a\n\nb  \n', ' lead\n\n x', 'null', '9080', 'yes', '@type', '- dash', '# hash', 'key: value', '"quoted"', "it's", '*', '&a1', '[x]', 'ns[default]-policy[p]-rule[0]', 'tab\there', 'ünï', 'trailing ', '\u202e', 'x'.repeat(120)];
const KEYS = ['name', 'typed_config', '@type', '9080', 'null', 'a b', 'ns[default]-policy[p1]-rule[0]', '', 'x\ny', 'true', '- k', 'k'.repeat(1100)];

function randomValue(r: () => number, depth: number, pool: object[]): unknown {
  const p = r();
  if (depth <= 0 || p < 0.3) {
    const q = r();
    if (q < 0.45) return STRINGS[Math.floor(r() * STRINGS.length)];
    if (q < 0.65) return Math.floor(r() * 100_000) - 500;
    if (q < 0.7) return r() * 10;
    if (q < 0.8) return r() < 0.5;
    if (q < 0.85) return null;
    if (q < 0.9) return undefined;
    if (pool.length > 0) return pool[Math.floor(r() * pool.length)];
    return 'x';
  }
  let v: object;
  const n = Math.floor(r() * (r() < 0.2 ? 40 : 5));
  if (p < 0.6) v = Array.from({ length: n }, () => randomValue(r, depth - 1, pool));
  else {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) o[r() < 0.7 ? `k${Math.floor(r() * 50)}` : KEYS[Math.floor(r() * KEYS.length)]!] = randomValue(r, depth - 1, pool);
    v = o;
  }
  if (r() < 0.1) pool.push(v);
  return v;
}

describe('streamed YAML and JSON output equal the whole-document serialisation', () => {
  it('on 150 random values with repeats, block scalars and odd keys, at chunk sizes 1, 4 and the default', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed);
      const pool: object[] = [];
      const v = { top: randomValue(r, 4, pool), again: randomValue(r, 4, pool), list: [randomValue(r, 3, pool), randomValue(r, 3, pool)] };
      const y = toYaml(v);
      const j = toJson(v);
      for (const chunkNodes of [1, 4, undefined]) {
        const opt = chunkNodes === undefined ? {} : { chunkNodes };
        expect([...yamlChunks(v, opt)].join(''), `seed ${seed}, chunkNodes ${chunkNodes}`).toBe(y);
        expect([...jsonChunks(v, opt)].join(''), `seed ${seed}, chunkNodes ${chunkNodes}`).toBe(j);
      }
    }
  });

  it('writes a 5,000-entry map in pieces, none larger than a few entries, and anchors a filter shared by two chains', () => {
    const policies: Record<string, unknown> = {};
    for (let i = 0; i < 5_000; i++) policies[`ns[default]-policy[p${i}]-rule[0]`] = { permissions: [{ url_path: { path: { exact: `/p${i}` } } }], principals: [{ any: true }] };
    const filter = { name: 'envoy.filters.http.rbac', typed_config: { rules: { action: 'DENY', policies } } };
    const doc = { chains: [{ filters: [filter] }, { filters: [filter] }], empty: [], scalars: [1, 'two'] };
    const chunks = [...yamlChunks(doc)];
    expect(chunks.join('')).toBe(toYaml(doc));
    expect(chunks.join('')).toMatch(/filters:\n {6}- &a1\n/);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(200_000);
    const jc = [...jsonChunks(doc)];
    expect(jc.join('')).toBe(toJson(doc));
    expect(Math.max(...jc.map((c) => c.length))).toBeLessThan(200_000);
  });
});
