/**
 * Compressed captures read transparently, decided by content (never by file name): gzip
 * (`.pcap.gz`, `.pcapng.gz`: RFC 1952, several members allowed, via Node's zlib) and Zstandard
 * (`.zst`: RFC 8878 frames, via the pure-JavaScript `fzstd` decoder; Node 20 has no zstd). The
 * decompressed bytes stream through in chunks: memory does not grow with the file.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../../model/errors.js';

export type Compression = 'gzip' | 'zstd';

/** The compression a file's first bytes announce, or null. */
export function sniffCompression(head: Uint8Array): Compression | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return null;
}

/**
 * Whether an error says compressed data does not decompress (damaged or cut short), as `decompress`
 * reports it; still true after a worker thread passed the error on as data (serializeError).
 */
export function isDamagedCompression(e: unknown): e is InputError {
  return e instanceof InputError && /^(gzip|Zstandard)-compressed /.test(e.expected) && (e.found ?? '').startsWith('a damaged or cut-short ');
}

/** Decompressed chunks of a compressed byte stream; corrupt or cut input is an InputError naming the file. */
export async function* decompress(kind: Compression, raw: AsyncIterable<Uint8Array>, file: string, what = 'capture data'): AsyncGenerator<Uint8Array> {
  let consumed = 0;
  const counted = (async function* () {
    for await (const c of raw) {
      consumed += c.length;
      yield c;
    }
  })();
  const fail = (err: unknown): never => {
    const msg = err instanceof Error ? err.message : String(err);
    throw new InputError({ file, offset: consumed }, `${kind === 'gzip' ? 'gzip' : 'Zstandard'}-compressed ${what}`, `a damaged or cut-short ${kind} stream (${msg})`);
  };
  if (kind === 'gzip') {
    const gunzip = Readable.from(counted).pipe(createGunzip());
    try {
      for await (const c of gunzip) yield c as Buffer;
    } catch (err) {
      fail(err);
    }
    return;
  }
  // (loaded on first use: most inputs are not Zstandard)
  const { Decompress } = await import('fzstd');
  const out: Uint8Array[] = [];
  const z = new Decompress((chunk) => {
    out.push(chunk);
  });
  let ended = false;
  try {
    for await (const c of counted) {
      z.push(c);
      while (out.length) yield out.shift()!;
    }
    z.push(new Uint8Array(0), true);
    ended = true;
  } catch (err) {
    if (!ended) fail(err);
  }
  while (out.length) yield out.shift()!;
}
