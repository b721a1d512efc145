/** Machine-readable output: JSON, NDJSON and YAML. */
import { stringify as yamlStringify } from 'yaml';

export type OutputFormat = 'table' | 'text' | 'json' | 'ndjson' | 'yaml';

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export function toNdjson(values: Iterable<unknown>): string {
  let out = '';
  for (const v of values) out += JSON.stringify(v) + '\n';
  return out;
}

export function toYaml(value: unknown): string {
  return yamlStringify(value, { lineWidth: 0 });
}
