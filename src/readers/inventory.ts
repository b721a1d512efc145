/**
 * Kubernetes inventory reader: the output of `kubectl get pods,services,serviceaccounts -A -o json`
 * (a `List`), any single Pod / Service / ServiceAccount object, or a typed list (`PodList`, ...),
 * in JSON or YAML. It maps IP addresses to pods, namespaces, service accounts and labels so that
 * the report can name the workloads behind the addresses seen in captures and logs.
 */
import { parseAllDocuments } from 'yaml';
import { InputError, type Diagnostic } from '../model/errors.js';
import { yamlToJs } from './structured.js';
import { readWholeText } from './files.js';
import { normalizeIp } from './ip-text.js';
import type { EvidenceRef } from '../model/records.js';

export interface InventoryPod {
  name: string;
  namespace: string;
  /** status.podIPs (or status.podIP). */
  ips: string[];
  serviceAccount: string;
  labels: Record<string, string>;
  /** Workload name: Istio's canonical name, app labels, or the owner (Deployment / StatefulSet...). */
  workload: string;
  nodeName?: string;
  hostNetwork: boolean;
  phase?: string;
  /** Whether the pod carries an Istio sidecar (container `istio-proxy` or the sidecar status annotation). */
  sidecar: boolean;
  /** `metadata.creationTimestamp` (epoch ms). */
  createdMs?: number;
  /** `status.startTime`: when the kubelet took the pod (its sandbox and IP come after; epoch ms). */
  startedMs?: number;
  /** `metadata.deletionTimestamp`: the pod is (being) deleted; its IP is released by then (epoch ms). */
  deletedMs?: number;
  /** A Succeeded/Failed pod: the newest container `state.terminated.finishedAt` (its IP is released; epoch ms). */
  finishedMs?: number;
  ref: EvidenceRef;
}

export interface InventoryServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface InventoryService {
  name: string;
  namespace: string;
  selector: Record<string, string> | null;
  clusterIPs: string[];
  ports: InventoryServicePort[];
  ref: EvidenceRef;
}

export interface InventoryServiceAccount {
  name: string;
  namespace: string;
  ref: EvidenceRef;
}

export interface Inventory {
  pods: InventoryPod[];
  services: InventoryService[];
  serviceAccounts: InventoryServiceAccount[];
  /**
   * The inventory's own time: the newest timestamp its objects carry (creation, start, deletion,
   * conditions, container states). `kubectl get -o json` does not record when it ran, so this is a
   * lower bound: every pod listed without a deletion was running at least until then.
   */
  asOfMs?: number;
}

/** What an address resolves to. */
export interface WorkloadRef {
  /** `pod` (a pod IP), `service` (a ClusterIP), `node` (a hostNetwork pod's IP), `proxy` (from a config dump). */
  kind: 'pod' | 'service' | 'node' | 'proxy';
  /** Stable graph id, e.g. `default/productpage` (namespace/workload), `svc:default/details`. */
  id: string;
  name: string;
  namespace?: string;
  pod?: string;
  serviceAccount?: string;
  labels?: Record<string, string>;
  /** Services whose selector matches the pod. */
  services: string[];
  /** Where the mapping came from. */
  source: 'inventory' | 'config-dump';
  /** Set when several pods claim the address (e.g. hostNetwork pods sharing a node IP). */
  ambiguous?: string[];
  sidecar?: boolean;
}

export function emptyInventory(): Inventory {
  return { pods: [], services: [], serviceAccounts: [] };
}

const INVENTORY_KINDS = new Set(['Pod', 'Service', 'ServiceAccount']);
const LIST_KINDS = new Set(['List', 'PodList', 'ServiceList', 'ServiceAccountList']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** True for a Kubernetes Pod/Service/ServiceAccount object or a list holding at least one of them. */
export function isInventory(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  const kind = str(doc.kind);
  if (kind && INVENTORY_KINDS.has(kind) && typeof doc.apiVersion === 'string') return true;
  if (kind && LIST_KINDS.has(kind) && Array.isArray(doc.items)) {
    if (doc.items.length === 0) return kind !== 'List' || doc.apiVersion === 'v1';
    return doc.items.some((i) => isObj(i) && INVENTORY_KINDS.has(str(i.kind) ?? '')) || kind !== 'List';
  }
  return false;
}

function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Deployment-style name from owner references: ReplicaSet `name-<hash>` → `name`. */
function ownerWorkload(meta: Obj, podName: string): string | undefined {
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObj) : [];
  const o = owners.find((x) => x.controller === true) ?? owners[0];
  if (o) {
    const kind = str(o.kind);
    const name = str(o.name);
    if (name) {
      if (kind === 'ReplicaSet') {
        const m = /^(.*)-[a-z0-9]{5,10}$/.exec(name);
        return m ? m[1] : name;
      }
      return name;
    }
  }
  const gen = str(meta.generateName);
  if (gen) return gen.replace(/-[a-z0-9]{5,10}-$/, '').replace(/-$/, '');
  return podName ? undefined : undefined;
}

/** Istio's canonical service name rules (labels first, then the controller). */
export function workloadName(labels: Record<string, string>, meta: Obj, podName: string): string {
  return (
    labels['service.istio.io/canonical-name'] ??
    labels['app.kubernetes.io/name'] ??
    labels['app'] ??
    ownerWorkload(meta, podName) ??
    podName
  );
}

/**
 * Parses one inventory document (a List or a single object). Items of other kinds are ignored;
 * malformed items are reported as diagnostics and skipped.
 */
export function parseInventory(doc: unknown, file: string, diagnostics: Diagnostic[] = [], into: Inventory = emptyInventory()): Inventory {
  if (!isObj(doc)) {
    diagnostics.push({ severity: 'error', location: { file, path: '$' }, message: 'expected a Kubernetes object or List' });
    return into;
  }
  const kind = str(doc.kind) ?? '';
  const items: { item: unknown; path: string }[] = LIST_KINDS.has(kind) && Array.isArray(doc.items)
    ? doc.items.map((item, i) => ({ item, path: `$.items[${i}]` }))
    : [{ item: doc, path: '$' }];
  const itemKind = kind.endsWith('List') && kind !== 'List' ? kind.slice(0, -4) : undefined;
  for (const { item, path } of items) {
    if (!isObj(item)) {
      diagnostics.push({ severity: 'warning', location: { file, path }, message: 'skipped: expected an object' });
      continue;
    }
    const k = str(item.kind) ?? itemKind;
    if (!k || !INVENTORY_KINDS.has(k)) continue;
    const meta = isObj(item.metadata) ? item.metadata : undefined;
    const name = meta ? str(meta.name) : undefined;
    if (!meta || !name) {
      diagnostics.push({ severity: 'warning', location: { file, path: `${path}.metadata.name` }, message: `skipped ${k}: expected metadata.name` });
      continue;
    }
    const namespace = str(meta.namespace) ?? 'default';
    const ref: EvidenceRef = { file, stream: `${path} ${k} ${namespace}/${name}` };
    const spec = isObj(item.spec) ? item.spec : {};
    const status = isObj(item.status) ? item.status : {};
    if (k === 'Pod') {
      const ips = new Set<string>();
      if (Array.isArray(status.podIPs)) for (const p of status.podIPs) if (isObj(p) && typeof p.ip === 'string') ips.add(p.ip);
      if (typeof status.podIP === 'string') ips.add(status.podIP);
      const labels = strMap(meta.labels);
      const annotations = strMap(meta.annotations);
      const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])];
      const sidecar = 'sidecar.istio.io/status' in annotations || containers.some((c) => isObj(c) && c.name === 'istio-proxy');
      into.pods.push({
        name,
        namespace,
        ips: [...ips],
        serviceAccount: str(spec.serviceAccountName) ?? str(spec.serviceAccount) ?? 'default',
        labels,
        workload: workloadName(labels, meta, name),
        nodeName: str(spec.nodeName),
        hostNetwork: spec.hostNetwork === true,
        phase: str(status.phase),
        sidecar,
        ...podTimes(meta, status),
        ref,
      });
      const newest = newestTime(item);
      if (newest !== undefined && (into.asOfMs === undefined || newest > into.asOfMs)) into.asOfMs = newest;
    } else if (k === 'Service') {
      const ips = new Set<string>();
      if (Array.isArray(spec.clusterIPs)) for (const ip of spec.clusterIPs) if (typeof ip === 'string' && ip !== 'None') ips.add(ip);
      if (typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None') ips.add(spec.clusterIP);
      const ports: InventoryServicePort[] = [];
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports) {
          if (!isObj(p) || typeof p.port !== 'number') continue;
          ports.push({
            name: str(p.name),
            port: p.port,
            targetPort: typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? p.targetPort : undefined,
            protocol: str(p.protocol),
            appProtocol: str(p.appProtocol),
          });
        }
      }
      into.services.push({ name, namespace, selector: isObj(spec.selector) ? strMap(spec.selector) : null, clusterIPs: [...ips], ports, ref });
    } else {
      into.serviceAccounts.push({ name, namespace, ref });
    }
  }
  return into;
}

function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/** A pod's lifetime facts (see InventoryPod). */
function podTimes(meta: Obj, status: Obj): Pick<InventoryPod, 'createdMs' | 'startedMs' | 'deletedMs' | 'finishedMs'> {
  const out: Pick<InventoryPod, 'createdMs' | 'startedMs' | 'deletedMs' | 'finishedMs'> = {};
  const created = timeOf(meta.creationTimestamp);
  const started = timeOf(status.startTime);
  const deleted = timeOf(meta.deletionTimestamp);
  if (created !== undefined) out.createdMs = created;
  if (started !== undefined) out.startedMs = started;
  if (deleted !== undefined) out.deletedMs = deleted;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') {
    let fin: number | undefined;
    for (const c of Array.isArray(status.containerStatuses) ? status.containerStatuses : []) {
      const term = isObj(c) && isObj(c.state) && isObj(c.state.terminated) ? c.state.terminated : undefined;
      const t = term ? timeOf(term.finishedAt) : undefined;
      if (t !== undefined && (fin === undefined || t > fin)) fin = t;
    }
    if (fin !== undefined) out.finishedMs = fin;
  }
  return out;
}

const TIME_KEYS = new Set(['creationTimestamp', 'deletionTimestamp', 'startTime', 'lastTransitionTime', 'lastProbeTime', 'startedAt', 'finishedAt', 'time']);

/** The newest RFC 3339 time anywhere in an object under a Kubernetes time field name. */
function newestTime(v: unknown, depth = 0): number | undefined {
  if (depth > 8 || typeof v !== 'object' || v === null) return undefined;
  let best: number | undefined;
  const consider = (t: number | undefined): void => {
    if (t !== undefined && (best === undefined || t > best)) best = t;
  };
  if (Array.isArray(v)) for (const x of v) consider(newestTime(x, depth + 1));
  else for (const [k, x] of Object.entries(v)) consider(TIME_KEYS.has(k) ? timeOf(x) : newestTime(x, depth + 1));
  return best;
}

/** When a pod held its IP, from the inventory: from its start (else creation) until its deletion or finish. */
export interface PodLifetime {
  /** null: the inventory gives no creation/start time. */
  fromMs: number | null;
  /** null: no deletion or finish recorded (running when the inventory was taken). */
  untilMs: number | null;
  /** What the bounds rest on, for people. */
  basis: string;
}

export function podLifetime(p: InventoryPod): PodLifetime {
  const fromMs = p.startedMs ?? p.createdMs ?? null;
  const untilMs = p.deletedMs ?? p.finishedMs ?? null;
  const from = p.startedMs !== undefined ? 'status.startTime' : p.createdMs !== undefined ? 'metadata.creationTimestamp' : 'no creation or start time';
  const until = p.deletedMs !== undefined ? 'metadata.deletionTimestamp' : p.finishedMs !== undefined ? `${p.phase} (containers finished)` : 'no deletionTimestamp: running when the inventory was taken';
  return { fromMs, untilMs, basis: `${from} → ${until}` };
}

/**
 * Whether the pod owned its IP at `timeMs`: `inside` its lifetime, `before` it started, `after` it was
 * deleted/finished, or `unknown` (no event time, or the inventory gives no start).
 */
export function ownershipAt(p: InventoryPod, timeMs: number | undefined): 'inside' | 'before' | 'after' | 'unknown' {
  const l = podLifetime(p);
  if (timeMs === undefined || l.fromMs === null) return 'unknown';
  if (timeMs < l.fromMs) return 'before';
  if (l.untilMs !== null && timeMs > l.untilMs) return 'after';
  return 'inside';
}

/** Reads an inventory file (JSON, or YAML with one or more documents). */
export async function readInventory(file: string, diagnostics: Diagnostic[] = [], into: Inventory = emptyInventory()): Promise<Inventory> {
  const text = await readWholeText(file);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      diagnostics.push({ severity: 'error', location: { file }, message: `expected JSON: ${(e as Error).message}` });
      return into;
    }
    return parseInventory(doc, file, diagnostics, into);
  }
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) {
      diagnostics.push({ severity: 'error', location: { file, line: d.errors[0]?.linePos?.[0]?.line }, message: `expected YAML: ${d.errors[0]?.message ?? ''}` });
      continue;
    }
    let js: unknown;
    try {
      js = yamlToJs(d, file, text);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      diagnostics.push({ severity: 'error', location: e.location, message: e.message });
      continue;
    }
    if (js !== null && js !== undefined) parseInventory(js, file, diagnostics, into);
  }
  return into;
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

/** IP → workload index over an inventory. Running pods win over finished ones that held the same IP. */
export class WorkloadIndex {
  private readonly byIp = new Map<string, WorkloadRef>();
  readonly inventory: Inventory;

  constructor(inventory: Inventory) {
    this.inventory = inventory;
    const candidates = new Map<string, InventoryPod[]>();
    for (const p of inventory.pods) {
      for (const ip of p.ips) {
        const list = candidates.get(ip) ?? [];
        list.push(p);
        candidates.set(ip, list);
      }
    }
    for (const [ip, pods] of candidates) {
      const live = pods.filter((p) => p.phase === undefined || p.phase === 'Running' || p.phase === 'Pending');
      const pool = live.length > 0 ? live : pods;
      const own = pool.filter((p) => !p.hostNetwork);
      if (own.length >= 1) {
        const p = own[0]!;
        const ref = this.podRef(p);
        if (own.length > 1) ref.ambiguous = own.map((x) => `${x.namespace}/${x.name}`);
        this.byIp.set(ip, ref);
      } else {
        // Only hostNetwork pods: the address is a node's, shared by all of them.
        this.byIp.set(ip, {
          kind: 'node',
          id: `node:${ip}`,
          name: pool[0]?.nodeName ?? ip,
          services: [],
          source: 'inventory',
          ambiguous: pool.map((x) => `${x.namespace}/${x.name}`),
        });
      }
    }
    for (const s of inventory.services) {
      for (const ip of s.clusterIPs) {
        if (this.byIp.has(ip)) continue;
        this.byIp.set(ip, { kind: 'service', id: `svc:${s.namespace}/${s.name}`, name: s.name, namespace: s.namespace, services: [`${s.name}.${s.namespace}`], source: 'inventory' });
      }
    }
  }

  private podRef(p: InventoryPod): WorkloadRef {
    const services = this.inventory.services
      .filter((s) => s.namespace === p.namespace && s.selector && labelsMatch(s.selector, p.labels))
      .map((s) => `${s.name}.${s.namespace}`);
    return {
      kind: 'pod',
      id: `${p.namespace}/${p.workload}`,
      name: p.workload,
      namespace: p.namespace,
      pod: p.name,
      serviceAccount: p.serviceAccount,
      labels: p.labels,
      services,
      source: 'inventory',
      sidecar: p.sidecar,
    };
  }

  lookup(ip: string): WorkloadRef | undefined {
    return this.byIp.get(normalizeIp(ip));
  }

  /**
   * The pod that owned `ip` at `timeMs` (IP ownership has a time: a pod holds its address only between
   * its start and its deletion): the pod whose lifetime contains the time, else the one the address
   * resolves to now with how the time falls outside its lifetime. null when no pod of the inventory
   * has the address (e.g. it is known only from a config dump).
   */
  ownerAt(ip: string, timeMs: number | undefined): { pod: InventoryPod; ref: WorkloadRef; ownership: 'inside' | 'before' | 'after' | 'unknown'; lifetime: PodLifetime } | null {
    const k = normalizeIp(ip);
    const pods = this.inventory.pods.filter((p) => !p.hostNetwork && p.ips.some((x) => normalizeIp(x) === k));
    if (pods.length === 0) return null;
    const inside = pods.find((p) => ownershipAt(p, timeMs) === 'inside');
    const current = this.byIp.get(k);
    const pod = inside ?? pods.find((p) => current?.pod === p.name && current.namespace === p.namespace) ?? pods[0]!;
    return { pod, ref: this.podRef(pod), ownership: ownershipAt(pod, timeMs), lifetime: podLifetime(pod) };
  }

  /** Adds an address learned elsewhere (e.g. a proxy's own IP from its config dump) unless the inventory knows it. */
  addFallback(ip: string, ref: WorkloadRef): void {
    const k = normalizeIp(ip);
    if (!this.byIp.has(k)) this.byIp.set(k, ref);
  }

  get size(): number {
    return this.byIp.size;
  }
}

/** Parses a SPIFFE id of Istio's form `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`. */
export function parseSpiffe(id: string): { trustDomain: string; namespace: string; serviceAccount: string } | null {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return m ? { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! } : null;
}
