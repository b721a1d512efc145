import { describe, expect, it } from 'vitest';
import type { AccessRecord } from '../../src/model/records.js';
import type { PeerTls } from '../../src/model/attrs.js';
import { inferSecurity } from '../../src/analysis/explain.js';
import { LOGGED_SECURITIES, loggedSecurity } from '../../src/analysis/request-events.js';
import { record } from './report-fixtures.js';

const SAN = 'spiffe://cluster.local/ns/default/sa/productpage';
const tlsWith = (uriSans: string[]): PeerTls => ({ uriSans, dnsSans: [], subject: '', peerCertificateValidated: true });

/** Every combination of what inferSecurity reads: cluster, TLS fields, SNI, the unknown list, the format. */
function variants(): AccessRecord[] {
  const out: AccessRecord[] = [];
  const clusters = ['inbound|9080||', 'inbound-vip|9080|http|reviews.default.svc.cluster.local', 'outbound|9080||reviews.default.svc.cluster.local'];
  const tlss: (PeerTls | undefined)[] = [undefined, tlsWith([]), tlsWith([SAN])];
  const snis: (string | undefined)[] = [undefined, '', 'outbound_.9080_._.reviews.default.svc.cluster.local', 'api.example.com'];
  const lists = [[], ['tls'], ['tls.uriSans'], ['sni'], ['tls', 'sni'], ['tls', 'tls.uriSans'], ['tls', 'sni', 'filterState'], ['filterState', 'tls.uriSans'], ['tls', 'tls.uriSans', 'sni', 'filterState']];
  for (const cluster of clusters)
    for (const tls of tlss)
      for (const sni of snis)
        for (const unknown of lists)
          for (const format of ['istio', 'als']) {
            const attrs: AccessRecord['attrs'] = {};
            if (tls) attrs.tls = tls;
            if (sni !== undefined) attrs.sni = sni;
            out.push(record({ cluster, unknown: [...unknown], format, attrs }));
          }
  return out;
}

describe('loggedSecurity', () => {
  it("gives inferSecurity's security and inferred for every combination of cluster, TLS fields, SNI and unknown list", () => {
    const rs = variants();
    const seen = new Set<string>();
    for (const r of rs) {
      const inf = inferSecurity(r);
      const got = loggedSecurity(r);
      expect({ security: got.security, inferred: got.inferred }, JSON.stringify({ cluster: r.upstreamCluster, attrs: r.attrs, unknown: r.unknown })).toEqual({ security: inf.security, inferred: inf.inferred });
      seen.add(`${got.security}|${got.inferred}`);
    }
    // the combinations reach seven of the eight answers (unknown is never inferred)
    expect(seen.size).toBe(7);
  });

  it('answers with one of the shared LOGGED_SECURITIES, the same object for an equal record', () => {
    const a = record({ attrs: { sni: 'outbound_.9080_._.reviews.default.svc.cluster.local' }, unknown: ['tls', 'tls.uriSans'] });
    const b = { ...a };
    expect(LOGGED_SECURITIES).toContain(loggedSecurity(a));
    expect(loggedSecurity(b)).toBe(loggedSecurity(a));
  });
});
