/**
 * The downstream remote address the HTTP connection manager sets before the filters run
 * (`ConnectionManagerUtility::mutateRequestHeaders`, source/common/http/conn_manager_utility.cc): what
 * `remote_ip` and `SourceIPInput` read, while `source_ip` keeps reading the connection peer.
 *  - `use_remote_address: true`: with `xff_num_trusted_hops` N > 0 the address N-1 from the end of
 *    X-Forwarded-For, else (or when that entry is missing/invalid) the connection peer;
 *  - `use_remote_address: false` (the default, and Istio's sidecar inbound): the address N from the end of
 *    X-Forwarded-For, else the connection peer.
 * An address taken from XFF has port 0 (which is how an access log shows it).
 * `original_ip_detection_extensions` replace this logic and are not modelled.
 */
import { isIP } from 'node:net';
import { isObj } from '../tls.js';

/** `Utility::getLastAddressFromXFF`: the IP `numToSkip` entries from the end of the (comma-joined) XFF, or null. */
export function lastAddressFromXff(xff: string | undefined, numToSkip: number): string | null {
  if (xff === undefined) return null;
  let s = xff;
  for (let i = 0; i < numToSkip; i++) {
    const c = s.lastIndexOf(',');
    if (c < 0) return null;
    s = s.slice(0, c);
  }
  const c = s.lastIndexOf(',');
  if (c >= 0 && c + 1 < s.length) s = s.slice(c + 1);
  s = s.trim();
  return isIP(s) ? s : null;
}

export interface RemoteAddressSettings {
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  /** Names of `original_ip_detection_extensions` (not modelled). */
  detectionExtensions: string[];
}

export function hcmRemoteAddressSettings(hcm: Record<string, unknown>): RemoteAddressSettings {
  const ura = hcm.use_remote_address;
  const useRemoteAddress = ura === true || (isObj(ura) && ura.value === true);
  const hops = Number(hcm.xff_num_trusted_hops ?? 0);
  const ext = Array.isArray(hcm.original_ip_detection_extensions) ? hcm.original_ip_detection_extensions : [];
  return {
    useRemoteAddress,
    xffNumTrustedHops: Number.isInteger(hops) && hops > 0 ? hops : 0,
    detectionExtensions: ext.map((e) => (isObj(e) && typeof e.name === 'string' ? e.name : 'an extension')),
  };
}

/** The remote address the HCM derives: from XFF (port 0), or null = the connection peer. */
export function remoteFromXff(s: RemoteAddressSettings, xff: string | undefined): string | null {
  if (s.useRemoteAddress) return s.xffNumTrustedHops > 0 ? lastAddressFromXff(xff, s.xffNumTrustedHops - 1) : null;
  return lastAddressFromXff(xff, s.xffNumTrustedHops);
}
