/**
 * The `--policies <files|dirs> --workload ns/name …` options (check, explain, reach…), apart from the
 * compiler that uses them (policy-input.ts): a command's --help needs only these.
 */
import type { Argv } from 'yargs';
import { asList } from './common.js';
import { DEFAULT_ISTIO_VERSION } from '../istio/compile/version.js';

export interface PolicyInputFlags {
  policies?: string[];
  workload?: string;
  labels?: string;
  sa?: string;
  ports?: string;
  ip?: string[];
  inventory?: string[];
  'istio-version'?: string;
  'trust-domain'?: string;
  'trust-domain-alias'?: string[];
  'root-namespace'?: string;
  'mesh-config'?: string;
}

/** Adds `--policies <files|dirs> --workload ns/name [--labels --sa --ports --inventory --istio-version …]` to a command. */
export function policyInputOptions<T>(y: Argv<T>): Argv<T & PolicyInputFlags> {
  return y
    .option('policies', { type: 'string', coerce: asList, describe: 'AuthorizationPolicy/PeerAuthentication manifests (files or directories) to compile instead of a config dump' })
    .option('workload', { type: 'string', describe: 'with --policies: the sidecar, <namespace>/<name>' })
    .option('labels', { type: 'string', describe: 'with --policies: workload labels k=v,...' })
    .option('sa', { type: 'string', describe: 'with --policies: workload service account' })
    .option('ports', { type: 'string', describe: 'with --policies: inbound ports, e.g. 9080/http,9000/tcp' })
    .option('inventory', { type: 'string', coerce: asList, describe: 'with --policies: Kubernetes objects describing the workload' })
    .option('ip', { type: 'string', coerce: asList, describe: 'with --policies: the pod IP(s)' })
    .option('istio-version', { type: 'string', describe: `with --policies: render as this Istio release (default ${DEFAULT_ISTIO_VERSION})` })
    .option('trust-domain', { type: 'string', describe: 'with --policies: mesh trust domain' })
    .option('trust-domain-alias', { type: 'string', coerce: asList, describe: 'with --policies: trust domain aliases' })
    .option('root-namespace', { type: 'string', describe: 'with --policies: mesh root namespace' })
    .option('mesh-config', { type: 'string', describe: 'with --policies: MeshConfig YAML (extensionProviders, trustDomain)' }) as unknown as Argv<T & PolicyInputFlags>;
}
