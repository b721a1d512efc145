/**
 * Installable outside the repository (issue 18 item 5): the `npm pack` tarball installs globally into a
 * temporary prefix and runs from a folder that is not the clone: version, a report on a bundled sample, and
 * completion answered from the prebuilt option spec. (Needs the npm registry for the dependencies.)
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';

const built = existsSync(join(REPO, 'dist/src/cli/main.js')) && existsSync(join(REPO, 'dist/src/cli/cli-spec.json'));

describe.skipIf(!built)('npm pack → npm i -g → meshsleuth from any folder (needs dist/ built and the npm registry)', () => {
  it('installs the tarball into a prefix and runs from outside the clone', () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    const tmp = mkdtempSync(join(tmpdir(), 'meshsleuth-pack-'));
    // dist/ is built by the test setup (as `prepare` would on a plain `npm pack`)
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: REPO, stdio: 'ignore' });
    const tgz = join(tmp, `meshsleuth-${version}.tgz`);
    expect(existsSync(tgz)).toBe(true);
    const prefix = join(tmp, 'prefix');
    execFileSync('npm', ['install', '--global', '--prefix', prefix, tgz, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: tmp, stdio: 'ignore' });
    const bin = join(prefix, 'bin', 'meshsleuth');
    const home = mkdtempSync(join(tmpdir(), 'meshsleuth-elsewhere-'));
    const run = (args: string[]) => spawnSync(bin, args, { cwd: home, encoding: 'utf8' });

    expect(run(['--version']).stdout).toBe(`${version}\n`);
    expect(run(['--help']).stdout).toContain('meshsleuth report <evidence..>');
    const installed = join(prefix, 'lib', 'node_modules', 'meshsleuth');
    const report = run(['report', join(installed, 'samples', 'bank-breach'), '-q']);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toContain('identity-address-mismatch');
    expect(run(['__complete', 'flows', '--security', 'pl']).stdout).toBe('plaintext\n');
    // the option spec survives pack and install (npm resets file times), so completion does not load every command
    const fresh = spawnSync(process.execPath, ['--input-type=module', '-e', `import { readSpec } from ${JSON.stringify(join(installed, 'dist/src/cli/spec.js'))}; process.stdout.write(String(readSpec() !== null));`], { encoding: 'utf8' });
    expect(fresh.stdout).toBe('true');
  }, 300_000);
});
