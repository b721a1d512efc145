/**
 * `meshsleuth check`: its options. The handler (check-run.ts) and what it imports (the RBAC engine, the
 * readers, the YAML parsers) load when the command runs, not for `check --help`.
 */
import type { Argv, CommandModule } from 'yargs';
import { outputOption, asList } from '../common.js';
import { policyInputOptions } from '../policy-options.js';
import type { CheckArgs } from './check-run.js';

export const checkCommand: CommandModule<object, CheckArgs> = {
  builder: (y: Argv) =>
    policyInputOptions(outputOption(y, ['text', 'table', 'json', 'ndjson', 'yaml'], 'text'))
      .example('$0 check config_dump.json --from cluster.local/ns/default/sa/sleep --port 9080 --method GET --path /details/0', 'why was this request denied?')
      .example('$0 check --policies policies.yaml --workload default/details-v1 --ports 9080/http --plaintext --port 9080 --method GET', 'what would this policy do, before applying it?')
      .positional('config', { type: 'string', describe: 'a full config dump, a bare RBAC filter config (HTTP/network typed config or a rules object), or a ztunnel config dump (istioctl ztunnel-config all -o json), JSON or YAML' })
      .option('request', { alias: 'r', type: 'string', describe: 'request JSON, @file (one JSON or NDJSON), or @- for stdin' })
      .option('from', { type: 'string', describe: 'peer principal / SPIFFE id: mTLS with that URI SAN' })
      .option('plaintext', { type: 'boolean', describe: 'no TLS on the connection' })
      .option('source-ip', { type: 'string', describe: 'downstream source address' })
      .option('dest-ip', { type: 'string', describe: 'destination (local) address' })
      .option('port', { type: 'number', describe: 'destination port' })
      .option('method', { type: 'string', describe: 'HTTP method' })
      .option('path', { type: 'string', describe: 'HTTP :path (query included, not decoded)' })
      .option('host', { type: 'string', describe: 'HTTP :authority' })
      .option('header', { alias: 'H', type: 'string', coerce: asList, describe: 'request header name:value (repeatable)' })
      .option('sni', { type: 'string', describe: 'TLS SNI' })
      .option('listener', { type: 'string', describe: 'listener name (full dumps; default: chosen from the destination)' })
      .option('kind', { type: 'string', choices: ['http', 'network'], default: 'http', describe: 'filter kind for a bare config without @type' })
      .option('show-secrets', { type: 'boolean', describe: 'do not redact secret header values' })
      .option('trace', { type: 'boolean', default: true, describe: 'per-policy traces (--no-trace: decision only, faster)' }) as unknown as Argv<CheckArgs>,
  handler: async (a) => (await import('./check-run.js')).runCheck(a),
};
