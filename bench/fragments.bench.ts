/**
 * IP fragment reassembly under hostile floods (issue: 40k duplicates of a never-completed fragment
 * took 94 s). Drives the reassembly table directly, in process, and prints time per fragment, the
 * most bytes it held and the drops by reason:
 *  - duplicates: 400 000 copies of one first fragment (binary search, rejected on arrival);
 *  - new datagrams: 400 000 first fragments of 1 400 bytes, each of a different datagram (the
 *    datagram and byte caps evict the oldest);
 *  - covering overlaps: a datagram of 256 parts (the per-datagram cap), then 200 000 fragments
 *    lying across all of them (the worst overlap walk: O(parts) each, bounded by the cap).
 */
import { FragmentTable, newDecodeStats } from '../src/readers/capture/index.js';

function run(label: string, n: number, feed: (t: FragmentTable, i: number, stats: ReturnType<typeof newDecodeStats>) => void, setup?: (t: FragmentTable, stats: ReturnType<typeof newDecodeStats>) => void): void {
  const t = new FragmentTable();
  const stats = newDecodeStats();
  setup?.(t, stats);
  let held = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    feed(t, i, stats);
    if ((i & 1023) === 0) held = Math.max(held, t.heldBytes);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  t.flush(stats);
  process.stdout.write(
    `${label}: ${n} fragments in ${s.toFixed(2)} s (${((s / n) * 1e9).toFixed(0)} ns/fragment); most bytes held ${(held / 1e6).toFixed(1)} MB (cap ${(t.maxBytes / 1e6).toFixed(1)} MB); dropped ${JSON.stringify(stats.fragments.droppedBy)}\n`,
  );
}

export default async function (): Promise<void> {
  const small = new Uint8Array(24).fill(1);
  run('fragments (duplicates of one first fragment)', 400_000, (t, _i, st) => void t.add('one', 0, true, small, 0, st));
  const big = new Uint8Array(1400).fill(2);
  run('fragments (a new datagram per fragment)', 400_000, (t, i, st) => void t.add(`d${i}`, 0, true, big, 0, st));
  const wide = new Uint8Array(256 * 16).fill(3);
  run(
    'fragments (overlaps across 256 parts)',
    200_000,
    (t, i, st) => void t.add('w', 0, true, wide, 0, st),
    (t, st) => {
      for (let k = 0; k < 256; k++) t.add('w', k * 16, true, small.subarray(0, 8), 0, st);
    },
  );
}
