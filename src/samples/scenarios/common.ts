/** Helpers shared by the sample scenarios: policy stages from YAML, pods and services. */
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from '../istio-render.js';
import type { StageDef } from '../bundle.js';

export interface StageInput {
  id: string;
  title: string;
  start: string;
  apply?: string;
  /** `Kind/namespace/name` of objects removed at this stage */
  remove?: string[];
}

const keyOf = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Objects a CNI enforces (Kubernetes NetworkPolicy, admin tiers, Calico), not the Istio compiler. */
const isNetworkObject = (o: K8sObject): boolean => o.apiVersion.startsWith('networking.k8s.io/') || o.apiVersion.startsWith('policy.networking.k8s.io/') || o.apiVersion.startsWith('projectcalico.org/');

/** Cumulative policy state per stage, from what was applied (and deleted) at each stage. */
export function stages(inputs: StageInput[]): StageDef[] {
  let state = new Map<string, K8sObject>();
  const created = new Map<string, string>();
  return inputs.map((s) => {
    state = new Map(state);
    for (const k of s.remove ?? []) if (!state.delete(k)) throw new Error(`stage ${s.id}: nothing to remove at ${k}`);
    const applied = s.apply ? s.apply.replace(/^\n/, '') : '';
    for (const doc of parseAllDocuments(applied)) {
      const o = doc.toJSON() as K8sObject | null;
      if (!o) continue;
      // A network policy carries its creation time, as `kubectl get -o yaml` shows it (the first apply's).
      if (isNetworkObject(o)) {
        if (!created.has(keyOf(o))) created.set(keyOf(o), s.start.replace(/\.\d+Z$/, 'Z'));
        o.metadata = { ...o.metadata, creationTimestamp: created.get(keyOf(o))! };
      }
      state.set(keyOf(o), { ...o, spec: o.spec ?? {} });
    }
    const removed = (s.remove ?? []).map((k) => {
      const [kind, ns, name] = k.split('/');
      return `# kubectl delete ${kind!.toLowerCase()} ${name} -n ${ns}\n`;
    });
    const all = [...state.values()];
    return { id: s.id, title: s.title, start: s.start, applied: removed.join('') + applied, objects: all.filter((o) => !isNetworkObject(o)), network: all.filter(isNetworkObject) };
  });
}

export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
export const CURL_UA = 'curl/8.5.0';
export const PY_UA = 'python-requests/2.31.0';
