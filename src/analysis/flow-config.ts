/**
 * What `flows --config` reads: sidecar config dumps (each port's inbound mTLS mode) and Kubernetes,
 * Calico and Istio objects (an inventory, NetworkPolicies, Calico policies, AuthorizationPolicy /
 * PeerAuthentication), told apart by content like `report`'s inputs. Never throws for one bad input:
 * every file not used is a diagnostic naming it.
 */
import type { Diagnostic } from '../model/errors.js';
import type { ConfigDump } from '../envoy/model.js';
import { detectInputs } from '../readers/detect.js';
import { loadConfigDumps } from '../readers/configdump/index.js';
import { parseK8sObjects, type K8sObject } from '../readers/k8s.js';
import { readWholeText } from '../readers/files.js';
import { inboundMtlsModes } from '../istio/mtls.js';
import { appendAll } from '../model/arrays.js';
import type { ProxyPorts } from './flows.js';
import { FlowLayerEvaluator } from './network-layers.js';

export interface FlowConfig {
  dumps: ConfigDump[];
  proxies: ProxyPorts[];
  /** Every policy layer's verdict per flow; null without pods or policies among the inputs. */
  layers: FlowLayerEvaluator | null;
  objects: K8sObject[];
  diagnostics: Diagnostic[];
  /** Inputs that were neither a config dump nor Kubernetes objects (already in diagnostics). */
  unusable: number;
}

export function proxyPorts(dumps: ConfigDump[]): ProxyPorts[] {
  return dumps.map((d) => ({
    proxy: d.node?.id ?? d.source,
    ips: d.node?.ips ?? [],
    ports: inboundMtlsModes(d).map((p) => ({ listener: p.listener, port: p.port, mode: p.mode, note: p.note })),
  }));
}

export async function loadFlowConfig(paths: string[]): Promise<FlowConfig> {
  const diagnostics: Diagnostic[] = [];
  const dumpPaths: string[] = [];
  const objects: K8sObject[] = [];
  let unusable = 0;
  const named = new Set(paths);
  const skipped = new Map<string, number>();
  for (const input of await detectInputs(paths)) {
    if (input.kind === 'config-dump') dumpPaths.push(input.path);
    else if (input.kind === 'inventory' || input.kind === 'network-policy' || input.kind === 'istio-policy') {
      try {
        const res = parseK8sObjects(await readWholeText(input.path), input.path);
        appendAll(objects, res.objects);
        appendAll(diagnostics, res.diagnostics);
      } catch (e) {
        unusable++;
        diagnostics.push({ severity: 'error', location: { file: input.path }, message: `--config: ${e instanceof Error ? e.message : String(e)}` });
      }
    } else if (input.damaged) {
      // damaged compressed data is an error wherever it was found (named, or inside a directory)
      unusable++;
      diagnostics.push({ severity: 'error', location: { file: input.path }, message: `--config: ${input.reason ?? 'damaged compressed data'}` });
    } else if (named.has(input.path)) {
      unusable++;
      // What was found is judged from the file's head: the place is its start.
      diagnostics.push({ severity: 'error', location: { file: input.path, ...(input.bytes > 0 ? { offset: 0 } : {}) }, message: `--config: expected an Envoy config dump or Kubernetes/Calico/Istio objects, found ${input.kind === 'unknown' ? input.reason ?? 'unrecognised content' : `a ${input.kind}`}` });
    } else {
      // Inside a directory (e.g. a whole evidence bundle), other kinds of file are counted, not errors.
      const what = input.kind === 'unknown' ? 'unrecognised' : input.kind;
      skipped.set(what, (skipped.get(what) ?? 0) + 1);
    }
  }
  if (skipped.size) {
    const n = [...skipped.values()].reduce((a, b) => a + b, 0);
    diagnostics.push({ severity: 'warning', location: {}, message: `--config: ${n} file(s) in the directories not used (${[...skipped].map(([k, v]) => `${v} ${k}`).join(', ')}): only config dumps and Kubernetes/Calico/Istio objects are` });
  }
  const loaded = dumpPaths.length ? await loadConfigDumps(dumpPaths) : { dumps: [], diagnostics: [] };
  appendAll(diagnostics, loaded.diagnostics);
  const layers = objects.length ? FlowLayerEvaluator.fromObjects(objects) : null;
  if (layers) appendAll(diagnostics, layers.inputs.diagnostics);
  else if (objects.length) diagnostics.push({ severity: 'warning', location: {}, message: `--config: ${objects.length} Kubernetes object(s) read, but no pods or no policies among them: no per-layer verdicts` });
  return { dumps: loaded.dumps, proxies: proxyPorts(loaded.dumps), layers, objects, diagnostics, unusable };
}
