/** Test helper: feeds a conversation into a StreamDecoder with a chosen segmentation. */
import { createStreamDecoder } from '../../src/protocols/index.js';
import type { Direction, StreamDecoder, StreamFacts } from '../../src/protocols/stream.js';

export type Step = { dir: Direction; bytes: Uint8Array } | { dir: Direction; gap: number };

export interface FeedOptions {
  /** Split every message into segments of this size (1 = byte at a time). */
  segment?: number;
  decoder?: StreamDecoder;
}

export function feed(steps: Step[], opts: FeedOptions = {}): StreamFacts {
  const d = opts.decoder ?? createStreamDecoder();
  let frame = 1;
  let t = 1_700_000_000_000;
  for (const s of steps) {
    const meta = () => ({ frame: frame++, timeMs: (t += 1) });
    if ('gap' in s) {
      d.gap(s.dir, s.gap, meta());
      continue;
    }
    const seg = opts.segment ?? s.bytes.length;
    for (let off = 0; off < s.bytes.length; off += seg) d.data(s.dir, s.bytes.subarray(off, off + seg), meta());
  }
  d.end();
  return d.facts();
}

export const c2s = (x: string | Uint8Array): Step => ({ dir: 'c2s', bytes: typeof x === 'string' ? Buffer.from(x, 'latin1') : x });
export const s2c = (x: string | Uint8Array): Step => ({ dir: 's2c', bytes: typeof x === 'string' ? Buffer.from(x, 'latin1') : x });
