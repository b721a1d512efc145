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
