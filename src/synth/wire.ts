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
  /** This side closed its stream (TCP FIN); `bytes` is empty. Only logged by `wirePair(log, { fins: true })`. */
  fin?: true;
  /** The application step during which the bytes were written (-1 = handshake); only with `wirePair(log, { step })`. */
  step?: number;
}

export interface WirePairOptions {
  /** Deliver to the peer on the next turn of the event loop (nghttp2 needs it), not synchronously. */
  deferred?: boolean;
  /** Log each side's end of stream as a `fin` message. */
  fins?: boolean;
  /** Tags every logged message with the current application step. */
  step?: () => number;
}

class WireEnd extends Duplex {
  peer: WireEnd | null = null;
  constructor(
    private readonly dir: Dir,
    private readonly log: WireMessage[],
    private readonly opts: WirePairOptions,
  ) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.log.push({ dir: this.dir, bytes: Buffer.from(chunk), ...this.tag() });
    this.deliver(chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    if (this.opts.fins) this.log.push({ dir: this.dir, bytes: new Uint8Array(0), fin: true, ...this.tag() });
    this.deliver(null);
    cb();
  }
  private tag(): { step?: number } {
    return this.opts.step ? { step: this.opts.step() } : {};
  }
  private deliver(chunk: Buffer | null): void {
    const peer = this.peer!;
    if (this.opts.deferred) setImmediate(() => peer.push(chunk));
    else peer.push(chunk);
  }
}

/** A connected client/server pair writing into one shared log. */
export function wirePair(log: WireMessage[], opts: WirePairOptions = {}): { client: Duplex; server: Duplex } {
  const client = new WireEnd('c2s', log, opts);
  const server = new WireEnd('s2c', log, opts);
  client.peer = server;
  server.peer = client;
  return { client, server };
}
