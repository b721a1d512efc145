/**
 * The command registry: every verb's usage line and one-line description, and how to load its module.
 * This file imports nothing heavy: `--help`, `--version` and shell completion read it without loading a
 * single command module, and running a command loads only that command's module (and what it imports).
 *
 * To add a command: write `commands/<verb>.ts` exporting a yargs `CommandModule` with a `builder` and a
 * `handler` (no `command`/`describe`: they live here), then add one entry below.
 */
import type { CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs command modules have heterogeneous argument types
export type AnyCommandModule = CommandModule<any, any>;

export interface CommandEntry {
  /** The verb (first word of `command`). */
  name: string;
  /** yargs usage: the verb and its positionals, e.g. `flows [captures...]`. */
  command: string;
  describe: string;
  /** Loads the module (builder + handler) only when the command runs or its help is asked for. */
  load: () => Promise<AnyCommandModule>;
}

function entry(command: string, describe: string, load: () => Promise<AnyCommandModule>): CommandEntry {
  return { name: command.split(' ')[0]!, command, describe, load };
}

export const commands: readonly CommandEntry[] = [
  entry(
    'policies <config...>',
    'list every RBAC / ext_authz filter per listener and filter chain, with Istio policies decoded and the inbound mTLS mode per port',
    async () => (await import('./policies.js')).policiesCommand,
  ),
  entry(
    'check [config]',
    'decide one request (or one per NDJSON line) as Envoy RBAC (or, with a ztunnel config dump, ambient ztunnel) would, and explain it',
    async () => (await import('./check.js')).checkCommand,
  ),
  entry(
    'explain [dump] [inputs..]',
    'replay access-log records through a config and say whether it explains what Envoy logged',
    async () => (await import('./explain.js')).explainCommand,
  ),
  entry(
    'flows [captures...]',
    'one row per TCP flow in pcap/pcapng captures with its security verdict: mtls, tls, plaintext or unknown (`-` reads stdin)',
    async () => (await import('./flows.js')).flowsCommand,
  ),
  entry(
    'report <evidence..>',
    'incident report over config dumps, access logs, captures and a Kubernetes inventory (kinds detected by content)',
    async () => (await import('./report.js')).reportCommand,
  ),
  entry('collect', 'run an Envoy Access Log Service (gRPC) server; writes one NDJSON record per entry', async () => (await import('./collect.js')).collectCommand),
  entry(
    'compile <policies...>',
    'compile AuthorizationPolicy/PeerAuthentication (and legacy Policy/MeshPolicy) manifests into the RBAC filters and inbound chains, and DestinationRules + auto mTLS into the outbound clusters, istiod would give a sidecar',
    async () => (await import('./compile.js')).compileCommand,
  ),
  entry(
    'reach <inputs...>',
    'per-layer verdicts (NetworkPolicy, Calico, Istio) for one connection, or the connectivity map of all workload pairs',
    async () => (await import('./reach.js')).reachCommand,
  ),
  entry(
    'route <dump>',
    "a client sidecar's outbound path to a destination and what it sends on the wire (mTLS, TLS, plaintext, passthrough) and why",
    async () => (await import('./route.js')).routeCommand,
  ),
];

export function findCommand(name: string): CommandEntry | undefined {
  return commands.find((c) => c.name === name);
}
