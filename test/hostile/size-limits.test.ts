/** Structured inputs are parsed whole, so their size is bounded: refused with exit 2, never an unbounded read. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_STRUCTURED_BYTES, readWholeStream } from '../../src/readers/files.js';
import { InputError } from '../../src/model/errors.js';
import { runCli } from '../helpers/cli.js';

describe('size limits on structured input', () => {
  it('a stream longer than the limit is refused as soon as it passes it', async () => {
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) yield Buffer.alloc(65536);
    }
    await expect(readWholeStream(endless(), 'zeros', 1_000_000)).rejects.toBeInstanceOf(InputError);
    await expect(readWholeStream(endless(), 'zeros', 1_000_000)).rejects.toThrow(/zeros, offset 1000000: expected at most 1000000 bytes/);
  });

  it('a dump file larger than the limit is refused from its size, before reading (sparse 600 MB file)', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-size-')), 'huge.json');
    writeFileSync(f, '{');
    truncateSync(f, 600 * 1024 * 1024);
    for (const args of [['policies', f], ['check', f, '--port', '80', '--plaintext']]) {
      const r = await runCli(args, { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`expected at most ${MAX_STRUCTURED_BYTES} bytes (structured input is parsed whole), found 629145600 bytes`);
    }
  });

  it.skipIf(!existsSync('/dev/zero'))('policies /dev/zero stops at the limit with exit 2 (needs /dev/zero)', async () => {
    const r = await runCli(['policies', '/dev/zero']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\/dev\/zero, offset \d+: expected at most \d+ bytes/);
  });
});
