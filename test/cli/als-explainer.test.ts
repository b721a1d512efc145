/** collect --config's worker thread: its answers, in order, and what happens when it cannot run. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { WorkerExplainer } from '../../src/cli/als-explainer.js';
import { explanationText, type ToExplain } from '../../src/analysis/als-sink.js';
import { loadConfigDumps } from '../../src/readers/configdump/index.js';
import { deciderFor } from '../../src/cli/explain-run.js';
import { alsTypes, messageToJson, type AlsLine } from '../../src/readers/accesslog/als.js';
import { detailsAlsMessage } from '../../src/synth/hostile.js';
import type { JsonValue } from '../../src/model/attrs.js';
import { REPO } from '../helpers/cli.js';

const CONFIG = join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');

/** `n` collected entries as `collect` queues them (decoded from the wire), with their JSON text. */
function entries(n: number, first: number): ToExplain[] {
  const t = alsTypes().message;
  const m = messageToJson(t, t.decode(t.encode(t.fromObject(detailsAlsMessage(n, first))).finish()));
  const list = (m.http_logs as { log_entry: Record<string, JsonValue>[] }).log_entry;
  return list.map((entry, i) => {
    const line: AlsLine = { type: 'als', kind: 'http', node: 'sidecar~10.244.2.72~details-v1-5f4d584748-vn4cx.default~default.svc.cluster.local', logName: 'envoy-als', stream: 's#1', index: first + i, received: '2026-11-22T14:00:00.000Z', entry };
    return { line, text: JSON.stringify(line) };
  });
}

describe('collect --config worker thread', () => {
  it('answers batches in the order they were sent, with the explanations the main thread would write', async () => {
    const decide = deciderFor((await loadConfigDumps([CONFIG])).dumps);
    const failures: string[] = [];
    const x = new WorkerExplainer([CONFIG], decide, (why) => failures.push(why));
    const batches = [entries(40, 0), entries(1, 40), entries(25, 41)];
    const answers = await Promise.all(batches.map((b) => x.explain(b)));
    await x.close();
    expect(failures).toEqual([]);
    const here = deciderFor((await loadConfigDumps([CONFIG])).dumps);
    expect(answers).toEqual(batches.map((b) => b.map((e) => explanationText(e.line, here))));
    expect(new Set(answers.flat().map((a) => (JSON.parse(a) as { verdict: string }).verdict))).toEqual(new Set(['agrees', 'disagrees']));
  });

  it('a worker that cannot load the config says why, and every batch is explained on the main thread instead', async () => {
    const decide = deciderFor((await loadConfigDumps([CONFIG])).dumps);
    const failures: string[] = [];
    const x = new WorkerExplainer([join(REPO, 'no-such-dir/config_dump.json')], decide, (why) => failures.push(why));
    const batches = [entries(10, 0), entries(10, 10)];
    const answers = await Promise.all(batches.map((b) => x.explain(b)));
    const later = await x.explain(entries(3, 20));
    await x.close();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/no-such-dir\/config_dump\.json/);
    expect(answers).toEqual(batches.map((b) => b.map((e) => explanationText(e.line, decide))));
    expect(later).toHaveLength(3);
  });
});
