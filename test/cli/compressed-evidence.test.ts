/**
 * Compressed evidence that is not a capture (access logs, config dumps, inventories, Kubernetes and Istio
 * policies) is read as its uncompressed form by `report`, `explain`, `flows --config` and `policies`,
 * gzip or Zstandard, decided by content; the manifest hashes the compressed file. Damaged compressed data
 * is one line naming the file and the compressed offset, exit 2, and the other inputs are still read.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress as zstdDecompress } from 'fzstd';
import { REPO, runCli } from '../helpers/cli.js';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';

const SAMPLE = join(REPO, 'samples/bank-breach');

/**
 * A Zstandard frame (RFC 8878 §3.1.1) holding `data` in Raw blocks: no compression, but a real frame any
 * decoder reads (window 128 KiB, blocks of at most 128 KiB, no checksum).
 */
function zstdFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  const max = 128 * 1024;
  for (let o = 0; o < data.length || o === 0; o += max) {
    const block = data.subarray(o, o + max);
    const last = o + max >= data.length ? 1 : 0;
    const h = last | (0 << 1) | (block.length << 3);
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), block);
    if (last) break;
  }
  return Buffer.concat(parts);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e)) : [join(dir, e)]));
}

/** A copy of the bank-breach sample with every non-capture input compressed (gzip and Zstandard in turn). */
function compressedCopy(): { dir: string; plain: string; compressed: Map<string, 'gzip' | 'zstd'> } {
  const plain = mkdtempSync(join(tmpdir(), 'meshsleuth-plain-'));
  cpSync(SAMPLE, plain, { recursive: true });
  rmSync(join(plain, 'README.md'));
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-compressed-'));
  cpSync(plain, dir, { recursive: true });
  const compressed = new Map<string, 'gzip' | 'zstd'>();
  let i = 0;
  for (const f of walk(dir)) {
    if (f.endsWith('.pcap')) continue;
    const raw = readFileSync(f);
    const kind = i++ % 2 === 0 ? 'gzip' : 'zstd';
    writeFileSync(`${f}.${kind === 'gzip' ? 'gz' : 'zst'}`, kind === 'gzip' ? gzipSync(raw) : zstdFrame(raw));
    rmSync(f);
    compressed.set(`${f}.${kind === 'gzip' ? 'gz' : 'zst'}`, kind);
  }
  return { dir, plain, compressed };
}

type Manifest = { inputs: { path: string; kind: string; sha256: string; bytes: number; items: number; compressed?: string }[]; skipped: { path: string; reason: string }[] };

describe('compressed evidence besides captures', () => {
  it('the Zstandard frames the tests write are real ones', () => {
    const data = Buffer.from('x'.repeat(300_000) + 'end');
    expect(Buffer.from(zstdDecompress(zstdFrame(data))).equals(data)).toBe(true);
  });

  it('report: compressed logs, dumps, inventory and policies give the same report as the plain files; the manifest hashes the compressed files', async () => {
    const { dir, plain, compressed } = compressedCopy();
    const env = { SOURCE_DATE_EPOCH: '0' };
    const a = await runCli(['report', plain, '-o', 'json'], { env });
    const b = await runCli(['report', dir, '-o', 'json'], { env });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/skipped/);
    const mb = (JSON.parse(b.stdout) as { manifest: Manifest }).manifest;
    expect(mb.inputs).toHaveLength(compressed.size + 3);
    for (const [path, kind] of compressed) {
      const m = mb.inputs.find((x) => x.path === path)!;
      expect(m, path).toBeDefined();
      expect(m.compressed).toBe(kind);
      expect(m.sha256).toBe(sha(readFileSync(path)));
      expect(m.bytes).toBe(statSync(path).size);
      expect(m.items).toBeGreaterThan(0);
    }
    // Everything but the manifest's per-file bytes/hashes is what the plain files give.
    const norm = (s: string, root: string): unknown => {
      const j = JSON.parse(s.split(root).join('X').replace(/\.(gz|zst)"/g, '"')) as { manifest: Manifest };
      j.manifest.inputs = j.manifest.inputs.map(({ path, kind, items }) => ({ path, kind, items, sha256: '', bytes: 0 }));
      return j;
    };
    expect(norm(b.stdout, dir)).toEqual(norm(a.stdout, plain));
  });

  it('report: a damaged compressed log is one line naming the file and offset, exit 2; the other inputs are reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-damaged-'));
    cpSync(join(SAMPLE, 'captures'), join(dir, 'captures'), { recursive: true });
    cpSync(join(SAMPLE, 'inventory.json'), join(dir, 'inventory.json'));
    const log = readFileSync(join(SAMPLE, 'logs/database-0.bank.istio-proxy.log'));
    const gz = gzipSync(log);
    writeFileSync(join(dir, 'database.log.gz'), gz.subarray(0, Math.floor(gz.length * 0.7)));
    // zstd: a frame whose second Raw block is cut short
    const zst = zstdFrame(Buffer.concat([log, Buffer.alloc(140 * 1024, 0x0a)]));
    writeFileSync(join(dir, 'customer.log.zst'), zst.subarray(0, zst.length - 100));
    const out = join(dir, 'report.json');
    const r = await runCli(['report', dir, '--out', out]);
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    const gzLine = lines.filter((l) => l.includes('database.log.gz'));
    expect(gzLine).toHaveLength(1);
    expect(gzLine[0]).toMatch(new RegExp(`^meshsleuth: ${join(dir, 'database.log.gz')}, offset \\d+: expected gzip-compressed access-log data, found a damaged or cut-short gzip stream`));
    const zLine = lines.filter((l) => l.includes('customer.log.zst'));
    expect(zLine).toHaveLength(1);
    expect(zLine[0]).toMatch(new RegExp(`^meshsleuth: ${join(dir, 'customer.log.zst')}, offset \\d+: expected Zstandard-compressed access-log data, found a damaged or cut-short zstd stream`));
    const m = JSON.parse(readFileSync(out, 'utf8')) as { manifest: Manifest; summary: { flows: { total: number } }; requests: { ref: { file: string; line?: number } }[] };
    expect(m.summary.flows.total).toBe(36);
    expect(m.manifest.inputs.map((i) => i.kind).sort()).toEqual(['capture', 'capture', 'capture', 'inventory']);
    expect(m.manifest.skipped.map((s) => s.path).sort()).toEqual([join(dir, 'customer.log.zst'), join(dir, 'database.log.gz')]);
    // what the zstd log held before the damage (the whole log, in its first block) is used, line numbers as in the plain log
    const plainLines: number[] = [];
    for await (const rec of readAccessLogs(join(SAMPLE, 'logs/database-0.bank.istio-proxy.log'))) plainLines.push(rec.ref.line!);
    expect(plainLines.length).toBeGreaterThan(5);
    expect(m.requests.filter((x) => x.ref.file === join(dir, 'customer.log.zst')).map((x) => x.ref.line)).toEqual(plainLines);
  });

  it('explain: a directory of compressed logs replays them; a damaged one is named with its offset (exit 2) and the others still replayed', async () => {
    const dump = join(SAMPLE, 'config_dumps/database-0.bank.json');
    const log = readFileSync(join(SAMPLE, 'logs/database-0.bank.istio-proxy.log'));
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-explain-gz-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs/a.log.zst'), zstdFrame(log));
    const plain = await runCli(['explain', dump, join(SAMPLE, 'logs/database-0.bank.istio-proxy.log'), '-o', 'json']);
    const zst = await runCli(['explain', dump, join(dir, 'logs'), '-o', 'json']);
    expect(zst.code, zst.stderr).toBe(plain.code);
    const verdicts = (s: string) => (JSON.parse(s) as { records: { verdict?: string; decision?: { decision: string } | null }[] }).records.map((x) => [x.decision?.decision, x.verdict]);
    expect(verdicts(zst.stdout)).toEqual(verdicts(plain.stdout));
    const gz = gzipSync(log);
    writeFileSync(join(dir, 'logs/b.log.gz'), gz.subarray(0, 40));
    const r = await runCli(['explain', dump, join(dir, 'logs'), '-o', 'json']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.includes('b.log.gz'))).toEqual([expect.stringMatching(new RegExp(`^meshsleuth: ${join(dir, 'logs/b.log.gz')}, offset \\d+: expected gzip-compressed access-log data, found a damaged or cut-short gzip stream`))]);
    expect(verdicts(r.stdout)).toEqual(verdicts(plain.stdout));
  });

  it('flows --config and policies read compressed inventories, policies and dumps; a damaged --config is named with its offset (exit 2)', async () => {
    const cap = join(SAMPLE, 'captures/database-0.bank.pcap');
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-config-gz-'));
    writeFileSync(join(dir, 'inventory.json.gz'), gzipSync(readFileSync(join(SAMPLE, 'inventory.json'))));
    writeFileSync(join(dir, 'networkpolicies.yaml.zst'), zstdFrame(readFileSync(join(SAMPLE, 'networkpolicies.yaml'))));
    const plain = await runCli(['flows', cap, '--config', join(SAMPLE, 'inventory.json'), '--config', join(SAMPLE, 'networkpolicies.yaml'), '-o', 'json']);
    const comp = await runCli(['flows', cap, '--config', join(dir, 'inventory.json.gz'), '--config', join(dir, 'networkpolicies.yaml.zst'), '-o', 'json']);
    expect(comp.code, comp.stderr).toBe(plain.code);
    const n = (x: string) => x.split(SAMPLE).join('X').split(dir).join('X').replace(/\.(gz|zst)"/g, '"');
    expect(n(comp.stdout)).toBe(n(plain.stdout));
    expect(comp.stdout).toContain('networkLayers');

    const dump = readFileSync(join(SAMPLE, 'config_dumps/database-0.bank.json'));
    writeFileSync(join(dir, 'dump.json.zst'), zstdFrame(dump));
    const p = await runCli(['policies', join(dir, 'dump.json.zst'), '-o', 'json']);
    const pp = await runCli(['policies', join(SAMPLE, 'config_dumps/database-0.bank.json'), '-o', 'json']);
    expect(p.code, p.stderr).toBe(0);
    const strip = (s: string) => s.replace(/"(source|file)": "[^"]*"/g, '');
    expect(strip(p.stdout)).toBe(strip(pp.stdout));

    writeFileSync(join(dir, 'broken.yaml.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]));
    const bad = await runCli(['flows', cap, '--config', join(dir, 'inventory.json.gz'), '--config', join(dir, 'broken.yaml.gz')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n').filter((l) => l.includes('broken.yaml.gz'))).toEqual([expect.stringMatching(/broken\.yaml\.gz: --config: gzip-compressed data that does not decompress: damaged or cut short at offset \d+/)]);
    expect(bad.stdout).toMatch(/10\.244\.2\.53:8080/);
  });
});
