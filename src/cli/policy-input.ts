/**
 * `--policies <manifests> --workload <ns>/<name> …`: AuthorizationPolicy/PeerAuthentication manifests
 * compiled into one sidecar's synthetic config dump, wherever a command takes a dump (compile, check,
 * explain, report).
 */
import type { Argv } from 'yargs';
import type { PolicyInputFlags } from './policy-options.js';
import { UsageError, asList, warn } from './common.js';
import { formatLocation, type Diagnostic } from '../model/errors.js';
import { readK8sPaths } from '../readers/k8s.js';
import { parseStructured } from '../readers/structured.js';
import { readWholeText } from '../readers/files.js';
import { compileToConfigDump, type CompileOptions, type CompiledWorkload, type ExtensionProvider, type WorkloadSpec } from '../istio/compile/index.js';
import { deriveWorkload, parseLabelsFlag, parsePortsFlag } from '../istio/compile/workload.js';
import { DEFAULT_ISTIO_VERSION, parseIstioVersion } from '../istio/compile/version.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** MeshConfig YAML, or the `istio` ConfigMap whose `data.mesh` holds it. */
export async function readMeshConfig(file: string): Promise<{ extensionProviders?: ExtensionProvider[]; trustDomain?: string; trustDomainAliases?: string[]; rootNamespace?: string; enableAutoMtls?: boolean }> {
  let doc: unknown = parseStructured(await readWholeText(file), file)[0];
  if (isRecord(doc) && doc.kind === 'ConfigMap' && isRecord(doc.data) && typeof doc.data.mesh === 'string') doc = parseStructured(doc.data.mesh, `${file} data.mesh`)[0];
  if (!isRecord(doc)) throw new UsageError(`${file}: expected a MeshConfig (mapping) or the istio ConfigMap with data.mesh`);
  const eps = doc.extensionProviders;
  if (eps !== undefined && !Array.isArray(eps)) throw new UsageError(`${file}: extensionProviders: expected a list`);
  return {
    extensionProviders: eps as ExtensionProvider[] | undefined,
    trustDomain: typeof doc.trustDomain === 'string' ? doc.trustDomain : undefined,
    trustDomainAliases: Array.isArray(doc.trustDomainAliases) ? doc.trustDomainAliases.map(String) : undefined,
    rootNamespace: typeof doc.rootNamespace === 'string' ? doc.rootNamespace : undefined,
    enableAutoMtls: typeof doc.enableAutoMtls === 'boolean' ? doc.enableAutoMtls : undefined,
  };
}

/**
 * Manifests given on the command line that hold no Kubernetes object at all (an empty file, a file of
 * something else) are an input error: compiling "no policies" from them would answer a question nobody asked.
 */
export function requireObjects(read: Awaited<ReturnType<typeof readK8sPaths>>, paths: string[], flag: string): void {
  if (read.objects.length > 0) return;
  const first = read.diagnostics.find((d) => d.severity === 'error') ?? read.diagnostics[0];
  const why = first ? ` (${formatDiagnostic(first)})` : '';
  throw new UsageError(`${flag}no Kubernetes objects (AuthorizationPolicy, PeerAuthentication, ...) in ${paths.map((p) => (p === '-' ? 'standard input' : p)).join(', ')}${why}`);
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d.location);
  return `${d.severity}: ${where ? `${where}: ` : ''}${d.message}`;
}

/** Resolves the workload from flags and/or Kubernetes objects (inventory files and the policy files themselves). */
export async function resolveWorkload(args: { workload: string; labels?: string; sa?: string; ports?: string; ip?: string[]; inventory?: string[] }, policyObjects: Awaited<ReturnType<typeof readK8sPaths>>['objects']): Promise<WorkloadSpec> {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(args.workload) ?? /^([^/\s]+)$/.exec(args.workload);
  if (!m) throw new UsageError(`--workload: expected <namespace>/<name>, found '${args.workload}'`);
  const namespace = m[2] !== undefined ? m[1]! : 'default';
  const name = m[2] ?? m[1]!;
  const inv = args.inventory?.length ? (await readK8sPaths(args.inventory)).objects : [];
  const derived = deriveWorkload([...inv, ...policyObjects], namespace, name);
  if (args.inventory?.length && !derived && !args.labels) throw new UsageError(`--inventory: no Pod or Deployment/StatefulSet/DaemonSet named ${namespace}/${name} in ${args.inventory.join(', ')}`);
  let labels: Record<string, string>;
  let ports;
  try {
    labels = args.labels !== undefined ? parseLabelsFlag(args.labels) : derived?.spec.labels ?? { app: name };
    ports = args.ports !== undefined ? parsePortsFlag(args.ports) : derived?.spec.ports ?? [];
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!derived && args.labels === undefined) warn(`no --labels and no Pod/Deployment for ${namespace}/${name} found: assuming labels app=${name}`);
  const ips = args.ip?.length ? args.ip.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean) : derived?.spec.ips;
  return { namespace, name, labels, serviceAccount: args.sa ?? derived?.spec.serviceAccount, ports, ...(ips?.length ? { ips } : {}) };
}

export function compileOptionsFromArgs(args: { 'istio-version'?: string; 'trust-domain'?: string; 'trust-domain-alias'?: string[]; 'root-namespace'?: string }, mesh: Awaited<ReturnType<typeof readMeshConfig>> | undefined): CompileOptions {
  try {
    parseIstioVersion(args['istio-version']);
  } catch (e) {
    throw new UsageError(`--istio-version: ${(e as Error).message}`);
  }
  return {
    istioVersion: args['istio-version'],
    trustDomain: args['trust-domain'] ?? mesh?.trustDomain,
    trustDomainAliases: args['trust-domain-alias'] ?? mesh?.trustDomainAliases,
    rootNamespace: args['root-namespace'] ?? mesh?.rootNamespace,
    extensionProviders: mesh?.extensionProviders,
    ...(mesh?.enableAutoMtls !== undefined ? { enableAutoMtls: mesh.enableAutoMtls } : {}),
  };
}



export { policyInputOptions, type PolicyInputFlags } from './policy-options.js';

/**
 * Reads policy manifests and compiles them into the synthetic `/config_dump` of one sidecar.
 * Diagnostics (rejected policies, rules dropped on TCP) are returned for the caller to print.
 */
export async function policiesToConfigDump(flags: PolicyInputFlags): Promise<{ configDump: Record<string, unknown>; compiled: CompiledWorkload; diagnostics: Diagnostic[]; source: string }> {
  if (!flags.policies?.length) throw new UsageError('--policies: name at least one manifest file or directory');
  if (!flags.workload) throw new UsageError('--policies needs --workload <namespace>/<name>');
  const read = await readK8sPaths(flags.policies);
  requireObjects(read, flags.policies, '--policies: ');
  const mesh = flags['mesh-config'] ? await readMeshConfig(flags['mesh-config']) : undefined;
  const workload = await resolveWorkload({ workload: flags.workload, labels: flags.labels, sa: flags.sa, ports: flags.ports, ip: flags.ip, inventory: flags.inventory }, read.objects);
  const opts = compileOptionsFromArgs({ 'istio-version': flags['istio-version'] ?? DEFAULT_ISTIO_VERSION, 'trust-domain': flags['trust-domain'], 'trust-domain-alias': flags['trust-domain-alias'], 'root-namespace': flags['root-namespace'] }, mesh);
  const { configDump, compiled } = compileToConfigDump(read.objects, workload, opts);
  return { configDump, compiled, diagnostics: [...read.diagnostics, ...compiled.diagnostics], source: `compiled:${workload.namespace}/${workload.name ?? ''}` };
}
