/**
 * TEST-ONLY throwaway PKI for synthetic captures (generated once by scripts/gen-pki.sh and
 * committed, so generation is reproducible): an Istio-like root "O=cluster.local" and workload
 * certificates with an empty subject and a SPIFFE URI SAN, valid 2026-01-01 .. 2036-01-01.
 */
import { TEST_CA_CERT, TEST_CA_KEY, TEST_IDENTITIES, type TestIdentity } from './identities.js';

export { TEST_CA_CERT, TEST_CA_KEY, TEST_IDENTITIES, type TestIdentity };

/** The workload identity `ns/sa` (e.g. "foo/httpbin"), or the non-mesh "partner/api" (DNS SAN). */
export function identity(name: string): TestIdentity {
  const id = TEST_IDENTITIES[name];
  if (!id) throw new Error(`synth: no test identity ${name} (have: ${Object.keys(TEST_IDENTITIES).join(', ')}); add it to scripts/gen-pki.sh`);
  return id;
}

export function spiffeId(ns: string, sa: string, trustDomain = 'cluster.local'): string {
  return `spiffe://${trustDomain}/ns/${ns}/sa/${sa}`;
}

export { issueRoot, issueWorkload, pemToDer, type KeyAndCert } from './issue.js';
