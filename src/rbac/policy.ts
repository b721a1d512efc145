/**
 * PolicyMatcher (matchers.cc): OR over permissions AND OR over principals AND condition, in that
 * order; the CEL condition is consulted only when both lists matched.
 */
import type { PolicyEvaluation, TraceNode } from '../model/decision.js';
import { RbacConfigError } from './errors.js';
import { asArr, asObj, jp } from './cfg.js';
import type { EvalContext } from './context.js';
import { parseCelCondition, type CelCondition } from './cel.js';
import { combineAnd, constantMatch, AndMatcher, AuthenticatedMatcher, HeaderMatcherRule, OrMatcher, PathMatcherRule, createPermission, createPrincipal, type Matcher, type ParseOptions } from './matchers.js';

/**
 * A necessary condition read from the config: the set of exact values `header` must have for `m` to
 * match, or null when `m` does not constrain it that way. Used only to rule policies out quickly
 * (e.g. most Istio policies pin `:method`); the full matcher still decides every policy that passes.
 */
export function requiredExactValues(m: Matcher, header: string): Set<string> | null {
  if (m instanceof HeaderMatcherRule) return m.hm.key === header ? m.hm.requiredExactValue() : null;
  if (m instanceof OrMatcher) {
    const out = new Set<string>();
    for (const c of m.children) {
      const s = requiredExactValues(c, header);
      if (s === null) return null;
      for (const v of s) out.add(v);
    }
    return out;
  }
  if (m instanceof AndMatcher) {
    for (const c of m.children) {
      const s = requiredExactValues(c, header);
      if (s !== null) return s;
    }
    return null;
  }
  return null;
}
import { composite, failingLeaves, leaf } from './trace.js';
import { F, T, U, triToPublic, type Tri } from './tri.js';
import { appendAll } from '../model/arrays.js';

/**
 * Leaves of kind `pick` one of which must match for `m` to match (OR → union, AND → the first
 * constrained child), or null when `m` is not constrained that way. Another necessary condition: when
 * every such leaf is definitely false, so is `m`.
 */
export function requiredLeaves(m: Matcher, pick: (x: Matcher) => boolean): Matcher[] | null {
  if (pick(m)) return [m];
  if (m instanceof OrMatcher) {
    const out: Matcher[] = [];
    for (const c of m.children) {
      const s = requiredLeaves(c, pick);
      if (s === null) return null;
      appendAll(out, s);
    }
    return out;
  }
  if (m instanceof AndMatcher) {
    for (const c of m.children) {
      const s = requiredLeaves(c, pick);
      if (s !== null) return s;
    }
  }
  return null;
}

export class PolicyMatcher {
  /** Necessary conditions checked before the full trees: at least one leaf of each gate must not be false. */
  private readonly gates: Matcher[][];
  /** `:method` values this policy can match at all (null: unconstrained). */
  private readonly methods: Set<string> | null;
  /** True when the policy's structure alone rules out every request (e.g. Istio's allow-nothing `not any`). */
  readonly neverMatches: boolean;

  constructor(
    readonly name: string,
    readonly permissions: OrMatcher,
    readonly principals: OrMatcher,
    readonly condition: CelCondition | null,
    /** JSON path of the policy in the config. */
    readonly path: string,
  ) {
    this.methods = requiredExactValues(permissions, ':method');
    this.neverMatches = constantMatch(permissions) === false || constantMatch(principals) === false;
    this.gates = [
      requiredLeaves(permissions, (x) => x instanceof PathMatcherRule),
      requiredLeaves(principals, (x) => x instanceof AuthenticatedMatcher),
    ].filter((g): g is Matcher[] => g !== null && g.length > 0 && g.length <= 8);
  }

  static parse(name: string, v: unknown, path: string, opts: ParseOptions): PolicyMatcher {
    const o = asObj(v, path, 'a Policy');
    const pp = jp(path, 'permissions');
    const perms = asArr(o.permissions ?? [], pp);
    if (perms.length === 0) throw new RbacConfigError(pp, 'PolicyValidationError.Permissions: value must contain at least 1 item(s)');
    const ip = jp(path, 'principals');
    const ids = asArr(o.principals ?? [], ip);
    if (ids.length === 0) throw new RbacConfigError(ip, 'PolicyValidationError.Principals: value must contain at least 1 item(s)');
    // `checked_condition` (and `cel_config`) are accepted and, as in Envoy, `checked_condition` is ignored.
    const condition = o.condition !== undefined && o.condition !== null ? parseCelCondition(o.condition, jp(path, 'condition')) : null;
    return new PolicyMatcher(
      name,
      new OrMatcher('permissions', perms.map((p, i) => createPermission(p, jp(pp, i), opts))),
      new OrMatcher('principals', ids.map((p, i) => createPrincipal(p, jp(ip, i), opts))),
      condition,
      path,
    );
  }

  matches(ctx: EvalContext): Tri {
    if (this.methods !== null) {
      const m = ctx.header(':method');
      if (m !== null ? !this.methods.has(m) : !ctx.unknown('http.method')) return F;
    }
    for (let g = 0; g < this.gates.length; g++) {
      const gate = this.gates[g]!;
      let open = false;
      for (let k = 0; k < gate.length; k++) {
        if (gate[k]!.matches(ctx) !== F) {
          open = true;
          break;
        }
      }
      if (!open) return F;
    }
    const p = this.permissions.matches(ctx);
    if (p === F) return F;
    const q = this.principals.matches(ctx);
    if (q === F) return F;
    let r: Tri = p === U || q === U ? U : T;
    if (this.condition) {
      const c = this.condition.evaluate(ctx).r;
      if (c === F) return F;
      if (c === U) r = U;
    }
    return r;
  }

  explain(ctx: EvalContext): PolicyEvaluation {
    const perm = this.permissions.explain(ctx);
    const prin = this.principals.explain(ctx);
    perm.detail = `permissions: ${perm.detail}`;
    prin.detail = `principals: ${prin.detail}`;
    const children: TraceNode[] = [perm, prin];
    let undecidableReason: string | undefined;
    if (this.condition) {
      const ce = this.condition.evaluate(ctx);
      const node = leaf('condition', ce.r, 'condition', ce.value, this.condition.text, ce.value, ce.reason);
      children.push(node);
      if (ce.r === U) undecidableReason = ce.reason;
    }
    // From the trace itself (not the gated fast path), so the two can be checked against each other.
    const r = combineAnd(children);
    if (r === U && !undecidableReason) undecidableReason = firstUndecidable(children) ?? 'an attribute could not be evaluated';
    const trace = composite('policy', r, `policy ${this.name}`, children);
    const out: PolicyEvaluation = { name: this.name, matched: triToPublic(r), trace };
    if (r !== T) out.failing = failingLeaves(trace).filter((n) => n.matched !== true);
    if (this.neverMatches) out.neverMatches = true;
    if (undecidableReason) out.undecidableReason = undecidableReason;
    return out;
  }
}

function firstUndecidable(nodes: TraceNode[]): string | null {
  for (const n of nodes) {
    if (n.matched !== 'undecidable') continue;
    if (!n.children || n.children.length === 0) return n.detail;
    const inner = firstUndecidable(n.children);
    if (inner) return inner;
  }
  return null;
}

/** Envoy holds policies in a std::map<std::string, …>: ascending unsigned-byte (UTF-8) order. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ba, bb);
}
