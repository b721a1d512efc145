/**
 * `reach`: every policy layer's verdict for one connection, or NetworkPolicy's connectivity map of
 * all workload pairs. Analysis asks each layer in packet-path order and never knows its internals:
 *   source node (NetworkPolicy egress, Calico egress) → destination node (NetworkPolicy ingress,
 *   Calico ingress) → destination sidecar (Istio PeerAuthentication, then AuthorizationPolicy).
 * The node-level layers see the pod IPs and the application's container port (a sidecar redirects
 * inside the pod, after the node); in ambient mode pod-to-pod traffic is HBONE on 15008.
 */
import type { Cluster, ClusterPod, L4Protocol } from '../model/cluster.js';
import type { Diagnostic } from '../model/errors.js';
import type { LayerDecision, LayerVerdict, DecidedBy } from '../model/layers.js';
import type { RequestAttrs } from '../model/attrs.js';
import type { K8sObject } from '../readers/k8s.js';
import { buildCluster, findPod } from '../readers/manifests/cluster.js';
import { isNetworkPolicyObject, parseNetworkPolicy } from '../netpol/parse.js';
import { NetpolEngine, type NetpolConnection, type Peer } from '../netpol/engine.js';
import type { NetworkPolicy } from '../netpol/types.js';
import { connectivityMap, type ConnectivityMap, type MapOptions } from '../netpol/connectivity.js';
import { AdminEngine, isAdminPolicyObject, parseAdminPolicy, type AdminPolicy } from '../netpol/admin.js';
import { decideTiers } from '../netpol/tiers.js';
import { compileToConfigDump } from '../istio/compile/index.js';
import { deriveWorkload } from '../istio/compile/workload.js';
import { parseConfigDump } from '../readers/configdump/index.js';
import { decideRequest } from '../envoy/decide.js';
import { parsePolicyId } from '../istio/policy-id.js';
import { parseIpValue } from '../netpol/ipnet.js';
import { CalicoModel, isCalicoObject } from '../calico/parse.js';
import { CalicoEngine } from '../calico/engine.js';

export interface ReachInputs {
  cluster: Cluster;
  networkPolicies: NetworkPolicy[];
  /** AdminNetworkPolicy / BaselineAdminNetworkPolicy (policy.networking.k8s.io). */
  adminPolicies: AdminPolicy[];
  calico: CalicoModel | null;
  /** Istio security objects (AuthorizationPolicy, PeerAuthentication), for the compiler. */
  istioObjects: K8sObject[];
  /** Every object, for deriving workloads' Istio ports from Services. */
  objects: K8sObject[];
  diagnostics: Diagnostic[];
  counts: Record<string, number>;
}

const ISTIO_KINDS = new Set(['AuthorizationPolicy', 'PeerAuthentication']);

/** Sorts the objects into the layers' inputs and counts what is read and what is ignored. */
export function reachInputs(objects: K8sObject[], opts: { trustDomain?: string } = {}): ReachInputs {
  const { cluster, diagnostics } = buildCluster(objects);
  const networkPolicies: NetworkPolicy[] = [];
  const adminPolicies: AdminPolicy[] = [];
  const calicoObjects: K8sObject[] = [];
  const istioObjects: K8sObject[] = [];
  const counts: Record<string, number> = {};
  for (const o of objects) {
    counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    if (isNetworkPolicyObject(o)) {
      const p = parseNetworkPolicy(o, diagnostics);
      if (p) networkPolicies.push(p);
    } else if (isAdminPolicyObject(o)) {
      const a = parseAdminPolicy(o, diagnostics);
      if (a) adminPolicies.push(a);
    } else if (isCalicoObject(o)) calicoObjects.push(o);
    else if (ISTIO_KINDS.has(o.kind) && o.apiVersion.startsWith('security.istio.io/')) istioObjects.push(o);
  }
  if (counts.ClusterNetworkPolicy) diagnostics.push({ severity: 'warning', location: {}, message: `${counts.ClusterNetworkPolicy} ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) object(s) not evaluated: only AdminNetworkPolicy/BaselineAdminNetworkPolicy v1alpha1 are modelled` });
  const calico = calicoObjects.length ? CalicoModel.fromObjects(calicoObjects, networkPolicies, diagnostics) : null;
  void opts;
  return { cluster, networkPolicies, adminPolicies, calico, istioObjects, objects, diagnostics, counts };
}

export interface ReachQuery {
  from: string;
  to: string;
  port: number;
  protocol: L4Protocol;
  /** SPIFFE id the source presents instead of its own (a stolen key); null: it presents none (plaintext). */
  identity?: string | null;
  method?: string;
  path?: string;
  /** Calico application layer policy (Dikastes) is in force. Default: on when Istio sidecars are present. */
  alp?: boolean;
  trustDomain?: string;
}

export interface ReachEndpoint {
  ref: string;
  kind: 'pod' | 'ip';
  namespace?: string;
  pod?: string;
  workload?: string;
  ips: string[];
  serviceAccount?: string;
  sidecar?: boolean;
  ambient?: boolean;
  hostNetwork?: boolean;
}

export interface ReachResult {
  source: ReachEndpoint;
  destination: ReachEndpoint & { port: number; protocol: L4Protocol };
  identity: string | null;
  verdict: LayerVerdict;
  /** The first layer that denied, or null. */
  deniedBy: string | null;
  layers: LayerDecision[];
  notes: string[];
}

export class ReachError extends Error {}

function resolvePeer(cluster: Cluster, ref: string, what: string): Peer {
  if (parseIpValue(ref)) {
    const owner = cluster.pods.find((p) => !p.hostNetwork && p.ips.includes(ref));
    return owner ? { kind: 'pod', pod: owner } : { kind: 'ip', ip: ref };
  }
  const pods = findPod(cluster, ref).filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed');
  if (pods.length === 0) throw new ReachError(`${what} ${ref}: no pod or workload of that name in the inputs (expected <namespace>/<pod> or an IP address)`);
  return { kind: 'pod', pod: pods[0]! };
}

function endpoint(p: Peer, ref: string): ReachEndpoint {
  if (p.kind === 'ip') return { ref, kind: 'ip', ips: [p.ip] };
  const x = p.pod;
  return { ref, kind: 'pod', namespace: x.namespace, pod: x.name, workload: `${x.workload.name}[${x.workload.kind}]`, ips: x.ips, serviceAccount: x.serviceAccount, sidecar: x.sidecar, ambient: x.ambient, hostNetwork: x.hostNetwork };
}

const spiffe = (td: string, pod: ClusterPod) => `spiffe://${td}/ns/${pod.namespace}/sa/${pod.serviceAccount}`;

interface Engines {
  np: NetpolEngine;
  admin: AdminEngine | null;
  calico: CalicoEngine | null;
}
const engineCache = new WeakMap<ReachInputs, Engines>();

/** The layers' engines for a set of inputs, built once (a capture asks for thousands of connections). */
function enginesOf(inputs: ReachInputs): Engines {
  let e = engineCache.get(inputs);
  if (!e) {
    e = {
      np: new NetpolEngine(inputs.networkPolicies, inputs.cluster),
      admin: inputs.adminPolicies.length ? new AdminEngine(inputs.adminPolicies, inputs.cluster, inputs.diagnostics) : null,
      calico: inputs.calico ? new CalicoEngine(inputs.calico, inputs.cluster) : null,
    };
    engineCache.set(inputs, e);
  }
  return e;
}

/** Per-layer verdicts for one connection. */
export function analyzeReach(inputs: ReachInputs, q: ReachQuery): ReachResult {
  const td = q.trustDomain ?? 'cluster.local';
  const src = resolvePeer(inputs.cluster, q.from, '--from');
  const dst = resolvePeer(inputs.cluster, q.to, '--to');
  const notes: string[] = [];
  const srcPod = src.kind === 'pod' ? src.pod : null;
  const dstPod = dst.kind === 'pod' ? dst.pod : null;
  // The identity the source presents: its own when it has a sidecar (or is ambient), or the one given.
  const identity = q.identity !== undefined ? q.identity : (srcPod && (srcPod.sidecar || srcPod.ambient) ? spiffe(td, srcPod) : null);
  if (q.identity && srcPod && q.identity !== spiffe(td, srcPod)) notes.push(`${q.from} presents ${q.identity}, not its own identity ${spiffe(td, srcPod)}`);

  // What the node-level layers see.
  let l4Port = q.port;
  let view = '';
  if (dstPod?.ambient && (srcPod?.ambient || !srcPod)) {
    l4Port = 15008;
    view = `ambient: ztunnel carries the connection as HBONE, so the node sees TCP ${dstPod.ips[0] ?? dstPod.name}:15008, not :${q.port}`;
  } else if (dstPod?.sidecar) view = `sidecar: the node sees the application port ${q.port}; the redirect to 15006 happens inside the pod`;
  const conn: NetpolConnection = { src, dst, protocol: q.protocol, port: l4Port };
  const layers: LayerDecision[] = [];

  const engines = enginesOf(inputs);
  let np: LayerDecision;
  let admin: LayerDecision;
  if (engines.admin) {
    const t = decideTiers(engines.np, engines.admin, conn);
    np = t.networkpolicy;
    admin = t.adminnetworkpolicy;
  } else {
    np = engines.np.decide(conn);
    admin = { layer: 'adminnetworkpolicy', verdict: 'not-applicable', decidedBy: null, explanation: 'no AdminNetworkPolicy or BaselineAdminNetworkPolicy in the inputs' };
  }
  if (view && np.saw) np.saw = { ...np.saw, note: view };
  if (inputs.networkPolicies.length === 0 && np.verdict !== 'not-applicable') np.explanation = `no NetworkPolicy in the inputs: ${np.explanation}`;
  layers.push(np, admin);
  if (inputs.calico) {
    const alp = q.alp ?? inputs.cluster.pods.some((p) => p.sidecar);
    layers.push(engines.calico!.decide({ ...conn, identity, method: q.method, path: q.path, alp }));
  } else layers.push({ layer: 'calico', verdict: 'not-applicable', decidedBy: null, explanation: 'no Calico policy objects in the inputs' });

  layers.push(...istioLayers(inputs, q, src, dstPod, identity, td));
  const order: LayerVerdict[] = ['deny', 'implementation-defined', 'undecidable'];
  const applicable = layers.filter((l) => l.verdict !== 'not-applicable');
  const verdict: LayerVerdict = order.find((v) => applicable.some((l) => l.verdict === v)) ?? (applicable.length ? 'allow' : 'allow');
  const denied = layers.find((l) => l.verdict === 'deny');
  return {
    source: endpoint(src, q.from),
    destination: { ...endpoint(dst, q.to), port: q.port, protocol: q.protocol },
    identity,
    verdict,
    deniedBy: denied?.layer ?? null,
    layers,
    notes,
  };
}


const compileCache = new WeakMap<ReachInputs, Map<string, ReturnType<typeof compileWorkload>>>();

/** The destination sidecar's inbound config as istiod would render it from the inputs' policies. */
function compileWorkload(inputs: ReachInputs, dstPod: ClusterPod, td: string) {
  const derived = deriveWorkload(inputs.objects, dstPod.namespace, dstPod.workload.kind === 'Pod' ? dstPod.name : dstPod.workload.kind === 'ReplicaSet' ? dstPod.name : dstPod.workload.name) ?? deriveWorkload(inputs.objects, dstPod.namespace, dstPod.name);
  const workload = derived?.spec ?? { namespace: dstPod.namespace, name: dstPod.name, labels: dstPod.labels, serviceAccount: dstPod.serviceAccount, ports: dstPod.ports.filter((p) => p.protocol === 'TCP').map((p) => ({ port: p.containerPort, protocol: 'auto' })) };
  if (dstPod.ips.length && !workload.ips) workload.ips = dstPod.ips;
  const { configDump, compiled } = compileToConfigDump(inputs.istioObjects, workload, { trustDomain: td });
  inputs.diagnostics.push(...compiled.diagnostics);
  return { workload, dump: parseConfigDump(configDump, `compiled:${workload.namespace}/${workload.name ?? ''}`), compiled };
}

/** Compiled once per destination pod and trust domain (the compiler's diagnostics are reported once). */
function compiledFor(inputs: ReachInputs, dstPod: ClusterPod, td: string): ReturnType<typeof compileWorkload> {
  let m = compileCache.get(inputs);
  if (!m) compileCache.set(inputs, (m = new Map()));
  const key = `${td}|${dstPod.namespace}/${dstPod.name}`;
  let c = m.get(key);
  if (!c) m.set(key, (c = compileWorkload(inputs, dstPod, td)));
  return c;
}

/** Istio PeerAuthentication and AuthorizationPolicy at the destination sidecar, by the compiler and the RBAC engine. */
function istioLayers(inputs: ReachInputs, q: ReachQuery, src: Peer, dstPod: ClusterPod | null, identity: string | null, td: string): LayerDecision[] {
  const na = (layer: 'istio-peerauthentication' | 'istio-authorization', why: string): LayerDecision => ({ layer, verdict: 'not-applicable', decidedBy: null, explanation: why });
  if (inputs.istioObjects.length === 0) return [na('istio-peerauthentication', 'no Istio PeerAuthentication/AuthorizationPolicy in the inputs'), na('istio-authorization', 'no Istio PeerAuthentication/AuthorizationPolicy in the inputs')];
  if (!dstPod || !dstPod.sidecar) {
    const why = !dstPod ? 'the destination is not a pod' : dstPod.ambient ? 'the destination is in ambient mode: ztunnel/waypoint enforce (not modelled by reach)' : 'the destination has no Istio sidecar';
    return [na('istio-peerauthentication', why), na('istio-authorization', why)];
  }
  const { workload, dump, compiled } = compiledFor(inputs, dstPod, td);
  const portMtls = compiled.mtls.ports.find((p) => p.port === q.port);
  const mode = portMtls?.mode ?? compiled.mtls.workload;
  const paBy: DecidedBy | null = compiled.mtls.appliedPeerAuthentications.length
    ? (() => {
        const [ns, name] = compiled.mtls.appliedPeerAuthentications[compiled.mtls.appliedPeerAuthentications.length - 1]!.split('/');
        return { kind: 'PeerAuthentication', namespace: ns, name: name! };
      })()
    : null;
  const tls = identity !== null;
  const pa: LayerDecision = {
    layer: 'istio-peerauthentication',
    verdict: mode === 'STRICT' && !tls ? 'deny' : 'allow',
    decidedBy: paBy,
    explanation:
      mode === 'STRICT' && !tls
        ? `mTLS mode STRICT on port ${q.port}: a plaintext connection matches no filter chain (filter_chain_not_found)`
        : `mTLS mode ${mode} on port ${q.port}${paBy ? '' : ' (no PeerAuthentication: PERMISSIVE default)'}: ${tls ? `the source presents ${identity}` : 'plaintext accepted'}`,
  };
  if (pa.verdict === 'deny') return [pa, na('istio-authorization', 'the connection is refused before authorization (PeerAuthentication)')];
  const srcIp = src.kind === 'pod' ? src.pod.ips[0] : src.ip;
  const dstIp = dstPod.ips[0] ?? workload.ips?.[0] ?? '10.0.0.2';
  const req: RequestAttrs = {
    ...(srcIp ? { source: { address: srcIp, port: 40000 }, directRemote: { address: srcIp }, remote: { address: srcIp } } : {}),
    destination: { address: dstIp, port: q.port },
    ...(tls ? { tls: { uriSans: [identity!], dnsSans: [], subject: '', peerCertificateValidated: true } } : {}),
    ...(q.method || q.path ? { http: { method: q.method ?? 'GET', path: q.path ?? '/', authority: `${dstPod.workload.name}:${q.port}`, headers: {} } } : {}),
  } as RequestAttrs;
  const d = decideRequest(dump, req);
  const id = d.policy ? parsePolicyId(d.policy) : null;
  const verdict: LayerVerdict = d.decision === 'ALLOW' ? 'allow' : d.decision === 'DENY' ? 'deny' : 'undecidable';
  const filterNote = d.filters.length === 0 ? 'no AuthorizationPolicy applies to the workload' : `${d.filters.length} RBAC filter(s) from ${compiled.policies.map((p) => `${p.namespace}/${p.name} (${p.action})`).join(', ') || 'no policy'}`;
  return [
    pa,
    {
      layer: 'istio-authorization',
      verdict,
      decidedBy:
        id && id.namespace && id.policy
          ? { kind: 'AuthorizationPolicy', namespace: id.namespace, name: id.policy, ...(id.rule !== null ? { rule: id.rule } : {}) }
          : verdict === 'deny'
            ? (() => {
                // Denied because no ALLOW policy matched: the allow-list that was in force decided.
                const allow = compiled.policies.find((p) => p.action === 'ALLOW' && !p.dryRun);
                return allow ? { kind: 'AuthorizationPolicy', namespace: allow.namespace, name: allow.name } : null;
              })()
            : null,
      explanation: `${d.decision}${d.responseCodeDetails ? ` ${d.responseCodeDetails}` : d.connectionTerminationDetails ? ` ${d.connectionTerminationDetails}` : ''}: ${filterNote}${!q.method && !q.path ? ' (no --method/--path: evaluated as a connection, HTTP-only rules as Envoy renders them on TCP chains)' : ''}`,
      ...(d.closestMiss?.[0] ? { closestMiss: d.closestMiss[0] } : {}),
      ...(d.reasons?.length ? { notes: d.reasons } : {}),
    },
  ];
}

/** The NetworkPolicy connectivity map of all workload pairs. */
export function analyzeConnectivity(inputs: ReachInputs, opts: MapOptions = {}): ConnectivityMap {
  const m = connectivityMap(new NetpolEngine(inputs.networkPolicies, inputs.cluster), opts, inputs.adminPolicies.length ? new AdminEngine(inputs.adminPolicies, inputs.cluster, inputs.diagnostics) : undefined);
  if (inputs.calico) m.notes.push(`the map covers the Kubernetes NetworkPolicy API (NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy); the ${inputs.calico.policies.filter((p) => !p.k8s).length} Calico policies are evaluated per connection (--from/--to)`);
  if (inputs.istioObjects.length) m.notes.push('Istio policies are evaluated per connection (--from/--to), not in the map');
  return m;
}

export interface ReachFinding {
  id: 'gnp-serviceaccount-any-namespace' | 'unselected-in-locked-namespace' | 'blocks-mesh-port';
  severity: 'high' | 'medium' | 'low';
  summary: string;
  object?: string;
  /** Where the policies involved are written (file, line, document path). */
  evidence?: { file: string; line?: number; path: string }[];
}

const sourceOf = (p: { source?: { file: string; line?: number; path: string } }): { file: string; line?: number; path: string }[] =>
  p.source ? [{ file: p.source.file, ...(p.source.line !== undefined ? { line: p.source.line } : {}), path: p.source.path }] : [];

/**
 * Lints only the joined view can give: Calico serviceAccounts rules that any namespace can satisfy,
 * pods left open in a namespace whose other pods NetworkPolicy isolates, and NetworkPolicy that stops
 * the mesh's own traffic (HBONE 15008 into ambient pods, istiod 15012/15017 from meshed pods).
 */
export function lintNetworkLayers(inputs: ReachInputs): ReachFinding[] {
  const out: ReachFinding[] = [];
  for (const p of inputs.calico?.policies ?? []) {
    if (p.kind !== 'GlobalNetworkPolicy') continue;
    for (const [dir, rules] of [['ingress', p.ingress], ['egress', p.egress]] as const) {
      rules.forEach((r, i) => {
        for (const side of ['source', 'destination'] as const) {
          const e = r[side];
          if (e.serviceAccounts?.names?.length && !e.namespaceSelector && r.action === 'Allow') {
            out.push({ id: 'gnp-serviceaccount-any-namespace', severity: 'high', evidence: sourceOf(p), object: `GlobalNetworkPolicy ${p.name} ${dir}[${i}]`, summary: `GlobalNetworkPolicy ${p.name} ${dir}[${i}] allows ${side}.serviceAccounts.names {${e.serviceAccounts.names.join(', ')}} with no namespaceSelector: anyone who can create a service account of that name in any namespace passes, no stolen key needed (add ${side}.namespaceSelector)` });
          }
        }
      });
    }
  }
  const engine = new NetpolEngine(inputs.networkPolicies, inputs.cluster);
  const byNs = new Map<string, ClusterPod[]>();
  for (const p of inputs.cluster.pods) if (!p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed') byNs.set(p.namespace, [...(byNs.get(p.namespace) ?? []), p]);
  for (const [ns, pods] of byNs) {
    const isolated = pods.filter((p) => engine.isolating(p, 'Ingress').length > 0);
    const open = pods.filter((p) => engine.isolating(p, 'Ingress').length === 0);
    if (isolated.length && open.length) {
      const names = [...new Set(open.map((p) => `${p.workload.name}[${p.workload.kind}]`))];
      const policies = [...new Map(isolated.flatMap((p) => engine.isolating(p, 'Ingress')).map((p) => [`${p.namespace}/${p.name}`, p])).values()];
      out.push({ id: 'unselected-in-locked-namespace', severity: 'medium', evidence: policies.flatMap(sourceOf), object: `namespace ${ns}`, summary: `namespace ${ns}: NetworkPolicy isolates ${[...new Set(isolated.map((p) => p.workload.name))].join(', ')} for ingress, but no policy selects ${names.join(', ')}: they accept connections from anywhere` });
    }
  }
  const istiod = inputs.cluster.pods.find((p) => p.labels.app === 'istiod' || p.labels.istio === 'pilot');
  for (const p of inputs.cluster.pods) {
    if (p.hostNetwork) continue;
    if (p.ambient && engine.isolating(p, 'Ingress').length) {
      const src: Peer = { kind: 'ip', ip: '240.0.0.1' };
      const ok = engine.evaluateDirection('ingress', { src, dst: { kind: 'pod', pod: p }, protocol: 'TCP', port: 15008 });
      if (!ok.ok) out.push({ id: 'blocks-mesh-port', severity: 'high', evidence: ok.isolatedBy.flatMap(sourceOf), object: `${p.namespace}/${p.name}`, summary: `${p.namespace}/${p.name} is in ambient mode and isolated for ingress by ${ok.isolatedBy.map((x) => x.name).join(', ')}, which does not allow TCP 15008 (HBONE): meshed clients cannot reach it` });
      const probe = engine.evaluateDirection('ingress', { src: { kind: 'ip', ip: '169.254.7.127' }, dst: { kind: 'pod', pod: p }, protocol: 'TCP', port: p.ports[0]?.containerPort ?? 8080 });
      if (!probe.ok) out.push({ id: 'blocks-mesh-port', severity: 'medium', evidence: probe.isolatedBy.flatMap(sourceOf), object: `${p.namespace}/${p.name}`, summary: `${p.namespace}/${p.name} is in ambient mode: kubelet probes arrive from 169.254.7.127, which its ingress policies do not allow (add an ipBlock 169.254.7.127/32)` });
    }
    if ((p.sidecar || p.ambient) && istiod && engine.isolating(p, 'Egress').length) {
      for (const port of [15012, 15017]) {
        const r = engine.evaluateDirection('egress', { src: { kind: 'pod', pod: p }, dst: { kind: 'pod', pod: istiod }, protocol: 'TCP', port });
        if (!r.ok) out.push({ id: 'blocks-mesh-port', severity: 'high', evidence: r.isolatedBy.flatMap(sourceOf), object: `${p.namespace}/${p.name}`, summary: `${p.namespace}/${p.name} is meshed and isolated for egress by ${r.isolatedBy.map((x) => x.name).join(', ')}, which does not allow TCP ${port} to istiod (${istiod.namespace}/${istiod.name})` });
      }
    }
  }
  return out;
}
