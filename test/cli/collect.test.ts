import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { alsTypes } from '../../src/readers/accesslog/als.js';
import { runCli, REPO, SHARED, hasShared } from '../helpers/cli.js';
import { sampleHttpMessage, sampleTcpMessage } from '../readers/accesslog/als-helpers.js';

const ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

interface Running {
  port: number;
  stderr: () => string;
  stop: (signal: NodeJS.Signals) => Promise<number>;
}

function startCollect(args: string[]): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, 'collect', '--listen', '127.0.0.1:0', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve({ port: Number(m[1]), stderr: () => err, stop: async (sig) => { child.kill(sig); return exited; } });
    });
    child.stdout.resume();
    void exited.then((code) => reject(new Error(`collect exited ${code}: ${err}`)));
  });
}

function send(port: number, msgs: Record<string, unknown>[]): Promise<grpc.ServiceError | null> {
  const t = alsTypes().message;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<Record<string, unknown>, Buffer>(PATH, (m) => Buffer.from(t.encode(t.fromObject(m)).finish()), (b: Buffer) => b, (err) => {
      client.close();
      resolve(err ?? null);
    });
    for (const m of msgs) call.write(m);
    call.end();
  });
}

describe('meshsleuth collect', () => {
  it('writes one NDJSON record per entry with node id and log name, and flushes everything on SIGTERM', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'meshsleuth-collect-')), 'als.ndjson');
    const c = await startCollect(['--out', out, '--quiet']);
    const streams = await Promise.all([0, 1, 2, 3].map((k) => send(c.port, Array.from({ length: 250 }, (_, i) => sampleHttpMessage(k * 1000 + i, i === 0)))));
    expect(streams.every((e) => e === null)).toBe(true);
    expect(await send(c.port, [sampleTcpMessage(0)])).toBeNull();
    const code = await c.stop('SIGTERM');
    expect(code).toBe(0);
    expect(c.stderr()).toMatch(/stopped: 1001 entries from 5 streams/);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1001);
    expect(lines[0]).toMatchObject({ type: 'als', kind: 'http', node: 'sidecar~10.44.1.27~httpbin-7f9c.foo~foo.svc.cluster.local', logName: 'envoy-als', index: 0 });
    expect(lines.filter((l) => l.kind === 'tcp')).toHaveLength(1);
  });

  it('SIGINT also stops it cleanly', async () => {
    const c = await startCollect([]);
    expect(await c.stop('SIGINT')).toBe(0);
    expect(c.stderr()).toMatch(/stopped: 0 entries from 0 streams/);
  });

  it('usage errors: --tls-cert without --tls-key, a bad --listen', async () => {
    const a = await runCli(['collect', '--tls-cert', 'x.pem']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--tls-cert and --tls-key go together/);
    const b = await runCli(['collect', '--listen', 'nonsense']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--listen: expected host:port/);
  });

  it.skipIf(!hasShared)('saved ALS NDJSON is an input to explain; --config explains entries as they arrive (needs ../shared)', async () => {
    const dump = SHARED + 'fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml';
    const out = join(mkdtempSync(join(tmpdir(), 'meshsleuth-collect-')), 'als.ndjson');
    const c = await startCollect(['--out', out, '--quiet', '--config', dump]);
    // plaintext POST /data from 10.244.0.12 to the PERMISSIVE port 80, which the ALLOW policy denies ([none])
    const m = sampleHttpMessage(0) as { http_logs: { log_entry: Record<string, Record<string, unknown>>[] } };
    const e = m.http_logs.log_entry[0]!;
    delete e.common_properties!.tls_properties;
    e.common_properties!.downstream_local_address = { socket_address: { address: '10.244.0.14', port_value: 80 } };
    e.request = { request_method: 'POST', path: '/data', authority: 'httpbin:80', request_id: 'r-1' };
    e.response = { response_code: { value: 403 }, response_code_details: 'rbac_access_denied_matched_policy[none]' };
    expect(await send(c.port, [m])).toBeNull();
    expect(await c.stop('SIGTERM')).toBe(0);
    const line = JSON.parse(readFileSync(out, 'utf8').trim());
    expect(line.explanation).toMatchObject({ verdict: 'agrees', decision: 'DENY', logged: 'denied', security: 'plaintext' });
    const r = await runCli(['explain', dump, out, '-o', 'ndjson']);
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.stdout.trim());
    expect(rec).toMatchObject({ format: 'als', verdict: 'agrees', identityEvidence: ['als-tls-properties: none'], node: 'sidecar~10.44.1.27~httpbin-7f9c.foo~foo.svc.cluster.local' });
    expect(rec.ref).toMatch(/als\.ndjson#127\.0\.0\.1:\d+#1\/0$/);
  });
});
