/**
 * Istio's traffic conventions as seen on the wire (what a packet capture can show):
 * - the SNI a client sidecar sends for mTLS: `outbound_.<port>_.<subset>_.<fqdn>`
 *   (pilot/pkg/model/service.go BuildDNSSrvSubsetKey; `_` when there is no subset);
 * - the ALPN values the client sidecar offers for mTLS (pilot/pkg/networking/util/util.go and the
 *   outbound `istio.alpn` filter: `istio-http/1.0`, `istio-http/1.1`, `istio-h2`, `istio`,
 *   `istio-peer-exchange`);
 * - the sidecar's own ports and the inbound passthrough source address 127.0.0.6.
 */

/** ALPN values only an Istio sidecar offers (allIstioMtlsALPNs in pilot's listener code). */
export const ISTIO_MTLS_ALPNS: readonly string[] = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

/** True for an ALPN protocol id that marks an Istio mTLS client (`istio`, `istio-*`). */
export function isIstioAlpn(alpn: string): boolean {
  return alpn === 'istio' || alpn.startsWith('istio-');
}

export interface IstioSni {
  direction: 'outbound' | 'inbound';
  port: number;
  /** Subset name, `''` when the SNI carries `_` (no subset). */
  subset: string;
  /** Service host name (FQDN). */
  host: string;
}

/**
 * A waypoint's service chains and clusters are named with TrafficDirectionInboundVIP (`inbound-vip|<port>|<subset>|
 * <host>`, model.BuildSubsetKey); only waypoints use it. A request logged there arrived through HBONE (mTLS to
 * connect_terminate:15008) and was handled on the internal listener, whose own connection has no TLS.
 */
export function isWaypointInboundCluster(name: string | null | undefined): boolean {
  return typeof name === 'string' && name.startsWith('inbound-vip|');
}

const SNI_RE = /^(outbound|inbound)_\.(\d{1,5})_\.([^.]*)_\.(.+)$/;

/** Parses an Istio DNS-style subset key SNI (`outbound_.8000_._.httpbin.foo.svc.cluster.local`). */
export function parseIstioSni(sni: string | null | undefined): IstioSni | null {
  if (!sni) return null;
  const m = SNI_RE.exec(sni);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { direction: m[1] as 'outbound' | 'inbound', port, subset: m[3] === '_' || m[3] === '' ? '' : m[3]!, host: m[4]! };
}

/** The SNI last asked about by isIstioSni and the answer (consecutive access-log records mostly carry the same SNI). */
let lastSni: string | undefined;
let lastSniIstio = false;

/** Whether the SNI is an Istio one (`parseIstioSni` is not null), the last answer remembered. */
export function isIstioSni(sni: string | undefined): boolean {
  if (sni === undefined || sni !== lastSni) {
    lastSniIstio = parseIstioSni(sni) !== null;
    lastSni = sni;
  }
  return lastSniIstio;
}

/** Envoy's ports in an Istio sidecar. */
export const SIDECAR_PORTS: Readonly<Record<number, string>> = {
  15000: 'Envoy admin (localhost)',
  15001: 'Envoy outbound (iptables redirect of app traffic)',
  15004: 'debug',
  15006: 'Envoy inbound (iptables redirect of traffic to the pod)',
  15008: 'HBONE mTLS tunnel',
  15020: 'merged Prometheus telemetry / health',
  15021: 'health checks',
  15053: 'DNS proxy',
  15090: 'Envoy Prometheus telemetry',
};

/** The ports iptables redirects app traffic to: a leg that ends there is inside the pod. */
export const SIDECAR_CAPTURE_PORTS: readonly number[] = [15001, 15006];

/** Source address Envoy uses for inbound passthrough to the app (Istio ≥ 1.10). */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';

export interface LegInfo {
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  /** The capture says the packets were on a loopback interface (SLL/SLL2 ARPHRD, pcapng if_name). */
  loopbackInterface: boolean;
  /** The flow carried TLS. */
  tls: boolean;
}

/**
 * Why this flow is the app↔sidecar leg inside a pod (plaintext by design), or null.
 * Signals: Envoy's inbound passthrough source 127.0.0.6; a connection to the redirect ports
 * 15001/15006; or a non-TLS flow captured on a loopback interface (the hop never left the pod).
 */
export function sidecarLocalReason(leg: LegInfo): string | null {
  if (leg.client.ip === INBOUND_PASSTHROUGH_SOURCE) return 'source 127.0.0.6 (Envoy inbound passthrough to the app)';
  if (SIDECAR_CAPTURE_PORTS.includes(leg.server.port) && !leg.tls) {
    return `server port ${leg.server.port} (${SIDECAR_PORTS[leg.server.port]})`;
  }
  if (leg.loopbackInterface && !leg.tls) return 'captured on a loopback interface (never left the pod)';
  return null;
}

/** True for an interface name that is a loopback device (`lo`, `lo0`, `Loopback`, `\Device\NPF_Loopback`). */
export function isLoopbackInterfaceName(name: string | undefined): boolean {
  if (!name) return false;
  return /^lo\d*$/.test(name) || /loopback/i.test(name);
}
