/**
 * Regenerates the incident bundles under `samples/`:
 *   node dist/src/samples/generate.js [--out samples] [--only <name>] [--recording <file>] [--no-record]
 * Everything is derived from the scenarios in ./scenarios with a fixed seed; TLS sessions and keys come from the
 * recording (see recording.ts), so a rerun writes identical bytes. Hand-written README.md files are left alone.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleBuilder, type RenderDump, type Scenario } from './bundle.js';
import { renderConfigDump, type CompiledAuthz, type MtlsMode } from './istio-render.js';
import { compileForWorkload, outboundListeners, passthroughClusters } from '../istio/compile/index.js';
import { parseK8sObjects } from '../readers/k8s.js';
import { Prng } from '../synth/rng.js';
import { Recording } from './recording.js';
import { SCENARIOS } from './scenarios/index.js';
import { AMBIENT_SAMPLE, buildAmbientSample } from './ambient.js';

export interface GenerateOptions {
  outDir: string;
  /** recording file; null = record everything afresh in memory (not reproducible across runs) */
  recording: string | null;
  only?: string[];
  /** when false, a missing session is an error instead of being recorded */
  allowRecord?: boolean;
  render?: RenderDump;
}

export interface GenerateResult {
  files: Array<{ path: string; bytes: number }>;
  recorded: number;
  replayed: number;
}

/** The Istio release whose rendering the samples reproduce (filter_state principals, exact_match headers). */
export const SAMPLE_ISTIO_VERSION = '1.19';

/** Policies → RBAC filters and mTLS modes by the project's Istio compiler, wrapped into a full sidecar dump. */
export const renderWithCompiler: RenderDump = (policyYaml, policyFile, w, o) => {
  const { objects, diagnostics } = parseK8sObjects(policyYaml, policyFile);
  const bad = diagnostics.filter((d) => d.severity === 'error');
  if (bad.length) throw new Error(`${policyFile}: ${bad.map((d) => d.message).join('; ')}`);
  const compiled = compileForWorkload(
    objects,
    { namespace: w.namespace, name: w.pod, labels: w.labels, serviceAccount: w.serviceAccount, ports: w.ports.map((p) => ({ port: p.port, protocol: p.protocol.toLowerCase() })) },
    { istioVersion: SAMPLE_ISTIO_VERSION, services: o.outbound?.services ?? [], ...(o.outbound?.enableAutoMtls !== undefined ? { enableAutoMtls: o.outbound.enableAutoMtls } : {}) },
  );
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`${policyFile} for ${w.pod}: ${errors.map((d) => d.message).join('; ')}`);
  const authz: CompiledAuthz = {
    httpFilters: compiled.httpFilters as unknown as CompiledAuthz['httpFilters'],
    tcpFilters: compiled.tcpFilters as unknown as CompiledAuthz['tcpFilters'],
    mtls: { workload: compiled.mtls.workload as MtlsMode, ports: compiled.mtls.ports.map((p) => ({ port: p.port, mode: p.mode as MtlsMode })) },
  };
  const { outbound: ob, ...dumpOpts } = o;
  if (!ob || !compiled.outbound) return renderConfigDump(authz, w, dumpOpts);
  const lr = outboundListeners(ob.services);
  return renderConfigDump(authz, w, {
    ...dumpOpts,
    ...(ob.protocolDetectionTimeoutMs ? { protocolDetectionTimeoutMs: ob.protocolDetectionTimeoutMs } : {}),
    outbound: { listeners: lr.listeners, routes: lr.routes, clusters: [...passthroughClusters(), ...compiled.outbound.clusters], endpoints: compiled.outbound.endpoints },
  });
};

export async function generateSamples(opts: GenerateOptions): Promise<GenerateResult> {
  const rec = new Recording(opts.recording, new Prng('meshsleuth-sample/pki/v1'), new Date('2026-11-22T06:00:00Z'));
  const render: RenderDump = opts.render ?? renderWithCompiler;
  const result: GenerateResult = { files: [], recorded: 0, replayed: 0 };
  const chosen: Scenario[] = SCENARIOS.filter((s) => !opts.only || opts.only.includes(s.name));
  for (const sc of chosen) {
    const b = new BundleBuilder(sc, rec, new Prng(sc.seed));
    await b.build(render);
    for (const [rel, bytes] of [...b.files].sort(([a], [c]) => a.localeCompare(c))) {
      const path = join(opts.outDir, sc.name, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      result.files.push({ path, bytes: bytes.length });
    }
  }
  if (!opts.only || opts.only.includes(AMBIENT_SAMPLE)) {
    const b = await buildAmbientSample(rec);
    for (const [rel, bytes] of [...b.files].sort(([a], [c]) => a.localeCompare(c))) {
      const path = join(opts.outDir, AMBIENT_SAMPLE, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      result.files.push({ path, bytes: bytes.length });
    }
  }
  if (opts.allowRecord === false && rec.recorded > 0) throw new Error(`${rec.recorded} TLS session(s) were missing from the recording`);
  rec.save(!opts.only);
  result.recorded = rec.recorded;
  result.replayed = rec.replayed;
  return result;
}

async function main(argv: string[]): Promise<void> {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const outDir = resolve(arg('--out') ?? join(repo, 'samples'));
  const recording = resolve(arg('--recording') ?? join(repo, 'samples', '_generator', 'recording.json'));
  if (!existsSync(dirname(recording))) mkdirSync(dirname(recording), { recursive: true });
  const only = arg('--only')?.split(',');
  const r = await generateSamples({ outDir, recording, ...(only ? { only } : {}), allowRecord: !argv.includes('--no-record') });
  for (const f of r.files) process.stdout.write(`${f.bytes.toString().padStart(9)}  ${f.path}\n`);
  process.stderr.write(`${r.files.length} files; TLS sessions replayed ${r.replayed}, recorded ${r.recorded}\n`);
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolve(process.argv[1]) === self) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`generate: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
