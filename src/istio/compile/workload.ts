/**
 * Describes the workload a compilation is for: from flags, or derived from Kubernetes objects
 * (a Pod, or a Deployment/StatefulSet/DaemonSet/ReplicaSet/Job template, plus the Services that
 * select it for port protocols, the way Istio picks a protocol: `appProtocol`, else the port-name prefix).
 */
import type { K8sObject } from '../../readers/k8s.js';
import type { WorkloadPort, WorkloadSpec } from './index.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController']);

/** Istio protocol selection (`protocol.Parse` of appProtocol or the name prefix before `-`). */
export function istioProtocol(nameOrAppProtocol: string | undefined): string {
  if (!nameOrAppProtocol) return 'auto';
  const p = nameOrAppProtocol.toLowerCase().split('-')[0]!;
  if (['http', 'http2', 'grpc', 'h2c', 'grpc-web'].includes(p)) return 'http';
  if (['tcp', 'tls', 'https', 'mongo', 'redis', 'mysql'].includes(p)) return 'tcp';
  return 'auto';
}

export interface DerivedWorkload {
  spec: WorkloadSpec;
  /** Where the pod template came from, for messages. */
  from: string;
}

/** Finds `namespace/name` among the objects; null when nothing matches. */
export function deriveWorkload(objects: K8sObject[], namespace: string, name: string): DerivedWorkload | null {
  const inNs = (o: K8sObject) => (o.metadata.namespace ?? namespace) === namespace;
  let labels: Record<string, string> | undefined;
  let podSpec: Record<string, unknown> | undefined;
  let from = '';
  const pod = objects.find((o) => o.kind === 'Pod' && inNs(o) && o.metadata.name === name);
  if (pod) {
    labels = pod.metadata.labels ?? {};
    podSpec = isRecord(pod.raw.spec) ? pod.raw.spec : {};
    from = `Pod ${namespace}/${name} (${pod.source.file})`;
  } else {
    const wl = objects.find((o) => WORKLOAD_KINDS.has(o.kind) && inNs(o) && o.metadata.name === name);
    if (wl) {
      const spec = isRecord(wl.raw.spec) ? wl.raw.spec : {};
      const tpl = isRecord(spec.template) ? spec.template : isRecord(spec.jobTemplate) ? spec.jobTemplate : {};
      const md = isRecord(tpl.metadata) ? tpl.metadata : {};
      labels = isRecord(md.labels) ? Object.fromEntries(Object.entries(md.labels).map(([k, v]) => [k, String(v)])) : {};
      podSpec = isRecord(tpl.spec) ? tpl.spec : {};
      from = `${wl.kind} ${namespace}/${name} (${wl.source.file})`;
    }
  }
  if (!labels || !podSpec) return null;
  const status = pod && isRecord(pod.raw.status) ? pod.raw.status : {};
  const podIps = Array.isArray(status.podIPs) ? status.podIPs.filter(isRecord).map((x) => String(x.ip)) : typeof status.podIP === 'string' ? [status.podIP] : [];
  const ports: WorkloadPort[] = [];
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.filter(isRecord) : [];
  const named = new Map<string, number>();
  for (const c of containers) {
    if (c.name === 'istio-proxy') continue;
    for (const p of Array.isArray(c.ports) ? c.ports.filter(isRecord) : []) {
      if (typeof p.containerPort !== 'number' || (typeof p.protocol === 'string' && p.protocol !== 'TCP')) continue;
      if (!ports.some((x) => x.port === p.containerPort)) ports.push({ port: p.containerPort, protocol: 'auto' });
      if (typeof p.name === 'string') named.set(p.name, p.containerPort);
    }
  }
  // Services selecting this workload decide each target port's protocol.
  for (const svc of objects.filter((o) => o.kind === 'Service' && inNs(o))) {
    const spec = isRecord(svc.raw.spec) ? svc.raw.spec : {};
    const sel = isRecord(spec.selector) ? spec.selector : null;
    if (!sel || Object.keys(sel).length === 0 || !Object.entries(sel).every(([k, v]) => labels![k] === String(v))) continue;
    for (const sp of Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : []) {
      if (typeof sp.protocol === 'string' && sp.protocol !== 'TCP') continue;
      const tp = sp.targetPort ?? sp.port;
      const port = typeof tp === 'number' ? tp : typeof tp === 'string' ? (named.get(tp) ?? Number(tp)) : NaN;
      if (!Number.isInteger(port)) continue;
      const proto = istioProtocol(typeof sp.appProtocol === 'string' ? sp.appProtocol : typeof sp.name === 'string' ? sp.name : undefined);
      const existing = ports.find((x) => x.port === port);
      if (existing) {
        if (existing.protocol === 'auto') existing.protocol = proto;
      } else ports.push({ port, protocol: proto });
    }
  }
  ports.sort((a, b) => a.port - b.port);
  const sa = typeof podSpec.serviceAccountName === 'string' ? podSpec.serviceAccountName : typeof podSpec.serviceAccount === 'string' ? podSpec.serviceAccount : 'default';
  return { spec: { namespace, name, labels, serviceAccount: sa, ports, ...(podIps.length ? { ips: podIps } : {}) }, from };
}

/** `9080/http,9000/tcp,8080` → ports (a bare number is `auto`). */
export function parsePortsFlag(text: string): WorkloadPort[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\d+)(?:\/([A-Za-z0-9-]+))?$/.exec(s);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new Error(`--ports: expected <port>[/<protocol>] (e.g. 9080/http), found '${s}'`);
    return { port: Number(m[1]), protocol: m[2] ? m[2].toLowerCase() : 'auto' };
  });
}

/** `app=reviews,version=v1` → labels. */
export function parseLabelsFlag(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = s.indexOf('=');
    if (i <= 0) throw new Error(`--labels: expected key=value, found '${s}'`);
    out[s.slice(0, i)] = s.slice(i + 1);
  }
  return out;
}
