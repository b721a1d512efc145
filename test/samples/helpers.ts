/** Shared helpers for the sample-bundle tests: stage lookup, dumps, logs, flows, identities from the scenario. */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';
import type { ConfigDump } from '../../src/envoy/model.js';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import { captureFile } from '../../src/readers/capture/index.js';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { decideRequest } from '../../src/envoy/decide.js';
import type { AccessRecord, Flow } from '../../src/model/records.js';
import type { RequestAttrs } from '../../src/model/attrs.js';
import type { Decision } from '../../src/model/decision.js';
import { SCENARIOS } from '../../src/samples/scenarios/index.js';
import type { PodDef, Scenario } from '../../src/samples/bundle.js';

export const SAMPLES = join(REPO, 'samples');

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}

export function podByName(sc: Scenario, name: string): PodDef {
  const p = sc.pods.find((x) => x.name === name || `${x.name}.${x.namespace}` === name || x.name.startsWith(name + '-'));
  if (!p) throw new Error(`no pod ${name} in ${sc.name}`);
  return p;
}

export const spiffe = (p: PodDef): string => `spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`;

const dumpCache = new Map<string, ConfigDump>();
export async function loadDump(path: string): Promise<ConfigDump> {
  let d = dumpCache.get(path);
  if (!d) {
    const { dumps } = await loadConfigDumps([path]);
    if (dumps.length !== 1) throw new Error(`${path}: expected one dump, got ${dumps.length}`);
    d = dumps[0]!;
    dumpCache.set(path, d);
  }
  return d;
}

/** The dump of `pod` (file stem `<pod>.<ns>`) as it was during `stageId` (the last stage's dump is at the top). */
export function dumpPath(sc: Scenario, stem: string, stageId: string): string {
  const i = sc.stages.findIndex((s) => s.id === stageId);
  if (i < 0) throw new Error(`no stage ${stageId}`);
  if (i === sc.stages.length - 1) return join(SAMPLES, sc.name, 'config_dumps', `${stem}.json`);
  return join(SAMPLES, sc.name, 'stages', `${String(i).padStart(2, '0')}-${stageId}`, 'config_dumps', `${stem}.json`);
}

/** The stage in effect at a time (epoch ms). */
export function stageAt(sc: Scenario, ms: number): string {
  let cur = sc.stages[0]!.id;
  for (const s of sc.stages) if (Date.parse(s.start) <= ms) cur = s.id;
  return cur;
}

export async function records(path: string): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const r of readAccessLogs([path])) out.push(r);
  return out;
}

export function isInbound(r: AccessRecord): boolean {
  return (r.upstreamCluster ?? '').startsWith('inbound|') || r.upstreamCluster === 'InboundPassthroughClusterIpv4' || (r.responseFlags ?? '').includes('NR');
}

export async function flows(path: string): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of flowsFromCapture(captureFile(path), { decoder: createStreamDecoder })) out.push(f);
  return out;
}

/**
 * What the client at `ip` presented, per the scenario: a sidecar's own workload identity, the identity a
 * client impersonates with a stolen certificate, or nothing (no sidecar: plaintext).
 */
export function identityOf(sc: Scenario, ip: string): { spiffe: string; tlsVersion: string; alpn?: string[] } | null {
  const p = sc.pods.find((x) => x.ip === ip);
  if (!p) return null;
  const imp = sc.calls.find((c) => c.from === p.name && c.kind === 'http' && c.impersonate);
  if (imp && imp.kind === 'http' && imp.impersonate) return { spiffe: imp.impersonate.spiffeId, tlsVersion: imp.impersonate.tlsVersion, alpn: imp.impersonate.alpn };
  return p.sidecar ? { spiffe: spiffe(p), tlsVersion: 'TLSv1.3' } : null;
}

/** The RBAC inputs of a logged inbound request: the log's addresses, SNI and HTTP fields, plus the peer identity. */
export function attrsFromRecord(sc: Scenario, r: AccessRecord): RequestAttrs {
  const a: RequestAttrs = { ...r.attrs };
  const id = a.source ? identityOf(sc, a.source.address) : null;
  if (a.sni && id) {
    a.tls = { version: id.tlsVersion, uriSans: [id.spiffe], dnsSans: [], subject: '', peerCertificateValidated: true };
    if (id.alpn) a.alpn = id.alpn;
  } else {
    delete a.tls;
    a.transportProtocol = 'raw_buffer';
  }
  return a;
}

export interface Replayed {
  file: string;
  line: number;
  stage: string;
  logged: { code?: number; details?: string; termination?: string; flags?: string };
  decision: Decision;
}

/** Replays every inbound record of a bundle through the dump of the stage it was written in. */
export async function replayBundle(sc: Scenario): Promise<Replayed[]> {
  const out: Replayed[] = [];
  for (const podName of sc.sidecars) {
    const p = podByName(sc, podName);
    const stem = `${p.name}.${p.namespace}`;
    const log = join(SAMPLES, sc.name, 'logs', `${stem}.istio-proxy.log`);
    for (const r of await records(log)) {
      if (!isInbound(r)) continue;
      const stage = stageAt(sc, r.timeMs!);
      const path = dumpPath(sc, stem, stage);
      if (!existsSync(path)) throw new Error(`no dump for ${stem} at stage ${stage}`);
      const decision = decideRequest(await loadDump(path), attrsFromRecord(sc, r));
      out.push({
        file: basename(log),
        line: r.ref.line ?? 0,
        stage,
        logged: { code: r.responseCode, details: r.responseCodeDetails, termination: r.connectionTerminationDetails, flags: r.responseFlags },
        decision,
      });
    }
  }
  return out;
}

/** What the log says Envoy decided, in the decision's terms. */
export function loggedVerdict(x: Replayed): { decision: 'ALLOW' | 'DENY'; details: string | null } {
  // Calico's Dikastes answered through ext_authz (application layer policy): Istio's RBAC let it through.
  if (x.logged.details === 'ext_authz_denied') return { decision: 'ALLOW', details: null };
  const det = [x.logged.details, x.logged.termination].find((d) => d && d !== '-' && d !== 'via_upstream');
  if (det) return { decision: 'DENY', details: det };
  return { decision: 'ALLOW', details: null };
}

export function reconstructed(d: Decision): string | null {
  return d.responseCodeDetails && d.responseCodeDetails !== 'via_upstream' ? d.responseCodeDetails : (d.connectionTerminationDetails ?? null);
}
