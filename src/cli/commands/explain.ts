import type { CommandModule } from 'yargs';
import { stat } from 'node:fs/promises';
import { detectFile } from '../../readers/detect.js';
import { binaryHead, expandDirectories, replayBatchesWithoutPretenuring, runCommand, UsageError, warn, writeOut, OutputBatch, parseFailOn, EXIT_FAIL_ON, EXIT_USAGE, asList, asListOf } from '../common.js';
import { resolveFormat } from '../../readers/accesslog/index.js';
import { knownSize, startProgress } from '../progress.js';
import { runTasks, threadSetting, threadsOption, workerCount } from '../parallel.js';
import { collectWaypointCallers, deciderFor, endpointStr, explainChunkEvents, explainOneWith, ExplainMerge, splitLog, WAYPOINT_JOIN_SKEW_MS, type DeciderSpec, type ExplainChunk, type ExplainEvent, type ExplainSetup } from '../explain-run.js';
import { deserializeError } from '../../model/errors.js';
import { JsonArraySpill } from '../../report/json-spill.js';
import { parseTimeWindow } from '../time-window.js';
import { formatLocation } from '../../model/errors.js';
import type { AccessRecord, Explanation } from '../../model/records.js';
import type { JsonValue } from '../../model/attrs.js';
import { refString, summaryLine, type Decider, type ExplainFilter } from '../../analysis/explain.js';
import { loadConfigDumps, parseConfigDump } from '../../readers/configdump/index.js';
import { policyInputOptions, type PolicyInputFlags } from '../policy-options.js';
import { renderTable } from '../../report/table.js';
import { readZtunnelConfig } from '../../readers/configdump/ztunnel.js';
import type { ZtunnelConfig } from '../../ztunnel/model.js';

interface ExplainArgs extends PolicyInputFlags {
  dump?: string;
  inputs: string[];
  /** --config: a proposed config to replay against. */
  config?: string;
  'log-format'?: string;
  denied?: boolean;
  since?: string;
  until?: string;
  source?: string;
  policy?: string;
  output: string;
  'fail-on'?: string[];
  'show-secrets'?: boolean;
  limit: number;
  threads?: string;
}

/** Loads config dumps and returns a decider that picks the dump of the record's proxy. */
export async function loadDecider(paths: string[]): Promise<Decider> {
  return (await loadDumpsDecider(paths)).decide;
}

/** loadDecider, and whether one of the dumps is a waypoint's (it terminates HBONE: `connect_terminate`). */
async function loadDumpsDecider(paths: string[]): Promise<{ decide: Decider; waypoint: boolean }> {
  const { dumps, diagnostics } = await loadConfigDumps(paths);
  for (const d of diagnostics.slice(0, 5)) warn(`${formatLocation(d.location)}: ${d.message}`);
  if (diagnostics.length > 5) warn(`... and ${diagnostics.length - 5} more config diagnostics`);
  if (dumps.length === 0) throw new UsageError(`no config dump found in ${paths.join(', ')}`);
  return { decide: deciderFor(dumps), waypoint: dumps.some((d) => d.listeners.some((l) => l.name === 'connect_terminate')) };
}

/** `--policies … --workload …`: the manifests compiled into that sidecar's dump, as the proposed config. */
async function policiesDecider(flags: PolicyInputFlags): Promise<{ decide: Decider; spec: DeciderSpec }> {
  // the policy compiler (istio/compile) is loaded only for --policies: a plain replay starts without it
  const { policiesToConfigDump } = await import('../policy-input.js');
  const compiled = await policiesToConfigDump(flags);
  for (const d of compiled.diagnostics) warn(d.message);
  return { decide: deciderFor([parseConfigDump(compiled.configDump, compiled.source)]), spec: { kind: 'compiled', configDump: compiled.configDump, source: compiled.source } };
}

/** Splits inputs into config dump files (detected by content) and the rest (logs, directories, stdin). */
async function splitConfigDumps(paths: string[]): Promise<{ dumps: string[]; logs: string[] }> {
  const dumps: string[] = [];
  const logs: string[] = [];
  for (const p of paths) {
    const st = p === '-' ? null : await stat(p).catch(() => null);
    const kind = st?.isFile() ? (await detectFile(p, st.size)).kind : null;
    if (kind === 'config-dump' || kind === 'ztunnel-config') dumps.push(p);
    else logs.push(p);
  }
  return { dumps, logs };
}

export { explanationJson } from '../explain-run.js';

/** The enforcing filter that denied, for a one-line "why" when there is no closest miss. */
function denyingFilter(e: Explanation): string {
  const f = e.decision?.filters.find((x) => !x.shadow && x.result === 'DENY');
  if (!f) return e.decision?.reasons?.[0] ?? '';
  const n = f.policies.length;
  return `${f.name} (${f.action}, ${n === 0 ? 'no policies: allows nothing' : `${n} polic${n === 1 ? 'y' : 'ies'}`})`;
}

const FAIL_ON = ['disagreement', 'denied', 'undecidable'] as const;

function requestLabel(r: AccessRecord): string {
  const a = r.attrs;
  const from = endpointStr(a.source) ?? '?';
  const to = endpointStr(a.destination) ?? '?';
  if (r.kind === 'http') return `${a.http?.method ?? '-'} ${a.http?.path ?? '-'} ${from} → ${to}`;
  return `TCP ${from} → ${to}`;
}

export const explainCommand: CommandModule<object, ExplainArgs> = {
  builder: (y) =>
    policyInputOptions(y)
      .positional('dump', { type: 'string', describe: 'config dump (file or directory); with --config this is the first log. Further config dumps among the inputs are used too: each record is replayed through its proxy\'s dump in force at the record\'s time' })
      .positional('inputs', { type: 'string', array: true, default: [] as string[], describe: 'access logs: text/JSON files, kubectl logs output, collect NDJSON' })
      .option('config', { type: 'string', describe: 'replay against this (proposed) config instead: list the requests whose decision would change' })
      .option('log-format', { type: 'string', describe: 'istio | istio-1.9 | istio-pre-1.9 | envoy | istio-json | json | an Envoy format string (default: detect)' })
      .option('denied', { type: 'boolean', describe: 'only records that Envoy or the config denied' })
      .option('since', { type: 'string', describe: 'only records at or after this time: RFC 3339 or a duration before now (2h, 30m, 1d)' })
      .option('until', { type: 'string', describe: 'only records at or before this time (same forms as --since)' })
      .option('source', { type: 'string', describe: 'only records from this IP, CIDR or identity (SPIFFE id substring)' })
      .option('policy', { type: 'string', describe: 'only records whose logged or decided policy id contains this' })
      .option('output', { alias: 'o', type: 'string', choices: ['table', 'json', 'ndjson'], default: 'table', describe: 'output format' })
      .option('fail-on', { type: 'string', coerce: asListOf(FAIL_ON), describe: `exit 1 when any record matches: ${FAIL_ON.join(', ')}` })
      .option('show-secrets', { type: 'boolean', describe: 'do not redact Authorization/Cookie/token headers' })
      .option('limit', { type: 'number', default: 20, describe: 'table: how many disagreements / changes to list' })
      .option('threads', threadsOption.spec)
      .example('$0 explain config_dump.json istio-proxy.log', 'replay a sidecar log through its config')
      .example('$0 explain dump.json app.log --denied -o ndjson', 'one JSON line per denied request')
      .example('$0 explain --config proposed.json old.log', 'which requests would change decision under proposed.json')
      .example('$0 explain --policies proposed.yaml --workload foo/httpbin --inventory pods.json old.log', 'the same, for policy manifests not yet applied'),
  handler: (argv) =>
    runCommand(async () => {
      replayBatchesWithoutPretenuring();
      const failOn = parseFailOn(argv['fail-on'], FAIL_ON);
      if (!Number.isInteger(argv.limit) || argv.limit < 0) throw new UsageError(`--limit: expected a whole number of rows (0 or more), found ${argv.limit}`);
      const positional = [...(argv.dump ? [argv.dump] : []), ...(argv.inputs ?? [])];
      const fromPolicies = (argv.policies?.length ?? 0) > 0;
      if (fromPolicies && argv.config) throw new UsageError('give either --config or --policies as the proposed configuration, not both');
      const proposed = argv.config ?? (fromPolicies ? 'policies' : undefined);
      let configPaths = argv.config ? [argv.config] : fromPolicies ? [] : positional.slice(0, 1);
      let logs = proposed ? positional : positional.slice(1);
      if (!proposed) {
        // Further config dumps among the inputs (by content): several dumps of one proxy taken at
        // different times, or of several proxies; each record is replayed through the one in force.
        const split = await splitConfigDumps(logs);
        configPaths = [...configPaths, ...split.dumps];
        logs = split.logs;
      }
      if (configPaths.length === 0 && !fromPolicies) throw new UsageError('name a config dump (explain <config> <logs...>, or --config <proposed> <logs...>)');
      if (logs.length === 0) throw new UsageError('name at least one access-log file (or - for stdin)');
      const filter: ExplainFilter = {
        denied: argv.denied,
        ...parseTimeWindow(argv.since, argv.until, Date.now()),
        source: argv.source,
        policy: argv.policy,
      };
      // A ztunnel (ambient) config dump is told apart by content; its records are replayed by the ztunnel engine.
      // Given with Envoy dumps (e.g. a waypoint's), each record goes to the engine of its kind.
      const ztConfigs: ZtunnelConfig[] = [];
      const ztPaths: string[] = [];
      if (!fromPolicies) for (const p of configPaths) {
        const z = await readZtunnelConfig(p);
        if (z) {
          ztConfigs.push(z);
          ztPaths.push(p);
        }
      }
      const envoyPaths = configPaths.filter((p) => !ztPaths.includes(p));
      let decide: Decider | null = null;
      let deciderSpec: DeciderSpec;
      let waypoint = false;
      if (fromPolicies) ({ decide, spec: deciderSpec } = await policiesDecider(argv));
      else if (ztConfigs.length && envoyPaths.length === 0) deciderSpec = { kind: 'ztunnel', paths: configPaths };
      else {
        ({ decide, waypoint } = await loadDumpsDecider(envoyPaths));
        deciderSpec = { kind: 'dumps', paths: envoyPaths, ...(ztPaths.length ? { ztunnel: ztPaths } : {}) };
      }
      // A binary file among the logs (a capture, a gzip, junk) is named and left out; the others are replayed.
      const logFiles: string[] = [];
      let unreadable = 0;
      for (const p of await expandDirectories(logs, 'access-log', 'access logs')) {
        const bin = p === '-' ? null : await binaryHead(p).catch(() => null);
        if (bin) {
          warn(`${p}, offset 0: expected an access log (text or JSON lines), found ${bin}`);
          unreadable++;
        } else logFiles.push(p);
      }
      if (logFiles.length === 0) throw new UsageError(`no access log to replay in ${logs.join(', ')}`);
      resolveFormat(argv['log-format']); // an unusable --log-format is an error before anything is read
      // A waypoint's records carry no caller identity: the client ztunnels' records of the tunnels name it.
      const callers = waypoint ? await collectWaypointCallers(logFiles, argv['log-format'], filter) : undefined;
      if (waypoint && logFiles.includes('-')) warn('stdin is read once: client ztunnel records in it are not joined to the waypoint\'s records (give the ztunnel logs as files)');
      const explainOne = explainOneWith(decide, ztConfigs, callers);
      const out = argv.output;
      const setup: ExplainSetup = {
        decider: deciderSpec,
        filter,
        ...(argv['log-format'] !== undefined ? { format: argv['log-format'] } : {}),
        ...(proposed !== undefined ? { proposed } : {}),
        output: out,
        limit: argv.limit,
        showSecrets: argv['show-secrets'] === true,
        failOn: [...failOn],
        ...(callers?.size ? { waypointCallers: callers.all(), skewMs: WAYPOINT_JOIN_SKEW_MS } : {}),
      };
      // Chunks: every file whole, or (in parallel) a large file as byte ranges on line boundaries.
      const size = await knownSize(logFiles);
      const threads = workerCount(threadSetting(argv.threads), logFiles.includes('-') ? 0 : Math.max(2, logFiles.length), size ?? 0);
      const chunks: ExplainChunk[] = [];
      for (const p of logFiles) {
        const st = threads > 0 ? await stat(p).catch(() => null) : null;
        if (st?.isFile()) chunks.push(...(await splitLog(p, st.size, threads)));
        else chunks.push({ path: p, first: true });
      }
      const merged = new ExplainMerge(argv.limit);
      const prog = startProgress({ label: 'explain', totalBytes: size, unit: 'records' });
      const chunkBytes = chunks.map(() => 0);
      const chunkRecords = chunks.map(() => 0);
      const showProgress = (): void => prog.update({ bytes: chunkBytes.reduce((a, b) => a + b, 0), records: chunkRecords.reduce((a, b) => a + b, 0) + merged.agg.summary.records });
      // Line numbers of a byte range: the lines of the ranges before it in its file, as they are counted.
      const lineCounts: (number | undefined)[] = chunks.map(() => undefined);
      const pool = threads > 0
        ? runTasks(chunks.map((chunk) => ({ kind: 'explain-chunk' as const, chunk, setup })), threads, out === 'ndjson' ? 64 : Infinity, (id, msg) => {
            const m = msg as ExplainEvent;
            if (m.t === 'progress') {
              chunkBytes[id] = m.bytes;
              chunkRecords[id] = m.records;
              showProgress();
            }
            if (m.t !== 'lines') return;
            lineCounts[id] = m.count;
            // signal every range whose predecessors in its file are all counted
            for (let k = 0; k < chunks.length; k++) {
              if (chunks[k]!.first || lineCounts[k] === undefined) continue;
              let base = 0;
              let j = k - 1;
              for (; j >= 0; j--) {
                if (lineCounts[j] === undefined) break;
                base += lineCounts[j]!;
                if (chunks[j]!.first) break;
              }
              if (j >= 0 && lineCounts[j] !== undefined && chunks[j]!.first) pool!.streams[k]!.signal(base);
            }
          })
        : null;
      // -o json: the records are printed after the summary, known at the end; kept as text, on disk past a budget
      const spill = new JsonArraySpill();
      try {
        const batch = new OutputBatch();
        try {
          for (const [index, chunk] of chunks.entries()) {
            let linesBefore = 0;
            const events = (pool ? pool.streams[index]! : explainChunkEvents(chunk, setup, explainOne, async () => linesBefore)) as AsyncIterable<ExplainEvent>;
            for await (const ev of events) {
              if (ev.t === 'out') {
                for (const l of ev.lines) if (batch.add(l)) await batch.flush();
              } else if (ev.t === 'json') await spill.add(ev.records);
              else if (ev.t === 'progress') {
                if (!pool) {
                  chunkBytes[index] = ev.bytes;
                  chunkRecords[index] = ev.records;
                  showProgress();
                }
              } else if (ev.t === 'error') throw deserializeError(ev.error);
              else if (ev.t === 'damaged') {
                warn(deserializeError(ev.error).message);
                unreadable++;
              }
              else if (ev.t === 'end') {
                merged.add(chunk, ev.result);
                chunkRecords[index] = 0;
              } else linesBefore = ev.count;
            }
          }
        } finally {
          prog.done();
          await pool?.close();
        }
        await batch.flush();
        const { stats, agg, disagreements, changes, changeCounts } = merged;
        const failed = merged.failed;
        for (const d of stats.diagnostics) warn(`${formatLocation(d.location)}: ${d.message}`);
        if (stats.skipped > stats.diagnostics.length) warn(`... ${stats.skipped - stats.diagnostics.length} more lines skipped`);
        if (stats.skipped || stats.other) warn(`${stats.lines.toLocaleString('en-US')} lines read: ${stats.records.toLocaleString('en-US')} records, ${stats.skipped} skipped (did not fit)${stats.other ? `, ${stats.other} proxy log lines ignored` : ''}`);
        const unknownZt = Object.entries(stats.ztunnelUnknown);
        if (unknownZt.length) warn(`ztunnel access lines with unknown messages: ${unknownZt.map(([m, c]) => `"${m}" ×${c}`).join(', ')}`);
        if (stats.records === 0) throw new UsageError(`no access-log records found in ${logs.join(', ')}${stats.skipped ? ` (${stats.skipped} lines did not fit any format; try --log-format)` : ''}`);

        const s = agg.summary;
        if (proposed) {
          const total = changeCounts.allowedToDenied + changeCounts.deniedToAllowed + changeCounts.otherPolicy;
          const line = `${s.records.toLocaleString('en-US')} records replayed against ${proposed}: ${total.toLocaleString('en-US')} decision${total === 1 ? '' : 's'} would change (${changeCounts.allowedToDenied} allowed→denied, ${changeCounts.deniedToAllowed} denied→allowed, ${changeCounts.otherPolicy} denied by another policy)${changeCounts.undecidable ? `; ${changeCounts.undecidable} undecidable` : ''}`;
          if (out === 'table') {
            if (changes.length) {
              await writeOut(renderTable({
                headers: ['RECORD', 'REQUEST', 'BEFORE (logged)', 'AFTER (proposed)', 'WHY'],
                rows: changes.map((c) => [refString(c.record), requestLabel(c.record), c.before.decision === 'DENY' ? `DENY ${c.before.policy}` : 'ALLOW', c.after.decision === 'DENY' ? `DENY ${c.after.policy}` : 'ALLOW', c.explanation.decision?.closestMiss?.[0]?.summary ?? denyingFilter(c.explanation)]),
              }) + '\n');
            }
            await writeOut(line + '\n');
          } else if (out === 'json') {
            await spill.writeDocument({ summary: { ...changeCounts, records: s.records, line } }, 'changes', writeOut);
          } else warn(line);
          return unreadable > 0 ? EXIT_USAGE : 0;
        }
        const line = summaryLine(s);
        if (out === 'table') {
          const groups = agg.groupList();
          // Several dumps: say which one (the one in force at the records' time) each group was replayed through.
          const dumps = new Set(groups.map((g) => g.dump).filter((d) => d !== null));
          await writeOut(renderTable(dumps.size > 1
            ? {
                headers: ['DECISION', 'POLICY', 'VERDICT', 'COUNT', 'DUMP', 'EXAMPLE', 'REASON'],
                rows: groups.map((g) => [g.decision, g.policy, g.verdict, g.count.toLocaleString('en-US'), g.dump ?? '-', g.example, g.reason]),
              }
            : {
                headers: ['DECISION', 'POLICY', 'VERDICT', 'COUNT', 'EXAMPLE', 'REASON'],
                rows: groups.map((g) => [g.decision, g.policy, g.verdict, g.count.toLocaleString('en-US'), g.example, g.reason]),
              }));
          if (disagreements.length) {
            await writeOut('\nDisagreements:\n' + renderTable({
              headers: ['RECORD', 'REQUEST', 'LOGGED', 'CONFIG', 'WHY'],
              rows: disagreements.map((e) => [refString(e.record), requestLabel(e.record), e.logged === 'denied' ? `DENY ${e.loggedPolicy}` : (e.logged ?? '').toUpperCase(), e.decision ? `${e.decision.decision}${e.decision.decision === 'DENY' ? ' ' + (e.decision.policy ?? 'none') : ''}` : '-', e.reason]),
            }));
          }
          await writeOut('\n' + line + '\n');
        } else if (out === 'json') {
          await spill.writeDocument({ summary: { ...s, line } as unknown as JsonValue, groups: agg.groupList() as unknown as JsonValue }, 'records', writeOut);
        } else warn(line);
        if (unreadable > 0) return EXIT_USAGE;
        return failed ? EXIT_FAIL_ON : 0;
      } finally {
        await spill.dispose();
      }
    }),
};
