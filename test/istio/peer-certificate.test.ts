/**
 * Istio-issued peer certificates carry exactly one URI SAN and no DNS SAN or subject: with an Istio
 * dump, a record that logs the peer URI SAN decides `authenticated.principal_name` against another
 * SPIFFE id (no match), with the assumption as a note. Data: samples/details-path's details dump, its
 * peer-principal matchers rendered as Istio ≥ 1.20 sidecars do (authenticated.principal_name), and the
 * sample's log lines in a format that adds %DOWNSTREAM_PEER_URI_SAN%.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import { alsEntryToRecord } from '../../src/readers/accesslog/als.js';
import { decideRequest } from '../../src/envoy/decide.js';
import { explainRecord, type Decider } from '../../src/analysis/explain.js';
import { assumeIstioPeerCertificate } from '../../src/istio/peer-certificate.js';
import type { AccessRecord } from '../../src/model/records.js';

const FILE = new URL('../../samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', import.meta.url);
const rawText = readFileSync(FILE, 'utf8');
const toAuthenticated = (_k: string, v: unknown): unknown => {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const fs = (v as Record<string, unknown>).filter_state as { key?: string; string_match?: unknown } | undefined;
    if (fs && fs.key === 'io.istio.peer_principal') return { authenticated: { principal_name: fs.string_match } };
  }
  return v;
};
const istioDump = parseConfigDump(JSON.parse(rawText, toAuthenticated) as unknown, 'details-authenticated.json');
const decide: Decider = (req, opts) => decideRequest(istioDump, req, { unknown: opts.unknown });

const FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% "%REQ(:AUTHORITY)%" %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %DOWNSTREAM_PEER_URI_SAN%';
async function rec(line: string): Promise<AccessRecord> {
  for await (const r of readAccessLogs({ path: 'details.log', stream: Readable.from([line + '\n']) }, { format: FORMAT })) return r;
  throw new Error('no record');
}
const SNI = 'outbound_.9080_._.details.default.svc.cluster.local';
const sleepDenied = `[2026-11-22T14:06:03.905Z] "GET /details/0 HTTP/1.1" 403 rbac_access_denied_matched_policy[none] "details:9080" 10.244.2.72:9080 10.244.2.73:44084 ${SNI} spiffe://cluster.local/ns/default/sa/sleep`;
const productpageServed = `[2026-11-22T14:05:30.045Z] "GET /details/0 HTTP/1.1" 200 via_upstream "details:9080" 10.244.2.72:9080 10.244.1.71:58110 ${SNI} spiffe://cluster.local/ns/default/sa/bookinfo-productpage`;

describe('Istio-issued peer certificates: one URI SAN, no DNS SAN, no subject', () => {
  it('a logged peer URI SAN decides principal_name against a different SPIFFE id, with the assumption as a note', async () => {
    const e = explainRecord(await rec(sleepDenied), decide);
    expect(e).toMatchObject({ verdict: 'agrees', logged: 'denied', loggedPolicy: 'none' });
    expect(e.decision).toMatchObject({ decision: 'DENY', policy: null });
    expect(e.decision!.reasons!.join(' ')).toMatch(/assumed an Istio-issued workload certificate \(exactly one URI SAN, no DNS SAN and an empty subject\)/);
    expect(explainRecord(await rec(productpageServed), decide)).toMatchObject({ verdict: 'agrees', logged: 'allowed' });
  });
  it('without the Istio node the DNS SANs stay unknown and the record is undecidable', async () => {
    const bare = JSON.parse(rawText, toAuthenticated) as { configs: Record<string, unknown>[] };
    bare.configs = bare.configs.filter((c) => !String(c['@type']).endsWith('BootstrapConfigDump'));
    const envoyOnly = parseConfigDump(bare, 'no-node.json');
    expect(envoyOnly.node).toBeNull();
    const e = explainRecord(await rec(sleepDenied), (req, opts) => decideRequest(envoyOnly, req, { unknown: opts.unknown }));
    expect(e.verdict).toBe('undecidable');
    expect(e.missing).toEqual(expect.arrayContaining(['tls.dnsSans', 'tls.subject']));
    expect(e.reason).toMatch(/^the log does not carry .*tls\.dnsSans/);
  });
  it('ALS peer certificate SANs (URI only) are settled the same way', () => {
    const r = alsEntryToRecord('http', {
      common_properties: {
        downstream_remote_address: { socket_address: { address: '10.244.2.73', port_value: 44084 } },
        downstream_direct_remote_address: { socket_address: { address: '10.244.2.73', port_value: 44084 } },
        downstream_local_address: { socket_address: { address: '10.244.2.72', port_value: 9080 } },
        tls_properties: { tls_version: 'TLSv1_3', tls_sni_hostname: SNI, peer_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/default/sa/sleep' }] } },
      },
      request: { request_method: 'GET', path: '/details/0', authority: 'details:9080' },
      response: { response_code: 403, response_code_details: 'rbac_access_denied_matched_policy[none]' },
    }, { file: 'als' });
    expect(r.unknown).toContain('tls.dnsSans');
    expect(explainRecord(r, decide)).toMatchObject({ verdict: 'agrees', logged: 'denied' });
  });
  it('settles nothing for several URI SANs or a non-SPIFFE one', () => {
    const tls = (uriSans: string[]) => ({ tls: { uriSans, dnsSans: [], subject: '', peerCertificateValidated: true } });
    expect(assumeIstioPeerCertificate(tls(['spiffe://a/ns/x/sa/y', 'spiffe://b/ns/x/sa/y']), ['tls.dnsSans'])).toBeNull();
    expect(assumeIstioPeerCertificate(tls(['urn:x']), ['tls.dnsSans'])).toBeNull();
    expect(assumeIstioPeerCertificate(tls(['spiffe://a/ns/x/sa/y']), ['tls.uriSans', 'tls.dnsSans'])).toBeNull();
    expect(assumeIstioPeerCertificate(tls(['spiffe://a/ns/x/sa/y']), ['tls.dnsSans', 'metadata'])).toMatchObject({ unknown: ['metadata'] });
  });
});
