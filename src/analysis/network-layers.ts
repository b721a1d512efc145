/**
 * Every policy layer on observed evidence: each captured TCP flow between known addresses is asked of
 * NetworkPolicy (with the admin tiers), Calico and Istio (PeerAuthentication, AuthorizationPolicy) as
 * `reach` asks them for one connection, with the identity the client presented on the wire. A flow the
 * server answered although a network layer denies it means the plugin does not enforce that policy (or
 * the policy was not in force then); an attempt nobody answered that a network layer denies is
 * explained by it. Pure: no I/O.
 */
import type { Finding, Flow } from '../model/records.js';
import { flowRef } from './findings.js';
import { fmtAddr } from './correlate.js';
import { formatDecidedBy, type FlowLayerVerdict, type FlowNetworkLayers, type LayerDecision, type LayerName } from '../model/layers.js';
import type { K8sObject } from '../readers/k8s.js';
import { analyzeReach, lintNetworkLayers, reachInputs, type ReachInputs } from './reach.js';
import { workloadName } from '../readers/inventory.js';
import { normalizeIp } from '../readers/ip-text.js';
import { inReadOrder, type SummarisedAttempts } from './attempts.js';

const MAX_EVIDENCE = 50;
/** Distinct connections (source, destination, port, identity, request line) remembered per evaluator. */
const MAX_CACHED = 20_000;

export const NETWORK_FINDING_IDS = ['network-policy-not-enforced', 'network-policy-explains-unanswered', 'gnp-serviceaccount-any-namespace', 'unselected-in-locked-namespace', 'blocks-mesh-port'] as const;

/** The layers enforced at the nodes, below any proxy: these are the ones a capture can contradict. */
const NODE_LAYERS: ReadonlySet<LayerName> = new Set(['networkpolicy', 'adminnetworkpolicy', 'calico']);

const SPIFFE = /^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/[^/]+$/;

/**
 * The identity the client presented, as the capture shows it: a SPIFFE id from its certificate;
 * `undefined` when the flow is mTLS but the certificate is not visible (TLS 1.3, resumption: the
 * source pod's own identity is assumed, with a note); null for plaintext and server-only TLS.
 */
function presentedIdentity(f: Flow): { identity: string | null | undefined; note?: string } {
  if (f.security !== 'mtls') return { identity: f.security === 'unknown' ? undefined : null, ...(f.security === 'unknown' ? { note: 'the capture does not show whether the client presented a certificate: its own identity is assumed' } : {}) };
  const san = f.tls?.clientChain?.[0]?.uriSans.find((u) => SPIFFE.test(u));
  if (san) return { identity: san };
  return { identity: undefined, note: 'mTLS with the client certificate not visible in the capture: the source pod\'s own identity is assumed' };
}

/** Kinds whose creation time says when a policy came into force. */
const POLICY_KINDS = new Set(['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'GlobalNetworkPolicy', 'Tier', 'AuthorizationPolicy', 'PeerAuthentication']);

/** `metadata.creationTimestamp` of a policy object in ms, or null when absent/unreadable. */
function createdMs(o: K8sObject): number | null {
  if (!POLICY_KINDS.has(o.kind)) return null;
  const meta = o.raw.metadata as Record<string, unknown> | undefined;
  const t = typeof meta?.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : null;
}

const objectKey = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** One object per kind/namespace/name, the last copy read (as `kubectl apply` of the files in order would leave it). */
function lastCopies(objects: K8sObject[]): K8sObject[] {
  const last = new Map<string, K8sObject>();
  for (const o of objects) {
    last.delete(objectKey(o));
    last.set(objectKey(o), o);
  }
  return [...last.values()];
}

export class FlowLayerEvaluator {
  /** Pod IP → `namespace/workload` (Istio's canonical name, as the other findings name workloads). */
  private readonly podIps: Map<string, string>;
  private readonly cache = new Map<string, FlowNetworkLayers>();
  private readonly dataplane = new Map<string, FlowLayerVerdict | null>();
  /** Policy objects with a creation time, oldest first; the inputs per point in time, built on demand. */
  private readonly timed: { ms: number; object: K8sObject }[];
  private readonly untimed: K8sObject[];
  private readonly byEpoch = new Map<number, ReachInputs>();

  private constructor(readonly inputs: ReachInputs, objects: K8sObject[], all: K8sObject[]) {
    this.podIps = new Map();
    for (const p of inputs.cluster.pods) {
      if (p.hostNetwork || p.phase === 'Succeeded' || p.phase === 'Failed') continue;
      const name = `${p.namespace}/${workloadName(p.labels, {}, p.workload.kind === 'Pod' ? p.name : p.workload.name)}`;
      for (const ip of p.ips) this.podIps.set(normalizeIp(ip), name);
    }
    this.timed = [];
    this.untimed = [];
    // A bundle holds the same policy in several files (one copy is used, see lastCopies); its creation
    // time is the earliest any copy states.
    const created = new Map<string, number>();
    for (const o of all) {
      const ms = createdMs(o);
      if (ms !== null) created.set(objectKey(o), Math.min(ms, created.get(objectKey(o)) ?? Infinity));
    }
    for (const o of objects) {
      const ms = created.get(objectKey(o));
      if (ms === undefined) this.untimed.push(o);
      else this.timed.push({ ms, object: o });
    }
    this.timed.sort((a, b) => a.ms - b.ms);
  }

  /**
   * null when the objects hold no pods (nothing to resolve addresses to) or no policy of any layer;
   * with `nodeLayersOnly`, also when no node-level policy (NetworkPolicy, admin tiers, Calico) is there:
   * `report` reads Istio's layers from the dumps in force at the time, and adds the manifests' view of
   * Istio only beside a network layer.
   */
  static fromObjects(all: K8sObject[], opts: { nodeLayersOnly?: boolean } = {}): FlowLayerEvaluator | null {
    const objects = lastCopies(all);
    const inputs = reachInputs(objects);
    if (inputs.cluster.pods.length === 0) return null;
    const node = inputs.networkPolicies.length > 0 || inputs.adminPolicies.length > 0 || inputs.calico !== null;
    if (!node && (opts.nodeLayersOnly || !inputs.istioObjects.length)) return null;
    return new FlowLayerEvaluator(inputs, objects, all);
  }

  /**
   * The inputs as they stood when the flow started: a policy whose `creationTimestamp` is later was
   * not in force yet (kubectl output carries it). Deletions leave no trace in manifests, so a policy
   * deleted before the flow still counts: the result says how many policies it left out.
   */
  private inputsAt(ms: number): { inputs: ReachInputs; later: number } {
    if (!this.timed.length || !Number.isFinite(ms)) return { inputs: this.inputs, later: 0 };
    let n = 0;
    while (n < this.timed.length && this.timed[n]!.ms <= ms) n++;
    const later = this.timed.length - n;
    if (later === 0) return { inputs: this.inputs, later };
    let inputs = this.byEpoch.get(n);
    if (!inputs) {
      inputs = reachInputs([...this.untimed, ...this.timed.slice(0, n).map((t) => t.object)]);
      this.byEpoch.set(n, inputs);
    }
    return { inputs, later };
  }

  /** Every layer's verdict on the flow; null for sidecar-local legs and flows touching no known pod. */
  decide(f: Flow): FlowNetworkLayers | null {
    if (f.sidecarLocal) return null;
    const srcIp = normalizeIp(f.client.ip);
    const dstIp = normalizeIp(f.server.ip);
    if (!this.podIps.has(srcIp) && !this.podIps.has(dstIp)) return null;
    const { identity, note } = presentedIdentity(f);
    // Layers that read HTTP see the first request when the capture shows it in cleartext.
    const req = f.http.find((x) => x.method !== undefined);
    const at = this.inputsAt(f.startMs);
    const key = `${at.later}|${srcIp}|${dstIp}|${f.server.port}|${identity === undefined ? '?' : identity ?? '-'}|${req?.method ?? ''}|${req?.path ?? ''}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const r = analyzeReach(at.inputs, { from: srcIp, to: dstIp, port: f.server.port, protocol: 'TCP', identity, ...(req?.method ? { method: req.method } : {}), ...(req?.path ? { path: req.path } : {}) });
    let layers = r.layers.map(flat);
    let verdict = r.verdict;
    if (!req && (f.security === 'mtls' || f.security === 'tls')) {
      // The requests are encrypted: judged as a bare connection, policies with HTTP-only rules deny it
      // (Istio drops those rules on TCP chains), but on an HTTP port each request decides.
      layers = layers.map((l) =>
        l.layer === 'istio-authorization' && l.verdict === 'deny'
          ? { ...l, verdict: 'undecidable' as const, explanation: `the capture does not show the requests (encrypted): as a bare TCP connection ${l.explanation}; on an HTTP port each request decides (see the sidecar's access log, or decrypt with --keylog)` }
          : l,
      );
      const order = ['deny', 'implementation-defined', 'undecidable'] as const;
      const applicable = layers.filter((l) => l.verdict !== 'not-applicable');
      verdict = order.find((v) => applicable.some((l) => l.verdict === v)) ?? 'allow';
    }
    const denied = layers.find((l) => l.verdict === 'deny');
    const out: FlowNetworkLayers = {
      source: this.podIps.get(srcIp) ?? srcIp,
      destination: this.podIps.get(dstIp) ?? dstIp,
      identity: r.identity,
      verdict,
      deniedBy: denied?.layer ?? null,
      layers,
      ...(note || r.notes.length || at.later ? { notes: [...(note ? [note] : []), ...r.notes, ...(at.later ? [`${at.later} policy object(s) created after this flow started left out (metadata.creationTimestamp)`] : [])] } : {}),
    };
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, out);
    return out;
  }

  /**
   * The first node-level layer (NetworkPolicy, admin tiers, Calico's dataplane) that drops the flow.
   * This is the dataplane's view: addresses only, no certificate, no application layer policy (which
   * rejects inside an answered connection), so it is what a capture can contradict.
   */
  dataplaneDenial(f: Flow): FlowLayerVerdict | null {
    if (f.sidecarLocal) return null;
    const srcIp = normalizeIp(f.client.ip);
    const dstIp = normalizeIp(f.server.ip);
    if (!this.podIps.has(srcIp) && !this.podIps.has(dstIp)) return null;
    const at = this.inputsAt(f.startMs);
    const key = `${at.later}|${srcIp}|${dstIp}|${f.server.port}`;
    let hit = this.dataplane.get(key);
    if (hit === undefined) {
      const r = analyzeReach(at.inputs, { from: srcIp, to: dstIp, port: f.server.port, protocol: 'TCP', identity: null, alp: false });
      const l = r.layers.find((x) => NODE_LAYERS.has(x.layer) && x.verdict === 'deny');
      hit = l ? flat(l) : null;
      if (this.dataplane.size >= MAX_CACHED) this.dataplane.delete(this.dataplane.keys().next().value as string);
      this.dataplane.set(key, hit);
    }
    return hit;
  }
}

function flat(l: LayerDecision): FlowLayerVerdict {
  return { layer: l.layer, verdict: l.verdict, decidedBy: formatDecidedBy(l.decidedBy), explanation: l.explanation, ...(l.closestMiss ? { closestMiss: l.closestMiss.summary } : {}) };
}

/** Sets `networkLayers` on each flow the objects say something about. */
export function annotateNetworkLayers(flows: Iterable<Flow>, evaluator: FlowLayerEvaluator): void {
  for (const f of flows) {
    const v = evaluator.decide(f);
    if (v) f.networkLayers = v;
  }
}

export function networkLayerFindings(flows: Flow[], objects: K8sObject[], evaluator: FlowLayerEvaluator | null = FlowLayerEvaluator.fromObjects(objects), attempts?: SummarisedAttempts): Finding[] {
  if (!evaluator) return [];
  /** Per finding: how many flows, and the first MAX_EVIDENCE of them in read order (kept bounded as they come). */
  const groups = new Map<string, { n: number; flows: { f: Flow; ord: number }[]; layer: LayerName; by: string; explanation: string; miss?: string; answered: boolean; src: string; dst: string; port: number }>();
  const add = (f: Flow, count: number, members: { f: Flow; ord: number }[]): void => {
    const deny = evaluator.dataplaneDenial(f);
    if (!deny) return;
    const v = f.networkLayers ?? evaluator.decide(f)!;
    const answered = f.connState !== undefined ? f.connState !== 'S0' : f.bytes.serverToClient > 0;
    const key = `${answered}|${deny.layer}|${v.source}|${v.destination}|${f.server.port}|${deny.decidedBy}`;
    const g = groups.get(key) ?? { n: 0, flows: [], layer: deny.layer, by: deny.decidedBy, explanation: deny.explanation, miss: deny.closestMiss, answered, src: v.source, dst: v.destination, port: f.server.port };
    g.n += count;
    for (const m of members) g.flows.push(m);
    if (g.flows.length > 2 * MAX_EVIDENCE) {
      g.flows.sort((a, b) => a.ord - b.ord);
      g.flows.length = MAX_EVIDENCE;
    }
    groups.set(key, g);
  };
  if (!attempts) flows.forEach((f, ord) => add(f, 1, [{ f, ord }]));
  else {
    // Summarised attempts (attempts.ts): a group counts where its first attempt was read, with its first exemplars.
    for (const x of inReadOrder(flows, attempts, false)) {
      if (x.group) add(x.flow, x.group.count, x.group.first);
      else add(x.flow, 1, [{ f: x.flow, ord: x.ord }]);
    }
  }
  const out: Finding[] = [];
  for (const g of groups.values()) {
    const n = g.n;
    g.flows.sort((a, b) => a.ord - b.ord);
    out.push({
      id: g.answered ? 'network-policy-not-enforced' : 'network-policy-explains-unanswered',
      severity: g.answered ? 'high' : 'low',
      summary: g.answered
        ? `${n} connection(s) ${g.src} → ${fmtAddr(g.dst, g.port)} were answered although ${g.layer} denies them (${g.by}): the network plugin does not enforce it, or the policy was not in force then`
        : `${n} connection attempt(s) ${g.src} → ${fmtAddr(g.dst, g.port)} got no answer; ${g.layer} drops them (${g.by})`,
      evidence: g.flows.slice(0, MAX_EVIDENCE).map((m) => flowRef(m.f)),
      ...(g.answered ? { fix: `check that the CNI enforces ${g.layer === 'calico' ? 'Calico policy' : 'NetworkPolicy'} on these nodes and when the policy was applied${g.miss ? `; closest allowing rule: ${g.miss}` : ''}` } : {}),
      details: { layer: g.layer, decidedBy: g.by, explanation: g.explanation, flows: n, source: g.src, destination: fmtAddr(g.dst, g.port) },
    });
  }
  return out;
}

/**
 * The joined view's lints (`reach`'s) as report findings: Calico serviceAccounts rules any namespace
 * satisfies, workloads left open in a namespace NetworkPolicy locks down, policy blocking the mesh's
 * own ports. Judged on the policies as given (the latest state); the evidence is where they are written.
 */
export function networkLintFindings(evaluator: FlowLayerEvaluator): Finding[] {
  return lintNetworkLayers(evaluator.inputs).map((l) => ({
    id: l.id,
    severity: l.severity,
    summary: l.summary,
    evidence: l.evidence ?? [],
    details: { ...(l.object ? { object: l.object } : {}) },
  }));
}
