import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('meshsleuth CLI shell', () => {
  it('prints help listing every verb', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const verb of ['policies', 'check', 'explain', 'flows', 'report', 'collect', 'compile']) {
      expect(r.stdout).toContain(`meshsleuth ${verb}`);
    }
  });

  it('exits 2 with a one-line message on an unknown command', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/meshsleuth: /);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('output to a closed pipe', () => {
  it('ends quietly (exit 0, no EPIPE trace) when the reader closes early', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('sh', ['-c', 'node dist/src/cli/main.js --help | head -c 10 >/dev/null; node dist/src/cli/main.js completion | head -c 1 >/dev/null; echo done'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('done');
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
  });
});
