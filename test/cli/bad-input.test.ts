/**
 * No input or option makes meshsleuth fail with an internal error (exit 3) or answer nothing with exit 0:
 * bad input is exit 2 with a message naming the file (or option) and, where there is one, the place.
 * One row per case, every command; each row was found by probing the CLI (issue 11 §4).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const S = 'samples/details-path';
const DUMP = `${S}/config_dumps/details-v1-5f4d584748-vn4cx.default.json`;
const LOG = `${S}/logs/details-v1-5f4d584748-vn4cx.default.istio-proxy.log`;
const PCAP = `${S}/captures/details-v1-5f4d584748-vn4cx.default.pcap`;
const POL = `${S}/policies.yaml`;

const T = mkdtempSync(join(tmpdir(), 'meshsleuth-bad-input-'));
const f = (name: string): string => join(T, name);

beforeAll(() => {
  writeFileSync(f('empty.json'), '');
  mkdirSync(f('empty-dir'));
  // Deterministic junk with NUL bytes (not a capture, not text).
  writeFileSync(f('junk.bin'), Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37 + 11) % 256)));
  writeFileSync(f('object.json'), '{"a": 1}\n');
  writeFileSync(f('not-json.json'), 'not json {\n');
  writeFileSync(f('truncated.json'), '{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": [');
  writeFileSync(f('broken.ndjson'), '{"destination": {"port": 9080}}\n{"destination": \n');
  writeFileSync(f('dump.json.gz'), gzipSync(readFileSync(DUMP)).subarray(0, 300));
  writeFileSync(f('not-pem.pem'), 'hello\n');
  writeFileSync(f('wrong-types.ndjson'), '{"start_time": 5, "response_code": 200, "downstream_local_address": "10.0.0.2:9080"}\n{"start_time": "2026-11-22T14:00:20Z", "response_code": "OK"}\n');
});

interface Case {
  /** What is wrong. */
  name: string;
  args: () => string[];
  /** stderr must contain this (the file or option named). */
  names: () => string;
  /** …and this (the place: offset, line, JSON path) where the input has one. */
  place?: RegExp;
}

const CASES: Record<string, Case[]> = {
  policies: [
    { name: 'an empty file', args: () => ['policies', f('empty.json')], names: () => f('empty.json'), place: /offset 0/ },
    { name: 'an empty directory', args: () => ['policies', f('empty-dir')], names: () => f('empty-dir') },
    { name: 'binary junk', args: () => ['policies', f('junk.bin')], names: () => f('junk.bin'), place: /offset 0: .*binary data/ },
    { name: 'JSON that is not a dump', args: () => ['policies', f('object.json')], names: () => f('object.json'), place: /at \$/ },
    { name: 'truncated JSON', args: () => ['policies', f('truncated.json')], names: () => f('truncated.json'), place: /line 1, offset \d+: .*truncated/ },
    { name: 'a capture given as a dump', args: () => ['policies', PCAP], names: () => PCAP, place: /offset 0: .*pcap capture/ },
    { name: 'a cut-short gzip file', args: () => ['policies', f('dump.json.gz')], names: () => f('dump.json.gz'), place: /offset \d+: expected gzip-compressed structured data, found a damaged or cut-short gzip stream/ },
    { name: 'a missing file', args: () => ['policies', f('missing.json')], names: () => f('missing.json') },
    { name: 'empty standard input', args: () => ['policies', '-'], names: () => 'stdin' },
  ],
  check: [
    { name: 'a directory as the config', args: () => ['check', f('empty-dir'), '--port', '9080'], names: () => f('empty-dir') },
    { name: 'a directory of several dumps', args: () => ['check', `${S}/config_dumps`, '--port', '9080'], names: () => `${S}/config_dumps`, place: /3 dumps/ },
    { name: 'binary junk as the config', args: () => ['check', f('junk.bin'), '--port', '9080'], names: () => f('junk.bin'), place: /offset 0/ },
    { name: 'JSON that is no RBAC config', args: () => ['check', f('object.json')], names: () => f('object.json'), place: /at \$/ },
    { name: 'NDJSON requests with a broken line', args: () => ['check', DUMP, '--request', `@${f('broken.ndjson')}`], names: () => f('broken.ndjson'), place: /line 2/ },
    { name: 'binary junk as --request', args: () => ['check', DUMP, '--port', '9080', '--request', `@${f('junk.bin')}`], names: () => f('junk.bin'), place: /offset 0: .*binary/ },
    { name: 'a directory as --request', args: () => ['check', DUMP, '--port', '9080', '--request', `@${f('empty-dir')}`], names: () => f('empty-dir') },
    { name: 'a request field of the wrong type', args: () => ['check', DUMP, '--request', '{"destination": {"port": "http"}}'], names: () => '--request', place: /\$\.destination\.port/ },
    { name: 'an unknown request field', args: () => ['check', DUMP, '--port', '9080', '--request', '{"dst": {}}'], names: () => '--request', place: /\$\.dst/ },
    { name: 'an empty request list', args: () => ['check', DUMP, '--port', '9080', '--request', '[]'], names: () => '--request' },
    { name: 'a port out of range', args: () => ['check', DUMP, '--port', '70000'], names: () => '--port' },
    { name: 'a header without a colon', args: () => ['check', DUMP, '--port', '9080', '-H', 'x-token'], names: () => '-H' },
    { name: 'stdin for both config and requests', args: () => ['check', '-', '--request', '@-', '--port', '9080'], names: () => 'standard input' },
  ],
  explain: [
    { name: 'a capture given as a log', args: () => ['explain', DUMP, PCAP], names: () => PCAP, place: /offset 0: .*pcap capture/ },
    { name: 'an empty directory of logs', args: () => ['explain', DUMP, f('empty-dir')], names: () => f('empty-dir') },
    { name: 'an empty log', args: () => ['explain', DUMP, f('empty.json')], names: () => f('empty.json') },
    { name: 'a log given as the dump', args: () => ['explain', LOG, LOG], names: () => LOG, place: /line 2/ },
    { name: 'a missing log', args: () => ['explain', DUMP, f('missing.log')], names: () => f('missing.log') },
    { name: 'an unparsable --since', args: () => ['explain', DUMP, LOG, '--since', 'yesterday'], names: () => '--since' },
    { name: 'a negative --limit', args: () => ['explain', DUMP, LOG, '--limit', '-5'], names: () => '--limit' },
    { name: 'JSON log lines whose fields have the wrong type', args: () => ['explain', DUMP, f('wrong-types.ndjson')], names: () => f('wrong-types.ndjson'), place: /line 1: field "start_time" \(%START_TIME%\): expected an RFC 3339 time, found 5[^]*line 2: field "response_code" \(%RESPONSE_CODE%\): expected a whole number, found "OK"/ },
    { name: 'an unknown --log-format name', args: () => ['explain', DUMP, LOG, '--log-format', 'istio-9'], names: () => '--log-format' },
  ],
  flows: [
    { name: 'an empty file', args: () => ['flows', f('empty.json')], names: () => f('empty.json'), place: /offset 0/ },
    { name: 'binary junk', args: () => ['flows', f('junk.bin')], names: () => f('junk.bin'), place: /offset 0/ },
    { name: 'a config dump given as a capture', args: () => ['flows', DUMP], names: () => DUMP, place: /offset 0/ },
    { name: 'an empty directory', args: () => ['flows', f('empty-dir')], names: () => f('empty-dir') },
    { name: 'a port that is not a number', args: () => ['flows', PCAP, '--port', 'https'], names: () => '--port' },
    { name: 'an unknown --security', args: () => ['flows', PCAP, '--security', 'secure'], names: () => '--security' },
    { name: 'junk as --config', args: () => ['flows', PCAP, '--config', f('junk.bin')], names: () => f('junk.bin'), place: /offset 0/ },
  ],
  report: [
    { name: 'only unusable inputs', args: () => ['report', f('junk.bin'), f('empty.json')], names: () => f('junk.bin') },
    { name: 'an -o file of unknown kind', args: () => ['report', PCAP, '-o', f('out.txt')], names: () => '-o' },
    { name: 'an -o file in a missing directory', args: () => ['report', PCAP, '-o', f('missing/out.html')], names: () => f('missing/out.html') },
    { name: 'an unparsable --skew', args: () => ['report', PCAP, '--skew', 'soon'], names: () => '--skew' },
    { name: 'junk as --policies', args: () => ['report', PCAP, '--policies', f('junk.bin'), '--workload', 'default/details-v1'], names: () => f('junk.bin'), place: /offset 0/ },
    { name: 'empty standard input', args: () => ['report', '-'], names: () => 'stdin' },
  ],
  compile: [
    { name: 'binary junk', args: () => ['compile', f('junk.bin'), '--workload', 'default/details-v1'], names: () => f('junk.bin'), place: /offset 0: .*binary/ },
    { name: 'a file with no Kubernetes object', args: () => ['compile', f('object.json'), '--workload', 'default/details-v1'], names: () => f('object.json') },
    { name: 'an empty directory', args: () => ['compile', f('empty-dir'), '--workload', 'default/details-v1'], names: () => f('empty-dir') },
    { name: 'a capture', args: () => ['compile', PCAP, '--workload', 'default/details-v1'], names: () => PCAP, place: /offset 0: .*pcap capture/ },
    { name: 'a bad --istio-version', args: () => ['compile', POL, '--workload', 'default/details-v1', '--labels', 'app=details', '--istio-version', 'banana'], names: () => '--istio-version' },
    { name: 'a bad --ports', args: () => ['compile', POL, '--workload', 'default/details-v1', '--ports', 'abc/x'], names: () => '--ports' },
  ],
  reach: [
    { name: 'binary junk', args: () => ['reach', f('junk.bin')], names: () => f('junk.bin'), place: /offset 0/ },
    { name: 'a file with no workloads', args: () => ['reach', f('object.json')], names: () => f('object.json') },
  ],
  collect: [
    { name: 'a --listen without a port', args: () => ['collect', '--listen', 'localhost'], names: () => '--listen' },
    { name: 'a --tls-cert that is not PEM', args: () => ['collect', '--tls-cert', f('not-pem.pem'), '--tls-key', f('not-pem.pem')], names: () => f('not-pem.pem') },
    { name: 'junk as --config', args: () => ['collect', '--config', f('junk.bin')], names: () => f('junk.bin'), place: /offset 0/ },
  ],
};

for (const [command, cases] of Object.entries(CASES)) {
  describe(`${command}: bad input is exit 2 with a message naming the file and the place, never an internal error`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = await runCli(c.args(), { input: '' });
        expect(r.stderr).not.toMatch(/internal error/);
        expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(c.names());
        if (c.place) expect(r.stderr).toMatch(c.place);
      });
    }
  });
}
