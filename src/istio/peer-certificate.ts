/**
 * Istio-issued workload certificates (istiod's CA signing istio-agent's CSR) carry exactly one URI SAN,
 * the workload's SPIFFE id, no DNS SAN and an empty subject. Evidence from an Istio proxy that gives the
 * peer's URI SANs but not its DNS SANs or subject (%DOWNSTREAM_PEER_URI_SAN% in a text log; ALS, which
 * logs URI SANs only) therefore settles the rest: an `authenticated.principal_name` compared with a
 * different SPIFFE id is a decided no-match, not "undecidable". The assumption is stated as a note.
 */
import type { RequestAttrs } from '../model/attrs.js';

const SETTLED = ['tls.dnsSans', 'tls.subject'] as const;

export interface PeerCertificateAssumption {
  req: RequestAttrs;
  unknown: string[];
  note: string;
}

/**
 * For a request to an Istio proxy whose peer URI SAN is known (one SPIFFE id) while DNS SANs and/or the
 * subject are not: the request with those filled as an Istio certificate has them, the remaining unknown
 * attributes, and the note. Null when nothing is settled.
 */
export function assumeIstioPeerCertificate(req: RequestAttrs, unknown: readonly string[]): PeerCertificateAssumption | null {
  const tls = req.tls;
  if (!tls || unknown.includes('tls') || unknown.includes('tls.uriSans')) return null;
  if (tls.uriSans.length !== 1 || !tls.uriSans[0]!.startsWith('spiffe://')) return null;
  const settled = SETTLED.filter((a) => unknown.includes(a));
  if (settled.length === 0) return null;
  const rest = unknown.filter((u) => !(SETTLED as readonly string[]).includes(u));
  const fixed: RequestAttrs = { ...req, tls: { ...tls, ...(settled.includes('tls.dnsSans') ? { dnsSans: [] } : {}), ...(settled.includes('tls.subject') ? { subject: '' } : {}) } };
  const what = settled.map((a) => (a === 'tls.dnsSans' ? 'no DNS SAN' : 'an empty subject')).join(' and ');
  return {
    req: fixed,
    unknown: rest,
    note: `the evidence gives the peer certificate's URI SAN (${tls.uriSans[0]}) but not its ${settled.map((a) => (a === 'tls.dnsSans' ? 'DNS SANs' : 'subject')).join(' or ')}: assumed an Istio-issued workload certificate (exactly one URI SAN, ${what})`,
  };
}
