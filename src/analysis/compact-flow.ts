/**
 * Keeps the flows `report` holds small: a capture of a million connections is a million Flow records
 * kept for joining logs, findings and the timeline, so each one should cost little once summarised.
 * The compact flow is the same record (same keys in the same order, the same JSON): only how it is
 * stored changes.
 *
 *  - strings many flows repeat (server addresses, the notes an eviction or a decoder writes, the
 *    connection state) are shared, up to `maxInterned` distinct ones;
 *  - strings built from parts (the id `file#stream`, RFC 3339 times) are stored flat, not as the
 *    chain of pieces (and a `-T...` slice of a longer ISO string) template literals leave behind;
 *    a flow whose end is its start shares one string;
 *  - the evidence list is one shared frozen array per distinct list, an empty HTTP list one shared
 *    frozen array, the server endpoint and the byte counts one frozen object per distinct value
 *    (nothing writes to a finished flow's lists or endpoints; a write would throw, never corrupt);
 *  - the frame list is copied to its exact length (the connection's list grows by doubling).
 *
 * Measured (100k SYN-only connections, heap after gathering ÷ flows): 1,285 B per flow before, 536 after.
 */
import type { Flow } from '../model/records.js';

const EMPTY: readonly never[] = Object.freeze([]);

/** A flat copy of a string (Array.prototype.join builds a sequential string, not a chain of parts). */
function flat(s: string): string {
  return [s].join('');
}

export class FlowCompactor {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, string[]>();
  private readonly idPrefix = new Map<string, string>();
  private readonly objects = new Map<string, object>();

  constructor(private readonly maxInterned = 1 << 16) {}

  /** The shared copy of `s` (or `s` itself, flattened, once `maxInterned` distinct strings are kept). */
  intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    const f = flat(s);
    if (this.strings.size < this.maxInterned) this.strings.set(f, f);
    return f;
  }

  private list(l: string[]): string[] {
    if (l.length === 0) return EMPTY as unknown as string[];
    const k = l.join('\u0000');
    const hit = this.lists.get(k);
    if (hit) return hit;
    const shared = Object.freeze(l.map((s) => this.intern(s))) as unknown as string[];
    if (this.lists.size < this.maxInterned) this.lists.set(k, shared);
    return shared;
  }

  /** One frozen object per distinct key (up to `maxInterned`; past it a frozen copy of its own). */
  private shared<T extends object>(key: string, make: () => T): T {
    const hit = this.objects.get(key);
    if (hit) return hit as T;
    const o = Object.freeze(make());
    if (this.objects.size < this.maxInterned) this.objects.set(key, o);
    return o;
  }

  /** Compacts `f` in place (keys and values unchanged) and returns it. */
  compact(f: Flow): Flow {
    if (f.stream !== undefined && f.id === `${f.file}#${f.stream}`) {
      let p = this.idPrefix.get(f.file);
      if (p === undefined) {
        p = flat(`${f.file}#`);
        this.idPrefix.set(f.file, p);
      }
      f.id = [p, f.stream].join('');
    } else f.id = flat(f.id);
    f.file = this.intern(f.file);
    f.client = { ip: this.intern(f.client.ip), port: f.client.port };
    f.server = this.shared(`${f.server.ip}|${f.server.port}`, () => ({ ip: this.intern(f.server.ip), port: f.server.port }));
    f.bytes = this.shared(`${f.bytes.clientToServer}/${f.bytes.serverToClient}`, () => ({ ...f.bytes }));
    const start = flat(f.start);
    f.end = f.end === f.start ? start : flat(f.end);
    f.start = start;
    if (f.connState !== undefined) f.connState = this.intern(f.connState);
    f.frames = f.frames.slice();
    f.evidence = this.list(f.evidence);
    f.protocol = this.intern(f.protocol);
    if (f.http.length === 0) f.http = EMPTY as unknown as Flow['http'];
    if (f.notes.length) f.notes = f.notes.map((n) => this.intern(n));
    return f;
  }
}
