/**
 * `meshsleuth report <evidence...>`: the incident report over config dumps, access logs, captures,
 * inventories and Istio policies (kinds detected by content; directories recursed).
 * Output by the `-o` file's extension (.html, .json, .sarif), or a table on stdout by default.
 */
import { mkdtemp, realpath, stat, writeFile } from 'node:fs/promises';
import { createWriteStream, rmSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Argv, CommandModule } from 'yargs';
import { startProgress } from '../progress.js';
import { ReportProgress } from '../report-progress.js';
import { threadSetting, threadsOption } from '../parallel.js';
import { captureWorkers, logWorkers } from '../report-workers.js';
import { EXIT_FAIL_ON, EXIT_USAGE, parseFailOn, replayBatchesWithoutPretenuring, runCommand, safeOutput, UsageError, warn, writeOut, asList, asListOf, suggestValues } from '../common.js';
import { fillElidedFields, gatherEvidence } from '../../analysis/evidence.js';
import { unfinishedLine } from '../../analysis/capture-events.js';
import { DecryptionCounts, decryptionLine, loadKeyLog } from '../keylog.js';
import type { ReportModel } from '../../analysis/report-model.js';
import { buildReportStreaming } from '../../analysis/report-stream.js';
import { RecordSpill, SpillError, DEFAULT_MAX_RECORDS } from '../../analysis/record-spill.js';
import { DEFAULT_SKEW_MS } from '../../analysis/correlate.js';
import { FAIL_ON, failOnHits } from '../../analysis/findings.js';
import { renderHtml } from '../../report/html.js';
import { renderSarif } from '../../report/sarif.js';
import { renderReportJson } from '../../report/report-json.js';
import { renderReportTable } from '../../report/report-table.js';
import { parseConfigDump } from '../../readers/configdump/index.js';
import { parseTimeWindow } from '../time-window.js';
import type { ConfigDump } from '../../envoy/model.js';
import { policiesToConfigDump, policyInputOptions, type PolicyInputFlags } from '../policy-input.js';

interface ReportArgs extends PolicyInputFlags {
  evidence: string[];
  output?: string;
  out?: string;
  'fail-on'?: string[];
  skew: string;
  'show-secrets': boolean;
  since?: string;
  until?: string;
  keylog?: string[];
  threads?: string;
}

export type ReportFormat = 'html' | 'json' | 'sarif' | 'table';

const STDOUT_FORMATS: readonly ReportFormat[] = ['table', 'json', 'html', 'sarif'];

/** The report format a file name announces (.html/.htm, .sarif/.sarif.json, .json), or null. */
export function formatOfFile(path: string): Exclude<ReportFormat, 'table'> | null {
  const lower = path.toLowerCase();
  if (lower.endsWith('.html') || lower.endsWith('.htm')) return 'html';
  if (lower.endsWith('.sarif') || lower.endsWith('.sarif.json')) return 'sarif';
  if (lower.endsWith('.json')) return 'json';
  return null;
}

/**
 * `-o FORMAT` and `--out FILE` → format and destination (a file, or stdout). With `--out` the format comes
 * from the file's extension unless `-o` names one. `-o FILE` (the option's meaning before `--out` existed)
 * still writes the file, flagged `deprecated` so the command can say so.
 */
export function outputTarget(o: string | undefined, out?: string): { format: ReportFormat; file: string | null; deprecated?: true } {
  if (out !== undefined) {
    if (o !== undefined && !STDOUT_FORMATS.includes(o as ReportFormat)) throw new UsageError(`-o ${o}: expected one of ${STDOUT_FORMATS.join(', ')} (the file goes to --out)`);
    const format = (o as ReportFormat | undefined) ?? formatOfFile(out);
    if (format === null) throw new UsageError(`--out ${out}: expected a file ending in .html, .json or .sarif (or name the format with -o html|json|sarif)`);
    if (format === 'table') throw new UsageError('-o table: the table goes to stdout; --out takes html, json or sarif');
    return { format, file: out };
  }
  if (o === undefined || o === '' || o === 'table' || o === 'wide') return { format: 'table', file: null };
  if (STDOUT_FORMATS.includes(o as ReportFormat)) return { format: o as ReportFormat, file: null };
  const format = formatOfFile(o);
  if (format) return { format, file: o, deprecated: true };
  throw new UsageError(`-o ${o}: expected one of ${STDOUT_FORMATS.join(', ')} (or --out FILE ending in .html, .json or .sarif)`);
}

/** `2s`, `500ms`, `1.5s`, `1m`, or a bare number of seconds → milliseconds. */
export function parseSkew(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--skew: expected a duration like 2s, 500ms or 1m, found '${v}'`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000);
}

/**
 * `-` (standard input) as evidence: its kind is detected by content and it may be read more than once,
 * so it is streamed to a private temporary file first (removed when the process ends).
 */
async function spoolStdin(paths: string[]): Promise<string[]> {
  if (!paths.includes('-')) return paths;
  if (paths.filter((p) => p === '-').length > 1) throw new UsageError('- (standard input) can be given once');
  const dir = await mkdtemp(join(tmpdir(), 'meshsleuth-stdin-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'stdin');
  await pipeline(process.stdin, createWriteStream(file, { mode: 0o600 }));
  return paths.map((p) => (p === '-' ? file : p));
}

/**
 * Chain of custody: the report must never overwrite what it reports on. Refuses an output path that is one of
 * the inputs (same file, also through a link) or an existing file inside an input directory.
 */
async function refuseOverwritingEvidence(out: string, inputs: string[]): Promise<void> {
  const located = async (p: string): Promise<{ st: Stats; real: string } | null> => {
    try {
      return { st: await stat(p), real: await realpath(p) };
    } catch {
      return null; // a new output file cannot be evidence; a missing input is reported when the evidence is read
    }
  };
  const o = await located(out);
  if (!o) return;
  for (const p of inputs) {
    const i = p === '-' ? null : await located(p);
    if (!i) continue;
    const same = i.st.dev === o.st.dev && i.st.ino === o.st.ino;
    const inside = i.st.isDirectory() && o.real.startsWith(i.real.endsWith(sep) ? i.real : i.real + sep);
    if (same || inside) throw new UsageError(`--out ${out} ${same ? 'is' : 'is inside'} the evidence ${p}: refusing to overwrite it (write the report elsewhere)`);
  }
}

export function renderReport(model: ReportModel, format: ReportFormat): string {
  switch (format) {
    case 'html':
      return renderHtml(model);
    case 'json':
      return renderReportJson(model);
    case 'sarif':
      return renderSarif(model);
    default:
      return renderReportTable(model);
  }
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  builder: (y: Argv) =>
    policyInputOptions(y)
      .positional('evidence', { type: 'string', array: true, demandOption: true, describe: 'files or directories (recursed)' })
      .option('output', { alias: 'o', type: 'string', coerce: suggestValues(STDOUT_FORMATS), describe: 'format: table (default), json, html or sarif (to stdout, or to --out)' })
      .option('out', { type: 'string', describe: 'write the report to this file, its format from the extension: .html, .json, .sarif' })
      .option('fail-on', { type: 'string', coerce: asListOf(Object.keys(FAIL_ON)), describe: `exit 1 when a finding of these kinds exists: ${Object.keys(FAIL_ON).join(',')}` })
      .option('skew', { type: 'string', default: `${DEFAULT_SKEW_MS / 1000}s`, describe: 'clock-skew window tolerated between captures and logs (e.g. 2s, 500ms)' })
      .option('show-secrets', { type: 'boolean', default: false, describe: 'show Authorization/Cookie/token values instead of redacting them' })
      .option('since', { type: 'string', describe: 'only evidence at or after this time: RFC 3339 (2026-11-22T10:00:00Z) or a duration before now (2h, 30m, 1d)' })
      .option('until', { type: 'string', describe: 'only evidence at or before this time (same forms as --since)' })
      .option('threads', { ...threadsOption.spec, describe: `${threadsOption.spec.describe}; report gives each access log (parsed, filtered by --since/--until, sorted into runs on disk) and each capture to a worker` })
      .option('keylog', { type: 'string', coerce: asList, describe: 'NSS key log file(s) (SSLKEYLOGFILE, Envoy key_log): decrypt the captures\' TLS 1.2/1.3 sessions (proven mTLS identities, HTTP inside)' })
      .example('$0 report samples/bank-breach', 'findings table on stdout')
      .example('$0 report evidence/ --out incident.html', 'self-contained HTML report')
      .example('$0 report evidence/ --out results.sarif --fail-on plaintext,identity', 'SARIF for CI; exit 1 on plaintext or stolen identity')
      .example('$0 report logs/ captures/ --since 2h', 'only the last two hours of logs and captures (read once, filtered while reading)')
      .example('$0 report logs/ captures/ --policies proposed.yaml --workload foo/httpbin --inventory pods.json', 'replay the evidence against policy manifests instead of a dump') as unknown as Argv<ReportArgs>,
  handler: (args) =>
    runCommand(async () => {
      // The passes read records back in batches: without this V8 allocates them in the old space (issue 17, memory flat in records).
      replayBatchesWithoutPretenuring();
      const target = outputTarget(args.output, args.out);
      if (target.deprecated) warn(`-o ${args.output}: writing a file with -o is deprecated; use --out ${args.output}`);
      const failOn = parseFailOn(args['fail-on'], Object.keys(FAIL_ON));
      const skewMs = parseSkew(args.skew);
      const window = parseTimeWindow(args.since, args.until, Date.now());
      // --policies: the manifests, compiled for the workload, stand in for its config dump; the manifest
      // files themselves are evidence too (hashed in the manifest, read for policy findings).
      const extraDumps: ConfigDump[] = [];
      if (args.policies?.length) {
        const compiled = await policiesToConfigDump(args);
        for (const d of compiled.diagnostics) warn(d.message);
        extraDumps.push(parseConfigDump(compiled.configDump, compiled.source));
      }
      if (target.file) await refuseOverwritingEvidence(target.file, [...args.evidence, ...(args.policies ?? []), ...(args.inventory ?? [])]);
      const evidence = await spoolStdin(args.evidence);
      const keys = await loadKeyLog(args.keylog ?? []);
      // one line on a terminal: reading (bytes of the inputs), each pass over the records, the steps after
      const prog = new ReportProgress(startProgress({ label: 'report' }));
      // The records wait here, in memory up to a budget, then in sorted runs on disk (record-spill.ts), and are read back in passes.
      const spill = new RecordSpill(spillBudget());
      let ev;
      prog.onStep('finding the inputs'); // (the kinds are detected by content: the first bytes of every file)
      try {
        const setting = threadSetting(args.threads);
        // Captures and access logs are read in worker threads (in input order, the same result) while this thread reads the rest.
        const parallelCaptures = captureWorkers(setting, args.keylog);
        const parallelLogs = logWorkers(setting, spill, spillBudget().maxRecords);
        ev = await gatherEvidence([...evidence, ...(args.policies ?? [])], { skewMs, extraDumps, window, parallelCaptures, parallelLogs, compactRecords: true, spill, ...(prog.active ? { onRead: prog.onRead, onStep: prog.onStep } : {}), ...(keys ? { keys } : {}) });
      } catch (e) {
        prog.done();
        spill.close();
        throw spillTrouble(e);
      }
      prog.clear();
      if (keys) {
        const dc = new DecryptionCounts();
        for (const f of ev.flows) dc.add(f);
        warn(decryptionLine(dc));
      }
      if (ev.window) {
        const w = ev.window;
        const left = [w.recordsOutside ? `${w.recordsOutside} record(s) outside it` : '', w.recordsWithoutTime ? `${w.recordsWithoutTime} record(s) without a time` : '', w.flowsOutside ? `${w.flowsOutside} captured connection(s) outside it` : ''].filter(Boolean);
        if (left.length) warn(`time window ${w.sinceMs !== null ? new Date(w.sinceMs).toISOString() : '…'} – ${w.untilMs !== null ? new Date(w.untilMs).toISOString() : '…'}: left out ${left.join(', ')}`);
      }
      // as `flows` says it: connections the TCP table handed over unfinished to bound memory
      for (const [path, tcp] of ev.captureTcp ?? []) {
        const line = unfinishedLine(path, tcp);
        if (line) warn(line);
      }
      for (const i of ev.inputs) {
        if (i.kind === 'unknown') warn(`skipped ${i.path}: ${i.reason ?? 'unknown kind'}`);
        // damaged compressed data: the reader's one line (file, offset, what was found), as `flows` prints it
        else if (ev.damaged?.has(i.path)) warn(ev.unreadable.get(i.path)!);
        else if (ev.unreadable.has(i.path)) warn(`skipped ${i.path}: ${ev.unreadable.get(i.path)}`);
      }
      const usable = ev.inputs.filter((i) => i.kind !== 'unknown' && !ev.unreadable.has(i.path));
      if (usable.length === 0) {
        prog.done();
        spill.close();
        throw new UsageError(`no usable evidence in ${args.evidence.join(', ')} (every input was skipped; see above)`);
      }
      let model: ReportModel;
      let text: string;
      try {
        try {
          model = await buildReportStreaming(ev, spill, { skewMs, showSecrets: args['show-secrets'], ztunnelRecords: ev.ztunnelRecords, ...(prog.active ? { onPass: prog.onPass } : {}) });
        } catch (e) {
          throw spillTrouble(e);
        } finally {
          spill.close();
        }
        prog.onStep('filling in the fields of the requests listed');
        await fillElidedFields(model, args['show-secrets']);
        prog.onStep(`writing the ${target.format === 'table' ? 'table' : target.format.toUpperCase()}`);
        text = renderReport(model, target.format);
        if (target.file) await writeFile(target.file, safeOutput(text));
      } finally {
        prog.done();
      }
      if (target.file) {
        const bySev = Object.entries(model.summary.findings.bySeverity).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
        warn(`wrote ${target.file}: ${model.findings.length} finding(s)${bySev ? ` (${bySev})` : ''} from ${usable.length} input(s)${model.manifest.skipped.length ? `, ${model.manifest.skipped.length} skipped` : ''}`);
      } else {
        await writeOut(text);
      }
      const hits = failOnHits(model.findings, failOn);
      if (hits.length > 0) warn(`--fail-on: ${hits.map((h) => `${h} (${model.findings.filter((f) => (FAIL_ON[h] as string[]).includes(f.id)).map((f) => f.id).filter((v, i, a) => a.indexOf(v) === i).join(', ')})`).join('; ')}`);
      // A damaged compressed input is unreadable input (exit 2) even though the rest was reported.
      if (ev.damaged?.size) return EXIT_USAGE;
      return hits.length > 0 ? EXIT_FAIL_ON : undefined;
    }),
};

/** The spill's temporary disk failing (full, missing, not writable) is the environment's problem, not a bug: exit 2, saying where. */
function spillTrouble(e: unknown): unknown {
  if (!(e instanceof SpillError)) return e;
  return new UsageError(`${e.message} (report keeps access records past the first ${(spillBudget().maxRecords ?? DEFAULT_MAX_RECORDS).toLocaleString('en-US')} in sorted runs on disk, under TMPDIR: point TMPDIR at a directory with room, about 1 KB per record)`);
}

/** MESHSLEUTH_SPILL_RECORDS: records kept in memory before the spill writes a run (default DEFAULT_MAX_RECORDS); tests set it low. */
function spillBudget(): { maxRecords?: number } {
  const v = process.env.MESHSLEUTH_SPILL_RECORDS;
  if (v === undefined || v === '') return {};
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`MESHSLEUTH_SPILL_RECORDS=${v}: expected a positive whole number of records`);
  return { maxRecords: Number(v) };
}
