import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, copyFileSync, readFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';
import { outputTarget, parseSkew } from '../../src/cli/commands/report.js';

const FIXTURE = join(REPO, 'test/report/fixtures/incident');

function evidenceDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-cli-'));
  for (const f of ['capture.pcap', 'details.istio-proxy.log', 'inventory.json']) copyFileSync(join(FIXTURE, f), join(dir, f));
  return dir;
}

describe('meshsleuth report', () => {
  it('prints the findings table by default and exits 0', async () => {
    const r = await runCli(['report', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CRITICAL\s+identity-address-mismatch/);
    expect(r.stdout).toMatch(/HIGH\s+plaintext-flow/);
    expect(r.stdout).toContain('3 input(s) (1 capture, 1 access-log, 1 inventory)');
  });

  it('--fail-on exits 1 when a matching finding exists and names it', async () => {
    const r = await runCli(['report', FIXTURE, '--fail-on', 'identity,mismatch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--fail-on: identity (identity-address-mismatch)');
    const none = await runCli(['report', FIXTURE, '--fail-on', 'mismatch']);
    expect(none.code).toBe(0);
    const bad = await runCli(['report', FIXTURE, '--fail-on', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown condition 'bogus'");
  });

  it('lists unknown files as skipped with the reason, and one unreadable input never aborts the report (a damaged compressed one exits 2)', async () => {
    const dir = evidenceDir();
    writeFileSync(join(dir, 'notes.md'), '# Incident notes\n\nWe saw odd traffic at 10:00.\n');
    writeFileSync(join(dir, 'archive.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    // Detected as a config dump by content, but broken inside.
    writeFileSync(join(dir, 'broken-dump.json'), JSON.stringify({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: 'oops' }] }));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'empty.log'), '');
    const out = join(dir, 'report.json');
    const r = await runCli(['report', dir, join(dir, 'missing.pcap'), '--out', out]);
    // archive.gz is gzip data that does not decompress: unreadable input (exit 2), the report is still written
    expect(r.code, r.stderr).toBe(2);
    const m = JSON.parse(readFileSync(out, 'utf8')) as { manifest: { skipped: { path: string; reason: string }[]; inputs: { path: string }[] }; findings: { id: string }[] };
    const reasons = Object.fromEntries(m.manifest.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    expect(reasons['notes.md']).toMatch(/not a config dump, access log, inventory or Istio policy/);
    expect(reasons['archive.gz']).toMatch(/^gzip-compressed data that does not decompress: damaged or cut short at offset 8/);
    expect(reasons['sub/empty.log']).toBe('empty file');
    expect(reasons['missing.pcap']).toBe('no such file or directory');
    expect(reasons['broken-dump.json']).toMatch(/expected/);
    expect(m.manifest.inputs).toHaveLength(3);
    expect(m.findings.map((f) => f.id)).toContain('identity-address-mismatch');
    expect(r.stderr).toContain(`skipped ${join(dir, 'notes.md')}:`);
  });

  it('reads gzip and Zstandard captures like plain ones (same flows, the manifest hashes the compressed file)', async () => {
    const plainDir = evidenceDir();
    const gzDir = evidenceDir();
    const raw = readFileSync(join(gzDir, 'capture.pcap'));
    rmSync(join(gzDir, 'capture.pcap'));
    writeFileSync(join(gzDir, 'capture.pcap.gz'), gzipSync(raw));
    writeFileSync(join(gzDir, 'notes.json.gz'), gzipSync('{"hello": "world"}'));
    const a = await runCli(['report', plainDir, '-o', 'json']);
    const b = await runCli(['report', gzDir, '-o', 'json']);
    expect(b.code, b.stderr).toBe(0);
    type M = { manifest: { inputs: { path: string; kind: string; sha256: string }[]; skipped: { path: string; reason: string }[] }; findings: { id: string }[] };
    const ma = JSON.parse(a.stdout) as M;
    const mb = JSON.parse(b.stdout) as M;
    expect(mb.findings.map((f) => f.id)).toEqual(ma.findings.map((f) => f.id));
    const cap = mb.manifest.inputs.find((i) => i.path.endsWith('capture.pcap.gz'))!;
    expect(cap.kind).toBe('capture');
    expect(cap.sha256).toBe(createHash('sha256').update(readFileSync(join(gzDir, 'capture.pcap.gz'))).digest('hex'));
    expect(mb.manifest.skipped.find((s) => s.path.endsWith('notes.json.gz'))!.reason).toBe('gzip-compressed JSON that is not a config dump, access log, inventory or Istio policy');
  });

  it('--threads 2 reads and hashes the capture in a worker: plain, gzip and damaged captures give the report of --threads 1, the manifest hashing each whole file', async () => {
    const raw = readFileSync(join(FIXTURE, 'capture.pcap'));
    // a record header claiming 2 GB stops the reader at frame 3; 3 MB after it are never parsed, only hashed
    let at = 24;
    for (let i = 0; i < 2; i++) at += 16 + raw.readUInt32LE(at + 8);
    const damaged = Buffer.from(raw);
    damaged.writeUInt32LE(0x7ffffff0, at + 8);
    const cases: [string, Buffer][] = [
      ['capture.pcap', raw],
      ['capture.pcap.gz', gzipSync(raw)],
      ['capture.pcap', Buffer.concat([damaged, Buffer.alloc(3 << 20, 7)])],
    ];
    for (const [name, bytes] of cases) {
      const dir = evidenceDir();
      rmSync(join(dir, 'capture.pcap'));
      writeFileSync(join(dir, name), bytes);
      const env = { SOURCE_DATE_EPOCH: '0' };
      const one = await runCli(['report', dir, '-o', 'json', '--threads', '1'], { env });
      const two = await runCli(['report', dir, '-o', 'json', '--threads', '2'], { env });
      expect(two.code, two.stderr).toBe(0);
      expect(two.stdout).toBe(one.stdout);
      expect(two.stderr).toBe(one.stderr);
      const m = JSON.parse(two.stdout) as { manifest: { inputs: { path: string; sha256: string; items: number }[] }; diagnostics: { message: string }[] };
      const cap = m.manifest.inputs.find((i) => i.path.endsWith(name))!;
      expect(cap.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      if (bytes.length > raw.length + 1000) {
        expect(cap.items).toBe(1);
        expect(m.diagnostics.map((d) => d.message).join('\n')).toMatch(/stopped reading, 2 complete frames kept/);
      }
    }
  });

  it('chooses the output kind by the --out extension; HTML and SARIF are written to the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-out-'));
    for (const [name, start] of [['r.html', '<!DOCTYPE html>'], ['r.sarif', '{'], ['r.json', '{']] as const) {
      const r = await runCli(['report', FIXTURE, '--out', join(dir, name)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(readFileSync(join(dir, name), 'utf8').startsWith(start)).toBe(true);
      expect(r.stderr).toMatch(/wrote .*: 6 finding\(s\)/);
      expect(r.stderr).not.toMatch(/deprecated/);
    }
    const bad = await runCli(['report', FIXTURE, '--out', join(dir, 'r.txt')]);
    expect(bad.code).toBe(2);
    expect(existsSync(join(dir, 'r.txt'))).toBe(false);
    // -o names the format when the file name does not
    const named = await runCli(['report', FIXTURE, '-o', 'sarif', '--out', join(dir, 'r.txt')]);
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'r.txt'), 'utf8')).version).toBe('2.1.0');
  });

  it('-o FILE (before --out existed) still writes the file, with a deprecation warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-old-'));
    const r = await runCli(['report', FIXTURE, '-o', join(dir, 'r.html')]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8').startsWith('<!DOCTYPE html>')).toBe(true);
    expect(r.stderr).toContain(`-o ${join(dir, 'r.html')}: writing a file with -o is deprecated; use --out ${join(dir, 'r.html')}`);
  });

  it('--show-secrets reveals the cleartext token; it is redacted otherwise', async () => {
    const hidden = await runCli(['report', FIXTURE, '-o', 'json']);
    expect(hidden.stdout).not.toContain('eyJhbGciOiJIUzI1NiJ9.c2VjcmV0');
    const shown = await runCli(['report', FIXTURE, '-o', 'json', '--show-secrets']);
    expect(shown.stdout).toContain('eyJhbGciOiJIUzI1NiJ9.c2VjcmV0');
  });

  it('--skew changes the correlation window', async () => {
    const tight = JSON.parse((await runCli(['report', FIXTURE, '-o', 'json', '--skew', '0ms'])).stdout) as { summary: { records: { correlatedWithCapture: number } }; manifest: { skewMs: number } };
    const loose = JSON.parse((await runCli(['report', FIXTURE, '-o', 'json', '--skew', '2s'])).stdout) as typeof tight;
    expect(tight.manifest.skewMs).toBe(0);
    expect(loose.manifest.skewMs).toBe(2000);
    expect(loose.summary.records.correlatedWithCapture).toBeGreaterThanOrEqual(tight.summary.records.correlatedWithCapture);
  });

  it('refuses when no input is usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-report-empty-'));
    writeFileSync(join(dir, 'x.txt'), 'hello\n');
    const r = await runCli(['report', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no usable evidence/);
  });

  it('parses -o targets and skew durations', () => {
    expect(outputTarget(undefined)).toEqual({ format: 'table', file: null });
    expect(outputTarget(undefined, 'x/y.SARIF')).toEqual({ format: 'sarif', file: 'x/y.SARIF' });
    expect(outputTarget(undefined, 'out.sarif.json')).toEqual({ format: 'sarif', file: 'out.sarif.json' });
    expect(outputTarget('json', 'out.txt')).toEqual({ format: 'json', file: 'out.txt' });
    expect(() => outputTarget(undefined, 'out.txt')).toThrow(/--out out.txt: expected a file ending in .html, .json or .sarif/);
    expect(() => outputTarget('x.html', 'y.html')).toThrow(/-o x.html: expected one of table, json, html, sarif/);
    // -o FILE, the option's meaning before --out: still writes the file, flagged for a deprecation warning
    expect(outputTarget('x/y.SARIF')).toEqual({ format: 'sarif', file: 'x/y.SARIF', deprecated: true });
    expect(outputTarget('json')).toEqual({ format: 'json', file: null });
    expect(parseSkew('2s')).toBe(2000);
    expect(parseSkew('500ms')).toBe(500);
    expect(parseSkew('1.5')).toBe(1500);
    expect(parseSkew('1m')).toBe(60000);
    expect(() => parseSkew('fast')).toThrow(/--skew/);
  });
});
