import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deciderFor, explanationJson, explanationLine } from '../../src/cli/explain-run.js';
import { explainRecord } from '../../src/analysis/explain.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import type { AccessRecord, Explanation } from '../../src/model/records.js';

const SAMPLE = fileURLToPath(new URL('../../samples/bookinfo-authz', import.meta.url));

async function sampleExplanations(extra: (r: AccessRecord) => AccessRecord[] = () => []): Promise<Explanation[]> {
  const dumpDir = join(SAMPLE, 'config_dumps');
  const { dumps } = await loadConfigDumps(readdirSync(dumpDir).sort().map((f) => join(dumpDir, f)));
  const decide = deciderFor(dumps);
  const logDir = join(SAMPLE, 'logs');
  const out: Explanation[] = [];
  for await (const r of readAccessLogs(readdirSync(logDir).sort().map((f) => join(logDir, f)))) {
    for (const x of [r, ...extra(r)]) out.push(explainRecord(x, decide));
  }
  return out;
}

describe('explain -o ndjson line (explanationLine)', () => {
  it('is the text of JSON.stringify(explanationJson(e)) for every record of a sample incident, twice over (shared tails reused)', async () => {
    const es = await sampleExplanations();
    expect(es.length).toBeGreaterThan(20);
    expect(new Set(es.map((e) => e.verdict)).size).toBeGreaterThan(1);
    for (let pass = 0; pass < 2; pass++) {
      for (const e of es) expect(explanationLine(e)).toBe(JSON.stringify(explanationJson(e)));
    }
  });

  it('escapes and redacts as JSON.stringify of the object does (quotes, control characters, lone surrogates, secret headers, --show-secrets)', async () => {
    const odd = (r: AccessRecord): AccessRecord[] => {
      if (r.kind !== 'http' || !r.attrs.http) return [];
      const http = { ...r.attrs.http, path: '/a"b\\c\n\u0001\ud800?token=s3cret&x=1', headers: { ...r.attrs.http.headers, authorization: ['Bearer abc'], 'user-agent': ['\u202eevil'] } };
      return [{ ...r, time: undefined, responseFlags: 'UF,URX', attrs: { ...r.attrs, http } }];
    };
    const es = (await sampleExplanations(odd)).filter((e) => e.record.attrs.http?.headers.authorization);
    expect(es.length).toBeGreaterThan(0);
    for (const e of es) {
      expect(explanationLine(e)).toBe(JSON.stringify(explanationJson(e)));
      expect(explanationLine(e, true)).toBe(JSON.stringify(explanationJson(e, true)));
    }
    expect(explanationLine(es[0]!)).not.toContain('Bearer abc');
  });
});
