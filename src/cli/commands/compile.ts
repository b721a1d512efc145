/**
 * `meshsleuth compile <policies...> --workload <ns>/<name>`: what istiod would push to that sidecar
 * for these AuthorizationPolicy / PeerAuthentication manifests (RBAC filters, mTLS per port, chains).
 */
import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { EXIT_FAIL_ON, outputOption, parseFailOn, runCommand, UsageError, warn, writeOut, asList } from '../common.js';
import { formatLocation, type Diagnostic } from '../../model/errors.js';
import { readK8sPaths } from '../../readers/k8s.js';
import { compileForWorkload, compileToConfigDump, type CompileOptions, type CompiledWorkload, type ExtensionProvider, type WorkloadSpec } from '../../istio/compile/index.js';
import { deriveWorkload, parseLabelsFlag, parsePortsFlag } from '../../istio/compile/workload.js';
import { DEFAULT_ISTIO_VERSION, parseIstioVersion } from '../../istio/compile/version.js';
import { toCamelCase } from '../../envoy/normalize.js';
import { toJson, toYaml } from '../../report/serialize.js';
import { renderTable } from '../../report/table.js';

interface CompileArgs {
  policies: string[];
  workload: string;
  labels?: string;
  sa?: string;
  ports?: string;
  ip?: string[];
  inventory?: string[];
  'istio-version': string;
  'trust-domain'?: string;
  'trust-domain-alias'?: string[];
  'root-namespace'?: string;
  'mesh-config'?: string;
  'config-dump'?: boolean;
  summary?: boolean;
  'fail-on'?: string[];
  output: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** MeshConfig YAML, or the `istio` ConfigMap whose `data.mesh` holds it. */
export async function readMeshConfig(file: string): Promise<{ extensionProviders?: ExtensionProvider[]; trustDomain?: string; trustDomainAliases?: string[]; rootNamespace?: string }> {
  let doc: unknown = parseYaml(await readFile(file, 'utf8'));
  if (isRecord(doc) && doc.kind === 'ConfigMap' && isRecord(doc.data) && typeof doc.data.mesh === 'string') doc = parseYaml(doc.data.mesh);
  if (!isRecord(doc)) throw new UsageError(`${file}: expected a MeshConfig (mapping) or the istio ConfigMap with data.mesh`);
  const eps = doc.extensionProviders;
  if (eps !== undefined && !Array.isArray(eps)) throw new UsageError(`${file}: extensionProviders: expected a list`);
  return {
    extensionProviders: eps as ExtensionProvider[] | undefined,
    trustDomain: typeof doc.trustDomain === 'string' ? doc.trustDomain : undefined,
    trustDomainAliases: Array.isArray(doc.trustDomainAliases) ? doc.trustDomainAliases.map(String) : undefined,
    rootNamespace: typeof doc.rootNamespace === 'string' ? doc.rootNamespace : undefined,
  };
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

export function compileOptionsFromArgs(args: Pick<CompileArgs, 'istio-version' | 'trust-domain' | 'trust-domain-alias' | 'root-namespace'>, mesh: Awaited<ReturnType<typeof readMeshConfig>> | undefined): CompileOptions {
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
  };
}

function rbacSummary(f: { name: string; typed_config: Record<string, unknown> }): string[] {
  const tc = f.typed_config;
  if (!/rbac/.test(f.name)) return [f.name, '-', '-', '-'];
  const rules = tc.rules as Record<string, unknown> | undefined;
  const shadow = tc.shadow_rules as Record<string, unknown> | undefined;
  const count = (r: Record<string, unknown> | undefined) => Object.keys((r?.policies as Record<string, unknown>) ?? {}).length;
  const action = (r: Record<string, unknown> | undefined) => String(r?.action ?? 'ALLOW');
  const enforced = rules ? `${action(rules)} ${count(rules)} ${count(rules) === 0 && action(rules) === 'ALLOW' ? '(denies all)' : 'policies'}` : '-';
  const sh = shadow ? `${action(shadow)} ${count(shadow)} policies` : '-';
  return [f.name, enforced, sh, String(tc.shadow_rules_stat_prefix ?? '-')];
}

export function renderSummary(c: CompiledWorkload): string {
  const w = c.workload;
  let out = `workload ${w.namespace}/${w.name ?? '?'}  labels ${Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-'}  sa ${w.serviceAccount ?? '-'}  istio ${c.istioVersion}\n\n`;
  const rows = [['*', 'auto', c.mtls.workload, 'catch-all (undeclared ports)'], ...c.mtls.ports.map((p) => [String(p.port), p.passthrough ? 'auto (undeclared, portLevelMtls)' : p.protocol, p.mode, chainText(p.protocol, p.mode)])];
  out += renderTable({ headers: ['PORT', 'PROTOCOL', 'MTLS', 'INBOUND CHAINS'], rows: rows.map((r, i) => (i === 0 ? [...r.slice(0, 3), chainText('auto', c.mtls.workload)] : r)) });
  out += '\n';
  const frows = [
    ...c.httpFilters.map((f) => ['http', ...rbacSummary(f)]),
    ...c.tcpFilters.map((f) => ['tcp', ...rbacSummary(f)]),
  ];
  out += frows.length ? renderTable({ headers: ['CHAINS', 'FILTER', 'ENFORCED', 'SHADOW', 'SHADOW PREFIX'], rows: frows }) : 'no RBAC filters (no AuthorizationPolicy applies: everything is allowed)\n';
  if (c.policies.length) {
    out += '\n' + renderTable({ headers: ['POLICY', 'ACTION', 'DRY-RUN', 'FILE'], rows: c.policies.map((p) => [`${p.name}.${p.namespace}`, p.action + (p.provider ? ` (${p.provider})` : ''), p.dryRun ? 'yes' : 'no', p.file ?? '-']) });
  }
  return out;
}

function chainText(protocol: string, mode: string): string {
  const tls = 'tls+mTLS';
  if (protocol === 'http') return mode === 'STRICT' ? `${tls} HTTP` : mode === 'PERMISSIVE' ? `${tls} HTTP, plaintext HTTP` : 'plaintext HTTP';
  if (protocol === 'tcp') return mode === 'STRICT' ? `${tls} TCP` : mode === 'PERMISSIVE' ? `${tls} TCP, tls passthrough, plaintext TCP` : 'plaintext TCP';
  return mode === 'STRICT' ? `${tls} HTTP, ${tls} TCP` : mode === 'PERMISSIVE' ? `${tls} HTTP, plaintext HTTP, ${tls} TCP, plaintext TCP, tls passthrough` : 'plaintext HTTP, plaintext TCP';
}

/** The flags other commands (check, explain, report) take to read policy manifests instead of a config dump. */
export interface PolicyInputFlags {
  policies?: string[];
  workload?: string;
  labels?: string;
  sa?: string;
  ports?: string;
  ip?: string[];
  inventory?: string[];
  'istio-version'?: string;
  'trust-domain'?: string;
  'trust-domain-alias'?: string[];
  'root-namespace'?: string;
  'mesh-config'?: string;
}

/** Adds `--policies <files|dirs> --workload ns/name [--labels --sa --ports --inventory --istio-version …]` to a command. */
export function policyInputOptions<T>(y: Argv<T>): Argv<T & PolicyInputFlags> {
  return y
    .option('policies', { type: 'string', coerce: asList, describe: 'AuthorizationPolicy/PeerAuthentication manifests (files or directories) to compile instead of a config dump' })
    .option('workload', { type: 'string', describe: 'with --policies: the sidecar, <namespace>/<name>' })
    .option('labels', { type: 'string', describe: 'with --policies: workload labels k=v,...' })
    .option('sa', { type: 'string', describe: 'with --policies: workload service account' })
    .option('ports', { type: 'string', describe: 'with --policies: inbound ports, e.g. 9080/http,9000/tcp' })
    .option('inventory', { type: 'string', coerce: asList, describe: 'with --policies: Kubernetes objects describing the workload' })
    .option('ip', { type: 'string', coerce: asList, describe: 'with --policies: the pod IP(s)' })
    .option('istio-version', { type: 'string', describe: `with --policies: render as this Istio release (default ${DEFAULT_ISTIO_VERSION})` })
    .option('trust-domain', { type: 'string', describe: 'with --policies: mesh trust domain' })
    .option('trust-domain-alias', { type: 'string', coerce: asList, describe: 'with --policies: trust domain aliases' })
    .option('root-namespace', { type: 'string', describe: 'with --policies: mesh root namespace' })
    .option('mesh-config', { type: 'string', describe: 'with --policies: MeshConfig YAML (extensionProviders, trustDomain)' }) as unknown as Argv<T & PolicyInputFlags>;
}

/**
 * Reads policy manifests and compiles them into the synthetic `/config_dump` of one sidecar.
 * Diagnostics (rejected policies, rules dropped on TCP) are returned for the caller to print.
 */
export async function policiesToConfigDump(flags: PolicyInputFlags): Promise<{ configDump: Record<string, unknown>; compiled: CompiledWorkload; diagnostics: Diagnostic[]; source: string }> {
  if (!flags.policies?.length) throw new UsageError('--policies: name at least one manifest file or directory');
  if (!flags.workload) throw new UsageError('--policies needs --workload <namespace>/<name>');
  const read = await readK8sPaths(flags.policies);
  const mesh = flags['mesh-config'] ? await readMeshConfig(flags['mesh-config']) : undefined;
  const workload = await resolveWorkload({ workload: flags.workload, labels: flags.labels, sa: flags.sa, ports: flags.ports, ip: flags.ip, inventory: flags.inventory }, read.objects);
  const opts = compileOptionsFromArgs({ 'istio-version': flags['istio-version'] ?? DEFAULT_ISTIO_VERSION, 'trust-domain': flags['trust-domain'], 'trust-domain-alias': flags['trust-domain-alias'], 'root-namespace': flags['root-namespace'] }, mesh);
  const { configDump, compiled } = compileToConfigDump(read.objects, workload, opts);
  return { configDump, compiled, diagnostics: [...read.diagnostics, ...compiled.diagnostics], source: `compiled:${workload.namespace}/${workload.name ?? ''}` };
}

export const compileCommand: CommandModule<object, CompileArgs> = {
  command: 'compile <policies...>',
  describe: 'compile AuthorizationPolicy/PeerAuthentication manifests into the Envoy RBAC filters and inbound chains istiod would give a sidecar',
  builder: (y: Argv<object>) =>
    outputOption(
      y
        .positional('policies', { type: 'string', array: true, demandOption: true, describe: 'YAML/JSON manifests or directories (multi-document, kubectl lists; `-` for stdin)' })
        .option('workload', { type: 'string', demandOption: true, describe: 'the sidecar to compile for, <namespace>/<name>' })
        .option('labels', { type: 'string', describe: 'workload labels k=v,... (default: from --inventory or the manifests)' })
        .option('sa', { type: 'string', describe: 'workload service account' })
        .option('ports', { type: 'string', describe: 'inbound (container) ports, e.g. 9080/http,9000/tcp,8080 (bare = auto-detect)' })
        .option('inventory', { type: 'string', coerce: asList, describe: 'Kubernetes objects (Pods, Deployments, Services) describing the workload' })
        .option('ip', { type: 'string', coerce: asList, describe: 'pod IP(s) written into the synthetic dump node (default: from a Pod in --inventory)' })
        .option('istio-version', { type: 'string', default: DEFAULT_ISTIO_VERSION, describe: 'render as this Istio release does (e.g. 1.19, 1.30, master)' })
        .option('trust-domain', { type: 'string', describe: 'mesh trust domain (default cluster.local or the mesh config)' })
        .option('trust-domain-alias', { type: 'string', coerce: asList, describe: 'trust domain aliases' })
        .option('root-namespace', { type: 'string', describe: 'mesh root namespace (default istio-system)' })
        .option('mesh-config', { type: 'string', describe: 'MeshConfig YAML (or the istio ConfigMap) for extensionProviders, trustDomain, rootNamespace' })
        .option('config-dump', { type: 'boolean', default: false, describe: 'print the synthetic /config_dump (virtualInbound) instead of the filters' })
        .option('summary', { type: 'boolean', default: false, describe: 'print the per-port chain/mTLS and filter summary table (same as -o table)' })
        .option('fail-on', { type: 'string', coerce: asList, describe: 'exit 1 when: invalid (a manifest istiod would reject), dropped (a rule dropped on TCP chains)' }),
      ['yaml', 'json', 'table'],
      'yaml',
    ) as unknown as Argv<CompileArgs>,
  handler: (args) =>
    runCommand(async () => {
      const failOn = parseFailOn(args['fail-on'], ['invalid', 'dropped']);
      const paths = args.policies;
      const read = await readK8sPaths(paths, async () => {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      });
      const mesh = args['mesh-config'] ? await readMeshConfig(args['mesh-config']) : undefined;
      const workload = await resolveWorkload(args, read.objects);
      const opts = compileOptionsFromArgs(args, mesh);
      for (const d of read.diagnostics) warn(formatDiagnostic(d));
      let compiled: CompiledWorkload;
      if (args['config-dump']) {
        const r = compileToConfigDump(read.objects, workload, opts);
        compiled = r.compiled;
        await writeOut(args.output === 'yaml' ? toYaml(r.configDump) : toJson(r.configDump));
      } else {
        compiled = compileForWorkload(read.objects, workload, opts);
        if (args.output === 'table' || args.summary) await writeOut(renderSummary(compiled));
        else {
          const doc = {
            workload: compiled.workload,
            istioVersion: compiled.istioVersion,
            mtls: compiled.mtls,
            policies: compiled.policies,
            httpFilters: toCamelCase(compiled.httpFilters),
            tcpFilters: toCamelCase(compiled.tcpFilters),
            diagnostics: compiled.diagnostics.map(formatDiagnostic),
          };
          await writeOut(args.output === 'json' ? toJson(doc) : toYaml(doc));
        }
      }
      for (const d of compiled.diagnostics) warn(formatDiagnostic(d));
      const invalid = compiled.diagnostics.some((d) => d.severity === 'error');
      const dropped = compiled.diagnostics.some((d) => /on TCP filter chain/.test(d.message));
      if ((failOn.has('invalid') && invalid) || (failOn.has('dropped') && dropped)) return EXIT_FAIL_ON;
      return 0;
    }),
};
