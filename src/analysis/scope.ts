/**
 * Where a connection ran, and so whether its plaintext "left the pod". This is the one definition
 * behind `flows --fail-on plaintext`, `report --fail-on plaintext`, the plaintext findings, the
 * report summary and the graph; nothing else decides it.
 *
 *  - `sidecar-local`: the app↔sidecar leg inside one pod (`Flow.sidecarLocal`: Envoy's inbound
 *    passthrough source 127.0.0.6, the iptables redirect ports 15001/15006, or a cleartext flow
 *    captured on a loopback interface). Plaintext there is by design.
 *  - `loopback`: a loopback address (127.0.0.0/8, ::1) at either end that is not known to be the
 *    sidecar leg (e.g. a harness on `lo`). A packet with a loopback address never leaves its host's
 *    network namespace (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3), so it did not leave the pod; it is not
 *    "between workloads" either.
 *  - `between-workloads`: the connection left the pod and both ends are workloads by the evidence:
 *    the inventory (a pod, a Service, a hostNetwork pod's node IP) or the config dumps (a proxy's own
 *    address, an endpoint with Istio workload metadata).
 *  - `unattributed`: the connection left the pod but at least one end is not a known workload (no
 *    inventory given, or an address outside the cluster such as a public web server).
 *
 * Plaintext that left the pod = a plaintext connection whose scope is `between-workloads` or
 * `unattributed`.
 */
import { normalizeIp } from '../readers/ip-text.js';

export type LegScope = 'sidecar-local' | 'loopback' | 'between-workloads' | 'unattributed';

export const LEG_SCOPES: readonly LegScope[] = ['sidecar-local', 'loopback', 'between-workloads', 'unattributed'];

/** One leg of a connection: its two ends, and whether the capture showed it to be the app↔sidecar leg. */
export interface Leg {
  client: { ip: string };
  server: { ip: string };
  sidecarLocal?: boolean;
}

/** Whether an address is a workload, by the inventory or the dumps (undefined: no such evidence). */
export type WorkloadResolver = (ip: string) => unknown;

/** True for an address in 127.0.0.0/8 or ::1 (IPv4-mapped forms included). */
export function isLoopbackAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const n = normalizeIp(ip);
  return n.startsWith('127.') || n === '::1' || n === '0:0:0:0:0:0:0:1';
}

/** The scope of a leg. Without a resolver (no inventory, no dumps) no address is a workload. */
export function legScope(leg: Leg, resolve?: WorkloadResolver): LegScope {
  if (leg.sidecarLocal) return 'sidecar-local';
  if (isLoopbackAddress(leg.client.ip) || isLoopbackAddress(leg.server.ip)) return 'loopback';
  if (resolve && resolve(leg.client.ip) !== undefined && resolve(leg.server.ip) !== undefined) return 'between-workloads';
  return 'unattributed';
}

/** True when traffic in this scope crossed a network outside the pod. */
export function leftThePod(scope: LegScope): boolean {
  return scope === 'between-workloads' || scope === 'unattributed';
}

/** Plaintext that left the pod: the condition `--fail-on plaintext` and the plaintext findings test. */
export function isPlaintextThatLeftThePod(flow: Leg & { security: string }, resolve?: WorkloadResolver): boolean {
  return flow.security === 'plaintext' && leftThePod(legScope(flow, resolve));
}
