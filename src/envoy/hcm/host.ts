/**
 * `ConnectionManagerUtility::maybeNormalizeHost`: right after the path, before routing and the filters, the
 * HTTP connection manager may rewrite `:authority` (what RBAC `header` matchers on `:authority`/`host` and
 * Istio's `hosts` read): `strip_trailing_host_dot` ("example.com." → "example.com"), then
 * `strip_any_host_port` or `strip_matching_host_port` (only when the port is the listener's)
 * (HeaderUtility::stripTrailingHostDot / stripPortFromHost).
 */
import { isObj } from '../tls.js';

export interface HostSettings {
  stripTrailingDot: boolean;
  stripPort: 'none' | 'any' | 'matching';
}

const bool = (v: unknown): boolean => v === true || (isObj(v) && v.value === true);

export function hcmHostSettings(hcm: Record<string, unknown>): HostSettings {
  return {
    stripTrailingDot: bool(hcm.strip_trailing_host_dot),
    stripPort: bool(hcm.strip_any_host_port) ? 'any' : bool(hcm.strip_matching_host_port) ? 'matching' : 'none',
  };
}

/** Index of the ':' before the port, or -1 (IPv6 literals need brackets). */
function portStart(host: string): number {
  const c = host.lastIndexOf(':');
  if (c < 0) return -1;
  if (host.startsWith('[')) return host[c - 1] === ']' ? c : -1;
  return host.indexOf(':') === c ? c : -1; // a bare IPv6 address has no port
}

/** The `:authority` after the HCM's host normalisation (unchanged when nothing applies). */
export function normalizeHost(host: string, s: HostSettings, listenerPort: number | undefined): string {
  let h = host;
  if (s.stripTrailingDot) {
    const p = portStart(h);
    if (p < 0) {
      if (h.endsWith('.')) h = h.slice(0, -1);
    } else if (h[p - 1] === '.') h = h.slice(0, p - 1) + h.slice(p);
  }
  if (s.stripPort !== 'none') {
    const p = portStart(h);
    if (p >= 0) {
      const ps = h.slice(p + 1);
      if (/^\d+$/.test(ps) && Number(ps) <= 0xffffffff && (s.stripPort === 'any' || (listenerPort !== undefined && Number(ps) === listenerPort))) h = h.slice(0, p);
    }
  }
  return h;
}
