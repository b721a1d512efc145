/** Building blocks for explanation traces (model/decision.ts TraceNode). */
import type { TraceNode } from '../model/decision.js';
import { T, U, triToPublic, type Tri } from './tri.js';
import { appendAll } from '../model/arrays.js';

export type Actual = string | number | boolean | null | string[];

export function fmtActual(a: Actual | undefined): string {
  if (a === undefined || a === null) return 'absent';
  if (Array.isArray(a)) return a.length === 0 ? '[]' : `[${a.map((x) => JSON.stringify(x)).join(', ')}]`;
  if (typeof a === 'string') return JSON.stringify(a);
  return String(a);
}

/** What a leaf shows for an attribute the evidence does not carry (never "none" or "absent": that would be a fact). */
export const UNKNOWN_NOT_LOGGED = 'unknown (not logged)';

/**
 * A leaf: the attribute read, its value, what was expected and the result. An undecidable leaf with no
 * value read is an attribute the evidence lacks: it shows as `unknown (not logged)`, whatever text the
 * matcher gives for a value known to be absent.
 */
export function leaf(node: string, r: Tri, attribute: string, actual: Actual, expected: string, actualText?: string, reason?: string): TraceNode {
  const lacking = r === U && (actual === null || actual === undefined || (Array.isArray(actual) && actual.length === 0)) && !(actualText ?? '').startsWith('unknown');
  const a = lacking ? UNKNOWN_NOT_LOGGED : actualText ?? fmtActual(actual);
  const verb = r === T ? 'matches' : r === U ? 'cannot decide' : 'needs';
  const detail = r === U && reason ? `${attribute}: ${a} — cannot decide ${expected}: ${reason}` : `${attribute}: ${a} — ${verb} ${expected}`;
  return { node, matched: triToPublic(r), detail, attribute, actual, expected };
}

export function composite(node: string, r: Tri, detail: string, children: TraceNode[]): TraceNode {
  return { node, matched: triToPublic(r), detail, children };
}

/** Minimal set of leaves whose change would flip a non-matching node to matching. */
export function failingLeaves(n: TraceNode): TraceNode[] {
  if (n.matched === true) return [];
  const kids = n.children;
  if (!kids || kids.length === 0) return [n];
  switch (n.node) {
    case 'or_rules':
    case 'or_ids':
    case 'permissions':
    case 'principals':
    case 'or_matcher': {
      let best: TraceNode[] | null = null;
      for (const c of kids) {
        const f = failingLeaves(c);
        if (best === null || f.length < best.length) best = f;
      }
      return best ?? [n];
    }
    case 'not_rule':
    case 'not_id':
    case 'not_matcher':
      return [n];
    default: {
      // and_rules / and_ids / policy / any other conjunction: every failing child must change.
      const out: TraceNode[] = [];
      for (const c of kids) if (c.matched !== true) appendAll(out, failingLeaves(c));
      return out.length > 0 ? out : [n];
    }
  }
}

/** The leaves that made a matched node match (first matching branch of each OR). */
export function matchedLeafDetails(n: TraceNode): string[] {
  if (n.matched !== true) return [];
  if (!n.children || n.children.length === 0) return [n.detail];
  if (/^(or_rules|or_ids|permissions|principals)$/.test(n.node)) {
    const c = n.children.find((x) => x.matched === true);
    return c ? matchedLeafDetails(c) : [];
  }
  if (n.node === 'not_rule' || n.node === 'not_id') return [n.detail];
  return n.children.flatMap(matchedLeafDetails);
}
