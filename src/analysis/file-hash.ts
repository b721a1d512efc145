/**
 * sha256 of evidence files for the report's chain-of-custody manifest, computed from the bytes a reader
 * pulls as it parses (captures and logs may be many GB: one read instead of two), on whichever thread
 * reads the file (a capture read in a worker thread is hashed there: src/cli/worker.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { captureFile, type CaptureSource } from '../readers/capture/index.js';

/** Streams a file through sha256. */
export function sha256File(path: string): Promise<string> {
  return new FileHash(path).digest();
}

/**
 * The sha256 of a file, computed from the bytes a reader pulls through it as it parses (captures and logs
 * may be many GB: one read instead of two). Whatever the reader left unread (it stopped at damage) is
 * hashed by `digest()`, so the manifest always covers the whole file.
 */
export class FileHash {
  private readonly h = createHash('sha256');
  private bytes = 0;
  /** Hears the bytes hashed so far (progress). */
  onBytes: ((bytes: number) => void) | null = null;
  constructor(private readonly path: string) {}

  update(b: Uint8Array): void {
    this.h.update(b);
    this.bytes += b.length;
    this.onBytes?.(this.bytes);
  }

  async digest(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      const rest = createReadStream(this.path, { start: this.bytes });
      rest.on('data', (d) => this.update(d as Buffer));
      rest.on('error', reject);
      rest.on('end', () => resolve());
    });
    return this.h.digest('hex');
  }

  /** A capture source that hashes the bytes as the capture reader reads them (sequentially from 0). */
  capture(): CaptureSource {
    const src = captureFile(this.path);
    return {
      name: src.name,
      open: () => {
        const inner = src.open();
        if (!('readInto' in inner)) return inner;
        return {
          readInto: async (buf: Buffer, offset: number, length: number): Promise<number> => {
            const n = await inner.readInto(buf, offset, length);
            this.update(buf.subarray(offset, offset + n));
            return n;
          },
          close: () => inner.close?.() ?? Promise.resolve(),
        };
      },
    };
  }

  /** The file as a stream for the log reader, hashed as it is read. */
  stream(): NodeJS.ReadableStream & Transform {
    const tap = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.update(chunk);
        cb(null, chunk);
      },
    });
    const file = createReadStream(this.path);
    file.on('error', (e) => tap.destroy(e));
    return file.pipe(tap);
  }
}

