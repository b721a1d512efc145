/**
 * `check`'s inputs (issue 11 §4): every request field optional, a port required where it selects the
 * listener, contradictory flags refused, and `--from` read as Istio writes identities.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const DUMP = 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json';
const PRODUCTPAGE = 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage';
let dir = '';
/** A bare RBAC filter whose principals are in a trust domain other than Istio's default. */
const exampleOrg = {
  rules: {
    action: 'ALLOW',
    policies: {
      'ns[default]-policy[sleep]-rule[0]': {
        permissions: [{ any: true }],
        principals: [{ authenticated: { principal_name: { exact: 'spiffe://example.org/ns/default/sa/sleep' } } }],
      },
    },
  },
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshsleuth-check-inputs-'));
  writeFileSync(join(dir, 'example-org.json'), JSON.stringify(exampleOrg));
});

interface CheckJson {
  decision: string;
  policy: string | null;
  listener?: string | null;
  reasons?: string[];
}

describe('check --request: every field is optional', () => {
  it('a destination with only a port stands for the proxy\'s address, as --port does', async () => {
    const req = { destination: { port: 9080 }, tls: { uriSans: [PRODUCTPAGE] }, http: { method: 'GET', path: '/details/0' } };
    const [json, flags] = await Promise.all([
      runCli(['check', DUMP, '--request', JSON.stringify(req), '-o', 'json']),
      runCli(['check', DUMP, '--port', '9080', '--from', PRODUCTPAGE, '--method', 'GET', '--path', '/details/0', '-o', 'json']),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const a = JSON.parse(json.stdout) as CheckJson;
    const b = JSON.parse(flags.stdout) as CheckJson;
    expect(a.decision).toBe('ALLOW');
    expect([a.decision, a.policy, a.listener]).toEqual([b.decision, b.policy, b.listener]);
    expect(a.reasons).toContain("destination address not given: assumed 10.244.2.72 (the proxy's address)");
  });

  it('empty objects and address-less endpoints are accepted (absent = not on the connection)', async () => {
    const req = { source: {}, remote: { port: 1234 }, tls: {}, http: {}, metadata: {}, filterState: {} };
    const r = await runCli(['check', DUMP, '--port', '9080', '--request', JSON.stringify(req), '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as CheckJson;
    expect(['ALLOW', 'DENY', 'UNDECIDABLE']).toContain(d.decision);
    expect(d.reasons).toContain('remote.port without remote.address: the remote address is not present, its port is ignored');
  });

  it('an empty list of requests is bad input (exit 2), never an empty answer with exit 0', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--request', '[]']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('meshsleuth: --request, at $: expected at least one request, found an empty list');
  });
});

describe('check without a port is a usage error where the port chooses the listener', () => {
  it('a config dump and no port: exit 2 with one line, not UNDECIDABLE with exit 0', async () => {
    for (const args of [[], ['--request', '{}'], ['--from', 'default/sleep', '--method', 'GET']]) {
      const r = await runCli(['check', DUMP, ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/is a config dump: name the destination port .*--port/);
    }
  });

  it('a request line without a port in an NDJSON batch is named by line and skipped; the others are decided (exit 2)', async () => {
    const file = join(dir, 'batch.ndjson');
    writeFileSync(file, `${JSON.stringify({ destination: { port: 9080 } })}\n{}\n`);
    const r = await runCli(['check', DUMP, '--request', `@${file}`, '-o', 'ndjson']);
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${file}, line 2, at $.destination.port: expected a destination port`);
  });

  it('a bare RBAC filter needs no port (no listener to choose)', async () => {
    const r = await runCli(['check', join(dir, 'example-org.json'), '--from', 'spiffe://example.org/ns/default/sa/sleep']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ALLOW/);
  });
});

describe('contradictory or malformed flags are usage errors', () => {
  it('--plaintext with --from: exit 2', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--plaintext', '--from', 'default/sleep']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('meshsleuth: --plaintext and --from contradict each other (a plaintext connection has no peer certificate); give one');
  });
  it('--plaintext with --sni: exit 2', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--plaintext', '--sni', 'outbound_.9080_._.details.default.svc.cluster.local']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--plaintext and --sni contradict each other/);
  });
  it('--source-ip that is not an IP: exit 2', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--source-ip', 'sleep.default']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("meshsleuth: --source-ip: expected an IPv4 or IPv6 address, found 'sleep.default'");
  });
  it('--listener naming no listener of the dump: exit 2 listing the listeners', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--listener', 'virtualInbond']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--listener virtualInbond: no such listener in .* \(listeners: virtualInbound, virtualOutbound\)/);
  });
});

describe('--from: Istio identities', () => {
  it('--from ns/sa is spiffe://<trust domain of the dump>/ns/<ns>/sa/<sa> (the dump\'s workload certificate says cluster.local)', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--from', 'default/bookinfo-productpage', '--method', 'GET', '--path', '/details/0', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as CheckJson;
    expect(d.decision).toBe('ALLOW');
    expect(d.reasons).toContain(`--from: peer default/bookinfo-productpage (namespace/service account) → ${PRODUCTPAGE} (trust domain cluster.local from the workload certificate (secret default))`);
  });

  it('the trust domain comes from the config, not a constant: example.org principals make default/sleep spiffe://example.org/…', async () => {
    const file = join(dir, 'example-org.json');
    const [short, foreign] = await Promise.all([
      runCli(['check', file, '--from', 'default/sleep', '-o', 'json']),
      runCli(['check', file, '--from', 'cluster.local/ns/default/sa/sleep', '-o', 'json']),
    ]);
    expect((JSON.parse(short.stdout) as CheckJson).decision).toBe('ALLOW');
    expect((JSON.parse(foreign.stdout) as CheckJson).decision).toBe('DENY');
  });

  it('--from with a bare word warns and uses it as given', async () => {
    const r = await runCli(['check', DUMP, '--port', '9080', '--from', 'sleep', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--from "sleep": a bare word is not an Istio identity/);
    expect((JSON.parse(r.stdout) as CheckJson).reasons).toContain('--from: peer URI SAN "sleep" (as given)');
  });
});
