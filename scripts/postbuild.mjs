// After tsc: make the CLI entry executable (npm links it as the `meshsleuth` bin) and write the options
// spec shell completion reads without loading every command (src/cli/spec.ts).
import { chmodSync, existsSync } from 'node:fs';
const bin = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
const spec = new URL('../dist/src/cli/spec.js', import.meta.url);
if (existsSync(spec)) await (await import(spec.href)).writeSpec();
