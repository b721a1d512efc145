/**
 * One AuthorizationPolicy rule → one Envoy RBAC `Policy`, after istiod's
 * `pilot/pkg/security/authz/model` (model.go, generator.go, permission.go, principal.go).
 *
 * A rule becomes a list of permissions (one per `to`, else one from `when` alone) and a list of
 * principals (one per `from`, else one from `when` alone). Each is an `and_*` of the conditions,
 * each condition an `or_*` of its values, and its notValues a `not_*` of an `or_*`.
 */
import {
  cidrRange,
  containsPathTemplate,
  headerMatcher,
  hostMatcher,
  metadataListMatcher,
  metadataStringMatcher,
  metadataValueMatcher,
  orValueMatcher,
  pathMatcher,
  pathTemplateMatcher,
  quoteMeta,
  stringExact,
  stringMatcher,
  stringMatcherWithPrefix,
  stringOrMatcher,
  stringPrefix,
  stringRegex,
  stringSuffix,
  type Json,
} from './matcher.js';
import type { RenderFeatures } from './version.js';
import { StacklessError } from '../../model/errors.js';
import type { Rule } from './types.js';
import { appendAll } from '../../model/arrays.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

const ATTR = {
  requestHeader: 'request.headers',
  requestInlineHeader: 'request.experimental.inline.headers',
  srcIP: 'source.ip',
  remoteIP: 'remote.ip',
  srcNamespace: 'source.namespace',
  srcServiceAccount: 'source.serviceAccount',
  srcPrincipal: 'source.principal',
  requestPrincipal: 'request.auth.principal',
  requestAudiences: 'request.auth.audiences',
  requestPresenter: 'request.auth.presenter',
  requestClaims: 'request.auth.claims',
  destIP: 'destination.ip',
  destPort: 'destination.port',
  connSNI: 'connection.sni',
  envoyFilter: 'experimental.envoy.filters.',
  srcTrustDomain: 'source.trustDomain',
} as const;

const METHOD_HEADER = ':method';
const HOST_HEADER = ':authority';
const PATH_MATCHER = 'path-matcher';
const SPIFFE = 'spiffe://';
const JWT_FILTER = 'envoy.filters.http.jwt_authn';
const AUTHN_FILTER = 'istio_authn';

/** Thrown by a generator for a field Envoy cannot see on this chain, or for a value it cannot render. */
// Thrown per value on TCP chains (e.g. every method of every rule): no stack.
export class GenerateError extends StacklessError {}

export interface GenContext {
  forTCP: boolean;
  f: RenderFeatures;
  /** Namespace of the policy (default for `serviceAccounts` without a namespace). */
  policyNamespace: string;
  /** Trust domain + aliases (`trustdomain.Bundle.TrustDomains`). */
  trustDomains: string[];
}

/** Per-value generator (generator.go `generator`). */
interface Generator {
  kind: 'simple';
  permission?(key: string, value: string, ctx: GenContext): Json;
  principal?(key: string, value: string, ctx: GenContext): Json;
}
/** Generators that see every value at once (generator.go `extendedGenerator`). */
interface ExtendedGenerator {
  kind: 'extended';
  permission?(key: string, values: string[], ctx: GenContext): Json | null;
  principal?(key: string, values: string[], ctx: GenContext): Json | null;
}

interface RuleCond {
  key: string;
  values: string[];
  notValues: string[];
  g: Generator | ExtendedGenerator;
}

const httpOnly = (key: string, ctx: GenContext) => {
  if (ctx.forTCP) throw new GenerateError(`"${key}" is HTTP only`);
};

// ---- principal helpers (principal.go) ----
const principalAny = (): Json => ({ any: true });
const principalOr = (ids: Json[]): Json => ({ or_ids: { ids } });
const principalAnd = (ids: Json[]): Json => ({ and_ids: { ids } });
const principalNot = (id: Json): Json => ({ not_id: id });
const principalMetadata = (m: Json): Json => ({ metadata: m });

/** `principalAuthenticated`: `authenticated.principal_name`, or `filter_state io.istio.peer_principal` (1.17–1.19). */
function principalAuthenticated(m: Json, ctx: GenContext): Json {
  const form = ctx.forTCP ? ctx.f.tcpPrincipal : ctx.f.httpPrincipal;
  if (form === 'filter_state') return { filter_state: { key: 'io.istio.peer_principal', string_match: m } };
  return { authenticated: { principal_name: m } };
}

// ---- permission helpers (permission.go) ----
const permissionAny = (): Json => ({ any: true });
const permissionOr = (rules: Json[]): Json => ({ or_rules: { rules } });
const permissionAnd = (rules: Json[]): Json => ({ and_rules: { rules } });
const permissionNot = (rule: Json): Json => ({ not_rule: rule });

function convertToPort(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new GenerateError(`invalid port ${v}`);
  return Number(v);
}

function cidr(v: string): Json {
  try {
    return cidrRange(v);
  } catch (e) {
    throw new GenerateError((e as Error).message);
  }
}

function extractNameInBrackets(s: string): string {
  if (!s.startsWith('[') || !s.endsWith(']')) throw new GenerateError(`expecting format [<NAME>], but found ${s}`);
  return s.slice(1, -1);
}

/** `a[b][c]` → [a? no: the caller strips the attribute] `[b][c]` → ['b','c']. */
function extractNameInNestedBrackets(s: string): string[] {
  const out: string[] = [];
  let rest = s;
  if (!rest.startsWith('[') || !rest.endsWith(']')) throw new GenerateError(`expecting format [<NAME>] or [<NAME>][<NAME>]..., but found ${s}`);
  while (rest.length > 0) {
    const m = /^\[([^\]]+)\]/.exec(rest);
    if (!m) throw new GenerateError(`expecting format [<NAME>] or [<NAME>][<NAME>]..., but found ${s}`);
    out.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  return out;
}

/** `MetadataListValueMatcherForJWTClaims`: payload path; value matches a list containing it or the string itself. */
function jwtClaimsMatcher(claims: string[], vm: Json): Json {
  return { filter: JWT_FILTER, path: [{ key: 'payload' }, ...claims.map((key) => ({ key }))], value: { or_match: { value_matchers: [{ list_match: { one_of: vm } }, vm] } } };
}

function jwtClaimString(claim: string, m: Json): Json {
  return { filter: JWT_FILTER, path: [{ key: 'payload' }, { key: claim }], value: { string_match: m } };
}

// ---- generators (generator.go) ----
const destIPGenerator: Generator = { kind: 'simple', permission: (_k, v) => ({ destination_ip: cidr(v) }) };
const destPortGenerator: Generator = { kind: 'simple', permission: (_k, v) => ({ destination_port: convertToPort(v) }) };
const connSNIGenerator: Generator = { kind: 'simple', permission: (_k, v) => ({ requested_server_name: stringMatcher(v) }) };

const envoyFilterGenerator: ExtendedGenerator = {
  kind: 'extended',
  permission(key, values) {
    // "experimental.envoy.filters.a.b[c]" → filter "envoy.filters.a.b", key "c".
    const inner = key.slice('experimental.'.length).replace(/\]$/, '');
    const idx = inner.indexOf('[');
    if (idx < 0) throw new GenerateError(`invalid key: ${key}`);
    const filter = inner.slice(0, idx);
    const k = inner.slice(idx + 1);
    const matchers = values.map((value) =>
      value.startsWith('[') && value.endsWith(']')
        ? { list_match: { one_of: { string_match: stringMatcher(value.replace(/^\[+|\]+$/g, '')) } } }
        : { string_match: stringMatcher(value) },
    );
    return { metadata: metadataValueMatcher(filter, k, orValueMatcher(matchers)) };
  },
};

const srcIPGenerator: Generator = {
  kind: 'simple',
  principal: (_k, v, ctx) => (ctx.f.directRemoteIp ? { direct_remote_ip: cidr(v) } : { source_ip: cidr(v) }),
};
const remoteIPGenerator: Generator = { kind: 'simple', principal: (_k, v) => ({ remote_ip: cidr(v) }) };

function authnMetadataPrincipal(m: Json): Json {
  return principalMetadata(metadataStringMatcher(AUTHN_FILTER, ATTR.srcPrincipal, m));
}

const srcNamespaceGenerator: Generator = {
  kind: 'simple',
  principal(_k, v, ctx) {
    const regex = `.*/ns/${quoteMeta(v).replaceAll('\\*', '.*')}/.*`;
    const m = stringRegex(regex);
    if (!ctx.forTCP && ctx.f.httpPrincipal === 'istio_authn') return authnMetadataPrincipal(m);
    return principalAuthenticated(m, ctx);
  },
};

function serviceAccountRegex(defaultNamespace: string, value: string): string {
  const slash = value.indexOf('/');
  const ns = slash >= 0 ? value.slice(0, slash) : defaultNamespace;
  const sa = slash >= 0 ? value.slice(slash + 1) : value;
  return `spiffe://.+/ns/${ns}/(.+/|)sa/${sa}(/.+)?`;
}

const srcServiceAccountGenerator: Generator = {
  kind: 'simple',
  principal: (_k, v, ctx) => principalAuthenticated(stringRegex(serviceAccountRegex(ctx.policyNamespace, v)), ctx),
};

const srcPrincipalGenerator: Generator = {
  kind: 'simple',
  principal(_k, v, ctx) {
    if (!ctx.forTCP && ctx.f.httpPrincipal === 'istio_authn') return authnMetadataPrincipal(stringMatcher(v));
    return principalAuthenticated(stringMatcherWithPrefix(v, SPIFFE), ctx);
  },
};

/** trustDomains (master): exact → prefix `spiffe://<td>/`; wildcard → regex with `*` → `[^/]*`. Aliases expand. */
const srcTrustDomainGenerator: Generator = {
  kind: 'simple',
  principal(_k, v, ctx) {
    if (v.includes('*')) {
      const regex = SPIFFE + quoteMeta(v).replaceAll('\\*', '[^/]*') + '/.*';
      return principalAuthenticated(stringRegex(regex), ctx);
    }
    return principalAuthenticated(stringPrefix(`${SPIFFE}${v}/`), ctx);
  },
};

const MATCH_ANY = (): Json => stringRegex('.+');

const requestPrincipalGenerator: ExtendedGenerator = {
  kind: 'extended',
  principal(key, values, ctx) {
    httpOnly(key, ctx);
    const or: Json[] = [];
    for (const value of values) {
      const idx = value.lastIndexOf('/');
      const found = idx >= 0;
      const iss = found ? value.slice(0, idx) : value;
      const sub = found ? value.slice(idx + 1) : '';
      let matchIss: Json;
      let matchSub: Json;
      if (value === '*') {
        matchIss = MATCH_ANY();
        matchSub = MATCH_ANY();
      } else if (value.startsWith('*')) {
        if (found) {
          matchIss = iss === '*' ? MATCH_ANY() : stringSuffix(iss.slice(1));
          matchSub = stringExact(sub);
        } else {
          matchIss = MATCH_ANY();
          matchSub = stringSuffix(value.slice(1));
        }
      } else if (value.endsWith('*')) {
        if (found) {
          matchIss = stringExact(iss);
          matchSub = sub === '*' ? MATCH_ANY() : stringPrefix(sub.slice(0, -1));
        } else {
          matchIss = stringPrefix(value.slice(0, -1));
          matchSub = MATCH_ANY();
        }
      } else {
        matchSub = stringExact(sub);
        matchIss = stringExact(iss);
      }
      or.push(principalAnd([principalMetadata(jwtClaimString('iss', matchIss)), principalMetadata(jwtClaimString('sub', matchSub))]));
    }
    if (or.length === 1) return or[0]!;
    return or.length > 0 ? principalOr(or) : null;
  },
};

function claimsGenerator(claims: string[]): ExtendedGenerator {
  return {
    kind: 'extended',
    principal(key, values, ctx) {
      httpOnly(key, ctx);
      return principalMetadata(jwtClaimsMatcher(claims, stringOrMatcher(values)));
    },
  };
}

const requestClaimGenerator: ExtendedGenerator = {
  kind: 'extended',
  principal(key, values, ctx) {
    httpOnly(key, ctx);
    const claims = extractNameInNestedBrackets(key.slice(ATTR.requestClaims.length));
    return principalMetadata(jwtClaimsMatcher(claims, stringOrMatcher(values)));
  },
};

const requestHeaderGenerator: Generator = {
  kind: 'simple',
  principal(key, v, ctx) {
    httpOnly(key, ctx);
    const prefix = key.startsWith(ATTR.requestInlineHeader) ? ATTR.requestInlineHeader : ATTR.requestHeader;
    const header = extractNameInBrackets(key.slice(prefix.length));
    return { header: headerMatcher(header, v, ctx.f) };
  },
};

const hostGenerator: Generator = {
  kind: 'simple',
  permission(key, v, ctx) {
    httpOnly(key, ctx);
    return { header: hostMatcher(HOST_HEADER, v, ctx.f) };
  },
};

const pathGenerator: Generator = {
  kind: 'simple',
  permission(key, v, ctx) {
    httpOnly(key, ctx);
    if (ctx.f.uriTemplate && containsPathTemplate(v)) return { uri_template: pathTemplateMatcher(v) };
    return { url_path: pathMatcher(v) };
  },
};

const methodGenerator: Generator = {
  kind: 'simple',
  permission(key, v, ctx) {
    httpOnly(key, ctx);
    return { header: headerMatcher(METHOD_HEADER, v, ctx.f) };
  },
};

/**
 * Before 1.21 JWT attributes came from `istio_authn` metadata and were per-value generators
 * (one `or_ids` entry per value), e.g. the Istio 1.18/1.19 sidecar in istioctl's authz fixture.
 */
function legacyAuthnGenerator(attr: string, claimsFromKey: boolean): Generator {
  return {
    kind: 'simple',
    principal(key, v, ctx) {
      httpOnly(key, ctx);
      if (claimsFromKey) {
        const claims = extractNameInNestedBrackets(key.slice(ATTR.requestClaims.length));
        return principalMetadata(metadataListMatcher(AUTHN_FILTER, [ATTR.requestClaims, ...claims], stringMatcher(v)));
      }
      if (attr === ATTR.requestAudiences) return principalMetadata(metadataListMatcher(AUTHN_FILTER, [attr], stringMatcher(v)));
      return principalMetadata(metadataStringMatcher(AUTHN_FILTER, attr, stringMatcher(v)));
    },
  };
}

function jwtGenerator(f: RenderFeatures, modern: ExtendedGenerator, attr: string, claimsFromKey = false): Generator | ExtendedGenerator {
  return f.jwtAuthnPayload ? modern : legacyAuthnGenerator(attr, claimsFromKey);
}

// ---- the model (model.go) ----
type RuleList = RuleCond[];

function cond(g: Generator | ExtendedGenerator, key: string, values: string[] | undefined, notValues: string[] | undefined): RuleCond | null {
  const v = values ?? [];
  const nv = notValues ?? [];
  if (v.length === 0 && nv.length === 0) return null;
  return { key, values: v, notValues: nv, g };
}

const insertFront = (l: RuleList, c: RuleCond | null) => {
  if (c) l.unshift(c);
};
const appendLast = (l: RuleList, c: RuleCond | null) => {
  if (c) l.push(c);
};

export interface Model {
  permissions: RuleList[];
  principals: RuleList[];
}

/** `model.New`: throws GenerateError for an unknown `when` key. */
export function newModel(r: Rule, f: RenderFeatures): Model {
  const basePermission: RuleList = [];
  const basePrincipal: RuleList = [];
  for (const when of r.when ?? []) {
    const k = when.key ?? '';
    const v = when.values;
    const nv = when.notValues;
    if (k === ATTR.destIP) appendLast(basePermission, cond(destIPGenerator, k, v, nv));
    else if (k === ATTR.destPort) appendLast(basePermission, cond(destPortGenerator, k, v, nv));
    else if (k === ATTR.connSNI) appendLast(basePermission, cond(connSNIGenerator, k, v, nv));
    else if (k.startsWith(ATTR.envoyFilter)) appendLast(basePermission, cond(envoyFilterGenerator, k, v, nv));
    else if (k === ATTR.srcIP) appendLast(basePrincipal, cond(srcIPGenerator, k, v, nv));
    else if (k === ATTR.remoteIP) appendLast(basePrincipal, cond(remoteIPGenerator, k, v, nv));
    else if (k === ATTR.srcNamespace) appendLast(basePrincipal, cond(srcNamespaceGenerator, k, v, nv));
    else if (k === ATTR.srcServiceAccount && f.serviceAccounts) appendLast(basePrincipal, cond(srcServiceAccountGenerator, k, v, nv));
    else if (k === ATTR.srcPrincipal) appendLast(basePrincipal, cond(srcPrincipalGenerator, k, v, nv));
    else if (k === ATTR.requestPrincipal) appendLast(basePrincipal, cond(jwtGenerator(f, requestPrincipalGenerator, k), k, v, nv));
    else if (k === ATTR.requestAudiences) appendLast(basePrincipal, cond(jwtGenerator(f, claimsGenerator(['aud']), k), k, v, nv));
    else if (k === ATTR.requestPresenter) appendLast(basePrincipal, cond(jwtGenerator(f, claimsGenerator(['azp']), k), k, v, nv));
    else if (k.startsWith(ATTR.requestHeader) || k.startsWith(ATTR.requestInlineHeader)) appendLast(basePrincipal, cond(requestHeaderGenerator, k, v, nv));
    else if (k.startsWith(ATTR.requestClaims)) appendLast(basePrincipal, cond(jwtGenerator(f, requestClaimGenerator, k, true), k, v, nv));
    else throw new GenerateError(`unknown attribute ${k}`);
  }

  const principals: RuleList[] = [];
  for (const from of r.from ?? []) {
    const merged = [...basePrincipal];
    const s = from.source;
    if (s) {
      insertFront(merged, cond(srcIPGenerator, ATTR.srcIP, s.ipBlocks, s.notIpBlocks));
      insertFront(merged, cond(remoteIPGenerator, ATTR.remoteIP, s.remoteIpBlocks, s.notRemoteIpBlocks));
      insertFront(merged, cond(srcNamespaceGenerator, ATTR.srcNamespace, s.namespaces, s.notNamespaces));
      if (f.serviceAccounts) insertFront(merged, cond(srcServiceAccountGenerator, ATTR.srcServiceAccount, s.serviceAccounts, s.notServiceAccounts));
      insertFront(merged, cond(jwtGenerator(f, requestPrincipalGenerator, ATTR.requestPrincipal), ATTR.requestPrincipal, s.requestPrincipals, s.notRequestPrincipals));
      insertFront(merged, cond(srcPrincipalGenerator, ATTR.srcPrincipal, s.principals, s.notPrincipals));
      if (f.trustDomains) insertFront(merged, cond(srcTrustDomainGenerator, ATTR.srcTrustDomain, s.trustDomains, s.notTrustDomains));
    }
    principals.push(merged);
  }
  if ((r.from ?? []).length === 0) principals.push(basePrincipal);

  const permissions: RuleList[] = [];
  for (const to of r.to ?? []) {
    const merged = [...basePermission];
    const o = to.operation;
    if (o) {
      insertFront(merged, cond(destPortGenerator, ATTR.destPort, o.ports, o.notPorts));
      insertFront(merged, cond(pathGenerator, PATH_MATCHER, o.paths, o.notPaths));
      insertFront(merged, cond(methodGenerator, METHOD_HEADER, o.methods, o.notMethods));
      insertFront(merged, cond(hostGenerator, HOST_HEADER, o.hosts, o.notHosts));
    }
    permissions.push(merged);
  }
  if ((r.to ?? []).length === 0) permissions.push(basePermission);
  return { permissions, principals };
}

/** `Model.MigrateTrustDomain` + `Bundle.ReplaceTrustDomainAliases`; trustDomains values expand to every alias. */
export function migrateTrustDomain(m: Model, trustDomains: string[]): Model {
  if (trustDomains.length <= 1) return m;
  const map = (l: RuleList): RuleList =>
    l.map((c) => {
      if (c.key === ATTR.srcPrincipal) return { ...c, values: replaceTrustDomainAliases(c.values, trustDomains), notValues: replaceTrustDomainAliases(c.notValues, trustDomains) };
      if (c.key === ATTR.srcTrustDomain) return { ...c, values: expandTrustDomainAliases(c.values, trustDomains), notValues: expandTrustDomainAliases(c.notValues, trustDomains) };
      return c;
    });
  return { permissions: m.permissions, principals: m.principals.map(map) };
}

function tdPrefixMatch(a: string, pattern: string): boolean {
  return pattern.endsWith('*') && a.startsWith(pattern.slice(0, -1));
}
function tdSuffixMatch(a: string, pattern: string): boolean {
  return pattern.startsWith('*') && a.endsWith(pattern.slice(1));
}
function tdStringMatch(a: string, list: string[]): boolean {
  return list.some((s) => a === s || s === '*' || tdPrefixMatch(a, s) || tdPrefixMatch(s, a) || tdSuffixMatch(a, s) || tdSuffixMatch(s, a));
}

export function replaceTrustDomainAliases(principals: string[], tds: string[]): string[] {
  const out: string[] = [];
  for (const p of principals) {
    const parts = p.split('/');
    if (parts.length !== 5 || parts[0] === '*') {
      out.push(p);
      continue;
    }
    const td = parts[0]!;
    if (tdStringMatch(td, tds) || td === 'cluster.local') {
      const forAliases: string[] = [];
      for (const t of tds) {
        const np = tdSuffixMatch(t, td) ? p : `${t}/${parts.slice(1).join('/')}`;
        if (!forAliases.includes(np)) forAliases.push(np);
      }
      appendAll(out, forAliases);
    } else {
      out.push(p);
    }
  }
  return out;
}

function expandTrustDomainAliases(values: string[], tds: string[]): string[] {
  const out: string[] = [];
  for (const v of values) for (const x of tds.includes(v) ? tds : [v]) if (!out.includes(x)) out.push(x);
  return out;
}

/** `Model.Generate`: throws GenerateError when (for ALLOW) a field cannot be rendered on this chain. */
export function generatePolicy(m: Model, ctx: GenContext, action: RbacAction): Json {
  const permissions = m.permissions.map((rl) => {
    const and = rl.flatMap((c) => condPermission(c, ctx, action));
    return permissionAnd(and.length > 0 ? and : [permissionAny()]);
  });
  if (permissions.length === 0) throw new GenerateError('must have at least 1 permission');
  const principals = m.principals.map((rl) => {
    const and = rl.flatMap((c) => condPrincipal(c, ctx, action));
    return principalAnd(and.length > 0 ? and : [principalAny()]);
  });
  if (principals.length === 0) throw new GenerateError('must have at least 1 principal');
  return { permissions, principals };
}

/** `rule.checkError`: ALLOW propagates (drops the whole rule); DENY/LOG drop only the offending value. */
function attempt<T>(action: RbacAction, fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (action === 'ALLOW' || !(e instanceof GenerateError)) throw e;
    return null;
  }
}

function condPermission(c: RuleCond, ctx: GenContext, action: RbacAction): Json[] {
  const out: Json[] = [];
  const g = c.g;
  if (g.kind === 'extended') {
    if (!g.permission) throw new GenerateError('unimplemented');
    if (c.values.length > 0) {
      const p = attempt(action, () => g.permission!(c.key, c.values, ctx));
      if (p) out.push(p);
    }
    if (c.notValues.length > 0) {
      const p = attempt(action, () => g.permission!(c.key, c.notValues, ctx));
      if (p) out.push(permissionNot(p));
    }
    return out;
  }
  const each = (vals: string[]) => {
    const or: Json[] = [];
    for (const v of vals) {
      const p = attempt(action, () => {
        if (!g.permission) throw new GenerateError('unimplemented');
        return g.permission(c.key, v, ctx);
      });
      if (p) or.push(p);
    }
    return or;
  };
  const or = each(c.values);
  if (or.length > 0) out.push(permissionOr(or));
  const nor = each(c.notValues);
  if (nor.length > 0) out.push(permissionNot(permissionOr(nor)));
  return out;
}

function condPrincipal(c: RuleCond, ctx: GenContext, action: RbacAction): Json[] {
  const out: Json[] = [];
  const g = c.g;
  if (g.kind === 'extended') {
    if (!g.principal) throw new GenerateError('unimplemented');
    if (c.values.length > 0) {
      const p = attempt(action, () => g.principal!(c.key, c.values, ctx));
      if (p) out.push(p);
    }
    if (c.notValues.length > 0) {
      const p = attempt(action, () => g.principal!(c.key, c.notValues, ctx));
      if (p) out.push(principalNot(p));
    }
    return out;
  }
  const each = (vals: string[]) => {
    const or: Json[] = [];
    for (const v of vals) {
      const p = attempt(action, () => {
        if (!g.principal) throw new GenerateError('unimplemented');
        return g.principal(c.key, v, ctx);
      });
      if (p) or.push(p);
    }
    return or;
  };
  const or = each(c.values);
  if (or.length > 0) out.push(principalOr(or));
  const nor = each(c.notValues);
  if (nor.length > 0) out.push(principalNot(principalOr(nor)));
  return out;
}

/** The explicit never-matching policy for a policy with no rules (allow-nothing). */
export function policyMatchNever(): Json {
  return { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };
}
