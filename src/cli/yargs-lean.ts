/**
 * yargs without its help renderer unless the command line asks for help.
 *
 * `import yargs from 'yargs'` loads yargs' Node platform shim (yargs/lib/platform-shims/esm.mjs), which imports
 * cliui and string-width (wrap-ansi, strip-ansi, emoji-regex, get-east-asian-width: ~60 ms of a command's
 * ~360 ms start-up on the 2-core bench machine) although yargs calls them only to render help
 * (usage.js `help()`: `shim.cliui`, `shim.stringWidth`). This builds the same yargs from its own factory
 * (build/lib/yargs-factory.js, the entry yargs' index.mjs itself calls) with a shim that is yargs' own, field
 * for field, except that cliui and string-width are left out: a call to either throws (a bug to see, never a
 * silent change of output). Every dependency is resolved from yargs' own location, so a nested install
 * (node_modules/yargs/node_modules/…) gets the versions yargs would.
 *
 * A command line that asks for help, or a yargs whose layout is not the one this expects (another major
 * version), gets the plain `import('yargs')`.
 */
import { notStrictEqual, strictEqual } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import type { Argv } from 'yargs';

/** What `yargs(argv)` is: the default export of 'yargs'. */
export type YargsFn = (args: string[]) => Argv;

export interface LoadedYargs {
  yargs: YargsFn;
  /** False when the plain import was used (yargs' layout was not the expected one). */
  lean: boolean;
}

type Module = Record<string, unknown>;

const asFn = <T>(m: Module, name: string): T => {
  const v = m[name] ?? (m.default as Module | undefined)?.[name];
  if (typeof v !== 'function') throw new Error(`yargs-lean: ${name} is not a function`);
  return v as T;
};

/** The part of yargs' internals that skipHelpCache replaces (yargs 17/18: usage.js). */
interface YargsInternals {
  getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?: () => void } };
}

/**
 * yargs renders the command's whole help text (cliui word-wrapping every option and example: ~70 ms, a
 * quarter of a command's start-up) just before it runs the handler, in case the handler later asks for
 * it (showHelp). No command does, and our `.fail` never prints help: `--help` and a usage error build it
 * when they print it, as before.
 */
export function skipHelpCache(y: unknown): boolean {
  const usage = (y as YargsInternals).getInternalMethods?.().getUsageInstance?.();
  if (!usage || typeof usage.cacheHelpMessage !== 'function') return false;
  usage.cacheHelpMessage = () => {};
  return true;
}

/** Tokens that make yargs render help: `--help`, `--help=…`, `-h`, or `h` inside a short-flag group (`-qh`). */
export function asksForHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a.startsWith('--help=') || /^-[A-Za-z]*h[A-Za-z]*$/.test(a));
}

async function leanYargs(): Promise<YargsFn> {
  // (createRequire, not import.meta.resolve: yargs' "exports" maps "." to index.mjs under every condition)
  const indexPath = createRequire(import.meta.url).resolve('yargs');
  const indexUrl = pathToFileURL(indexPath).href;
  const req = createRequire(indexPath);
  const load = (spec: string): Promise<Module> => import(pathToFileURL(req.resolve(spec)).href) as Promise<Module>;
  const own = (path: string): Promise<Module> => import(new URL(path, indexUrl).href) as Promise<Module>;
  const [factory, argvBin, parser, y18nMod, escalade, callerFile] = await Promise.all([
    own('./build/lib/yargs-factory.js'),
    own('./build/lib/utils/process-argv.js'),
    load('yargs-parser'),
    load('y18n'),
    load('escalade/sync'),
    load('get-caller-file'),
  ]);
  const YargsFactory = asFn<(shim: unknown) => YargsFn>(factory, 'YargsFactory');
  const y18n = (y18nMod.default ?? y18nMod) as (o: { directory: string; updateFiles: boolean }) => unknown;
  const getCallerFile = (callerFile.default ?? callerFile) as (depth: number) => string;
  const notLoaded = (what: string) => (): never => {
    throw new Error(`yargs-lean: yargs asked for ${what}, which is loaded only when the command line asks for help (asksForHelp)`);
  };
  const mainFilename = indexPath.substring(0, indexPath.lastIndexOf('node_modules'));
  // yargs/lib/platform-shims/esm.mjs, field for field
  const shim = {
    assert: { notStrictEqual, strictEqual },
    cliui: notLoaded('cliui (its help renderer)'),
    findUp: escalade.default ?? escalade,
    getEnv: (key: string) => process.env[key],
    inspect,
    getProcessArgvBin: asFn<() => string>(argvBin, 'getProcessArgvBin'),
    mainFilename: mainFilename || process.cwd(),
    Parser: parser.default,
    path: { basename, dirname, extname, relative, resolve, join },
    process: {
      argv: () => process.argv,
      cwd: process.cwd,
      emitWarning: (warning: string | Error, type?: string) => process.emitWarning(warning, type),
      execPath: () => process.execPath,
      exit: (code?: number) => process.exit(code),
      nextTick: process.nextTick,
      stdColumns: typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null,
    },
    readFileSync,
    readdirSync,
    require: req,
    getCallerFile: () => {
      const f = getCallerFile(3);
      return f.match(/^file:\/\//) ? fileURLToPath(f) : f;
    },
    stringWidth: notLoaded('string-width (its help renderer)'),
    y18n: y18n({ directory: resolve(dirname(indexPath), 'locales'), updateFiles: false }),
  };
  const make = YargsFactory(shim);
  if (!skipHelpCache(make([]))) throw new Error('yargs-lean: no usage.cacheHelpMessage to replace');
  // without skipHelpCache yargs would render (and so need cliui) before every command's handler
  return (args) => {
    const y = make(args);
    skipHelpCache(y);
    return y;
  };
}

/** yargs for one command line: lean unless it asks for help (or yargs' layout is unexpected). */
export async function loadYargs(argv: readonly string[]): Promise<LoadedYargs> {
  try {
    if (!asksForHelp(argv)) return { yargs: await leanYargs(), lean: true };
  } catch {
    // another yargs layout: the plain import below
  }
  const m = await import('yargs');
  return { yargs: m.default as unknown as YargsFn, lean: false };
}
