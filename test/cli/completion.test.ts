/** Shell completion in real bash and zsh: commands, options and the values of enumerated options. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { complete } from '../../src/cli/fast.js';
import { buildSpec } from '../../src/cli/spec.js';

const ENTRY = join(REPO, 'dist/src/cli/main.js');
/** A `meshsleuth` on PATH running the built CLI, as a global install would. */
const bin = mkdtempSync(join(tmpdir(), 'meshsleuth-bin-'));
writeFileSync(join(bin, 'meshsleuth'), `#!/bin/sh\nexec "${process.execPath}" "${ENTRY}" "$@"\n`);
chmodSync(join(bin, 'meshsleuth'), 0o755);
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };

function shellAvailable(sh: string): boolean {
  return spawnSync(sh, ['-c', 'exit 0']).status === 0;
}

describe('completion candidates', () => {
  it('offers commands, options and enumerated values (also after a comma and after --opt=)', async () => {
    const spec = await buildSpec();
    expect(complete(['fl'], spec)).toEqual(['flows']);
    expect(complete(['flows', '--security', 'p'], spec)).toEqual(['plaintext']);
    expect(complete(['flows', '--fail-on', 'plaintext,no'], spec)).toEqual(['plaintext,not-mtls']);
    expect(complete(['flows', '--fail-on=con'], spec)).toEqual(['--fail-on=config-mismatch']);
    expect(complete(['report', '-o', ''], spec)).toEqual(['table', 'json', 'html', 'sarif']);
    expect(complete(['check', '--kind', ''], spec)).toEqual(['http', 'network']);
    expect(complete(['report', '--fail-on', ''], spec)).toEqual(expect.arrayContaining(['plaintext', 'denied', 'mismatch', 'identity']));
    expect(complete(['flows', '--sec'], spec)).toEqual(['--security']);
    expect(complete(['flows', '--q'], spec)).toEqual(['--quiet']);
    // a file argument or a free-form value: nothing, so the shell completes file names
    expect(complete(['flows', 'cap'], spec)).toEqual([]);
    expect(complete(['flows', '--config', ''], spec)).toEqual([]);
    expect(complete(['help', 'rep'], spec)).toEqual(['report']);
  });
});

describe.skipIf(!existsSync(ENTRY))('completion scripts in real shells (needs dist/ built and bash)', () => {
  it('bash: eval "$(meshsleuth completion bash)" completes values of --fail-on and -o, and falls back to files', () => {
    const script = `
eval "$(meshsleuth completion bash)"
c() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _meshsleuth_complete; echo "$*=>\${COMPREPLY[*]}"; }
c meshsleuth fl
c meshsleuth flows --fail-on pl
c meshsleuth flows -o ''
c meshsleuth flows sampl
`;
    const r = spawnSync('bash', ['-c', script], { cwd: REPO, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      'meshsleuth fl=>flows',
      'meshsleuth flows --fail-on pl=>plaintext',
      'meshsleuth flows -o =>table wide json ndjson yaml',
      'meshsleuth flows sampl=>samples',
      '',
    ]);
  });

  it.skipIf(!shellAvailable('zsh'))('zsh: the completion function offers the same candidates (needs zsh)', () => {
    // compadd only works inside the completion system; record what the function would add instead.
    const script = `
autoload -U compinit && compinit -u >/dev/null 2>&1
source <(meshsleuth completion zsh)
compadd() { shift; print -r -- "ADD $*"; }
_files() { print -r -- FILES; }
words=(meshsleuth flows --security pl); CURRENT=4; _meshsleuth
words=(meshsleuth report -o ''); CURRENT=4; _meshsleuth
words=(meshsleuth flows caps); CURRENT=3; _meshsleuth
`;
    const r = spawnSync('zsh', ['-f', '-c', script], { cwd: REPO, env, encoding: 'utf8' });
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['ADD plaintext', 'ADD table json html sarif', 'FILES']);
  });
});
