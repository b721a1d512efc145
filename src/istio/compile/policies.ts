/**
 * Kubernetes objects → typed AuthorizationPolicy / PeerAuthentication, with the complaints the
 * API server (CRD schema: unknown fields, wrong types) and istiod's validation webhook
 * (`pkg/config/validation` ValidateAuthorizationPolicy / ValidatePeerAuthentication) would give.
 */
import type { Diagnostic } from '../../model/errors.js';
import type { K8sObject } from '../../readers/k8s.js';
import { isIPv4, isIPv6, MATCH_ANY_TEMPLATE, MATCH_ONE_TEMPLATE } from './matcher.js';
import type { AuthorizationPolicy, AuthzAction, MtlsMode, PeerAuthentication, Rule } from './types.js';
import type { RenderFeatures } from './version.js';
import { isLegacyAuthnPolicy, legacyToPeerAuthentications } from './legacy-authn.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const SOURCE_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'trustDomains', 'notTrustDomains'] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const ACTIONS: AuthzAction[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];

class SchemaError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

function loc(o: K8sObject, path: string) {
  return { file: o.source.file, line: o.source.lineAt?.(path) ?? o.source.line, path: `${o.source.path}${path}` };
}

function strictUnknown(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new SchemaError(`${path}.${k}`, `strict decoding error: unknown field "${path.slice(1)}.${k}"`);
  }
}

function stringList(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new SchemaError(path, `${path.slice(1)}: expected an array of strings, found ${typeof v}`);
  return v.map((x, i) => {
    if (typeof x === 'string') return x;
    // The API server's structural schema check, e.g. `ports: [8080]` instead of `["8080"]`.
    const t = x === null ? 'null' : Array.isArray(x) ? 'array' : Number.isInteger(x) ? 'integer' : typeof x;
    throw new SchemaError(`${path}[${i}]`, `${path.slice(1)}[${i}]: Invalid value: "${t}": ${path.slice(1)}[${i}] in body must be of type string: "${t}"`);
  });
}

function parseRule(v: unknown, path: string, f: RenderFeatures): Rule | null {
  if (v === null) return null;
  if (!isRecord(v)) throw new SchemaError(path, `${path.slice(1)}: expected an object`);
  strictUnknown(v, ['from', 'to', 'when'], path);
  const r: Rule = {};
  if (v.from !== undefined) {
    if (!Array.isArray(v.from)) throw new SchemaError(`${path}.from`, `${path.slice(1)}.from: expected an array`);
    r.from = v.from.map((fr, i) => {
      const p = `${path}.from[${i}]`;
      if (!isRecord(fr)) throw new SchemaError(p, `${p.slice(1)}: expected an object`);
      strictUnknown(fr, ['source'], p);
      if (fr.source === undefined || fr.source === null) return {};
      if (!isRecord(fr.source)) throw new SchemaError(`${p}.source`, `${p.slice(1)}.source: expected an object`);
      const allowed = SOURCE_FIELDS.filter((k) => (k.toLowerCase().includes('serviceaccounts') ? f.serviceAccounts : k.toLowerCase().includes('trustdomains') ? f.trustDomains : true));
      strictUnknown(fr.source, allowed, `${p}.source`);
      const s: Record<string, string[] | undefined> = {};
      for (const k of allowed) s[k] = stringList(fr.source[k], `${p}.source.${k}`);
      return { source: s };
    });
  }
  if (v.to !== undefined) {
    if (!Array.isArray(v.to)) throw new SchemaError(`${path}.to`, `${path.slice(1)}.to: expected an array`);
    r.to = v.to.map((to, i) => {
      const p = `${path}.to[${i}]`;
      if (!isRecord(to)) throw new SchemaError(p, `${p.slice(1)}: expected an object`);
      strictUnknown(to, ['operation'], p);
      if (to.operation === undefined || to.operation === null) return {};
      if (!isRecord(to.operation)) throw new SchemaError(`${p}.operation`, `${p.slice(1)}.operation: expected an object`);
      strictUnknown(to.operation, OPERATION_FIELDS, `${p}.operation`);
      const o: Record<string, string[] | undefined> = {};
      for (const k of OPERATION_FIELDS) o[k] = stringList(to.operation[k], `${p}.operation.${k}`);
      return { operation: o };
    });
  }
  if (v.when !== undefined) {
    if (!Array.isArray(v.when)) throw new SchemaError(`${path}.when`, `${path.slice(1)}.when: expected an array`);
    r.when = v.when.map((w, i) => {
      const p = `${path}.when[${i}]`;
      if (!isRecord(w)) throw new SchemaError(p, `${p.slice(1)}: expected an object`);
      strictUnknown(w, ['key', 'values', 'notValues'], p);
      if (w.key !== undefined && typeof w.key !== 'string') throw new SchemaError(`${p}.key`, `${p.slice(1)}.key: expected a string`);
      return { key: w.key as string | undefined, values: stringList(w.values, `${p}.values`), notValues: stringList(w.notValues, `${p}.notValues`) };
    });
  }
  return r;
}

function selectorOf(v: unknown, path: string): { matchLabels?: Record<string, string> } | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new SchemaError(path, `${path.slice(1)}: expected an object`);
  strictUnknown(v, ['matchLabels'], path);
  if (v.matchLabels === undefined || v.matchLabels === null) return {};
  if (!isRecord(v.matchLabels)) throw new SchemaError(`${path}.matchLabels`, `${path.slice(1)}.matchLabels: expected a map of strings`);
  const m: Record<string, string> = {};
  for (const [k, x] of Object.entries(v.matchLabels)) m[k] = String(x);
  return { matchLabels: m };
}

const isAuthzPolicy = (o: K8sObject) => o.kind === 'AuthorizationPolicy' && o.apiVersion.startsWith('security.istio.io/');
const isPeerAuthn = (o: K8sObject) => o.kind === 'PeerAuthentication' && o.apiVersion.startsWith('security.istio.io/');

export interface ParsedPolicies {
  authorizationPolicies: AuthorizationPolicy[];
  peerAuthentications: PeerAuthentication[];
  /** Objects of other kinds (Deployments, Services, …) that the compiler does not use. */
  ignored: K8sObject[];
  diagnostics: Diagnostic[];
}

/**
 * Parses and validates every AuthorizationPolicy / PeerAuthentication. A policy the API server or
 * istiod would reject is left out, with an error diagnostic naming file, line and path.
 * `defaultNamespace` stands in for a missing metadata.namespace (kubectl's current namespace).
 */
export function parsePolicies(objects: K8sObject[], f: RenderFeatures, defaultNamespace = 'default', rootNamespace = 'istio-system'): ParsedPolicies {
  const out: ParsedPolicies = { authorizationPolicies: [], peerAuthentications: [], ignored: [], diagnostics: [] };
  // Like `kubectl apply` of all files in order: a later object with the same kind/namespace/name replaces an earlier one.
  const last = new Map<string, K8sObject>();
  for (const o of objects) {
    if (!isAuthzPolicy(o) && !isPeerAuthn(o)) continue;
    const key = `${o.kind}/${o.metadata.namespace ?? defaultNamespace}/${o.metadata.name}`;
    const prev = last.get(key);
    if (prev) out.diagnostics.push({ severity: 'warning', location: loc(prev, ''), message: `${o.kind} ${o.metadata.namespace ?? defaultNamespace}/${o.metadata.name} is defined again at ${o.source.file}${o.source.line ? `:${o.source.line}` : ''}; the later definition is used` });
    last.set(key, o);
  }
  const kept = new Set(last.values());
  for (const o of objects) {
    if ((isAuthzPolicy(o) || isPeerAuthn(o)) && !kept.has(o)) continue;
    if (isAuthzPolicy(o)) {
      try {
        const p = parseAuthorizationPolicy(o, f, defaultNamespace);
        const { errors, warnings } = validateAuthorizationPolicy(p, f);
        for (const w of warnings) out.diagnostics.push({ severity: 'warning', location: loc(o, '.spec'), message: `policy ${p.name}.${p.namespace}: ${w}` });
        if (errors.length > 0) {
          out.diagnostics.push({ severity: 'error', location: loc(o, errors[0]!.path), message: `invalid policy ${p.name}.${p.namespace}: ${errors.map((e) => e.message).join('; ')} (istiod rejects it; skipped)` });
          continue;
        }
        out.authorizationPolicies.push(p);
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        out.diagnostics.push({ severity: 'error', location: loc(o, e.path), message: `AuthorizationPolicy ${o.metadata.name}: ${e.message} (the API server rejects it; skipped)` });
      }
    } else if (isPeerAuthn(o)) {
      try {
        const p = parsePeerAuthentication(o, defaultNamespace);
        out.peerAuthentications.push(p);
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        out.diagnostics.push({ severity: 'error', location: loc(o, e.path), message: `PeerAuthentication ${o.metadata.name}: ${e.message} (skipped)` });
      }
    } else if (isLegacyAuthnPolicy(o)) {
      const legacy = legacyToPeerAuthentications(o, objects, rootNamespace, defaultNamespace);
      out.peerAuthentications.push(...legacy.peerAuthentications);
      out.diagnostics.push(...legacy.diagnostics);
    } else {
      out.ignored.push(o);
    }
  }
  return out;
}

function parseAuthorizationPolicy(o: K8sObject, f: RenderFeatures, defaultNamespace: string): AuthorizationPolicy {
  const spec = o.raw.spec ?? {};
  if (!isRecord(spec)) throw new SchemaError('.spec', 'spec: expected an object');
  strictUnknown(spec, ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules'], '.spec');
  const action = spec.action ?? 'ALLOW';
  if (typeof action !== 'string' || !ACTIONS.includes(action as AuthzAction)) {
    throw new SchemaError('.spec.action', `spec.action: Unsupported value: ${JSON.stringify(action)}: supported values: "ALLOW", "DENY", "AUDIT", "CUSTOM"`);
  }
  let rules: (Rule | null)[] | undefined;
  if (spec.rules !== undefined && spec.rules !== null) {
    if (!Array.isArray(spec.rules)) throw new SchemaError('.spec.rules', 'spec.rules: expected an array');
    rules = spec.rules.map((r, i) => parseRule(r, `.spec.rules[${i}]`, f));
  }
  const provider = spec.provider;
  if (provider !== undefined && provider !== null && !isRecord(provider)) throw new SchemaError('.spec.provider', 'spec.provider: expected an object');
  const ref = (v: unknown, path: string) => {
    if (!isRecord(v)) throw new SchemaError(path, `${path.slice(1)}: expected an object`);
    strictUnknown(v, ['group', 'kind', 'name', 'namespace'], path);
    return { group: v.group as string | undefined, kind: v.kind as string | undefined, name: v.name as string | undefined, namespace: v.namespace as string | undefined };
  };
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? defaultNamespace,
    annotations: o.metadata.annotations ?? {},
    spec: {
      selector: selectorOf(spec.selector, '.spec.selector'),
      targetRef: spec.targetRef === undefined || spec.targetRef === null ? undefined : ref(spec.targetRef, '.spec.targetRef'),
      targetRefs: Array.isArray(spec.targetRefs) ? spec.targetRefs.map((r, i) => ref(r, `.spec.targetRefs[${i}]`)) : undefined,
      action: action as AuthzAction,
      provider: isRecord(provider) ? { name: typeof provider.name === 'string' ? provider.name : undefined } : undefined,
      rules,
    },
    source: o.source,
  };
}

interface VError {
  path: string;
  message: string;
}


/** `security.ValidateIPs` (netip.ParsePrefix / ParseAddr). */
function validateIPs(values: string[] | undefined, path: string, errs: VError[]): void {
  for (const v of values ?? []) {
    const slash = v.indexOf('/');
    const addr = slash >= 0 ? v.slice(0, slash) : v;
    const okAddr = isIPv4(addr) || isIPv6(addr);
    if (slash < 0) {
      if (!okAddr) errs.push({ path, message: `bad IP address (${v})` });
      continue;
    }
    const bits = v.slice(slash + 1);
    if (!okAddr) errs.push({ path, message: `bad CIDR range (${v}): netip.ParsePrefix(${JSON.stringify(v)}): ParseAddr(${JSON.stringify(addr)}): unable to parse IP` });
    else if (!/^\d+$/.test(bits)) errs.push({ path, message: `bad CIDR range (${v}): netip.ParsePrefix(${JSON.stringify(v)}): bad bits after slash: ${JSON.stringify(bits)}` });
    else if (Number(bits) > (isIPv4(addr) ? 32 : 128)) errs.push({ path, message: `bad CIDR range (${v}): netip.ParsePrefix(${JSON.stringify(v)}): prefix length out of range` });
  }
}

/** `security.ValidatePorts` (strconv.ParseUint, then ≤ 65535). */
function validatePorts(values: string[] | undefined, path: string, errs: VError[]): void {
  for (const v of values ?? []) {
    if (!/^\d+$/.test(v)) errs.push({ path, message: `bad port (${v}): strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax` });
    else if (Number(v) > 65535) errs.push({ path, message: `bad port (${v}): <nil>` });
  }
}

/** `security.CheckEmptyValues`. */
function checkEmpty(field: string, values: string[] | undefined, path: string, errs: VError[]): void {
  if ((values ?? []).some((v) => v === '')) errs.push({ path, message: `empty value not allowed, found in ${field}` });
}

// Named variables {v=*}, named/empty braces {v} {}, and bare `/*`, `/**`, `*/` next to a template (security.go).
const UNSUPPORTED_PATH_TEMPLATE = /\/\{\w+=\*[*]?\}|\{\w*\}|\/\*[*]?|\*[*]?\//;

/** `security.CheckValidPathTemplate`. */
function checkPathTemplate(field: string, values: string[] | undefined, path: string, errs: VError[]): void {
  for (const p of values ?? []) {
    if ((p.includes(MATCH_ONE_TEMPLATE) || p.includes(MATCH_ANY_TEMPLATE)) && UNSUPPORTED_PATH_TEMPLATE.test(p)) {
      errs.push({ path, message: `invalid or unsupported path template, found in ${field}` });
      return;
    }
  }
}

/** `security.validateMapKey`: `a[b]`. */
function validateMapKey(key: string): string | null {
  const open = key.indexOf('[');
  return key.endsWith(']') && open > 0 && open < key.length - 2 ? null : `bad key (${key}): should have format a[b]`;
}

/** `security.ValidateAttribute`. */
function validateAttribute(key: string, values: string[] | undefined, path: string, errs: VError[], f: RenderFeatures): void {
  const before = errs.length;
  checkEmpty(key, values, path, errs);
  if (errs.length > before) return;
  const fail = (message: string | null) => {
    if (message) errs.push({ path, message });
  };
  if (key.startsWith('request.headers')) return fail(validateMapKey(key));
  if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') return validateIPs(values, path, errs);
  if (['source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'connection.sni'].includes(key)) return;
  if (key === 'source.serviceAccount' && f.serviceAccounts) return;
  if (key.startsWith('request.auth.claims')) return fail(validateMapKey(key));
  if (key === 'destination.port') return validatePorts(values, path, errs);
  if (key.startsWith('experimental.envoy.filters.')) return fail(validateMapKey(key));
  if (key.startsWith('request.experimental.inline.headers') && f.trustDomains) return fail(validateMapKey(key));
  if (key === 'destination.namespace') return fail(`attribute ${key} is replaced by the metadata.namespace`);
  if (key.startsWith('destination.labels')) return fail(`attribute ${key} is replaced by the workload selector`);
  if (key === 'destination.name' || key === 'destination.user') return fail(`deprecated attribute ${key}: only supported in v1alpha1`);
  fail(`unknown attribute: ${key}`);
}

/** istiod's ValidateAuthorizationPolicy (pkg/config/validation). */
export function validateAuthorizationPolicy(p: AuthorizationPolicy, f: RenderFeatures): { errors: VError[]; warnings: string[] } {
  const errs: VError[] = [];
  const warnings: string[] = [];
  const s = p.spec;
  const set = (s.selector ? 1 : 0) + (s.targetRef ? 1 : 0) + ((s.targetRefs?.length ?? 0) > 0 ? 1 : 0);
  if (set > 1) errs.push({ path: '.spec', message: 'only one of targetRefs or workloadSelector can be set' });
  for (const [k, v] of Object.entries(s.selector?.matchLabels ?? {})) {
    if (k === '') errs.push({ path: '.spec.selector.matchLabels', message: `empty key is not supported in selector: "${k}=${v}"` });
    if (k.includes('*') || v.includes('*')) errs.push({ path: '.spec.selector.matchLabels', message: `wildcard is not supported in selector: "${k}=${v}"` });
  }
  if (s.selector && Object.keys(s.selector.matchLabels ?? {}).length === 0) warnings.push('workload selector specified without labels');
  for (const [i, r] of [...(s.targetRef ? [s.targetRef] : []), ...(s.targetRefs ?? [])].entries()) {
    if (!r.name) errs.push({ path: s.targetRef ? '.spec.targetRef' : `.spec.targetRefs[${i}]`, message: 'name field must be set' });
    if (r.namespace) errs.push({ path: s.targetRef ? '.spec.targetRef' : `.spec.targetRefs[${i}]`, message: 'namespace field is not allowed' });
  }
  const action = s.action ?? 'ALLOW';
  if (action === 'CUSTOM') {
    if (s.rules === undefined) errs.push({ path: '.spec', message: 'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request' });
    else if (!s.provider?.name) errs.push({ path: '.spec.provider', message: '`provider.name` must not be empty' });
    for (const [i, rule] of (s.rules ?? []).entries()) {
      for (const [j, from] of (rule?.from ?? []).entries()) {
        const src = from.source;
        if (!src) continue;
        for (const [field, name] of [['namespaces', 'From.Namespaces'], ['notNamespaces', 'From.NotNamespaces'], ['serviceAccounts', 'From.ServiceAccounts'], ['notServiceAccounts', 'From.NotServiceAccounts'], ['principals', 'From.Principals'], ['notPrincipals', 'From.NotPrincipals'], ['requestPrincipals', 'From.RequestPrincipals'], ['notRequestPrincipals', 'From.NotRequestPrincipals']] as const) {
          if ((src[field]?.length ?? 0) > 0) errs.push({ path: `.spec.rules[${i}].from[${j}].source.${field}`, message: `${name} is currently not supported with CUSTOM action` });
        }
      }
      for (const [j, w] of (rule?.when ?? []).entries()) {
        const k = w.key ?? '';
        if (k === 'source.namespace' || k === 'source.serviceAccount' || k === 'source.principal' || k.startsWith('request.auth.')) errs.push({ path: `.spec.rules[${i}].when[${j}]`, message: `${k} is currently not supported with CUSTOM action` });
      }
    }
  }
  if (s.provider && action !== 'CUSTOM') errs.push({ path: '.spec.provider', message: `\`provider\` must not be with non CUSTOM action, found ${action}` });
  if (action === 'DENY' && s.rules === undefined) errs.push({ path: '.spec', message: 'DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request' });
  if (action === 'DENY' && !f.deny) errs.push({ path: '.spec.action', message: 'DENY action requires Istio 1.5 or later' });
  if (action === 'AUDIT' && !f.audit) errs.push({ path: '.spec.action', message: 'AUDIT action requires Istio 1.8 or later' });
  if (action === 'CUSTOM' && !f.custom) errs.push({ path: '.spec.action', message: 'CUSTOM action requires Istio 1.9 or later' });

  for (const [i, rule] of (s.rules ?? []).entries()) {
    const rp = `.spec.rules[${i}]`;
    if (rule === null) {
      errs.push({ path: rp, message: `\`rule\` must not be nil, found at rule ${i}` });
      continue;
    }
    if (rule.from !== undefined && rule.from.length === 0) errs.push({ path: `${rp}.from`, message: `\`from\` must not be empty, found at rule ${i}` });
    let tcpInFrom = false;
    let tcpInTo = false;
    let fromExist = false;
    let toExist = false;
    for (const [j, from] of (rule.from ?? []).entries()) {
      const fp = `${rp}.from[${j}].source`;
      const src = from.source;
      if (!src) {
        errs.push({ path: `${rp}.from[${j}]`, message: `\`from.source\` must not be nil, found at rule ${i}` });
        continue;
      }
      fromExist = true;
      const n = (k: keyof typeof src) => src[k]?.length ?? 0;
      if (n('principals') + n('notPrincipals') + n('namespaces') + n('notNamespaces') > 0 && n('serviceAccounts') + n('notServiceAccounts') > 0) {
        errs.push({ path: fp, message: `cannot set serviceAccounts with namespaces or principals, found at rule ${i}` });
      }
      if (SOURCE_FIELDS.every((k) => n(k) === 0)) errs.push({ path: fp, message: `\`from.source\` must not be empty, found at rule ${i}` });
      for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) validateIPs(src[k], `${fp}.${k}`, errs);
      for (const k of SOURCE_FIELDS) checkEmpty(k[0]!.toUpperCase() + k.slice(1), src[k], `${fp}.${k}`, errs);
      for (const k of ['serviceAccounts', 'notServiceAccounts'] as const) {
        for (const v of src[k] ?? []) if (v.split('/').length > 2) errs.push({ path: `${fp}.${k}`, message: `${k[0]!.toUpperCase() + k.slice(1)} must be of the form <name> or <namespace>/<name>, found ${v}` });
      }
      if (['principals', 'notPrincipals', 'ipBlocks', 'notIpBlocks', 'namespaces', 'notNamespaces', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts'].some((k) => src[k as keyof typeof src] !== undefined)) tcpInFrom = true;
    }
    if (rule.to !== undefined && rule.to.length === 0) errs.push({ path: `${rp}.to`, message: `\`to\` must not be empty, found at rule ${i}` });
    for (const [j, to] of (rule.to ?? []).entries()) {
      const tp = `${rp}.to[${j}].operation`;
      const op = to.operation;
      if (!op) {
        errs.push({ path: `${rp}.to[${j}]`, message: `\`to.operation\` must not be nil, found at rule ${i}` });
        continue;
      }
      toExist = true;
      if (OPERATION_FIELDS.every((k) => (op[k]?.length ?? 0) === 0)) errs.push({ path: tp, message: `\`to.operation\` must not be empty, found at rule ${i}` });
      validatePorts(op.ports, `${tp}.ports`, errs);
      validatePorts(op.notPorts, `${tp}.notPorts`, errs);
      for (const k of OPERATION_FIELDS) checkEmpty(k[0]!.toUpperCase() + k.slice(1), op[k], `${tp}.${k}`, errs);
      checkPathTemplate('Paths', op.paths, `${tp}.paths`, errs);
      checkPathTemplate('NotPaths', op.notPaths, `${tp}.notPaths`, errs);
      if (op.ports !== undefined || op.notPorts !== undefined) tcpInTo = true;
    }
    for (const [j, w] of (rule.when ?? []).entries()) {
      const wp = `${rp}.when[${j}]`;
      const key = w.key ?? '';
      if (key === '') errs.push({ path: wp, message: '`key` must not be empty' });
      else if ((w.values?.length ?? 0) === 0 && (w.notValues?.length ?? 0) === 0) errs.push({ path: wp, message: `at least one of \`values\` or \`notValues\` must be set for key ${key}` });
      else {
        const e1: VError[] = [];
        validateAttribute(key, w.values, `${wp}.values`, e1, f);
        for (const e of e1) errs.push({ path: e.path, message: `invalid \`value\` for \`key\` ${key}: ${e.message}` });
        const e2: VError[] = [];
        validateAttribute(key, w.notValues, `${wp}.notValues`, e2, f);
        for (const e of e2) errs.push({ path: e.path, message: `invalid \`notValue\` for \`key\` ${key}: ${e.message}` });
      }
    }
    if (((fromExist && !toExist && !tcpInFrom) || (toExist && !tcpInTo)) && action === 'DENY') {
      warnings.push('configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port');
    }
  }
  return { errors: errs, warnings };
}

const MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

function parsePeerAuthentication(o: K8sObject, defaultNamespace: string): PeerAuthentication {
  const spec = o.raw.spec ?? {};
  if (!isRecord(spec)) throw new SchemaError('.spec', 'spec: expected an object');
  strictUnknown(spec, ['selector', 'mtls', 'portLevelMtls'], '.spec');
  const sel = selectorOf(spec.selector, '.spec.selector');
  const mode = (v: unknown, path: string): MtlsMode | 'UNSET' => {
    if (v === undefined || v === null) return 'UNSET';
    if (!isRecord(v)) throw new SchemaError(path, `${path.slice(1)}: expected an object`);
    strictUnknown(v, ['mode'], path);
    const m = v.mode ?? 'UNSET';
    if (typeof m !== 'string' || !MODES.includes(m)) throw new SchemaError(`${path}.mode`, `${path.slice(1)}.mode: Unsupported value: ${JSON.stringify(m)}: supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"`);
    return m as MtlsMode | 'UNSET';
  };
  let portLevel: Record<number, MtlsMode | 'UNSET'> | undefined;
  if (spec.portLevelMtls !== undefined && spec.portLevelMtls !== null) {
    if (!isRecord(spec.portLevelMtls)) throw new SchemaError('.spec.portLevelMtls', 'spec.portLevelMtls: expected a map of port to {mode}');
    portLevel = {};
    for (const [k, v] of Object.entries(spec.portLevelMtls)) {
      const port = Number(k);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new SchemaError(`.spec.portLevelMtls.${k}`, 'port must be in range 1..65535');
      portLevel[port] = mode(v, `.spec.portLevelMtls.${k}`);
    }
  }
  const emptySelector = !sel || Object.keys(sel.matchLabels ?? {}).length === 0;
  if (emptySelector && portLevel && Object.keys(portLevel).length > 0) throw new SchemaError('.spec.portLevelMtls', 'mesh/namespace peer authentication cannot have port level mTLS');
  const md = isRecord(o.raw.metadata) ? o.raw.metadata : {};
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? defaultNamespace,
    selector: sel?.matchLabels,
    mode: mode(spec.mtls, '.spec.mtls'),
    portLevelMtls: portLevel,
    creationTimestamp: typeof md.creationTimestamp === 'string' ? md.creationTimestamp : undefined,
    source: o.source,
  };
}
