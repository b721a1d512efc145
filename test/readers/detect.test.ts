import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectContent, detectFile, detectInputs } from '../../src/readers/detect.js';
import { SHARED, hasShared, REPO, describeShared } from '../helpers/cli.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('detect by content', () => {
  it('names a whole file that starts as JSON and does not parse as damaged, with the byte offset where it breaks', () => {
    const b = (s: string) => Buffer.from(s, 'utf8');
    // cut short (a dump copied while being written)
    expect(detectContent(b('{"configs": [\n'), true)).toMatchObject({ kind: 'unknown', damaged: { offset: 14 }, reason: expect.stringMatching(/^invalid JSON at offset 14: the input ends inside a value/) });
    expect(detectContent(b('{"a": 1'), true)).toMatchObject({ damaged: { offset: 7 } });
    // a position V8 names, and one it does not (found by the shortest failing prefix); multi-byte text before it counts in bytes
    expect(detectContent(b('{"a": 1,, "b": 2}'), true)).toMatchObject({ damaged: { offset: 8 }, reason: expect.stringContaining('Expected double-quoted property name') });
    expect(detectContent(b('{"é": x}'), true)).toMatchObject({ damaged: { offset: 7 }, reason: expect.stringContaining("Unexpected token 'x'") });
    expect(detectContent(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b('{"a": x}')]), true)).toMatchObject({ damaged: { offset: 9 } });
    // the head of a longer file is not judged whole: no damage claimed
    expect(detectContent(b('{"configs": [\n'), false).damaged).toBeUndefined();
  });

  it('recognises pcap (both byte orders, µs and ns) and pcapng by magic', () => {
    for (const m of ['d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', 'a1b23c4d']) expect(detectContent(Buffer.from(m + '00000000', 'hex'), true)).toEqual({ kind: 'capture', format: 'pcap' });
    expect(detectContent(Buffer.from('0a0d0d0a1c000000', 'hex'), true)).toEqual({ kind: 'capture', format: 'pcapng' });
  });

  it('recognises Envoy/Istio text access logs, also with kubectl prefixes', () => {
    const line = '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 3 1 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "127.0.0.1:80" inbound|8000|| 127.0.0.1:41854 10.44.1.27:80 10.44.1.23:37652 outbound_.8000_._.httpbin.foo.svc.cluster.local default\n';
    expect(detectContent(b(line), true)).toEqual({ kind: 'access-log', format: 'text' });
    expect(detectContent(b(`[pod/httpbin-1/istio-proxy] ${line}`), true).kind).toBe('access-log');
  });

  it('recognises JSON-lines access logs and saved ALS NDJSON', () => {
    const j = JSON.stringify({ start_time: '2024-01-01T00:00:00.000Z', method: 'GET', path: '/', response_code: 200, response_flags: '-', downstream_remote_address: '10.0.0.1:1234', downstream_local_address: '10.0.0.2:80', upstream_host: '10.0.0.2:80', bytes_sent: 1 });
    expect(detectContent(b(`${j}\n${j}\n`), true)).toEqual({ kind: 'access-log', format: 'json-lines' });
    const als = JSON.stringify({ common_properties: { start_time: '2024-01-01T00:00:00Z', downstream_remote_address: { socket_address: { address: '10.0.0.1', port_value: 1 } } }, request: { request_method: 'GET', path: '/' }, response: { response_code: 200 } });
    expect(detectContent(b(`${als}\n`), true)).toMatchObject({ kind: 'access-log', format: 'als-ndjson' });
    // What `meshsleuth collect` writes: one {"type":"als",...} line per entry.
    const line = JSON.stringify({ type: 'als', kind: 'http', node: 'sidecar~10.0.0.2~details-1.default~default.svc.cluster.local', logName: 'als', stream: '127.0.0.1:5000#1', index: 0, received: '2024-01-01T00:00:01Z', entry: JSON.parse(als) });
    expect(detectContent(b(`${line}\n${line}\n`), true)).toEqual({ kind: 'access-log', format: 'als-ndjson' });
  });

  it('recognises config dumps, inventories and Istio policies (JSON or YAML)', () => {
    expect(detectContent(b(JSON.stringify({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump' }] })), true)).toMatchObject({ kind: 'config-dump' });
    expect(detectContent(b('configs:\n- "@type": type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\n  bootstrap: {}\n'), true)).toMatchObject({ kind: 'config-dump', format: 'yaml' });
    expect(detectContent(b(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } }] })), true)).toEqual({ kind: 'inventory', format: 'json' });
    expect(detectContent(b('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, namespace: foo}\nspec: {}\n'), true)).toEqual({ kind: 'istio-policy', format: 'yaml' });
    expect(detectContent(b('apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: d}\nspec: {mtls: {mode: STRICT}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n'), true).kind).toBe('istio-policy');
  });

  it('skips everything else with a reason', () => {
    expect(detectContent(Buffer.alloc(0), true)).toEqual({ kind: 'unknown', reason: 'empty file' });
    expect(detectContent(Buffer.from([0x1f, 0x8b, 8, 0]), true).reason).toMatch(/gzip/);
    expect(detectContent(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]), true).reason).toMatch(/binary data that is not a pcap or pcapng capture \(first bytes 7f454c46\)/);
    expect(detectContent(b('# notes\n\nsome: text: here\n - x\n'), true).reason).toMatch(/not a config dump, access log, inventory or Istio policy/);
    expect(detectContent(b(JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } })), true).reason).toMatch(/kind Deployment/);
    expect(detectContent(b('{"hello": "world"}'), true).kind).toBe('unknown');
  });

  it('judges gzip and Zstandard files by what they decompress to and reads them as that kind; damaged data is named with its offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-detect-gz-'));
    const pcap = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
    writeFileSync(join(dir, 'a.pcap.gz'), gzipSync(pcap));
    writeFileSync(join(dir, 'b.zst'), readFileSync(join(REPO, 'test/fixtures/capture/overlay-http.pcapng.zst')));
    writeFileSync(join(dir, 'c.json.gz'), gzipSync(JSON.stringify({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump' }] })));
    writeFileSync(join(dir, 'd.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    expect(await detectFile(join(dir, 'a.pcap.gz'))).toMatchObject({ kind: 'capture', format: 'pcap', compressed: 'gzip' });
    expect(await detectFile(join(dir, 'b.zst'))).toMatchObject({ kind: 'capture', format: 'pcapng', compressed: 'zstd' });
    expect(await detectFile(join(dir, 'c.json.gz'))).toMatchObject({ kind: 'config-dump', format: 'json', compressed: 'gzip' });
    writeFileSync(join(dir, 'e.json.gz'), gzipSync('{"hello": "world"}'));
    expect(await detectFile(join(dir, 'e.json.gz'))).toMatchObject({ kind: 'unknown', compressed: 'gzip', reason: 'gzip-compressed JSON that is not a config dump, access log, inventory or Istio policy' });
    const d = await detectFile(join(dir, 'd.gz'));
    expect(d).toMatchObject({ kind: 'unknown', compressed: 'gzip', damaged: { offset: 8 } });
    expect(d.reason).toMatch(/^gzip-compressed data that does not decompress: damaged or cut short at offset 8/);
  });

  it('walks directories recursively in sorted order, once per file (symlink loops too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-detect-'));
    mkdirSync(join(dir, 'b'));
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'b', 'z.txt'), 'hello\n');
    writeFileSync(join(dir, 'a', 'cap'), Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'));
    symlinkSync(dir, join(dir, 'a', 'loop'));
    const found = await detectInputs([dir, join(dir, 'missing')]);
    expect(found.map((f) => [f.path.slice(dir.length), f.kind])).toEqual([
      ['/a/cap', 'capture'],
      ['/b/z.txt', 'unknown'],
      ['/missing', 'unknown'],
    ]);
    expect(found[2]!.reason).toBe('no such file or directory');
  });
});

describeShared('detect on the shared fixtures and captures (needs ../shared)', () => {
  it('detects real captures, dumps and logs', async () => {
    expect((await detectFile(SHARED + 'captures/zeek-tls-client-certificate.pcap')).kind).toBe('capture');
    expect((await detectFile(SHARED + 'captures/zeek-pcapng-multi-interface.pcapng')).format).toBe('pcapng');
    expect((await detectFile(SHARED + 'fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml')).kind).toBe('config-dump');
    expect((await detectFile(SHARED + 'fixtures/accesslogs/envoyproxy-envoy_docs-usage_envoy-default-format.log')).kind).toBe('access-log');
    expect((await detectFile(SHARED + 'fixtures/accesslogs/envoyproxy-gateway_troubleshooting_default-json-accesslog.json')).kind).toBe('access-log');
    expect((await detectFile(SHARED + 'fixtures/INDEX.md')).kind).toBe('unknown');
  });
});

describe('detect on the repo report fixture', () => {
  it('detects the incident fixture kinds', async () => {
    const found = await detectInputs([join(REPO, 'test/report/fixtures/incident')]);
    expect(found.map((f) => f.kind)).toEqual(['capture', 'access-log', 'inventory']);
  });
});
