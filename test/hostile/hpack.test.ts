/** HPACK amplification: a 1 MB h2c capture whose header blocks decode to gigabytes is read in bounded memory. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hpackAmplification, hpackManyBlocks } from '../../src/synth/hostile.js';
import { HEADER_FREE_BYTES, HEADER_RATIO, MAX_HEADER_LIST_SIZE } from '../../src/protocols/http2/decoder.js';
import { runCli } from '../helpers/cli.js';

interface Exchange {
  path?: string;
  method?: string;
  headersTruncated?: boolean;
  headers: Record<string, string[]>;
}
type FlowsJson = { flows?: { http: Exchange[]; notes?: string[] }[] } | { http: Exchange[]; notes?: string[] }[];
const flowsOf = (stdout: string) => {
  const doc = JSON.parse(stdout) as FlowsJson;
  return Array.isArray(doc) ? doc : doc.flows!;
};
const X_BIG = 16 * 1024 + 'x-big'.length + 32; // one field's header-list size
const file = (buf: Buffer): string => {
  const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-hpack-')), 'h2c.pcap');
  writeFileSync(f, buf);
  return f;
};
const env = { NODE_OPTIONS: '--max-old-space-size=256' };

describe('HPACK amplification', () => {
  it(`one header block decoding to ~16 GB keeps at most ${MAX_HEADER_LIST_SIZE} bytes, marks the exchange truncated, and flows/report finish in a 256 MB heap`, async () => {
    const cap = hpackAmplification();
    expect(cap.length).toBeLessThan(1_200_000);
    const f = file(cap);
    const r = await runCli(['flows', f, '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const http = flowsOf(r.stdout).flatMap((x) => x.http);
    expect(http).toHaveLength(2);
    expect(http[0]!.headersTruncated).toBeUndefined();
    expect(http[0]!.headers['x-big']).toHaveLength(1);
    expect(http[1]!.headersTruncated).toBe(true);
    expect(http[1]!).toMatchObject({ method: 'GET', path: '/' });
    const kept = (http[1]!.headers['x-big'] ?? []).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept * X_BIG).toBeLessThanOrEqual(MAX_HEADER_LIST_SIZE);
    const rep = await runCli(['report', f, '--out', join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-hpack-')), 'r.json')], { env });
    expect(rep.code, rep.stderr).toBe(0);
  });

  it('13,000 blocks each just under the per-block cap (a 1 MB capture decoding to 13 GB): the connection keeps a budget linear in its bytes, every exchange is listed with method and path', async () => {
    const cap = hpackManyBlocks(13_000);
    expect(cap.length).toBeLessThan(1_200_000);
    const r = await runCli(['flows', file(cap), '-o', 'json'], { env });
    expect(r.code, r.stderr.slice(-1000)).toBe(0);
    const [flow] = flowsOf(r.stdout);
    const http = flow!.http;
    // every exchange kept up to the listing cap, each still saying what it was
    expect(http.length).toBeGreaterThanOrEqual(1000);
    expect(http.every((x) => x.method === 'GET' && x.path === '/')).toBe(true);
    const kept = http.reduce((a, x) => a + (x.headers['x-big']?.length ?? 0), 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept * X_BIG).toBeLessThanOrEqual(HEADER_FREE_BYTES + HEADER_RATIO * cap.length);
    expect(http.filter((x) => x.headersTruncated).length).toBeGreaterThan(900);
    expect(flow!.notes?.join('\n')).toMatch(/header fields past 65536 bytes \+ 64× the \d+ bytes carried so far are not kept/);
  }, 120_000);
});
