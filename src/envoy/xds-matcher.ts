/**
 * The xDS unified matcher (xds.type.matcher.v3.Matcher; Envoy's source/common/matcher/*.h), generic over
 * what it reads and what it yields, so the RBAC `matcher`, the listener `filter_chain_matcher` and any other
 * matcher-tree user share one engine:
 *  - `matcher_list`: field matchers in order, the first whose predicate matches wins; a nested matcher that
 *    yields no match continues with the next entry; `keep_matching` skips the entry; then `on_no_match`;
 *  - `matcher_tree`: `exact_match_map`, `prefix_match_map` (longest prefix first, falling back to shorter
 *    ones when a subtree misses), `custom_match` with `xds.type.matcher.v3.IPMatcher` (range matchers by
 *    longest prefix, `exclusive` stops the fallback); an input without a value goes to `on_no_match`;
 *  - predicates: single (value_match StringMatcher, or a custom input matcher), and/or (≥ 2), not;
 *  - `NotAvailable` inputs give InsufficientData, which propagates.
 * Offline, an input the evidence does not carry is Unknown. A list entry whose predicate is Unknown is
 * still decided when both ways lead to the same action (the matcher would yield it either way).
 *
 * The user supplies the inputs (`spec.input`), extra custom matchers (`spec.customMatch`) and the action
 * type (`spec.action`); the generic input matchers (`envoy.extensions.matching.input_matchers.ip.v3.Ip`,
 * `…metadata.v3.Metadata`) are here.
 */
import type { JsonValue } from '../model/attrs.js';
import type { TraceNode } from '../model/decision.js';
import { maxOf } from '../model/arrays.js';
import { RbacConfigError } from '../rbac/errors.js';
import { asArr, asObj, jp, oneof, optBool, typedConfig, type Obj } from '../rbac/cfg.js';
import { CidrRange, parseIp } from '../rbac/cidr.js';
import { StringMatcher } from '../rbac/string-matcher.js';
import { parseValueMatcher, walkPath } from '../rbac/metadata-matcher.js';
import { leaf } from '../rbac/trace.js';
import { F, T, U, type Tri } from '../rbac/tri.js';

/** The input's data (Envoy's MatchingDataType plus DataAvailability). */
export const NOT_AVAILABLE: unique symbol = Symbol('NotAvailable');
/** The evidence does not carry this input (offline only). */
export const UNKNOWN_INPUT: unique symbol = Symbol('Unknown');
/** A structured value (DynamicMetadataInput's Struct) or the request itself (the CEL input). */
export interface StructuredData {
  json: JsonValue | undefined;
  /** How the trace shows it when it is not a JSON value (the CEL input: the request). */
  display?: string;
}
export type InputData = string | null | StructuredData | typeof NOT_AVAILABLE | typeof UNKNOWN_INPUT;

export interface XdsInput<C> {
  /** What the trace calls it (`destination.ip`, `:path`, …). */
  label: string;
  get(ctx: C): InputData;
}

/** A custom input matcher (`single_predicate.custom_match`). */
export interface XdsInputMatcher<C> {
  match(data: string | StructuredData, ctx: C): Tri;
  describe(): string;
  /** Why it could not decide, when `match` returns Unknown. */
  reason?(ctx: C): string | undefined;
}

export interface XdsMatcherSpec<C, A> {
  /** The matcher's user, for messages: `RBAC`, `filter_chain_matcher`. */
  what: string;
  /** Builds an input from its short type name and config; throws RbacConfigError for what Envoy rejects. */
  input(type: string, cfg: Obj, tp: string): XdsInput<C>;
  /** A custom input matcher of the user's own (e.g. CEL); undefined when the type is not one of theirs. */
  customMatch?(type: string, cfg: Obj, tp: string): XdsInputMatcher<C> | undefined;
  /** Builds an action (on_match.action, a TypedExtensionConfig); throws for a wrong action type. */
  action(v: unknown, path: string): A;
  describeAction(a: A): string;
  /** True when two actions have the same effect (used to decide over an Unknown predicate). */
  sameAction(a: A, b: A): boolean;
}

export type XdsOutcome<A> = { t: 'match'; action: A } | { t: 'nomatch' } | { t: 'insufficient' } | { t: 'undecidable'; reason: string };

export interface XdsMatcher<C, A> {
  /** Every action the tree can yield, in config order. */
  readonly actions: A[];
  eval(ctx: C, trace: TraceNode[] | null): XdsOutcome<A>;
  /** Every way through the tree to an action, in evaluation order (for summaries). */
  branches(): XdsBranch<A>[];
}

type PredResult = Tri | 'insufficient';

interface Predicate<C> {
  /** The condition in words (for summaries). */
  text: string;
  eval(ctx: C, trace: TraceNode[] | null): { r: PredResult; reason?: string };
}

/** One way through the matcher: the conditions met on the way (in order) and the action it yields. */
export interface XdsBranch<A> {
  when: string[];
  action: A;
}

interface OnMatch<C, A> {
  keepMatching: boolean;
  eval(ctx: C, trace: TraceNode[] | null): XdsOutcome<A>;
  branches(): XdsBranch<A>[];
}

interface MatcherNode<C, A> {
  eval(ctx: C, trace: TraceNode[] | null): XdsOutcome<A>;
  branches(): XdsBranch<A>[];
}

const IP_INPUT_MATCHER = 'envoy.extensions.matching.input_matchers.ip.v3.Ip';
const METADATA_INPUT_MATCHER = 'envoy.extensions.matching.input_matchers.metadata.v3.Metadata';
const IP_TREE_MATCHER = 'xds.type.matcher.v3.IPMatcher';

function parseCidrList(v: unknown, path: string, field: string, err: string): CidrRange[] {
  const lp = jp(path, field);
  const ranges = asArr(v ?? [], lp).map((r, i) => CidrRange.parse(r, jp(lp, i)));
  if (ranges.length === 0) throw new RbacConfigError(lp, `${err}: value must contain at least 1 item(s)`);
  return ranges;
}

/** Generic custom input matchers (Envoy's `envoy.matching.input_matchers.*`). */
function genericInputMatcher<C>(type: string, cfg: Obj, tp: string): XdsInputMatcher<C> | undefined {
  if (type === IP_INPUT_MATCHER) {
    const ranges = parseCidrList(cfg.cidr_ranges, tp, 'cidr_ranges', 'IpValidationError.CidrRanges');
    return {
      match: (d) => (typeof d === 'string' && ranges.some((r) => r.contains(parseIp(d))) ? T : F),
      describe: () => `in ${ranges.map(String).join(' or ')}`,
    };
  }
  if (type === METADATA_INPUT_MATCHER) {
    if (cfg.value === undefined) throw new RbacConfigError(jp(tp, 'value'), 'MetadataValidationError.Value: value is required');
    const vm = parseValueMatcher(cfg.value, jp(tp, 'value'));
    const invert = optBool(cfg, 'invert', tp) ?? false;
    return {
      // Envoy: a non-Struct input never matches (even inverted); the value matcher on the Struct value XOR invert.
      match: (d) => {
        if (typeof d === 'string') return F;
        const r = vm.match(d.json);
        return r === U ? U : invert ? (r === T ? F : T) : r;
      },
      describe: () => `${invert ? 'not ' : ''}${vm.describe()}`,
    };
  }
  return undefined;
}

function dataText(d: InputData): { actual: string | null; text?: string } {
  if (d === NOT_AVAILABLE) return { actual: null, text: 'not available (plaintext connection) — insufficient data' };
  if (d === UNKNOWN_INPUT) return { actual: null, text: 'unknown' };
  if (d === null) return { actual: null, text: 'absent' };
  if (typeof d === 'string') return { actual: d };
  if (d.display !== undefined) return { actual: null, text: d.display };
  if (d.json === undefined) return { actual: null, text: 'absent' };
  return { actual: typeof d.json === 'string' ? d.json : JSON.stringify(d.json) };
}

class Parser<C, A> {
  readonly actions: A[] = [];
  constructor(private readonly spec: XdsMatcherSpec<C, A>) {}

  input(v: unknown, path: string): XdsInput<C> {
    const { type, cfg, tp } = typedConfig(v, path);
    return this.spec.input(type, cfg, tp);
  }

  customMatch(v: unknown, path: string): XdsInputMatcher<C> {
    const { type, cfg, tp } = typedConfig(v, path);
    const m = this.spec.customMatch?.(type, cfg, tp) ?? genericInputMatcher<C>(type, cfg, tp);
    if (!m) throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for 'type.googleapis.com/${type}' (custom input matcher of the ${this.spec.what} matcher)`);
    return m;
  }

  predicate(v: unknown, path: string): Predicate<C> {
    const o = asObj(v, path);
    const w = oneof(o, ['single_predicate', 'or_matcher', 'and_matcher', 'not_matcher'], path, 'match_type');
    if (!w) throw new RbacConfigError(path, 'PredicateValidationError.MatchType: value is required');
    if (w === 'single_predicate') {
      const sp = jp(path, w);
      const s = asObj(o[w], sp);
      if (s.input === undefined) throw new RbacConfigError(jp(sp, 'input'), 'SinglePredicateValidationError.Input: value is required');
      const input = this.input(s.input, jp(sp, 'input'));
      const mw = oneof(s, ['value_match', 'custom_match'], sp, 'matcher');
      if (!mw) throw new RbacConfigError(sp, 'SinglePredicateValidationError.Matcher: value is required');
      const vm: XdsInputMatcher<C> =
        mw === 'value_match'
          ? (() => {
              const sm = StringMatcher.parse(s.value_match, jp(sp, 'value_match'));
              return { match: (d: string | StructuredData) => (typeof d === 'string' ? sm.match(d) : F), describe: () => sm.describe() };
            })()
          : this.customMatch(s.custom_match, jp(sp, 'custom_match'));
      return {
        text: `${input.label} ${vm.describe()}`,
        eval(ctx, trace) {
          const d = input.get(ctx);
          let r: PredResult;
          let reason: string | undefined;
          if (d === NOT_AVAILABLE) r = 'insufficient';
          else if (d === UNKNOWN_INPUT) {
            r = U;
            reason = `the evidence does not carry ${input.label}`;
          } else if (d === null) r = F;
          else {
            r = vm.match(d, ctx);
            if (r === U) reason = vm.reason?.(ctx) ?? `${vm.describe()} could not be evaluated`;
          }
          if (trace) {
            const { actual, text } = dataText(d);
            trace.push(leaf('single_predicate', r === 'insufficient' ? F : r, input.label, actual, vm.describe(), text, reason));
          }
          return { r, reason };
        },
      };
    }
    if (w === 'not_matcher') {
      const inner = this.predicate(o[w], jp(path, w));
      return {
        text: `not (${inner.text})`,
        eval(ctx, trace) {
          const x = inner.eval(ctx, trace);
          return { r: x.r === 'insufficient' || x.r === U ? x.r : x.r === T ? F : T, reason: x.reason };
        },
      };
    }
    const lp = jp(jp(path, w), 'predicate');
    const list = asArr(asObj(o[w], jp(path, w)).predicate ?? [], lp);
    if (list.length < 2) throw new RbacConfigError(lp, 'Predicate_PredicateListValidationError.Predicate: value must contain at least 2 item(s)');
    const preds = list.map((p, i) => this.predicate(p, jp(lp, i)));
    const isAnd = w === 'and_matcher';
    return {
      text: preds.map((p) => (/ (and|or) /.test(p.text) && !p.text.startsWith('not (') ? `(${p.text})` : p.text)).join(isAnd ? ' and ' : ' or '),
      eval(ctx, trace) {
        let acc: Tri = isAnd ? T : F;
        let reason: string | undefined;
        for (const p of preds) {
          const x = p.eval(ctx, trace);
          if (x.r === 'insufficient') return x;
          if (isAnd && x.r === F) return { r: F };
          if (!isAnd && x.r === T) return { r: T };
          if (x.r === U) {
            acc = U;
            reason ??= x.reason;
          }
        }
        return { r: acc, reason };
      },
    };
  }

  onMatch(v: unknown, path: string): OnMatch<C, A> {
    const o = asObj(v, path);
    const w = oneof(o, ['matcher', 'action'], path, 'on_match');
    if (!w) throw new RbacConfigError(path, 'OnMatchValidationError.OnMatch: value is required');
    const keepMatching = o.keep_matching === true;
    if (w === 'action') {
      const a = this.spec.action(o.action, jp(path, 'action'));
      this.actions.push(a);
      const d = this.spec.describeAction(a);
      return {
        keepMatching,
        eval: (_ctx, trace) => (trace?.push({ node: 'action', matched: true, detail: `action ${d}`, expected: d }), { t: 'match', action: a }),
        branches: () => [{ when: [], action: a }],
      };
    }
    const m = this.node(o.matcher, jp(path, 'matcher'));
    return { keepMatching, eval: (ctx, trace) => m.eval(ctx, trace), branches: () => m.branches() };
  }

  node(v: unknown, path: string): MatcherNode<C, A> {
    const o = asObj(v, path);
    const onNoMatch = o.on_no_match !== undefined && o.on_no_match !== null ? this.onMatch(o.on_no_match, jp(path, 'on_no_match')) : null;
    const noMatch = (ctx: C, trace: TraceNode[] | null): XdsOutcome<A> => {
      if (!onNoMatch) {
        trace?.push({ node: 'on_no_match', matched: false, detail: 'no matcher matched and there is no on_no_match' });
        return { t: 'nomatch' };
      }
      trace?.push({ node: 'on_no_match', matched: true, detail: 'no matcher matched: on_no_match' });
      return onNoMatch.eval(ctx, trace);
    };
    const otherwise = (): XdsBranch<A>[] => (onNoMatch ? onNoMatch.branches().map((b) => ({ when: ['otherwise', ...b.when], action: b.action })) : []);
    const w = oneof(o, ['matcher_list', 'matcher_tree'], path, 'matcher_type');
    if (!w) return { eval: noMatch, branches: () => (onNoMatch ? onNoMatch.branches() : []) };
    const r = w === 'matcher_list' ? this.list(o, path, noMatch) : this.tree(o, path, noMatch);
    return { eval: r.eval, branches: () => [...r.branches(), ...otherwise()] };
  }

  private list(o: Obj, path: string, noMatch: (ctx: C, trace: TraceNode[] | null) => XdsOutcome<A>): MatcherNode<C, A> {
    const lp = jp(jp(path, 'matcher_list'), 'matchers');
    const list = asArr(asObj(o.matcher_list, jp(path, 'matcher_list')).matchers ?? [], lp);
    if (list.length === 0) throw new RbacConfigError(lp, 'Matcher_MatcherListValidationError.Matchers: value must contain at least 1 item(s)');
    const fms = list.map((fm, i) => {
      const fp = jp(lp, i);
      const f = asObj(fm, fp);
      if (f.predicate === undefined) throw new RbacConfigError(jp(fp, 'predicate'), 'Matcher_MatcherList_FieldMatcherValidationError.Predicate: value is required');
      if (f.on_match === undefined) throw new RbacConfigError(jp(fp, 'on_match'), 'Matcher_MatcherList_FieldMatcherValidationError.OnMatch: value is required');
      return { pred: this.predicate(f.predicate, jp(fp, 'predicate')), onMatch: this.onMatch(f.on_match, jp(fp, 'on_match')) };
    });
    const spec = this.spec;
    const from = (start: number, ctx: C, trace: TraceNode[] | null): XdsOutcome<A> => {
      for (let i = start; i < fms.length; i++) {
        const fm = fms[i]!;
        const sub: TraceNode[] | null = trace ? [] : null;
        const { r, reason } = fm.pred.eval(ctx, sub);
        const node: TraceNode | null = trace
          ? { node: 'field_matcher', matched: r === 'insufficient' ? false : r === U ? 'undecidable' : r === T, detail: `matchers[${i}]${r === 'insufficient' ? ': insufficient data' : ''}`, children: sub! }
          : null;
        if (node) trace!.push(node);
        if (r === 'insufficient') return { t: 'insufficient' };
        if (r === F) continue;
        if (r === U) {
          // Both ways: matched (its on_match, or the rest when it yields nothing) and not matched (the rest).
          const ifFalse = from(i + 1, ctx, null);
          let ifTrue: XdsOutcome<A>;
          if (fm.onMatch.keepMatching) ifTrue = ifFalse;
          else {
            const om = fm.onMatch.eval(ctx, null);
            ifTrue = om.t === 'nomatch' ? ifFalse : om;
          }
          const same =
            (ifTrue.t === 'match' && ifFalse.t === 'match' && spec.sameAction(ifTrue.action, ifFalse.action)) ||
            (ifTrue.t === 'nomatch' && ifFalse.t === 'nomatch') ||
            (ifTrue.t === 'insufficient' && ifFalse.t === 'insufficient');
          if (same) {
            if (node) node.detail += ` (${reason ?? 'undecidable'}; either way the result is the same)`;
            // Re-run the path that does not depend on the unknown, for the trace.
            return trace ? from(i + 1, ctx, trace) : ifFalse;
          }
          return { t: 'undecidable', reason: `matchers[${i}]: ${reason ?? 'reads an input the evidence does not carry or we cannot evaluate'}` };
        }
        if (fm.onMatch.keepMatching) continue;
        const out = fm.onMatch.eval(ctx, trace);
        if (out.t === 'nomatch') continue;
        return out;
      }
      return noMatch(ctx, trace);
    };
    return {
      eval: (ctx, trace) => from(0, ctx, trace),
      branches: () => fms.flatMap((fm) => (fm.onMatch.keepMatching ? [] : fm.onMatch.branches().map((b) => ({ when: [fm.pred.text, ...b.when], action: b.action })))),
    };
  }

  private tree(o: Obj, path: string, noMatch: (ctx: C, trace: TraceNode[] | null) => XdsOutcome<A>): MatcherNode<C, A> {
    const tp = jp(path, 'matcher_tree');
    const t = asObj(o.matcher_tree, tp);
    if (t.input === undefined) throw new RbacConfigError(jp(tp, 'input'), 'Matcher_MatcherTreeValidationError.Input: value is required');
    const input = this.input(t.input, jp(tp, 'input'));
    const tw = oneof(t, ['exact_match_map', 'prefix_match_map', 'custom_match'], tp, 'tree_type');
    if (!tw) throw new RbacConfigError(tp, 'Matcher_MatcherTreeValidationError.TreeType: value is required');
    const pre = (ctx: C, trace: TraceNode[] | null): XdsOutcome<A> | string => {
      const val = input.get(ctx);
      if (val === NOT_AVAILABLE) {
        trace?.push(leaf('matcher_tree', F, input.label, null, tw, 'not available (plaintext connection) — insufficient data'));
        return { t: 'insufficient' };
      }
      if (val === UNKNOWN_INPUT) return { t: 'undecidable', reason: `the evidence does not carry ${input.label}` };
      if (val === null || typeof val !== 'string') return noMatch(ctx, trace);
      return val;
    };
    if (tw === 'custom_match') {
      const { type, cfg, tp: ctp } = typedConfig(t.custom_match, jp(tp, 'custom_match'));
      if (type !== IP_TREE_MATCHER) throw new RbacConfigError(jp(ctp, '@type'), `Didn't find a registered implementation for 'type.googleapis.com/${type}' (custom matcher tree)`);
      const rp = jp(ctp, 'range_matchers');
      const rms = asArr(cfg.range_matchers ?? [], rp).map((rm, i) => {
        const p = jp(rp, i);
        const r = asObj(rm, p);
        const ranges = parseCidrList(r.ranges, p, 'ranges', 'IPMatcher_IPRangeMatcherValidationError.Ranges');
        if (r.on_match === undefined) throw new RbacConfigError(jp(p, 'on_match'), 'IPMatcher_IPRangeMatcherValidationError.OnMatch: value is required');
        return { ranges, exclusive: r.exclusive === true, onMatch: this.onMatch(r.on_match, jp(p, 'on_match')), index: i };
      });
      const evalIp = (ctx: C, trace: TraceNode[] | null): XdsOutcome<A> => {
        const v = pre(ctx, trace);
        if (typeof v !== 'string') return v;
        const ip = parseIp(v);
        // Longest matching prefix first, then declaration order (Envoy's LC-trie range matcher).
        const hits = rms
          .map((rm) => ({ rm, len: maxOf(rm.ranges.filter((r) => r.contains(ip)).map((r) => r.prefixLen), -1) }))
          .filter((h) => h.len >= 0)
          .sort((a, b) => b.len - a.len || a.rm.index - b.rm.index);
        if (hits.length === 0) trace?.push(leaf('ip_matcher', F, input.label, v, `one of ${rms.flatMap((rm) => rm.ranges.map(String)).join(', ')}`));
        for (const h of hits) {
          trace?.push(leaf('ip_matcher', T, input.label, v, `range_matchers[${h.rm.index}] (${h.rm.ranges.map(String).join(', ')})`));
          const out = h.rm.onMatch.eval(ctx, trace);
          if (out.t !== 'nomatch') return out;
          if (h.rm.exclusive) break;
        }
        return noMatch(ctx, trace);
      };
      return {
        eval: evalIp,
        branches: () => rms.flatMap((rm) => rm.onMatch.branches().map((b) => ({ when: [`${input.label} in ${rm.ranges.map(String).join(', ')}`, ...b.when], action: b.action }))),
      };
    }
    const mp = jp(jp(tp, tw), 'map');
    const rawMap = asObj(asObj(t[tw], jp(tp, tw)).map ?? {}, mp);
    const entries = new Map<string, OnMatch<C, A>>();
    const mapEntries = restoreMapEntries(rawMap);
    if (mapEntries.length === 0) throw new RbacConfigError(mp, 'Matcher_MatcherTree_MatchMapValidationError.Map: value must contain at least 1 pair(s)');
    for (const [k, om] of mapEntries) entries.set(k, this.onMatch(om, jp(mp, k)));
    const keysByLen = [...entries.keys()].sort((a, b) => b.length - a.length);
    const kind = tw === 'exact_match_map' ? '=' : 'starts with';
    const evalMap = (ctx: C, trace: TraceNode[] | null): XdsOutcome<A> => {
      const v = pre(ctx, trace);
      if (typeof v !== 'string') return v;
      const candidates = tw === 'exact_match_map' ? (entries.has(v) ? [v] : []) : keysByLen.filter((k) => v.startsWith(k));
      for (const k of candidates) {
        trace?.push(leaf(tw, T, input.label, v, `${tw === 'exact_match_map' ? 'exact' : 'prefix'} ${JSON.stringify(k)}`));
        const out = entries.get(k)!.eval(ctx, trace);
        if (out.t !== 'nomatch') return out;
      }
      if (candidates.length === 0) trace?.push(leaf(tw, F, input.label, v, `one of ${[...entries.keys()].map((k) => JSON.stringify(k)).join(', ')}`));
      return noMatch(ctx, trace);
    };
    return {
      eval: evalMap,
      branches: () => [...entries].flatMap(([k, om]) => om.branches().map((b) => ({ when: [`${input.label} ${kind} ${JSON.stringify(k)}`, ...b.when], action: b.action }))),
    };
  }
}

/** Map keys are data: `protectMatchMaps` keeps them through key normalisation as `__entries`. */
function restoreMapEntries(m: Obj): [string, unknown][] {
  if (Array.isArray(m.__entries)) return (m.__entries as [string, unknown][]).map(([k, v]) => [k, v]);
  return Object.entries(m);
}

/** xds MatchMap keys are data; keep them verbatim through camelCase → snake_case normalisation. */
export function protectMatchMaps(v: unknown, parentKey = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => protectMatchMaps(x, parentKey));
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = {};
  const inMap = /^(exact_match_map|exactMatchMap|prefix_match_map|prefixMatchMap)$/.test(parentKey);
  for (const [k, x] of Object.entries(v as Obj)) {
    if (inMap && k === 'map' && x !== null && typeof x === 'object' && !Array.isArray(x)) out[k] = { __entries: Object.entries(x as Obj).map(([mk, mv]) => [mk, protectMatchMaps(mv, '')]) };
    else out[k] = protectMatchMaps(x, k);
  }
  return out;
}

/** Parses a Matcher (snake_case, map keys protected); throws RbacConfigError (JSON path + Envoy-style reason). */
export function parseXdsMatcher<C, A>(v: unknown, path: string, spec: XdsMatcherSpec<C, A>): XdsMatcher<C, A> {
  const p = new Parser(spec);
  const root = p.node(v, path);
  return { actions: p.actions, eval: (ctx, trace) => root.eval(ctx, trace), branches: () => root.branches() };
}

/** DynamicMetadataInput (`{filter, path: [{key}]}`) over a metadata map: the Struct value, or undefined. */
export function dynamicMetadataValue(md: Record<string, JsonValue>, filter: string, keys: readonly string[]): JsonValue | undefined {
  const root = md[filter];
  if (root === undefined) return undefined;
  return walkPath(root, keys);
}
