/**
 * Istio's mesh-wide `meshConfig.pathNormalization.normalization` as istiod renders it into every
 * HTTP connection manager (pilot/pkg/networking/core/listener_builder.go, "Setup normalization"):
 * it always writes `path_with_escaped_slashes_action: KEEP_UNCHANGED`, then
 *   NONE                      → normalize_path false
 *   BASE (and DEFAULT)        → normalize_path true
 *   MERGE_SLASHES             → normalize_path true, merge_slashes true
 *   DECODE_AND_MERGE_SLASHES  → normalize_path true, merge_slashes true, UNESCAPE_AND_FORWARD
 * This names the mode an HCM's settings correspond to, so notes can speak Istio.
 */
import type { PathSettings } from '../envoy/hcm/path.js';

export type IstioPathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

/** The Istio mode whose rendering these settings are, or null (e.g. changed by an EnvoyFilter). */
export function istioPathNormalization(s: PathSettings): IstioPathNormalization | null {
  const keep = s.escapedSlashesAction === 'KEEP_UNCHANGED';
  if (!s.normalizePath) return !s.mergeSlashes && keep ? 'NONE' : null;
  if (!s.mergeSlashes) return keep ? 'BASE' : null;
  if (keep) return 'MERGE_SLASHES';
  return s.escapedSlashesAction === 'UNESCAPE_AND_FORWARD' ? 'DECODE_AND_MERGE_SLASHES' : null;
}
