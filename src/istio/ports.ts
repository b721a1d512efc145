/**
 * Istio sidecar ports and traffic interception (iptables `istio-iptables` defaults).
 * Used by filter-chain selection to decide which listener a connection reaches.
 */

/** Outbound capture listener (`virtualOutbound`; `virtual` before Istio 1.3). */
export const OUTBOUND_CAPTURE_PORT = 15001;
/** Inbound capture listener (`virtualInbound`, Istio 1.3+). Before 1.3 inbound traffic also went to 15001. */
export const INBOUND_CAPTURE_PORT = 15006;
/** HBONE tunnel termination (`connect_terminate`). */
export const HBONE_PORT = 15008;
/** pilot-agent status / merged metrics. */
export const STATUS_PORT = 15020;
/** Health check (`/healthz/ready`). */
export const HEALTH_PORT = 15021;
/** Envoy Prometheus stats. */
export const STATS_PORT = 15090;
/** Source address Envoy uses for inbound connections to the app (TPROXY mode / `127.0.0.6` passthrough). */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';

/**
 * Inbound destination ports that istio-iptables does not redirect to 15006 (`ISTIO_INBOUND ... -j RETURN`):
 * the proxy's own ports. Connections to them reach the listener bound to that port directly.
 */
export const INBOUND_NOT_CAPTURED = [HBONE_PORT, STATUS_PORT, HEALTH_PORT, STATS_PORT, 15000, 15004];
