/**
 * `report -o out.sarif`: SARIF 2.1.0 for code scanning and CI. One rule per finding id, one result
 * per finding; locations point at the evidence files (`startLine` for log records, the frame number
 * in the location's properties and message for captures, a logical location for JSON paths).
 * Artifacts carry the sha256 of each input (the chain-of-custody manifest).
 */
import { createHash } from 'node:crypto';
import type { EvidenceRef, Finding, Severity } from '../model/records.js';
import type { ReportModel } from '../analysis/report-model.js';
import { FINDING_IDS } from '../analysis/findings.js';
import { sep as pathSep } from 'node:path';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

interface RuleInfo {
  name: string;
  short: string;
  full: string;
  severity: Severity;
  tags: string[];
}

/** One line per finding id: what it means and why it matters. */
export const RULES: Record<(typeof FINDING_IDS)[number], RuleInfo> = {
  'plaintext-flow': { name: 'PlaintextFlow', short: 'Cleartext traffic that left the pod', full: 'A TCP connection that left the pod (not the sidecar-local leg inside a pod, not a loopback address) carried no TLS: anyone on the path can read and alter it.', severity: 'high', tags: ['security', 'mtls'] },
  'plaintext-accepted': { name: 'PlaintextAccepted', short: 'Plaintext accepted on a PERMISSIVE port', full: 'A sidecar in PERMISSIVE mode accepted a plaintext connection. Under STRICT mTLS no filter chain would have matched (NR filter_chain_not_found) and the connection would have been refused.', severity: 'high', tags: ['security', 'mtls'] },
  'cleartext-secret': { name: 'CleartextSecret', short: 'Credentials seen in cleartext', full: 'An Authorization, Cookie or token header crossed the network in cleartext. The value must be treated as disclosed.', severity: 'critical', tags: ['security', 'credentials'] },
  'rbac-denied': { name: 'RbacDenied', short: 'Requests denied by RBAC', full: 'Envoy RBAC denied requests or connections; the finding names who was denied, by which policy and condition, and how often.', severity: 'medium', tags: ['security', 'authorization'] },
  'verdict-mismatch': { name: 'VerdictMismatch', short: 'Logged decision differs from the config dump', full: 'Replaying the access record through the config dump gives a different decision from the one Envoy logged: the proxy was running other configuration (drift) or the record lacks attributes.', severity: 'high', tags: ['security', 'config-drift'] },
  'identity-address-mismatch': { name: 'IdentityAddressMismatch', short: 'SPIFFE identity presented from another workload\'s address', full: 'A peer presented a SPIFFE identity from an IP that belongs to a pod running as a different service account: the signature of a stolen or leaked workload key.', severity: 'critical', tags: ['security', 'identity'] },
  'http-only-fields-on-tcp': { name: 'HttpOnlyFieldsOnTcp', short: 'HTTP-only policy fields on a TCP port', full: 'An AuthorizationPolicy uses HTTP-only fields (methods, paths, hosts, requestPrincipals, request headers / auth claims) on traffic Istio treats as TCP: ALLOW rules are dropped (narrower allow), DENY rules lose the field (wider deny).', severity: 'medium', tags: ['security', 'authorization'] },
  'allow-nothing-in-effect': { name: 'AllowNothingInEffect', short: 'An enforced ALLOW filter with no policies', full: 'An enforced RBAC filter has the ALLOW action and no policies, so it denies everything that reaches it.', severity: 'low', tags: ['security', 'authorization'] },
  'dry-run-would-deny': { name: 'DryRunWouldDeny', short: 'A dry-run policy would deny observed traffic', full: 'A shadow (istio.io/dry-run) policy would have denied traffic that was allowed; enforcing it as-is would block it.', severity: 'medium', tags: ['security', 'authorization'] },
  'strict-rejected-plaintext': { name: 'StrictRejectedPlaintext', short: 'STRICT mTLS refused plaintext', full: 'A STRICT port received plaintext and refused it (NR, filter_chain_not_found): a client without a sidecar, or a misrouted call.', severity: 'medium', tags: ['security', 'mtls'] },
  'client-config-mismatch': { name: 'ClientConfigMismatch', short: 'Traffic the client sidecar config would not send', full: "A captured flow's security, SNI, ALPN or certificate differs from what the client sidecar's outbound cluster sends: the connection bypassed the sidecar, or another config was in force.", severity: 'medium', tags: ['security', 'mtls'] },
  'ztunnel-policy-rejected': { name: 'ZtunnelPolicyRejected', short: 'Connections rejected by ztunnel (ambient L4 policy)', full: 'The destination ztunnel rejected connections by AuthorizationPolicy: a matching DENY policy, or ALLOW policies that exist but none matched.', severity: 'medium', tags: ['security', 'authorization', 'ambient'] },
  'ambient-allow-http-fields': { name: 'AmbientAllowHttpFields', short: 'ALLOW policy with HTTP fields enforced by ztunnel', full: 'ztunnel enforces only L4: istiod drops ALLOW rules that use HTTP fields, so the selected workloads reject the callers those rules meant to allow (fail closed). HTTP rules belong on a waypoint (targetRefs).', severity: 'high', tags: ['security', 'authorization', 'ambient'] },
  'hbone-blocked': { name: 'HboneBlocked', short: 'HBONE port 15008 blocked', full: 'ztunnel timed out connecting to the HBONE port 15008 of the destination: a NetworkPolicy or firewall drops 15008, so all ambient mesh traffic to those pods fails.', severity: 'high', tags: ['reliability', 'ambient', 'network-policy'] },
  'network-policy-not-enforced': { name: 'NetworkPolicyNotEnforced', short: 'Connection seen that NetworkPolicy or Calico denies', full: 'A captured connection was answered although NetworkPolicy (or the admin tiers, or Calico policy) in the inputs denies it: the network plugin does not enforce that policy on these nodes, or the policy was not in force when the traffic was captured.', severity: 'high', tags: ['security', 'network-policy'] },
  'network-policy-explains-unanswered': { name: 'NetworkPolicyExplainsUnanswered', short: 'Unanswered connection attempts that a network policy drops', full: 'Connection attempts got no answer, and NetworkPolicy (or the admin tiers, or Calico policy) in the inputs drops them: the policy explains the timeout.', severity: 'low', tags: ['network-policy'] },
};

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub code scanning reads `security-severity` (0–10). */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '1.0' };

/** A relative URI reference for a path (percent-encoding what URIs may not hold). */
export function pathToUri(p: string): string {
  // a backslash separates directories only on Windows; elsewhere it is part of a file name (%5C)
  const norm = pathSep === '\\' ? p.replace(/\\/g, '/') : p;
  return norm.split('/').map((seg) => encodeURIComponent(seg)).join('/');
}

interface SarifLocation {
  physicalLocation?: { artifactLocation: { uri: string; index?: number }; region?: { startLine: number } };
  logicalLocations?: { fullyQualifiedName: string; kind: string }[];
  message?: { text: string };
  properties?: Record<string, unknown>;
}

function location(ref: EvidenceRef, artifactIndex: Map<string, number>): SarifLocation {
  const loc: SarifLocation = { physicalLocation: { artifactLocation: { uri: pathToUri(ref.file) } } };
  const idx = artifactIndex.get(ref.file);
  if (idx !== undefined) loc.physicalLocation!.artifactLocation.index = idx;
  if (ref.line !== undefined && ref.line >= 1) loc.physicalLocation!.region = { startLine: ref.line };
  if (ref.frame !== undefined) {
    const frames = ref.frames && ref.frames.length === 2 ? `frames ${ref.frames[0]}-${ref.frames[1]}` : `frame ${ref.frame}`;
    loc.message = { text: frames };
    loc.properties = { frame: ref.frame, ...(ref.frames ? { frames: ref.frames } : {}) };
  }
  if (ref.path) loc.logicalLocations = [{ fullyQualifiedName: ref.path, kind: 'object' }];
  if (ref.stream !== undefined && ref.frame === undefined) {
    loc.message = { text: ref.index !== undefined ? `${ref.stream} #${ref.index}` : ref.stream };
  }
  return loc;
}

function fingerprint(f: Finding): string {
  // Stable across runs over the same evidence: id + the grouping facts (not counts or times).
  const d = f.details ?? {};
  const key = JSON.stringify([f.id, d.client ?? null, d.server ?? null, d.policy ?? null, d.header ?? null, d.presentedIdentity ?? null, d.address ?? null, d.dump ?? null]);
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

export function renderSarif(m: ReportModel): string {
  const artifacts = m.manifest.inputs.map((i) => ({
    location: { uri: pathToUri(i.path) },
    length: i.bytes,
    ...(i.sha256 ? { hashes: { 'sha-256': i.sha256 } } : {}),
    roles: ['analysisTarget'],
    description: { text: `${i.kind}${i.format ? ` (${i.format})` : ''}, ${i.items} item(s)` },
  }));
  const artifactIndex = new Map(m.manifest.inputs.map((i, n) => [i.path, n] as const));
  const ids = FINDING_IDS;
  const rules = ids.map((id) => {
    const r = RULES[id];
    return {
      id,
      name: r.name,
      shortDescription: { text: r.short },
      fullDescription: { text: r.full },
      help: { text: `${r.full} See docs/readme-report.md#${id}.` },
      defaultConfiguration: { level: LEVEL[r.severity] },
      properties: { tags: r.tags, 'security-severity': SECURITY_SEVERITY[r.severity], precision: 'high' },
    };
  });
  const results = m.findings.map((f) => {
    const ruleIndex = (ids as readonly string[]).indexOf(f.id);
    const locs = f.evidence.map((e) => location(e, artifactIndex));
    return {
      ruleId: f.id,
      ...(ruleIndex >= 0 ? { ruleIndex } : {}),
      level: LEVEL[f.severity],
      message: { text: `${f.summary}${f.fix ? `\nFix: ${f.fix}` : ''}` },
      locations: locs.length > 0 ? locs.slice(0, 1) : [{ physicalLocation: { artifactLocation: { uri: '.' } } }],
      ...(locs.length > 1 ? { relatedLocations: locs.slice(1).map((l, i) => ({ id: i + 1, ...l })) } : {}),
      partialFingerprints: { 'meshsleuthFinding/v1': fingerprint(f) },
      properties: { severity: f.severity, 'security-severity': SECURITY_SEVERITY[f.severity], ...(f.details ? { details: f.details } : {}) },
    };
  });
  const notifications = m.manifest.skipped.map((s) => ({
    level: 'warning',
    message: { text: `skipped ${s.path}: ${s.reason}` },
    locations: [{ physicalLocation: { artifactLocation: { uri: pathToUri(s.path) } } }],
  }));
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'meshsleuth',
            version: m.manifest.tool.version,
            semanticVersion: /^\d+\.\d+\.\d+/.test(m.manifest.tool.version) ? m.manifest.tool.version : undefined,
            informationUri: 'https://www.npmjs.com/package/meshsleuth',
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            endTimeUtc: m.manifest.generatedAt,
            toolExecutionNotifications: notifications,
          },
        ],
        artifacts,
        results,
        properties: {
          timeRange: m.manifest.timeRange,
          skewMs: m.manifest.skewMs,
          summary: m.summary,
        },
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
