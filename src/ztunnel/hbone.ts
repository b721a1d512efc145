/**
 * Istio ambient on the wire. ztunnel's HBONE client (src/tls/certificate.rs, src/tls/lib.rs) opens
 * TLS 1.3 to port 15008 with ALPN exactly `h2` and no SNI, and both sides present SPIFFE
 * certificates (mutual TLS, encrypted under TLS 1.3: the identities are only in the ztunnel log).
 * Kubelet probes to ambient pods arrive SNATed from 169.254.7.127 and bypass ztunnel by design.
 */
import type { FlowTls } from '../model/records.js';

export const HBONE_PORT = 15008;
/** The link-local source ambient's CNI gives kubelet health probes (they bypass ztunnel on purpose). */
export const AMBIENT_KUBELET_PROBE_SOURCE = '169.254.7.127';

/**
 * The HBONE fingerprint of a ClientHello: to port 15008, ALPN exactly [h2], no SNI, and TLS 1.3
 * negotiated (or the ServerHello not seen). Returns the evidence, or null when it is not HBONE.
 */
export function hboneEvidence(tls: FlowTls, serverPort: number): string[] | null {
  if (serverPort !== HBONE_PORT) return null;
  if (tls.sni !== null && tls.sni !== '') return null;
  if (tls.alpn.length !== 1 || tls.alpn[0] !== 'h2') return null;
  if (tls.version !== null && !/1\.3/.test(tls.version)) return null;
  return ['istio-hbone'];
}

export function isAmbientKubeletProbe(clientIp: string): boolean {
  return clientIp === AMBIENT_KUBELET_PROBE_SOURCE;
}
