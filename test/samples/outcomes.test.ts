/**
 * Every inbound access-log line of every bundle, replayed through the sidecar dump of the stage it was written
 * in (identity from the scenario: the client's workload or the certificate it impersonates), must reproduce
 * what the log says Envoy did: allowed, `rbac_access_denied_matched_policy[...]` with the same policy, or
 * `filter_chain_not_found` for plaintext to a STRICT port.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/samples/scenarios/index.js';
import { loggedVerdict, reconstructed, replayBundle } from './helpers.js';

describe('logged verdicts agree with decideRequest over the stage dumps', () => {
  for (const sc of SCENARIOS) {
    it(`${sc.name}: every inbound record is reproduced`, async () => {
      const rows = await replayBundle(sc);
      expect(rows.length).toBeGreaterThan(3);
      const mismatches = rows
        .map((x) => ({ x, want: loggedVerdict(x) }))
        .filter(({ x, want }) => x.decision.decision !== want.decision || (want.details !== null && reconstructed(x.decision) !== want.details))
        .map(({ x, want }) => `${x.file}:${x.line} [${x.stage}] logged ${want.decision} ${want.details ?? ''} — reconstructed ${x.decision.decision} ${reconstructed(x.decision) ?? ''} (${(x.decision.reasons ?? []).join('; ')})`);
      expect(mismatches).toEqual([]);
      // both outcomes occur in every bundle with Istio authorization, so the comparison can fail both ways
      expect(rows.some((x) => x.decision.decision === 'ALLOW')).toBe(true);
      if (sc.stages.some((st) => st.objects.length > 0)) expect(rows.some((x) => x.decision.decision === 'DENY')).toBe(true);
    });
  }
});
