/**
 * AuthorizationPolicy → ztunnel `Authorization`, as istiod converts it for ambient
 * (pilot/pkg/serviceregistry/ambient/authorization.go `convertAuthorizationPolicy` / `handleRule`):
 * - policies with targetRef(s) never reach ztunnel (they are for waypoints and gateways);
 * - scope: a selector → WorkloadSelector; none → Namespace, or Global in the root namespace;
 * - only ALLOW and DENY: CUSTOM/AUDIT are not converted ("ztunnel does not support the X action");
 * - each AP rule becomes one group of clauses: one clause for all `to` (ports/notPorts), one for all
 *   `from` (ipBlocks, namespaces, serviceAccounts, principals and their negations), one per `when`
 *   (L4 keys only; any other key gives an empty match);
 * - an ALLOW rule with any HTTP field is dropped whole (the policy may be left with no rules, which
 *   matches nothing, so its workloads reject everything: fail closed); a DENY keeps its L4 part and
 *   the HTTP fields become empty matches, which ztunnel skips (possibly "no effect");
 * - the status message istiod writes on the policy, word for word.
 * Output is in the shape of the ztunnel config dump's `policies` (`{"Exact": …}`, `"10.0.0.0/8"`).
 */
import type { AuthorizationPolicy, Rule } from './types.js';
import type { K8sObject } from '../../readers/k8s.js';
import type { Diagnostic } from '../../model/errors.js';
import { parsePolicies } from './policies.js';
import { features, parseIstioVersion } from './version.js';

/** One match in the ztunnel dump's JSON shape (empty lists omitted, as ztunnel serialises it). */
export type ZtMatchJson = Partial<Record<'namespaces' | 'notNamespaces' | 'principals' | 'notPrincipals', ({ Exact: string } | { Prefix: string } | { Suffix: string } | { Presence: [] })[]>> &
  Partial<Record<'serviceAccounts' | 'notServiceAccounts', { namespace: string; serviceAccount: string }[]>> &
  Partial<Record<'sourceIps' | 'notSourceIps' | 'destinationIps' | 'notDestinationIps', string[]>> &
  Partial<Record<'destinationPorts' | 'notDestinationPorts', number[]>>;

export interface ZtPolicyJson {
  name: string;
  namespace: string;
  scope: 'Global' | 'Namespace' | 'WorkloadSelector';
  action: 'Allow' | 'Deny';
  rules: ZtMatchJson[][][];
  dryRun?: boolean;
}

export interface AmbientStatus {
  /** `ns/name` of the AuthorizationPolicy. */
  policy: string;
  reason: 'UnsupportedValue';
  message: string;
  file?: string;
  line?: number;
}

export interface AmbientCompiled {
  /** The ztunnel policies (dump shape), in input order. */
  policies: ZtPolicyJson[];
  /** Status conditions istiod writes on the AuthorizationPolicies (warnings). */
  status: AmbientStatus[];
  /** Policies not sent to ztunnel, with why. */
  notForZtunnel: { policy: string; why: string }[];
  /** WorkloadSelector policies by the AuthorizationPolicy's selector (for attaching them to workloads). */
  selectors: Record<string, Record<string, string>>;
}

export interface AmbientOptions {
  rootNamespace?: string;
  /** PILOT_ENABLE_WDS_DRY_RUN_AUTHZ_POL (istiod's feature flag for dry-run policies in ambient); default true. */
  dryRunSupported?: boolean;
}

const L4_WHEN = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);

const HTTP_RULE_FMT = (found: string, boilerplate: string): string =>
  `ztunnel does not support HTTP attributes (found: ${found}). In ambient mode you must use a waypoint proxy to enforce HTTP rules. ${boilerplate}`;
const DENY_NO_EFFECT = 'After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules at ztunnel and will have no effect. Deploy a waypoint proxy and use a targetRef to enforce this policy.';
const DENY_MIXED = 'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.';
const ALLOW_RULE = 'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.';

/** `stringToMatch`: `*` → presence, `*x` → suffix, `x*` → prefix, else exact. */
function stringToMatch(vs: string[] | undefined): ZtMatchJson['namespaces'] {
  return (vs ?? []).map((v) => (v === '*' ? { Presence: [] as [] } : v.startsWith('*') ? { Suffix: v.slice(1) } : v.endsWith('*') ? { Prefix: v.slice(0, -1) } : { Exact: v }));
}

/** `stringToServiceAccountMatch`: `ns/sa`, or `sa` in the policy's namespace. */
function stringToSa(vs: string[] | undefined, ns: string): { namespace: string; serviceAccount: string }[] {
  return (vs ?? []).map((v) => {
    const i = v.indexOf('/');
    return i >= 0 ? { namespace: v.slice(0, i), serviceAccount: v.slice(i + 1) } : { namespace: ns, serviceAccount: v };
  });
}

/** `stringToPort`: unparsable or > 65535 values are skipped. */
function stringToPort(vs: string[] | undefined): number[] {
  return (vs ?? []).filter((v) => /^\d+$/.test(v) && Number(v) <= 65535).map(Number);
}

function parseV4(s: string): number[] | null {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255 || (x.length > 1 && x[0] === '0'))) return null;
  return p.map(Number);
}

/** `stringToIP` (Go netip): a prefix or an address (full length); unparsable values are skipped. */
function stringToIp(vs: string[] | undefined): string[] {
  const out: string[] = [];
  for (const m of vs ?? []) {
    if (!m) continue;
    const slash = m.indexOf('/');
    const addr = slash < 0 ? m : m.slice(0, slash);
    const v6 = addr.includes(':');
    if (!v6 && !parseV4(addr)) continue;
    if (v6 && !/^[0-9a-fA-F:.]+$/.test(addr)) continue;
    const max = v6 ? 128 : 32;
    if (slash >= 0) {
      const bits = m.slice(slash + 1);
      if (!/^\d+$/.test(bits) || Number(bits) > max) continue;
      out.push(`${addr}/${Number(bits)}`);
    } else out.push(`${addr}/${max}`);
  }
  return out;
}

function httpOperations(op: NonNullable<NonNullable<Rule['to']>[number]['operation']>): string[] {
  const out: string[] = [];
  for (const k of ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const) if ((op[k]?.length ?? 0) > 0) out.push(k);
  return out;
}

function httpSources(s: NonNullable<NonNullable<Rule['from']>[number]['source']>): string[] {
  const out: string[] = [];
  for (const k of ['remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals', 'trustDomains', 'notTrustDomains'] as const) if ((s[k]?.length ?? 0) > 0) out.push(k);
  return out;
}

/** Drops empty lists (ztunnel's serde skips them). */
function compact(m: ZtMatchJson): ZtMatchJson {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (Array.isArray(v) && v.length > 0) out[k] = v;
  return out as ZtMatchJson;
}

const isEmpty = (m: ZtMatchJson): boolean => Object.keys(m).length === 0;

/** `handleRule`: the clauses of one AP rule (null = dropped), and the HTTP fields it found. */
function handleRule(action: 'Allow' | 'Deny', rule: Rule | null, ns: string): { clauses: ZtMatchJson[][] | null; l7: string[] } {
  const r = rule ?? {};
  const l7 = new Set<string>();
  const to: ZtMatchJson[] = [];
  for (const t of r.to ?? []) {
    const op = t.operation ?? {};
    for (const x of httpOperations(op)) l7.add(x);
    to.push(compact({ destinationPorts: stringToPort(op.ports), notDestinationPorts: stringToPort(op.notPorts) }));
  }
  const from: ZtMatchJson[] = [];
  for (const f of r.from ?? []) {
    const s = f.source ?? {};
    for (const x of httpSources(s)) l7.add(x);
    from.push(
      compact({
        sourceIps: stringToIp(s.ipBlocks),
        notSourceIps: stringToIp(s.notIpBlocks),
        namespaces: stringToMatch(s.namespaces),
        notNamespaces: stringToMatch(s.notNamespaces),
        serviceAccounts: stringToSa(s.serviceAccounts, ns),
        notServiceAccounts: stringToSa(s.notServiceAccounts, ns),
        principals: stringToMatch(s.principals),
        notPrincipals: stringToMatch(s.notPrincipals),
      }),
    );
  }
  const clauses: ZtMatchJson[][] = [];
  if (to.length) clauses.push(to);
  if (from.length) clauses.push(from);
  for (const w of r.when ?? []) {
    const key = w.key ?? '';
    if (!L4_WHEN.has(key)) l7.add(key);
    const pick = <T>(k: string, neg: boolean, f: (v: string[] | undefined) => T): T | undefined => (key === k ? f(neg ? w.notValues : w.values) : undefined);
    clauses.push([
      compact({
        namespaces: pick('source.namespace', false, stringToMatch),
        principals: pick('source.principal', false, stringToMatch),
        sourceIps: pick('source.ip', false, stringToIp),
        destinationPorts: pick('destination.port', false, stringToPort),
        destinationIps: pick('destination.ip', false, stringToIp),
        notNamespaces: pick('source.namespace', true, stringToMatch),
        notPrincipals: pick('source.principal', true, stringToMatch),
        notSourceIps: pick('source.ip', true, stringToIp),
        notDestinationPorts: pick('destination.port', true, stringToPort),
        notDestinationIps: pick('destination.ip', true, stringToIp),
      }),
    ]);
  }
  // L7 policies never match for ALLOW; for DENY the empty matches stay (ztunnel skips them).
  if (action === 'Allow' && l7.size > 0) return { clauses: null, l7: [...l7] };
  return { clauses, l7: [...l7] };
}

/** `hasEffectiveRules`: some group can fire (a group without clauses matches everything). */
function hasEffectiveRules(groups: ZtMatchJson[][][]): boolean {
  return groups.some((g) => g.length === 0 || g.every((cl) => cl.some((m) => !isEmpty(m))));
}

function parseBool(v: string): boolean | null {
  // Go strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return null;
}

/** Converts AuthorizationPolicies for ztunnel, as istiod does. */
export function compileAmbient(aps: AuthorizationPolicy[], opts: AmbientOptions = {}): AmbientCompiled {
  const root = opts.rootNamespace ?? 'istio-system';
  const out: AmbientCompiled = { policies: [], status: [], notForZtunnel: [], selectors: {} };
  for (const ap of aps) {
    const key = `${ap.namespace}/${ap.name}`;
    const src = ap.source ? { file: ap.source.file, ...(ap.source.line !== undefined ? { line: ap.source.line } : {}) } : {};
    const dryRaw = ap.annotations['istio.io/dry-run'];
    const dryRun = dryRaw ? parseBool(dryRaw) ?? false : false;
    if (dryRun && opts.dryRunSupported === false) {
      const message = `found policy "${key}" using dry-run annotation, but support for ambient dry-run authorizationPolicies isn't enabled`;
      out.status.push({ policy: key, reason: 'UnsupportedValue', message, ...src });
      out.notForZtunnel.push({ policy: key, why: message });
      continue;
    }
    if (ap.spec.targetRef || (ap.spec.targetRefs?.length ?? 0) > 0) {
      out.notForZtunnel.push({ policy: key, why: 'targetRef(s): enforced by the waypoint or gateway it targets, never sent to ztunnel' });
      continue;
    }
    const scope: ZtPolicyJson['scope'] = ap.spec.selector ? 'WorkloadSelector' : ap.namespace === root ? 'Global' : 'Namespace';
    const a = ap.spec.action ?? 'ALLOW';
    if (a !== 'ALLOW' && a !== 'DENY') {
      const message = `ztunnel does not support the ${a} action`;
      out.status.push({ policy: key, reason: 'UnsupportedValue', message, ...src });
      out.notForZtunnel.push({ policy: key, why: message });
      continue;
    }
    const action = a === 'ALLOW' ? 'Allow' : 'Deny';
    const groups: ZtMatchJson[][][] = [];
    const l7 = new Set<string>();
    for (const rule of ap.spec.rules ?? []) {
      const h = handleRule(action, rule, ap.namespace);
      if (h.clauses) groups.push(h.clauses);
      for (const x of h.l7) l7.add(x);
    }
    const pol: ZtPolicyJson = { name: ap.name, namespace: ap.namespace, scope, action, rules: groups, ...(dryRun ? { dryRun: true } : {}) };
    out.policies.push(pol);
    if (scope === 'WorkloadSelector') out.selectors[key] = ap.spec.selector?.matchLabels ?? {};
    if (l7.size > 0) {
      const boilerplate = action === 'Deny' && !hasEffectiveRules(groups) ? DENY_NO_EFFECT : action === 'Deny' ? DENY_MIXED : ALLOW_RULE;
      out.status.push({ policy: key, reason: 'UnsupportedValue', message: HTTP_RULE_FMT([...l7].sort().join(', '), boilerplate), ...src });
    }
  }
  return out;
}

/**
 * The WorkloadSelector policies istiod attaches to a workload (its `authorizationPolicies`): selector
 * policies of its namespace, and of the root namespace, whose matchLabels all match its labels.
 */
export function selectorPoliciesFor(c: AmbientCompiled, workload: { namespace: string; labels: Record<string, string> }, rootNamespace = 'istio-system'): string[] {
  return Object.entries(c.selectors)
    .filter(([key, sel]) => {
      const ns = key.slice(0, key.indexOf('/'));
      if (ns !== workload.namespace && ns !== rootNamespace) return false;
      return Object.entries(sel).every(([k, v]) => workload.labels[k] === v);
    })
    .map(([key]) => key);
}


/** Manifests → ztunnel policies (parsing and validating AuthorizationPolicies like the sidecar compiler). */
export function compileAmbientFromObjects(objects: K8sObject[], opts: AmbientOptions & { istioVersion?: string; defaultNamespace?: string } = {}): AmbientCompiled & { diagnostics: Diagnostic[] } {
  const parsed = parsePolicies(objects, features(parseIstioVersion(opts.istioVersion)), opts.defaultNamespace ?? 'default');
  return { ...compileAmbient(parsed.authorizationPolicies, opts), diagnostics: parsed.diagnostics };
}
