/** SARIF output validated against the OASIS SARIF 2.1.0 JSON schema (shipped by @microsoft/jest-sarif). */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { runCli } from '../helpers/cli.js';
import { pathToUri } from '../../src/report/sarif.js';

const require = createRequire(import.meta.url);
const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

function validator() {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  // The schema's uri / uri-reference / date-time formats are checked, not ignored with a warning per use.
  addFormats(ajv as unknown as Parameters<typeof addFormats>[0]);
  return ajv.compile(schema);
}

describe('SARIF 2.1.0', () => {
  it('the report over the incident fixture validates against the 2.1.0 schema', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'meshsleuth-sarif-')), 'r.sarif');
    const r = await runCli(['report', 'test/report/fixtures/incident', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const log = JSON.parse(readFileSync(out, 'utf8')) as { version: string; runs: { results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[]; artifacts: { hashes: Record<string, string> }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    const validate = validator();
    const ok = validate(log);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
    expect(ok).toBe(true);
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((x) => x.id)).toContain('identity-address-mismatch');
    const ids = run.results.map((x) => x.ruleId);
    expect(ids).toContain('identity-address-mismatch');
    expect(run.results.find((x) => x.ruleId === 'identity-address-mismatch')!.level).toBe('error');
    const deny = run.results.find((x) => x.ruleId === 'rbac-denied')!;
    expect(deny.locations[0]!.physicalLocation.region?.startLine).toBe(4);
    expect(run.artifacts.every((a) => /^[0-9a-f]{64}$/.test(a.hashes['sha-256']!))).toBe(true);
  });

  it('a wrong SARIF document fails the same validator (the check can fail)', () => {
    const validate = validator();
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: '2.0.0', runs: [] })).toBe(false);
  });

  it('turns paths into relative URI references', () => {
    expect(pathToUri('logs/a b#1.log')).toBe('logs/a%20b%231.log');
  });
});
