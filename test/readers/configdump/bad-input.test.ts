/** Inputs that are not config dumps: one-line InputErrors with file, line/offset or JSON path. */
import { describe, expect, it } from 'vitest';
import { parseStructured, findJsonErrorOffset } from '../../../src/readers/structured.js';
import { dumpsFromDocuments, isConfigDump } from '../../../src/readers/configdump/index.js';
import { InputError } from '../../../src/model/errors.js';

function err(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

const parseDump = (text: string | Uint8Array, file = 'f.json') => dumpsFromDocuments(parseStructured(text, file), file);

describe('bad config-dump input', () => {
  it('pcap bytes are recognised as a capture', () => {
    const pcap = new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]);
    expect(err(() => parseDump(pcap, 'cap.pcap'))).toBe('cap.pcap, offset 0: expected a JSON or YAML document, found a pcap capture (binary)');
  });

  it('random JSON names what it found at $', () => {
    expect(err(() => parseDump('{"hello": "world", "n": 1}'))).toBe(
      'f.json, at $: expected an Envoy config (an admin config dump with "configs", one config-dump section with an envoy.admin "@type", a bootstrap file with static_resources, an xDS response with "resources", or an array of listeners/clusters/route configurations), found an object with keys "hello", "n"',
    );
    expect(err(() => parseDump('[1, 2, 3]'))).toBe('f.json, at $[0]: expected a Listener, Cluster or RouteConfiguration (every item of an istioctl proxy-config array), found the number 1');
  });

  it('truncated JSON reports the line and says truncated', () => {
    const text = '{"configs": [\n  {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",\n   "dynamic_listeners": [';
    expect(err(() => parseDump(text))).toBe(`f.json, line 3, offset ${Buffer.byteLength(text)}: expected valid JSON, found the end of the file (truncated JSON)`);
  });

  it('a JSON syntax error in the middle gives its line', () => {
    const m = err(() => parseDump('{"configs": [\n {"a": 1,,}\n]}'));
    expect(m).toMatch(/^f\.json, line 2, offset 23: expected valid JSON, found ",}\\n\]}" \(JSON syntax error at column 10\)$/);
    expect(findJsonErrorOffset('{"a": x}')).toBe(6);
  });

  it('YAML with the wrong shape names the JSON path', () => {
    expect(err(() => parseDump('configs: 5\n', 'd.yaml'))).toBe('d.yaml, at $.configs: expected an array of config-dump sections, found the number 5');
    expect(err(() => parseDump('configs:\n  - "@type": type.googleapis.com/envoy.admin.v3.ListenersConfigDump\n    dynamic_listeners: nope\n', 'd.yaml'))).toBe(
      'd.yaml, at $.configs[0].dynamic_listeners: expected an array of dynamic listeners, found a string "nope"',
    );
    expect(err(() => parseDump('- just\n- a list\n', 'd.yaml'))).toMatch(/^d\.yaml, at \$\[0\]: expected a Listener, Cluster or RouteConfiguration/);
  });

  it('YAML syntax errors carry the line', () => {
    expect(err(() => parseDump('configs:\n  - a: [1, 2\n  b: }\n', 'd.yaml'))).toMatch(/^d\.yaml, line \d+, offset \d+: expected valid YAML, found /);
  });

  it('an empty file', () => {
    expect(err(() => parseDump('  \n'))).toBe('f.json, offset 0: expected a JSON or YAML document, found an empty file');
  });

  it('isConfigDump sniffs content', () => {
    expect(isConfigDump({ configs: [] })).toBe(true);
    expect(isConfigDump({ '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump' })).toBe(true);
    expect(isConfigDump([{ name: 'x', filterChains: [] }])).toBe(true);
    expect(isConfigDump({ kind: 'Pod' })).toBe(false);
    expect(isConfigDump([{ a: 1 }])).toBe(false);
  });
});
