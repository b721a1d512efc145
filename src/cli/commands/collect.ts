import { openSync, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { runCommand, UsageError, warn, asList, notice, replayBatchesWithoutPretenuring } from '../common.js';
import { AlsCollector } from '../../readers/accesslog/collector.js';
import { MAX_LOG_LINE_LENGTH, type AlsLine } from '../../readers/accesslog/als.js';
import { loadDecider } from './explain.js';
import type { Decider } from '../../analysis/explain.js';
import { AppendFile, EntrySink, type Explainer } from '../../analysis/als-sink.js';
import { threadSetting, threadsOption } from '../parallel.js';
import { WorkerExplainer } from '../als-explainer.js';
import { availableParallelism } from 'node:os';

interface CollectArgs {
  listen: string;
  out?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-ca'?: string;
  config?: string[];
  grace: number;
  quiet?: boolean;
  threads?: string;
}

function isLoopback(listen: string): boolean {
  const host = listen.startsWith('[') ? listen.slice(1, listen.indexOf(']')) : listen.slice(0, listen.lastIndexOf(':'));
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function readPem(path: string, what: string): Buffer {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'a directory, not a PEM file' : (e as Error).message}`);
  }
  if (!buf.includes('-----BEGIN ')) throw new UsageError(`${what} ${path}: expected PEM (-----BEGIN …-----), found ${buf.length === 0 ? 'an empty file' : 'no PEM block'}`);
  return buf;
}

export const collectCommand: CommandModule<object, CollectArgs> = {
  builder: (y) =>
    y
      .option('listen', { type: 'string', default: '127.0.0.1:9001', describe: 'host:port to listen on (loopback by default)' })
      .option('out', { type: 'string', describe: 'append NDJSON to this file instead of stdout' })
      .option('tls-cert', { type: 'string', describe: 'server certificate (PEM) for TLS' })
      .option('tls-key', { type: 'string', describe: 'server private key (PEM) for TLS' })
      .option('tls-ca', { type: 'string', describe: 'CA bundle (PEM): require and verify client certificates (mTLS)' })
      .option('config', { type: 'string', coerce: asList, describe: 'config dump(s): explain each entry as it arrives' })
      .option('grace', { type: 'number', default: 2000, describe: 'ms to let open streams finish on SIGINT/SIGTERM' })
      .option('threads', {
        ...threadsOption.spec,
        describe: 'with --config: 2 or more (auto: on a machine with two cores or more) explains the entries on a worker thread while the main thread receives and writes; 1 explains on the main thread; the output is the same either way',
      })
      .example('$0 collect --listen 127.0.0.1:9001 --out als.ndjson', 'collect entries from Envoy gRPC access loggers')
      .example('$0 explain config_dump.json als.ndjson', 'replay the collected entries later'),
  handler: (argv) =>
    runCommand(async () => {
      replayBatchesWithoutPretenuring();
      if ((argv['tls-cert'] === undefined) !== (argv['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
      if (argv['tls-ca'] !== undefined && argv['tls-cert'] === undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
      if (!/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(argv.listen)) throw new UsageError(`--listen: expected host:port, found '${argv.listen}'`);
      const tls = argv['tls-cert']
        ? {
            cert: readPem(argv['tls-cert'], '--tls-cert'),
            key: readPem(argv['tls-key']!, '--tls-key'),
            ...(argv['tls-ca'] ? { ca: readPem(argv['tls-ca'], '--tls-ca') } : {}),
          }
        : undefined;
      if (!isLoopback(argv.listen) && !tls) warn(`listening on ${argv.listen} without TLS: access logs carry request details; consider --tls-cert/--tls-key/--tls-ca`);
      let decide: Decider | null = null;
      if (argv.config && argv.config.length) decide = await loadDecider(argv.config);
      const threads = threadSetting(argv.threads);
      let explainer: Explainer | Decider | null = decide;
      if (decide && argv.config && (threads === 'auto' ? availableParallelism() >= 2 : threads >= 2)) {
        explainer = new WorkerExplainer(argv.config, decide, (why) => warn(`explaining thread failed (${why}): explaining on the main thread from here on`));
      }

      // 0600: the entries carry request headers. The mode applies when the file is created.
      let out: AppendFile | NodeJS.WriteStream = process.stdout;
      if (argv.out !== undefined) {
        try {
          out = new AppendFile(openSync(argv.out, 'a', 0o600));
        } catch (e) {
          throw new UsageError(`cannot write ${argv.out}: ${(e as Error).message}`);
        }
      }
      const sink = new EntrySink(out, explainer);
      let failed: (() => void) | null = null;
      const writeFailed = new Promise<void>((resolve) => (failed = resolve));
      const collector = new AlsCollector({
        listen: argv.listen,
        tls,
        onEntry: (line: AlsLine) => sink.push(line),
        pressure: () => sink.pressure(),
        settled: () => sink.settled(),
        onEvent: (e) => {
          if (e.type === 'entry-error') warn(`entry ${e.index} on ${e.stream}: ${e.message}`);
          if (argv.quiet) return;
          if (e.type === 'stream-open') warn(`stream ${e.stream} opened`);
          else if (e.type === 'stream-end') warn(`stream ${e.stream} ended (${e.status}, ${e.entries} entries)`);
          else if (e.type === 'rejected') warn(`rejected: ${e.message}`);
        },
      });
      sink.onTooLong = (line, length) =>
        warn(`entry ${line.index} on ${line.stream} not written: ${length} characters as JSON, over the ${MAX_LOG_LINE_LENGTH} that explain and report read`);
      sink.onError = (err) => {
        const reason = `cannot write ${argv.out ?? 'stdout'}: ${err.message}`;
        // an error the user must see, even with -q
        notice(`${reason}; ending every stream with UNAVAILABLE so Envoy keeps what was not written`);
        collector.fail(reason);
        failed?.();
      };
      // Signal handlers first, so a signal that arrives right after the "listening" line is not fatal.
      const stopped = new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      let port: number;
      try {
        port = await collector.start();
      } catch (e) {
        throw new UsageError(`cannot listen on ${argv.listen}: ${(e as Error).message}`);
      }
      notice(`ALS collector listening on ${argv.listen.replace(/:\d+$/, `:${port}`)}${tls ? (tls.ca ? ' (mTLS)' : ' (TLS)') : ''}; Ctrl-C to stop`);
      await Promise.race([stopped, writeFailed]);
      await collector.shutdown(argv.grace);
      await sink.close();
      const s = collector.stats;
      const where = argv.out ? ` to ${argv.out}` : '';
      // the accounting of what was written is printed even with -q
      notice(
        `stopped: ${s.entries} entries from ${s.streams} streams (${s.messages} messages, ${s.rejected} rejected); ` +
          `${sink.written} written${where}` +
          (sink.tooLong ? `, ${sink.tooLong} too long to write` : '') +
          (sink.error ? `, ${s.entries - sink.written - sink.tooLong} NOT written (${sink.error.message})` : '') +
          (sink.partialBytes ? `; the file ends in the first ${sink.partialBytes} bytes of one of them (a partial line)` : ''),
      );
      if (sink.error) throw new UsageError(`writing ${argv.out ?? 'stdout'}: ${sink.error.message}`);
      return 0;
    }),
};
