/** Builds the engines' inputs from Kubernetes YAML text, as `reach` does from files. */
import { parseK8sObjects } from '../../src/readers/k8s.js';
import { reachInputs, type ReachInputs } from '../../src/analysis/reach.js';
import { NetpolEngine, type Peer } from '../../src/netpol/engine.js';
import type { Diagnostic } from '../../src/model/errors.js';

export function inputsFromYaml(...docs: string[]): ReachInputs {
  const objects = docs.flatMap((d, i) => parseK8sObjects(d, `doc${i}.yaml`).objects);
  return reachInputs(objects);
}

export function engineFromYaml(...docs: string[]): { engine: NetpolEngine; diagnostics: Diagnostic[]; pod: (ref: string) => Peer; ip: (ip: string) => Peer } {
  const inputs = inputsFromYaml(...docs);
  const engine = new NetpolEngine(inputs.networkPolicies, inputs.cluster);
  const pod = (ref: string): Peer => {
    const [ns, name] = ref.split('/');
    const p = inputs.cluster.pods.find((x) => x.namespace === ns && (x.name === name || x.workload.name === name));
    if (!p) throw new Error(`no pod ${ref}`);
    return { kind: 'pod', pod: p };
  };
  return { engine, diagnostics: inputs.diagnostics, pod, ip: (ip: string) => ({ kind: 'ip', ip }) };
}
