import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';

// The result cache with real agents: a second run of an identical node reuses the output
// instead of starting an agent, and says so in its events.
const workflow = parseWorkflow(
  `
name: cached
cache: { ttl: 1h }
agents:
  writer: { systemPrompt: "You are the writer.", tools: [Read] }
nodes:
  - { id: answer, agent: writer, task: "Say hello.", cache: true }
`,
  'cached.yaml',
);

const scenario = {
  name: 'cached',
  scripts: [{ name: 'writer', match: { system: 'You are the writer' }, turns: ['Hello from the writer.'] }],
};

describe('result cache', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-cache-'));
    const { compileScenario } = await import('../../src/model-server/index.ts');
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent' }, {}),
      scenario: compileScenario(scenario),
    });
  });
  afterAll(async () => {
    await orchestrator.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function runOnce(): Promise<AnyEvent[]> {
    const handle = await orchestrator.startWorkflow(workflow);
    const final = await handle.result;
    expect(final.status).toBe('completed');
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    return events;
  }

  it('runs the agent the first time and reuses its output the second time', async () => {
    const first = await runOnce();
    expect(first.filter((e) => e.type === 'agent.spawned')).toHaveLength(1);
    const firstDone = first.find((e) => e.type === 'node.completed');
    expect(firstDone?.data).toMatchObject({ nodeId: 'answer', output: 'Hello from the writer.' });
    expect(firstDone?.data).not.toHaveProperty('cached');

    const second = await runOnce();
    expect(second.filter((e) => e.type === 'agent.spawned')).toHaveLength(0);
    expect(second.find((e) => e.type === 'node.completed')?.data).toMatchObject({
      nodeId: 'answer',
      output: 'Hello from the writer.',
      cached: true,
    });
    expect(orchestrator.model.scripted?.requests.filter((r) => r.answer === 'turn')).toHaveLength(1);
  });
});
