/** Explanations: response-code details, closest miss, and concise text. */
import type { ClosestMiss, Decision, FilterDecision, TraceNode } from '../model/decision.js';

/** Envoy's responseDetail(): `rbac_access_denied_matched_policy[<id>|none]`, whitespace → `_`. */
export function responseCodeDetails(policyId: string | null | undefined): string {
  const id = policyId ? policyId.replace(/[ \t\f\v\n\r]/g, '_') : 'none';
  return `rbac_access_denied_matched_policy[${id}]`;
}

/** The network filter's CONNECTION_TERMINATION_DETAILS on a deny (same helper in Envoy). */
export function connectionTerminationDetails(policyId: string | null | undefined): string {
  return responseCodeDetails(policyId);
}

/**
 * When a filter matched no policy (Envoy logs `[none]` for ALLOW), ranks its policies by how few
 * leaves failed, and returns the best `limit` with their failing leaves. A policy that can never
 * match (Istio's allow-nothing / deny-all: `not_rule`/`not_id` of `any`) is no miss at all: no
 * request could have matched it, so it is left out.
 */
export function closestMiss(decision: FilterDecision, limit = 3): ClosestMiss[] {
  const misses = decision.policies
    .filter((p) => p.matched !== true && !p.neverMatches)
    .map((p) => {
      const failing = (p.failing ?? []).filter((f) => f.matched !== true);
      return { policy: p.name, failedConditions: failing.length, failing, summary: `${p.name}: ${failing.length} failing condition${failing.length === 1 ? '' : 's'}${failing.length ? ' — ' + failing.map((f) => f.detail).join('; ') : ''}` };
    })
    .filter((m) => m.failedConditions > 0);
  // Stable sort keeps Envoy's evaluation order among equals.
  misses.sort((a, b) => a.failedConditions - b.failedConditions);
  return misses.slice(0, limit);
}

function deciding(d: Decision): FilterDecision | undefined {
  return d.filters.find((f) => f.enforcing !== false && !f.shadow && (f.result === 'DENY' || f.result === 'UNDECIDABLE')) ?? undefined;
}

/** A few lines for people: the decision, the deciding filter/policy, the failing conditions, the closest miss. */
export function explainText(decision: Decision | FilterDecision): string {
  if (!('filters' in decision)) {
    const deny = decision.result === 'DENY' && decision.enforcing !== false;
    return explainText({
      decision: decision.enforcing === false ? 'ALLOW' : decision.result,
      policy: decision.effectivePolicy,
      responseCodeDetails: deny && decision.kind === 'http' ? responseCodeDetails(decision.effectivePolicy) : null,
      ...(deny && decision.kind === 'network' ? { connectionTerminationDetails: connectionTerminationDetails(decision.effectivePolicy) } : {}),
      filters: [decision],
    });
  }
  const d = decision;
  const lines: string[] = [];
  const where = d.listener ? ` (listener ${d.listener}${d.filterChain ? `, chain ${d.filterChain}` : ''})` : '';
  if (d.localReply) {
    const lr = d.localReply;
    lines.push(`${d.decision} ${lr.status} ${lr.details}${where}`);
    lines.push(`  ${lr.status === 307 ? `redirected to ${lr.location ?? '?'}` : 'rejected'} by the HTTP connection manager before any HTTP filter (not an RBAC result): ${lr.reason}`);
    for (const r of d.reasons ?? []) if (!r.startsWith('the HTTP connection manager answers')) lines.push(`  note: ${r}`);
    return lines.join('\n');
  }
  lines.push(`${d.decision}${d.responseCodeDetails ? ` ${d.responseCodeDetails}` : d.connectionTerminationDetails ? ` ${d.connectionTerminationDetails}` : ''}${where}`);
  const f = d.decision === 'ALLOW' ? undefined : deciding(d);
  if (f) {
    for (const x of d.filters) {
      if (x === f) break;
      if (x.enforcing !== false && !x.shadow && x.result === 'ALLOW' && x.effectivePolicy) lines.push(`  passed ${x.kind} filter ${x.name}: ${x.action} policy ${x.effectivePolicy}`);
    }
    const isTree = f.policies[0]?.trace.node === 'matcher';
    const how =
      f.result === 'UNDECIDABLE'
        ? 'could not decide'
        : f.effectivePolicy
          ? `matched ${isTree ? 'matcher action' : `${f.action} policy`} ${f.effectivePolicy}`
          : isTree
            ? 'the matcher tree chose no action'
            : `${f.action} filter matched no policy`;
    lines.push(`  decided by ${f.kind} filter ${f.name}: ${how}`);
    if (f.result === 'DENY' && f.effectivePolicy) {
      const p = f.policies.find((x) => x.name === f.effectivePolicy);
      if (p) for (const leafNode of matchedLeaves(p.trace)) lines.push(`    - ${leafNode.detail}`);
    }
    if (f.result === 'UNDECIDABLE') {
      for (const p of f.policies.filter((x) => x.matched === 'undecidable')) lines.push(`    - ${p.name}: ${p.undecidableReason ?? 'undecidable'}`);
    }
  } else if (d.decision === 'ALLOW') {
    const allowers = d.filters.filter((x) => x.enforcing !== false && x.effectivePolicy && x.action === 'ALLOW');
    for (const a of allowers) lines.push(`  allowed by ${a.name}: policy ${a.effectivePolicy}`);
  }
  const treeDeny = f?.policies[0]?.trace.node === 'matcher';
  const misses = d.closestMiss ?? (f && !treeDeny && f.action === 'ALLOW' && f.result === 'DENY' ? closestMiss(f) : []);
  if (misses.length) {
    lines.push('  closest miss:');
    for (const m of misses) {
      lines.push(`    ${m.policy} (${m.failedConditions} failing)`);
      for (const l of m.failing) lines.push(`      - ${l.detail}`);
    }
  } else if (f && f.result === 'DENY' && !f.effectivePolicy) {
    const leaves = f.policies.flatMap((p) => p.failing ?? []);
    for (const l of leaves) lines.push(`    - ${l.detail}`);
    if (f.note) lines.push(`    - ${f.note}`);
  }
  for (const r of d.reasons ?? []) lines.push(`  note: ${r}`);
  for (const x of d.filters) {
    if (x.custom && !x.custom.wouldBeSent) lines.push(`  not sent to ext_authz provider ${x.custom.provider} (its filter_enabled_metadata did not match)`);
  }
  return lines.join('\n');
}

function matchedLeaves(n: TraceNode): TraceNode[] {
  if (n.matched !== true) return [];
  if (!n.children || n.children.length === 0) return n.node === 'any' ? [] : [n];
  if (['or_rules', 'or_ids', 'permissions', 'principals'].includes(n.node)) {
    const first = n.children.find((c) => c.matched === true);
    return first ? matchedLeaves(first) : [];
  }
  if (n.node === 'not_rule' || n.node === 'not_id') return [n];
  return n.children.flatMap(matchedLeaves);
}
