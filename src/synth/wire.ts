/**
 * An in-memory connection for recording real protocol sessions (Node's tls and http2 modules): two
 * Duplex ends, each writing into its peer and logging the exact bytes, in order, with their direction.
 */
import { Duplex } from 'node:stream';
import type { Dir } from './tcp.js';

/** One write on the wire: which side sent it and the exact bytes. */
export interface WireMessage {
  dir: Dir;
  bytes: Uint8Array;
}

class WireEnd extends Duplex {
  peer: WireEnd | null = null;
  constructor(
    private readonly dir: Dir,
    private readonly log: WireMessage[],
    /** Deliver to the peer on the next turn of the event loop (nghttp2 needs it), not synchronously. */
    private readonly deferred: boolean,
  ) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.log.push({ dir: this.dir, bytes: Buffer.from(chunk) });
    this.deliver(chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.deliver(null);
    cb();
  }
  private deliver(chunk: Buffer | null): void {
    const peer = this.peer!;
    if (this.deferred) setImmediate(() => peer.push(chunk));
    else peer.push(chunk);
  }
}

/** A connected client/server pair writing into one shared log. */
export function wirePair(log: WireMessage[], opts: { deferred?: boolean } = {}): { client: Duplex; server: Duplex } {
  const client = new WireEnd('c2s', log, opts.deferred ?? false);
  const server = new WireEnd('s2c', log, opts.deferred ?? false);
  client.peer = server;
  server.peer = client;
  return { client, server };
}
