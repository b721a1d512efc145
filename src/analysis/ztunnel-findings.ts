/**
 * Ambient findings, from ztunnel access logs, ztunnel config dumps and AuthorizationPolicy manifests:
 * - `ztunnel-policy-rejected`: connections ztunnel rejected by AuthorizationPolicy, grouped by
 *   destination and reason (with the DENY policy, or the closest ALLOW miss when a dump was replayed);
 * - `ambient-allow-http-fields`: the classic ambient surprise — an ALLOW policy enforced by ztunnel
 *   whose rules use HTTP fields: istiod drops those rules, so the selected workloads reject the
 *   callers the policy meant to allow (seen in the manifest via the ambient compiler, in the dump as
 *   an ALLOW policy with no rules, confirmed by "allow policies exist, but none allowed" rejections);
 * - `hbone-blocked`: connections that timed out on the HBONE port 15008 (a NetworkPolicy or firewall
 *   drops 15008).
 */
import type { AccessRecord, EvidenceRef, Explanation, Finding } from '../model/records.js';
import type { JsonValue } from '../model/attrs.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import type { AuthorizationPolicy, AuthorizationPolicySpec } from '../istio/compile/types.js';
import { compileAmbient } from '../istio/compile/ambient.js';
import { workloadsForPolicy, policyKey } from '../ztunnel/state.js';

export interface AmbientFindingsInput {
  records: AccessRecord[];
  explanations: Explanation[];
  policies: { file: string; line?: number; path?: string; kind: string; name: string; namespace: string; spec: Record<string, unknown>; annotations: Record<string, string> }[];
  ztunnels?: ZtunnelConfig[];
}

const MAX_EVIDENCE = 50;

function dstName(r: AccessRecord): string {
  const z = r.ztunnel!;
  if (z.dstWorkload) return `${z.dstNamespace ? `${z.dstNamespace}/` : ''}${z.dstWorkload}`;
  return z.dstHboneAddr ?? z.dstAddr ?? '?';
}

function srcName(r: AccessRecord): string {
  const z = r.ztunnel!;
  return z.srcIdentity ?? (z.srcWorkload ? `${z.srcNamespace ? `${z.srcNamespace}/` : ''}${z.srcWorkload}` : r.attrs.source?.address ?? '?');
}

export function ambientFindings(input: AmbientFindingsInput): Finding[] {
  const out: Finding[] = [...ztunnelMismatches(input.explanations)];
  const zrecs = input.records.filter((r) => r.ztunnel);
  const explByRecord = new Map<AccessRecord, Explanation>();
  for (const e of input.explanations) if (e.record.ztunnel) explByRecord.set(e.record, e);

  // ---- Policy rejections, by destination + reason.
  const groups = new Map<string, { recs: AccessRecord[]; reason: string; policy: string | null; rejection: string }>();
  for (const r of zrecs) {
    const e = r.ztunnel!.error;
    if (e?.cause !== 'policy-rejection' && e?.cause !== 'policy-change') continue;
    // The destination ztunnel's inbound record is the enforcement point; the source's outbound twin only sees 401.
    if (r.ztunnel!.direction === 'outbound') continue;
    const policy = e.policy ?? null;
    const key = `${dstName(r)}|${e.rejection ?? e.cause}|${policy ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { recs: [], reason: e.text, policy, rejection: e.rejection ?? e.cause }));
    g.recs.push(r);
  }
  for (const g of groups.values()) {
    const first = g.recs[0]!;
    const sources = [...new Set(g.recs.map(srcName))];
    const miss = g.recs.map((r) => explByRecord.get(r)?.decision?.closestMiss?.[0]?.summary).find((x) => x);
    out.push({
      id: 'ztunnel-policy-rejected',
      severity: 'medium',
      summary: `ztunnel rejected ${g.recs.length} connection(s) to ${dstName(first)} from ${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ` +${sources.length - 3}` : ''}: ${g.reason}${miss ? ` (closest: ${miss})` : ''}`,
      evidence: g.recs.slice(0, MAX_EVIDENCE).map((r) => r.ref),
      fix:
        g.rejection === 'explicitly-denied'
          ? `The DENY AuthorizationPolicy ${g.policy} matches these callers; narrow it if they should pass.`
          : g.rejection === 'not-allowed'
            ? `ALLOW policies select ${dstName(first)} and none matches these callers: add a rule for them (L4 only: principals, namespaces, ports, ipBlocks), or if they arrive through a waypoint, allow the waypoint's service account and move identity rules to the waypoint (targetRefs).`
            : g.rejection === 'policy-change'
              ? 'A policy change closed already-open connections: expected after tightening a policy; check the change if it was not meant to cut them.'
              : 'ztunnel could not match the connection to the workload it serves: check the workload state in the ztunnel config dump.',
      details: { destination: dstName(first), reason: g.reason, policy: g.policy, sources: sources.slice(0, 20), occurrences: g.recs.length, firstSeen: first.time ?? null, lastSeen: g.recs[g.recs.length - 1]!.time ?? null },
    });
  }

  // ---- HBONE port blocked.
  const blocked = zrecs.filter((r) => r.ztunnel!.error?.cause === 'network-policy-timeout');
  if (blocked.length) {
    const dsts = [...new Set(blocked.map((r) => r.ztunnel!.dstAddr ?? dstName(r)))];
    out.push({
      id: 'hbone-blocked',
      severity: 'high',
      summary: `${blocked.length} connection(s) timed out on the HBONE port 15008 of ${dsts.slice(0, 3).join(', ')}${dsts.length > 3 ? ` +${dsts.length - 3}` : ''}: a NetworkPolicy (or firewall) probably drops port 15008`,
      evidence: blocked.slice(0, MAX_EVIDENCE).map((r) => r.ref),
      fix: 'Allow TCP 15008 to the destination pods (ingress) and from the source pods (egress) in every NetworkPolicy that selects ambient workloads: ztunnel carries all mesh traffic to port 15008, not to the application port.',
      details: { destinations: dsts.slice(0, 20), occurrences: blocked.length },
    });
  }

  // ---- The ALLOW-with-HTTP-fields trap.
  const notAllowedNs = new Map<string, AccessRecord[]>();
  for (const r of zrecs) {
    if (r.ztunnel!.error?.rejection !== 'not-allowed' || r.ztunnel!.direction === 'outbound') continue;
    const ns = r.ztunnel!.dstNamespace ?? '';
    if (!notAllowedNs.has(ns)) notAllowedNs.set(ns, []);
    notAllowedNs.get(ns)!.push(r);
  }
  const ambientEvidence = zrecs.length > 0 || (input.ztunnels?.length ?? 0) > 0;
  const seen = new Set<string>();
  const aps: (AuthorizationPolicy & { ref: EvidenceRef })[] = input.policies
    .filter((p) => p.kind === 'AuthorizationPolicy')
    .map((p) => ({ name: p.name, namespace: p.namespace, annotations: p.annotations, spec: p.spec as AuthorizationPolicySpec, ref: { file: p.file, line: p.line, path: p.path } }));
  const compiled = compileAmbient(aps);
  for (const s of compiled.status) {
    if (!/Within an ALLOW policy, rules matching HTTP attributes are omitted/.test(s.message)) continue;
    const ap = aps.find((a) => `${a.namespace}/${a.name}` === s.policy)!;
    const zp = compiled.policies.find((p) => policyKey(p) === s.policy)!;
    const ns = ap.namespace;
    const denials = notAllowedNs.get(ns) ?? [];
    if (!ambientEvidence) continue; // a sidecar mesh: the TCP-chain story is http-only-fields-on-tcp's
    seen.add(s.policy);
    const found = /found: ([^)]*)\)/.exec(s.message)?.[1] ?? '';
    out.push({
      id: 'ambient-allow-http-fields',
      severity: denials.length ? 'high' : 'medium',
      summary: `ALLOW AuthorizationPolicy ${s.policy} uses HTTP fields (${found}) without a waypoint: ztunnel drops ${zp.rules.length === 0 ? 'every rule, so the selected workloads reject every caller' : 'those rules, so the callers they allowed are rejected'}${denials.length ? `; ${denials.length} "allow policies exist, but none allowed" rejection(s) in ${ns}` : ''}`,
      evidence: [ap.ref, ...denials.slice(0, MAX_EVIDENCE - 1).map((r) => r.ref)],
      fix: `Enforce HTTP rules at a waypoint: deploy one for ${ns}, attach this policy with targetRefs (Service or the waypoint Gateway), and give ztunnel an L4 ALLOW for the waypoint's service account; or drop the HTTP fields if L4 is enough.`,
      details: { policy: s.policy, httpFields: found.split(', ').filter(Boolean) as JsonValue[], rulesLeftAtZtunnel: zp.rules.length, istiodStatus: s.message, observedRejections: denials.length },
    });
  }
  // From a ztunnel dump alone: an ALLOW policy with no rules that applies to workloads.
  for (const cfg of input.ztunnels ?? []) {
    for (const p of cfg.policies) {
      if (p.action !== 'Allow' || p.dryRun || p.rules.length > 0 || seen.has(policyKey(p))) continue;
      const wls = workloadsForPolicy(cfg, p);
      if (wls.length === 0) continue;
      seen.add(policyKey(p));
      const denials = notAllowedNs.get(p.namespace) ?? [];
      out.push({
        id: 'ambient-allow-http-fields',
        severity: denials.length ? 'high' : 'medium',
        summary: `ztunnel ALLOW policy ${policyKey(p)} has no rules: ${wls.length} workload(s) (${wls.slice(0, 3).map((w) => `${w.namespace}/${w.name}`).join(', ')}) reject every connection no other ALLOW policy allows — an allow-nothing policy, or an ALLOW whose every rule used HTTP fields that ztunnel cannot enforce${denials.length ? `; ${denials.length} rejection(s) observed` : ''}`,
        evidence: [{ file: cfg.file, path: p.path }, ...denials.slice(0, MAX_EVIDENCE - 1).map((r) => r.ref)],
        fix: 'If the AuthorizationPolicy has HTTP fields (methods, paths, hosts, requestPrincipals, request.* conditions), enforce it at a waypoint with targetRefs; if it is meant to allow nothing, this is working as intended.',
        details: { policy: policyKey(p), workloads: wls.map((w) => `${w.namespace}/${w.name}`).slice(0, 20), observedRejections: denials.length },
      });
    }
  }
  return out;
}

/** ztunnel records whose replay against a ztunnel dump disagrees with what ztunnel logged. */
export function ztunnelMismatches(explanations: Explanation[]): Finding[] {
  const bad = explanations.filter((e) => e.record.ztunnel && e.verdict === 'disagrees');
  if (bad.length === 0) return [];
  return [{
    id: 'verdict-mismatch',
    severity: 'high',
    summary: `${bad.length} ztunnel record(s) disagree with the ztunnel config dump (e.g. ${bad[0]!.reason}): ztunnel was running other policies, or the dump is from another time`,
    evidence: bad.slice(0, MAX_EVIDENCE).map((e) => e.record.ref),
    fix: 'Take the ztunnel config dump (istioctl ztunnel-config all -o json) at the time of the logs, from the ztunnel on the destination node, and compare the policies that changed.',
    details: { occurrences: bad.length, examples: bad.slice(0, 5).map((e) => e.reason) },
  }];
}
