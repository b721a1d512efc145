/** The generator: byte-for-byte reproducible from the committed recording, and able to record afresh. */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSamples } from '../../src/samples/generate.js';
import { flows, records, SAMPLES } from './helpers.js';

function walk(dir: string, skip: (rel: string) => boolean, root = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const rel = relative(root, p);
    if (skip(rel)) continue;
    if (statSync(p).isDirectory()) out.push(...walk(p, skip, root));
    else out.push(rel);
  }
  return out;
}
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const handWritten = (rel: string): boolean => rel === '_generator' || rel.endsWith('README.md');

const tmp = mkdtempSync(join(tmpdir(), 'meshsleuth-samples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sample generation', () => {
  it('regenerating from the committed recording gives identical bytes for every committed file', async () => {
    const rec = join(tmp, 'recording.json');
    copyFileSync(join(SAMPLES, '_generator', 'recording.json'), rec);
    const out = join(tmp, 'out');
    const r = await generateSamples({ outDir: out, recording: rec, allowRecord: false });
    expect(r.recorded).toBe(0);
    expect(r.replayed).toBeGreaterThan(40);
    const committed = walk(SAMPLES, handWritten);
    const generated = walk(out, handWritten);
    expect(generated).toEqual(committed);
    const differing = committed.filter((rel) => sha(join(SAMPLES, rel)) !== sha(join(out, rel)));
    expect(differing).toEqual([]);
    expect(sha(rec)).toBe(sha(join(SAMPLES, '_generator', 'recording.json')));
  });

  it('every capture is under 1 MB and every bundle has dumps, logs, captures and an inventory', () => {
    for (const bundle of readdirSync(SAMPLES).filter((n) => !n.startsWith('_') && statSync(join(SAMPLES, n)).isDirectory())) {
      const files = walk(join(SAMPLES, bundle), () => false);
      for (const kind of ['config_dumps/', 'logs/', 'captures/', 'inventory.json', 'README.md']) expect(files.some((f) => f.startsWith(kind)), `${bundle} has ${kind}`).toBe(true);
      for (const f of files.filter((x) => x.endsWith('.pcap'))) expect(statSync(join(SAMPLES, bundle, f)).size).toBeLessThan(1_000_000);
    }
  });

  it('with an empty recording it runs real TLS handshakes again (new bytes, same story)', async () => {
    const out = join(tmp, 'fresh');
    const r = await generateSamples({ outDir: out, recording: null, only: ['details-path'] });
    expect(r.recorded).toBeGreaterThan(0);
    expect(r.replayed).toBe(0);
    const cap = 'details-path/captures/details-v1-5f4d584748-vn4cx.default.pcap';
    expect(sha(join(out, cap))).not.toBe(sha(join(SAMPLES, cap)));
    const a = (await flows(join(out, cap))).map((f) => [f.client.ip, f.server.port, f.security, f.tls?.sni ?? null, f.http[0]?.path ?? null]);
    const b = (await flows(join(SAMPLES, cap))).map((f) => [f.client.ip, f.server.port, f.security, f.tls?.sni ?? null, f.http[0]?.path ?? null]);
    expect(a).toEqual(b);
    // the logs tell the same story (times shift with the handshake sizes) and the listeners are the same
    const log = 'details-path/logs/details-v1-5f4d584748-vn4cx.default.istio-proxy.log';
    const facts = async (root: string) =>
      (await records(join(root, log))).map((x) => [x.requestId, x.responseCode, x.responseCodeDetails, x.attrs.source?.address, x.attrs.source?.port, x.attrs.sni, x.attrs.http?.path]);
    expect(await facts(out)).toEqual(await facts(SAMPLES));
    const dump = 'details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json';
    const listeners = (root: string): unknown => (JSON.parse(readFileSync(join(root, dump), 'utf8')) as { configs: unknown[] }).configs[1];
    expect(listeners(out)).toEqual(listeners(SAMPLES));
  });
});
