/**
 * A JSON document whose last member is a long array, printed exactly as `JSON.stringify(doc, null, 2)`
 * prints it, without holding the array: `explain -o json` learns its summary (printed first) only after
 * the last record. The array's items are kept as text in memory up to a budget, then in a temporary file
 * (mode 0600, in the OS temporary directory, removed when done), and copied to the output after the
 * members before it. Memory stays flat in the number of items; the disk holds the array's text.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonValue } from '../model/attrs.js';

/** Item text kept in memory before it goes to the temporary file (UTF-16 code units). */
const MEMORY_BUDGET = 8 * 1024 * 1024;

/** How `JSON.stringify([items], null, 2)` opens and closes around the items. */
const NESTED_HEAD = '[\n  [\n';
const NESTED_TAIL = '\n  ]\n]';

export class JsonArraySpill {
  private text: string[] = [];
  private textLength = 0;
  private file: { dir: string; fh: FileHandle } | null = null;
  private items = 0;

  constructor(private readonly budget = MEMORY_BUDGET) {}

  get count(): number {
    return this.items;
  }

  /** Whether the items went to a temporary file. */
  get spilled(): boolean {
    return this.file !== null;
  }

  /** Adds items (each printed as an element of the array, two levels deep). */
  async add(values: readonly JsonValue[]): Promise<void> {
    if (values.length === 0) return;
    // the items as JSON.stringify prints them two levels deep, in one call for the batch: its two brackets cut off
    const whole = JSON.stringify([values], null, 2);
    const t = (this.items === 0 ? '' : ',\n') + whole.slice(NESTED_HEAD.length, whole.length - NESTED_TAIL.length);
    this.items += values.length;
    this.text.push(t);
    this.textLength += t.length;
    if (this.textLength > this.budget) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.text.length === 0) return;
    if (!this.file) {
      const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-json-'));
      this.file = { dir, fh: await open(join(dir, 'items.json'), 'wx+', 0o600) };
    }
    let all = '';
    for (const t of this.text) all += t;
    // encoded here: writing the string itself took about 3x as long
    await this.file.fh.write(Buffer.from(all, 'utf8'));
    this.text = [];
    this.textLength = 0;
  }

  /**
   * Writes `doc` with the items as its last member `key` (doc must not have `key`), through `write`
   * (called with whole lines), exactly as JSON.stringify({...doc, [key]: items}, null, 2) would print it.
   */
  async writeDocument(doc: Record<string, JsonValue>, key: string, write: (text: string) => Promise<void>): Promise<void> {
    const head = JSON.stringify({ ...doc, [key]: [] }, null, 2);
    // `"key": []\n}` ends the empty document: the items go between the brackets
    if (this.items === 0) {
      await write(head + '\n');
      return;
    }
    const open = head.slice(0, head.length - '[]\n}'.length);
    await write(`${open}[\n`);
    if (this.file) {
      await this.flush();
      const fh = this.file.fh;
      // whole lines are decoded and written; the bytes after the last line break wait for the next read at the
      // start of the buffer (a 0x0a byte is always a line break in UTF-8, never part of a character)
      let buf = Buffer.allocUnsafe(1 << 20);
      let kept = 0;
      for (let pos = 0; ;) {
        if (kept === buf.length) {
          // a line longer than the buffer: a larger one
          const more = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(more, 0, 0, kept);
          buf = more;
        }
        const { bytesRead } = await fh.read(buf, kept, buf.length - kept, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        const end = kept + bytesRead;
        const nl = buf.lastIndexOf(10, end - 1);
        if (nl < 0) kept = end;
        else {
          await write(buf.toString('utf8', 0, nl + 1));
          kept = end - nl - 1;
          buf.copy(buf, 0, nl + 1, end);
        }
      }
      await write(buf.toString('utf8', 0, kept) + '\n  ]\n}\n');
    } else await write(this.text.join('') + '\n  ]\n}\n');
  }

  /** Removes the temporary file (always call, also after an error). */
  async dispose(): Promise<void> {
    const f = this.file;
    this.file = null;
    this.text = [];
    if (!f) return;
    await f.fh.close().catch(() => undefined);
    rmSync(f.dir, { recursive: true, force: true });
  }
}
