/** Secrets never leave in any output format, and bidirectional controls never reorder what is shown. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCapture, http1Conversation, tcpConversation, timed } from '../../src/synth/index.js';
import { escapeBidi, isSecretHeader, isSecretParam, redactDeep, redactText } from '../../src/model/redact.js';
import { REPO, runCli } from '../helpers/cli.js';

const DUMP = join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');
const RLO = '\u202e';

function captureWithTokens(dir: string): string {
  const conv = http1Conversation([
    { request: { method: 'GET', path: '/cb?code=SECRET1code&state=ok', host: 'app' }, response: { status: 200 } },
    { request: { method: 'GET', path: '/api?access_token=SECRET2tok&page=2', host: 'app', headers: [['x-upstream-token', 'SECRET3hdr']] }, response: { status: 200 } },
  ]);
  const packets = tcpConversation(timed(conv, 1_700_000_000_000), { client: { ip: '10.0.0.1', port: 40001 }, server: { ip: '10.0.0.2', port: 8080 }, startMs: 1_700_000_000_000 - 5 });
  const f = join(dir, 'tokens.pcap');
  writeFileSync(f, buildCapture([{ packets }]));
  return f;
}

function jsonLog(dir: string): string {
  const rec = (i: number, path: string) =>
    JSON.stringify({
      start_time: `2026-11-22T14:00:0${i}.000Z`,
      method: 'GET',
      path,
      protocol: 'HTTP/1.1',
      response_code: 200,
      response_code_details: 'via_upstream',
      downstream_local_address: '10.244.2.72:9080',
      downstream_remote_address: `10.244.1.9:4000${i}`,
      request_id: `r-${i}`,
      request_headers: { authorization: 'Bearer SECRET4jwt', 'x-trace': 'keep-me' },
    });
  const f = join(dir, 'access.json');
  writeFileSync(f, [rec(1, '/details/0?id_token=SECRET5id'), rec(2, `/details/${RLO}1gnp.exe`)].join('\n') + '\n');
  return f;
}

const SECRET = /SECRET\d/;

describe('secrets in every output', () => {
  it('names: credential headers and query parameters, including the extended lists', () => {
    for (const h of ['Authorization', 'x-goog-authorization', 'x-upstream-token', 'x-client-secret', 'x-api-key', 'Cookie', 'x-amz-security-token']) expect(isSecretHeader(h)).toBe(true);
    for (const h of ['x-request-id', 'user-agent', 'content-type']) expect(isSecretHeader(h)).toBe(false);
    for (const p of ['key', 'code', 'client_assertion', 'sig', 'X-Amz-Signature', 'access_token', 'refresh_token', 'api_key']) expect(isSecretParam(p)).toBe(true);
    for (const p of ['page', 'state', 'monkey', 'barcode']) expect(isSecretParam(p)).toBe(false);
  });

  it('redactDeep reaches header maps at any depth and query credentials in any string', () => {
    const v = redactDeep({ a: { request_headers: { Authorization: 'Bearer x', other: 'y' } }, list: ['GET /p?sig=zzz&q=1'] });
    expect(v).toEqual({ a: { request_headers: { Authorization: 'Bearer [redacted]', other: 'y' } }, list: ['GET /p?sig=[redacted]&q=1'] });
    expect(redactText('see "/x?password=p1" and /y?key=k1&ok=1')).toBe('see "/x?password=[redacted]" and /y?key=[redacted]&ok=1');
    expect(escapeBidi(`a${RLO}b`)).toBe('a\\u202eb');
  });

  it('flows: no query or header credential in table, wide, json, ndjson or yaml; --show-secrets shows them', async () => {
    const cap = captureWithTokens(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-secrets-')));
    for (const o of ['table', 'json', 'ndjson', 'yaml']) {
      const r = await runCli(['flows', cap, '-o', o]);
      expect(r.code, `${o}: ${r.stderr}`).toBe(0);
      expect(r.stdout, o).not.toMatch(SECRET);
    }
    const shown = await runCli(['flows', cap, '-o', 'json', '--show-secrets']);
    expect(shown.stdout).toMatch(/SECRET1code/);
    expect(shown.stdout).toMatch(/SECRET2tok/);
  });

  it('explain: no credential in json, ndjson or the table; bidi controls in a logged path are shown escaped', async () => {
    const log = jsonLog(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-secrets-')));
    for (const o of ['table', 'json', 'ndjson']) {
      const r = await runCli(['explain', DUMP, log, '-o', o, '--log-format', 'json']);
      expect(r.code, `${o}: ${r.stderr}`).not.toBe(3);
      expect(r.stdout + r.stderr, o).not.toMatch(SECRET);
      expect(r.stdout + r.stderr, o).not.toContain(RLO);
    }
  });

  it('report: nested header maps of JSON logs are redacted in JSON and HTML; no raw bidi control in either', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-secrets-'));
    const ev = join(dir, 'ev');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(ev);
    jsonLog(ev);
    copyFileSync(DUMP, join(ev, 'dump.json'));
    for (const ext of ['json', 'html', 'sarif']) {
      const out = join(dir, `r.${ext}`);
      const r = await runCli(['report', ev, '--out', out]);
      expect(r.code, r.stderr).not.toBe(3);
      const text = readFileSync(out, 'utf8');
      expect(text, ext).not.toMatch(SECRET);
      expect(text, ext).not.toContain(RLO);
    }
  });
});
