import { describe, expect, it } from 'vitest';
import { toCamelCase, toSnakeCase } from '../../src/envoy/normalize.js';

describe('protobuf JSON key normalisation', () => {
  it('converts camelCase field names to snake_case but keeps policy names and metadata verbatim', () => {
    const camel = {
      rules: {
        policies: { 'myPolicy-ruleA': { permissions: [{ andRules: { rules: [{ destinationPort: 80 }] } }], principals: [{ any: true }] } },
      },
      shadowRulesStatPrefix: 'istio_dry_run_allow_',
      node: { metadata: { ISTIO_VERSION: '1.20.0', LABELS: { appName: 'x' } } },
      filterMetadata: { 'istio.io': { someKey: 1 } },
    };
    expect(toSnakeCase(camel)).toEqual({
      rules: {
        policies: { 'myPolicy-ruleA': { permissions: [{ and_rules: { rules: [{ destination_port: 80 }] } }], principals: [{ any: true }] } },
      },
      shadow_rules_stat_prefix: 'istio_dry_run_allow_',
      node: { metadata: { ISTIO_VERSION: '1.20.0', LABELS: { appName: 'x' } } },
      filter_metadata: { 'istio.io': { someKey: 1 } },
    });
  });

  it('keeps TypedStruct values and @type untouched, and round-trips to camelCase', () => {
    const snake = { typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'x', value: { someCamel: { innerKey: 1 } } } };
    const camel = toCamelCase(snake);
    expect(camel).toEqual({ typedConfig: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', typeUrl: 'x', value: { someCamel: { innerKey: 1 } } } });
    expect(toSnakeCase(camel)).toEqual(snake);
  });
});

describe('Struct fields nested under a particular parent', () => {
  it('keeps the Struct under transport_socket_matches[].match verbatim but converts route match messages', () => {
    const camel = {
      transportSocketMatches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' } }],
      routes: [{ match: { safeRegex: { regex: '.*' } } }],
    };
    expect(toSnakeCase(camel)).toEqual({
      transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' } }],
      routes: [{ match: { safe_regex: { regex: '.*' } } }],
    });
  });
});

describe('xds matcher-tree maps', () => {
  it('keeps the keys of exact_match_map.map and prefix_match_map.map', () => {
    const snake = { matcher_tree: { exact_match_map: { map: { GET: { action: { name: 'a' } } } } } };
    expect(toSnakeCase(snake)).toEqual(snake);
    const camel = { matcherTree: { prefixMatchMap: { map: { '/Api': { onMatch: { action: { name: 'a' } } } } } } };
    expect(toSnakeCase(camel)).toEqual({ matcher_tree: { prefix_match_map: { map: { '/Api': { on_match: { action: { name: 'a' } } } } } } });
  });
});
