import type { Argv, CommandModule } from 'yargs';
import { outputOption, runCommand, UsageError, warn, writeOut } from '../common.js';
import { loadConfigDumps } from '../../readers/configdump/index.js';
import { analyzePolicies, authzCheckSummary, type ChainPolicies, type ListenerPolicies, type ProxyPolicies } from '../../analysis/policies.js';
import { renderTable } from '../../report/table.js';
import { toJson, toYaml } from '../../report/serialize.js';
import { formatLocation } from '../../model/errors.js';
import { readZtunnelConfig } from '../../readers/configdump/ztunnel.js';
import { ztunnelPolicies, type ZtPoliciesView } from '../../analysis/ztunnel-policies.js';

/** The ztunnel view: `istioctl ztunnel-config policy` columns, then who each applies to, then per workload. */
export function renderZtunnelPolicies(v: ZtPoliciesView): string {
  let out = `ZTUNNEL ${v.source}\n`;
  out += renderTable({
    headers: ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE', 'RULES', 'APPLIES TO', 'EFFECT'],
    rows: v.policies.map((p) => [p.namespace, p.name, p.action + (p.dryRun ? ' (dry-run)' : ''), p.scope, p.rules, p.appliesTo.length ? (p.appliesTo.length > 3 ? `${p.appliesTo.slice(0, 3).join(', ')} +${p.appliesTo.length - 3}` : p.appliesTo.join(', ')) : 'none', p.effect]),
  });
  out += '\n';
  out += renderTable({
    headers: ['WORKLOAD', 'ADDRESS', 'PROTOCOL', 'WAYPOINT', 'POLICIES', 'EFFECTIVE'],
    rows: v.workloads.map((w) => [w.workload, w.key, w.protocol, w.waypoint ?? '-', w.policies.join(', ') || '-', `${w.effective}: ${w.note}`]),
  });
  return out;
}

interface PoliciesArgs {
  config: string[];
  output: string;
  summary: boolean;
  all: boolean;
}

function proxyTitle(p: ProxyPolicies): string {
  const n = p.node;
  const who = n ? `${n.pod ?? n.id}${n.namespace ? `.${n.namespace}` : ''}${n.ip ? ` (${n.ips.join(', ')})` : ''}` : '(node unknown: dump has no bootstrap)';
  const ver = n?.istioVersion ? `, Istio ${n.istioVersion}` : '';
  return `PROXY ${who}${ver} — ${p.source}`;
}

function chainLabel(c: ChainPolicies): string {
  return c.isDefault ? `${c.name || '(default)'} [default]` : c.name || `#${c.index}`;
}

function transportLabel(c: ChainPolicies): string {
  switch (c.security) {
    case 'mtls':
      return 'mTLS';
    case 'tls':
      return c.clientCertificate === 'optional' ? 'optional mTLS (client cert requested, not required)' : 'TLS (no client cert)';
    case 'tls-passthrough':
      return 'TLS passthrough';
    case 'plaintext':
      return 'plaintext';
    default:
      return 'any (no TLS termination)';
  }
}

function isInteresting(l: ListenerPolicies, c: ChainPolicies): boolean {
  return c.filters.length > 0 || c.perRoute.length > 0 || l.direction === 'INBOUND' || l.name === 'virtualInbound' || c.terminatesTls;
}

export function renderPoliciesTable(p: ProxyPolicies, all: boolean): string {
  let out = `${proxyTitle(p)}\n`;
  const c = p.counts;
  out += `RBAC filters: ${c.httpRbac} HTTP, ${c.networkRbac} network (${c.enforcing} enforcing, ${c.shadowOnly} shadow-only); ext_authz: ${c.httpExtAuthz} HTTP, ${c.networkExtAuthz} network; per-route RBAC overrides: ${c.perRouteOverrides}\n\n`;
  const rows: (string | number | null)[][] = [];
  let hidden = 0;
  let hiddenListeners = 0;
  for (const l of p.listeners) {
    const chains = l.chains.filter((ch) => all || isInteresting(l, ch));
    hidden += l.chains.length - chains.length;
    if (chains.length === 0) {
      hiddenListeners++;
      continue;
    }
    const lname = l.state === 'active' || l.state === 'static' ? l.name : `${l.name} (${l.state})`;
    let firstOfListener = true;
    for (const ch of chains) {
      const base = [firstOfListener ? lname : '', chainLabel(ch), ch.port ?? (l.internal ? '-' : '*'), ch.match, transportLabel(ch)];
      firstOfListener = false;
      if (ch.filters.length === 0) {
        rows.push([...base, '-', '-', '-', 'no RBAC']);
        continue;
      }
      ch.filters.forEach((f, i) => {
        const lead = i === 0 ? base : ['', '', '', '', ''];
        if (f.type === 'ext_authz') {
          rows.push([...lead, `${f.kind} ext_authz`, 'CUSTOM', f.disabled ? 'disabled' : 'enforced', f.summary]);
          return;
        }
        const action = f.role === 'custom-marker' || f.role === 'custom-bad' ? 'CUSTOM' : f.rules ? (f.rules.action === 'LOG' ? 'AUDIT' : f.rules.action) : f.shadowRules ? (f.shadowRules.action === 'LOG' ? 'AUDIT' : f.shadowRules.action) : '-';
        const mode = f.disabled ? 'disabled' : f.rules && f.shadowRules ? 'enforced+shadow' : f.rules ? 'enforced' : f.shadowRules ? (f.role === 'custom-marker' ? 'shadow (CUSTOM marker)' : 'shadow (dry-run)') : 'none';
        const pols = f.policies.length
          ? f.policies
              .map((pp) => {
                const name = pp.format === 'istio' ? `${pp.policy}.${pp.namespace}[${pp.rule}]` : pp.id;
                const tags = [!pp.enforced ? (pp.istioAction === 'CUSTOM' ? 'custom' : 'dry-run') : pp.dryRun ? 'dry-run' : '', pp.provider ? `provider ${pp.provider}` : '', pp.badCustom ? 'bad-CUSTOM→DENY' : ''].filter(Boolean);
                return tags.length ? `${name} (${tags.join(', ')})` : name;
              })
              .join(', ')
          : f.summary;
        rows.push([...lead, `${f.kind} rbac`, action, mode, pols]);
      });
      for (const pr of ch.perRoute) rows.push(['', '', '', '', '', 'route override', '', '', `${pr.routeConfig}/${pr.virtualHost}${pr.route ? `/${pr.route}` : ''}: ${pr.summary}`]);
    }
  }
  out += renderTable({ headers: ['LISTENER', 'CHAIN', 'PORT', 'MATCH', 'TRANSPORT', 'FILTER', 'ACTION', 'MODE', 'POLICIES'], rows, dropFirst: ['MATCH', 'TRANSPORT', 'FILTER', 'CHAIN'] });
  if (hidden > 0) out += `(${hidden} other chains without RBAC, TLS termination or inbound role${hiddenListeners ? `, on ${hiddenListeners} listeners,` : ''} not shown; --all shows them)\n`;

  const lints = p.listeners.flatMap((l) =>
    l.chains.flatMap((ch) => [
      ...ch.filters.flatMap((f) => (f.type === 'rbac' ? f.lints : []).map((x) => ({ where: `${l.name} ${chainLabel(ch)} ${f.kind} rbac`, x }))),
      ...ch.perRoute.flatMap((pr) => pr.lints.map((x) => ({ where: `${l.name} ${chainLabel(ch)} route ${pr.route ?? pr.virtualHost}`, x }))),
    ]),
  );
  if (lints.length) {
    out += `\nLINTS (${lints.length})\n`;
    for (const { where, x } of lints) out += `  ${x.severity === 'warning' ? 'warning' : 'note'} ${x.id}: ${where} ${x.path}: ${x.message}\n`;
  }

  if (p.authorizationPolicies.length) {
    out += '\n';
    out += renderTable({
      headers: ['ISTIO ACTION', 'AUTHORIZATION POLICY', 'RULES', 'STATUS', 'CHAINS'],
      rows: p.authorizationPolicies.map((a) => [
        a.istioAction,
        a.name,
        a.rules,
        a.enforced ? (a.dryRun ? 'dry-run (CUSTOM)' : 'enforced') : a.istioAction === 'CUSTOM' ? `ext_authz${a.provider ? ` (${a.provider})` : ''}` : 'dry-run (shadow)',
        a.chains.length,
      ]),
    });
  }
  out += '\n';
  if (p.mtls.length === 0) out += 'Inbound mTLS: no inbound listener found (no virtualInbound, no listener bound to the node IP).\n';
  else {
    out += renderTable({
      headers: ['INBOUND LISTENER', 'PORT', 'MTLS MODE', 'CHAINS', 'WHY'],
      rows: p.mtls.map((m) => [
        m.listener,
        m.port,
        m.mode + (m.override ? ' (port override)' : ''),
        m.chains.map((ch) => `${ch.name || `#${ch.index}`}:${ch.security}`).join(', '),
        m.note,
      ]),
    });
  }
  if (p.notUnderstood.length) {
    const kinds = new Map<string, number>();
    for (const n of p.notUnderstood) kinds.set(`${n.kind} ${n.name}`, (kinds.get(`${n.kind} ${n.name}`) ?? 0) + 1);
    out += `\nNot understood (kept raw, ${p.notUnderstood.length}): ${[...kinds].map(([k, v]) => (v > 1 ? `${k} ×${v}` : k)).join('; ')}\n`;
  }
  return out;
}

export const policiesCommand: CommandModule<object, PoliciesArgs> = {
  builder: (y: Argv) =>
    outputOption(
      y
        .positional('config', { type: 'string', array: true, demandOption: true, describe: 'config dump files or directories, or - for standard input (Envoy /config_dump or istioctl proxy-config output; JSON or YAML)' })
        .option('summary', { type: 'boolean', default: false, describe: "print istioctl's `x authz check` table (ACTION / AuthorizationPolicy / RULES) per proxy" })
        .option('all', { type: 'boolean', default: false, describe: 'show every filter chain, including outbound chains without RBAC' })
        .example('$0 policies config_dump.json', 'RBAC filters, policies and mTLS mode of one sidecar')
        .example('$0 policies dumps/ -o json', 'every dump in a directory, as JSON')
        .example('$0 policies config_dump.json --summary', 'the istioctl x authz check view')
        .example('istioctl proxy-config all deploy/httpbin -o json | $0 policies -', 'read a dump from standard input'),
      ['table', 'json', 'yaml'],
    ) as unknown as Argv<PoliciesArgs>,
  handler: (args) =>
    runCommand(async () => {
      const paths = [...(args.config ?? [])];
      if (paths.length === 0) throw new UsageError('policies: name at least one config dump file or directory (or - for standard input)');
      // ztunnel (ambient) config dumps are told apart by content and listed their own way.
      const zt: ZtPoliciesView[] = [];
      const envoyPaths: string[] = [];
      for (const p of paths) {
        const z = p === '-' ? null : await readZtunnelConfig(p);
        if (z) zt.push(ztunnelPolicies(z));
        else envoyPaths.push(p);
      }
      if (zt.length && envoyPaths.length === 0) {
        if (args.output === 'json') await writeOut(toJson({ ztunnels: zt }));
        else if (args.output === 'yaml') await writeOut(toYaml({ ztunnels: zt }));
        else await writeOut(zt.map(renderZtunnelPolicies).join('\n'));
        return;
      }
      if (zt.length) throw new UsageError('policies: give ztunnel config dumps and Envoy config dumps in separate runs');
      const { dumps, diagnostics } = await loadConfigDumps(paths);
      for (const d of diagnostics) warn(d.message || formatLocation(d.location));
      const proxies = dumps.map(analyzePolicies);
      if (args.summary) {
        if (args.output === 'table') {
          let out = '';
          dumps.forEach((d, i) => {
            if (dumps.length > 1) out += `${i ? '\n' : ''}${proxyTitle(proxies[i]!)}\n`;
            out += renderTable({ headers: ['ACTION', 'AuthorizationPolicy', 'RULES'], rows: authzCheckSummary(d).map((r) => [r.action, r.policy, r.rules]) });
          });
          await writeOut(out);
        } else {
          const data = dumps.map((d) => ({ source: d.source, rows: authzCheckSummary(d) }));
          await writeOut(args.output === 'yaml' ? toYaml({ proxies: data }) : toJson({ proxies: data }));
        }
        return;
      }
      if (args.output === 'json') await writeOut(toJson({ proxies }));
      else if (args.output === 'yaml') await writeOut(toYaml({ proxies }));
      else await writeOut(proxies.map((p) => renderPoliciesTable(p, args.all)).join('\n'));
    }),
};
