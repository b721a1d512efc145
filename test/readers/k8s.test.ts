import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseK8sObjects, readK8sPaths, pathSegments } from '../../src/readers/k8s.js';
import { InputError } from '../../src/model/errors.js';

const AP = (name: string, ns = 'foo') => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec: {}\n`;

describe('parseK8sObjects', () => {
  it('reads multi-document YAML, skipping empty documents, with the line each object starts on', () => {
    const text = `---\n${AP('a')}---\n# only a comment\n---\n${AP('b')}`;
    const r = parseK8sObjects(text, 'p.yaml');
    // a leading `---` starts the first document; the comment-only document is empty
    expect(r.objects.map((o) => [o.metadata.name, o.source.line, o.source.path])).toEqual([['a', 2, 'doc[0]'], ['b', 11, 'doc[2]']]);
    expect(r.skipped).toBe(0);
  });

  it('unwraps kubectl get -o yaml lists (kind List and typed *List)', () => {
    const text = `apiVersion: v1\nkind: List\nitems:\n- ${AP('a').replaceAll('\n', '\n  ').trimEnd()}\n- ${AP('b').replaceAll('\n', '\n  ').trimEnd()}\n`;
    const r = parseK8sObjects(text, 'list.yaml');
    expect(r.objects.map((o) => [o.metadata.name, o.source.path, o.source.line])).toEqual([['a', 'doc[0].items[0]', 4], ['b', 'doc[0].items[1]', 10]]);
    const typed = parseK8sObjects(JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicyList', items: [JSON.parse(JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'j' } }))] }), 'l.json');
    expect(typed.objects.map((o) => o.metadata.name)).toEqual(['j']);
  });

  it('gives the line of a nested field by path', () => {
    const text = `${AP('a').replace('spec: {}\n', 'spec:\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n')}`;
    const o = parseK8sObjects(text, 'f.yaml').objects[0]!;
    expect(o.source.lineAt!('.spec.rules[0].to[0].operation.methods')).toBe(10);
    // a missing leaf points at its nearest existing parent (a mapping starts at its first key)
    expect(o.source.lineAt!('.spec.rules[0].to[0].operation.paths')).toBe(10);
    expect(o.source.lineAt!('.spec.rules[0].to[0]')).toBe(9);
    expect(pathSegments('.spec.rules[3].when[0].key')).toEqual(['spec', 'rules', 3, 'when', 0, 'key']);
  });

  it('counts and explains documents that are not Kubernetes objects instead of dropping them silently', () => {
    const r = parseK8sObjects(`- a\n- b\n---\nfoo: bar\n---\n${AP('ok')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n`, 'x.yaml');
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['ok']);
    expect(r.skipped).toBe(3);
    expect(r.diagnostics.map((d) => [d.location.path, d.location.line])).toEqual([['doc[0]', 1], ['doc[1]', 4], ['doc[3].metadata.name', 13]]);
  });

  it('a YAML syntax error is one InputError naming file, line and document', () => {
    expect(() => parseK8sObjects(`${AP('a')}---\nkind: [unclosed\n`, 'bad.yaml')).toThrow(InputError);
    try {
      parseK8sObjects(`${AP('a')}---\nkind: [unclosed\n`, 'bad.yaml');
    } catch (e) {
      expect((e as InputError).message).toMatch(/^bad\.yaml, line \d+, at doc\[1\]: expected valid YAML, found /);
      expect((e as InputError).message.split('\n')).toHaveLength(1);
    }
  });
});

describe('readK8sPaths', () => {
  it('reads files and directories recursively, manifests only, in name order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-k8s-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'b.yaml'), AP('b'));
    writeFileSync(join(dir, 'a.yml'), AP('a'));
    writeFileSync(join(dir, 'sub', 'c.json'), JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'c', namespace: 'foo' }, spec: {} }));
    writeFileSync(join(dir, 'README.md'), '# not a manifest');
    const r = await readK8sPaths([dir]);
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(r.objects[2]!.source.file).toBe(join(dir, 'sub', 'c.json'));
  });

  it('a missing path rejects with the fs error (the CLI maps it to exit 2)', async () => {
    await expect(readK8sPaths(['/nonexistent/policy.yaml'])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
