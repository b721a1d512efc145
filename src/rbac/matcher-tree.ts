/**
 * The matcher-tree RBAC engine (`matcher` / `shadow_matcher`, RoleBasedAccessControlMatcherEngineImpl)
 * over the shared xDS unified matcher (envoy/xds-matcher.ts): this module supplies what RBAC can read
 * (rbac_filter.cc's ActionValidationVisitor list: network, SSL, request-header, dynamic-metadata, CEL and
 * filter-state inputs), the CEL matcher, and the action type (`envoy.config.rbac.v3.Action`; anything else
 * is rejected as Envoy does, envoy#22336). NotAvailable inputs (SSL inputs on plaintext) give
 * InsufficientData, which RBAC turns into DENY.
 */
import type { TraceNode } from '../model/decision.js';
import { RbacConfigError } from './errors.js';
import { asArr, asObj, enumValue, isObj, jp, optStr, type Obj } from './cfg.js';
import { formatIp } from './cidr.js';
import { joinHeader, type EvalContext } from './context.js';
import { parseCelCondition } from './cel.js';
import { U } from './tri.js';
import {
  NOT_AVAILABLE,
  UNKNOWN_INPUT,
  dynamicMetadataValue,
  parseXdsMatcher,
  type InputData,
  type XdsInput,
  type XdsInputMatcher,
  type XdsBranch,
  type XdsOutcome,
} from '../envoy/xds-matcher.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';
export interface TreeAction {
  name: string;
  action: RbacAction;
}

const NET = 'envoy.extensions.matching.common_inputs.network.v3.';
const SSL = 'envoy.extensions.matching.common_inputs.ssl.v3.';
const HTTP_HEADER = 'envoy.type.matcher.v3.HttpRequestHeaderMatchInput';
const CEL_INPUT = 'xds.type.matcher.v3.HttpAttributesCelMatchInput';
const CEL_MATCHER = 'xds.type.matcher.v3.CelMatcher';

function ipString(a: EvalContext['local']): string | null {
  if (!a) return null;
  return a.ip ? formatIp(a.ip) : a.address;
}

function parseInput(type: string, cfg: Obj, tp: string, kind: 'http' | 'network'): XdsInput<EvalContext> {
  const httpOnly = [HTTP_HEADER, CEL_INPUT, `${NET}DynamicMetadataInput`];
  if (kind === 'network' && httpOnly.includes(type)) throw new RbacConfigError(jp(tp, '@type'), `RBAC network filter cannot match 'type.googleapis.com/${type}'`);
  const unknownIf = (ctx: EvalContext, attr: string, v: string | null): InputData => (v === null && ctx.unknown(attr) ? UNKNOWN_INPUT : v);
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
      return { label: 'sni', get: (c) => (c.sni === '' ? (c.req.sni === undefined && c.unknown('sni') ? UNKNOWN_INPUT : null) : c.sni) };
    case `${NET}FilterStateInput`: {
      const key = optStr(cfg, 'key', tp) ?? '';
      return {
        label: `filter state ${key}`,
        get: (c) => {
          const v = c.filterState[key];
          if (v === undefined) return c.unknown(`filterState.${key}`) ? UNKNOWN_INPUT : null;
          return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : UNKNOWN_INPUT;
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
          if (!c.tls) return c.unknown('tls') ? UNKNOWN_INPUT : NOT_AVAILABLE;
          if (which === 'SubjectInput') return c.tls.subject ? c.tls.subject : null;
          const list = which === 'UriSanInput' ? c.tls.uriSans : c.tls.dnsSans;
          if (!list || list.length === 0) return c.unknown(which === 'UriSanInput' ? 'tls.uriSans' : 'tls.dnsSans') ? UNKNOWN_INPUT : null;
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
          if (!vs || vs.length === 0) return c.kind === 'http' && c.unknown(`http.headers.${key}`) ? UNKNOWN_INPUT : null;
          return joinHeader(key, vs);
        },
      };
    }
    case `${NET}DynamicMetadataInput`: {
      const filter = optStr(cfg, 'filter', tp) ?? '';
      const pp = jp(tp, 'path');
      const keys = asArr(cfg.path ?? [], pp).map((seg, i) => {
        const so = asObj(seg, jp(pp, i));
        const k = optStr(so, 'key', jp(pp, i));
        if (k === undefined || k.length === 0) throw new RbacConfigError(jp(jp(pp, i), 'key'), 'PathSegmentValidationError.Key: value length must be at least 1 characters');
        return k;
      });
      return {
        label: `metadata ${[filter, ...keys].join('.')}`,
        get: (c) => {
          const v = dynamicMetadataValue(c.metadata, filter, keys);
          if (v === undefined && c.metadata[filter] === undefined && c.unknown(`metadata.${filter}`)) return UNKNOWN_INPUT;
          return { json: v };
        },
      };
    }
    case CEL_INPUT:
      // The CEL matcher reads the request's attributes itself.
      return { label: 'CEL', get: () => ({ json: undefined, display: 'the request attributes' }) };
    default:
      if (type === `${NET}NetworkNamespaceInput`) {
        return { label: 'network namespace', get: () => UNKNOWN_INPUT };
      }
      throw new RbacConfigError(jp(tp, '@type'), `RBAC HTTP filter cannot match 'type.googleapis.com/${type}'`);
  }
}


/** xds.type.matcher.v3.CelMatcher (envoy.matching.matchers.cel_matcher) over the request's attributes. */
function celMatcher(cfg: Obj, tp: string): XdsInputMatcher<EvalContext> {
  const ep = jp(tp, 'expr_match');
  const em = asObj(cfg.expr_match, ep);
  const key = ['cel_expr_parsed', 'parsed_expr', 'cel_expr_checked', 'checked_expr'].find((k) => isObj(em[k]));
  if (!key) {
    if (typeof em.cel_expr_string === 'string') {
      const text = em.cel_expr_string;
      return { match: () => U, describe: () => text, reason: () => 'CEL given as a string (cel_expr_string) is not evaluated offline' };
    }
    throw new RbacConfigError(ep, 'CelMatcher: expr_match needs cel_expr_parsed, parsed_expr, cel_expr_checked or checked_expr');
  }
  const xp = jp(jp(ep, key), 'expr');
  const cond = parseCelCondition(asObj(em[key], jp(ep, key)).expr, xp);
  let last: string | undefined;
  return {
    match: (_d, ctx) => {
      const r = cond.evaluate(ctx);
      last = r.reason;
      return r.r;
    },
    describe: () => cond.text,
    reason: () => last ?? cond.unsupported ?? undefined,
  };
}

function parseAction(v: unknown, path: string): TreeAction {
  const o = asObj(v, path);
  const tp = jp(path, 'typed_config');
  const cfg = asObj(o.typed_config, tp);
  const type = String(cfg['@type'] ?? '').replace(/^.*\//, '');
  if (type !== 'envoy.config.rbac.v3.Action') throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for 'type.googleapis.com/${type}' (expected envoy.config.rbac.v3.Action)`);
  const name = optStr(cfg, 'name', tp) ?? '';
  if (name.length === 0) throw new RbacConfigError(jp(tp, 'name'), 'ActionValidationError.Name: value length must be at least 1 characters');
  const action = cfg.action === undefined ? 'ALLOW' : enumValue(cfg.action, ['ALLOW', 'DENY', 'LOG'] as const, jp(tp, 'action'), 'RBAC.Action');
  return { name, action };
}

export type MatchOutcome = XdsOutcome<TreeAction>;

export interface MatcherTree {
  hasLog: boolean;
  eval(ctx: EvalContext, trace: TraceNode[] | null): MatchOutcome;
  /** Every way through the tree to an action (conditions in order), for summaries. */
  branches(): XdsBranch<TreeAction>[];
}

export function parseMatcherTree(v: unknown, path: string, kind: 'http' | 'network'): { tree: MatcherTree; actions: TreeAction[] } {
  const m = parseXdsMatcher<EvalContext, TreeAction>(v, path, {
    what: 'RBAC',
    input: (type, cfg, tp) => parseInput(type, cfg, tp, kind),
    customMatch: (type, cfg, tp) => (type === CEL_MATCHER ? celMatcher(cfg, tp) : undefined),
    action: parseAction,
    describeAction: (a) => `${a.name}: ${a.action}`,
    sameAction: (a, b) => a.name === b.name && a.action === b.action,
  });
  const hasLog = m.actions.some((a) => a.action === 'LOG');
  return { tree: { hasLog, eval: (ctx, trace) => m.eval(ctx, trace), branches: () => m.branches() }, actions: m.actions };
}

/**
 * A matcher tree in a few words, each action with the conditions that lead to it, in evaluation order:
 * `DENY [deny-1] if source.ip in 10.0.0.0/8; otherwise ALLOW [default]`. A tree that can yield no action on
 * some path ends with `otherwise: denied (no action)`.
 */
export function summarizeMatcherTree(tree: MatcherTree, maxBranches = 6): string {
  const bs = tree.branches();
  const parts = bs.slice(0, maxBranches).map((b) => {
    const first = b.when[0] === 'otherwise';
    const when = (first ? b.when.slice(1) : b.when).map((w) => (w === 'otherwise' ? 'no nested matcher matched' : w));
    const what = `${b.action.action} [${b.action.name}]`;
    if (when.length === 0) return first ? `otherwise ${what}` : `always ${what}`;
    const cond = when.join(' and then ');
    return `${first ? 'otherwise ' : ''}${what} if ${cond.length > 140 ? `${cond.slice(0, 137)}...` : cond}`;
  });
  if (bs.length > maxBranches) parts.push(`… ${bs.length - maxBranches} more branch${bs.length - maxBranches === 1 ? '' : 'es'}`);
  const hasDefault = bs.some((b) => b.when.length === 0 || b.when[0] === 'otherwise');
  if (!hasDefault) parts.push('otherwise no action: denied');
  const actions = new Set(bs.map((b) => b.action.action));
  return `matcher${actions.size > 1 ? ` (mixed: ${[...actions].join('/')})` : ''}: ${parts.join('; ')}`;
}
