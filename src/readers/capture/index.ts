/**
 * Capture reader: file or stdin → frames (pcap/pcapng) → TCP segments, as async iterables of
 * batches, in bounded memory. See frames.ts (file formats), decode.ts (link/IP/TCP headers) and
 * tcp.ts (connection tracking and reassembly).
 */
import { open as openFile } from 'node:fs/promises';
import type { Diagnostic } from '../../model/errors.js';
import { createDecoder, type DecodeStats, type TcpSegment, LINKTYPE_NAMES, SUPPORTED_LINKTYPES } from './decode.js';
import { UdpTable } from './udp.js';
import { decompress, sniffCompression } from './compressed.js';
import { newFrameReaderState, readFrames, type ByteInput, type FrameReaderState, type RawFrame } from './frames.js';

export * from './frames.js';
export * from './decode.js';
export * from './tcp.js';
export * from './udp.js';
export * from './compressed.js';

/** Where capture bytes come from. `open()` may be called once. */
export interface CaptureSource {
  /** Name for messages and Flow.file ("-" for stdin). */
  name: string;
  open(): ByteInput;
}

/**
 * A capture file (read straight into the reader's buffer), or standard input when `path` is `-`.
 * gzip and Zstandard compression are recognised by their first bytes and decompressed on the fly.
 * `onFileBytes` hears the bytes read from the file so far (of a compressed file, the compressed bytes:
 * progress against the file's size). `onFileData` hears those bytes themselves, in file order (a hash of
 * the file as it is read: src/analysis/file-hash.ts).
 */
export function captureFile(path: string, onFileBytes?: (bytes: number) => void, onFileData?: (bytes: Uint8Array) => void): CaptureSource {
  if (path === '-') return { name: '-', open: () => maybeDecompressed(process.stdin, '-') };
  let fileBytes = 0;
  const counted = (n: number, data: Uint8Array): number => {
    if (n > 0) {
      onFileData?.(data.subarray(0, n));
      if (onFileBytes) onFileBytes((fileBytes += n));
    }
    return n;
  };
  return {
    name: path,
    open: () => {
      let fh: Awaited<ReturnType<typeof openFile>> | null = null;
      let closed = false;
      /** Set once the first bytes showed a compressed file: decompressed chunks from here on. */
      let inflated: AsyncIterator<Uint8Array> | null = null;
      let pending: Uint8Array | null = null;
      let sniffed = false;
      const rawChunks = async function* (first: Uint8Array): AsyncGenerator<Uint8Array> {
        yield first;
        for (;;) {
          const b = Buffer.allocUnsafe(1 << 20);
          const { bytesRead } = await fh!.read(b, 0, b.length, null);
          if (bytesRead === 0) return;
          counted(bytesRead, b);
          yield b.subarray(0, bytesRead);
        }
      };
      return {
        async readInto(buf: Buffer, offset: number, length: number): Promise<number> {
          if (closed) return 0;
          fh ??= await openFile(path, 'r');
          if (!sniffed) {
            sniffed = true;
            // position null: read on from the current position, which also works for FIFOs
            // (`<(tcpdump -w - ...)`, /dev/stdin) where positional reads fail
            const { bytesRead } = await fh.read(buf, offset, length, null);
            counted(bytesRead, buf.subarray(offset));
            const kind = sniffCompression(buf.subarray(offset, offset + bytesRead));
            if (!kind) return finish(bytesRead);
            inflated = decompress(kind, rawChunks(Buffer.from(buf.subarray(offset, offset + bytesRead))), path)[Symbol.asyncIterator]();
          }
          if (inflated) {
            while (!pending || pending.length === 0) {
              const r = await inflated.next();
              if (r.done) return finish(0);
              pending = r.value;
            }
            const n = Math.min(length, pending.length);
            buf.set(pending.subarray(0, n), offset);
            pending = pending.subarray(n);
            return n;
          }
          const { bytesRead } = await fh.read(buf, offset, length, null);
          return finish(counted(bytesRead, buf.subarray(offset)));
        },
        async close(): Promise<void> {
          if (inflated?.return) await inflated.return(undefined);
          if (fh && !closed) await fh.close();
          closed = true;
        },
      };
      async function finish(n: number): Promise<number> {
        if (n === 0 && !closed) {
          closed = true;
          await fh!.close();
        }
        return n;
      }
    },
  };
}

/** A byte stream, decompressed when its first bytes say gzip or Zstandard. */
export async function* maybeDecompressed(src: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    head = Buffer.concat([head, r.value]);
  }
  const rest = (async function* () {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  })();
  const kind = sniffCompression(head);
  yield* kind ? decompress(kind, rest, name) : rest;
}

/** An in-memory capture (tests, generated data), delivered in chunks of `chunk` bytes. */
export function captureBuffer(name: string, bytes: Uint8Array, chunk = 1 << 20): CaptureSource {
  return {
    name,
    async *open() {
      for (let o = 0; o < bytes.length; o += chunk) yield bytes.subarray(o, Math.min(bytes.length, o + chunk));
    },
  };
}

export interface CaptureStats {
  file: string;
  reader: FrameReaderState;
  decode: DecodeStats;
  /** UDP conversations (datagrams that are not tunnels). */
  udp: UdpTable;
  /** TCP connections handed over unfinished to bound memory (see TcpTable), filled by flowsFromCapture. */
  tcp: { evictedIdle: number; evictedOverCap: number };
}

export interface ReadCaptureOptions {
  onDiagnostic?: (d: Diagnostic) => void;
}

/** Every frame of a capture (flattened), for tools and tests. */
export async function* readCaptureFrames(src: CaptureSource, opts: ReadCaptureOptions = {}, state: FrameReaderState = newFrameReaderState()): AsyncGenerator<RawFrame> {
  for await (const batch of readFrames(src.open(), { name: src.name, ...(opts.onDiagnostic ? { onDiagnostic: opts.onDiagnostic } : {}) }, state)) {
    yield* batch;
  }
}

/**
 * Batches of TCP segments. Frames that are not TCP over IPv4/IPv6 are counted in `stats.decode`
 * (UDP datagrams also go to `stats.udp` as conversations);
 * an unsupported link type is reported once (warning with the first frame number).
 * Segment payloads are views valid until the next batch.
 */
export async function* readTcpSegments(src: CaptureSource, opts: ReadCaptureOptions = {}, stats?: CaptureStats): AsyncGenerator<TcpSegment[]> {
  const reader = stats?.reader ?? newFrameReaderState();
  const dec = createDecoder({ udp: stats?.udp ?? new UdpTable() });
  if (stats) stats.decode = dec.stats;
  const onDiag = opts.onDiagnostic;
  const reported = new Set<number>();
  for await (const batch of readFrames(src.open(), { name: src.name, ...(onDiag ? { onDiagnostic: onDiag } : {}) }, reader)) {
    const out: TcpSegment[] = [];
    for (let i = 0; i < batch.length; i++) {
      const s = dec.decode(batch[i]!);
      if (s) out.push(s);
    }
    if (dec.stats.unsupportedLinkTypes.size > reported.size) {
      for (const [lt, frame] of dec.stats.unsupportedLinkTypes) {
        if (reported.has(lt)) continue;
        reported.add(lt);
        const d: Diagnostic = {
          severity: 'warning',
          location: { file: src.name, frame },
          message: `unsupported link type ${lt}${LINKTYPE_NAMES[lt] ? ` (${LINKTYPE_NAMES[lt]})` : ''}: frames with it are skipped (supported: ${SUPPORTED_LINKTYPES})`,
        };
        reader.diagnostics.push(d);
        onDiag?.(d);
      }
    }
    if (out.length) yield out;
  }
  dec.frags.flush(dec.stats);
}

export function newCaptureStats(file: string): CaptureStats {
  return { file, reader: newFrameReaderState(), decode: createDecoder().stats, udp: new UdpTable(), tcp: { evictedIdle: 0, evictedOverCap: 0 } };
}
