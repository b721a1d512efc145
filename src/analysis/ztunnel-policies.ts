/**
 * `policies` for a ztunnel config dump: the policies as `istioctl ztunnel-config policy` lists them
 * (namespace, name, action, scope), plus which workloads each applies to and what it can do, and per
 * workload the policies ztunnel checks (src/state.rs assert_rbac's selection) and the effective
 * stance (open, allow-listed, deny-all).
 */
import type { ZtMatch, ZtPolicy, ZtunnelConfig } from '../ztunnel/model.js';
import { isEmptyMatch } from '../ztunnel/rbac.js';
import { policiesForWorkload, policyKey, workloadsForPolicy } from '../ztunnel/state.js';

export interface ZtPolicyRow {
  namespace: string;
  name: string;
  action: 'Allow' | 'Deny';
  scope: string;
  dryRun: boolean;
  rules: number;
  /** Workload keys (`ns/name`) it applies to. */
  appliesTo: string[];
  /** What the policy can do, e.g. `matches nothing`. */
  effect: string;
  path: string;
}

export interface ZtWorkloadRow {
  key: string;
  workload: string;
  addresses: string[];
  protocol: string;
  waypoint: string | null;
  serviceAccount: string;
  policies: string[];
  effective: 'open' | 'allow-listed' | 'deny-all' | 'deny-listed';
  note: string;
  unknownPolicies: string[];
}

export interface ZtPoliciesView {
  source: string;
  policies: ZtPolicyRow[];
  workloads: ZtWorkloadRow[];
  certificates: { identity: string; state: string; expires: string | null }[];
}

/** A clause whose matches are all empty can never match (ztunnel skips empty matches). */
const deadClause = (cl: ZtMatch[]): boolean => cl.length > 0 && cl.every(isEmptyMatch);

/** Whether a policy can match anything at all. */
export function canEverMatch(p: ZtPolicy): boolean {
  return p.rules.some((r) => !r.some(deadClause));
}

function effectOf(p: ZtPolicy): string {
  if (p.dryRun) return 'dry-run: evaluated, never enforced';
  if (p.rules.length === 0) return p.action === 'Allow' ? 'matches nothing: its workloads deny what no other ALLOW policy allows' : 'matches nothing: no effect';
  if (!canEverMatch(p)) return p.action === 'Allow' ? 'can never match (only empty matches): allows nothing' : 'can never match (only empty matches): no effect';
  if (p.rules.some((r) => r.length === 0 || r.every((cl) => cl.length === 0))) return p.action === 'Allow' ? 'allows every connection' : 'denies every connection';
  return p.action === 'Allow' ? 'allows matching connections' : 'denies matching connections';
}

export function ztunnelPolicies(cfg: ZtunnelConfig): ZtPoliciesView {
  const policies: ZtPolicyRow[] = cfg.policies.map((p) => ({
    namespace: p.namespace,
    name: p.name,
    action: p.action,
    scope: p.scope,
    dryRun: p.dryRun,
    rules: p.rules.length,
    appliesTo: workloadsForPolicy(cfg, p).map((w) => `${w.namespace}/${w.name}`),
    effect: effectOf(p),
    path: p.path,
  }));
  const workloads: ZtWorkloadRow[] = cfg.workloads.map((w) => {
    const { selected, unknown } = policiesForWorkload(cfg, w);
    const enforced = selected.filter((s) => !s.policy.dryRun).map((s) => s.policy);
    const allows = enforced.filter((p) => p.action === 'Allow');
    const denies = enforced.filter((p) => p.action === 'Deny' && canEverMatch(p));
    let effective: ZtWorkloadRow['effective'];
    let note: string;
    if (allows.length === 0) {
      effective = denies.length ? 'deny-listed' : 'open';
      note = denies.length ? `allowed unless ${denies.map(policyKey).join(', ')} match${denies.length === 1 ? 'es' : ''}` : 'no ALLOW policy: every connection is allowed';
    } else if (allows.every((p) => !canEverMatch(p))) {
      effective = 'deny-all';
      note = `ALLOW policies exist but none can match (${allows.map(policyKey).join(', ')}): every connection is rejected`;
    } else {
      effective = 'allow-listed';
      note = `only what ${allows.filter(canEverMatch).map(policyKey).join(', ')} allow${allows.filter(canEverMatch).length === 1 ? 's' : ''}${denies.length ? `, minus ${denies.map(policyKey).join(', ')}` : ''}`;
    }
    return {
      key: w.key,
      workload: `${w.namespace}/${w.name}`,
      addresses: w.workloadIps,
      protocol: w.protocol,
      waypoint: w.waypoint?.destination ?? null,
      serviceAccount: w.serviceAccount,
      policies: selected.map((s) => `${policyKey(s.policy)}${s.policy.dryRun ? ' (dry-run)' : ''}`),
      effective,
      note,
      unknownPolicies: unknown,
    };
  });
  return {
    source: cfg.file,
    policies,
    workloads,
    certificates: cfg.certificates.map((c) => ({ identity: c.identity, state: c.state, expires: c.chain[0]?.expirationTime ?? null })),
  };
}
