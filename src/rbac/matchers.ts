/**
 * One matcher per envoy.config.rbac.v3 Permission / Principal oneof, named after it, mirroring
 * Envoy's source/extensions/filters/common/rbac/matchers.{h,cc}. Each has a fast `matches` and an
 * `explain` that builds the trace; both compute the same result.
 */
import type { TraceNode } from '../model/decision.js';
import type { JsonValue } from '../model/attrs.js';
import { RbacConfigError } from './errors.js';
import { asArr, asObj, describe as describeValue, enumValue, jp, oneof, optBool, optInt, optStr, typedConfig, type Obj } from './cfg.js';
import { CidrRange, parseIp } from './cidr.js';
import { headerAttr, type AddrView, type EvalContext } from './context.js';
import { HeaderMatcher } from './header-matcher.js';
import { MetadataMatcher } from './metadata-matcher.js';
import { FullMatchRegex } from './regex.js';
import { StringMatcher, asciiLower } from './string-matcher.js';
import { composite, leaf, matchedLeafDetails } from './trace.js';
import { F, T, U, tri, triNot, type Tri } from './tri.js';

export interface Matcher {
  /** The proto oneof name: `and_rules`, `header`, `authenticated`, … */
  readonly kind: string;
  matches(ctx: EvalContext): Tri;
  explain(ctx: EvalContext): TraceNode;
}

export interface ParseOptions {
  kind: 'http' | 'network';
}

// ---------------------------------------------------------------------------------------------
// Structural matchers

export class AlwaysMatcher implements Matcher {
  constructor(readonly kind: 'any') {}
  matches(): Tri {
    return T;
  }
  explain(): TraceNode {
    return { node: 'any', matched: true, detail: 'any: always matches', expected: 'any' };
  }
}

export class AndMatcher implements Matcher {
  constructor(readonly kind: 'and_rules' | 'and_ids', readonly children: Matcher[]) {}
  matches(ctx: EvalContext): Tri {
    let r: Tri = T;
    for (const c of this.children) {
      const x = c.matches(ctx);
      if (x === F) return F;
      if (x === U) r = U;
    }
    return r;
  }
  explain(ctx: EvalContext): TraceNode {
    const kids = this.children.map((c) => c.explain(ctx));
    return composite(this.kind, combineAnd(kids), `all of ${kids.length}`, kids);
  }
}

export class OrMatcher implements Matcher {
  constructor(readonly kind: 'or_rules' | 'or_ids' | 'permissions' | 'principals', readonly children: Matcher[]) {}
  matches(ctx: EvalContext): Tri {
    let r: Tri = F;
    for (const c of this.children) {
      const x = c.matches(ctx);
      if (x === T) return T;
      if (x === U) r = U;
    }
    return r;
  }
  explain(ctx: EvalContext): TraceNode {
    const kids = this.children.map((c) => c.explain(ctx));
    return composite(this.kind, combineOr(kids), `any of ${kids.length}`, kids);
  }
}

export class NotMatcher implements Matcher {
  constructor(readonly kind: 'not_rule' | 'not_id', readonly child: Matcher) {}
  matches(ctx: EvalContext): Tri {
    return triNot(this.child.matches(ctx));
  }
  explain(ctx: EvalContext): TraceNode {
    const c = this.child.explain(ctx);
    const r = triNot(fromPublic(c.matched));
    const why = c.matched === true ? matchedLeafDetails(c).join('; ') : c.detail;
    return composite(this.kind, r, r === F ? `must not match, but ${why}` : `not (${why})`, [c]);
  }
}

/**
 * What a matcher yields whatever the request, when its structure alone decides it: `any` always
 * matches, `not_rule`/`not_id` of a constant is the opposite constant, an AND with a never-matching
 * child never matches (all constant-true: always), an OR with an always-matching child always matches
 * (all constant-false: never). Every other matcher reads the request: null. Istio's allow-nothing
 * (`{not_rule: {any: true}}`) is the case that matters: such a policy can never match.
 */
export function constantMatch(m: Matcher): boolean | null {
  if (m instanceof AlwaysMatcher) return true;
  if (m instanceof NotMatcher) {
    const c = constantMatch(m.child);
    return c === null ? null : !c;
  }
  if (m instanceof AndMatcher || m instanceof OrMatcher) {
    const and = m instanceof AndMatcher;
    let all = true;
    for (const c of m.children) {
      const x = constantMatch(c);
      if (x === !and) return !and;
      if (x === null) all = false;
    }
    return all ? and : null;
  }
  return null;
}

function fromPublic(m: boolean | 'undecidable'): Tri {
  return m === 'undecidable' ? U : m ? T : F;
}
export function combineAnd(kids: TraceNode[]): Tri {
  let r: Tri = T;
  for (const k of kids) {
    if (k.matched === false) return F;
    if (k.matched === 'undecidable') r = U;
  }
  return r;
}
export function combineOr(kids: TraceNode[]): Tri {
  let r: Tri = F;
  for (const k of kids) {
    if (k.matched === true) return T;
    if (k.matched === 'undecidable') r = U;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// HTTP request matchers

/** `header` (Permission 4, Principal 6). */
export class HeaderMatcherRule implements Matcher {
  readonly kind = 'header';
  constructor(readonly hm: HeaderMatcher) {}
  matches(ctx: EvalContext): Tri {
    const v = ctx.header(this.hm.key);
    if (v === null && ctx.unknown(headerAttr(this.hm.key))) return U;
    return this.hm.matchValue(v);
  }
  explain(ctx: EvalContext): TraceNode {
    const v = this.hm.lookup(ctx.headers);
    const r = this.matches(ctx);
    return leaf('header', r, this.hm.key, v, this.hm.describe(), v === null ? (ctx.kind === 'network' ? 'absent (network filter: no headers)' : 'absent') : undefined, 'the evidence does not carry this header');
  }
}

/** Http::PathUtil::removeQueryAndFragment: cut at the first `?` or `#`. */
export function removeQueryAndFragment(p: string): string {
  let i = p.length;
  const q = p.indexOf('?');
  if (q !== -1) i = q;
  const h = p.indexOf('#');
  if (h !== -1 && h < i) i = h;
  return p.slice(0, i);
}

/** `url_path` (Permission 10, Principal 9): envoy.type.matcher.v3.PathMatcher. */
export class PathMatcherRule implements Matcher {
  readonly kind = 'url_path';
  constructor(readonly sm: StringMatcher) {}
  private path(ctx: EvalContext): string | null {
    return ctx.urlPath();
  }
  matches(ctx: EvalContext): Tri {
    const p = this.path(ctx);
    if (p === null) return ctx.kind === 'http' && ctx.unknown('http.path') ? U : F;
    return this.sm.match(p);
  }
  explain(ctx: EvalContext): TraceNode {
    const p = this.path(ctx);
    return leaf('url_path', this.matches(ctx), 'path', p, this.sm.describe(), p === null ? (ctx.kind === 'network' ? 'absent (network filter)' : 'absent') : undefined, 'the evidence does not carry the path');
  }
}

/** One path segment (`*`, `{var}`): RFC 3986 pchar plus `=` and `*` (runtime guard uri_template_match_on_asterisk). */
const PATH_GLOB = "[a-zA-Z0-9._~%!$&'()+,;:@=*-]+";
/** Any text including `/` (`**`, `{var=**}`). */
const TEXT_GLOB = "[a-zA-Z0-9._~%!$&'()+,;:@=*/-]*";
const LITERAL_RE = /^[a-zA-Z0-9._~%!$&'()+,;:@=-]+$/;

/** Converts an Envoy URI template to its RE2 pattern (uri_template_internal.cc); throws with Envoy's reason. */
export function uriTemplateToRegex(template: string): string {
  if (!/^\/[\x21-\x7e]*$/.test(template)) throw new Error('Invalid pattern');
  const literalOk = (s: string) => LITERAL_RE.test(s);
  const esc = (s: string) => s.replace(/[$()+.]/g, '\\$&');
  let rest = template.slice(1);
  const segs: string[] = [];
  let suffix = '';
  let seenText = false;
  const names = new Set<string>();
  const op = (o: '*' | '**') => {
    if (seenText) throw new Error('Glob after text glob.');
    if (o === '**') seenText = true;
    return o === '**' ? TEXT_GLOB : PATH_GLOB;
  };
  const literal = (): string => {
    const slash = rest.indexOf('/');
    const lit = slash === -1 ? rest : rest.slice(0, slash);
    if (!literalOk(lit)) throw new Error('Invalid literal');
    rest = rest.slice(lit.length);
    return lit;
  };
  while (rest.length > 0) {
    if (rest[0] === '*') {
      const o = rest.startsWith('**') ? '**' : '*';
      rest = rest.slice(o.length);
      segs.push(op(o));
    } else if (rest[0] === '{') {
      const close = rest.indexOf('}');
      if (rest.length < 2 || close === -1) throw new Error('Unmatched variable bracket');
      const body = rest.slice(1, close);
      rest = rest.slice(close + 1);
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      if (!/^[a-zA-Z][a-zA-Z0-9_]*$/.test(name)) throw new Error('Invalid variable name');
      if (names.size >= 5) throw new Error('Exceeded variable count limit');
      if (name.length > 16) throw new Error('Invalid variable length');
      if (names.has(name)) throw new Error('Repeated variable name');
      names.add(name);
      if (eq === -1) {
        if (seenText) throw new Error('Implicit variable path glob after text glob.');
        segs.push(`(?:${PATH_GLOB})`);
      } else {
        let vp = body.slice(eq + 1);
        if (vp.length === 0) throw new Error('Empty variable match');
        const parts: string[] = [];
        while (vp.length > 0) {
          if (vp[0] === '*') {
            const o = vp.startsWith('**') ? '**' : '*';
            vp = vp.slice(o.length);
            parts.push(op(o));
          } else {
            const slash = vp.indexOf('/');
            const lit = slash === -1 ? vp : vp.slice(0, slash);
            if (!literalOk(lit)) throw new Error('Invalid literal');
            vp = vp.slice(lit.length);
            parts.push(esc(lit));
          }
          if (vp.length > 0) {
            if (vp[0] !== '/' || vp.length === 1) throw new Error('Invalid variable match');
            vp = vp.slice(1);
          }
        }
        segs.push(`(?:${parts.join('/')})`);
      }
    } else {
      segs.push(esc(literal()));
    }
    if (rest.length > 0) {
      if (rest === '/') {
        segs.push('');
        break;
      } else if (rest[0] === '/') {
        rest = rest.slice(1);
      } else {
        suffix = esc(literal());
        if (rest.length > 0) throw new Error('Prefix match not supported.');
        break;
      }
    }
  }
  return `/${segs.join('/')}${suffix}`;
}

/** `uri_template` (Permission 13): envoy.path.match.uri_template.uri_template_matcher. */
export class UriTemplateMatcher implements Matcher {
  readonly kind = 'uri_template';
  constructor(readonly template: string, readonly re: FullMatchRegex) {}
  matches(ctx: EvalContext): Tri {
    const vs = ctx.headers.get(':path');
    if ((!vs || vs.length === 0) && ctx.kind === 'http' && ctx.unknown('http.path')) return U;
    const p = vs && vs.length > 0 ? vs.join(',') : '';
    return this.re.fullMatch(removeQueryAndFragment(p)) ? T : F;
  }
  explain(ctx: EvalContext): TraceNode {
    const vs = ctx.headers.get(':path');
    const p = vs && vs.length > 0 ? removeQueryAndFragment(vs.join(',')) : null;
    return leaf('uri_template', this.matches(ctx), 'path', p, `template ${JSON.stringify(this.template)}`, p === null ? 'absent ("")' : undefined, 'the evidence does not carry the path');
  }
}

// ---------------------------------------------------------------------------------------------
// Connection matchers

type AddrSel = 'local' | 'connectionRemote' | 'directRemote' | 'remote';
const ADDR_ATTR: Record<AddrSel, { unknown: string; label: string }> = {
  local: { unknown: 'destination', label: 'destination.ip' },
  connectionRemote: { unknown: 'source', label: 'source.ip (connection remote)' },
  directRemote: { unknown: 'directRemote', label: 'source.ip (direct remote)' },
  remote: { unknown: 'remote', label: 'remote.ip' },
};

function addrUnknown(ctx: EvalContext, sel: AddrSel): boolean {
  if (ctx[sel] !== null) return false;
  if (sel === 'local') return ctx.unknown('destination');
  if (sel === 'directRemote') return ctx.unknown('directRemote') && ctx.unknown('source');
  if (sel === 'remote') return ctx.unknown('remote') && ctx.unknown('source');
  return ctx.unknown('source');
}

/** `destination_ip`, `source_ip`, `direct_remote_ip`, `remote_ip`: Envoy's IPMatcher. */
export class IPMatcher implements Matcher {
  constructor(readonly kind: 'destination_ip' | 'source_ip' | 'direct_remote_ip' | 'remote_ip', readonly sel: AddrSel, readonly range: CidrRange) {}
  matches(ctx: EvalContext): Tri {
    const a = ctx[this.sel];
    if (a === null) return addrUnknown(ctx, this.sel) ? U : F;
    return tri(this.range.contains(a.ip));
  }
  explain(ctx: EvalContext): TraceNode {
    const a: AddrView | null = ctx[this.sel];
    return leaf(this.kind, this.matches(ctx), ADDR_ATTR[this.sel].label, a ? a.address : null, `in ${this.range.toString()}`, a && !a.ip ? `${JSON.stringify(a.address)} (not an IP)` : undefined, 'the evidence does not carry this address');
  }
}

/** `destination_port` (Permission 6). */
export class PortMatcher implements Matcher {
  readonly kind = 'destination_port';
  constructor(readonly port: number) {}
  matches(ctx: EvalContext): Tri {
    const l = ctx.local;
    if (!l || l.port === undefined) return addrUnknown(ctx, 'local') || (l !== null && l.port === undefined && ctx.unknown('destination.port')) ? U : F;
    return tri(l.ip !== null && l.port === this.port);
  }
  explain(ctx: EvalContext): TraceNode {
    const l = ctx.local;
    return leaf('destination_port', this.matches(ctx), 'destination.port', l?.port ?? null, String(this.port), undefined, 'the evidence does not carry the destination port');
  }
}

/** `destination_port_range` (Permission 11): [start, end). */
export class PortRangeMatcher implements Matcher {
  readonly kind = 'destination_port_range';
  constructor(readonly start: number, readonly end: number) {}
  matches(ctx: EvalContext): Tri {
    const l = ctx.local;
    if (!l || l.port === undefined) return addrUnknown(ctx, 'local') ? U : F;
    return tri(l.ip !== null && this.start <= l.port && l.port < this.end);
  }
  explain(ctx: EvalContext): TraceNode {
    return leaf('destination_port_range', this.matches(ctx), 'destination.port', ctx.local?.port ?? null, `in [${this.start}, ${this.end})`, undefined, 'the evidence does not carry the destination port');
  }
}

/** `requested_server_name` (Permission 9): the TLS SNI, "" when none. */
export class RequestedServerNameMatcher implements Matcher {
  readonly kind = 'requested_server_name';
  constructor(readonly sm: StringMatcher) {}
  matches(ctx: EvalContext): Tri {
    if (ctx.req.sni === undefined && ctx.unknown('sni')) return U;
    return this.sm.match(ctx.sni);
  }
  explain(ctx: EvalContext): TraceNode {
    return leaf('requested_server_name', this.matches(ctx), 'sni', ctx.sni, this.sm.describe(), ctx.sni === '' ? '"" (none)' : undefined, 'the evidence does not carry the SNI');
  }
}

/** `authenticated` (Principal 4). */
export class AuthenticatedMatcher implements Matcher {
  readonly kind = 'authenticated';
  constructor(readonly principal: StringMatcher | null) {}
  matches(ctx: EvalContext): Tri {
    const tls = ctx.tls;
    if (!tls) return ctx.unknown('tls') ? U : F;
    if (!this.principal) return T;
    let r: Tri = F;
    const sm = this.principal;
    const parts: [string, readonly string[]][] = [
      ['tls.uriSans', tls.uriSans ?? []],
      ['tls.dnsSans', tls.dnsSans ?? []],
    ];
    for (const [attr, list] of parts) {
      for (const s of list) {
        const x = sm.match(s);
        if (x === T) return T;
        if (x === U) r = U;
      }
      if (list.length === 0 && ctx.unknown(attr)) r = U;
    }
    if (tls.subject === undefined && ctx.unknown('tls.subject')) return U;
    const x = sm.match(tls.subject ?? '');
    if (x === T) return T;
    if (x === U) r = U;
    return r;
  }
  explain(ctx: EvalContext): TraceNode {
    const tls = ctx.tls;
    const expected = this.principal
      ? `authenticated ${this.principal.kind === 'exact' && !this.principal.ignoreCase ? this.principal.value : this.principal.describe()}`
      : 'any TLS connection';
    const r = this.matches(ctx);
    if (!tls) {
      return leaf('authenticated', r, 'principal', null, expected, ctx.unknown('tls') ? 'unknown (evidence has no TLS facts)' : 'none (plaintext connection)', 'the evidence does not say whether the connection used TLS');
    }
    const ids = [...(tls.uriSans ?? []), ...(tls.dnsSans ?? [])];
    const actual: string[] = tls.subject ? [...ids, tls.subject] : ids;
    const text = actual.length === 0 ? 'none (TLS without a client certificate)' : actual.join(', ');
    return leaf('authenticated', r, 'principal', actual, expected, text, 'the evidence does not carry the peer certificate');
  }
}

/** `metadata` (Permission 7, Principal 7) and `sourced_metadata` (Permission 14, Principal 13). */
export class MetadataRule implements Matcher {
  constructor(readonly kind: 'metadata' | 'sourced_metadata', readonly mm: MetadataMatcher, readonly source: 'DYNAMIC' | 'ROUTE') {}
  private root(ctx: EvalContext): Record<string, JsonValue> | null {
    return this.source === 'ROUTE' ? ctx.routeMetadata : ctx.metadata;
  }
  private isUnknown(ctx: EvalContext, v: unknown): boolean {
    if (v !== undefined) return false;
    if (this.source === 'ROUTE') return ctx.routeMetadata === null && ctx.kind === 'http' && ctx.unknown('routeMetadata');
    return ctx.unknown(`metadata.${this.mm.filter}`);
  }
  matches(ctx: EvalContext): Tri {
    const v = this.mm.lookup(this.root(ctx));
    if (this.isUnknown(ctx, v)) return U;
    return this.mm.matchValue(v);
  }
  explain(ctx: EvalContext): TraceNode {
    const v = this.mm.lookup(this.root(ctx));
    const attr = `${this.source === 'ROUTE' ? 'route metadata' : 'metadata'} ${this.mm.pathText()}`;
    const actual = v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean | null);
    const text = v === undefined ? (this.source === 'ROUTE' && ctx.routeMetadata === null ? 'absent (no route)' : 'absent') : v === null ? 'null' : undefined;
    return leaf(this.kind, this.matches(ctx), attr, actual, this.mm.describe(), text, 'the evidence does not carry this metadata');
  }
}

/** Filter-state values: a string is a StringAccessor (or an address object when it parses as ip[:port]). */
function filterStateString(v: JsonValue): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}
function addrOf(v: string): { ip: ReturnType<typeof parseIp>; port?: number } {
  const direct = parseIp(v);
  if (direct) return { ip: direct };
  const m = /^(.*):(\d{1,5})$/.exec(v);
  if (m) {
    const ip = parseIp(m[1]!);
    if (ip) return { ip, port: Number(m[2]) };
  }
  return { ip: null };
}

/** `filter_state` (Principal 12): envoy.type.matcher.v3.FilterStateMatcher. */
export class FilterStateMatcher implements Matcher {
  readonly kind = 'filter_state';
  constructor(readonly key: string, readonly sm: StringMatcher | null, readonly ranges: CidrRange[] | null) {}
  matches(ctx: EvalContext): Tri {
    const v = ctx.filterState[this.key];
    if (v === undefined) return ctx.unknown(`filterState.${this.key}`) ? U : F;
    const s = filterStateString(v);
    if (s === null) return U; // a structured object: we do not know its serializeAsString()
    if (this.sm) return this.sm.match(s);
    const a = addrOf(s);
    return tri(a.ip !== null && this.ranges!.some((r) => r.contains(a.ip)));
  }
  explain(ctx: EvalContext): TraceNode {
    const v = ctx.filterState[this.key];
    const actual = v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean | null);
    const expected = this.sm ? this.sm.describe() : `address in ${this.ranges!.map((r) => r.toString()).join(' or ')}`;
    const why = v === undefined ? 'the evidence does not carry this filter state' : "cannot know how Envoy serializes this structured object";
    const label = this.key === 'io.istio.peer_principal' ? `principal (filter state ${this.key})` : `filter state ${this.key}`;
    return leaf('filter_state', this.matches(ctx), label, actual, expected, v === undefined && this.key === 'io.istio.peer_principal' ? 'none (no authenticated peer)' : undefined, why);
  }
}

/** `matcher` (Permission 12) with envoy.rbac.matchers.upstream_ip_port. */
export class UpstreamIpPortMatcher implements Matcher {
  readonly kind = 'matcher';
  static readonly KEY = 'envoy.stream.upstream_address';
  constructor(readonly ip: CidrRange | null, readonly portRange: { start: number; end: number } | null) {}
  matches(ctx: EvalContext): Tri {
    const v = ctx.filterState[UpstreamIpPortMatcher.KEY];
    if (v === undefined) return ctx.unknown(`filterState.${UpstreamIpPortMatcher.KEY}`) ? U : F;
    const s = filterStateString(v);
    if (s === null) return F;
    const a = addrOf(s);
    if (!a.ip) return F;
    if (this.ip && !this.ip.contains(a.ip)) return F;
    if (this.portRange) {
      if (a.port === undefined) return F;
      if (!(this.portRange.start <= a.port && a.port <= this.portRange.end)) return F;
    }
    return T;
  }
  explain(ctx: EvalContext): TraceNode {
    const v = ctx.filterState[UpstreamIpPortMatcher.KEY];
    const exp = [this.ip ? `ip in ${this.ip.toString()}` : '', this.portRange ? `port in [${this.portRange.start}, ${this.portRange.end}]` : ''].filter(Boolean).join(' and ');
    return leaf('matcher', this.matches(ctx), 'upstream address', v === undefined ? null : String(v), exp, undefined, 'the evidence does not carry the upstream address');
  }
}

export type SanType = 'SAN_TYPE_UNSPECIFIED' | 'EMAIL' | 'DNS' | 'URI' | 'IP_ADDRESS' | 'OTHER_NAME';

/** Utility::dnsNameMatch: ASCII case-insensitive, `*.` wildcard in the left-most label only (not xn--). */
export function dnsNameMatch(dnsName: string, pattern: string): boolean {
  const name = asciiLower(dnsName);
  const p = asciiLower(pattern);
  if (name === p) return true;
  if (p.length > 1 && p[0] === '*' && p[1] === '.' && name.length > p.length - 1) {
    const off = name.length - p.length + 1;
    const label = name.slice(0, off);
    return !label.includes('.') && !label.startsWith('xn--') && name.slice(off) === p.slice(1);
  }
  return false;
}

/** `custom` (Principal 14) with envoy.rbac.principals.mtls_authenticated. */
export class MtlsAuthenticatedMatcher implements Matcher {
  readonly kind = 'custom';
  constructor(readonly san: { type: SanType; sm: StringMatcher; oid?: string } | null) {}
  matches(ctx: EvalContext): Tri {
    const tls = ctx.tls;
    if (!tls) return ctx.unknown('tls') ? U : F;
    if (!tls.peerCertificateValidated) return ctx.unknown('tls.peerCertificateValidated') ? U : F;
    if (!this.san) return T;
    const { type, sm } = this.san;
    if (type === 'URI') {
      for (const s of tls.uriSans ?? []) if (sm.match(s) === T) return T;
      return ctx.unknown('tls.uriSans') ? U : F;
    }
    if (type === 'DNS') {
      for (const s of tls.dnsSans ?? []) {
        if (sm.kind === 'exact' ? dnsNameMatch(sm.value, s) : sm.match(s) === T) return T;
      }
      return ctx.unknown('tls.dnsSans') ? U : F;
    }
    return U; // EMAIL / IP_ADDRESS / OTHER_NAME SANs are not in the evidence model.
  }
  explain(ctx: EvalContext): TraceNode {
    const tls = ctx.tls;
    const exp = `validated client certificate${this.san ? ` with ${this.san.type} SAN ${this.san.sm.describe()}` : ''}`;
    const r = this.matches(ctx);
    if (!tls) return leaf('custom', r, 'principal', null, exp, 'none (plaintext connection)', 'the evidence does not say whether the connection used TLS');
    const sans = this.san?.type === 'DNS' ? tls.dnsSans : tls.uriSans;
    const text = `${(sans ?? []).join(', ') || 'no SANs'}${tls.peerCertificateValidated ? '' : ' (certificate not validated)'}`;
    return leaf('custom', r, 'principal', sans ?? [], exp, text, this.san && !['URI', 'DNS'].includes(this.san.type) ? `${this.san.type} SANs are not modelled` : 'the evidence lacks the certificate facts');
  }
}

// ---------------------------------------------------------------------------------------------
// Factories: Matcher::create(Permission) / Matcher::create(Principal)

const PERMISSION_RULES = ['and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range', 'metadata', 'not_rule', 'requested_server_name', 'matcher', 'uri_template', 'sourced_metadata'] as const;
const PRINCIPAL_IDS = ['and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'metadata', 'not_id', 'filter_state', 'sourced_metadata', 'custom'] as const;

function parseAny(o: Obj, path: string, msg: string): Matcher {
  if (o.any !== true) throw new RbacConfigError(jp(path, 'any'), `${msg}ValidationError.Any: value must equal true`);
  return new AlwaysMatcher('any');
}

function parseHeader(v: unknown, path: string, opts: ParseOptions): Matcher {
  const hm = HeaderMatcher.parse(v, path);
  if (opts.kind === 'network') {
    throw new RbacConfigError(path, `Found header(name: ${JSON.stringify(hm.name)}) rule,not supported by RBAC network filter`);
  }
  return new HeaderMatcherRule(hm);
}

function parsePathMatcher(v: unknown, path: string): Matcher {
  const o = asObj(v, path);
  if (o.path === undefined || o.path === null) throw new RbacConfigError(path, 'PathMatcherValidationError.Rule: value is required');
  return new PathMatcherRule(StringMatcher.parse(o.path, jp(path, 'path')));
}

function parseSourced(v: unknown, path: string): Matcher {
  const o = asObj(v, path);
  if (o.metadata_matcher === undefined) throw new RbacConfigError(jp(path, 'metadata_matcher'), 'SourcedMetadataValidationError.MetadataMatcher: value is required');
  const src = o.metadata_source === undefined ? 'DYNAMIC' : enumValue(o.metadata_source, ['DYNAMIC', 'ROUTE'] as const, jp(path, 'metadata_source'), 'MetadataSource');
  return new MetadataRule('sourced_metadata', MetadataMatcher.parse(o.metadata_matcher, jp(path, 'metadata_matcher')), src);
}

function parseInt64Range(v: unknown, path: string): { start: number; end: number } {
  const o = asObj(v, path);
  return { start: optInt(o, 'start', path) ?? 0, end: optInt(o, 'end', path) ?? 0 };
}

function parsePermissionMatcherExt(v: unknown, path: string): Matcher {
  const { type, cfg, tp } = typedConfig(v, path);
  if (type !== 'envoy.extensions.rbac.matchers.upstream_ip_port.v3.UpstreamIpPortMatcher') {
    throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for type: '${type}'`);
  }
  const ip = cfg.upstream_ip !== undefined ? CidrRange.parse(cfg.upstream_ip, jp(tp, 'upstream_ip')) : null;
  const pr = cfg.upstream_port_range !== undefined ? parseInt64Range(cfg.upstream_port_range, jp(tp, 'upstream_port_range')) : null;
  if (!ip && !pr) throw new RbacConfigError(tp, 'Invalid UpstreamIpPortMatcher configuration - missing `upstream_ip` and/or `upstream_port_range`');
  return new UpstreamIpPortMatcher(ip, pr);
}

function parseUriTemplate(v: unknown, path: string): Matcher {
  const { type, cfg, tp } = typedConfig(v, path);
  if (type !== 'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig') {
    throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for type: '${type}'`);
  }
  const tpl = optStr(cfg, 'path_template', tp) ?? '';
  if (tpl.length < 1 || tpl.length > 256) throw new RbacConfigError(jp(tp, 'path_template'), 'UriTemplateMatchConfigValidationError.PathTemplate: value length must be between 1 and 256 characters');
  let re: string;
  try {
    re = uriTemplateToRegex(tpl);
  } catch (e) {
    throw new RbacConfigError(jp(tp, 'path_template'), `path_template ${tpl} is invalid: ${(e as Error).message}`);
  }
  return new UriTemplateMatcher(tpl, new FullMatchRegex(re, jp(tp, 'path_template')));
}

function parseMtlsAuthenticated(v: unknown, path: string): Matcher {
  const { type, cfg, tp } = typedConfig(v, path);
  if (type !== 'envoy.extensions.rbac.principals.mtls_authenticated.v3.Config') {
    throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for type: '${type}'`);
  }
  const any = optBool(cfg, 'any_validated_client_certificate', tp) ?? false;
  if (cfg.san_matcher === undefined && !any) {
    throw new RbacConfigError(tp, 'mtls_authenticated must have either san_matcher or any_validated_client_certificate set');
  }
  if (cfg.san_matcher === undefined) return new MtlsAuthenticatedMatcher(null);
  const sp = jp(tp, 'san_matcher');
  const so = asObj(cfg.san_matcher, sp);
  const st = enumValue(so.san_type ?? 0, ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'] as const, jp(sp, 'san_type'), 'SanType');
  if (st === 'SAN_TYPE_UNSPECIFIED') throw new RbacConfigError(jp(sp, 'san_type'), 'SubjectAltNameMatcherValidationError.SanType: value must not be in list [0]');
  if (so.matcher === undefined) throw new RbacConfigError(jp(sp, 'matcher'), 'SubjectAltNameMatcherValidationError.Matcher: value is required');
  return new MtlsAuthenticatedMatcher({ type: st, sm: StringMatcher.parse(so.matcher, jp(sp, 'matcher')), oid: optStr(so, 'oid', sp) });
}

function parseList(o: Obj, key: string, listKey: string, path: string, msg: string, each: (v: unknown, p: string) => Matcher): Matcher[] {
  const sp = jp(path, key);
  const set = asObj(o[key], sp);
  const lp = jp(sp, listKey);
  const list = asArr(set[listKey] ?? [], lp);
  if (list.length === 0) throw new RbacConfigError(lp, `${msg}ValidationError.${listKey === 'rules' ? 'Rules' : 'Ids'}: value must contain at least 1 item(s)`);
  return list.map((x, i) => each(x, jp(lp, i)));
}

export function createPermission(v: unknown, path: string, opts: ParseOptions): Matcher {
  const o = asObj(v, path, 'a Permission');
  const which = oneof(o, PERMISSION_RULES, path, 'rule');
  const unknownKey = Object.keys(o).find((k) => !(PERMISSION_RULES as readonly string[]).includes(k));
  if (!which) {
    if (unknownKey) throw new RbacConfigError(jp(path, unknownKey), `unknown Permission field ${JSON.stringify(unknownKey)}`);
    throw new RbacConfigError(path, 'PermissionValidationError.Rule: value is required');
  }
  switch (which) {
    case 'any':
      return parseAny(o, path, 'Permission');
    case 'and_rules':
      return new AndMatcher('and_rules', parseList(o, 'and_rules', 'rules', path, 'Permission_Set', (x, p) => createPermission(x, p, opts)));
    case 'or_rules':
      return new OrMatcher('or_rules', parseList(o, 'or_rules', 'rules', path, 'Permission_Set', (x, p) => createPermission(x, p, opts)));
    case 'not_rule':
      return new NotMatcher('not_rule', createPermission(o.not_rule, jp(path, 'not_rule'), opts));
    case 'header':
      return parseHeader(o.header, jp(path, 'header'), opts);
    case 'url_path':
      return parsePathMatcher(o.url_path, jp(path, 'url_path'));
    case 'destination_ip':
      return new IPMatcher('destination_ip', 'local', CidrRange.parse(o.destination_ip, jp(path, 'destination_ip')));
    case 'destination_port': {
      const p = optInt(o, 'destination_port', path) ?? 0;
      if (p < 0 || p > 65535) throw new RbacConfigError(jp(path, 'destination_port'), 'PermissionValidationError.DestinationPort: value must be less than or equal to 65535');
      return new PortMatcher(p);
    }
    case 'destination_port_range': {
      const rp = jp(path, 'destination_port_range');
      const r = asObj(o.destination_port_range, rp);
      const start = optInt(r, 'start', rp) ?? 0;
      const end = optInt(r, 'end', rp) ?? 0;
      if (start < 0 || start > 65536) throw new RbacConfigError(jp(rp, 'start'), `start port ${start} is out of range. Must be between 0 and 65536.`);
      if (end < 0 || end > 65536) throw new RbacConfigError(jp(rp, 'end'), `end port ${end} is out of range. Must be between 0 and 65536.`);
      if (start >= end) throw new RbacConfigError(rp, `start port ${start} cannot be greater or equal than end port ${end}`);
      return new PortRangeMatcher(start, end);
    }
    case 'metadata':
      return new MetadataRule('metadata', MetadataMatcher.parse(o.metadata, jp(path, 'metadata')), 'DYNAMIC');
    case 'requested_server_name':
      return new RequestedServerNameMatcher(StringMatcher.parse(o.requested_server_name, jp(path, 'requested_server_name')));
    case 'matcher':
      return parsePermissionMatcherExt(o.matcher, jp(path, 'matcher'));
    case 'uri_template':
      return parseUriTemplate(o.uri_template, jp(path, 'uri_template'));
    case 'sourced_metadata':
      return parseSourced(o.sourced_metadata, jp(path, 'sourced_metadata'));
  }
  throw new RbacConfigError(path, `unsupported Permission ${which}`);
}

export function createPrincipal(v: unknown, path: string, opts: ParseOptions): Matcher {
  const o = asObj(v, path, 'a Principal');
  const which = oneof(o, PRINCIPAL_IDS, path, 'identifier');
  const unknownKey = Object.keys(o).find((k) => !(PRINCIPAL_IDS as readonly string[]).includes(k));
  if (!which) {
    if (unknownKey) throw new RbacConfigError(jp(path, unknownKey), `unknown Principal field ${JSON.stringify(unknownKey)}`);
    throw new RbacConfigError(path, 'PrincipalValidationError.Identifier: value is required');
  }
  switch (which) {
    case 'any':
      return parseAny(o, path, 'Principal');
    case 'and_ids':
      return new AndMatcher('and_ids', parseList(o, 'and_ids', 'ids', path, 'Principal_Set', (x, p) => createPrincipal(x, p, opts)));
    case 'or_ids':
      return new OrMatcher('or_ids', parseList(o, 'or_ids', 'ids', path, 'Principal_Set', (x, p) => createPrincipal(x, p, opts)));
    case 'not_id':
      return new NotMatcher('not_id', createPrincipal(o.not_id, jp(path, 'not_id'), opts));
    case 'authenticated': {
      const ap = jp(path, 'authenticated');
      const a = asObj(o.authenticated, ap);
      return new AuthenticatedMatcher(a.principal_name !== undefined && a.principal_name !== null ? StringMatcher.parse(a.principal_name, jp(ap, 'principal_name')) : null);
    }
    case 'source_ip':
      return new IPMatcher('source_ip', 'connectionRemote', CidrRange.parse(o.source_ip, jp(path, 'source_ip')));
    case 'direct_remote_ip':
      return new IPMatcher('direct_remote_ip', 'directRemote', CidrRange.parse(o.direct_remote_ip, jp(path, 'direct_remote_ip')));
    case 'remote_ip':
      return new IPMatcher('remote_ip', 'remote', CidrRange.parse(o.remote_ip, jp(path, 'remote_ip')));
    case 'header':
      return parseHeader(o.header, jp(path, 'header'), opts);
    case 'url_path':
      return parsePathMatcher(o.url_path, jp(path, 'url_path'));
    case 'metadata':
      return new MetadataRule('metadata', MetadataMatcher.parse(o.metadata, jp(path, 'metadata')), 'DYNAMIC');
    case 'filter_state': {
      const fp = jp(path, 'filter_state');
      const f = asObj(o.filter_state, fp);
      const key = optStr(f, 'key', fp) ?? '';
      if (key.length === 0) throw new RbacConfigError(jp(fp, 'key'), 'FilterStateMatcherValidationError.Key: value length must be at least 1 characters');
      const w = oneof(f, ['string_match', 'address_match'], fp, 'matcher');
      if (!w) throw new RbacConfigError(fp, 'FilterStateMatcherValidationError.Matcher: value is required');
      if (w === 'string_match') return new FilterStateMatcher(key, StringMatcher.parse(f.string_match, jp(fp, 'string_match')), null);
      const ap = jp(fp, 'address_match');
      const am = asObj(f.address_match, ap);
      const ranges = asArr(am.ranges ?? [], jp(ap, 'ranges')).map((r, i) => CidrRange.parse(r, jp(jp(ap, 'ranges'), i)));
      return new FilterStateMatcher(key, null, ranges);
    }
    case 'sourced_metadata':
      return parseSourced(o.sourced_metadata, jp(path, 'sourced_metadata'));
    case 'custom':
      return parseMtlsAuthenticated(o.custom, jp(path, 'custom'));
  }
  throw new RbacConfigError(path, `unsupported Principal ${which}`);
}

export { describeValue };
