/** Minimal typing of the parts of hpack.js (CommonJS, untyped) that the HTTP/2 decoder uses. */
declare module 'hpack.js' {
  interface HpackHeader {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  interface Decompressor {
    write(chunk: Buffer): boolean;
    execute(cb?: (err: Error | null) => void): void;
    read(): HpackHeader | null;
    on(event: 'error', listener: (err: Error) => void): this;
    updateTableSize(size: number): void;
    _table: { protocolMaxSize: number; maxSize: number };
    _decoder: HpackDecoder;
    _execute(): void;
    push(h: HpackHeader | null): boolean;
  }
  interface HpackDecoder {
    push(chunk: Buffer): void;
    isEmpty(): boolean;
  }
  interface Compressor {
    write(headers: Array<{ name: string; value: string; neverIndex?: boolean; huffman?: boolean }>): boolean;
    read(): Buffer | null;
    updateTableSize(size: number): void;
  }
  const hpack: {
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
    decoder: { create(): HpackDecoder };
    compressor: { create(options: { table: { maxSize: number } }): Compressor };
  };
  export default hpack;
}
