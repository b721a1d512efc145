/**
 * Kubernetes objects (readers/k8s.ts) → the cluster facts the network-policy engines read: pods and
 * workload templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
 * CronJob: one representative pod each, as np-guard/netpol-analyzer models them), namespaces with
 * their labels, service accounts, nodes. Objects of other kinds are left to their own readers.
 */
import type { Cluster, ClusterNamespace, ClusterPod, ContainerPort, L4Protocol } from '../../model/cluster.js';
import type { Diagnostic } from '../../model/errors.js';
import type { K8sObject } from '../k8s.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']);

function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
}

function containerPorts(podSpec: Obj): ContainerPort[] {
  const out: ContainerPort[] = [];
  const containers = [...(Array.isArray(podSpec.containers) ? podSpec.containers : []), ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [])];
  for (const c of containers) {
    if (!isObj(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isObj(p) || typeof p.containerPort !== 'number') continue;
      const proto = (str(p.protocol) ?? 'TCP') as L4Protocol;
      out.push({ ...(typeof p.name === 'string' ? { name: p.name } : {}), containerPort: p.containerPort, protocol: proto });
    }
  }
  return out;
}

function hasSidecarContainer(podSpec: Obj): boolean {
  const containers = [...(Array.isArray(podSpec.containers) ? podSpec.containers : []), ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [])];
  return containers.some((c) => isObj(c) && c.name === 'istio-proxy');
}

export interface ClusterRead {
  cluster: Cluster;
  diagnostics: Diagnostic[];
}

/** Builds the cluster model. Pods whose phase is Succeeded/Failed are kept but flagged by phase. */
export function buildCluster(objects: K8sObject[]): ClusterRead {
  const diagnostics: Diagnostic[] = [];
  const namespaces = new Map<string, ClusterNamespace>();
  const cluster: Cluster = { pods: [], namespaces, serviceAccounts: [], nodes: [] };
  for (const o of objects) {
    if (o.kind === 'Namespace' && o.apiVersion === 'v1') {
      namespaces.set(o.metadata.name, { name: o.metadata.name, labels: { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name } });
    } else if (o.kind === 'Node' && o.apiVersion === 'v1') {
      const st = isObj(o.raw.status) ? o.raw.status : {};
      const addresses = Array.isArray(st.addresses) ? st.addresses.filter(isObj).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => String(a.address)) : [];
      cluster.nodes.push({ name: o.metadata.name, addresses });
    } else if (o.kind === 'ServiceAccount' && o.apiVersion === 'v1') {
      cluster.serviceAccounts.push({ namespace: o.metadata.namespace ?? 'default', name: o.metadata.name, labels: o.metadata.labels ?? {} });
    }
  }
  const implied = (ns: string) => {
    if (!namespaces.has(ns)) namespaces.set(ns, { name: ns, labels: { 'kubernetes.io/metadata.name': ns }, implied: true });
    return namespaces.get(ns)!;
  };
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    if (o.kind === 'Pod' && o.apiVersion === 'v1') {
      const spec = isObj(o.raw.spec) ? o.raw.spec : {};
      const status = isObj(o.raw.status) ? o.raw.status : {};
      const meta = isObj(o.raw.metadata) ? o.raw.metadata : {};
      const ips = new Set<string>();
      if (Array.isArray(status.podIPs)) for (const p of status.podIPs) if (isObj(p) && typeof p.ip === 'string') ips.add(p.ip);
      if (typeof status.podIP === 'string' && status.podIP) ips.add(status.podIP);
      const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObj) : [];
      const owner = owners.find((x) => x.controller === true) ?? owners[0];
      const labels = o.metadata.labels ?? {};
      const annotations = o.metadata.annotations ?? {};
      const nsObj = implied(ns);
      cluster.pods.push({
        namespace: ns,
        name: o.metadata.name,
        labels,
        ips: [...ips],
        serviceAccount: str(spec.serviceAccountName) ?? str(spec.serviceAccount) ?? 'default',
        hostNetwork: spec.hostNetwork === true,
        ...(str(spec.nodeName) ? { nodeName: str(spec.nodeName) } : {}),
        ...(str(status.hostIP) ? { hostIP: str(status.hostIP) } : {}),
        ports: containerPorts(spec),
        workload: owner && typeof owner.name === 'string' && typeof owner.kind === 'string' ? { kind: owner.kind, name: owner.name } : { kind: 'Pod', name: o.metadata.name },
        sidecar: 'sidecar.istio.io/status' in annotations || hasSidecarContainer(spec),
        ambient: isAmbient(labels, annotations, nsObj),
        ...(str(status.phase) ? { phase: str(status.phase) } : {}),
        ref: { file: o.source.file, ...(o.source.line !== undefined ? { line: o.source.line } : {}), stream: `${o.source.path} Pod ${ns}/${o.metadata.name}` },
      });
    } else if (WORKLOAD_KINDS.has(o.kind)) {
      const spec = isObj(o.raw.spec) ? o.raw.spec : {};
      const jt = isObj(spec.jobTemplate) && isObj(spec.jobTemplate.spec) ? spec.jobTemplate.spec : undefined;
      const tpl = isObj(spec.template) ? spec.template : jt && isObj(jt.template) ? jt.template : undefined;
      if (!tpl) {
        diagnostics.push({ severity: 'warning', location: { file: o.source.file, line: o.source.line, path: `${o.source.path}.spec.template` }, message: `${o.kind} ${ns}/${o.metadata.name} skipped: expected a pod template` });
        continue;
      }
      const md = isObj(tpl.metadata) ? tpl.metadata : {};
      const ps = isObj(tpl.spec) ? tpl.spec : {};
      const labels = strMap(md.labels);
      const annotations = strMap(md.annotations);
      const nsObj = implied(ns);
      const inject = annotations['sidecar.istio.io/inject'] ?? labels['sidecar.istio.io/inject'];
      const nsInject = nsObj.labels['istio-injection'] === 'enabled' || 'istio.io/rev' in nsObj.labels;
      cluster.pods.push({
        namespace: ns,
        name: o.metadata.name,
        labels,
        ips: [],
        serviceAccount: str(ps.serviceAccountName) ?? str(ps.serviceAccount) ?? 'default',
        hostNetwork: ps.hostNetwork === true,
        ports: containerPorts(ps),
        workload: { kind: o.kind, name: o.metadata.name },
        sidecar: hasSidecarContainer(ps) || inject === 'true' || (nsInject && inject !== 'false'),
        ambient: isAmbient(labels, annotations, nsObj),
        ref: { file: o.source.file, ...(o.source.line !== undefined ? { line: o.source.line } : {}), stream: `${o.source.path} ${o.kind} ${ns}/${o.metadata.name}` },
      });
    } else if (o.metadata.namespace) {
      implied(o.metadata.namespace);
    }
  }
  return { cluster, diagnostics };
}

function isAmbient(labels: Record<string, string>, annotations: Record<string, string>, ns: ClusterNamespace): boolean {
  if (labels['istio.io/dataplane-mode'] === 'none') return false;
  return labels['istio.io/dataplane-mode'] === 'ambient' || annotations['ambient.istio.io/redirection'] === 'enabled' || ns.labels['istio.io/dataplane-mode'] === 'ambient';
}

/** Finds a pod by `ns/name` (or `name` in `default`): a pod name, or a workload name for templates and owned pods. */
export function findPod(cluster: Cluster, ref: string): ClusterPod[] {
  const m = /^([^/]+)\/([^/]+)$/.exec(ref);
  const ns = m ? m[1]! : 'default';
  const name = m ? m[2]! : ref;
  const exact = cluster.pods.filter((p) => p.namespace === ns && p.name === name);
  if (exact.length) return exact;
  const owned = cluster.pods.filter((p) => p.namespace === ns && p.workload.name === name);
  if (owned.length) return owned;
  // A Deployment's pods are owned by ReplicaSet `<name>-<hash>`.
  const deployed = cluster.pods.filter((p) => p.namespace === ns && p.workload.kind === 'ReplicaSet' && p.workload.name.replace(/-[a-z0-9]{5,10}$/, '') === name);
  if (deployed.length) return deployed;
  // Pods listed without ownerReferences (a trimmed `kubectl get pods` inventory): Istio's canonical
  // workload name from the labels, as the other commands name workloads.
  return cluster.pods.filter((p) => p.namespace === ns && (p.labels['service.istio.io/canonical-name'] ?? p.labels['app.kubernetes.io/name'] ?? p.labels.app) === name);
}
