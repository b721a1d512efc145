/** The decision memo stores sparsely while it (almost) never hits, and fully again once requests repeat. */
import { describe, expect, it } from 'vitest';
import { DecisionCache } from '../../src/analysis/explain.js';
import type { Decision } from '../../src/model/decision.js';

const decision = (): Decision => ({ decision: 'ALLOW', policy: null, responseCodeDetails: null, filters: [] });

/** A lookup, and the store a decider makes on a miss. */
function lookup(c: DecisionCache, key: string): boolean {
  if (c.get(key)) return true;
  c.set(key, decision());
  return false;
}

describe('decision memo admission', () => {
  it('every request distinct: after a window of misses about one miss in 16 is stored', () => {
    const c = new DecisionCache();
    for (let i = 0; i < 1023; i++) lookup(c, `k${i}`);
    expect(c.size).toBe(1023);
    expect(c.storingSparsely).toBe(false);
    lookup(c, 'k1023'); // the window's last lookup: 0 hits in 1024
    expect(c.storingSparsely).toBe(true);
    const before = c.size;
    for (let i = 1024; i < 1024 + 16_000; i++) lookup(c, `k${i}`);
    expect(c.size - before).toBeGreaterThan(800);
    expect(c.size - before).toBeLessThan(1200);
  });

  it('a request that repeats still gets in while storing sparsely, and a hit rate back above 1 in 32 stores every miss again', () => {
    const c = new DecisionCache();
    for (let i = 0; i < 1024; i++) lookup(c, `k${i}`);
    expect(c.storingSparsely).toBe(true);
    // one request in 8 is the same one: stored after a few of its misses, it then hits
    let hits = 0;
    for (let i = 0; i < 1024; i++) if (lookup(c, i % 8 === 0 ? 'same' : `d${i}`)) hits++;
    expect(hits).toBeGreaterThan(64); // of 128
    expect(c.storingSparsely).toBe(false);
    const before = c.size;
    for (let i = 0; i < 10; i++) lookup(c, `e${i}`);
    expect(c.size).toBe(before + 10);
  });

  it('without lookups (a cache filled directly) every decision is stored', () => {
    const c = new DecisionCache();
    for (let i = 0; i < 2000; i++) c.set(`k${i}`, decision());
    expect(c.size).toBe(2000);
  });
});
