/**
 * The incident timeline: capture flows (connection opened, with its security verdict), cleartext
 * HTTP exchanges seen on the wire, and access-log records, on one clock, each pointing back to its
 * evidence and to the findings that cite it. Times are shown as each source recorded them; the
 * stated skew window is what correlation tolerated between sources.
 */
import type { AccessRecord, EvidenceRef, Finding, Flow, FlowSecurity } from '../model/records.js';
import { fmtAddr, isLoopback, type Correlation } from './correlate.js';
import { loggedRbacDeny, recordPeer } from './findings.js';
import { redactPath } from './redact-url.js';

export interface TimelineEvent {
  timeMs: number;
  /** RFC 3339 UTC as the source recorded it. */
  time: string;
  source: 'capture' | 'access-log';
  kind: 'connection' | 'exchange' | 'request' | 'denied' | 'rejected';
  summary: string;
  /** Graph node ids of the two ends, when known. */
  from?: string;
  to?: string;
  security?: FlowSecurity;
  ref: EvidenceRef;
  /** Finding ids that cite this evidence. */
  findings: string[];
  /** The other source's evidence for the same connection/request (correlated). */
  correlated?: EvidenceRef;
}

export function refKey(r: EvidenceRef): string {
  return `${r.file}|${r.line ?? ''}|${r.frame ?? ''}|${r.stream ?? ''}|${r.index ?? ''}`;
}

/** Graph node id for an address: the workload id when resolved, `ip:<addr>` otherwise. */
export function nodeIdFor(c: Correlation, ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const w = c.resolve(ip);
  if (w) return w.id;
  return isLoopback(ip) ? 'local' : `ip:${ip}`;
}

export function buildTimeline(flows: Flow[], records: AccessRecord[], findings: Finding[], c: Correlation, showSecrets = false): { events: TimelineEvent[]; untimed: number } {
  const cited = new Map<string, Set<string>>();
  for (const f of findings) {
    for (const e of f.evidence) {
      const k = refKey(e);
      const s = cited.get(k) ?? new Set<string>();
      s.add(f.id);
      cited.set(k, s);
    }
  }
  const citedBy = (r: EvidenceRef): string[] => [...(cited.get(refKey(r)) ?? [])].sort();
  const events: TimelineEvent[] = [];
  for (const f of flows) {
    const ref: EvidenceRef = { file: f.file, frame: f.frames[0] };
    const fref: EvidenceRef = { file: f.file, frame: f.frames[0] };
    if (f.frames.length > 1) fref.frames = [f.frames[0]!, f.frames[f.frames.length - 1]!];
    const ids = new Set([...citedBy(ref), ...citedBy(fref)]);
    const from = nodeIdFor(c, f.client.ip);
    const to = nodeIdFor(c, f.server.ip);
    const tls = f.tls ? ` ${f.tls.version ?? 'TLS'}${f.tls.sni ? ` SNI ${f.tls.sni}` : ''}` : '';
    const linked = c.flowRecords.get(f)?.[0];
    events.push({
      timeMs: f.startMs,
      time: f.start,
      source: 'capture',
      kind: f.bytes.serverToClient === 0 && f.security === 'plaintext' && !f.sidecarLocal && f.http.every((x) => x.status === undefined) ? 'rejected' : 'connection',
      summary: `${f.security.toUpperCase()} ${f.protocol} ${fmtAddr(f.client.ip, f.client.port)} → ${fmtAddr(f.server.ip, f.server.port)}${tls}${f.sidecarLocal ? ' (sidecar-local leg)' : ''}, ${f.packets} packets`,
      from,
      to,
      security: f.security,
      ref: fref,
      findings: [...ids].sort(),
      ...(linked ? { correlated: linked.ref } : {}),
    });
    for (const x of f.http) {
      if (!x.time) continue;
      const t = Date.parse(x.time);
      if (!Number.isFinite(t)) continue;
      const xref: EvidenceRef = { file: f.file, frame: x.requestFrame ?? f.frames[0] };
      events.push({
        timeMs: t,
        time: x.time,
        source: 'capture',
        kind: 'exchange',
        summary: `${x.method ?? ''} ${redactPath(x.path ?? '', showSecrets)}${x.authority ? ` (host ${x.authority})` : ''}${x.status !== undefined ? ` → ${x.status}` : ''} in ${f.security} ${x.version ?? f.protocol}`,
        from,
        to,
        security: f.security,
        ref: xref,
        findings: citedBy(xref),
      });
    }
  }
  let untimed = 0;
  for (const r of records) {
    if (r.timeMs === undefined || !r.time) {
      untimed++;
      continue;
    }
    const wire = c.recordWire.get(r) ?? {};
    const dir = c.recordDirection.get(r) ?? 'unknown';
    const deny = loggedRbacDeny(r);
    const nr = /(^|,)NR(,|$)/.test(r.responseFlags ?? '');
    const what = r.kind === 'http' ? `${r.attrs.http?.method ?? '-'} ${redactPath(r.attrs.http?.path ?? '-', showSecrets)} → ${r.responseCode ?? '-'}` : `TCP ${r.bytesReceived ?? 0}/${r.bytesSent ?? 0} bytes`;
    const det = r.responseCodeDetails ?? r.connectionTerminationDetails;
    const peer = dir === 'inbound' ? recordPeer(r) : undefined;
    const link = c.recordFlow.get(r);
    events.push({
      timeMs: r.timeMs,
      time: r.time,
      source: 'access-log',
      kind: deny ? 'denied' : nr ? 'rejected' : 'request',
      summary: `${dir !== 'unknown' ? `${dir} ` : ''}${what}${det ? ` ${det}` : ''}${r.responseFlags && r.responseFlags !== '-' ? ` [${r.responseFlags}]` : ''}${wire.client ? ` from ${fmtAddr(wire.client.ip, wire.client.port)}` : ''}${wire.server ? ` to ${fmtAddr(wire.server.ip, wire.server.port)}` : ''}${peer?.principal ? ` as ${peer.principal}` : ''}${r.node ? ` (${r.node})` : ''}`,
      from: nodeIdFor(c, wire.client?.ip),
      to: nodeIdFor(c, wire.server?.ip),
      ...(peer && peer.security !== 'unknown' ? { security: peer.security } : {}),
      ref: r.ref,
      findings: citedBy(r.ref),
      ...(link ? { correlated: { file: link.flow.file, frame: link.exchange !== undefined ? link.flow.http[link.exchange]?.requestFrame ?? link.flow.frames[0] : link.flow.frames[0] } } : {}),
    });
  }
  events.sort((a, b) => a.timeMs - b.timeMs || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) || refKey(a.ref).localeCompare(refKey(b.ref), 'en', { numeric: true }));
  return { events, untimed };
}
