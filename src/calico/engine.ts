/**
 * Calico policy evaluation for one connection, after Felix's dataplane model and Dikastes' checker
 * (projectcalico/calico app-policy/checker check.go, match.go):
 *
 *   per direction (egress at the source's workload endpoint, ingress at the destination's):
 *     tiers in order (order ascending, unset last, ties by name); a tier with no policy selecting the
 *     endpoint for that direction is skipped; in a tier, policies in order, rules in order: the first
 *     matching rule decides — Allow (final), Deny (final), Pass (next tier), Log (continue); no rule
 *     matched in the tier → the tier's defaultAction (Deny unless Pass); after the tiers the profiles
 *     (Kubernetes namespaces: `kns.<ns>`, allow).
 *   a rule matches when protocol, source, destination and (with application layer policy, ingress
 *   only) HTTP all match. A `serviceAccounts` match needs the peer's IP to belong to a pod of that
 *   service account (the IP sets); with application layer policy the peer's certificate identity must
 *   name it as well — the two together stop a pod that holds another account's key.
 *
 * Pure: no I/O. Unknown facts (a template pod without an IP, a source port) make a rule undecidable.
 */
import type { ClosestMiss, TraceNode } from '../model/decision.js';
import type { Cluster, ClusterPod } from '../model/cluster.js';
import { namespaceLabels } from '../model/cluster.js';
import type { DecidedBy, LayerDecision, LayerVerdict } from '../model/layers.js';
import { failingLeaves, NetpolEngine, type NetpolConnection, type Peer } from '../netpol/engine.js';
import { parseCidr, parseIpValue, rangeContains } from '../netpol/ipnet.js';
import { labelSelectorMatches } from '../netpol/selector.js';
import { parseSpiffe } from '../readers/inventory.js';
import { byOrderThenName, type CalicoModel } from './parse.js';
import { formatSelector, selectorMatches, type SelectorNode } from './selector.js';
import { matchHttpMethods, matchHttpPaths } from './http.js';
import type { CalicoPolicy, CalicoPort, EntityRule, Rule } from './types.js';

export interface CalicoConnection extends NetpolConnection {
  /** SPIFFE id the source presents (null: plaintext). */
  identity: string | null;
  method?: string;
  path?: string;
  /** Application layer policy (Dikastes in the destination's sidecar) is in force. */
  alp: boolean;
}

type Tri = true | false | 'u';
const and3 = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === 'u' || b === 'u' ? 'u' : true);
const pub = (t: Tri): boolean | 'undecidable' => (t === 'u' ? 'undecidable' : t);
const leaf = (node: string, m: Tri, detail: string, attribute?: string, actual?: string | number | null | string[], expected?: string): TraceNode => ({
  node,
  matched: pub(m),
  detail,
  ...(attribute !== undefined ? { attribute } : {}),
  ...(actual !== undefined ? { actual } : {}),
  ...(expected !== undefined ? { expected } : {}),
});
const peerName = (p: Peer) => (p.kind === 'pod' ? `${p.pod.namespace}/${p.pod.name}` : p.ip);
const policyId = (p: CalicoPolicy) => (p.namespace ? `${p.namespace}/${p.name}` : p.name);
const PROTO_NUM: Record<string, string> = { '1': 'ICMP', '6': 'TCP', '17': 'UDP', '132': 'SCTP', '136': 'UDPLITE', '58': 'ICMPV6' };

interface DirResult {
  verdict: LayerVerdict;
  decidedBy: DecidedBy | null;
  node: TraceNode;
  explanation: string;
  /** Allow rules of the policies evaluated, for the closest miss. */
  allowRules: TraceNode[];
}

export class CalicoEngine {
  private readonly netpol: NetpolEngine;

  constructor(
    readonly model: CalicoModel,
    readonly cluster: Cluster,
  ) {
    this.netpol = new NetpolEngine(model.policies.flatMap((p) => (p.k8s ? [p.k8s] : [])), cluster);
  }

  /** Labels of a pod's WorkloadEndpoint, with the labels Calico adds. */
  private endpointLabels(pod: ClusterPod): Record<string, string> {
    return { ...pod.labels, 'projectcalico.org/namespace': pod.namespace, 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': pod.serviceAccount };
  }

  private saLabels(ns: string, name: string): Record<string, string> {
    return this.cluster.serviceAccounts.find((s) => s.namespace === ns && s.name === name)?.labels ?? {};
  }

  /** Whether a policy applies to `pod` (a Calico workload endpoint). */
  selects(p: CalicoPolicy, pod: ClusterPod): boolean {
    if (p.k8s) return p.k8s.namespace === pod.namespace && labelSelectorMatches(p.k8s.spec.podSelector, pod.labels);
    if (p.namespace !== undefined && p.namespace !== pod.namespace) return false;
    if (!selectorMatches(p.selector, { labels: this.endpointLabels(pod), namespaced: true })) return false;
    if (p.namespaceSelector && !selectorMatches(p.namespaceSelector, { labels: namespaceLabels(this.cluster, pod.namespace), namespaced: true })) return false;
    if (p.serviceAccountSelector && !selectorMatches(p.serviceAccountSelector, { labels: this.saLabels(pod.namespace, pod.serviceAccount), namespaced: true })) return false;
    return true;
  }

  private portsMatch(list: CalicoPort[], port: number, proto: string, dst: Peer, what: string): TraceNode {
    const texts = list.map((p) => (p.kind === 'named' ? p.name : p.from === p.to ? `${p.from}` : `${p.from}:${p.to}`));
    let m: Tri = false;
    for (const p of list) {
      if (p.kind === 'range') {
        if (port >= p.from && port <= p.to) m = true;
      } else if (dst.kind === 'pod' && dst.pod.ports.some((c) => c.name === p.name && c.protocol === proto && c.containerPort === port)) m = true;
    }
    return leaf(what, m, `${what}: ${port} — ${m === true ? 'matches' : 'needs'} ${texts.join(', ')}`, what, port, texts.join(', '));
  }

  /** Source or destination entity match against the peer. */
  private entity(e: EntityRule, peer: Peer, side: 'source' | 'destination', pol: CalicoPolicy, conn: CalicoConnection, dir: 'ingress' | 'egress'): TraceNode {
    const kids: TraceNode[] = [];
    const isEp = peer.kind === 'pod' && !peer.pod.hostNetwork;
    const ips = peer.kind === 'pod' ? peer.pod.ips : [peer.ip];
    const inNets = (list: string[]): Tri => {
      if (ips.length === 0) return 'u';
      return ips.some((s) => {
        const ip = parseIpValue(s);
        return ip !== null && list.some((n) => rangeContains(parseCidr(n)!, ip));
      });
    };
    if (e.nets) {
      const m = inNets(e.nets);
      kids.push(leaf('nets', m, `${side} ${peerName(peer)} (${ips.join(', ') || 'no IP in the inputs'}) ${m === true ? 'is in' : m === 'u' ? 'cannot be checked against' : 'is not in'} nets ${e.nets.join(', ')}`, `${side}.ip`, ips.length ? ips : null, e.nets.join(', ')));
    }
    if (e.notNets) {
      const r = inNets(e.notNets);
      const m: Tri = r === 'u' ? 'u' : !r;
      kids.push(leaf('notNets', m, `${side} ${peerName(peer)} (${ips.join(', ') || 'no IP'}) ${r === true ? 'is in' : 'is not in'} notNets ${e.notNets.join(', ')}`, `${side}.ip`, ips.length ? ips : null, `not in ${e.notNets.join(', ')}`));
    }
    // Namespace scoping of selector / notSelector / serviceAccounts.
    const scoped = e.selector || e.notSelector || e.serviceAccounts || e.namespaceSelector;
    if (scoped) {
      if (!isEp) {
        if (e.selector || e.serviceAccounts || e.namespaceSelector) kids.push(leaf('endpoint', false, `${side} ${peerName(peer)} is not a Calico workload endpoint: selectors match pods only`, side, peerName(peer), 'a workload endpoint'));
      } else {
        const pod = (peer as { pod: ClusterPod }).pod;
        if (e.namespaceSelector) {
          const m = selectorMatches(e.namespaceSelector, { labels: namespaceLabels(this.cluster, pod.namespace), namespaced: true });
          kids.push(leaf('namespaceSelector', m, `${side} namespace ${pod.namespace} ${m ? 'matches' : 'does not match'} namespaceSelector ${e.namespaceSelectorText}`, `${side}.namespace`, pod.namespace, e.namespaceSelectorText));
        } else if (pol.namespace !== undefined) {
          const m = pod.namespace === pol.namespace;
          kids.push(leaf('namespace', m, `${side} namespace ${pod.namespace}${m ? '' : ` — a namespaced policy's selectors select its own namespace ${pol.namespace}`}`, `${side}.namespace`, pod.namespace, pol.namespace));
        }
        const labels = this.endpointLabels(pod);
        if (e.selector) {
          const m = selectorMatches(e.selector, { labels, namespaced: true });
          kids.push(leaf('selector', m, `${side} ${peerName(peer)} ${m ? 'matches' : 'does not match'} selector ${e.selectorText}`, `${side}.labels`, Object.entries(pod.labels).map(([k, v]) => `${k}=${v}`), e.selectorText));
        }
        if (e.notSelector) {
          const m = !selectorMatches(e.notSelector, { labels, namespaced: true });
          kids.push(leaf('notSelector', m, `${side} ${peerName(peer)} ${m ? 'does not match' : 'matches'} notSelector ${e.notSelectorText}`, `${side}.labels`, Object.entries(pod.labels).map(([k, v]) => `${k}=${v}`), `not ${e.notSelectorText}`));
        }
        if (e.serviceAccounts) kids.push(...this.serviceAccounts(e, pod, side, conn, dir));
      }
    }
    if (e.services) kids.push(leaf('services', 'u', `${side}.services ${e.services.namespace ?? ''}/${e.services.name}: service matches are not modelled`, 'services', null, e.services.name));
    if (e.ports || e.notPorts) {
      if (side === 'source') kids.push(leaf('ports', 'u', 'source ports: the source port of a hypothetical connection is not known', 'source.port', null, (e.ports ?? e.notPorts ?? []).map((p) => (p.kind === 'named' ? p.name : `${p.from}:${p.to}`)).join(', ')));
      else {
        if (e.ports) kids.push(this.portsMatch(e.ports, conn.port, conn.protocol, conn.dst, 'ports'));
        if (e.notPorts) {
          const n = this.portsMatch(e.notPorts, conn.port, conn.protocol, conn.dst, 'notPorts');
          kids.push({ ...n, matched: n.matched === true ? false : n.matched === false ? true : 'undecidable', detail: `destination port ${conn.port} ${n.matched === true ? 'is in' : 'is not in'} notPorts ${n.expected}` });
        }
      }
    }
    const m = kids.reduce<Tri>((a, k) => and3(a, k.matched === 'undecidable' ? 'u' : k.matched), true);
    return { node: side, matched: pub(m), detail: kids.length ? `${side} ${peerName(peer)}` : `${side}: any`, children: kids };
  }

  /** serviceAccounts: names AND selector, by IP set (the peer pod's account) and, with ALP on ingress, by certificate identity. */
  private serviceAccounts(e: EntityRule, pod: ClusterPod, side: 'source' | 'destination', conn: CalicoConnection, dir: 'ingress' | 'egress'): TraceNode[] {
    const sa = e.serviceAccounts!;
    const out: TraceNode[] = [];
    const need = [sa.names?.length ? `name in {${sa.names.join(', ')}}` : '', sa.selectorText ? `labels ${sa.selectorText}` : ''].filter(Boolean).join(' and ');
    const okFor = (ns: string, name: string) => (!sa.names?.length || sa.names.includes(name)) && (!sa.selector || selectorMatches(sa.selector, { labels: this.saLabels(ns, name), namespaced: true }));
    const ipOk = okFor(pod.namespace, pod.serviceAccount);
    out.push(leaf('serviceAccounts', ipOk, `${side} IP ${pod.ips.join(', ') || '(pod)'} belongs to ${pod.namespace}/${pod.name}, service account ${pod.serviceAccount} — ${ipOk ? 'matches' : 'needs'} a pod of a service account with ${need}`, `${side}.serviceAccount`, pod.serviceAccount, need));
    if (conn.alp && dir === 'ingress' && side === 'source' && conn.dst.kind === 'pod' && conn.dst.pod.sidecar) {
      if (conn.identity === null) out.push(leaf('principal', true, 'no peer certificate (plaintext): Dikastes matches the account by IP only', 'source.principal', null, need));
      else {
        const id = parseSpiffe(conn.identity);
        const ok = id !== null && okFor(id.namespace, id.serviceAccount);
        out.push(leaf('principal', ok, `peer certificate identity ${conn.identity} — ${ok ? 'matches' : 'needs'} a service account with ${need}`, 'source.principal', conn.identity, need));
      }
    }
    return out;
  }

  private protocolMatch(r: Rule, proto: string): TraceNode[] {
    const norm = (p: string) => PROTO_NUM[p] ?? p;
    const out: TraceNode[] = [];
    if (r.protocol) {
      const m = norm(r.protocol) === proto;
      out.push(leaf('protocol', m, `protocol ${proto} — ${m ? 'matches' : 'needs'} ${r.protocol}`, 'protocol', proto, r.protocol));
    }
    if (r.notProtocol) {
      const m = norm(r.notProtocol) !== proto;
      out.push(leaf('notProtocol', m, `protocol ${proto} — ${m ? 'is not' : 'is'} ${r.notProtocol}`, 'protocol', proto, `not ${r.notProtocol}`));
    }
    return out;
  }

  private httpMatch(r: Rule, conn: CalicoConnection, dir: 'ingress' | 'egress'): TraceNode | null {
    if (!r.http) return null;
    const h = r.http;
    const dstSidecar = conn.dst.kind === 'pod' && conn.dst.pod.sidecar;
    if (dir !== 'ingress' || !conn.alp || !dstSidecar) {
      return leaf('http', 'u', `HTTP match ${JSON.stringify(h)}: enforced only by application layer policy in the destination's sidecar, ${!conn.alp ? 'which is off' : 'which this destination lacks'}: what the dataplane does with it is not modelled`, 'http', null, 'ALP');
    }
    const kids: TraceNode[] = [];
    if (h.methods?.length && !h.methods.includes('*')) {
      if (conn.method === undefined) kids.push(leaf('methods', 'u', `HTTP method not given (--method) — needs one of ${h.methods.join(', ')}`, ':method', null, h.methods.join(', ')));
      else {
        const m = matchHttpMethods(h.methods, conn.method);
        kids.push(leaf('methods', m, `:method ${conn.method} — ${m ? 'matches' : 'needs'} one of ${h.methods.join(', ')} (exact, case-sensitive)`, ':method', conn.method, h.methods.join(', ')));
      }
    }
    if (h.paths?.length) {
      const want = h.paths.map((p) => ('exact' in p ? `exact ${p.exact}` : `prefix ${p.prefix}`)).join(', ');
      if (conn.path === undefined) kids.push(leaf('paths', 'u', `HTTP path not given (--path) — needs ${want}`, ':path', null, want));
      else {
        const r = matchHttpPaths(h.paths, conn.path);
        const seen = r.normalized === null ? `${conn.path} (refused: not an absolute path after normalisation, or an encoded separator/dot/NUL remains)` : r.normalized === conn.path ? conn.path : `${conn.path} (normalised ${r.normalized})`;
        kids.push(leaf('paths', r.ok, `:path ${seen} — ${r.ok ? 'matches' : 'needs'} ${want}`, ':path', conn.path, want));
      }
    }
    const m = kids.reduce<Tri>((a, k) => and3(a, k.matched === 'undecidable' ? 'u' : k.matched), true);
    return { node: 'http', matched: pub(m), detail: 'HTTP match (Dikastes)', children: kids };
  }

  private ruleMatch(r: Rule, i: number, pol: CalicoPolicy, dir: 'ingress' | 'egress', conn: CalicoConnection): TraceNode {
    const kids: TraceNode[] = [...this.protocolMatch(r, conn.protocol)];
    if (r.ipVersion) {
      const ips = conn.src.kind === 'pod' ? conn.src.pod.ips : [conn.src.ip];
      const fam = ips.map((s) => parseIpValue(s)?.family).find((x) => x !== undefined);
      kids.push(leaf('ipVersion', fam === undefined ? 'u' : fam === r.ipVersion, `IP version ${fam ?? 'unknown'} — needs ${r.ipVersion}`, 'ipVersion', fam ?? null, String(r.ipVersion)));
    }
    kids.push(this.entity(r.source, conn.src, 'source', pol, conn, dir));
    kids.push(this.entity(r.destination, conn.dst, 'destination', pol, conn, dir));
    const h = this.httpMatch(r, conn, dir);
    if (h) kids.push(h);
    const m = kids.reduce<Tri>((a, k) => and3(a, k.matched === 'undecidable' ? 'u' : k.matched), true);
    return { node: 'rule', matched: pub(m), detail: `${policyId(pol)} ${dir}[${i}] ${r.action}`, children: kids };
  }

  private direction(dir: 'ingress' | 'egress', conn: CalicoConnection): DirResult {
    const subject = dir === 'ingress' ? conn.dst : conn.src;
    const type = dir === 'ingress' ? 'Ingress' : 'Egress';
    const allowRules: TraceNode[] = [];
    if (subject.kind !== 'pod' || subject.pod.hostNetwork) {
      const why = `${peerName(subject)} is not a Calico workload endpoint${subject.kind === 'pod' ? ' (hostNetwork pod: host endpoints are not modelled)' : ''}: no ${dir} policy applies`;
      return { verdict: 'allow', decidedBy: null, node: leaf(dir, true, why), explanation: why, allowRules };
    }
    const pod = subject.pod;
    const tierNodes: TraceNode[] = [];
    const done = (verdict: LayerVerdict, decidedBy: DecidedBy | null, explanation: string): DirResult => ({
      verdict,
      decidedBy,
      explanation,
      allowRules,
      node: { node: dir, matched: verdict === 'allow' ? true : verdict === 'deny' ? false : 'undecidable', detail: `${dir} at ${peerName(subject)}: ${explanation}`, children: tierNodes },
    });
    for (const tier of this.model.orderedTiers()) {
      const pols = this.model.policies.filter((p) => p.tier === tier.name && p.types.includes(type) && this.selects(p, pod)).sort(byOrderThenName);
      if (pols.length === 0) continue;
      const polNodes: TraceNode[] = [];
      tierNodes.push({ node: 'tier', matched: false, detail: `tier ${tier.name} (order ${tier.order ?? 'unset'}, defaultAction ${tier.defaultAction})`, children: polNodes });
      let passed = false;
      for (const pol of pols) {
        const ruleNodes: TraceNode[] = [];
        polNodes.push({ node: 'policy', matched: false, detail: `${pol.kind} ${policyId(pol)} (order ${pol.order ?? 'unset'}, selector ${pol.k8s ? `podSelector of ${pol.k8s.namespace}/${pol.k8s.name}` : formatSelector(pol.selector as SelectorNode)})`, children: ruleNodes });
        const by = (rule: number, action: string): DecidedBy => ({ kind: pol.kind, ...(pol.namespace ? { namespace: pol.namespace } : {}), name: pol.name, rule, direction: dir, tier: tier.name, ...(action ? {} : {}) });
        if (pol.k8s) {
          const e = this.netpol.evaluatePolicy(pol.k8s, dir, conn, { ipBlockMatchesPods: true, hostNetworkAsPod: false });
          ruleNodes.push(e.node);
          for (const r of e.node.children ?? []) allowRules.push(r);
          if (e.ok) {
            polNodes[polNodes.length - 1]!.matched = true;
            return done('allow', by(e.matchedRules[0]!, 'Allow'), `Allow by ${policyId(pol)} (Kubernetes NetworkPolicy ${pol.k8s.namespace}/${pol.k8s.name} ${dir}[${e.matchedRules[0]}]) in tier ${tier.name}`);
          }
          continue;
        }
        const rules = dir === 'ingress' ? pol.ingress : pol.egress;
        for (let i = 0; i < rules.length; i++) {
          const r = rules[i]!;
          const n = this.ruleMatch(r, i, pol, dir, conn);
          ruleNodes.push(n);
          if (r.action === 'Allow') allowRules.push(n);
          if (n.matched === 'undecidable' && r.action !== 'Log') {
            return done('undecidable', by(i, r.action), `${policyId(pol)} ${dir}[${i}] (${r.action}) cannot be decided: ${failingLeaves(n).filter((x) => x.matched === 'undecidable').map((x) => x.detail).join('; ')}`);
          }
          if (n.matched !== true) continue;
          if (r.action === 'Log') continue;
          polNodes[polNodes.length - 1]!.matched = true;
          if (r.action === 'Allow') return done('allow', by(i, 'Allow'), `Allow by ${pol.kind} ${policyId(pol)} ${dir}[${i}] in tier ${tier.name}`);
          if (r.action === 'Deny') return done('deny', by(i, 'Deny'), `Deny by ${pol.kind} ${policyId(pol)} ${dir}[${i}] in tier ${tier.name}`);
          passed = true;
          break;
        }
        if (passed) break;
      }
      tierNodes[tierNodes.length - 1]!.matched = passed || tier.defaultAction === 'Pass';
      if (passed) continue;
      if (tier.defaultAction === 'Pass') continue;
      return done('deny', { kind: 'Tier', name: tier.name, direction: dir, tier: tier.name }, `no rule matched in tier ${tier.name}, which selects ${peerName(subject)} for ${type} (${pols.map(policyId).join(', ')}): the tier's default action denies`);
    }
    return done('allow', { kind: 'Profile', name: `kns.${pod.namespace}`, direction: dir }, `${tierNodes.length ? 'passed every tier' : `no Calico policy selects ${peerName(subject)} for ${type}`}: profile kns.${pod.namespace} allows`);
  }

  decide(conn: CalicoConnection): LayerDecision {
    const saw = { source: peerName(conn.src), destination: `${peerName(conn.dst)}:${conn.port}`, protocol: conn.protocol };
    const eg = this.direction('egress', conn);
    const ing = this.direction('ingress', conn);
    const trace: TraceNode = { node: 'calico', matched: eg.verdict === 'allow' && ing.verdict === 'allow' ? true : eg.verdict === 'deny' || ing.verdict === 'deny' ? false : 'undecidable', detail: `egress of ${saw.source} AND ingress of ${peerName(conn.dst)}`, children: [eg.node, ing.node] };
    const notes: string[] = [];
    const denying = eg.verdict === 'deny' ? eg : ing.verdict === 'deny' ? ing : null;
    if (denying) {
      const dir = denying === eg ? 'egress' : 'ingress';
      let enforcement = '';
      if (dir === 'ingress' && conn.alp && conn.dst.kind === 'pod' && conn.dst.pod.sidecar) {
        const l4 = this.direction('ingress', { ...conn, alp: false });
        enforcement = l4.verdict === 'deny' ? ' (the dataplane drops it: no response)' : ' (application layer policy: Dikastes rejects it in the sidecar, HTTP 403 / PERMISSION_DENIED)';
      }
      const cm = closest(denying.allowRules);
      return { layer: 'calico', verdict: 'deny', decidedBy: denying.decidedBy, explanation: denying.explanation + enforcement, saw, trace, ...(cm ? { closestMiss: cm } : {}) };
    }
    if (eg.verdict === 'undecidable' || ing.verdict === 'undecidable') {
      const u = eg.verdict === 'undecidable' ? eg : ing;
      return { layer: 'calico', verdict: 'undecidable', decidedBy: u.decidedBy, explanation: u.explanation, saw, trace };
    }
    if (conn.alp) notes.push('application layer policy assumed in force (Istio sidecars present): serviceAccounts rules read the peer certificate as well as the source IP');
    return { layer: 'calico', verdict: 'allow', decidedBy: ing.decidedBy ?? eg.decidedBy, ...(ing.decidedBy && eg.decidedBy ? { alsoDecidedBy: [eg.decidedBy] } : {}), explanation: `egress: ${eg.explanation}; ingress: ${ing.explanation}`, saw, trace, ...(notes.length ? { notes } : {}) };
  }
}

function closest(rules: TraceNode[]): ClosestMiss | undefined {
  let best: { rule: TraceNode; failing: TraceNode[] } | undefined;
  for (const r of rules) {
    if (r.matched === true) continue;
    const f = failingLeaves(r);
    if (!best || f.length < best.failing.length) best = { rule: r, failing: f };
  }
  if (!best) return undefined;
  return { policy: best.rule.detail, failedConditions: best.failing.length, failing: best.failing, summary: `${best.rule.detail}: ${best.failing.map((f) => f.detail).join('; ')}` };
}
