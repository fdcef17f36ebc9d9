import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { defineWorkflow, type PlanFunctions } from '../../src/workflow/index.ts';

// Two caps, through the public API with real agents on the scripted model: agent processes
// (ORCHESTRATOR_MAX_AGENTS) and the workflow's other nodes (ORCHESTRATOR_MAX_NODES). A
// workflow without `concurrency` of its own runs its function nodes far beyond the agent cap
// while its agents stay within it.

const AGENTS = ['a1', 'a2', 'a3'];
const FUNCTIONS = Array.from({ length: 8 }, (_, i) => `f${i}`);

const workflow = defineWorkflow({
  name: 'caps',
  agents: { worker: { systemPrompt: 'You are the worker.', tools: [] } },
  nodes: [
    ...AGENTS.map((id) => ({ id, agent: 'worker', task: `Say ${id}.`, dependsOn: [] })),
    ...FUNCTIONS.map((id) => ({ id, agent: 'worker', task: 'unused', dependsOn: [] })),
  ],
});

const scenario = compileScenario({
  name: 'caps',
  scripts: [{ name: 'worker', match: { system: 'You are the worker' }, turns: ['Done.'] }],
});

/** Function nodes that each wait until all of them run at once; they fail after 20 s otherwise. */
function allAtOnce(ids: readonly string[]) {
  let running = 0;
  let peak = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const functions: PlanFunctions = Object.fromEntries(
    ids.map((id) => [
      id,
      async () => {
        peak = Math.max(peak, ++running);
        if (running === ids.length) open();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            opened,
            new Promise((_, reject) => {
              timer = setTimeout(reject, 20_000, new Error(`only ${running} function nodes ran at once`));
            }),
          ]);
          return id;
        } finally {
          clearTimeout(timer);
        }
      },
    ]),
  );
  return { functions, peak: () => peak };
}

describe('the agent cap and the node cap', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-caps-'));
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', maxConcurrentAgents: 1, warmPool: 0 }, {}),
      scenario,
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs function nodes beyond the agent cap while agent nodes run one at a time', async () => {
    expect(orchestrator.config.maxConcurrentNodes).toBe(64);
    const fns = allAtOnce(FUNCTIONS);
    const handle = await orchestrator.startWorkflow(workflow, { functions: fns.functions });
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(fns.peak()).toBe(FUNCTIONS.length);

    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    // In log order, never two agent nodes between their start and their end.
    let running = 0;
    let peak = 0;
    for (const event of events) {
      const nodeId = (event.data as { nodeId?: string }).nodeId ?? '';
      if (!AGENTS.includes(nodeId)) continue;
      if (event.type === 'node.started') peak = Math.max(peak, ++running);
      if (event.type === 'node.completed' || event.type === 'node.failed') running--;
    }
    expect(peak).toBe(1);
    // The agents the cap held back were recorded queued (shown as such), each before its start.
    const queued = events.filter((e) => e.type === 'node.queued');
    expect(queued.map((e) => (e.data as { nodeId: string }).nodeId).sort()).toEqual(AGENTS.slice(1));
    for (const event of queued) expect(event.data).toMatchObject({ held: true, attempt: 1 });
    expect(events.filter((e) => e.type === 'agent.spawned')).toHaveLength(AGENTS.length);
    expect(events.filter((e) => e.type === 'node.completed')).toHaveLength(AGENTS.length + FUNCTIONS.length);
  }, 180_000);
});
