/** Text rendering of `meshsleuth route`: the outbound path and wire TLS of one target, or every cluster's TLS mode. */
import type { ClusterListing, RouteResult } from '../analysis/route.js';
import { renderTable } from './table.js';

function alpnText(a: string[]): string {
  return a.length ? a.join(',') : '-';
}

export function renderRouteText(r: RouteResult): string {
  const lines: string[] = [];
  lines.push(`ROUTE ${r.to} from ${r.proxy}`);
  const hop = (k: string, v: string) => lines.push(`  ${k.padEnd(9)} ${v}`);
  hop('listener', r.listener ? `${r.listener.name}${r.listener.address ? ` (${r.listener.address})` : ''}` : '-');
  hop('chain', r.chain ? (r.chain.name || (r.chain.index < 0 ? 'default_filter_chain' : `#${r.chain.index}`)) : '-');
  if (r.route) hop('route', `${r.route.routeConfig} / ${r.route.virtualHost ?? '-'}${r.route.name ? ` / ${r.route.name}` : ''}`);
  hop('cluster', r.cluster ? `${r.cluster.name}${r.cluster.type ? ` (${r.cluster.type})` : ''}${r.cluster.destinationRule ? `, DestinationRule ${r.cluster.destinationRule}` : ''}` : '-');
  if (r.tls) {
    hop('tls', `${r.tls.mode}${r.tls.sni ? `  sni ${r.tls.sni}` : ''}${r.tls.alpn.length ? `  alpn ${r.tls.alpn.join(',')}` : ''}`);
    if (r.tls.clientCertificates.length) hop('cert', r.tls.clientCertificates.join(', '));
    if (r.tls.verifySans.length) hop('verify', r.tls.verifySans.join(', '));
  }
  lines.push(`  why       ${r.reason}`);
  let out = lines.join('\n') + '\n';
  if (r.endpoints.length) {
    out += '\n' + renderTable({
      headers: ['ENDPOINT', 'TLSMODE LABEL', 'WIRE', 'SNI', 'ALPN', 'WHY'],
      rows: r.endpoints.map((e) => [`${e.address}${e.port !== null ? `:${e.port}` : ''}`, e.tlsMode ?? '-', e.tls.mode, e.tls.sni ?? '-', alpnText(e.tls.alpn), e.reason]),
    });
  }
  out += '\npath:\n' + r.path.map((p) => `  - ${p}\n`).join('');
  if (r.notes.length) out += r.notes.map((n) => `note: ${n}\n`).join('');
  return out;
}

export function renderClusterListing(l: ClusterListing): string {
  let out = `CLUSTERS of ${l.proxy}\n`;
  out += renderTable({
    headers: ['CLUSTER', 'TYPE', 'TLS MODE', 'SNI', 'ALPN', 'DESTINATIONRULE', 'ENDPOINTS'],
    rows: l.clusters.map((c) => [
      c.cluster,
      c.type ?? '-',
      c.mode + (c.hbone ? '+hbone' : ''),
      c.tls?.sni ?? '-',
      alpnText(c.tls?.alpn ?? []),
      c.destinationRule ? `${c.destinationRule.namespace}/${c.destinationRule.name}` : '-',
      c.endpoints.known ? `${c.endpoints.total}${c.mode === 'auto-mtls' ? ` (${c.endpoints.sidecar} with sidecar)` : ''}` : '-',
    ]),
  });
  const counts = Object.entries(l.modes).map(([m, n]) => `${n} ${m}`).join(', ');
  out += `\n${l.clusters.length} cluster(s): ${counts}\n`;
  return out;
}
