import type { WireMessage } from '../../src/synth/wire.js';

/**
 * The writes of each direction from its first one that begins an application-data record (0x17) at a
 * record boundary. Node may split a record across writes, so a write that merely starts with byte 0x17
 * can be the middle of a record: boundaries are found by walking the record lengths.
 */
export function fromFirstApplicationRecord(messages: WireMessage[]): WireMessage[] {
  const start = new Map<string, number>();
  for (const dir of ['c2s', 's2c'] as const) {
    let offset = 0;
    let nextRecord = 0;
    const stream = Buffer.concat(messages.filter((m) => m.dir === dir).map((m) => m.bytes));
    messages.forEach((m, i) => {
      if (m.dir !== dir) return;
      while (nextRecord < offset) nextRecord += 5 + stream.readUInt16BE(nextRecord + 3);
      if (!start.has(dir) && nextRecord === offset && m.bytes[0] === 23) start.set(dir, i);
      offset += m.bytes.length;
    });
  }
  return messages.filter((m, i) => start.has(m.dir) && i >= start.get(m.dir)!);
}
