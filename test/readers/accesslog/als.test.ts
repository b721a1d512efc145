import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alsTypes, messageToJson, alsEntryToRecord, type AlsLine } from '../../../src/readers/accesslog/als.js';
import { AlsCollector } from '../../../src/readers/accesslog/collector.js';
import { hasOfficialProtos, officialRoot, sampleHttpMessage, sampleTcpMessage } from './als-helpers.js';

const PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

function officialType() {
  return officialRoot().lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
}

const toJson = { longs: String, enums: String, bytes: String, defaults: false } as const;

describe.skipIf(!hasOfficialProtos)('wire compatibility with the official Envoy protos (needs @grpc/grpc-js-xds and its protos)', () => {
  for (const [name, make] of [['HTTP', () => sampleHttpMessage(5)], ['TCP', () => sampleTcpMessage(1)]] as const) {
    it(`${name}: encoded with Envoy's protos, decoded with ours, field for field`, () => {
      const official = officialType();
      const msg = official.fromObject(make());
      const bytes = official.encode(msg).finish();
      const ours = alsTypes().message;
      const decoded = ours.decode(bytes);
      expect(ours.toObject(decoded, toJson)).toEqual(official.toObject(msg, toJson));
      // nothing we do not know about: re-encoding with ours gives the same bytes
      expect(Buffer.from(ours.encode(decoded).finish())).toEqual(Buffer.from(bytes));
    });
    it(`${name}: encoded with ours, decoded with Envoy's protos`, () => {
      const ours = alsTypes().message;
      const msg = ours.fromObject(make());
      const bytes = ours.encode(msg).finish();
      const official = officialType();
      const decoded = official.decode(bytes);
      expect(official.toObject(decoded, toJson)).toEqual(ours.toObject(msg, toJson));
    });
  }

  it('every field number of every message we declare matches Envoy\'s', () => {
    const ours = alsTypes().root;
    const theirs = officialRoot();
    const names = [
      'envoy.service.accesslog.v3.StreamAccessLogsMessage', 'envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier',
      'envoy.data.accesslog.v3.HTTPAccessLogEntry', 'envoy.data.accesslog.v3.TCPAccessLogEntry', 'envoy.data.accesslog.v3.AccessLogCommon',
      'envoy.data.accesslog.v3.ResponseFlags', 'envoy.data.accesslog.v3.TLSProperties', 'envoy.data.accesslog.v3.TLSProperties.CertificateProperties',
      'envoy.data.accesslog.v3.TLSProperties.CertificateProperties.SubjectAltName', 'envoy.data.accesslog.v3.HTTPRequestProperties',
      'envoy.data.accesslog.v3.HTTPResponseProperties', 'envoy.data.accesslog.v3.ConnectionProperties', 'envoy.config.core.v3.Node',
      'envoy.config.core.v3.Address', 'envoy.config.core.v3.SocketAddress', 'envoy.config.core.v3.Metadata', 'envoy.config.core.v3.Locality',
      'envoy.config.core.v3.BuildVersion', 'envoy.config.core.v3.Extension', 'envoy.config.core.v3.Pipe', 'envoy.config.core.v3.EnvoyInternalAddress',
      'envoy.type.v3.SemanticVersion', 'xds.core.v3.ContextParams',
    ];
    for (const n of names) {
      const a = ours.lookupType(n);
      const b = theirs.lookupType(n);
      const sig = (t: typeof a) => Object.values(t.fields).map((f) => `${f.id}:${f.name}:${f.type}:${f.repeated}:${(f as { map?: boolean }).map ?? false}`).sort();
      // ours follows Envoy's current API; the copy in @grpc/grpc-js-xds may be older (e.g. no
      // SocketAddress.network_namespace_filepath = 7): every field it has must be ours, same number and type
      const mine = new Set(sig(a));
      for (const f of sig(b)) expect(mine.has(f), `${n} ${f}`).toBe(true);
      const theirIds = new Set(Object.values(b.fields).map((f) => f.id));
      const extra = Object.values(a.fields).filter((f) => !Object.values(b.fields).some((g) => g.name === f.name));
      for (const f of extra) expect(theirIds.has(f.id), `${n}.${f.name} reuses field number ${f.id}`).toBe(false);
    }
    for (const e of ['envoy.config.core.v3.RequestMethod', 'envoy.data.accesslog.v3.AccessLogType', 'envoy.data.accesslog.v3.TLSProperties.TLSVersion', 'envoy.data.accesslog.v3.HTTPAccessLogEntry.HTTPVersion']) {
      expect(ours.lookupEnum(e).values, e).toMatchObject(theirs.lookupEnum(e).values);
    }
  });
});

describe('ALS entries → AccessRecords', () => {
  it('HTTP entry: addresses, TLS facts (URI SANs only; DNS SANs unknown), method, path, details', () => {
    const t = alsTypes();
    const msg = messageToJson(t.message, t.message.fromObject(sampleHttpMessage(5)));
    const entry = ((msg.http_logs as Record<string, unknown>).log_entry as Record<string, never>[])[0]!;
    const r = alsEntryToRecord('http', entry, { file: 'als', stream: 's', index: 0 }, 'node-1', 'envoy-als');
    expect(r).toMatchObject({
      kind: 'http', node: 'node-1', logName: 'envoy-als', format: 'als', responseCode: 403,
      responseCodeDetails: 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]]',
      time: '2020-11-25T21:26:23.409Z',
      durationMs: 3,
      attrs: {
        source: { address: '10.44.1.23', port: 37657 },
        directRemote: { address: '10.44.1.23', port: 37657 },
        destination: { address: '10.44.1.27', port: 80 },
        sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local',
        tls: { version: 'TLSv1.3', uriSans: ['spiffe://cluster.local/ns/foo/sa/sleep'], dnsSans: [] },
        http: { method: 'POST', path: '/status/5', authority: 'httpbin:8000', protocol: 'HTTP/1.1', headers: { 'x-token': ['secret'], 'x-tenant': ['a'] } },
        metadata: { 'envoy.filters.http.rbac': { shadow_engine_result: 'denied' } },
      },
    });
    expect(r.unknown).toContain('tls.dnsSans');
    expect(r.unknown).not.toContain('tls');
    expect(r.unknown).not.toContain('tls.uriSans');
  });

  it('TCP entry: IPv6 addresses, plaintext (no tls_properties), termination details', () => {
    const t = alsTypes();
    const msg = messageToJson(t.message, t.message.fromObject(sampleTcpMessage(0)));
    const entry = ((msg.tcp_logs as Record<string, unknown>).log_entry as Record<string, never>[])[0]!;
    const r = alsEntryToRecord('tcp', entry, { file: 'als' });
    expect(r).toMatchObject({ kind: 'tcp', bytesReceived: 233, bytesSent: 0, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]', attrs: { source: { address: 'fd00::9', port: 45702 }, transportProtocol: 'raw_buffer' } });
    expect(r.attrs.tls).toBeUndefined();
    expect(r.fields.DOWNSTREAM_REMOTE_ADDRESS).toBe('[fd00::9]:45702');
  });
});

// ---------- the collector with real gRPC clients ----------

type Sender = { write: (m: Record<string, unknown>) => boolean; end: () => void; done: Promise<grpc.ServiceError | null>; call: grpc.ClientWritableStream<Record<string, unknown>> };

function openStream(client: grpc.Client, encode: (m: Record<string, unknown>) => Buffer): Sender {
  let resolve!: (e: grpc.ServiceError | null) => void;
  const done = new Promise<grpc.ServiceError | null>((r) => (resolve = r));
  const call = client.makeClientStreamRequest<Record<string, unknown>, Buffer>(PATH, encode, (b: Buffer) => b, (err) => resolve(err ?? null));
  call.on('error', () => undefined);
  return { write: (m) => call.write(m), end: () => call.end(), done, call };
}

function officialEncoder(): (m: Record<string, unknown>) => Buffer {
  if (!hasOfficialProtos) {
    const t = alsTypes().message;
    return (m) => Buffer.from(t.encode(t.fromObject(m)).finish());
  }
  const t = officialType();
  return (m) => Buffer.from(t.encode(t.fromObject(m)).finish());
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes with backpressure. */
async function writeAll(s: Sender, msgs: Iterable<Record<string, unknown>>): Promise<void> {
  for (const m of msgs) {
    if (!s.write(m)) await new Promise<void>((r) => s.call.once('drain', () => r()));
  }
}

describe('ALS collector (real @grpc/grpc-js clients on loopback)', () => {
  it('collects thousands of entries from several concurrent streams; shutdown mid-stream drains them all', async () => {
    const lines: AlsLine[] = [];
    const col = new AlsCollector({ listen: '127.0.0.1:0', onEntry: (l) => lines.push(l) });
    const port = await col.start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const encode = officialEncoder();
    const STREAMS = 6;
    const PER = 600;
    const senders = Array.from({ length: STREAMS }, () => openStream(client, encode));
    const writers = senders.map(async (s, k) => {
      await writeAll(s, (function* () {
        for (let i = 0; i < PER; i++) {
          const m = sampleHttpMessage(k * PER + i, i === 0);
          if (i % 100 === 50) {
            // a batch of three entries in one message
            const e = (m.http_logs as { log_entry: unknown[] }).log_entry[0];
            (m.http_logs as { log_entry: unknown[] }).log_entry = [e, e, e];
          }
          yield m;
          if (i === PER / 2) void 0;
        }
      })());
      s.end();
    });
    // begin shutting down while the clients are still streaming
    await waitFor(() => col.stats.entries > (STREAMS * PER) / 3);
    const shutdown = col.shutdown(15_000);
    await Promise.all(writers);
    const results = await Promise.all(senders.map((s) => s.done));
    await shutdown;
    client.close();
    const perStream = PER + 2 * (PER / 100); // every 100th message (from 50) carries 3 entries
    expect(results.every((r) => r === null)).toBe(true);
    expect(lines.length).toBe(STREAMS * perStream);
    expect(col.stats).toMatchObject({ streams: STREAMS, entries: STREAMS * perStream, rejected: 0 });
    // every stream: node id and log name from its first message, indexes 0..n-1 with no gap
    const byStream = new Map<string, AlsLine[]>();
    for (const l of lines) byStream.set(l.stream, [...(byStream.get(l.stream) ?? []), l]);
    expect(byStream.size).toBe(STREAMS);
    for (const ls of byStream.values()) {
      expect(ls.map((l) => l.index)).toEqual(Array.from({ length: perStream }, (_, i) => i));
      expect(new Set(ls.map((l) => l.node))).toEqual(new Set(['sidecar~10.44.1.27~httpbin-7f9c.foo~foo.svc.cluster.local']));
      expect(new Set(ls.map((l) => l.logName))).toEqual(new Set(['envoy-als']));
    }
    // every request id sent arrived
    const ids = new Set(lines.map((l) => ((l.entry.request as Record<string, unknown>).request_id as string)));
    expect(ids.size).toBe(STREAMS * PER);
  });

  it('ends streams that never finish after the grace period, keeping every entry it received', async () => {
    const lines: AlsLine[] = [];
    const col = new AlsCollector({ listen: '127.0.0.1:0', onEntry: (l) => lines.push(l) });
    const port = await col.start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const encode = officialEncoder();
    const senders = Array.from({ length: 4 }, () => openStream(client, encode));
    let stop = false;
    const sent = [0, 0, 0, 0];
    const loops = senders.map(async (s, k) => {
      let i = 0;
      while (!stop) {
        const ok = s.write(sampleHttpMessage(k * 1_000_000 + i, i === 0));
        sent[k]!++;
        i++;
        if (!ok) await Promise.race([new Promise<void>((r) => s.call.once('drain', () => r())), s.done]);
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    await waitFor(() => col.stats.entries > 2000);
    await col.shutdown(200);
    const errs = await Promise.all(senders.map((s) => s.done));
    stop = true;
    await Promise.all(loops);
    client.close();
    expect(errs.every((e) => e !== null)).toBe(true); // the clients were told (UNAVAILABLE / cancelled)
    expect(lines.length).toBe(col.stats.entries);
    const byStream = new Map<string, number[]>();
    for (const l of lines) byStream.set(l.stream, [...(byStream.get(l.stream) ?? []), l.index]);
    for (const idx of byStream.values()) expect(idx).toEqual(Array.from({ length: idx.length }, (_, i) => i));
    expect(lines.length).toBeLessThanOrEqual(sent.reduce((a, b) => a + b, 0));
  });

  it('rejects a malformed message with INVALID_ARGUMENT, keeps what the stream sent before, and keeps serving', async () => {
    const lines: AlsLine[] = [];
    const events: string[] = [];
    const col = new AlsCollector({ listen: '127.0.0.1:0', onEntry: (l) => lines.push(l), onEvent: (e) => events.push(e.type) });
    const port = await col.start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const enc = officialEncoder();
    const bad = openStream(client, (m) => (m.garbage ? Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]) : enc(m)));
    bad.write(sampleHttpMessage(1));
    bad.write(sampleHttpMessage(2, false));
    bad.write({ garbage: true });
    bad.end();
    const err = await bad.done;
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/not a StreamAccessLogsMessage/);
    expect(lines).toHaveLength(2);

    const noIdent = openStream(client, enc);
    noIdent.write(sampleHttpMessage(3, false));
    noIdent.end();
    const err2 = await noIdent.done;
    expect(err2?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err2?.details).toMatch(/identifier/);

    const empty = openStream(client, enc);
    empty.write({ identifier: { node: { id: 'n' }, log_name: 'l' } });
    empty.end();
    expect((await empty.done)?.code).toBe(grpc.status.INVALID_ARGUMENT);

    const good = openStream(client, enc);
    good.write(sampleTcpMessage(0));
    good.end();
    expect(await good.done).toBeNull();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ kind: 'tcp', node: 'sidecar~10.64.3.9~db-0.data~data.svc.cluster.local', logName: 'tcp-als', index: 0 });
    expect(col.stats.rejected).toBe(3);
    await col.shutdown(500);
    client.close();
  });

  it('serves mTLS: a client with a certificate from the CA gets through, one without is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-als-tls-'));
    const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca');
    for (const who of ['server', 'client']) {
      ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'envoy'}`);
      const ext = join(dir, `${who}.ext`);
      execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${ext}`]);
      ossl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', ext);
    }
    const rd = (f: string) => readFileSync(join(dir, f));
    const lines: AlsLine[] = [];
    const col = new AlsCollector({ listen: '127.0.0.1:0', tls: { cert: rd('server.pem'), key: rd('server.key'), ca: rd('ca.pem') }, onEntry: (l) => lines.push(l) });
    const port = await col.start();
    const enc = officialEncoder();
    const withCert = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(rd('ca.pem'), rd('client.key'), rd('client.pem')));
    const s1 = openStream(withCert, enc);
    s1.write(sampleHttpMessage(0));
    s1.end();
    expect(await s1.done).toBeNull();
    const noCert = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(rd('ca.pem')));
    const s2 = openStream(noCert, enc);
    s2.write(sampleHttpMessage(1));
    s2.end();
    expect((await s2.done)?.code).toBe(grpc.status.UNAVAILABLE);
    expect(lines).toHaveLength(1);
    withCert.close();
    noCert.close();
    await col.shutdown(500);
  });
});
