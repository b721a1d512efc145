/**
 * The RBAC filter: config parsing/validation (http and network rbac.v3.RBAC, RBACPerRoute) and
 * evaluation (engine_impl.cc rules engine + matcher-tree engine, shadow engines, dynamic metadata).
 */
import type { FilterDecision, PolicyEvaluation, TraceNode, DecisionResult } from '../model/decision.js';
import type { JsonValue, RequestAttrs } from '../model/attrs.js';
import { toSnakeCase } from '../envoy/normalize.js';
import { RbacConfigError } from './errors.js';
import { asObj, enumValue, isObj, jp, optBool, optStr, describe as describeValue, type Obj } from './cfg.js';
import { buildContext, type EvalContext } from './context.js';
import { PolicyMatcher, compareUtf8 } from './policy.js';
import { parseMatcherTree, type MatcherTree, type RbacAction, type TreeAction } from './matcher-tree.js';
import { T, U } from './tri.js';
import { protectMatchMaps } from '../envoy/xds-matcher.js';

export type { RbacAction } from './matcher-tree.js';

export interface RulesEngine {
  type: 'rules';
  action: RbacAction;
  /** Sorted by UTF-8 byte order of the name, as Envoy evaluates them. */
  policies: PolicyMatcher[];
}
export interface MatcherEngine {
  type: 'matcher';
  tree: MatcherTree;
  actions: TreeAction[];
  hasLog: boolean;
}
export type RbacEngine = RulesEngine | MatcherEngine;

export interface RbacFilter {
  kind: 'http' | 'network';
  /** The configured filter name (`envoy.filters.http.rbac`), used for per-route lookups. */
  name: string;
  /** JSON path of the filter config in its file. */
  path: string;
  enforced: RbacEngine | null;
  shadow: RbacEngine | null;
  rulesStatPrefix: string;
  shadowRulesStatPrefix: string;
  statPrefix?: string;
  enforcementType: 'ONE_TIME_ON_FIRST_BYTE' | 'CONTINUOUS';
  delayDeny?: string;
  trackPerRuleStats: boolean;
  /** The normalised (snake_case) typed config. */
  config: Obj;
}

export interface RbacPerRoute {
  /** null: the route disables RBAC (`{}` or an `rbac` without rules/matcher). */
  rbac: RbacFilter | null;
  path: string;
}

const HTTP_TYPES = ['envoy.extensions.filters.http.rbac.v3.RBAC', 'envoy.config.filter.http.rbac.v2.RBAC'];
const NET_TYPES = ['envoy.extensions.filters.network.rbac.v3.RBAC', 'envoy.config.filter.network.rbac.v2.RBAC'];
const TYPED_STRUCT = /^(udpa\.type\.v1|xds\.type\.v3)\.TypedStruct$/;
const PER_ROUTE_TYPES = ['envoy.extensions.filters.http.rbac.v3.RBACPerRoute', 'envoy.config.filter.http.rbac.v2.RBACPerRoute'];

export function normalizeRbacConfig(config: unknown): unknown {
  return toSnakeCase(protectMatchMaps(config));
}

function shortType(o: Obj): string {
  return String(o['@type'] ?? '').replace(/^.*\//, '');
}

function parseRulesEngine(v: unknown, path: string, kind: 'http' | 'network'): RulesEngine {
  const o = asObj(v, path, 'an RBAC rules object');
  const action = o.action === undefined || o.action === null ? 'ALLOW' : enumValue(o.action, ['ALLOW', 'DENY', 'LOG'] as const, jp(path, 'action'), 'RBAC.Action');
  const pp = jp(path, 'policies');
  const pols = o.policies === undefined || o.policies === null ? {} : asObj(o.policies, pp, 'a map of policies');
  const policies = Object.keys(pols)
    .sort(compareUtf8)
    .map((name) => PolicyMatcher.parse(name, pols[name], jp(pp, name), { kind }));
  return { type: 'rules', action, policies };
}

function parseMatcherEngine(v: unknown, path: string, kind: 'http' | 'network'): MatcherEngine {
  const { tree, actions } = parseMatcherTree(v, path, kind);
  return { type: 'matcher', tree, actions, hasLog: actions.some((a) => a.action === 'LOG') };
}

function present(o: Obj, k: string): boolean {
  return o[k] !== undefined && o[k] !== null;
}

function parseFilterBody(o: Obj, kind: 'http' | 'network', name: string, path: string, fullTyped: boolean): RbacFilter {
  const enforced = present(o, 'matcher')
    ? parseMatcherEngine(o.matcher, jp(path, 'matcher'), kind)
    : present(o, 'rules')
      ? parseRulesEngine(o.rules, jp(path, 'rules'), kind)
      : null;
  // `rules` is validated even when `matcher` wins (Envoy runs PGV on the whole message).
  if (present(o, 'matcher') && present(o, 'rules')) parseRulesEngine(o.rules, jp(path, 'rules'), kind);
  const shadow = present(o, 'shadow_matcher')
    ? parseMatcherEngine(o.shadow_matcher, jp(path, 'shadow_matcher'), kind)
    : present(o, 'shadow_rules')
      ? parseRulesEngine(o.shadow_rules, jp(path, 'shadow_rules'), kind)
      : null;
  if (present(o, 'shadow_matcher') && present(o, 'shadow_rules')) parseRulesEngine(o.shadow_rules, jp(path, 'shadow_rules'), kind);
  const statPrefix = optStr(o, 'stat_prefix', path);
  if (kind === 'network' && fullTyped && (statPrefix === undefined || statPrefix.length === 0)) {
    throw new RbacConfigError(jp(path, 'stat_prefix'), 'RBACValidationError.StatPrefix: value length must be at least 1 characters');
  }
  const et = o.enforcement_type === undefined ? 'ONE_TIME_ON_FIRST_BYTE' : enumValue(o.enforcement_type, ['ONE_TIME_ON_FIRST_BYTE', 'CONTINUOUS'] as const, jp(path, 'enforcement_type'), 'EnforcementType');
  return {
    kind,
    name,
    path,
    enforced,
    shadow,
    rulesStatPrefix: optStr(o, 'rules_stat_prefix', path) ?? '',
    shadowRulesStatPrefix: optStr(o, 'shadow_rules_stat_prefix', path) ?? '',
    statPrefix,
    enforcementType: et,
    delayDeny: typeof o.delay_deny === 'string' ? o.delay_deny : undefined,
    trackPerRuleStats: optBool(o, 'track_per_rule_stats', path) ?? false,
    config: o,
  };
}

/**
 * Parses an RBAC filter config: a full filter entry `{name, typed_config}`, a typed config
 * `{@type, rules, shadow_rules, matcher, …}`, or a bare `rules` object `{action, policies}`; snake_case
 * or camelCase. Throws RbacConfigError (JSON path + Envoy-style reason) for what Envoy would NACK.
 * An `@type` naming the network filter makes it a network filter whatever `opts.kind` says.
 */
export function parseRbacFilter(config: unknown, opts: { kind: 'http' | 'network'; name?: string; path?: string }): RbacFilter {
  let path = opts.path ?? '$';
  let o = asObj(normalizeRbacConfig(config), path, 'an RBAC filter config');
  let name = opts.name;
  if (isObj(o.typed_config) && !present(o, 'rules') && !present(o, 'policies')) {
    name ??= optStr(o, 'name', path);
    path = jp(path, 'typed_config');
    o = o.typed_config as Obj;
  } else if (isObj(o.config) && !['rules', 'policies', 'matcher', 'shadow_rules', 'shadow_matcher'].some((k) => present(o, k))) {
    // The legacy v2 form `{name, config: {...}}` (a Struct, as istio.io's troubleshooting page prints it).
    name ??= optStr(o, 'name', path);
    path = jp(path, 'config');
    o = asObj(normalizeRbacConfig(o.config), path, 'an RBAC filter config');
  }
  if (TYPED_STRUCT.test(shortType(o))) {
    // udpa.type.v1.TypedStruct / xds.type.v3.TypedStruct: {type_url, value}.
    const inner = optStr(o, 'type_url', path) ?? '';
    path = jp(path, 'value');
    o = { ...asObj(o.value ?? {}, path, 'a TypedStruct value'), '@type': inner };
  }
  let kind = opts.kind;
  const type = shortType(o);
  if (type) {
    if (NET_TYPES.includes(type)) kind = 'network';
    else if (HTTP_TYPES.includes(type)) kind = 'http';
    else if (PER_ROUTE_TYPES.includes(type)) throw new RbacConfigError(jp(path, '@type'), `this is an RBACPerRoute config; expected an RBAC filter config (parse it with parseRbacPerRoute)`);
    else throw new RbacConfigError(jp(path, '@type'), `expected an RBAC filter config (${HTTP_TYPES[0]} or ${NET_TYPES[0]}), found ${describeValue(o['@type'])}`);
  }
  const defaultName = kind === 'http' ? 'envoy.filters.http.rbac' : 'envoy.filters.network.rbac';
  // A bare `rules` object (RBAC message): {action, policies}.
  const isBareRules = !type && !['rules', 'shadow_rules', 'matcher', 'shadow_matcher'].some((k) => present(o, k)) && (present(o, 'policies') || present(o, 'action'));
  if (isBareRules) {
    return { ...parseFilterBody({}, kind, name ?? defaultName, path, false), enforced: parseRulesEngine(o, path, kind), config: { rules: o } };
  }
  const known = ['@type', 'rules', 'shadow_rules', 'matcher', 'shadow_matcher', 'rules_stat_prefix', 'shadow_rules_stat_prefix', 'track_per_rule_stats', 'stat_prefix', 'enforcement_type', 'delay_deny'];
  if (!type && !Object.keys(o).some((k) => known.includes(k))) {
    throw new RbacConfigError(path, `expected an RBAC filter config (rules, shadow_rules, matcher or policies), found keys ${Object.keys(o).slice(0, 5).join(', ') || 'none'}`);
  }
  return parseFilterBody(o, kind, name ?? defaultName, path, Boolean(type));
}

/** Parses an RBACPerRoute `{rbac: {...}}` (typed_per_filter_config value). */
export function parseRbacPerRoute(config: unknown, opts: { name?: string; path?: string } = {}): RbacPerRoute {
  const path = opts.path ?? '$';
  let o = asObj(normalizeRbacConfig(config), path, 'an RBACPerRoute config');
  let p = path;
  // typed_per_filter_config values may be wrapped in envoy.config.route.v3.FilterConfig.
  if (shortType(o) === 'envoy.config.route.v3.FilterConfig' && isObj(o.config)) {
    p = jp(path, 'config');
    o = o.config as Obj;
  }
  if (TYPED_STRUCT.test(shortType(o))) {
    const inner = optStr(o, 'type_url', p) ?? '';
    p = jp(p, 'value');
    o = { ...asObj(o.value ?? {}, p, 'a TypedStruct value'), '@type': inner };
  }
  const type = shortType(o);
  if (type && !PER_ROUTE_TYPES.includes(type)) throw new RbacConfigError(jp(p, '@type'), `expected ${PER_ROUTE_TYPES[0]}, found ${describeValue(o['@type'])}`);
  if (!present(o, 'rbac')) return { rbac: null, path: p };
  const rp = jp(p, 'rbac');
  const body = asObj(o.rbac, rp);
  const f = parseFilterBody(body, 'http', opts.name ?? 'envoy.filters.http.rbac', rp, false);
  if (!f.enforced && !f.shadow) return { rbac: null, path: p };
  return { rbac: f, path: p };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface EvaluateOptions {
  /** Build per-policy traces (default true). Off = Envoy's short-circuit only, for speed. */
  trace?: boolean;
  /** Attributes the evidence does not carry (AccessRecord.unknown). */
  unknown?: Iterable<string>;
  /** Metadata of the matched route (sourced_metadata ROUTE); null/absent = no route. */
  routeMetadata?: Record<string, JsonValue> | null;
  /** The per-route override for this filter (RBACPerRoute), when a route carries one. */
  perRoute?: RbacPerRoute | null;
  /** A pre-built context (decide.ts reuses one across filters). */
  context?: EvalContext;
}

interface EngineOutcome {
  action: RbacAction;
  result: DecisionResult;
  effectivePolicy: string | null;
  policies: PolicyEvaluation[];
  notes: string[];
  /** access_log_hint (enforced LOG). */
  logHint?: boolean;
}

function evalRules(e: RulesEngine, ctx: EvalContext, trace: boolean): EngineOutcome {
  let firstMatch: string | null = null;
  let undecidedBefore: string | null = null;
  let anyUndecided: string | null = null;
  const policies: PolicyEvaluation[] = [];
  for (const p of e.policies) {
    if (trace) {
      const pe = p.explain(ctx);
      policies.push(pe);
      if (pe.matched === true && firstMatch === null) firstMatch = p.name;
      else if (pe.matched === 'undecidable') {
        anyUndecided ??= p.name;
        if (firstMatch === null) undecidedBefore ??= p.name;
      }
      continue;
    }
    const r = p.matches(ctx);
    if (r === T) {
      firstMatch = p.name;
      break;
    }
    if (r === U) {
      anyUndecided ??= p.name;
      undecidedBefore ??= p.name;
    }
  }
  const notes: string[] = [];
  const matched = firstMatch !== null;
  if (matched && undecidedBefore) notes.push(`policy ${undecidedBefore} sorts before ${firstMatch} and could not be decided; Envoy may report it as the effective policy instead`);
  let result: DecisionResult;
  if (e.action === 'LOG') result = 'ALLOW';
  else if (matched) result = e.action === 'ALLOW' ? 'ALLOW' : 'DENY';
  else if (anyUndecided) {
    result = 'UNDECIDABLE';
    notes.push(`no policy matched for certain, and policy ${anyUndecided} could not be decided`);
  } else result = e.action === 'ALLOW' ? 'DENY' : 'ALLOW';
  const out: EngineOutcome = { action: e.action, result, effectivePolicy: firstMatch, policies, notes };
  if (e.action === 'LOG') out.logHint = matched;
  return out;
}

function evalMatcher(e: MatcherEngine, ctx: EvalContext, trace: boolean): EngineOutcome {
  const steps: TraceNode[] | null = trace ? [] : null;
  const out = e.tree.eval(ctx, steps);
  const mk = (result: DecisionResult, action: RbacAction, eff: string | null, detail: string, notes: string[] = []): EngineOutcome => {
    const node: TraceNode = { node: 'matcher', matched: result === 'UNDECIDABLE' ? 'undecidable' : eff !== null, detail, children: steps ?? [] };
    const pe: PolicyEvaluation = { name: eff ?? 'matcher', matched: node.matched, trace: node };
    if (node.matched !== true) {
      const leaves: TraceNode[] = [];
      const walk = (n: TraceNode) => (n.children && n.children.length ? n.children.forEach(walk) : n.matched === false && n.attribute !== undefined && leaves.push(n));
      (steps ?? []).forEach(walk);
      pe.failing = leaves;
    }
    if (result === 'UNDECIDABLE') pe.undecidableReason = notes[0];
    return { action, result, effectivePolicy: eff, policies: trace ? [pe] : [], notes };
  };
  switch (out.t) {
    case 'match': {
      const r = mk(out.action.action === 'DENY' ? 'DENY' : 'ALLOW', out.action.action, out.action.name, `matcher tree → action ${out.action.name} (${out.action.action})`);
      if (e.hasLog) r.logHint = out.action.action === 'LOG';
      return r;
    }
    case 'nomatch':
      return mk('DENY', 'ALLOW', null, 'matcher tree: no action matched → denied', ['matcher tree: no matcher matched and there is no on_no_match']);
    case 'insufficient':
      return mk('DENY', 'ALLOW', null, 'matcher tree: insufficient data (an SSL input on a plaintext connection) → denied', ['an SSL input was read on a plaintext connection: insufficient data, which RBAC denies']);
    case 'undecidable':
      return mk('UNDECIDABLE', 'ALLOW', null, `matcher tree: ${out.reason}`, [out.reason]);
  }
}

function evalEngine(e: RbacEngine, ctx: EvalContext, trace: boolean): EngineOutcome {
  return e.type === 'rules' ? evalRules(e, ctx, trace) : evalMatcher(e, ctx, trace);
}

const resultWord = (r: DecisionResult) => (r === 'ALLOW' ? 'allowed' : 'denied');

/**
 * Evaluates one RBAC filter for a request (HTTP) or connection (network). The returned decision is
 * the enforced engine's; a shadow engine's decision is in `shadowDecision` (or the top level when the
 * filter has only shadow rules, with `shadow: true`). A filter with neither enforces nothing: ALLOW.
 */
export function evaluateRbacFilter(filter: RbacFilter, req: RequestAttrs, opts: EvaluateOptions = {}): FilterDecision {
  const trace = opts.trace ?? true;
  const ctx = opts.context ?? buildContext(req, { kind: filter.kind, unknown: opts.unknown, routeMetadata: opts.routeMetadata });
  let enforced = filter.enforced;
  let shadow = filter.shadow;
  let rulesPrefix = filter.rulesStatPrefix;
  let shadowPrefix = filter.shadowRulesStatPrefix;
  let perRouteNote: string | undefined;
  if (opts.perRoute !== undefined && opts.perRoute !== null && filter.kind === 'http') {
    const pr = opts.perRoute.rbac;
    enforced = pr?.enforced ?? null;
    shadow = pr?.shadow ?? null;
    if (pr?.rulesStatPrefix) rulesPrefix = pr.rulesStatPrefix;
    if (pr?.shadowRulesStatPrefix) shadowPrefix = pr.shadowRulesStatPrefix;
    perRouteNote = pr ? `per-route RBACPerRoute override (${opts.perRoute.path}) replaces this filter's engines` : `per-route RBACPerRoute (${opts.perRoute.path}) disables RBAC on this route`;
  }
  const ns = filter.kind === 'http' ? 'envoy.filters.http.rbac' : 'envoy.filters.network.rbac';
  const md: Record<string, Record<string, string>> = {};
  const put = (n: string, k: string, v: string) => ((md[n] ??= {})[k] = v);

  let shadowDecision: FilterDecision | undefined;
  if (shadow) {
    const s = evalEngine(shadow, ctx, trace);
    if (s.result !== 'UNDECIDABLE') {
      if (s.effectivePolicy) put(ns, `${shadowPrefix}shadow_effective_policy_id`, s.effectivePolicy);
      put(ns, `${shadowPrefix}shadow_engine_result`, resultWord(s.result));
    }
    shadowDecision = {
      name: filter.name,
      kind: filter.kind,
      action: s.action,
      shadow: true,
      result: s.result,
      effectivePolicy: s.effectivePolicy,
      policies: s.policies,
      ...(s.notes.length ? { note: s.notes.join('; ') } : {}),
    };
  }
  let dec: FilterDecision;
  if (enforced) {
    const e = evalEngine(enforced, ctx, trace);
    if (filter.kind === 'http' && e.result !== 'UNDECIDABLE') {
      if (e.effectivePolicy) put(ns, `${rulesPrefix}enforced_effective_policy_id`, e.effectivePolicy);
      put(ns, `${rulesPrefix}enforced_engine_result`, resultWord(e.result));
    }
    if (e.logHint !== undefined) put('envoy.common', 'access_log_hint', String(e.logHint));
    const notes = [...(perRouteNote ? [perRouteNote] : []), ...e.notes];
    if (enforced.type === 'rules' && enforced.policies.length === 0) notes.push(`rules with no policies: ${enforced.action === 'ALLOW' ? 'denies everything' : 'allows everything'}`);
    dec = { name: filter.name, kind: filter.kind, action: e.action, shadow: false, result: e.result, effectivePolicy: e.effectivePolicy, policies: e.policies };
    if (notes.length) dec.note = notes.join('; ');
    if (shadowDecision) dec.shadowDecision = shadowDecision;
  } else if (shadowDecision) {
    dec = { ...shadowDecision };
    dec.note = [perRouteNote, 'shadow rules only: not enforced', shadowDecision.note].filter(Boolean).join('; ');
  } else {
    dec = { name: filter.name, kind: filter.kind, action: 'ALLOW', shadow: false, result: 'ALLOW', effectivePolicy: null, policies: [], note: perRouteNote ?? 'no rules: this filter enforces nothing' };
  }
  dec.enforcing = enforced !== null;
  if (Object.keys(md).length) dec.dynamicMetadata = md;
  return dec;
}
