/**
 * Pre-1.5 `authentication.istio.io/v1alpha1` `Policy` and `MeshPolicy` (removed in Istio 1.6) read as today's
 * PeerAuthentication, the way istiod's own v1alpha1 → v1beta1 conversion mapped them:
 * - `MeshPolicy` (cluster-scoped, named `default`) → a mesh-wide PeerAuthentication in the root namespace;
 * - `Policy` without `targets` (named `default`) → a namespace-wide PeerAuthentication;
 * - `Policy` with `targets: [{name: <service>, ports: [...]}]` → a workload PeerAuthentication selecting the
 *   Service's pods (its `spec.selector`), with `ports` as port-level mTLS on the Service's target ports;
 * - `peers: [{mtls: {}}]` → STRICT (MutualTls.mode defaults to STRICT), `mtls: {mode: PERMISSIVE}` or
 *   `peerIsOptional: true` → PERMISSIVE, no `peers` → DISABLE (the legacy default was plaintext).
 * `origins` (end-user JWT) belong to RequestAuthentication and are not read here.
 */
import type { Diagnostic } from '../../model/errors.js';
import type { K8sObject } from '../../readers/k8s.js';
import type { MtlsMode, PeerAuthentication } from './types.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export const isLegacyAuthnPolicy = (o: K8sObject): boolean => (o.kind === 'Policy' || o.kind === 'MeshPolicy') && o.apiVersion.startsWith('authentication.istio.io/');

function loc(o: K8sObject, path: string) {
  return { file: o.source.file, line: o.source.lineAt?.(path) ?? o.source.line, path: `${o.source.path}${path}` };
}

function peerMode(spec: Record<string, unknown>): { mode: MtlsMode; why: string } | { error: string; path: string } {
  const peers = spec.peers;
  if (peers === undefined || peers === null || (Array.isArray(peers) && peers.length === 0)) return { mode: 'DISABLE', why: 'no peers (plaintext)' };
  if (!Array.isArray(peers)) return { error: 'spec.peers: expected an array', path: '.spec.peers' };
  for (const [i, p] of peers.entries()) {
    if (!isRecord(p) || !('mtls' in p)) continue;
    const m = p.mtls;
    if (m !== null && m !== undefined && !isRecord(m)) return { error: `spec.peers[${i}].mtls: expected an object`, path: `.spec.peers[${i}].mtls` };
    const mode = isRecord(m) && typeof m.mode === 'string' ? m.mode : 'STRICT';
    if (mode !== 'STRICT' && mode !== 'PERMISSIVE') return { error: `spec.peers[${i}].mtls.mode: Unsupported value: ${JSON.stringify(mode)}: supported values: "STRICT", "PERMISSIVE"`, path: `.spec.peers[${i}].mtls.mode` };
    if (spec.peerIsOptional === true) return { mode: 'PERMISSIVE', why: 'peers mtls with peerIsOptional: true' };
    return { mode, why: `peers: [{mtls: ${isRecord(m) && m.mode ? `{mode: ${mode}}` : '{}'}}]` };
  }
  return { mode: 'DISABLE', why: 'peers without mtls (jwt peers are not mTLS)' };
}

/** Maps one legacy Policy/MeshPolicy to PeerAuthentications (several when targets name several services). */
export function legacyToPeerAuthentications(o: K8sObject, objects: K8sObject[], rootNamespace: string, defaultNamespace: string): { peerAuthentications: PeerAuthentication[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const spec = isRecord(o.raw.spec) ? o.raw.spec : {};
  const m = peerMode(spec);
  if ('error' in m) {
    diagnostics.push({ severity: 'error', location: loc(o, m.path), message: `${o.kind} ${o.metadata.name}: ${m.error} (skipped)` });
    return { peerAuthentications: [], diagnostics };
  }
  const mesh = o.kind === 'MeshPolicy';
  const namespace = mesh ? rootNamespace : (o.metadata.namespace ?? defaultNamespace);
  const md = isRecord(o.raw.metadata) ? o.raw.metadata : {};
  const created = typeof md.creationTimestamp === 'string' ? md.creationTimestamp : undefined;
  const base = { namespace, mode: m.mode, source: o.source, ...(created ? { creationTimestamp: created } : {}) };
  const targets = Array.isArray(spec.targets) ? spec.targets.filter(isRecord) : [];
  const legacy = `legacy ${o.apiVersion} ${o.kind} ${mesh ? '' : `${namespace}/`}${o.metadata.name} (removed in Istio 1.6): read as`;
  if (targets.length === 0 || mesh) {
    if (mesh && targets.length) diagnostics.push({ severity: 'warning', location: loc(o, '.spec.targets'), message: `${o.kind} ${o.metadata.name}: a MeshPolicy applies mesh-wide; its targets are ignored` });
    if (!mesh && o.metadata.name !== 'default') diagnostics.push({ severity: 'warning', location: loc(o, '.metadata.name'), message: `${o.kind} ${namespace}/${o.metadata.name}: a namespace-wide Policy had to be named "default" (istio ignored others)` });
    diagnostics.push({ severity: 'warning', location: loc(o, ''), message: `${legacy} a ${mesh ? 'mesh-wide' : 'namespace-wide'} PeerAuthentication mode ${m.mode} (${m.why}); migrate it to security.istio.io/v1 PeerAuthentication` });
    return { peerAuthentications: [{ ...base, name: o.metadata.name }], diagnostics };
  }
  const out: PeerAuthentication[] = [];
  for (const [i, t] of targets.entries()) {
    const svcName = typeof t.name === 'string' ? t.name : '';
    const svc = objects.find((x) => x.kind === 'Service' && x.metadata.name === svcName && (x.metadata.namespace ?? defaultNamespace) === namespace);
    const sspec = svc && isRecord(svc.raw.spec) ? svc.raw.spec : null;
    const selector = sspec && isRecord(sspec.selector) ? (sspec.selector as Record<string, string>) : null;
    if (!selector) {
      diagnostics.push({ severity: 'warning', location: loc(o, `.spec.targets[${i}]`), message: `${o.kind} ${namespace}/${o.metadata.name}: target service ${svcName} is not among the inputs (give its Service manifest), so the pods it selected are unknown; target not applied` });
      continue;
    }
    let portLevelMtls: Record<number, MtlsMode> | undefined;
    if (Array.isArray(t.ports) && t.ports.length) {
      portLevelMtls = {};
      const sports = Array.isArray(sspec!.ports) ? sspec!.ports.filter(isRecord) : [];
      for (const p of t.ports.filter(isRecord)) {
        const sp = sports.find((x) => (typeof p.number === 'number' && x.port === p.number) || (typeof p.name === 'string' && x.name === p.name));
        if (!sp) {
          diagnostics.push({ severity: 'warning', location: loc(o, `.spec.targets[${i}].ports`), message: `${o.kind} ${namespace}/${o.metadata.name}: service ${svcName} has no port ${String(p.number ?? p.name)}; ignored` });
          continue;
        }
        const target = typeof sp.targetPort === 'number' ? sp.targetPort : Number(sp.port);
        portLevelMtls[target] = m.mode;
      }
    }
    // a port-scoped legacy policy left the service's other ports to the namespace/mesh policy (UNSET inherits)
    const pa: PeerAuthentication = { ...base, name: `${o.metadata.name}-${svcName}`, selector, ...(portLevelMtls ? { mode: 'UNSET' as const, portLevelMtls } : {}) };
    out.push(pa);
    diagnostics.push({ severity: 'warning', location: loc(o, `.spec.targets[${i}]`), message: `${legacy} PeerAuthentication ${namespace}/${pa.name} selecting ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')} mode ${portLevelMtls ? `UNSET (inherited), ports ${Object.keys(portLevelMtls).join(',')} ${m.mode}` : m.mode} (${m.why}); migrate it to security.istio.io/v1 PeerAuthentication` });
  }
  return { peerAuthentications: out, diagnostics };
}
