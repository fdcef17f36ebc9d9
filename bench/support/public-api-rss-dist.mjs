/**
 * Child of the public-API bench: prints `rss=<bytes>` (the peak) and `young=<bytes>` over a
 * 10,000-node run (layered 100 x 100, instant function nodes) through the built package, as an
 * installed user runs it. Plain JavaScript on purpose: a .ts child would load Node's type
 * stripper (about 30 MB) and the library's sources instead of dist/. The shape is the one of
 * `layered(100, 100)` in shapes.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { defineWorkflow, Orchestrator } from 'ai-orchestrator';

const LAYERS = 100;
const WIDTH = 100;
const nodes = [];
for (let l = 0; l < LAYERS; l++) {
  for (let w = 0; w < WIDTH; w++) {
    const deps = l === 0 ? [] : [0, 1, 2].map((k) => `l${l - 1}_${(w + k) % WIDTH}`);
    nodes.push({ id: `l${l}_${w}`, agent: 'noop', task: 'noop', dependsOn: [...new Set(deps)] });
  }
}
const workflow = defineWorkflow({
  name: 'bench',
  agents: { noop: { systemPrompt: 'unused' } },
  concurrency: 64,
  limits: { maxNodes: 10_000 },
  nodes,
});
const functions = Object.fromEntries(nodes.map((n) => [n.id, () => 1]));
const here = path.dirname(new URL(import.meta.url).pathname);
const root = await mkdtemp(path.join(tmpdir(), 'orch-rss-'));
try {
  const orchestrator = await Orchestrator.open({
    config: { dataDir: root, sqliteSynchronous: 'full', logLevel: 'silent' },
    scenario: path.join(here, '..', '..', 'examples', 'hello', 'scenario.yaml'),
  });
  const handle = await orchestrator.startWorkflow(workflow, { functions });
  const result = await handle.result;
  await orchestrator.close();
  if (result.status !== 'completed') throw new Error(`bench workflow ended ${result.status}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
// maxRSS is in KiB. V8 does not give back a grown young generation while busy: its size now is its largest.
const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
process.stdout.write(`rss=${process.resourceUsage().maxRSS * 1024}\nyoung=${young?.space_size ?? 0}\n`);
