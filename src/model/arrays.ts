/**
 * Array helpers safe for arrays of any length. `a.push(...b)` and `Math.max(...b)` pass every element as a
 * call argument, and V8 throws "Maximum call stack size exceeded" at about 120k of them: evidence an attacker
 * shaped (130k connections in a capture, 150k listeners in a dump) must never reach such a call.
 */

/** Appends every item of `items` to `target` (in order) and returns `target`. */
export function appendAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const x of items) target.push(x);
  return target;
}

/** The largest value, or `empty` for no values. */
export function maxOf(values: Iterable<number>, empty = -Infinity): number {
  let m = empty;
  let any = false;
  for (const v of values) {
    if (!any || v > m) m = v;
    any = true;
  }
  return any ? m : empty;
}
