/** A JSON document with a long last array, printed without holding the array, is JSON.stringify's text. */
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/model/attrs.js';
import { JsonArraySpill } from '../../src/report/json-spill.js';

async function print(doc: Record<string, JsonValue>, key: string, items: JsonValue[], budget: number, batch = 3): Promise<{ text: string; spilled: boolean; writes: string[] }> {
  const spill = new JsonArraySpill(budget);
  const writes: string[] = [];
  try {
    for (let i = 0; i < items.length; i += batch) await spill.add(items.slice(i, i + batch));
    const spilled = spill.spilled;
    await spill.writeDocument(doc, key, async (t) => void writes.push(t));
    return { text: writes.join(''), spilled, writes };
  } finally {
    await spill.dispose();
  }
}

describe('JsonArraySpill', () => {
  const doc = { summary: { records: 3, line: 'x' }, groups: [{ a: 1 }, { b: [] }] };
  const items: JsonValue[] = [
    { ref: 'a:1', nested: { deep: [1, 2, { x: null }] }, empty: {}, list: [] },
    'a string with "quotes" and \\n escapes',
    // multi-byte characters, and an item longer than the file read buffer (1 MiB)
    { text: '€'.repeat(700_000), ok: true },
    42,
    [],
  ];

  it('prints what JSON.stringify(doc, null, 2) prints, the items kept in memory', async () => {
    const r = await print(doc, 'records', items, Infinity);
    expect(r.spilled).toBe(false);
    expect(r.text).toBe(JSON.stringify({ ...doc, records: items }, null, 2) + '\n');
  });

  it('the same when the items went through a temporary file, written out in whole lines', async () => {
    const r = await print(doc, 'records', items, 10);
    expect(r.spilled).toBe(true);
    expect(r.text).toBe(JSON.stringify({ ...doc, records: items }, null, 2) + '\n');
    for (const w of r.writes) expect(w.endsWith('\n') || w === r.writes[r.writes.length - 1]).toBe(true);
  });

  it('an empty array, and a document with nothing before the array', async () => {
    expect((await print(doc, 'changes', [], 10)).text).toBe(JSON.stringify({ ...doc, changes: [] }, null, 2) + '\n');
    expect((await print({}, 'records', [1, 'two'], 1)).text).toBe(JSON.stringify({ records: [1, 'two'] }, null, 2) + '\n');
  });
});
