/**
 * `npm run bench`: runs every dist/bench/*.bench.js module in turn. Each area owns one module
 * (config dumps, RBAC decisions, captures, access logs) exporting `default: () => Promise<void>`
 * that prints its own figures. `npm run bench -- <name>` runs only the modules whose file name
 * contains <name>.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const modules = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

for (const file of modules) {
  process.stdout.write(`\n== ${file.replace(/\.bench\.js$/, '')}\n`);
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: () => Promise<void> };
  await mod.default();
}
