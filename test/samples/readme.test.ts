/** The bundle READMEs: every command marker has pasted output, and none of it is a crash. */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRASH, refreshReadme, splitArgs } from '../../src/samples/readme.js';
import { SAMPLES } from './helpers.js';

describe('README command blocks', () => {
  it('splitArgs keeps quoted arguments together', () => {
    expect(splitArgs(`check a.json --from 'spiffe://x/ns/a b' -H "x-y: 1" --port 9080`)).toEqual(['check', 'a.json', '--from', 'spiffe://x/ns/a b', '-H', 'x-y: 1', '--port', '9080']);
  });

  it('refreshReadme replaces only marked blocks and keeps a block whose command crashed', () => {
    const text = ['intro', '<!-- meshsleuth: flows a.pcap -->', '```', 'old', '```', '<!-- meshsleuth: check b -->', '```', 'kept', '```', 'tail'].join('\n');
    const failed: string[] = [];
    const out = refreshReadme(text, (args) => (args[0] === 'flows' ? { text: 'NEW\n', ok: true } : { text: 'TypeError: x\n    at f (file:///a.js:1:1)\n', ok: false }), failed);
    expect(out).toBe(['intro', '<!-- meshsleuth: flows a.pcap -->', '```', '$ meshsleuth flows a.pcap', 'NEW', '```', '<!-- meshsleuth: check b -->', '```', 'kept', '```', 'tail'].join('\n'));
    expect(failed.length).toBe(1);
    expect(CRASH.test('SyntaxError: The requested module')).toBe(true);
    expect(CRASH.test('DENY rbac_access_denied_matched_policy[none]\n[exit 1]\n')).toBe(false);
  });

  for (const bundle of readdirSync(SAMPLES).filter((n) => !n.startsWith('_') && existsSync(join(SAMPLES, n, 'README.md')))) {
    it(`${bundle}/README.md: every marked command has real output pasted`, () => {
      const text = readFileSync(join(SAMPLES, bundle, 'README.md'), 'utf8');
      const lines = text.split('\n');
      const marks = lines.map((l, i) => [l, i] as const).filter(([l]) => /^<!-- meshsleuth: .* -->$/.test(l));
      expect(marks.length).toBeGreaterThanOrEqual(3);
      for (const [l, i] of marks) {
        const args = /^<!-- meshsleuth: (.*) -->$/.exec(l)![1]!;
        expect(lines[i + 1]).toBe('```');
        expect(lines[i + 2]).toBe(`$ meshsleuth ${args}`);
        expect(lines[i + 3], `${bundle}: output of ${args}`).not.toBe('```');
        // every file the command names exists in the repository
        for (const a of splitArgs(args).filter((x) => x.startsWith('samples/'))) expect(existsSync(join(SAMPLES, '..', a)), a).toBe(true);
      }
      expect(CRASH.test(text)).toBe(false);
    });
  }
});
