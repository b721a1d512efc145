/**
 * `meshsleuth compile <policies...> --workload <ns>/<name>`: what istiod would push to that sidecar
 * for these AuthorizationPolicy / PeerAuthentication manifests (RBAC filters, mTLS per port, chains).
 */
import type { Argv, CommandModule } from 'yargs';
import { EXIT_FAIL_ON, outputOption, parseFailOn, runCommand, warn, writeOut, writeOutChunks, asList, asListOf, UsageError } from '../common.js';
import { readK8sPaths } from '../../readers/k8s.js';
import { compileForWorkload, compileToConfigDump, servicesFromObjects, type CompiledWorkload } from '../../istio/compile/index.js';
import { DEFAULT_ISTIO_VERSION } from '../../istio/compile/version.js';
import { toCamelCase } from '../../envoy/normalize.js';
import { compileOptionsFromArgs, formatDiagnostic, readMeshConfig, requireObjects, resolveWorkload } from '../policy-input.js';
import { jsonChunks, yamlChunks } from '../../report/serialize-stream.js';
import { renderTable } from '../../report/table.js';
import { compileAmbientFromObjects, selectorPoliciesFor, type AmbientCompiled } from '../../istio/compile/ambient.js';
import { compileWaypoints, waypointConfigDump, type WaypointCompileResult } from '../../istio/compile/waypoint.js';
import { startProgress, type Progress } from '../progress.js';

/** The output's pieces as they are written, counted on the progress line (a big compile spends most of its time writing). */
function* countedOutput(pieces: Iterable<string>, prog: Progress): Iterable<string> {
  let bytes = 0;
  for (const p of pieces) {
    bytes += p.length;
    prog.update({ detail: 'writing', bytes });
    yield p;
  }
}

/** The waypoints' RBAC per service (targetRefs policies) and istiod's WaypointAccepted conditions. */
function renderWaypoints(w: WaypointCompileResult): string {
  let out = '';
  const rows = w.waypoints.flatMap((wp) =>
    wp.services.map((s) => [`${wp.waypoint.namespace}/${wp.waypoint.name}`, `${s.service.hostname} ${s.service.ports.map((p) => `${p.port}/${p.protocol}`).join(',')}`, s.policies.join(', ') || '-', s.httpFilters.map(waypointFilterCell).join('; ') || 'no RBAC'])
  );
  if (rows.length) out += '\n' + renderTable({ headers: ['WAYPOINT', 'SERVICE', 'POLICIES (targetRefs)', 'HTTP RBAC (peer identity: filter_state io.istio.peer_principal)'], rows });
  if (w.status.length) out += '\n' + renderTable({ headers: ['POLICY', 'TARGET', 'WAYPOINT STATUS (istiod)'], rows: w.status.map((s) => [s.policy, s.ancestor, `${s.reason}: ${s.message}`]) });
  return out;
}

/** `compile --ambient` as a table: the ztunnel policies (istioctl ztunnel-config policy columns) and istiod's status messages. */
function renderAmbient(c: AmbientCompiled, attached: string[] | null): string {
  let out = renderTable({
    headers: ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE', 'RULES'],
    rows: c.policies.map((p) => [p.namespace, p.name, p.action + (p.dryRun ? ' (dry-run)' : ''), p.scope, p.rules.length === 0 ? '0 (matches nothing)' : p.rules.length]),
  });
  if (attached) out += `\nattached to the workload (authorizationPolicies): ${attached.join(', ') || 'none'}\n`;
  if (c.notForZtunnel.length) out += '\n' + renderTable({ headers: ['NOT SENT TO ZTUNNEL', 'WHY'], rows: c.notForZtunnel.map((n) => [n.policy, n.why]) });
  if (c.status.length) out += '\n' + renderTable({ headers: ['POLICY', 'STATUS (istiod)'], rows: c.status.map((s) => [s.policy, `${s.reason}: ${s.message}`]) });
  return out;
}

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
  ambient?: boolean;
  'auto-mtls'?: boolean;
  waypoint?: string;
  output: string;
}

/** One waypoint HTTP filter in a table cell: enforced RBAC, CUSTOM's shadow RBAC that marks requests for ext_authz, ext_authz. */
function waypointFilterCell(f: { name: string; typed_config: Record<string, unknown> }): string {
  const [, enforced, shadow, prefix] = rbacSummary(f);
  if (!/rbac/.test(f.name)) return /ext_authz/.test(f.name) ? 'ext_authz (CUSTOM: the provider decides)' : f.name;
  if (enforced !== '-') return enforced!;
  return shadow !== '-' ? `${/ext[_-]authz/.test(prefix ?? '') ? 'CUSTOM' : 'shadow'} ${shadow!.replace(/^\S+ /, '')}` : '-';
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
  if (c.outbound) {
    out += '\n' + renderTable({
      headers: ['OUTBOUND CLUSTER', 'SENDS', 'SNI', 'ALPN', 'DESTINATIONRULE', 'WHY'],
      rows: c.outbound.tls.map((t) => [t.cluster, t.mode, t.sni ?? '-', t.alpn.join(',') || '-', t.destinationRule ?? '-', t.reason]),
    });
  }
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

export const compileCommand: CommandModule<object, CompileArgs> = {
  builder: (y: Argv<object>) =>
    outputOption(
      y
        .positional('policies', { type: 'string', array: true, demandOption: true, describe: 'YAML/JSON manifests or directories (multi-document, kubectl lists; `-` for stdin)' })
        .option('workload', { type: 'string', describe: 'the sidecar to compile for, <namespace>/<name> (required except with --ambient)' })
        .option('ambient', { type: 'boolean', default: false, describe: 'render the policies for ztunnel (ambient L4) as istiod does, in the shape of the ztunnel config dump\'s policies, with istiod\'s status warnings' })
        .option('waypoint', { type: 'string', describe: 'with --ambient: the waypoint <namespace>/<name> whose RBAC (targetRefs policies) to render; with --config-dump, its listeners' })
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
        .option('config-dump', { type: 'boolean', default: false, describe: 'print the synthetic /config_dump (virtualInbound, and the outbound clusters/endpoints when Services are known) instead of the filters' })
        .option('auto-mtls', { type: 'boolean', describe: 'MeshConfig enableAutoMtls for the outbound clusters (default: the mesh config, else on from Istio 1.5)' })
        .option('summary', { type: 'boolean', default: false, describe: 'print the per-port chain/mTLS and filter summary table (same as -o table)' })
        .option('fail-on', { type: 'string', coerce: asListOf(['invalid', 'dropped']), describe: 'exit 1 when: invalid (a manifest istiod would reject), dropped (a rule dropped on TCP chains)' }),
      ['yaml', 'json', 'table'],
      'yaml',
    ) as unknown as Argv<CompileArgs>,
  handler: (args) =>
    runCommand(async () => {
      const failOn = parseFailOn(args['fail-on'], ['invalid', 'dropped']);
      const paths = args.policies;
      const prog = startProgress({ label: 'compile' });
      try {
        prog.update({ detail: 'reading manifests' });
        const read = await readK8sPaths(paths);
        requireObjects(read, paths, '');
        prog.update({ detail: `compiling ${read.objects.length.toLocaleString('en-US')} objects` });
        const warnAll = (ds: Iterable<Parameters<typeof formatDiagnostic>[0]>): void => {
          prog.clear();
          for (const d of ds) warn(formatDiagnostic(d));
        };
        const writeChunks = (pieces: Iterable<string>): Promise<void> => writeOutChunks(countedOutput(pieces, prog));
        const mesh = args['mesh-config'] ? await readMeshConfig(args['mesh-config']) : undefined;
        if (args.ambient) {
          const root = args['root-namespace'] ?? mesh?.rootNamespace ?? 'istio-system';
          const inventory = args.inventory ? (await readK8sPaths(args.inventory, async () => '')).objects : [];
          const wpc = compileWaypoints([...read.objects, ...inventory], { rootNamespace: root, istioVersion: args['istio-version'], trustDomain: args['trust-domain'] ?? mesh?.trustDomain, ...(args.waypoint ? { waypoint: args.waypoint } : {}), ...(mesh?.extensionProviders ? { extensionProviders: mesh.extensionProviders } : {}) });
          if (args['config-dump']) {
            if (!args.waypoint || wpc.waypoints.length !== 1) throw new UsageError('--ambient --config-dump prints one waypoint\'s listeners: give --waypoint <namespace>/<name>');
            warnAll([...read.diagnostics, ...wpc.diagnostics]);
            const dump = waypointConfigDump(wpc.waypoints[0]!, { trustDomain: args['trust-domain'] ?? mesh?.trustDomain, istioVersion: args['istio-version'], ...(args.ip?.[0] ? { ip: args.ip[0] } : {}) });
            await writeChunks(args.output === 'yaml' ? yamlChunks(dump) : jsonChunks(dump));
            return 0;
          }
          const c = compileAmbientFromObjects(read.objects, { rootNamespace: root, istioVersion: args['istio-version'] });
          warnAll([...read.diagnostics, ...c.diagnostics, ...wpc.diagnostics]);
          const wl = args.workload ? await resolveWorkload(args, read.objects) : null;
          const attached = wl ? selectorPoliciesFor(c, wl, root) : null;
          if (args.output === 'table' || args.summary) await writeOut(renderAmbient(c, attached) + renderWaypoints(wpc));
          else {
            const waypoints = wpc.waypoints.map((w) => ({ waypoint: w.waypoint, services: w.services.map((s) => ({ service: s.service, policies: s.policies, httpFilters: s.httpFilters, tcpFilters: s.tcpFilters })) }));
            const doc = { policies: c.policies, status: c.status, notForZtunnel: c.notForZtunnel, waypoints, waypointStatus: wpc.status, ...(wl ? { workload: { namespace: wl.namespace, name: wl.name, authorizationPolicies: attached } } : {}) };
            await writeChunks(args.output === 'json' ? jsonChunks(doc) : yamlChunks(doc));
          }
          prog.done();
          for (const s of c.status) warn(`${s.file ? `${s.file}${s.line ? `:${s.line}` : ''}: ` : ''}AuthorizationPolicy ${s.policy}: ${s.message}`);
          for (const s of wpc.status) if (!s.bound) warn(`${s.file ? `${s.file}${s.line ? `:${s.line}` : ''}: ` : ''}AuthorizationPolicy ${s.policy}: ${s.ancestor}: ${s.reason}: ${s.message}`);
          const invalid = c.diagnostics.some((d) => d.severity === 'error');
          if ((failOn.has('invalid') && invalid) || (failOn.has('dropped') && c.status.length > 0)) return EXIT_FAIL_ON;
          return 0;
        }
        if (!args.workload) throw new UsageError('--workload <namespace>/<name> is required (except with --ambient)');
        const workload = await resolveWorkload({ ...args, workload: args.workload }, read.objects);
        const opts = compileOptionsFromArgs(args, mesh);
        if (args['auto-mtls'] !== undefined) opts.enableAutoMtls = args['auto-mtls'];
        // outbound clusters: the Services (and Pods as endpoints) of the manifests and the inventory
        const inventory = args.inventory?.length ? (await readK8sPaths(args.inventory)).objects : [];
        opts.services = servicesFromObjects([...inventory, ...read.objects], opts.trustDomain);
        warnAll(read.diagnostics);
        let compiled: CompiledWorkload;
        if (args['config-dump']) {
          const r = compileToConfigDump(read.objects, workload, opts);
          compiled = r.compiled;
          await writeChunks(args.output === 'yaml' ? yamlChunks(r.configDump) : jsonChunks(r.configDump));
        } else {
          compiled = compileForWorkload(read.objects, workload, opts);
          if (args.output === 'table' || args.summary) await writeOut(renderSummary(compiled));
          else {
            const doc = {
              workload: compiled.workload,
              istioVersion: compiled.istioVersion,
              mtls: compiled.mtls,
              policies: compiled.policies,
              ...(compiled.outbound ? { outbound: compiled.outbound.tls } : {}),
              httpFilters: toCamelCase(compiled.httpFilters),
              tcpFilters: toCamelCase(compiled.tcpFilters),
              diagnostics: compiled.diagnostics.map(formatDiagnostic),
            };
            await writeChunks(args.output === 'json' ? jsonChunks(doc) : yamlChunks(doc));
          }
        }
        prog.done();
        for (const d of compiled.diagnostics) warn(formatDiagnostic(d));
        const invalid = compiled.diagnostics.some((d) => d.severity === 'error');
        const dropped = compiled.diagnostics.some((d) => /on TCP filter chain/.test(d.message));
        if ((failOn.has('invalid') && invalid) || (failOn.has('dropped') && dropped)) return EXIT_FAIL_ON;
        return 0;
      } finally {
        prog.done();
      }
    }),
};
