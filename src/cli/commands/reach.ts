/**
 * `meshsleuth reach <inputs...> [--from ns/pod --to ns/pod:port[/proto]]`: per-layer verdicts for a
 * connection (NetworkPolicy, Admin tiers, Calico, Istio PeerAuthentication and AuthorizationPolicy),
 * or without --from/--to the NetworkPolicy connectivity map of all workload pairs. A thin shell.
 */
import type { Argv, CommandModule } from 'yargs';
import { outputOption, runCommand, UsageError, warn, writeOut } from '../common.js';
import { startProgress } from '../progress.js';
import { readK8sPaths } from '../../readers/k8s.js';
import { analyzeConnectivity, analyzeReach, lintNetworkLayers, reachInputs, ReachError } from '../../analysis/reach.js';
import { mapJson, renderMapDot, renderMapText, renderReachTable } from '../../report/reach.js';
import { toJson, toYaml } from '../../report/serialize.js';
import { formatDiagnostic } from '../policy-input.js';
import type { L4Protocol } from '../../model/cluster.js';

interface ReachArgs {
  inputs: string[];
  from?: string;
  to?: string;
  identity?: string;
  method?: string;
  path?: string;
  alp?: boolean;
  'trust-domain'?: string;
  'include-empty'?: boolean;
  output: string;
}

/** `ns/pod:port[/proto]` → target, port, protocol. */
export function parseTo(v: string): { target: string; port: number; protocol: L4Protocol } {
  const m = /^(.+):(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--to: expected <namespace>/<pod>:<port>[/tcp|udp|sctp], found '${v}'`);
  return { target: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]), protocol: (m[3]?.toUpperCase() ?? 'TCP') as L4Protocol };
}

export const reachCommand: CommandModule<object, ReachArgs> = {
  builder: (y: Argv) =>
    outputOption(
      y
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'Kubernetes/Calico/Istio objects: files or directories (kubectl get pods,namespaces,serviceaccounts,networkpolicies -A -o yaml; calicoctl get … -o yaml), or - for standard input' })
        .option('from', { type: 'string', describe: 'source: <namespace>/<pod or workload>, or an IP address' })
        .option('to', { type: 'string', describe: 'destination: <namespace>/<pod or workload>:<port>[/tcp|udp|sctp] (the application port)' })
        .option('identity', { type: 'string', describe: 'SPIFFE id the source presents instead of its own (e.g. a stolen key)' })
        .option('method', { type: 'string', describe: 'HTTP method, for layers that read HTTP' })
        .option('path', { type: 'string', describe: 'HTTP path, for layers that read HTTP' })
        .option('alp', { type: 'boolean', describe: 'Calico application layer policy in force (default: when Istio sidecars are present)' })
        .option('trust-domain', { type: 'string', default: 'cluster.local', describe: 'mesh trust domain (identities spiffe://<td>/ns/<ns>/sa/<sa>)' })
        .option('include-empty', { type: 'boolean', default: false, describe: 'map: list pairs with No Connections too' })
        .example('$0 reach cluster/ --from istio-system/istio-ingressgateway --to default/ratings:9080', 'which layer stops the ingress pod reaching ratings?')
        .example('$0 reach bank/ --from yaobank/attack --to yaobank/database:2379 --identity spiffe://cluster.local/ns/yaobank/sa/summary', 'the stolen-key connection, layer by layer')
        .example('$0 reach cluster/ -o dot > map.dot', 'the connectivity map of all workload pairs as Graphviz'),
      ['table', 'json', 'yaml', 'dot'],
    ) as unknown as Argv<ReachArgs>,
  handler: (a) =>
    runCommand(async () => {
      if ((a.from === undefined) !== (a.to === undefined)) throw new UsageError('reach: give both --from and --to, or neither for the connectivity map');
      const read = await readK8sPaths(a.inputs);
      const inputs = reachInputs(read.objects);
      for (const d of [...read.diagnostics, ...inputs.diagnostics]) warn(formatDiagnostic(d));
      if (inputs.cluster.pods.length === 0) throw new UsageError(`reach: no pods or workloads (Pod, Deployment, StatefulSet, DaemonSet, ...) in ${a.inputs.join(', ')}`);
      if (a.from !== undefined && a.to !== undefined) {
        if (a.output === 'dot') throw new UsageError('reach: -o dot is for the connectivity map (without --from/--to)');
        const to = parseTo(a.to);
        const before = inputs.diagnostics.length;
        let r;
        try {
          r = analyzeReach(inputs, { from: a.from, to: to.target, port: to.port, protocol: to.protocol, identity: a.identity, method: a.method, path: a.path, alp: a.alp, trustDomain: a['trust-domain'] });
        } catch (e) {
          if (e instanceof ReachError) throw new UsageError(e.message);
          throw e;
        }
        // The Istio compiler's diagnostics are added during the analysis.
        for (const m of new Set(inputs.diagnostics.slice(before).map(formatDiagnostic))) warn(m);
        if (a.output === 'json') await writeOut(toJson(r));
        else if (a.output === 'yaml') await writeOut(toYaml(r));
        else await writeOut(renderReachTable(r));
        return 0;
      }
      // the map evaluates every pair of workloads (and external ranges): quadratic, so a big cluster takes a while
      const prog = startProgress({ label: 'reach' });
      const onPairs = (done: number, total: number): void => {
        if (done === 0) prog.phase({ label: 'reach', totalRecords: total, unit: 'pairs' });
        prog.update({ detail: 'map', records: done });
      };
      let m;
      try {
        m = analyzeConnectivity(inputs, { includeEmpty: a['include-empty'], ...(prog.active ? { onPairs } : {}) });
      } finally {
        prog.done();
      }
      const findings = lintNetworkLayers(inputs);
      for (const n of m.notes) warn(n);
      // The text form stays np-guard's line format on stdout; findings go to stderr there.
      if (a.output === 'table' || a.output === 'dot') for (const f of findings) warn(`${f.severity}: ${f.summary}`);
      if (a.output === 'json') await writeOut(toJson({ ...mapJson(m), findings }));
      else if (a.output === 'yaml') await writeOut(toYaml({ ...mapJson(m), findings }));
      else if (a.output === 'dot') await writeOut(renderMapDot(m));
      else await writeOut(renderMapText(m));
      return 0;
    }),
};
