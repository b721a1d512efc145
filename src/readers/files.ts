/**
 * Whole-file reads for structured inputs (config dumps, manifests, inventories, request files), bounded: JSON
 * and YAML are parsed in one piece, so their size is capped rather than letting `/dev/zero`, a FIFO or a
 * multi-GB file grow memory until the process dies. Logs and captures stream and have no such limit.
 */
import { open } from 'node:fs/promises';
import { InputError } from '../model/errors.js';

/**
 * Largest structured input read whole (bytes). Parsing JSON costs several times its size in memory and V8's
 * longest string is about 512 MiB, so past this a dump is refused with exit 2 (split it, e.g. with
 * `istioctl proxy-config listeners|routes|clusters … -o json` per section).
 */
export const MAX_STRUCTURED_BYTES = 256 * 1024 * 1024;

function tooLarge(file: string, found: string, limit: number): InputError {
  return new InputError({ file, offset: limit }, `at most ${limit} bytes (structured input is parsed whole)`, found);
}

/** Reads a whole file (or `-`, standard input) into memory, refusing more than `limit` bytes. */
export async function readWholeFile(path: string, limit = MAX_STRUCTURED_BYTES): Promise<Buffer> {
  if (path === '-') return readWholeStream(process.stdin, '<stdin>', limit);
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.isFile() && st.size > limit) throw tooLarge(path, `${st.size} bytes`, limit);
    return await readWholeStream(fh.createReadStream({ autoClose: false }), path, limit);
  } finally {
    await fh.close();
  }
}

/** Reads a stream to its end, refusing more than `limit` bytes (devices and pipes have no size to check first). */
export async function readWholeStream(stream: AsyncIterable<Buffer | string>, file: string, limit = MAX_STRUCTURED_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    total += b.length;
    if (total > limit) {
      (stream as { destroy?: () => void }).destroy?.();
      throw tooLarge(file, 'more', limit);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/** readWholeFile as UTF-8 text. */
export async function readWholeText(path: string, limit = MAX_STRUCTURED_BYTES): Promise<string> {
  return (await readWholeFile(path, limit)).toString('utf8');
}
