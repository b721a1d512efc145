/**
 * ztunnel's inbound authorization decision (`src/state.rs` `assert_rbac`) over a config dump:
 * the destination workload's policies are the Namespace-scoped policies of its namespace, the
 * Global policies, and the WorkloadSelector policies istiod attached to it (`authorizationPolicies`),
 * in that order. Then: a matching DENY → `explicitly denied by: ns/name`; no ALLOW policy → allow;
 * a matching ALLOW → allow; else `allow policies exist, but none allowed`. Dry-run policies never
 * enforce: they are evaluated apart, as a shadow decision.
 *
 * The result has the same shape as the Envoy RBAC engine's (model/decision.ts): one "filter" for the
 * DENY policies and one for the ALLOW policies, each with per-policy traces, and a closest miss.
 */
import type { ClosestMiss, Decision, FilterDecision, PolicyEvaluation } from '../model/decision.js';
import type { RequestAttrs } from '../model/attrs.js';
import { parseIp, formatIp } from '../rbac/cidr.js';
import { closestMiss } from '../rbac/explain.js';
import type { ZtPolicy, ZtunnelConfig, ZtWorkload } from './model.js';
import { evaluatePolicy, parseSpiffeIdentity, type ZtConnectionAttrs } from './rbac.js';

/** ztunnel's rejection reasons (`AuthorizationRejectionError` Display). */
export const REJECTION = {
  noWorkload: 'workload not found',
  mismatch: 'workload mismatch',
  denied: (ns: string, name: string): string => `explicitly denied by: ${ns}/${name}`,
  notAllowed: 'allow policies exist, but none allowed',
} as const;

export const POLICY_REJECTION_PREFIX = 'connection closed due to policy rejection: ';

export const FILTER_DENY = 'ztunnel DENY policies';
export const FILTER_ALLOW = 'ztunnel ALLOW policies';

export function policyKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/** Where a policy comes from for a workload (assert_rbac's three sources). */
export type PolicySource = 'namespace' | 'global' | 'workload';

export interface SelectedPolicy {
  policy: ZtPolicy;
  source: PolicySource;
}

/**
 * The policies ztunnel checks for `wl`, in assert_rbac's order. Keys listed in
 * `authorizationPolicies` but absent from the dump are returned in `unknown` (ztunnel skips them
 * with "skipping unknown policy").
 */
export function policiesForWorkload(cfg: ZtunnelConfig, wl: ZtWorkload): { selected: SelectedPolicy[]; unknown: string[] } {
  const byKey = new Map<string, ZtPolicy>();
  for (const p of cfg.policies) byKey.set(policyKey(p), p);
  const selected: SelectedPolicy[] = [];
  for (const p of cfg.policies) if (p.scope === 'Namespace' && p.namespace === wl.namespace) selected.push({ policy: p, source: 'namespace' });
  for (const p of cfg.policies) if (p.scope === 'Global') selected.push({ policy: p, source: 'global' });
  const unknown: string[] = [];
  for (const k of wl.authorizationPolicies) {
    const p = byKey.get(k);
    if (p) selected.push({ policy: p, source: 'workload' });
    else unknown.push(k);
  }
  return { selected, unknown };
}

/** The workloads a policy applies to (inverse of policiesForWorkload). */
export function workloadsForPolicy(cfg: ZtunnelConfig, p: ZtPolicy): ZtWorkload[] {
  const key = policyKey(p);
  return cfg.workloads.filter((w) =>
    p.scope === 'Global' ? true : p.scope === 'Namespace' ? w.namespace === p.namespace : w.authorizationPolicies.includes(key),
  );
}

/** Finds the workload owning an IP (any network). */
export function findWorkloadByIp(cfg: ZtunnelConfig, ip: string): ZtWorkload[] {
  const want = parseIp(ip);
  if (!want) return [];
  const norm = formatIp(want);
  return cfg.workloads.filter((w) => w.workloadIps.some((x) => {
    const p = parseIp(x);
    return p !== null && formatIp(p) === norm;
  }));
}

export interface ZtDecisionOptions {
  trace?: boolean;
  /** Attributes the caller does not know (e.g. from a log): `tls` means the peer identity is unknown. */
  unknown?: string[];
}

function undecidable(reasons: string[], extra: Partial<Decision> = {}): Decision {
  return { decision: 'UNDECIDABLE', policy: null, responseCodeDetails: null, connectionTerminationDetails: null, filters: [], reasons, ...extra };
}

/** Converts request attributes (the `check --request` JSON) into ztunnel's Connection. */
export function connectionFromAttrs(req: RequestAttrs): { conn?: ZtConnectionAttrs; problems: string[] } {
  const problems: string[] = [];
  const src = req.source ?? req.remote ?? req.directRemote;
  const dst = req.destination;
  if (!dst?.address) problems.push('destination address (the workload ztunnel delivers to)');
  if (dst?.port === undefined) problems.push('destination port');
  if (!src?.address) problems.push('source address');
  let srcIdentity = null;
  if (req.tls) {
    const uri = req.tls.uriSans[0];
    if (uri === undefined) problems.push('the peer identity (tls without a URI SAN: HBONE peers always have a SPIFFE identity)');
    else {
      srcIdentity = parseSpiffeIdentity(uri);
      if (!srcIdentity) problems.push(`a SPIFFE identity spiffe://<trust domain>/ns/<ns>/sa/<sa> (found ${JSON.stringify(uri)})`);
    }
  }
  if (problems.length) return { problems };
  return { conn: { src: { ip: src!.address, port: src!.port ?? 0 }, dst: { ip: dst!.address, port: dst!.port! }, srcIdentity }, problems };
}

function filterOf(name: string, action: 'ALLOW' | 'DENY', evals: { p: ZtPolicy; e: ReturnType<typeof evaluatePolicy>; source: PolicySource }[], shadow: boolean, trace: boolean): FilterDecision {
  const policies: PolicyEvaluation[] = evals.map(({ p, e }) => ({
    name: policyKey(p),
    matched: e.matched,
    trace: trace ? e.trace : { node: 'policy', matched: e.matched, detail: e.trace.detail },
    ...(e.matched ? {} : { failing: e.failing }),
  }));
  const hit = evals.find((x) => x.e.matched);
  let result: FilterDecision['result'];
  if (action === 'DENY') result = hit ? 'DENY' : 'ALLOW';
  else result = evals.length === 0 ? 'ALLOW' : hit ? 'ALLOW' : 'DENY';
  const note =
    action === 'ALLOW' && evals.length === 0
      ? 'no ALLOW policies: allow'
      : evals.map((x) => `${policyKey(x.p)} (${x.source === 'workload' ? 'WorkloadSelector' : x.source === 'global' ? 'Global' : 'Namespace'})`).join(', ');
  return { name, kind: 'network', action, shadow, result, effectivePolicy: hit ? policyKey(hit.p) : null, policies, note, enforcing: !shadow };
}

/**
 * Decides one inbound connection the way the destination ztunnel does. The destination workload is
 * found by the connection's destination IP (ztunnel delivers to a workload, never to a VIP).
 */
export function decideZtunnel(cfg: ZtunnelConfig, req: RequestAttrs, opts: ZtDecisionOptions = {}): Decision {
  const trace = opts.trace !== false;
  const { conn, problems } = connectionFromAttrs(req);
  if (!conn) return undecidable([`missing: ${problems.join('; ')}`]);
  const wls = findWorkloadByIp(cfg, conn.dst.ip);
  const reasons: string[] = [];
  if (wls.length === 0) {
    const svc = cfg.services.find((s) => s.vips.some((v) => v.slice(v.lastIndexOf('/') + 1) === conn.dst.ip));
    if (svc) return undecidable([`${conn.dst.ip} is the VIP of service ${svc.namespace}/${svc.name}: ztunnel authorizes at the endpoint it picks; give an endpoint (workload) IP`]);
    return undecidable([`no workload with IP ${conn.dst.ip} in ${cfg.file || 'the ztunnel config'} (if ztunnel itself had none it would reject with "${POLICY_REJECTION_PREFIX}${REJECTION.noWorkload}")`]);
  }
  if (wls.length > 1) reasons.push(`${wls.length} workloads have IP ${conn.dst.ip} (networks ${wls.map((w) => w.network || '""').join(', ')}): used ${wls[0]!.key}`);
  const wl = wls[0]!;
  if (wl.waypoint) reasons.push(`${wl.namespace}/${wl.name} uses a waypoint (${wl.waypoint.destination}): connections through it reach ztunnel with the waypoint's identity`);
  if (opts.unknown?.includes('tls') || opts.unknown?.includes('tls.uriSans')) {
    return undecidable([`the peer identity is unknown (the log line does not say whether the connection was mTLS)`], { listener: wl.key });
  }
  const { selected, unknown } = policiesForWorkload(cfg, wl);
  for (const k of unknown) reasons.push(`policy ${k} is attached to ${wl.name} but absent from the dump (ztunnel skips it: "skipping unknown policy")`);
  const evals = selected.map((s) => ({ p: s.policy, e: evaluatePolicy(s.policy, conn), source: s.source }));
  const enforced = evals.filter((x) => !x.p.dryRun);
  const dry = evals.filter((x) => x.p.dryRun);
  const denyF = filterOf(FILTER_DENY, 'DENY', enforced.filter((x) => x.p.action === 'Deny'), false, trace);
  const allowF = filterOf(FILTER_ALLOW, 'ALLOW', enforced.filter((x) => x.p.action === 'Allow'), false, trace);
  const filters: FilterDecision[] = [denyF, allowF];
  if (dry.length) {
    const dd = filterOf(`${FILTER_DENY} (dry-run)`, 'DENY', dry.filter((x) => x.p.action === 'Deny'), true, trace);
    const da = filterOf(`${FILTER_ALLOW} (dry-run)`, 'ALLOW', dry.filter((x) => x.p.action === 'Allow'), true, trace);
    filters.push(dd, da);
  }
  const rest = { filters, listener: wl.key, filterChain: `${wl.namespace}/${wl.name}`, ...(reasons.length ? { reasons } : {}) };
  if (denyF.result === 'DENY') {
    const p = enforced.find((x) => x.p.action === 'Deny' && x.e.matched)!.p;
    return { decision: 'DENY', policy: policyKey(p), responseCodeDetails: null, connectionTerminationDetails: POLICY_REJECTION_PREFIX + REJECTION.denied(p.namespace, p.name), ...rest };
  }
  if (allowF.result === 'ALLOW') return { decision: 'ALLOW', policy: allowF.effectivePolicy, responseCodeDetails: null, connectionTerminationDetails: null, ...rest };
  const miss: ClosestMiss[] = closestMiss(allowF);
  return { decision: 'DENY', policy: null, responseCodeDetails: null, connectionTerminationDetails: POLICY_REJECTION_PREFIX + REJECTION.notAllowed, ...rest, closestMiss: miss };
}
