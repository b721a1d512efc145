/**
 * The caller's identity for a replay when the record does not log it: the client certificate of a
 * TLS ≤ 1.2 handshake on the record's connection, else the `x-forwarded-client-cert` the server sidecar
 * put on the request it forwarded to the app (the sidecar-local leg).
 */
import type { AccessRecord, Flow } from '../model/records.js';
import type { ConfigDump } from '../envoy/model.js';
import type { LocalLegLink } from './correlate.js';
import { lastXfccElement } from '../protocols/xfcc.js';

/** The caller's certificate as some evidence shows it. */
interface PeerCertificate {
  uriSans: string[];
  dnsSans: string[];
  subject: string;
  version?: string;
}

/**
 * Whether the record leaves the caller's identity unknown while being (possibly) mutual TLS: it
 * logs no peer URI SAN, and either TLS is not known or an SNI was requested. A record shown to be
 * plaintext, or one that already names its peer, is left as logged.
 */
function identityUnknown(r: AccessRecord): boolean {
  if (r.attrs.tls && r.attrs.tls.uriSans.length > 0) return false;
  return r.unknown.includes('tls.uriSans') || r.unknown.includes('tls') || !!r.attrs.sni;
}

/** The record with the caller's certificate filled in (peer URI SANs and Istio's peer principal). */
function withPeerCertificate(r: AccessRecord, cert: PeerCertificate): AccessRecord {
  const drop = new Set(['tls', 'tls.uriSans', 'tls.dnsSans', 'tls.subject', 'tls.peerCertificateValidated', 'filterState.io.istio.peer_principal']);
  return {
    ...r,
    attrs: {
      ...r.attrs,
      tls: { ...(cert.version ? { version: cert.version } : {}), uriSans: [...cert.uriSans], dnsSans: [...cert.dnsSans], subject: cert.subject, peerCertificateValidated: true },
      filterState: { ...(r.attrs.filterState ?? {}), 'io.istio.peer_principal': cert.uriSans[0]! },
    },
    unknown: r.unknown.filter((u) => !drop.has(u)),
  };
}

/**
 * When the record does not log the caller's identity but the same connection in a capture shows
 * the client certificate (TLS ≤ 1.2), the record is replayed with that identity. The server sidecar
 * logged the request, so the mTLS handshake (which requires a client certificate) completed.
 */
export function withCaptureIdentity(r: AccessRecord, f: Flow | undefined): { record: AccessRecord; note: string | null } {
  const sans = f?.tls?.clientCertificateSent ? f.tls.uriSans : [];
  if (!f || !f.tls || sans.length === 0) return { record: r, note: null };
  if (!identityUnknown(r)) return { record: r, note: null };
  const record = withPeerCertificate(r, { uriSans: sans, dnsSans: f.tls.dnsSans, subject: f.tls.subject ?? '', ...(f.tls.version ? { version: f.tls.version } : {}) });
  return { record, note: `client certificate in capture ${f.file}#${f.tls.frames?.clientCertificate ?? f.frames[0] ?? ''} (${sans[0]})` };
}

/** HCM `forward_client_cert_details` values under which the last XFCC element is the sidecar's own. */
const XFCC_SETTING_MODES = new Set(['APPEND_FORWARD', 'SANITIZE_SET']);

/**
 * How the proxy's inbound HTTP connection managers that can receive mutual TLS on `port` handle
 * XFCC (`forward_client_cert_details`, Envoy's default SANITIZE when unset): chains of INBOUND
 * listeners (Istio's `virtualInbound`) whose match allows the port and whose transport socket
 * terminates TLS.
 */
export function inboundXfccModes(dump: ConfigDump, port: number | undefined): string[] {
  const modes = new Set<string>();
  for (const l of dump.listeners) {
    if (l.trafficDirection !== 'INBOUND' && l.name !== 'virtualInbound') continue;
    for (const c of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
      if (port !== undefined && c.match.destinationPort !== null && c.match.destinationPort !== port) continue;
      if (c.match.destinationPort === null && port !== undefined && l.address && !l.useOriginalDst && l.address.port !== port) continue;
      if (!c.transportSocket?.tls) continue;
      for (const f of c.filters) if (f.hcm) modes.add(f.hcm.forwardClientCertDetails ?? 'SANITIZE');
    }
  }
  return [...modes].sort();
}

/** The proxy's own workload identities (URI SANs of its SDS/static workload certificates), when the dump has them. */
function ownUriSans(dump: ConfigDump): string[] {
  const out: string[] = [];
  for (const s of dump.secrets) if (s.kind === 'tls_certificate') for (const u of s.certificates[0]?.uriSans ?? []) out.push(u);
  return out;
}

/**
 * When the record does not log the caller's identity but the capture of the same proxy shows the
 * request Envoy forwarded to the app (the sidecar-local leg, see correlate.ts `findLocalLegs`), the
 * `x-forwarded-client-cert` on it names the caller: the LAST element is the one this sidecar added
 * for its direct peer, and its URI values are the peer certificate's URI SANs. Envoy removes XFCC
 * from requests that did not come over mutual TLS and, under APPEND_FORWARD / SANITIZE_SET, appends
 * (or sets) its own element; so the identity is used only when the dump in force says the inbound
 * HTTP connection managers for the port use one of those two modes, the element names a URI, and its
 * `By` (when present) is this proxy's own certificate. Otherwise the record stays as logged.
 */
export function withXfccIdentity(
  r: AccessRecord,
  leg: LocalLegLink | undefined,
  dump: ConfigDump,
  wire?: Flow,
): { record: AccessRecord; note: string | null } {
  if (!leg || !identityUnknown(r)) return { record: r, note: null };
  const el = lastXfccElement(leg.xfcc);
  if (!el || el.uri.length === 0) return { record: r, note: null };
  const port = leg.record.attrs.destination?.port ?? leg.flow.server.port;
  const modes = inboundXfccModes(dump, port);
  if (modes.length === 0 || !modes.every((m) => XFCC_SETTING_MODES.has(m))) return { record: r, note: null };
  const own = ownUriSans(dump);
  if (el.by !== undefined && own.length > 0 && !own.includes(el.by)) return { record: r, note: null };
  const record = withPeerCertificate(r, { uriSans: el.uri, dnsSans: el.dns, subject: el.subject ?? '', ...(wire?.tls?.version ? { version: wire.tls.version } : {}) });
  const x = leg.flow.http[leg.exchange];
  const frame = x?.requestFrame ?? leg.flow.frames[0] ?? '';
  const how = leg.by === 'request-id' ? 'same x-request-id' : leg.by === 'upstream-address' ? 'UPSTREAM_LOCAL_ADDRESS and time' : 'time and route';
  return { record, note: `xfcc-sidecar-local-leg ${leg.flow.file}#${frame} (URI=${el.uri[0]}${el.hash ? `; Hash=${el.hash}` : ''}; ${how})` };
}
