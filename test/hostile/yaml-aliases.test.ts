/** YAML alias bombs ("billion laughs") in evidence are refused with the file and line, never run out of memory. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStructured, YAML_MAX_ALIAS_COUNT } from '../../src/readers/structured.js';
import { InputError } from '../../src/model/errors.js';
import { runCli } from '../helpers/cli.js';
import { yamlAliasBomb } from '../../src/synth/hostile.js';

/** `levels` levels of 10 aliases each to the level below: 10^levels leaves from a few hundred bytes. */
function laughs(prefix: string, levels: number): string {
  const lines = [prefix, 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-yaml-'));
const DUMP_HEAD = 'configs:\n- "@type": type.googleapis.com/envoy.admin.v3.ListenersConfigDump\n  dynamic_listeners: []\n';

describe('YAML alias bombs', () => {
  it(`the structured reader refuses more than ${YAML_MAX_ALIAS_COUNT} alias expansions with the line of the first alias`, () => {
    const text = laughs(DUMP_HEAD, 9);
    let err: unknown;
    try {
      parseStructured(text, 'bomb.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).location).toMatchObject({ file: 'bomb.yaml', line: 6 });
    expect((err as Error).message).toMatch(/alias/);
  });

  it('a few legitimate aliases (as Helm and CI files use them) are still read, with their values copied', () => {
    const docs = parseStructured('base: &b {app: x}\nthis: *b\nthat: *b\n', 'ok.yaml') as { this: unknown; that: unknown }[];
    expect(docs[0]!.this).toEqual({ app: 'x' });
    expect(docs[0]!.that).toEqual({ app: 'x' });
  });

  for (const [cmd, size, args] of [
    ['check', 36_000, ['--port', '80', '--plaintext']],
    ['policies', 62_000, []],
  ] as const) {
    it(`${cmd} on a ${size / 1000} KB alias bomb (the issue's size) exits 2 naming the file and line, in a 256 MB heap`, async () => {
      const f = join(tmp(), 'dump.yaml');
      const text = yamlAliasBomb(DUMP_HEAD, size);
      expect(Math.abs(text.length - size)).toBeLessThan(1000);
      writeFileSync(f, text);
      const r = await runCli([cmd, f, ...args], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/dump\.yaml, line 5: expected YAML with at most 100 alias expansions/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('report skips an alias-bomb file with the reason and goes on', async () => {
    const d = tmp();
    writeFileSync(join(d, 'bomb.yaml'), laughs('apiVersion: v1\nkind: List\n', 9));
    const r = await runCli(['report', d], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    expect(r.code).not.toBe(3);
    expect(r.stdout + r.stderr).toMatch(/alias/);
  });
});
