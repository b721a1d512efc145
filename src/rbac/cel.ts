/**
 * A faithful subset of Envoy's CEL `condition` (google.api.expr.v1alpha1.Expr, parsed form) for
 * RBAC policies: literals, the attributes below, `==` `!=` `<` `<=` `>` `>=` `&&` `||` `!` `?:`,
 * indexing, `in`, `has()`, `size`, `startsWith`, `endsWith`, `contains`, `matches` (RE2 partial match).
 * Anything else (comprehensions, time/duration attributes, extension functions, mixed-type
 * arithmetic) makes the policy UNDECIDABLE with the reason: we never guess.
 *
 * Envoy's rule: the policy matches only when the expression evaluates to bool true; an evaluation
 * error (e.g. a missing header key) or a non-bool gives false. CEL's `&&`/`||` absorb errors when the
 * other side decides (false && err = false, true || err = true).
 */
import { RbacConfigError } from './errors.js';
import { asArr, asObj, isObj, jp, type Obj } from './cfg.js';
import type { EvalContext } from './context.js';
import { joinHeader } from './context.js';
import { PartialMatchRegex } from './regex.js';
import { removeQueryAndFragment } from './matchers.js';
import type { JsonValue } from '../model/attrs.js';
import { formatIp } from './cidr.js';
import { F, T, U, type Tri } from './tri.js';

class CelError {
  constructor(readonly message: string) {}
}
/** Raised when evaluation needs something we cannot reproduce offline. */
class Undecidable {
  constructor(readonly reason: string) {}
}
type Val = string | bigint | number | boolean | null | Val[] | Map<string, Val> | CelError | Uint8Array;

const SUPPORTED_FUNCS = new Set([
  '_==_', '_!=_', '_<_', '_<=_', '_>_', '_>=_', '_&&_', '_||_', '!_', '_?_:_', '_[_]', '@in', 'size', 'startsWith',
  'endsWith', 'contains', 'matches', '@not_strictly_false', 'not_strictly_false', '_+_', '-_',
]);

type Node =
  | { k: 'const'; v: Val }
  | { k: 'ident'; name: string }
  | { k: 'select'; operand: Node; field: string; testOnly: boolean }
  | { k: 'call'; fn: string; target: Node | null; args: Node[]; re?: PartialMatchRegex }
  | { k: 'list'; elems: Node[] };

export interface CelCondition {
  /** Source text, reconstructed from the AST for display. */
  readonly text: string;
  /** Set when the expression uses something we cannot evaluate faithfully. */
  readonly unsupported: string | null;
  evaluate(ctx: EvalContext): { r: Tri; value: string; reason?: string };
}

function parseConst(c: Obj, path: string): Val {
  if ('string_value' in c) return String(c.string_value);
  if ('int64_value' in c) return BigInt(String(c.int64_value));
  if ('uint64_value' in c) return BigInt(String(c.uint64_value));
  if ('double_value' in c) return Number(c.double_value);
  if ('bool_value' in c) return Boolean(c.bool_value);
  if ('null_value' in c) return null;
  if ('bytes_value' in c) return new Uint8Array(Buffer.from(String(c.bytes_value), 'base64'));
  if (Object.keys(c).length === 0) return null;
  throw new RbacConfigError(path, `failed to create an expression: unsupported constant ${Object.keys(c).join(',')}`);
}

function build(v: unknown, path: string, unsupported: string[]): Node {
  const o = asObj(v, path, 'a CEL Expr');
  if (o.const_expr !== undefined) return { k: 'const', v: parseConst(asObj(o.const_expr, jp(path, 'const_expr')), jp(path, 'const_expr')) };
  if (o.ident_expr !== undefined) return { k: 'ident', name: String(asObj(o.ident_expr, jp(path, 'ident_expr')).name ?? '') };
  if (o.select_expr !== undefined) {
    const sp = jp(path, 'select_expr');
    const s = asObj(o.select_expr, sp);
    return { k: 'select', operand: build(s.operand, jp(sp, 'operand'), unsupported), field: String(s.field ?? ''), testOnly: s.test_only === true };
  }
  if (o.call_expr !== undefined) {
    const cp = jp(path, 'call_expr');
    const c = asObj(o.call_expr, cp);
    const fn = String(c.function ?? '');
    if (!SUPPORTED_FUNCS.has(fn)) unsupported.push(`CEL function '${fn}' is not evaluated offline`);
    const args = asArr(c.args ?? [], jp(cp, 'args')).map((a, i) => build(a, jp(jp(cp, 'args'), i), unsupported));
    const target = c.target !== undefined ? build(c.target, jp(cp, 'target'), unsupported) : null;
    const node: Node = { k: 'call', fn, target, args };
    if (fn === 'matches' && args.length === 1 && args[0]!.k === 'const' && typeof args[0]!.v === 'string') {
      try {
        node.re = new PartialMatchRegex(args[0]!.v);
      } catch (e) {
        throw new RbacConfigError(cp, `failed to create an expression: invalid regex: ${(e as Error).message}`);
      }
    } else if (fn === 'matches') unsupported.push('CEL matches() with a non-literal pattern');
    return node;
  }
  if (o.list_expr !== undefined) {
    const lp = jp(path, 'list_expr');
    const l = asObj(o.list_expr, lp);
    return { k: 'list', elems: asArr(l.elements ?? [], jp(lp, 'elements')).map((e, i) => build(e, jp(jp(lp, 'elements'), i), unsupported)) };
  }
  if (o.struct_expr !== undefined) unsupported.push('CEL struct/map literals are not evaluated offline');
  else if (o.comprehension_expr !== undefined) unsupported.push('CEL comprehensions (all/exists/map/filter) are not evaluated offline');
  else throw new RbacConfigError(path, 'failed to create an expression: empty expression');
  return { k: 'const', v: null };
}

const INFIX: Record<string, string> = { '_==_': '==', '_!=_': '!=', '_<_': '<', '_<=_': '<=', '_>_': '>', '_>=_': '>=', '_&&_': '&&', '_||_': '||', '_+_': '+', '@in': 'in' };

function show(n: Node): string {
  switch (n.k) {
    case 'const':
      return typeof n.v === 'string' ? JSON.stringify(n.v) : typeof n.v === 'bigint' ? n.v.toString() : String(n.v);
    case 'ident':
      return n.name;
    case 'select':
      return n.testOnly ? `has(${show(n.operand)}.${n.field})` : `${show(n.operand)}.${n.field}`;
    case 'list':
      return `[${n.elems.map(show).join(', ')}]`;
    case 'call': {
      const a = n.args.map(show);
      if (INFIX[n.fn] && a.length === 2) return `${a[0]} ${INFIX[n.fn]} ${a[1]}`;
      if (n.fn === '!_') return `!${a[0]}`;
      if (n.fn === '-_') return `-${a[0]}`;
      if (n.fn === '_[_]') return `${a[0]}[${a[1]}]`;
      if (n.fn === '_?_:_') return `${a[0]} ? ${a[1]} : ${a[2]}`;
      return n.target ? `${show(n.target)}.${n.fn}(${a.join(', ')})` : `${n.fn}(${a.join(', ')})`;
    }
  }
}

function jsonToVal(v: JsonValue | undefined): Val {
  if (v === undefined) return new CelError('no such key');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v; // Struct numbers are doubles
  if (Array.isArray(v)) return v.map(jsonToVal);
  const m = new Map<string, Val>();
  for (const [k, x] of Object.entries(v)) m.set(k, jsonToVal(x));
  return m;
}

/** The top-level attribute maps (Envoy's CEL vocabulary, source/extensions/filters/common/expr/context.cc). */
function attribute(ctx: EvalContext, root: string, field: string): Val {
  const headers = ctx.headers;
  const hdr = (n: string): Val => {
    const vs = headers.get(n);
    return vs && vs.length ? joinHeader(n, vs) : new CelError(`no such key: ${n}`);
  };
  const addr = (a: EvalContext['local']) => (a ? (a.ip ? (a.ip.family === 6 ? `[${formatIp(a.ip)}]` : formatIp(a.ip)) + (a.port !== undefined ? `:${a.port}` : '') : a.address) : null);
  if (root === 'request') {
    if (ctx.kind === 'network') return new CelError('no request in the network filter');
    switch (field) {
      case 'path': return hdr(':path');
      case 'url_path': { const p = hdr(':path'); return typeof p === 'string' ? removeQueryAndFragment(p) : p; }
      case 'host': return hdr(':authority');
      case 'scheme': return hdr(':scheme');
      case 'method': return hdr(':method');
      case 'referer': return hdr('referer');
      case 'useragent': return hdr('user-agent');
      case 'id': return hdr('x-request-id');
      case 'query': { const p = headers.get(':path')?.join(',') ?? ''; const q = p.indexOf('?'); return q === -1 ? '' : p.slice(q + 1); }
      case 'headers': {
        if (ctx.unknown('http.headers')) throw new Undecidable('the evidence does not carry the request headers');
        const m = new Map<string, Val>();
        for (const [k, vs] of headers) m.set(k, joinHeader(k, vs));
        return m;
      }
      default: throw new Undecidable(`CEL attribute request.${field} is not evaluated offline`);
    }
  }
  if (root === 'source' || root === 'destination') {
    const a = root === 'source' ? ctx.remote : ctx.local;
    if (!a) {
      if (ctx.unknown(root === 'source' ? 'source' : 'destination')) throw new Undecidable(`the evidence does not carry ${root}.address`);
      return new CelError(`no ${root} address`);
    }
    if (field === 'address') return addr(a);
    if (field === 'port') return a.port !== undefined ? BigInt(a.port) : new CelError('no port');
    throw new Undecidable(`CEL attribute ${root}.${field} is not evaluated offline`);
  }
  if (root === 'connection') {
    const tls = ctx.tls;
    if (field === 'requested_server_name') return ctx.sni;
    if (ctx.unknown('tls') && !tls) throw new Undecidable('the evidence does not say whether the connection used TLS');
    switch (field) {
      case 'mtls': return tls !== null && ((tls.uriSans?.length ?? 0) > 0 || (tls.dnsSans?.length ?? 0) > 0 || (tls.subject ?? '') !== '');
      case 'uri_san_peer_certificate': return tls && tls.uriSans?.length ? tls.uriSans[0]! : new CelError('no peer URI SAN');
      case 'dns_san_peer_certificate': return tls && tls.dnsSans?.length ? tls.dnsSans[0]! : new CelError('no peer DNS SAN');
      case 'subject_peer_certificate': return tls ? tls.subject ?? '' : new CelError('no TLS');
      case 'tls_version': if (tls?.version) return tls.version; throw new Undecidable('TLS version not known');
      default: throw new Undecidable(`CEL attribute connection.${field} is not evaluated offline`);
    }
  }
  if (root === 'metadata') {
    if (field === 'filter_metadata') return jsonToVal(ctx.metadata as JsonValue);
    throw new Undecidable(`CEL attribute metadata.${field} is not evaluated offline`);
  }
  throw new Undecidable(`CEL attribute ${root}.${field} is not evaluated offline`);
}

const isErr = (v: Val): v is CelError => v instanceof CelError;

function eq(a: Val, b: Val): Val {
  if (isErr(a)) return a;
  if (isErr(b)) return b;
  if (a === null || b === null) return a === b;
  if (typeof a !== typeof b) {
    const num = (x: Val) => typeof x === 'bigint' || typeof x === 'number';
    if (num(a) && num(b)) throw new Undecidable('CEL equality between int and double depends on the cel-cpp version');
    return false;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const r = eq(a[i]!, b[i]!);
      if (r !== true) return r;
    }
    return true;
  }
  if (a instanceof Map || b instanceof Map || a instanceof Uint8Array) throw new Undecidable('CEL map/bytes equality is not evaluated offline');
  return a === b;
}

function cmp(fn: string, a: Val, b: Val): Val {
  if (isErr(a)) return a;
  if (isErr(b)) return b;
  if (typeof a !== typeof b || !(typeof a === 'string' || typeof a === 'bigint' || typeof a === 'number')) {
    throw new Undecidable('CEL ordering between these types is not evaluated offline');
  }
  const x = a as string | bigint | number;
  const y = b as string | bigint | number;
  switch (fn) {
    case '_<_': return x < y;
    case '_<=_': return x <= y;
    case '_>_': return x > y;
    default: return x >= y;
  }
}

function evalNode(n: Node, ctx: EvalContext): Val {
  switch (n.k) {
    case 'const':
      return n.v;
    case 'list':
      return n.elems.map((e) => evalNode(e, ctx));
    case 'ident':
      throw new Undecidable(`CEL identifier '${n.name}' on its own is not evaluated offline`);
    case 'select': {
      if (n.operand.k === 'ident') {
        const v = attribute(ctx, n.operand.name, n.field);
        return n.testOnly ? !isErr(v) : v;
      }
      const base = evalNode(n.operand, ctx);
      if (isErr(base)) return n.testOnly ? base : base;
      if (base instanceof Map) {
        const has = base.has(n.field);
        if (n.testOnly) return has;
        return has ? base.get(n.field)! : new CelError(`no such key: ${n.field}`);
      }
      return new CelError(`cannot select ${n.field}`);
    }
    case 'call':
      return evalCall(n, ctx);
  }
}

function evalCall(n: Extract<Node, { k: 'call' }>, ctx: EvalContext): Val {
  const a = n.args;
  switch (n.fn) {
    case '_&&_': {
      const l = evalNode(a[0]!, ctx);
      if (l === false) return false;
      const r = evalNode(a[1]!, ctx);
      if (r === false) return false;
      if (l === true && r === true) return true;
      if (isErr(l)) return l;
      if (isErr(r)) return r;
      return new CelError('no matching overload for &&');
    }
    case '_||_': {
      const l = evalNode(a[0]!, ctx);
      if (l === true) return true;
      const r = evalNode(a[1]!, ctx);
      if (r === true) return true;
      if (l === false && r === false) return false;
      if (isErr(l)) return l;
      if (isErr(r)) return r;
      return new CelError('no matching overload for ||');
    }
    case '!_': {
      const v = evalNode(a[0]!, ctx);
      return typeof v === 'boolean' ? !v : isErr(v) ? v : new CelError('no matching overload for !');
    }
    case '@not_strictly_false':
    case 'not_strictly_false': {
      const v = evalNode(a[0]!, ctx);
      return v === false ? false : true;
    }
    case '_?_:_': {
      const c = evalNode(a[0]!, ctx);
      if (c === true) return evalNode(a[1]!, ctx);
      if (c === false) return evalNode(a[2]!, ctx);
      return isErr(c) ? c : new CelError('no matching overload for ?:');
    }
    case '_==_':
      return eq(evalNode(a[0]!, ctx), evalNode(a[1]!, ctx));
    case '_!=_': {
      const r = eq(evalNode(a[0]!, ctx), evalNode(a[1]!, ctx));
      return typeof r === 'boolean' ? !r : r;
    }
    case '_<_':
    case '_<=_':
    case '_>_':
    case '_>=_':
      return cmp(n.fn, evalNode(a[0]!, ctx), evalNode(a[1]!, ctx));
    case '_[_]': {
      const base = evalNode(a[0]!, ctx);
      const key = evalNode(a[1]!, ctx);
      if (isErr(base)) return base;
      if (isErr(key)) return key;
      if (base instanceof Map && typeof key === 'string') return base.has(key) ? base.get(key)! : new CelError(`no such key: ${key}`);
      if (Array.isArray(base) && typeof key === 'bigint') return key >= 0n && key < BigInt(base.length) ? base[Number(key)]! : new CelError('index out of range');
      throw new Undecidable('CEL indexing of this type is not evaluated offline');
    }
    case '@in': {
      const el = evalNode(a[0]!, ctx);
      const coll = evalNode(a[1]!, ctx);
      if (isErr(el)) return el;
      if (isErr(coll)) return coll;
      if (Array.isArray(coll)) {
        for (const x of coll) if (eq(el, x) === true) return true;
        return false;
      }
      if (coll instanceof Map && typeof el === 'string') return coll.has(el);
      return new CelError('no matching overload for in');
    }
    case 'size': {
      const v = evalNode(n.target ?? a[0]!, ctx);
      if (isErr(v)) return v;
      if (typeof v === 'string') return BigInt([...v].length);
      if (Array.isArray(v)) return BigInt(v.length);
      if (v instanceof Map) return BigInt(v.size);
      if (v instanceof Uint8Array) return BigInt(v.length);
      return new CelError('no matching overload for size');
    }
    case 'startsWith':
    case 'endsWith':
    case 'contains':
    case 'matches': {
      if (!n.target) throw new Undecidable(`CEL ${n.fn} without a receiver`);
      const s = evalNode(n.target, ctx);
      const x = n.fn === 'matches' ? null : evalNode(a[0]!, ctx);
      if (isErr(s)) return s;
      if (x !== null && isErr(x)) return x;
      if (typeof s !== 'string' || (x !== null && typeof x !== 'string')) return new CelError(`no matching overload for ${n.fn}`);
      if (n.fn === 'matches') return n.re!.test(s);
      return n.fn === 'startsWith' ? s.startsWith(x as string) : n.fn === 'endsWith' ? s.endsWith(x as string) : s.includes(x as string);
    }
    case '_+_': {
      const l = evalNode(a[0]!, ctx);
      const r = evalNode(a[1]!, ctx);
      if (isErr(l)) return l;
      if (isErr(r)) return r;
      if (typeof l === 'bigint' && typeof r === 'bigint') return l + r;
      throw new Undecidable('CEL + on these types is not evaluated offline');
    }
    case '-_': {
      const v = evalNode(a[0]!, ctx);
      if (typeof v === 'bigint') return -v;
      if (typeof v === 'number') return -v;
      return isErr(v) ? v : new CelError('no matching overload for -');
    }
    default:
      throw new Undecidable(`CEL function '${n.fn}' is not evaluated offline`);
  }
}

function showVal(v: Val): string {
  if (isErr(v)) return `error (${v.message})`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return 'map';
  if (Array.isArray(v)) return `[${v.map(showVal).join(', ')}]`;
  return String(v);
}

export function parseCelCondition(v: unknown, path: string): CelCondition {
  const unsupported: string[] = [];
  if (!isObj(v)) throw new RbacConfigError(path, 'failed to create an expression: expected a google.api.expr.v1alpha1.Expr object');
  const root = build(v, path, unsupported);
  const text = show(root);
  const reason = unsupported.length ? unsupported[0]! : null;
  return {
    text,
    unsupported: reason,
    evaluate(ctx: EvalContext) {
      if (reason) return { r: U, value: 'not evaluated', reason };
      try {
        const out = evalNode(root, ctx);
        // Envoy: only a bool true matches; errors and non-bools are false.
        return { r: out === true ? T : F, value: showVal(out) };
      } catch (e) {
        if (e instanceof Undecidable) return { r: U, value: 'not evaluated', reason: e.reason };
        throw e;
      }
    },
  };
}
