/** Each bundle's promised story, asserted against the real readers, decision engine and flow analysis. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideRequest } from '../../src/envoy/decide.js';
import type { RequestAttrs } from '../../src/model/attrs.js';
import { readInventory, WorkloadIndex } from '../../src/readers/inventory.js';
import { runCli } from '../helpers/cli.js';
import { dumpPath, flows, isInbound, loadDump, podByName, records, SAMPLES, scenario, spiffe } from './helpers.js';

const mtlsReq = (from: string, to: { ip: string; port: number }, http?: { method: string; path: string; authority: string }, sni?: string): RequestAttrs => ({
  source: { address: '10.244.0.99', port: 40000 },
  directRemote: { address: '10.244.0.99', port: 40000 },
  destination: { address: to.ip, port: to.port },
  ...(sni ? { sni } : {}),
  tls: { version: 'TLSv1.3', uriSans: [from], dnsSans: [], subject: '', peerCertificateValidated: true },
  ...(http ? { http: { ...http, headers: {} } } : {}),
});
const plainReq = (srcIp: string, to: { ip: string; port: number }, http?: { method: string; path: string; authority: string }): RequestAttrs => ({
  source: { address: srcIp, port: 40000 },
  directRemote: { address: srcIp, port: 40000 },
  destination: { address: to.ip, port: to.port },
  transportProtocol: 'raw_buffer',
  ...(http ? { http: { ...http, headers: {} } } : {}),
});

describe('bookinfo-authz', () => {
  const sc = scenario('bookinfo-authz');
  const details = podByName(sc, 'details-v1');
  const productpage = podByName(sc, 'productpage-v1');
  const sleep = podByName(sc, 'sleep');
  const stem = (p: typeof details): string => `${p.name}.${p.namespace}`;

  it('final state: details allows GET from the productpage identity and denies another service account', async () => {
    const dump = await loadDump(dumpPath(sc, stem(details), 'ratings-viewer'));
    const get = { method: 'GET', path: '/details/0', authority: 'details:9080' };
    const ok = decideRequest(dump, mtlsReq(spiffe(productpage), { ip: details.ip, port: 9080 }, get));
    expect(ok.decision).toBe('ALLOW');
    expect(JSON.stringify(ok.filters)).toContain('ns[default]-policy[details-viewer]-rule[0]');
    const other = decideRequest(dump, mtlsReq(spiffe(sleep), { ip: details.ip, port: 9080 }, get));
    expect(other.decision).toBe('DENY');
    expect(other.responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
    const post = decideRequest(dump, mtlsReq(spiffe(productpage), { ip: details.ip, port: 9080 }, { ...get, method: 'POST' }));
    expect(post.decision).toBe('DENY');
  });

  it('the logs show the stages in time order (allow-nothing, then details/reviews closed, then ratings closed, then open)', async () => {
    const codes = async (p: typeof details): Promise<number[]> =>
      (await records(join(SAMPLES, sc.name, 'logs', `${stem(p)}.istio-proxy.log`))).filter(isInbound).map((r) => r.responseCode ?? 0);
    expect(await codes(productpage)).toEqual([200, 403, 200, 200, 200]);
    expect(await codes(details)).toEqual([200, 403, 200, 200, 403]);
    expect(await codes(podByName(sc, 'reviews-v3'))).toEqual([200, 403, 200, 200]);
    expect(await codes(podByName(sc, 'ratings-v1'))).toEqual([200, 403, 200]);
  });

  it('the productpage capture carries the intermediate pages in cleartext on the sidecar-local leg, and only mTLS on eth0', async () => {
    const file = join(SAMPLES, sc.name, 'captures', `${stem(productpage)}.pcap`);
    const fl = await flows(file);
    const local = fl.filter((f) => f.sidecarLocal && f.server.port === 9080 && f.server.ip === productpage.ip);
    expect(local.map((f) => f.http[0]?.path)).toEqual(['/productpage', '/productpage', '/productpage', '/productpage']);
    const bytes = readFileSync(file).toString('latin1');
    expect(bytes).toContain('Error fetching product details!');
    expect(bytes).toContain('Error fetching product reviews!');
    expect(bytes).toContain('Ratings service is currently unavailable');
    const wire = fl.filter((f) => !f.sidecarLocal);
    expect(wire.length).toBeGreaterThan(8);
    expect(wire.every((f) => f.security === 'mtls' && f.tls?.sni?.startsWith('outbound_.9080_._.'))).toBe(true);
  });
});

describe('tcp-echo', () => {
  const sc = scenario('tcp-echo');
  const echo = podByName(sc, 'tcp-echo');
  const sleep = podByName(sc, 'sleep');
  const stem = `${echo.name}.${echo.namespace}`;
  const svc = (port: number): RequestAttrs => mtlsReq(spiffe(sleep), { ip: echo.ip, port }, undefined, `outbound_.${port}_._.tcp-echo.foo.svc.cluster.local`);

  it('ALLOW ports 9000/9001: 9002 (pod IP, plaintext) is denied on the pass-through chain', async () => {
    const dump = await loadDump(dumpPath(sc, stem, 'allow-ports'));
    const d9002 = decideRequest(dump, plainReq(sleep.ip, { ip: echo.ip, port: 9002 }));
    expect(d9002.decision).toBe('DENY');
    expect(d9002.filterChain).toBe('virtualInbound');
    expect(d9002.connectionTerminationDetails).toBe('rbac_access_denied_matched_policy[none]');
    expect(decideRequest(dump, svc(9000)).decision).toBe('ALLOW');
    expect(decideRequest(dump, svc(9001)).decision).toBe('ALLOW');
  });

  it('ALLOW with HTTP-only methods denies every TCP connection; DENY with only methods denies all by policy', async () => {
    const allowHttp = await loadDump(dumpPath(sc, stem, 'allow-http-only'));
    for (const port of [9000, 9001]) {
      const d = decideRequest(allowHttp, svc(port));
      expect(d.decision).toBe('DENY');
      expect(d.connectionTerminationDetails).toBe('rbac_access_denied_matched_policy[none]');
    }
    const denyHttp = await loadDump(dumpPath(sc, stem, 'deny-http-only'));
    for (const port of [9000, 9001]) {
      const d = decideRequest(denyHttp, svc(port));
      expect(d.decision).toBe('DENY');
      expect(d.policy).toBe('ns[foo]-policy[tcp-policy]-rule[0]');
    }
  });

  it('final DENY methods + port 9000: 9000 denied by the policy, 9001 allowed', async () => {
    const dump = await loadDump(dumpPath(sc, stem, 'deny-port-9000'));
    const d9000 = decideRequest(dump, svc(9000));
    expect(d9000.decision).toBe('DENY');
    expect(d9000.connectionTerminationDetails).toBe('rbac_access_denied_matched_policy[ns[foo]-policy[tcp-policy]-rule[0]]');
    expect(decideRequest(dump, svc(9001)).decision).toBe('ALLOW');
  });

  it('the echo capture shows the 9002 probe in plaintext, the service ports in mTLS with the TCP ALPN', async () => {
    const fl = (await flows(join(SAMPLES, sc.name, 'captures', `${stem}.pcap`))).filter((f) => !f.sidecarLocal);
    const byPort = (p: number) => fl.filter((f) => f.server.port === p);
    expect(byPort(9002).length).toBe(5);
    expect(byPort(9002).every((f) => f.security === 'plaintext')).toBe(true);
    expect(byPort(9000).every((f) => f.security === 'mtls' && f.tls?.alpn.join(',') === 'istio-peer-exchange,istio')).toBe(true);
  });
});

describe('legacy-plaintext', () => {
  const sc = scenario('legacy-plaintext');
  const hbFoo = sc.pods.find((p) => p.app === 'httpbin' && p.namespace === 'foo')!;
  const legacy = sc.pods.find((p) => p.namespace === 'legacy')!;
  const stem = `${hbFoo.name}.${hbFoo.namespace}`;
  const getIp = { method: 'GET', path: '/ip', authority: 'httpbin.foo:8000' };

  it('the capture shows legacy\'s plaintext GET /ip with its headers', async () => {
    const fl = await flows(join(SAMPLES, sc.name, 'captures', `${stem}.pcap`));
    const plain = fl.filter((f) => f.client.ip === legacy.ip);
    expect(plain.length).toBe(3);
    for (const f of plain) {
      expect(f.security).toBe('plaintext');
      expect(f.sidecarLocal).toBe(false);
      expect(f.http[0]?.method).toBe('GET');
      expect(f.http[0]?.path).toBe('/ip');
      expect(f.http[0]?.headers['user-agent']).toEqual(['curl/8.5.0']);
      expect(f.http[0]?.headers['host']).toEqual(['httpbin.foo:8000']);
    }
    // the STRICT-stage attempt got no HTTP response (reset), the others a 200
    expect(plain.map((f) => f.http[0]?.status ?? null)).toEqual([200, null, 200]);
  });

  it('STRICT on foo yields filter_chain_not_found for plaintext, logged as NR', async () => {
    const d = decideRequest(await loadDump(dumpPath(sc, stem, 'strict-foo')), plainReq(legacy.ip, { ip: hbFoo.ip, port: 8080 }, getIp));
    expect(d.decision).toBe('DENY');
    expect(d.responseCodeDetails).toBe('filter_chain_not_found');
    const nr = (await records(join(SAMPLES, sc.name, 'logs', `${stem}.istio-proxy.log`))).filter((r) => r.responseFlags === 'NR');
    expect(nr.length).toBe(1);
    expect(nr[0]!.responseCodeDetails).toBe('filter_chain_not_found');
    expect(nr[0]!.attrs.source?.address).toBe(legacy.ip);
  });

  it('final state: mesh-wide STRICT, httpbin overridden to PERMISSIVE; the meshed sleep pod is STRICT', async () => {
    const ok = decideRequest(await loadDump(dumpPath(sc, stem, 'mesh-strict-httpbin-permissive')), plainReq(legacy.ip, { ip: hbFoo.ip, port: 8080 }, getIp));
    expect(ok.decision).toBe('ALLOW');
    const sleepFoo = sc.pods.find((p) => p.app === 'sleep' && p.namespace === 'foo')!;
    const strict = decideRequest(await loadDump(dumpPath(sc, `${sleepFoo.name}.foo`, 'mesh-strict-httpbin-permissive')), plainReq(legacy.ip, { ip: sleepFoo.ip, port: 80 }, { method: 'GET', path: '/', authority: 'sleep.foo' }));
    expect(strict.responseCodeDetails).toBe('filter_chain_not_found');
  });
});

describe('bank-breach', () => {
  const sc = scenario('bank-breach');
  const db = podByName(sc, 'database-0');
  const summary = podByName(sc, 'account-summary');
  const web = podByName(sc, 'customer-web');
  const attacker = podByName(sc, 'toolbox');
  const stem = `${db.name}.${db.namespace}`;

  it('the attacker flows present the account-summary SPIFFE id from an IP that belongs to ops/toolbox', async () => {
    const fl = (await flows(join(SAMPLES, sc.name, 'captures', `${stem}.pcap`))).filter((f) => f.client.ip === attacker.ip);
    expect(fl.length).toBe(3);
    for (const f of fl) {
      expect(f.security).toBe('mtls');
      expect(f.inferred ?? false).toBe(false);
      expect(f.evidence).toContain('client-certificate');
      expect(f.tls?.version).toBe('TLSv1.2');
      expect(f.tls?.uriSans).toEqual([spiffe(summary)]);
    }
    const idx = new WorkloadIndex(await readInventory(join(SAMPLES, sc.name, 'inventory.json')));
    const who = idx.lookup(attacker.ip);
    expect(who?.namespace).toBe('ops');
    expect(who?.serviceAccount).toBe('default');
    expect(idx.lookup(summary.ip)?.serviceAccount).toBe('account-summary');
    expect(attacker.ip).not.toBe(summary.ip);
  });

  it('meshsleuth report raises identity-address-mismatch for the attacker, with the capture frames as evidence', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bank-report-')), 'report.json');
    const r = await runCli(['report', join(SAMPLES, sc.name), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { findings: Array<{ id: string; severity: string; summary: string; evidence: Array<{ file: string; frame?: number }>; details?: Record<string, unknown> }> };
    const f = report.findings.filter((x) => x.id === 'identity-address-mismatch');
    expect(f.length).toBe(1);
    expect(f[0]!.severity).toBe('critical');
    expect(f[0]!.summary).toContain(spiffe(summary));
    expect(f[0]!.summary).toContain(attacker.ip);
    // its three connections, seen in the database pod's capture and in the toolbox pod's own
    expect(f[0]!.evidence.length).toBe(6);
    expect(f[0]!.evidence.filter((e) => e.file.endsWith(`captures/${stem}.pcap`)).length).toBe(3);
    expect(f[0]!.evidence.filter((e) => e.file.endsWith(`captures/${attacker.name}.${attacker.namespace}.pcap`)).length).toBe(3);
    // the legitimate account-summary pod never triggers it
    expect(JSON.stringify(f)).not.toContain(summary.ip + ':');
  });

  it('the fix blocks the direct read from customer-web and the stolen-key write, but not a stolen-key read', async () => {
    const before = await loadDump(dumpPath(sc, stem, 'no-policy'));
    const after = await loadDump(dumpPath(sc, stem, 'fix'));
    const to = { ip: db.ip, port: 8080 };
    const read = { method: 'GET', path: '/accounts', authority: 'database:8080' };
    const write = { method: 'PUT', path: '/accounts/1234/balance', authority: 'database.bank.svc.cluster.local:8080' };
    expect(decideRequest(before, mtlsReq(spiffe(web), to, read)).decision).toBe('ALLOW');
    expect(decideRequest(before, mtlsReq(spiffe(summary), to, write)).decision).toBe('ALLOW');
    expect(decideRequest(after, mtlsReq(spiffe(web), to, read)).responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
    expect(decideRequest(after, mtlsReq(spiffe(summary), to, write)).responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
    expect(decideRequest(after, mtlsReq(spiffe(summary), to, { ...read, path: '/accounts/5678' })).decision).toBe('ALLOW');
    expect(decideRequest(after, plainReq(attacker.ip, to, read)).responseCodeDetails).toBe('filter_chain_not_found');
  });
});

describe('details-path', () => {
  const sc = scenario('details-path');
  const details = podByName(sc, 'details-v1');
  const productpage = podByName(sc, 'productpage-v1');
  const sleep = podByName(sc, 'sleep');
  const to = { ip: details.ip, port: 9080 };

  it('POST /details/0 and GET /ping are denied, each naming the one failing condition', async () => {
    const dump = await loadDump(dumpPath(sc, `${details.name}.default`, 'details-viewer'));
    const miss = (method: string, path: string, who = spiffe(productpage)) => {
      const d = decideRequest(dump, mtlsReq(who, to, { method, path, authority: 'details:9080' }));
      expect(d.decision).toBe('DENY');
      expect(d.responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
      const best = d.closestMiss?.[0];
      expect(best?.policy).toBe('ns[default]-policy[details-viewer]-rule[0]');
      expect(best?.failedConditions).toBe(1);
      return JSON.stringify(best?.failing);
    };
    const post = miss('POST', '/details/0');
    expect(post).toContain(':method');
    expect(post).toContain('POST');
    const ping = miss('GET', '/ping');
    expect(ping).toContain('/ping');
    expect(ping).toContain('/details/');
    expect(ping).not.toContain(':method');
    const other = miss('GET', '/details/0', spiffe(sleep));
    expect(other).toContain('sa/sleep');
    const ok = decideRequest(dump, mtlsReq(spiffe(productpage), to, { method: 'GET', path: '/details/0', authority: 'details:9080' }));
    expect(ok.decision).toBe('ALLOW');
  });
});

describe('bookinfo-netpol', () => {
  it('each flow is judged by the NetworkPolicy in force when it started: the lockdown lets the gateway pod through, the backend policies drop it', async () => {
    const r = await runCli(['report', 'samples/bookinfo-netpol', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { findings: { id: string; details?: Record<string, unknown>; evidence: { file: string }[] }[]; flows: { start: string; client: { ip: string }; server: { ip: string }; connState?: string; networkLayers?: { verdict: string; deniedBy: string | null; layers: { layer: string; decidedBy: string }[]; notes?: string[] } }[] };
    const fromGw = j.flows.filter((f) => f.client.ip === '10.244.1.20' && f.server.ip !== '10.244.1.21' && f.networkLayers);
    const before = fromGw.filter((f) => f.start < '2026-11-24T09:30');
    const after = fromGw.filter((f) => f.start >= '2026-11-24T09:30');
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBe(2);
    for (const f of before) {
      expect(f.networkLayers!.verdict).toBe('allow');
      expect(f.networkLayers!.notes?.join(' ')).toMatch(/3 policy object\(s\) created after this flow started left out/);
    }
    for (const f of after) {
      expect(f.connState).toBe('S0');
      expect(f.networkLayers!.deniedBy).toBe('networkpolicy');
    }
    const unanswered = j.findings.filter((f) => f.id === 'network-policy-explains-unanswered').map((f) => f.details!.decidedBy).sort();
    expect(unanswered).toEqual(['NetworkPolicy default/details-from-productpage (ingress)', 'NetworkPolicy default/ratings-from-reviews (ingress)']);
    // the lockdown's own flows were answered under the policies then in force: nothing claims the CNI failed
    expect(j.findings.some((f) => f.id === 'network-policy-not-enforced')).toBe(false);
    expect(j.findings.filter((f) => f.id === 'plaintext-accepted').length).toBe(2);
  });
  it('the HTML report shows every layer per connection, the deciding policy first', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'netpol-report-')), 'report.html');
    const r = await runCli(['report', 'samples/bookinfo-netpol', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<th>policy layers</th>');
    expect(html).toContain('<summary>deny: networkpolicy (NetworkPolicy default/ratings-from-reviews (ingress))</summary>');
  });
  it('reach on the published lockdown flags the backends no policy selects', async () => {
    const r = await runCli(['reach', 'samples/bookinfo-netpol/inventory.json', 'samples/bookinfo-netpol/stages/00-lockdown/networkpolicies.yaml', '-o', 'json']);
    const j = JSON.parse(r.stdout) as { findings: { id: string; summary: string }[] };
    const lint = j.findings.find((f) => f.id === 'unselected-in-locked-namespace');
    expect(lint?.summary).toMatch(/details.*reviews.*ratings/);
  });
});

describe('wordpress-mtls', () => {
  const sc = scenario('wordpress-mtls');
  const wp = podByName(sc, 'wordpress');
  const db = podByName(sc, 'mariadb');
  const capture = join(SAMPLES, sc.name, 'captures', 'worker-2.geneve.pcap');

  it('the node capture: MySQL login and query readable in stage 00, nothing after; every flow in Geneve between the TEPs', async () => {
    const raw = readFileSync(capture);
    const fl = await flows(capture);
    expect(fl.length).toBe(6);
    expect(fl.map((f) => f.security)).toEqual(['plaintext', 'plaintext', 'unknown', 'unknown', 'mtls', 'mtls']);
    expect(fl.every((f) => f.client.ip === wp.ip && f.server.ip === db.ip && f.server.port === 3306)).toBe(true);
    // the query text appears exactly in the two stage-00 sessions (one and two queries), never encrypted ones
    const q = "SELECT option_value FROM wp_options WHERE option_name = 'siteurl' LIMIT 1";
    expect(raw.toString('latin1').split(q).length - 1).toBe(2);
    expect(raw.includes(Buffer.from('https://blog.example.com'))).toBe(true);
  });

  it('stage 01: the client sends plaintext (no DestinationRule, auto mTLS off) and the STRICT server logs NR filter_chain_not_found', async () => {
    const r = await runCli(['route', dumpPath(sc, `${wp.name}.${wp.namespace}`, 'strict-no-dr'), '--to', '10.96.14.7:3306', '-o', 'json']);
    expect(JSON.parse(r.stdout).tls.mode).toBe('plaintext');
    const nr = (await records(join(SAMPLES, sc.name, 'logs', `${db.name}.${db.namespace}.istio-proxy.log`))).filter((x) => x.responseFlags === 'NR');
    expect(nr.length).toBe(2);
    expect(nr.every((x) => x.responseCodeDetails === 'filter_chain_not_found' && x.attrs.source?.address === wp.ip)).toBe(true);
    const d = decideRequest(await loadDump(dumpPath(sc, `${db.name}.${db.namespace}`, 'strict-no-dr')), plainReq(wp.ip, { ip: db.ip, port: 3306 }));
    expect(d.responseCodeDetails).toBe('filter_chain_not_found');
  });

  it('stage 02: the DestinationRule makes the client cluster ISTIO_MUTUAL with the SNI seen in the capture', async () => {
    const r = await runCli(['route', dumpPath(sc, `${wp.name}.${wp.namespace}`, 'dr-istio-mutual'), '--to', '10.96.14.7:3306', '-o', 'json']);
    const j = JSON.parse(r.stdout);
    expect(j.tls.mode).toBe('istio-mutual');
    const fl = (await flows(capture)).filter((f) => f.security === 'mtls');
    expect(fl.map((f) => f.tls?.sni)).toEqual([j.tls.sni, j.tls.sni]);
  });
});
