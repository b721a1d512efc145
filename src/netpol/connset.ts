/**
 * Sets of connections (protocol × destination port), the algebra np-guard/netpol-analyzer reads its
 * policies with: union across rules and policies, intersection of the two directions. Printed in the
 * analyzer's vocabulary: `All Connections`, `No Connections`, or sorted `PROTO ports` items joined with
 * `,` (`TCP 80,UDP 53`, `TCP 1-79,81-65535`).
 */
import type { L4Protocol } from '../model/cluster.js';

export const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** Sorted, disjoint, non-adjacent inclusive intervals. */
export type Intervals = readonly (readonly [number, number])[];

const FULL: Intervals = [[MIN_PORT, MAX_PORT]];

function normalize(list: (readonly [number, number])[]): Intervals {
  const s = list.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function intersectIntervals(x: Intervals, y: Intervals): Intervals {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const a = Math.max(x[i]![0], y[j]![0]);
    const b = Math.min(x[i]![1], y[j]![1]);
    if (a <= b) out.push([a, b]);
    if (x[i]![1] < y[j]![1]) i++;
    else j++;
  }
  return out;
}

function subtractIntervals(x: Intervals, y: Intervals): Intervals {
  let cur: [number, number][] = x.map(([a, b]) => [a, b]);
  for (const [c, d] of y) {
    const next: [number, number][] = [];
    for (const [a, b] of cur) {
      if (d < a || c > b) next.push([a, b]);
      else {
        if (a < c) next.push([a, c - 1]);
        if (d < b) next.push([d + 1, b]);
      }
    }
    cur = next;
  }
  return cur;
}

const isFull = (x: Intervals | undefined) => x !== undefined && x.length === 1 && x[0]![0] === MIN_PORT && x[0]![1] === MAX_PORT;

/** Immutable connection set. */
export class ConnSet {
  private constructor(private readonly byProto: ReadonlyMap<L4Protocol, Intervals>) {}

  static readonly NONE = new ConnSet(new Map());
  static readonly ALL = new ConnSet(new Map(PROTOCOLS.map((p) => [p, FULL])));

  static ports(proto: L4Protocol, from: number, to: number = from): ConnSet {
    const lo = Math.max(from, MIN_PORT);
    const hi = Math.min(to, MAX_PORT);
    if (lo > hi) return ConnSet.NONE;
    return new ConnSet(new Map([[proto, [[lo, hi]] as Intervals]]));
  }

  static protocol(proto: L4Protocol): ConnSet {
    return new ConnSet(new Map([[proto, FULL]]));
  }

  isEmpty(): boolean {
    return this.byProto.size === 0;
  }

  isAll(): boolean {
    return PROTOCOLS.every((p) => isFull(this.byProto.get(p)));
  }

  union(o: ConnSet): ConnSet {
    if (o.isEmpty() || this === o) return this;
    if (this.isEmpty()) return o;
    const m = new Map(this.byProto);
    for (const [p, iv] of o.byProto) m.set(p, normalize([...(m.get(p) ?? []), ...iv]));
    return new ConnSet(m);
  }

  intersect(o: ConnSet): ConnSet {
    if (this === o) return this;
    const m = new Map<L4Protocol, Intervals>();
    for (const [p, iv] of this.byProto) {
      const other = o.byProto.get(p);
      if (!other) continue;
      const r = intersectIntervals(iv, other);
      if (r.length) m.set(p, r);
    }
    return new ConnSet(m);
  }

  subtract(o: ConnSet): ConnSet {
    const m = new Map<L4Protocol, Intervals>();
    for (const [p, iv] of this.byProto) {
      const other = o.byProto.get(p);
      const r = other ? subtractIntervals(iv, other) : iv;
      if (r.length) m.set(p, r);
    }
    return new ConnSet(m);
  }

  contains(proto: L4Protocol, port: number): boolean {
    return (this.byProto.get(proto) ?? []).some(([a, b]) => port >= a && port <= b);
  }

  equals(o: ConnSet): boolean {
    return this.toString() === o.toString();
  }

  /** Per protocol, the intervals (for JSON). */
  toJSON(): Record<string, [number, number][]> {
    const out: Record<string, [number, number][]> = {};
    for (const p of PROTOCOLS) {
      const iv = this.byProto.get(p);
      if (iv) out[p] = iv.map(([a, b]) => [a, b]);
    }
    return out;
  }

  toString(): string {
    if (this.isAll()) return 'All Connections';
    if (this.isEmpty()) return 'No Connections';
    const items: string[] = [];
    for (const [p, iv] of this.byProto) items.push(`${p} ${iv.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`);
    return items.sort().join(',');
  }
}
