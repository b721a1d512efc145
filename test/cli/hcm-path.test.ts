/**
 * check, explain and report apply the chain's HTTP connection manager path handling before RBAC
 * (samples/details-path, Istio pathNormalization BASE).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, REPO } from '../helpers/cli.js';

const SAMPLE = join(REPO, 'samples/details-path');
const DUMP = join(SAMPLE, 'config_dumps/details-v1-5f4d584748-vn4cx.default.json');
const LOG = 'details-v1-5f4d584748-vn4cx.default.istio-proxy.log';
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshsleuth-hcm-path-'));
  copyFileSync(DUMP, join(dir, 'details-v1-5f4d584748-vn4cx.default.json'));
  const served = readFileSync(join(SAMPLE, 'logs', LOG), 'utf8').split('\n').find((l) => l.includes('"GET /details/0 HTTP/1.1" 200'))!;
  // A request with a fragment, as Envoy logs it: 400 path_normalization_failed, never routed.
  const fragment = '[2026-11-22T14:05:31.045Z] "GET /details/0#top HTTP/1.1" 400 - path_normalization_failed - "-" 0 0 0 - "-" "curl/8.5.0" "0c2e9f77-dcaa-41bc-b572-5347a1d8f641" "details:9080" "-" - - 10.244.2.72:9080 10.244.1.71:58111 outbound_.9080_._.details.default.svc.cluster.local -';
  writeFileSync(join(dir, LOG), `${served}\n${fragment}\n`);
});

describe('check normalises the path from the chain HCM', () => {
  it('details-path: GET /details/../ping from productpage is DENY after normalisation to /ping', async () => {
    const r = await runCli(['check', DUMP, '--from', 'cluster.local/ns/default/sa/bookinfo-productpage', '--port', '9080', '--method', 'GET', '--path', '/details/../ping']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DENY rbac_access_denied_matched_policy\[none\]/);
    expect(r.stdout).toContain('path: "/ping" (rewritten by the HTTP connection manager from "/details/../ping") — needs prefix "/details/"');
    expect(r.stdout).toContain('note: the HTTP connection manager rewrote :path "/details/../ping" to "/ping"');
    const j = JSON.parse((await runCli(['check', DUMP, '--from', 'cluster.local/ns/default/sa/bookinfo-productpage', '--port', '9080', '--method', 'GET', '--path', '/details/../ping', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ decision: 'DENY', pathRewrite: { original: '/details/../ping', path: '/ping' } });
  });
  it('a request the HCM rejects is reported as its 400, not as an RBAC result', async () => {
    const r = await runCli(['check', DUMP, '--from', 'cluster.local/ns/default/sa/bookinfo-productpage', '--port', '9080', '--method', 'GET', '--path', '/details/0#top', '-o', 'json']);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: 'path_normalization_failed', filters: [], localReply: { status: 400 } });
  });
});

describe('explain and report see the HCM rejection as such', () => {
  it('explain: a logged 400 path_normalization_failed agrees with the config, counted apart from RBAC denials', async () => {
    const r = await runCli(['explain', join(dir, 'details-v1-5f4d584748-vn4cx.default.json'), join(dir, LOG), '-o', 'json']);
    const j = JSON.parse(r.stdout) as { summary: Record<string, unknown>; groups: Record<string, unknown>[] };
    expect(j.summary).toMatchObject({ records: 2, denied: 0, rejected: 1, disagreements: 0 });
    expect(j.groups).toContainEqual(expect.objectContaining({ decision: 'REJECTED 400', policy: 'path_normalization_failed', verdict: 'agrees' }));
  });
  it('report: the rejected request is replayed in agreement and is no rbac-denied finding', async () => {
    const r = await runCli(['report', dir, '-o', 'json']);
    const j = JSON.parse(r.stdout) as { findings: { id: string }[]; summary: { explanations: Record<string, number> } };
    expect(j.summary.explanations).toMatchObject({ agrees: 1, disagrees: 0 });
    expect(r.stdout).not.toContain('"rbac-denied"');
    expect(j.findings.map((f) => f.id)).not.toContain('verdict-mismatch');
  });
});
