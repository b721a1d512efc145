/**
 * Opening inputs the same way everywhere: a file, `-` (standard input), and gzip or Zstandard compression
 * decided by content (`dump.json.gz`, `access.log.gz`, `pods.yaml.zst` read as their plain forms).
 *
 * Whole-file reads for structured inputs (config dumps, manifests, inventories, request files), bounded: JSON
 * and YAML are parsed in one piece, so their size is capped rather than letting `/dev/zero`, a FIFO or a
 * multi-GB file grow memory until the process dies. Logs and captures stream and have no such limit.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { InputError } from '../model/errors.js';
import { decompress, sniffCompression } from './capture/compressed.js';

/** The bytes of a file or of `-` (standard input), decompressed when they start gzip or Zstandard. */
export async function* inputBytes(path: string, what = 'data'): AsyncGenerator<Buffer> {
  const src: AsyncIterable<Buffer> = path === '-' ? process.stdin : createReadStream(path);
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  // enough bytes to see a magic number (a pipe may deliver fewer in its first chunk)
  while (head.length < 4) {
    const n = await it.next();
    if (n.done) break;
    head = Buffer.concat([head, n.value]);
  }
  const rest = (async function* () {
    try {
      if (head.length) yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    } finally {
      await it.return?.(); // closes the file when the reader stops early
    }
  })();
  const kind = sniffCompression(head);
  if (!kind) return yield* rest;
  for await (const c of decompress(kind, rest, path === '-' ? '<stdin>' : path, what)) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/** Whether a file starts as gzip or Zstandard data (its first 4 bytes). */
async function isCompressedFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return sniffCompression(b.subarray(0, (await fh.read(b, 0, 4, 0)).bytesRead)) !== null;
  } finally {
    await fh.close();
  }
}

/**
 * A readable stream of a file's (or standard input's) bytes, decompressed when compressed. A plain file is
 * the file's own read stream, exactly as before compression was recognised.
 */
export async function openInputStream(path: string, what = 'data'): Promise<Readable> {
  if (path !== '-') {
    if (!(await isCompressedFile(path))) return createReadStream(path);
  }
  return Readable.from(inputBytes(path, what), { objectMode: false });
}

/**
 * Decompressed text that ends at damage instead of failing: the bytes up to the last complete line before
 * the point where decompression broke, then a normal end; `damage()` then gives the error (file and
 * compressed offset), null when the data was whole. A reader thus keeps every record before the damage
 * (a stream that fails drops what it had buffered) and never sees a line cut by it.
 */
export function linesUpToDamage(src: AsyncIterable<Uint8Array>): { stream: Readable; damage: () => InputError | null } {
  let damage: InputError | null = null;
  const gen = (async function* () {
    let tail: Buffer | null = null;
    try {
      for await (const c of src) {
        const b: Buffer = tail ? Buffer.concat([tail, c]) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        const nl = b.lastIndexOf(10);
        tail = nl < 0 ? b : b.subarray(nl + 1);
        if (nl >= 0) yield b.subarray(0, nl + 1);
      }
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      damage = e;
      return;
    }
    if (tail?.length) yield tail;
  })();
  return { stream: Readable.from(gen, { objectMode: false }), damage: () => damage };
}

/**
 * A text input (an access log) as a stream: a plain file as its own read stream; a compressed one (or `-`)
 * decompressed, ending at damage (linesUpToDamage): check `damage()` after reading.
 */
export async function openTextInput(path: string, what = 'data'): Promise<{ stream: Readable; damage: () => InputError | null }> {
  if (path !== '-') {
    if (!(await isCompressedFile(path))) return { stream: createReadStream(path), damage: () => null };
  }
  return linesUpToDamage(inputBytes(path, what));
}

/**
 * Largest structured input read whole (bytes). Parsing JSON costs several times its size in memory and V8's
 * longest string is about 512 MiB, so past this a dump is refused with exit 2 (split it, e.g. with
 * `istioctl proxy-config listeners|routes|clusters … -o json` per section).
 */
export const MAX_STRUCTURED_BYTES = 256 * 1024 * 1024;

function tooLarge(file: string, found: string, limit: number): InputError {
  return new InputError({ file, offset: limit }, `at most ${limit} bytes (structured input is parsed whole)`, found);
}

/**
 * Reads a whole file (or `-`, standard input) into memory, refusing more than `limit` bytes (after
 * decompression, for a gzip or Zstandard file).
 */
export async function readWholeFile(path: string, limit = MAX_STRUCTURED_BYTES): Promise<Buffer> {
  if (path === '-') return readWholeStream(inputBytes('-', 'structured data'), '<stdin>', limit);
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.isFile() && st.size > limit) throw tooLarge(path, `${st.size} bytes`, limit);
  } finally {
    await fh.close();
  }
  return readWholeStream(inputBytes(path, 'structured data'), path, limit);
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
