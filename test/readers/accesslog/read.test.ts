import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readAccessLogs, newStats, isAccessLog, type ReadOptions } from '../../../src/readers/accesslog/index.js';
import type { AccessRecord } from '../../../src/model/records.js';
import { SHARED, hasShared, describeShared } from '../../helpers/cli.js';

/** Real lines quoted in ../shared/research/istio.md §4.5 (istio.io docs, istio/istio#40944, #41204). */
export const ISTIO_ALLOWED =
  '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 3 1 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "127.0.0.1:80" inbound|8000|| 127.0.0.1:41854 10.44.1.27:80 10.44.1.23:37652 outbound_.8000_._.httpbin.foo.svc.cluster.local default';
export const ISTIO_DENIED_CUSTOM =
  '[2022-09-30T11:31:37.335Z] "GET /headers HTTP/1.1" 403 - rbac_access_denied_matched_policy[default-deny-all-due-to-bad-CUSTOM-action] - "-" 0 19 0 - "-" "curl/7.85.0-DEV" "176ba93b-d2a5-9c58-97aa-cf4a7d70f30a" "httpbin.foo:8000" "-" inbound|80|| - 192.168.24.67:80 192.168.54.235:57754 outbound_.8000_._.httpbin.foo.svc.cluster.local -';
export const ISTIO_TCP_DENIED =
  '[2022-09-27T18:28:59.313Z] "- - -" 0 - - rbac_access_denied_matched_policy[none] "-" 233 0 1 - "-" "-" "-" "-" "-" - - 10.64.135:15008 10.64.3.51:45702 - - capture inbound listener';

async function readText(text: string, opts: ReadOptions = {}): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path: 'mem.log', stream: Readable.from([text]) }, opts)) out.push(r);
  return out;
}

describe('Istio default format: real lines (istio.md §4.5)', () => {
  it('reads an allowed mTLS request on the server sidecar into RBAC attributes', async () => {
    const [r] = await readText(ISTIO_ALLOWED + '\n');
    expect(r).toMatchObject({
      kind: 'http',
      format: 'istio',
      time: '2020-11-25T21:26:18.409Z',
      responseCode: 418,
      responseCodeDetails: 'via_upstream',
      bytesSent: 135,
      upstreamCluster: 'inbound|8000||',
      routeName: 'default',
      requestId: '84961386-6d84-929d-98bd-c5aee93b5c88',
      attrs: {
        source: { address: '10.44.1.23', port: 37652 },
        remote: { address: '10.44.1.23', port: 37652 },
        // no X-Forwarded-For was logged ("-"), so nothing rewrote the remote address
        directRemote: { address: '10.44.1.23', port: 37652 },
        destination: { address: '10.44.1.27', port: 80 },
        sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local',
        http: { method: 'GET', path: '/status/418', authority: 'httpbin:8000', protocol: 'HTTP/1.1' },
      },
    });
    expect(r!.ref).toEqual({ file: 'mem.log', line: 1 });
  });

  it('lists the peer identity as unknown (no DOWNSTREAM_PEER_URI_SAN in the format), not as plaintext', async () => {
    const [r] = await readText(ISTIO_ALLOWED);
    expect(r!.attrs.tls).toBeUndefined();
    expect(r!.unknown).toEqual(expect.arrayContaining(['tls', 'tls.uriSans', 'http.headers', 'metadata']));
    expect(r!.knownHeaders).toEqual(['x-forwarded-for', 'user-agent', 'x-request-id']);
  });

  it('reads the HTTP RBAC deny string and the TCP deny in CONNECTION_TERMINATION_DETAILS', async () => {
    const [http, tcp] = await readText(`${ISTIO_DENIED_CUSTOM}\n${ISTIO_TCP_DENIED}\n`);
    expect(http).toMatchObject({ kind: 'http', responseCode: 403, bytesSent: 19, responseCodeDetails: 'rbac_access_denied_matched_policy[default-deny-all-due-to-bad-CUSTOM-action]' });
    expect(http!.responseFlags).toBeUndefined();
    expect(tcp).toMatchObject({ kind: 'tcp', responseCode: 0, bytesReceived: 233, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' });
    expect(tcp!.attrs.http).toBeUndefined();
    expect(tcp!.attrs.directRemote).toEqual({ address: '10.64.3.51', port: 45702 });
    expect(tcp!.fields._extra).toBe('capture inbound listener');
  });

  it('marks directRemote unknown when X-Forwarded-For was present (the remote address may come from it)', async () => {
    const line = ISTIO_ALLOWED.replace('"-" "curl', '"203.0.113.9" "curl');
    const [r] = await readText(line);
    expect(r!.attrs.directRemote).toBeUndefined();
    expect(r!.unknown).toContain('directRemote');
    expect(r!.attrs.http!.headers['x-forwarded-for']).toEqual(['203.0.113.9']);
  });
});

describeShared('fixtures/accesslogs (needs ../shared)', () => {
  const dir = SHARED + 'fixtures/accesslogs/';
  it('reads the grpc-bridge Envoy default-format lines (4 lines, 11 fields after the request line)', async () => {
    const stats = newStats();
    const recs: AccessRecord[] = [];
    for await (const r of readAccessLogs([dir + 'envoyproxy-examples_grpc-bridge_envoy-default-format.log'], { stats })) recs.push(r);
    expect(stats).toMatchObject({ records: 4, skipped: 0, formats: { envoy: 4 } });
    expect(recs.map((r) => [r.attrs.http?.path, r.bytesReceived, r.bytesSent])).toEqual([
      ['/kv.KV/Set', 15, 7], ['/kv.KV/Set', 15, 7], ['/kv.KV/Get', 10, 10], ['/kv.KV/Get', 10, 10],
    ]);
    expect(recs[0]!.attrs.http!.headers['x-forwarded-for']).toEqual(['172.24.0.3']);
    expect(recs[0]!.attrs.http!.authority).toBe('grpc');
    expect(recs[0]!.upstreamHost).toBe('172.24.0.2:8081');
    // pairs share an x-request-id (client proxy / server proxy)
    expect(recs[0]!.requestId).toBe(recs[1]!.requestId);
    // the Envoy default format has no addresses, SNI or RESPONSE_CODE_DETAILS
    expect(recs[0]!.unknown).toEqual(expect.arrayContaining(['source', 'destination', 'sni', 'tls']));
    expect(recs[0]!.responseCodeDetails).toBeUndefined();
  });

  it('reads the Envoy docs line with an HTTP/2 204 and a tcp:// upstream host', async () => {
    const recs: AccessRecord[] = [];
    for await (const r of readAccessLogs([dir + 'envoyproxy-envoy_docs-usage_envoy-default-format.log'])) recs.push(r);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ responseCode: 204, upstreamHost: 'tcp://10.0.2.1:80', attrs: { http: { protocol: 'HTTP/2', method: 'POST', path: '/api/v1/locations' } } });
  });

  it('reads the pretty-printed Envoy Gateway JSON entry: numbers, nulls, header-named keys', async () => {
    const recs: AccessRecord[] = [];
    const stats = newStats();
    for await (const r of readAccessLogs([dir + 'envoyproxy-gateway_troubleshooting_default-json-accesslog.json'], { stats })) recs.push(r);
    expect(stats.skipped).toBe(0);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      format: 'json',
      responseCode: 500,
      responseCodeDetails: 'direct_response',
      routeName: 'httproute/default/backend/rule/0/match/0/www_example_com',
      attrs: {
        source: { address: '192.168.65.4', port: 45050 },
        destination: { address: '10.1.21.65', port: 10080 },
        http: { method: 'GET', path: '/get', authority: 'www.example.com', protocol: 'HTTP/1.1' },
      },
    });
    expect(recs[0]!.attrs.sni).toBeUndefined(); // requested_server_name: null
    expect(recs[0]!.unknown).not.toContain('sni');
    expect(recs[0]!.attrs.http!.headers['user-agent']).toEqual(['curl/8.7.1']);
  });
});

describe('kubectl logs output', () => {
  it('strips --prefix and --timestamps, keeps the pod as the node, ignores the proxy\'s own log lines', async () => {
    const text = [
      `[pod/httpbin-7f9c/istio-proxy] 2022-09-30T11:31:37.336000000Z ${ISTIO_DENIED_CUSTOM}`,
      `[pod/httpbin-7f9c/istio-proxy] 2022-09-30T11:31:38.000000000Z 2022-09-30T11:31:38.000000Z\tinfo\txdsproxy\tconnected to upstream XDS server`,
      `2020-11-25T21:26:18.500000000Z ${ISTIO_ALLOWED}`,
      `[pod/httpbin-7f9c/istio-proxy] ${ISTIO_ALLOWED}`,
      '[2024-01-01 00:00:00.000][14][warning][config] [source/common/config/grpc_stream.h:191] StreamAggregatedResources gRPC config stream closed',
    ].join('\n');
    const stats = newStats();
    const recs = await readText(text, { stats });
    expect(recs).toHaveLength(3);
    expect(recs[0]!.node).toBe('httpbin-7f9c');
    expect(recs[0]!.responseCode).toBe(403);
    expect(recs[1]!.node).toBeUndefined();
    expect(recs[2]!.node).toBe('httpbin-7f9c');
    expect(stats).toMatchObject({ records: 3, skipped: 0, other: 2 });
  });
});

describe('bad lines', () => {
  it('counts and reports lines that do not fit with file:line, and keeps reading', async () => {
    const text = [ISTIO_ALLOWED, 'this is not a log line', ISTIO_ALLOWED.replace('418 -', 'XYZ -'), '{"broken": ', ISTIO_TCP_DENIED, ''].join('\r\n');
    const stats = newStats();
    const seen: number[] = [];
    const recs = await readText(text, { stats, onDiagnostic: (d) => seen.push(d.location.line!) });
    expect(recs.map((r) => r.ref.line)).toEqual([1, 5]);
    expect(stats.skipped).toBe(3);
    expect(seen).toEqual([2, 3, 4]);
    expect(stats.diagnostics[0]).toMatchObject({ location: { file: 'mem.log', line: 2 } });
    expect(stats.diagnostics[0]!.message).toMatch(/does not fit any known access-log format/);
  });

  it('keeps only the first few diagnostics but counts all', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `junk ${i}`).join('\n');
    const stats = newStats();
    await readText(text, { stats });
    expect(stats.skipped).toBe(50);
    expect(stats.diagnostics).toHaveLength(5);
  });

  it('skips an over-long line without buffering it whole', async () => {
    const long = 'x'.repeat(5000);
    const stats = newStats();
    const recs = await readText(`${long}\n${ISTIO_ALLOWED}\n`, { stats, maxLineLength: 1000 });
    expect(recs).toHaveLength(1);
    expect(recs[0]!.ref.line).toBe(2);
    expect(stats.diagnostics[0]!.message).toMatch(/longer than 1000/);
  });

  it('reads lines split across arbitrary chunk boundaries', async () => {
    const text = `${ISTIO_ALLOWED}\n${ISTIO_TCP_DENIED}\n${ISTIO_DENIED_CUSTOM}`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 7) chunks.push(text.slice(i, i + 7));
    const recs: AccessRecord[] = [];
    for await (const r of readAccessLogs({ path: 'c', stream: Readable.from(chunks) })) recs.push(r);
    expect(recs.map((r) => r.responseCode)).toEqual([418, 0, 403]);
  });

  it('an unusable --log-format is a clear input error', async () => {
    await expect(readText(ISTIO_ALLOWED, { format: 'no operators here' })).rejects.toThrow(/--log-format.*expected a format name/);
    await expect(readText(ISTIO_ALLOWED, { format: '%A%%B%' })).rejects.toThrow(/adjacent/);
  });
});

describe('--log-format', () => {
  it('forces a built-in format by name', async () => {
    const stats = newStats();
    const recs = await readText(ISTIO_ALLOWED, { format: 'istio-1.9', stats });
    expect(recs[0]!.format).toBe('istio-1.9');
    expect(recs[0]!.upstreamCluster).toBe('inbound|8000||');
  });

  it('accepts a custom format string with peer SANs: identity known, TLS proven', async () => {
    const fmt = '[%START_TIME%] %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_TLS_VERSION% "%DOWNSTREAM_PEER_URI_SAN%" "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%';
    const recs = await readText([
      '[2024-05-01T10:00:00.000Z] 10.0.0.1:5000 10.0.0.2:8080 TLSv1.3 "spiffe://cluster.local/ns/foo/sa/bar" "POST /x" 403 rbac_access_denied_matched_policy[none]',
      '[2024-05-01T10:00:01.000Z] 10.0.0.3:5000 10.0.0.2:8080 - "-" "GET /y" 200 via_upstream',
    ].join('\n'), { format: fmt });
    expect(recs[0]!.attrs.tls).toMatchObject({ version: 'TLSv1.3', uriSans: ['spiffe://cluster.local/ns/foo/sa/bar'] });
    expect(recs[0]!.unknown).not.toContain('tls.uriSans');
    expect(recs[1]!.attrs.tls).toBeUndefined();
    expect(recs[1]!.unknown).not.toContain('tls');
    expect(recs[1]!.attrs.transportProtocol).toBe('raw_buffer');
    expect(recs[0]!.format).toBe('custom');
  });

  it('maps JSON keys back to operators from a JSON format, including nested keys and metadata', async () => {
    const fmt = JSON.stringify({ t: '%START_TIME%', req: { m: '%REQ(:METHOD)%', p: '%REQ(:PATH)%' }, code: '%RESPONSE_CODE%', src: '%DOWNSTREAM_REMOTE_ADDRESS%', rbac: '%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_effective_policy_id)%' });
    const recs = await readText('{"t":"2024-05-01T10:00:00Z","req":{"m":"GET","p":"/a"},"code":200,"src":"10.1.1.1:1234","rbac":"ns[foo]-policy[dry]-rule[0]"}', { format: fmt });
    expect(recs[0]).toMatchObject({
      responseCode: 200,
      attrs: { http: { method: 'GET', path: '/a' }, source: { address: '10.1.1.1', port: 1234 }, metadata: { 'envoy.filters.http.rbac': { istio_dry_run_allow_shadow_effective_policy_id: 'ns[foo]-policy[dry]-rule[0]' } } },
    });
  });

  it('reads Istio JSON encoding lines by known key names (no format given), null = absent', async () => {
    const line = JSON.stringify({
      start_time: '2024-05-01T10:00:00.000Z', method: 'GET', path: '/productpage', protocol: 'HTTP/1.1', response_code: 403,
      response_flags: '-', response_code_details: 'rbac_access_denied_matched_policy[ns[handson]-policy[layer7-authz]-rule[0]]',
      connection_termination_details: null, bytes_received: 0, bytes_sent: 19, duration: 0, upstream_service_time: null,
      x_forwarded_for: null, user_agent: 'curl/8.0', request_id: 'r-1', authority: 'productpage:9080', upstream_host: null,
      upstream_cluster: 'inbound|9080||', upstream_local_address: null, downstream_local_address: '10.0.0.5:9080',
      downstream_remote_address: '10.0.0.9:40000', requested_server_name: 'outbound_.9080_._.productpage.handson.svc.cluster.local',
      route_name: 'default', upstream_transport_failure_reason: null,
    });
    const recs = await readText(line);
    expect(recs[0]).toMatchObject({
      format: 'json', responseCode: 403, bytesSent: 19,
      responseCodeDetails: 'rbac_access_denied_matched_policy[ns[handson]-policy[layer7-authz]-rule[0]]',
      attrs: { sni: 'outbound_.9080_._.productpage.handson.svc.cluster.local', destination: { address: '10.0.0.5', port: 9080 } },
    });
    expect(recs[0]!.connectionTerminationDetails).toBeUndefined();
    expect(recs[0]!.responseFlags).toBeUndefined();
  });
});

describe('content sniffing', () => {
  it('recognises access logs and rejects other text', () => {
    expect(isAccessLog(`${ISTIO_ALLOWED}\n${ISTIO_TCP_DENIED}\n`)).toBe(true);
    expect(isAccessLog('{"type":"als","kind":"tcp","node":"n","logName":"l","stream":"s","index":0,"received":"x","entry":{}}\n')).toBe(true);
    expect(isAccessLog('{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump"}]}\n')).toBe(false);
    expect(isAccessLog('hello world\nsecond line\n')).toBe(false);
    expect(isAccessLog('{\n  "response_code": 500,\n  "start_time": "2025-03-08T02:25:32.588Z",\n  "downstream_remote_address": "192.168.65.4:45050",\n  "bytes_sent": 0\n}\n')).toBe(true);
    expect(isAccessLog('{\n  "configs": []\n}\n')).toBe(false);
  });
});
