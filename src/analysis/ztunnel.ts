/**
 * Replays ztunnel (ambient) access-log records against a ztunnel config dump: the destination
 * ztunnel's inbound authorization (src/ztunnel) is computed from the record's facts and compared
 * with what ztunnel logged (`error` = policy rejection with its reason, or a completed connection).
 * Records that do not carry an authorization outcome (outbound, opened, failures for other causes)
 * are undecidable with the reason.
 */
import type { AccessRecord, Explanation, Flow } from '../model/records.js';
import type { Decision, TraceNode } from '../model/decision.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import { decideZtunnel, findWorkloadByIp, policiesForWorkload, policyKey, POLICY_REJECTION_PREFIX, REJECTION } from '../ztunnel/state.js';

export function isZtunnelRecord(r: AccessRecord): boolean {
  return r.ztunnel !== undefined;
}

/** What ztunnel logged about authorization for this record. */
function loggedOf(r: AccessRecord): { outcome: NonNullable<Explanation['logged']>; policy?: string; text: string } {
  const z = r.ztunnel!;
  const e = z.error;
  if (e?.cause === 'policy-rejection') {
    if (e.rejection === 'explicitly-denied') return { outcome: 'denied', policy: e.policy!, text: e.text };
    if (e.rejection === 'not-allowed') return { outcome: 'denied', policy: 'none', text: e.text };
    return { outcome: 'denied', text: e.text };
  }
  if (e) return { outcome: 'not-evaluated', text: e.text };
  if (z.message === 'connection complete') return { outcome: 'allowed', text: 'connection complete without error' };
  return { outcome: 'unknown', text: z.message };
}

/** Explains one ztunnel record against one ztunnel config (the destination node's ztunnel). */
export function explainZtunnelRecord(r: AccessRecord, cfgs: ZtunnelConfig[]): Explanation {
  const z = r.ztunnel!;
  const logged = loggedOf(r);
  const security: Explanation['security'] = r.attrs.tls ? 'mtls' : r.unknown.includes('tls') ? 'unknown' : 'plaintext';
  const evidence = r.attrs.tls ? ['src.identity'] : [];
  const base = { record: r, identityEvidence: evidence, logged: logged.outcome, security, ...(logged.policy !== undefined ? { loggedPolicy: logged.policy } : {}) };
  if (z.error && logged.outcome === 'not-evaluated') {
    return { ...base, decision: null, verdict: 'undecidable', reason: `the connection failed before or apart from authorization: ${z.error.meaning}` };
  }
  if (z.direction === 'outbound') {
    return { ...base, decision: null, verdict: 'undecidable', reason: 'outbound record: L4 policy is enforced by the destination ztunnel; replay its inbound record', missing: ['the destination ztunnel\'s inbound record'] };
  }
  if (z.error?.rejection === 'workload-not-found' || z.error?.rejection === 'workload-mismatch') {
    return { ...base, decision: null, verdict: 'undecidable', reason: `ztunnel rejected it before evaluating policies (${z.error.text}); a config dump does not show ztunnel's state at that moment` };
  }
  const dstIp = r.attrs.destination?.address;
  const cfg = dstIp ? cfgs.find((c) => findWorkloadByIp(c, dstIp).length > 0) ?? (cfgs.length === 1 ? cfgs[0] : undefined) : cfgs.length === 1 ? cfgs[0] : undefined;
  if (!cfg) return { ...base, decision: null, verdict: 'undecidable', reason: `no ztunnel config knows the destination ${dstIp ?? '(not logged)'}`, missing: ['a ztunnel config dump with the destination workload'] };
  const d: Decision = decideZtunnel(cfg, r.attrs, { unknown: r.unknown });
  if (d.decision === 'UNDECIDABLE') return { ...base, decision: d, verdict: 'undecidable', reason: d.reasons?.join('; ') ?? 'undecidable', ...(r.unknown.length ? { missing: r.unknown } : {}) };
  if (logged.outcome === 'unknown') return { ...base, decision: d, verdict: 'undecidable', reason: `"${z.message}" does not say whether the connection was authorized (ztunnel would ${d.decision === 'ALLOW' ? 'allow' : 'reject'} it)` };
  const want = d.decision === 'ALLOW' ? 'allowed' : 'denied';
  if (want !== logged.outcome) {
    return { ...base, decision: d, verdict: 'disagrees', reason: `ztunnel logged ${logged.outcome === 'denied' ? `"${logged.text}"` : 'a completed connection'}, the config ${d.decision === 'ALLOW' ? `allows it${d.policy ? ` (${d.policy})` : ''}` : `rejects it: ${d.connectionTerminationDetails}`} (policy changed since, or the dump is from another time)` };
  }
  if (want === 'denied') {
    const predicted = d.policy ?? 'none';
    if (logged.policy !== undefined && logged.policy !== predicted) {
      return { ...base, decision: d, verdict: 'disagrees', reason: `ztunnel logged "${logged.text}", the config predicts "${d.connectionTerminationDetails}"` };
    }
    const why = d.policy ? `DENY policy ${d.policy} matches` : `${REJECTION.notAllowed}${d.closestMiss?.[0] ? ` (closest: ${d.closestMiss[0].summary})` : ''}`;
    return { ...base, decision: d, verdict: 'agrees', reason: `rejected: ${why}${logged.policy === undefined ? ' (this ztunnel version does not log the reason)' : ''}` };
  }
  return { ...base, decision: d, verdict: 'agrees', reason: d.policy ? `allowed by ALLOW policy ${d.policy}` : d.filters.find((f) => f.action === 'ALLOW')?.note === 'no ALLOW policies: allow' ? 'allowed: no ALLOW policy applies and no DENY policy matches' : 'allowed' };
}


/** An Envoy record met a ztunnel config, or a ztunnel record met Envoy configs: say so instead of guessing. */
export function mismatchedExplanation(r: AccessRecord, have: 'ztunnel' | 'envoy'): Explanation {
  return {
    record: r,
    decision: null,
    verdict: 'undecidable',
    reason: have === 'ztunnel' ? 'an Envoy access-log record, but the config is a ztunnel config dump' : 'a ztunnel access-log record: give a ztunnel config dump (istioctl ztunnel-config all -o json)',
    identityEvidence: [],
    missing: [have === 'ztunnel' ? 'the Envoy config dump of the proxy that logged it' : 'a ztunnel config dump'],
  };
}

/**
 * Joins HBONE flows (evidence `istio-hbone`) to the ztunnel records of the tunnels they carried: same
 * client pod IP, `dst.addr` = the flow's server `ip:15008`, record time within the flow (± skew).
 * HBONE connections are pooled, so one flow may carry several records. Adds a note naming the
 * identities the log shows (the capture cannot: TLS 1.3 encrypts the certificates). Returns the
 * number of flows joined.
 */
export function joinHboneFlows(flows: Flow[], records: AccessRecord[], skewMs = 2000): number {
  const byDst = new Map<string, AccessRecord[]>();
  for (const r of records) {
    const z = r.ztunnel;
    if (!z?.dstAddr || r.timeMs === undefined) continue;
    const list = byDst.get(z.dstAddr) ?? [];
    list.push(r);
    byDst.set(z.dstAddr, list);
  }
  let joined = 0;
  for (const f of flows) {
    if (!f.evidence.includes('istio-hbone')) continue;
    const key = f.server.ip.includes(':') ? `[${f.server.ip}]:${f.server.port}` : `${f.server.ip}:${f.server.port}`;
    const hits = (byDst.get(key) ?? []).filter((r) => r.attrs.source?.address === f.client.ip && r.timeMs! >= f.startMs - skewMs && r.timeMs! <= f.endMs + skewMs);
    if (hits.length === 0) continue;
    joined++;
    const shown = hits.slice(0, 3).map((r) => {
      const z = r.ztunnel!;
      return `${r.ref.file}:${r.ref.line ?? '?'} ${z.direction ?? ''} ${z.srcIdentity ?? 'no src identity'} → ${z.dstIdentity ?? z.dstWorkload ?? '?'} (${z.dstHboneAddr ?? '?'})${z.error ? ` error: ${z.error.text}` : ''}`;
    });
    f.notes.push(`ztunnel log: ${hits.length} tunnel record(s) on this HBONE connection: ${shown.join('; ')}${hits.length > 3 ? '; …' : ''}`);
  }
  return joined;
}

/** The pods that are waypoints: endpoints of the services workloads and services name as their waypoint. */
function waypointPodIps(cfgs: ZtunnelConfig[]): Set<string> {
  const out = new Set<string>();
  for (const cfg of cfgs) {
    const vips = new Set<string>();
    for (const x of [...cfg.workloads, ...cfg.services]) if (x.waypoint) vips.add(x.waypoint.destination.slice(x.waypoint.destination.lastIndexOf('/') + 1));
    for (const s of cfg.services) {
      if (!s.vips.some((v) => vips.has(v.slice(v.lastIndexOf('/') + 1)))) continue;
      for (const e of s.endpoints) {
        const wl = cfg.workloads.find((w) => w.uid === e.workloadUid);
        for (const ip of wl?.workloadIps ?? (e.address ? [e.address.slice(e.address.lastIndexOf('/') + 1)] : [])) out.add(ip);
      }
    }
    for (const ip of vips) for (const w of findWorkloadByIp(cfg, ip)) for (const x of w.workloadIps) out.add(x);
  }
  return out;
}

/** The matched leaf conditions of the policy that decided (what made a DENY policy match). */
function matchedConditions(d: Decision): string[] {
  const out: string[] = [];
  const walk = (n: TraceNode): void => {
    if (n.matched !== true) return;
    if (!n.children?.length) out.push(n.detail);
    else n.children.forEach(walk);
  };
  for (const f of d.filters) for (const p of f.policies) if (p.name === d.policy && p.matched === true && p.trace) walk(p.trace);
  return [...new Set(out)].slice(0, 3);
}

const portMatters = (p: ZtunnelConfig['policies'][number]): boolean => p.rules.some((r) => r.some((c) => c.some((m) => m.destinationPorts.length > 0 || m.notDestinationPorts.length > 0)));

/**
 * Decides HBONE flows from the capture with the ztunnel config alone (no log): the destination ztunnel authorizes
 * the tunnel's peer, whose identity is the client workload's (ztunnel presents the source workload's certificate):
 * the config's workload for the flow's client IP gives it. The target port is inside the encrypted CONNECT, so a
 * flow is decided only when no policy of the destination reads the port. A tunnel to a waypoint carries its target
 * service and request inside the TLS: the waypoint decides, which the capture cannot replay. Adds one note per
 * HBONE flow; returns the number decided.
 */
export function decideHboneFlows(flows: Flow[], cfgs: ZtunnelConfig[]): number {
  if (cfgs.length === 0) return 0;
  const waypoints = waypointPodIps(cfgs);
  let decided = 0;
  for (const f of flows) {
    if (!f.evidence.includes('istio-hbone')) continue;
    const say = (s: string): void => void f.notes.push(`ztunnel config: ${s}`);
    if (waypoints.has(f.server.ip)) {
      say(`HBONE to a waypoint (${f.server.ip}): the target service and the request are inside the encrypted tunnel, so the waypoint's decision is not replayable from the capture (its log joined to the client ztunnel's record is)`);
      continue;
    }
    const dstCfg = cfgs.find((c) => findWorkloadByIp(c, f.server.ip).length > 0);
    if (!dstCfg) {
      say(`no ztunnel config has a workload with IP ${f.server.ip}: not decided`);
      continue;
    }
    const src = cfgs.map((c) => findWorkloadByIp(c, f.client.ip)[0]).find((w) => w !== undefined);
    if (!src) {
      say(`no ztunnel config has a workload with the client IP ${f.client.ip}: its identity (the tunnel's client certificate, encrypted) is unknown; not decided`);
      continue;
    }
    const identity = `spiffe://${src.trustDomain || 'cluster.local'}/ns/${src.namespace}/sa/${src.serviceAccount}`;
    const dst = findWorkloadByIp(dstCfg, f.server.ip)[0]!;
    const readsPort = policiesForWorkload(dstCfg, dst).selected.filter((s) => portMatters(s.policy)).map((s) => policyKey(s.policy));
    if (readsPort.length) {
      say(`not decided: ${readsPort.join(', ')} read the destination port, which is inside the encrypted CONNECT (the ztunnel log's dst.hbone_addr has it)`);
      continue;
    }
    const d = decideZtunnel(dstCfg, { source: { address: f.client.ip, port: f.client.port }, destination: { address: f.server.ip, port: 0 }, tls: { uriSans: [identity], dnsSans: [], subject: '', peerCertificateValidated: true } });
    if (d.decision === 'UNDECIDABLE') {
      say(`not decided: ${(d.reasons ?? []).join('; ')}`);
      continue;
    }
    decided++;
    const why = d.decision === 'ALLOW'
      ? d.policy ? `ALLOW by ${d.policy}` : 'ALLOW (no ALLOW policy applies and no DENY policy matches)'
      : d.policy ? `DENY: ${REJECTION.denied(...(d.policy.split('/') as [string, string]))}${matchedConditions(d).length ? ` (${matchedConditions(d).join('; ')})` : ''}` : `DENY: ${REJECTION.notAllowed}${d.closestMiss?.[0] ? ` (closest: ${d.closestMiss[0].summary})` : ''}`;
    say(`${dstCfg.file || 'ztunnel config'} decides ${why} for ${src.namespace}/${src.name} → ${dst.namespace}/${dst.name} — caller ${identity} (the config's workload for ${f.client.ip}: the certificate ztunnel presents for it); no policy reads the port, which the tunnel hides`);
  }
  return decided;
}
