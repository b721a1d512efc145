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

/** Rejections of one destination for one reason: exact count, first refs, the sources seen (distinct, in order). */
interface RejectionGroup {
  count: number;
  refs: EvidenceRef[];
  reason: string;
  policy: string | null;
  rejection: string;
  /** dstName of the group's first record. */
  destination: string;
  firstTime: string | null;
  lastTime: string | null;
  /**
   * Distinct caller names in first-seen order: the summary and details name the first few and count them all,
   * so the set is exact; it grows with the distinct callers (identities, workloads, or addresses when a record
   * names neither), not with the records.
   */
  sources: Set<string>;
  /** The first closest-miss summary among the group's explanations. */
  miss: string | undefined;
}

/** Records of one kind: exact count and the first `limit` refs. */
class RefTally {
  count = 0;
  readonly refs: EvidenceRef[] = [];
  constructor(private readonly limit: number) {}
  add(ref: EvidenceRef): void {
    this.count++;
    if (this.refs.length < this.limit) this.refs.push(ref);
  }
}

/**
 * Ambient findings computed incrementally (issue 17, streaming report): `addRecord(r, explanation)` for each
 * ztunnel record in record order, then `finish()`. Keeps counts, the first MAX_EVIDENCE refs and per-group
 * distinct names, never the records.
 */
export class AmbientFindingsBuilder {
  private records = 0;
  private readonly mismatches = new RefTally(MAX_EVIDENCE);
  private readonly mismatchReasons: string[] = [];
  private readonly rejections = new Map<string, RejectionGroup>();
  private readonly blocked = new RefTally(MAX_EVIDENCE);
  /** Distinct destinations of the HBONE timeouts (first-seen order; the finding counts them all). */
  private readonly blockedDsts = new Set<string>();
  /** "allow policies exist, but none allowed" rejections by destination namespace (the evidence lists MAX_EVIDENCE − 1). */
  private readonly notAllowedNs = new Map<string, RefTally>();

  /** A ztunnel record (others are ignored) with its explanation (replay against a ztunnel dump), when one was made. */
  addRecord(r: AccessRecord, ex: Explanation | undefined): void {
    const z = r.ztunnel;
    if (!z) return;
    this.records++;
    if (ex && ex.record.ztunnel && ex.verdict === 'disagrees') {
      this.mismatches.add(ex.record.ref);
      if (this.mismatchReasons.length < 5) this.mismatchReasons.push(ex.reason);
    }
    const e = z.error;
    // The destination ztunnel's inbound record is the enforcement point; the source's outbound twin only sees 401.
    if ((e?.cause === 'policy-rejection' || e?.cause === 'policy-change') && z.direction !== 'outbound') {
      const policy = e.policy ?? null;
      const key = `${dstName(r)}|${e.rejection ?? e.cause}|${policy ?? ''}`;
      let g = this.rejections.get(key);
      if (!g) {
        g = { count: 0, refs: [], reason: e.text, policy, rejection: e.rejection ?? e.cause, destination: dstName(r), firstTime: r.time ?? null, lastTime: null, sources: new Set(), miss: undefined };
        this.rejections.set(key, g);
      }
      g.count++;
      if (g.refs.length < MAX_EVIDENCE) g.refs.push(r.ref);
      g.lastTime = r.time ?? null;
      g.sources.add(srcName(r));
      g.miss ||= ex?.record.ztunnel ? ex.decision?.closestMiss?.[0]?.summary : undefined;
    }
    if (e?.cause === 'network-policy-timeout') {
      this.blocked.add(r.ref);
      this.blockedDsts.add(z.dstAddr ?? dstName(r));
    }
    if (e?.rejection === 'not-allowed' && z.direction !== 'outbound') {
      const ns = z.dstNamespace ?? '';
      let t = this.notAllowedNs.get(ns);
      if (!t) this.notAllowedNs.set(ns, (t = new RefTally(MAX_EVIDENCE - 1)));
      t.add(r.ref);
    }
  }

  finish(input: { policies: AmbientFindingsInput['policies']; ztunnels?: ZtunnelConfig[] }): Finding[] {
    const out: Finding[] = [];
    if (this.mismatches.count > 0) {
      const n = this.mismatches.count;
      out.push({
        id: 'verdict-mismatch',
        severity: 'high',
        summary: `${n} ztunnel record(s) disagree with the ztunnel config dump (e.g. ${this.mismatchReasons[0]!}): ztunnel was running other policies, or the dump is from another time`,
        evidence: this.mismatches.refs,
        fix: 'Take the ztunnel config dump (istioctl ztunnel-config all -o json) at the time of the logs, from the ztunnel on the destination node, and compare the policies that changed.',
        details: { occurrences: n, examples: this.mismatchReasons },
      });
    }

    // ---- Policy rejections, by destination + reason.
    for (const g of this.rejections.values()) {
      const sources = [...g.sources];
      out.push({
        id: 'ztunnel-policy-rejected',
        severity: 'medium',
        summary: `ztunnel rejected ${g.count} connection(s) to ${g.destination} from ${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ` +${sources.length - 3}` : ''}: ${g.reason}${g.miss ? ` (closest: ${g.miss})` : ''}`,
        evidence: g.refs,
        fix:
          g.rejection === 'explicitly-denied'
            ? `The DENY AuthorizationPolicy ${g.policy} matches these callers; narrow it if they should pass.`
            : g.rejection === 'not-allowed'
              ? `ALLOW policies select ${g.destination} and none matches these callers: add a rule for them (L4 only: principals, namespaces, ports, ipBlocks), or if they arrive through a waypoint, allow the waypoint's service account and move identity rules to the waypoint (targetRefs).`
              : g.rejection === 'policy-change'
                ? 'A policy change closed already-open connections: expected after tightening a policy; check the change if it was not meant to cut them.'
                : 'ztunnel could not match the connection to the workload it serves: check the workload state in the ztunnel config dump.',
        details: { destination: g.destination, reason: g.reason, policy: g.policy, sources: sources.slice(0, 20), occurrences: g.count, firstSeen: g.firstTime, lastSeen: g.lastTime },
      });
    }

    // ---- HBONE port blocked.
    if (this.blocked.count) {
      const dsts = [...this.blockedDsts];
      out.push({
        id: 'hbone-blocked',
        severity: 'high',
        summary: `${this.blocked.count} connection(s) timed out on the HBONE port 15008 of ${dsts.slice(0, 3).join(', ')}${dsts.length > 3 ? ` +${dsts.length - 3}` : ''}: a NetworkPolicy (or firewall) probably drops port 15008`,
        evidence: this.blocked.refs,
        fix: 'Allow TCP 15008 to the destination pods (ingress) and from the source pods (egress) in every NetworkPolicy that selects ambient workloads: ztunnel carries all mesh traffic to port 15008, not to the application port.',
        details: { destinations: dsts.slice(0, 20), occurrences: this.blocked.count },
      });
    }

    // ---- The ALLOW-with-HTTP-fields trap.
    const ambientEvidence = this.records > 0 || (input.ztunnels?.length ?? 0) > 0;
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
      const denials = this.notAllowedNs.get(ns) ?? new RefTally(0);
      if (!ambientEvidence) continue; // a sidecar mesh: the TCP-chain story is http-only-fields-on-tcp's
      seen.add(s.policy);
      const found = /found: ([^)]*)\)/.exec(s.message)?.[1] ?? '';
      out.push({
        id: 'ambient-allow-http-fields',
        severity: denials.count ? 'high' : 'medium',
        summary: `ALLOW AuthorizationPolicy ${s.policy} uses HTTP fields (${found}) without a waypoint: ztunnel drops ${zp.rules.length === 0 ? 'every rule, so the selected workloads reject every caller' : 'those rules, so the callers they allowed are rejected'}${denials.count ? `; ${denials.count} "allow policies exist, but none allowed" rejection(s) in ${ns}` : ''}`,
        evidence: [ap.ref, ...denials.refs],
        fix: `Enforce HTTP rules at a waypoint: deploy one for ${ns}, attach this policy with targetRefs (Service or the waypoint Gateway), and give ztunnel an L4 ALLOW for the waypoint's service account; or drop the HTTP fields if L4 is enough.`,
        details: { policy: s.policy, httpFields: found.split(', ').filter(Boolean) as JsonValue[], rulesLeftAtZtunnel: zp.rules.length, istiodStatus: s.message, observedRejections: denials.count },
      });
    }
    // From a ztunnel dump alone: an ALLOW policy with no rules that applies to workloads.
    for (const cfg of input.ztunnels ?? []) {
      for (const p of cfg.policies) {
        if (p.action !== 'Allow' || p.dryRun || p.rules.length > 0 || seen.has(policyKey(p))) continue;
        const wls = workloadsForPolicy(cfg, p);
        if (wls.length === 0) continue;
        seen.add(policyKey(p));
        const denials = this.notAllowedNs.get(p.namespace) ?? new RefTally(0);
        out.push({
          id: 'ambient-allow-http-fields',
          severity: denials.count ? 'high' : 'medium',
          summary: `ztunnel ALLOW policy ${policyKey(p)} has no rules: ${wls.length} workload(s) (${wls.slice(0, 3).map((w) => `${w.namespace}/${w.name}`).join(', ')}) reject every connection no other ALLOW policy allows — an allow-nothing policy, or an ALLOW whose every rule used HTTP fields that ztunnel cannot enforce${denials.count ? `; ${denials.count} rejection(s) observed` : ''}`,
          evidence: [{ file: cfg.file, path: p.path }, ...denials.refs],
          fix: 'If the AuthorizationPolicy has HTTP fields (methods, paths, hosts, requestPrincipals, request.* conditions), enforce it at a waypoint with targetRefs; if it is meant to allow nothing, this is working as intended.',
          details: { policy: policyKey(p), workloads: wls.map((w) => `${w.namespace}/${w.name}`).slice(0, 20), observedRejections: denials.count },
        });
      }
    }
    return out;
  }
}

/**
 * Every ambient finding from whole lists: the ztunnel records in the order given, each with its explanation
 * (the same as feeding an AmbientFindingsBuilder). The verdict mismatches follow the records' order.
 */
export function ambientFindings(input: AmbientFindingsInput): Finding[] {
  const explByRecord = new Map<AccessRecord, Explanation>();
  for (const e of input.explanations) if (e.record.ztunnel) explByRecord.set(e.record, e);
  const b = new AmbientFindingsBuilder();
  for (const r of input.records) if (r.ztunnel) b.addRecord(r, explByRecord.get(r));
  return b.finish({ policies: input.policies, ...(input.ztunnels ? { ztunnels: input.ztunnels } : {}) });
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
