/**
 * What the CLI answers without yargs or any command module, so it starts as fast as Node itself: the
 * top-level help, the completion scripts and the completion candidates (from cli/spec.ts's prebuilt spec).
 */
import { commands } from './commands/index.js';
import { GLOBAL_OPTIONS, readSpec, type CliSpec, type OptionSpec } from './spec.js';

export const TAGLINE = 'Service-mesh security forensics for Istio/Envoy sidecars, offline, from saved evidence.';

/** Exit codes and MESHSLEUTH_DEBUG, as every help text states them. */
export const EXIT_CODES = 'Exit codes: 0 success, 1 a --fail-on condition met, 2 bad usage or unreadable input, 3 internal error (MESHSLEUTH_DEBUG=1 prints its stack).';

function wrap(text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width - indent) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function twoColumns(rows: [string, string][], width: number): string {
  const left = Math.max(...rows.map(([l]) => l.length)) + 2;
  const out: string[] = [];
  for (const [l, r] of rows) {
    const body = wrap(r, width, left + 2);
    out.push(`  ${l.padEnd(left)}${body[0] ?? ''}`.trimEnd());
    for (const more of body.slice(1)) out.push(`  ${' '.repeat(left)}${more}`);
  }
  return out.join('\n');
}

/** `meshsleuth --help`: the commands from the registry and the options every command takes. */
export function topLevelHelp(columns: number | undefined): string {
  const width = Math.max(60, Math.min(120, columns || 100));
  const cmds: [string, string][] = [
    ...commands.map((c): [string, string] => [`meshsleuth ${c.command}`, c.describe]),
    ['meshsleuth help [command]', "a command's options and examples"],
    ['meshsleuth version', 'print the version'],
    ['meshsleuth completion [bash|zsh]', 'print a completion script: eval "$(meshsleuth completion bash)"'],
  ];
  const opts: [string, string][] = [
    ['-o, --output', 'table, wide, json, ndjson or yaml, as the command offers (report: --out FILE)'],
    ['-q, --quiet', 'only the error that ends a command on stderr'],
    ['-v, --verbose', 'also what was read and how long it took'],
    ['-h, --help', 'show help'],
    ['    --version', 'show the version'],
  ];
  return [
    'meshsleuth <command> [options]',
    '',
    TAGLINE,
    '',
    'Commands:',
    twoColumns(cmds, width),
    '',
    'Options (every command):',
    twoColumns(opts, width),
    '',
    ...wrap('Files may be directories, - (standard input) or gzip-compressed. A repeated option: the last one wins. NO_COLOR=1 turns colour off.', width, 0),
    ...wrap(EXIT_CODES, width, 0),
    '',
  ].join('\n');
}

export function completionScript(shell: string): string {
  if (shell === 'zsh') {
    return `#compdef meshsleuth
# meshsleuth zsh completion. Install: meshsleuth completion zsh > "\${fpath[1]}/_meshsleuth"
# (or: source <(meshsleuth completion zsh) in ~/.zshrc, after compinit)
_meshsleuth() {
  local -a reply
  reply=("\${(@f)$(meshsleuth __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  reply=("\${(@)reply:#}")
  if (( \${#reply} )); then
    compadd -- "\${reply[@]}"
  else
    _files
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then _meshsleuth "$@"; else compdef _meshsleuth meshsleuth; fi
`;
  }
  return `# meshsleuth bash completion. Install: echo 'eval "$(meshsleuth completion bash)"' >> ~/.bashrc
_meshsleuth_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  COMPREPLY=($(meshsleuth __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  if [ \${#COMPREPLY[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -o bashdefault -F _meshsleuth_complete meshsleuth
`;
}

function optionByName(options: readonly OptionSpec[], name: string): OptionSpec | undefined {
  return options.find((o) => o.names.includes(name));
}

/**
 * Completion candidates for the words after `meshsleuth` (the last one is being typed, possibly empty):
 * commands, a command's options, or an enumerated option's values. Nothing means "complete file names".
 */
export function complete(words: readonly string[], spec: CliSpec): string[] {
  const cur = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const verbIdx = before.findIndex((w) => !w.startsWith('-'));
  const top = ['help', 'version', 'completion'];
  if (verbIdx < 0) {
    if (cur.startsWith('-')) return GLOBAL_OPTIONS.flatMap((o) => o.names).filter((n) => n.startsWith(cur));
    return [...commands.map((c) => c.name), ...top].filter((n) => n.startsWith(cur));
  }
  const verb = before[verbIdx]!;
  if (verb === 'help') return verbIdx === before.length - 1 ? commands.map((c) => c.name).filter((n) => n.startsWith(cur)) : [];
  if (verb === 'completion') return verbIdx === before.length - 1 ? ['bash', 'zsh'].filter((n) => n.startsWith(cur)) : [];
  const cmd = spec.commands.find((c) => c.name === verb);
  if (!cmd) return [];
  // --opt=value
  const eq = cur.startsWith('--') ? cur.indexOf('=') : -1;
  if (eq > 0) {
    const o = optionByName(cmd.options, cur.slice(0, eq));
    return o?.values ? valueCandidates(o, cur.slice(eq + 1)).map((v) => `${cur.slice(0, eq + 1)}${v}`) : [];
  }
  const prev = before[before.length - 1];
  if (prev !== undefined && prev.startsWith('-') && before.length - 1 > verbIdx) {
    const o = optionByName(cmd.options, prev);
    if (o?.takesValue) return o.values ? valueCandidates(o, cur) : [];
  }
  if (cur.startsWith('-')) return cmd.options.flatMap((o) => o.names).filter((n) => n.startsWith(cur) && (n.startsWith('--') || cur.length <= 2));
  return [];
}

/** Values of an enumerated option matching what is typed; after a comma, the rest of a list. */
function valueCandidates(o: OptionSpec, typed: string): string[] {
  const values = o.values ?? [];
  if (o.list && typed.includes(',')) {
    const head = typed.slice(0, typed.lastIndexOf(',') + 1);
    const have = new Set(head.split(','));
    return values.filter((v) => !have.has(v) && v.startsWith(typed.slice(head.length))).map((v) => head + v);
  }
  return values.filter((v) => v.startsWith(typed));
}

/** The prebuilt spec, or (when absent or stale) one built now by loading every command. */
export async function loadSpec(): Promise<CliSpec> {
  const spec = readSpec();
  if (spec) return spec;
  return (await import('./spec.js')).buildSpec();
}
