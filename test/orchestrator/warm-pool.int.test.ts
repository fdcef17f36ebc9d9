import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { processesWithEnv, waitFor } from '../support/agent-kit.ts';

// The orchestrator with its warm pool on: agents of the same type in the session workspace
// follow one another, the second on a process pre-started there (SDK startup()), which the
// end of the run closes. With the model gateway off, and on (the default), where each spare
// holds a token of its own, bound to the agent that takes it.
const workflow = parseWorkflow(
  `
name: warm-chain
agents:
  writer: { systemPrompt: "You are the chain writer.", tools: [Write] }
nodes:
  - { id: first, agent: writer, task: "Write first.txt" }
  - { id: second, agent: writer, task: "Write second.txt", dependsOn: [first] }
`,
  'warm-chain.yaml',
);

// The first agent's work takes a while after its first answer, as a real model's does: time
// for the spare started at that answer to be ready when the second node starts.
const scenario = compileScenario({
  name: 'warm-chain',
  scripts: [
    {
      name: 'first',
      match: { user: '^Write first\\.txt' },
      turns: [
        { content: [{ tool_use: { name: 'Write', input: { file_path: 'first.txt', content: '1\n' } } }] },
        { content: [{ text: 'Wrote first.txt.' }], delay_ms: 4000 },
      ],
    },
    {
      name: 'second',
      match: { user: '^Write second\\.txt' },
      turns: [
        { content: [{ tool_use: { name: 'Write', input: { file_path: 'second.txt', content: '2\n' } } }] },
        'Wrote second.txt.',
      ],
    },
  ],
});

describe.each([
  { mode: 'gateway off', gateway: false },
  { mode: 'behind the gateway', gateway: true },
])('orchestrator with the warm pool ($mode)', ({ gateway }) => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-warm-'));
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', warmPool: 1, gateway }, {}),
      scenario,
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the next agent of a type in the session workspace on a start-up spare, and closes spares at the end', {
    timeout: 60_000,
  }, async () => {
    const handle = await orchestrator.startWorkflow(workflow);
    const final = await handle.result;
    expect(final.status).toBe('completed');
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);

    const agentOf = (nodeId: string) =>
      events.find((e) => e.type === 'agent.spawned' && (e.data as { nodeId?: string }).nodeId === nodeId)?.data as {
        agentId: string;
      };
    const warmStart = (nodeId: string) =>
      events.find(
        (e) =>
          e.type === 'agent.progress' &&
          (e.data as { kind: string }).kind === 'warm_start' &&
          (e.data as { agentId: string }).agentId === agentOf(nodeId).agentId,
      )?.data as { text: string } | undefined;
    expect(warmStart('first')).toBeUndefined();
    expect(warmStart('second')?.text).toMatch(/^took a start-up spare/);
    // The policy bound to the spare decided for the second node's agent.
    expect(
      events.filter((e) => e.type === 'security.decision').map((e) => [(e.data as { agentId: string }).agentId]),
    ).toContainEqual([agentOf('second').agentId]);
    if (gateway) {
      // The spare's requests are the second node's agent's: its spare token was bound to it.
      const requests = events.filter((e) => e.type === 'model.request').map((e) => e.data as Record<string, unknown>);
      const second = requests.filter((d) => d.agentId === agentOf('second').agentId);
      expect(second.length).toBeGreaterThan(0);
      expect(second.every((d) => d.ok === true)).toBe(true);
      expect(
        requests.every((d) => d.agentId === agentOf('first').agentId || d.agentId === agentOf('second').agentId),
      ).toBe(true);
      expect(orchestrator.gateway?.stats.refused).toBe(0);
    } else {
      expect(orchestrator.gateway).toBeUndefined();
    }

    // The run is over: no agent will work in its workspace any more, so its spares are gone.
    expect(await waitFor(() => orchestrator.agents.warmFolderSpares === 0, 10_000)).toBe(true);
    expect(await waitFor(() => orchestrator.agents.processes.size === 0, 10_000)).toBe(true);
  });

  it('leaves no Claude Code process of its own after close', async () => {
    await orchestrator.close();
    expect(processesWithEnv(`CLAUDE_CONFIG_DIR=${path.join(dir, 'claude')}`)).toEqual([]);
  });
});
