/**
 * `meshsleuth route <client-dump> [--to <host:port|ip:port>]`: the outbound path a client sidecar takes
 * (listener → filter chain → route → cluster → endpoint) and what goes on the wire (TLS mode, SNI, ALPN)
 * and why; without --to, every cluster with its TLS mode. A thin shell over analysis/route.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { outputOption, runCommand, UsageError, warn, writeOut } from '../common.js';
import { loadConfigDumps } from '../../readers/configdump/index.js';
import { listClusterTls, routeTo } from '../../analysis/route.js';
import { renderClusterListing, renderRouteText } from '../../report/route.js';
import { toJson, toYaml } from '../../report/serialize.js';
import { formatLocation } from '../../model/errors.js';

interface RouteArgs {
  dump: string;
  to?: string;
  http?: boolean;
  path?: string;
  listener?: string;
  output: string;
}

/** `host:port`, `ip:port` or `[ipv6]:port`. */
export function parseRouteTo(v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+|.*):(\d{1,5})$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535 || !m[1]) throw new UsageError(`--to: expected <host>:<port>, <ip>:<port> or [<ipv6>]:<port>, found '${v}'`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

export const routeCommand: CommandModule<object, RouteArgs> = {
  builder: (y: Argv) =>
    outputOption(
      y
        .positional('dump', { type: 'string', demandOption: true, describe: "the client sidecar's config dump (/config_dump?include_eds for endpoints)" })
        .option('to', { type: 'string', describe: 'destination as the app dials it: <host>:<port> or <ip>:<port>; without it, every cluster with its TLS mode' })
        .option('http', { type: 'boolean', describe: 'the app speaks HTTP (chooses HTTP chains on sniffed ports, routes by authority)' })
        .option('path', { type: 'string', describe: 'HTTP request path for route matching (implies --http)' })
        .option('listener', { type: 'string', describe: 'use this listener instead of the one interception would pick' })
        .example('$0 route sleep.json --to tcp-echo:9000', 'which cluster, TLS mode, SNI and ALPN a connection to the Service gets')
        .example('$0 route sleep.json --to 10.244.2.31:9002', 'a pod IP on a port no Service declares: PassthroughCluster')
        .example('$0 route sleep.json', 'every outbound cluster with its TLS mode'),
      ['table', 'json', 'yaml'],
    ) as unknown as Argv<RouteArgs>,
  handler: (a) =>
    runCommand(async () => {
      const target = a.to !== undefined ? parseRouteTo(a.to) : null;
      const { dumps, diagnostics } = await loadConfigDumps([a.dump]);
      for (const d of diagnostics) warn(`${d.severity}: ${formatLocation(d.location)}: ${d.message}`);
      if (dumps.length !== 1) throw new UsageError(`route: ${a.dump} holds ${dumps.length} config dumps: name one client sidecar's dump`);
      const dump = dumps[0]!;
      if (!dump.sections.includes('clusters')) warn(`${a.dump}: the dump has no clusters section: TLS modes cannot be read (take the full /config_dump)`);
      if (!target) {
        const l = listClusterTls(dump);
        if (a.output === 'json') await writeOut(toJson(l));
        else if (a.output === 'yaml') await writeOut(toYaml(l));
        else await writeOut(renderClusterListing(l));
        return 0;
      }
      const r = routeTo(dump, { host: target.host, port: target.port, ...(a.http ? { http: true } : {}), ...(a.path !== undefined ? { path: a.path } : {}), ...(a.listener !== undefined ? { listener: a.listener } : {}) });
      if (a.output === 'json') await writeOut(toJson(r));
      else if (a.output === 'yaml') await writeOut(toYaml(r));
      else await writeOut(renderRouteText(r));
      return 0;
    }),
};
