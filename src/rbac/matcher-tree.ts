/**
 * The matcher-tree RBAC engine (`matcher` / `shadow_matcher`, RoleBasedAccessControlMatcherEngineImpl)
 * over the xDS unified matcher (xds.type.matcher.v3.Matcher; source/common/matcher/*.h): matcher_list
 * (first match wins, nested no-match continues, keep_matching skips), exact/prefix match maps,
 * single/and/or/not predicates, on_no_match. NotAvailable inputs (SSL inputs on plaintext) give
 * InsufficientData, which RBAC turns into DENY.
 */
import type { TraceNode } from '../model/decision.js';
import { RbacConfigError } from './errors.js';
import { asArr, asObj, enumValue, jp, oneof, optStr, typedConfig, type Obj } from './cfg.js';
import { CidrRange, formatIp, parseIp } from './cidr.js';
import { joinHeader, type EvalContext } from './context.js';
import { StringMatcher } from './string-matcher.js';
import { leaf } from './trace.js';
import { F, T, U } from './tri.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';
export interface TreeAction {
  name: string;
  action: RbacAction;
}

const NOT_AVAILABLE = Symbol('NotAvailable');
const UNKNOWN = Symbol('Unknown');
type InputValue = string | null | typeof NOT_AVAILABLE | typeof UNKNOWN;

interface Input {
  label: string;
  get(ctx: EvalContext): InputValue;
}

const NET = 'envoy.extensions.matching.common_inputs.network.v3.';
const SSL = 'envoy.extensions.matching.common_inputs.ssl.v3.';
const HTTP_HEADER = 'envoy.type.matcher.v3.HttpRequestHeaderMatchInput';
const CEL_INPUT = 'xds.type.matcher.v3.HttpAttributesCelMatchInput';

function ipString(a: EvalContext['local']): string | null {
  if (!a) return null;
  return a.ip ? formatIp(a.ip) : a.address;
}

function parseInput(v: unknown, path: string, kind: 'http' | 'network'): Input {
  const { type, cfg, tp } = typedConfig(v, path);
  const httpOnly = [HTTP_HEADER, CEL_INPUT, `${NET}DynamicMetadataInput`];
  if (kind === 'network' && httpOnly.includes(type)) throw new RbacConfigError(jp(tp, '@type'), `RBAC network filter cannot match 'type.googleapis.com/${type}'`);
  const unknownIf = (ctx: EvalContext, attr: string, v: string | null): InputValue => (v === null && ctx.unknown(attr) ? UNKNOWN : v);
  switch (type) {
    case `${NET}DestinationIPInput`:
      return { label: 'destination.ip', get: (c) => unknownIf(c, 'destination', ipString(c.local)) };
    case `${NET}DestinationPortInput`:
      return { label: 'destination.port', get: (c) => unknownIf(c, 'destination', c.local?.port !== undefined ? String(c.local.port) : null) };
    case `${NET}SourceIPInput`:
      return { label: 'source.ip', get: (c) => unknownIf(c, 'remote', ipString(c.remote)) };
    case `${NET}SourcePortInput`:
      return { label: 'source.port', get: (c) => unknownIf(c, 'remote', c.remote?.port !== undefined ? String(c.remote.port) : null) };
    case `${NET}DirectSourceIPInput`:
      return { label: 'source.ip (direct remote)', get: (c) => unknownIf(c, 'directRemote', ipString(c.directRemote)) };
    case `${NET}ServerNameInput`:
      return { label: 'sni', get: (c) => (c.sni === '' ? (c.req.sni === undefined && c.unknown('sni') ? UNKNOWN : null) : c.sni) };
    case `${NET}FilterStateInput`: {
      const key = optStr(cfg, 'key', tp) ?? '';
      return {
        label: `filter state ${key}`,
        get: (c) => {
          const v = c.filterState[key];
          if (v === undefined) return c.unknown(`filterState.${key}`) ? UNKNOWN : null;
          return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : UNKNOWN;
        },
      };
    }
    case `${SSL}UriSanInput`:
    case `${SSL}DnsSanInput`:
    case `${SSL}SubjectInput`: {
      const which = type.slice(SSL.length);
      return {
        label: which === 'UriSanInput' ? 'tls.uriSans' : which === 'DnsSanInput' ? 'tls.dnsSans' : 'tls.subject',
        get: (c) => {
          if (!c.tls) return c.unknown('tls') ? UNKNOWN : NOT_AVAILABLE;
          if (which === 'SubjectInput') return c.tls.subject ? c.tls.subject : null;
          const list = which === 'UriSanInput' ? c.tls.uriSans : c.tls.dnsSans;
          if (!list || list.length === 0) return c.unknown(which === 'UriSanInput' ? 'tls.uriSans' : 'tls.dnsSans') ? UNKNOWN : null;
          return list.join(',');
        },
      };
    }
    case HTTP_HEADER: {
      const name = (optStr(cfg, 'header_name', tp) ?? '').toLowerCase();
      if (!name) throw new RbacConfigError(jp(tp, 'header_name'), 'HttpRequestHeaderMatchInputValidationError.HeaderName: value length must be at least 1 characters');
      const key = name === 'host' ? ':authority' : name;
      return {
        label: key,
        get: (c) => {
          const vs = c.headers.get(key);
          if (!vs || vs.length === 0) return c.kind === 'http' && c.unknown(`http.headers.${key}`) ? UNKNOWN : null;
          return joinHeader(key, vs);
        },
      };
    }
    default:
      if (type === `${NET}NetworkNamespaceInput` || type === CEL_INPUT || type === `${NET}DynamicMetadataInput`) {
        return { label: type.replace(/^.*\./, ''), get: () => UNKNOWN };
      }
      throw new RbacConfigError(jp(tp, '@type'), `RBAC HTTP filter cannot match 'type.googleapis.com/${type}'`);
  }
}

type PredResult = 0 | 1 | 2 | 'insufficient';

interface Predicate {
  eval(ctx: EvalContext, trace: TraceNode[] | null): PredResult;
}

interface ValueMatch {
  match(s: string): 0 | 1 | 2;
  describe(): string;
}

function parseCustomMatch(v: unknown, path: string): ValueMatch {
  const { type, cfg, tp } = typedConfig(v, path);
  if (type === 'envoy.extensions.matching.input_matchers.ip.v3.Ip') {
    const ranges = asArr(cfg.cidr_ranges ?? [], jp(tp, 'cidr_ranges')).map((r, i) => CidrRange.parse(r, jp(jp(tp, 'cidr_ranges'), i)));
    if (ranges.length === 0) throw new RbacConfigError(jp(tp, 'cidr_ranges'), 'IpValidationError.CidrRanges: value must contain at least 1 item(s)');
    return { match: (s) => (ranges.some((r) => r.contains(parseIp(s))) ? T : F), describe: () => `ip in ${ranges.map(String).join(' or ')}` };
  }
  return { match: () => U, describe: () => `custom matcher ${type} (not evaluated offline)` };
}

function parsePredicate(v: unknown, path: string, kind: 'http' | 'network'): Predicate {
  const o = asObj(v, path);
  const w = oneof(o, ['single_predicate', 'or_matcher', 'and_matcher', 'not_matcher'], path, 'match_type');
  if (!w) throw new RbacConfigError(path, 'PredicateValidationError.MatchType: value is required');
  if (w === 'single_predicate') {
    const sp = jp(path, w);
    const s = asObj(o[w], sp);
    if (s.input === undefined) throw new RbacConfigError(jp(sp, 'input'), 'SinglePredicateValidationError.Input: value is required');
    const input = parseInput(s.input, jp(sp, 'input'), kind);
    const mw = oneof(s, ['value_match', 'custom_match'], sp, 'matcher');
    if (!mw) throw new RbacConfigError(sp, 'SinglePredicateValidationError.Matcher: value is required');
    const vm: ValueMatch = mw === 'value_match' ? StringMatcher.parse(s.value_match, jp(sp, 'value_match')) : parseCustomMatch(s.custom_match, jp(sp, 'custom_match'));
    return {
      eval(ctx, trace) {
        const val = input.get(ctx);
        let r: PredResult;
        if (val === NOT_AVAILABLE) r = 'insufficient';
        else if (val === UNKNOWN) r = U;
        else if (val === null) r = F;
        else r = vm.match(val);
        if (trace) {
          const actualText = val === NOT_AVAILABLE ? 'not available (plaintext connection) — insufficient data, RBAC denies' : val === UNKNOWN ? 'unknown' : val === null ? 'absent' : undefined;
          trace.push(leaf('single_predicate', r === 'insufficient' ? F : r, input.label, typeof val === 'string' ? val : null, vm.describe(), actualText, 'the evidence does not carry this input'));
        }
        return r;
      },
    };
  }
  if (w === 'not_matcher') {
    const inner = parsePredicate(o[w], jp(path, w), kind);
    return {
      eval(ctx, trace) {
        const r = inner.eval(ctx, trace);
        return r === 'insufficient' ? r : r === U ? U : r === T ? F : T;
      },
    };
  }
  const lp = jp(jp(path, w), 'predicate');
  const list = asArr(asObj(o[w], jp(path, w)).predicate ?? [], lp);
  if (list.length < 2) throw new RbacConfigError(lp, 'Predicate_PredicateListValidationError.Predicate: value must contain at least 2 item(s)');
  const preds = list.map((p, i) => parsePredicate(p, jp(lp, i), kind));
  const isAnd = w === 'and_matcher';
  return {
    eval(ctx, trace) {
      let acc: PredResult = isAnd ? T : F;
      for (const p of preds) {
        const r = p.eval(ctx, trace);
        if (r === 'insufficient') return r;
        if (isAnd && r === F) return F;
        if (!isAnd && r === T) return T;
        if (r === U) acc = U;
      }
      return acc;
    },
  };
}

type MatchOutcome = { t: 'match'; action: TreeAction } | { t: 'nomatch' } | { t: 'insufficient' } | { t: 'undecidable'; reason: string };

interface OnMatch {
  keepMatching: boolean;
  eval(ctx: EvalContext, trace: TraceNode[] | null): MatchOutcome;
}

export interface MatcherTree {
  hasLog: boolean;
  eval(ctx: EvalContext, trace: TraceNode[] | null): MatchOutcome;
}

function parseAction(v: unknown, path: string, actions: TreeAction[]): TreeAction {
  const { type, cfg, tp } = typedConfig(v, path);
  if (type !== 'envoy.config.rbac.v3.Action') throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for 'type.googleapis.com/${type}' (expected envoy.config.rbac.v3.Action)`);
  const name = optStr(cfg, 'name', tp) ?? '';
  if (name.length === 0) throw new RbacConfigError(jp(tp, 'name'), 'ActionValidationError.Name: value length must be at least 1 characters');
  const action = cfg.action === undefined ? 'ALLOW' : enumValue(cfg.action, ['ALLOW', 'DENY', 'LOG'] as const, jp(tp, 'action'), 'RBAC.Action');
  const a = { name, action };
  actions.push(a);
  return a;
}

function parseOnMatch(v: unknown, path: string, kind: 'http' | 'network', actions: TreeAction[]): OnMatch {
  const o = asObj(v, path);
  const w = oneof(o, ['matcher', 'action'], path, 'on_match');
  if (!w) throw new RbacConfigError(path, 'OnMatchValidationError.OnMatch: value is required');
  const keepMatching = o.keep_matching === true;
  if (w === 'action') {
    const a = parseAction(o.action, jp(path, 'action'), actions);
    return { keepMatching, eval: (_ctx, trace) => (trace?.push({ node: 'action', matched: true, detail: `action ${a.name}: ${a.action}`, expected: a.action }), { t: 'match', action: a }) };
  }
  const m = parseMatcherNode(o.matcher, jp(path, 'matcher'), kind, actions);
  return { keepMatching, eval: (ctx, trace) => m.eval(ctx, trace) };
}

function parseMatcherNode(v: unknown, path: string, kind: 'http' | 'network', actions: TreeAction[]): MatcherTree {
  const o = asObj(v, path);
  const onNoMatch = o.on_no_match !== undefined ? parseOnMatch(o.on_no_match, jp(path, 'on_no_match'), kind, actions) : null;
  const noMatch = (ctx: EvalContext, trace: TraceNode[] | null): MatchOutcome => {
    if (!onNoMatch) {
      trace?.push({ node: 'on_no_match', matched: false, detail: 'no matcher matched and there is no on_no_match' });
      return { t: 'nomatch' };
    }
    trace?.push({ node: 'on_no_match', matched: true, detail: 'no matcher matched: on_no_match' });
    return onNoMatch.eval(ctx, trace);
  };
  const w = oneof(o, ['matcher_list', 'matcher_tree'], path, 'matcher_type');
  if (!w) {
    // An empty matcher: only on_no_match (or nothing: deny).
    return { hasLog: actions.some((a) => a.action === 'LOG'), eval: noMatch };
  }
  if (w === 'matcher_list') {
    const lp = jp(jp(path, w), 'matchers');
    const list = asArr(asObj(o[w], jp(path, w)).matchers ?? [], lp);
    if (list.length === 0) throw new RbacConfigError(lp, 'Matcher_MatcherListValidationError.Matchers: value must contain at least 1 item(s)');
    const fms = list.map((fm, i) => {
      const fp = jp(lp, i);
      const f = asObj(fm, fp);
      if (f.predicate === undefined) throw new RbacConfigError(jp(fp, 'predicate'), 'Matcher_MatcherList_FieldMatcherValidationError.Predicate: value is required');
      if (f.on_match === undefined) throw new RbacConfigError(jp(fp, 'on_match'), 'Matcher_MatcherList_FieldMatcherValidationError.OnMatch: value is required');
      return { pred: parsePredicate(f.predicate, jp(fp, 'predicate'), kind), onMatch: parseOnMatch(f.on_match, jp(fp, 'on_match'), kind, actions) };
    });
    return {
      hasLog: actions.some((a) => a.action === 'LOG'),
      eval(ctx, trace) {
        for (let i = 0; i < fms.length; i++) {
          const fm = fms[i]!;
          const sub: TraceNode[] | null = trace ? [] : null;
          const r = fm.pred.eval(ctx, sub);
          if (trace) trace.push({ node: 'field_matcher', matched: r === 'insufficient' ? false : r === U ? 'undecidable' : r === T, detail: `matchers[${i}]${r === 'insufficient' ? ': insufficient data' : ''}`, children: sub! });
          if (r === 'insufficient') return { t: 'insufficient' };
          if (r === U) return { t: 'undecidable', reason: `matchers[${i}] reads an input the evidence does not carry or we cannot evaluate` };
          if (r === F) continue;
          if (fm.onMatch.keepMatching) continue;
          const out = fm.onMatch.eval(ctx, trace);
          if (out.t === 'nomatch') continue;
          return out;
        }
        return noMatch(ctx, trace);
      },
    };
  }
  const tp = jp(path, 'matcher_tree');
  const t = asObj(o.matcher_tree, tp);
  if (t.input === undefined) throw new RbacConfigError(jp(tp, 'input'), 'Matcher_MatcherTreeValidationError.Input: value is required');
  const input = parseInput(t.input, jp(tp, 'input'), kind);
  const tw = oneof(t, ['exact_match_map', 'prefix_match_map', 'custom_match'], tp, 'tree_type');
  if (!tw) throw new RbacConfigError(tp, 'Matcher_MatcherTreeValidationError.TreeType: value is required');
  if (tw === 'custom_match') {
    return { hasLog: actions.some((a) => a.action === 'LOG'), eval: () => ({ t: 'undecidable', reason: 'custom_match matcher trees are not evaluated offline' }) };
  }
  const mp = jp(jp(tp, tw), 'map');
  const rawMap = asObj(asObj(t[tw], jp(tp, tw)).map ?? {}, mp);
  const entries = new Map<string, OnMatch>();
  const mapEntries = restoreMapEntries(rawMap);
  if (mapEntries.length === 0) throw new RbacConfigError(mp, 'Matcher_MatcherTree_MatchMapValidationError.Map: value must contain at least 1 pair(s)');
  for (const [k, om] of mapEntries) entries.set(k, parseOnMatch(om, jp(mp, k), kind, actions));
  const keysByLen = [...entries.keys()].sort((a, b) => b.length - a.length);
  return {
    hasLog: actions.some((a) => a.action === 'LOG'),
    eval(ctx, trace) {
      const val = input.get(ctx);
      if (val === NOT_AVAILABLE) {
        trace?.push(leaf('matcher_tree', F, input.label, null, tw, 'not available (plaintext connection) — insufficient data, RBAC denies'));
        return { t: 'insufficient' };
      }
      if (val === UNKNOWN) return { t: 'undecidable', reason: `the evidence does not carry ${input.label}` };
      if (val === null) return noMatch(ctx, trace);
      const candidates = tw === 'exact_match_map' ? (entries.has(val) ? [val] : []) : keysByLen.filter((k) => val.startsWith(k));
      for (const k of candidates) {
        trace?.push(leaf(tw, T, input.label, val, `${tw === 'exact_match_map' ? 'exact' : 'prefix'} ${JSON.stringify(k)}`));
        const out = entries.get(k)!.eval(ctx, trace);
        if (out.t !== 'nomatch') return out;
      }
      if (candidates.length === 0) trace?.push(leaf(tw, F, input.label, val, `one of ${[...entries.keys()].map((k) => JSON.stringify(k)).join(', ')}`));
      return noMatch(ctx, trace);
    },
  };
}

/** Map keys are data: see `protectMatchMaps` in parse.ts (they survive key normalisation as entries). */
function restoreMapEntries(m: Obj): [string, unknown][] {
  if (Array.isArray(m.__entries)) return (m.__entries as [string, unknown][]).map(([k, v]) => [k, v]);
  return Object.entries(m);
}

export function parseMatcherTree(v: unknown, path: string, kind: 'http' | 'network'): { tree: MatcherTree; actions: TreeAction[] } {
  const actions: TreeAction[] = [];
  const tree = parseMatcherNode(v, path, kind, actions);
  return { tree, actions };
}
