import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { waitFor } from '../support/cli-kit.ts';

// Conversation continuity with real agents: a node carries on (or forks) an upstream node's
// SDK session, and a node interrupted mid-conversation resumes it on its next attempt. The
// scripted model answers turn N to a request carrying N earlier answers. Claude Code keeps the
// system prompt a conversation started with, so a continued conversation is still answered by
// the drafter's script, from its turn 2 on; a node that did not get the conversation would be
// answered by its own agent's script from turn 0 ("WRONG ...").
const scenario = parseScenario(
  `
name: conversation
scripts:
  - name: drafter
    match: { system: "You are the drafter" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: notes.md, content: "# Notes\\n" } } }]
      - "Draft written."
      - "Revised, knowing the draft."
      - "Branched from the revision."
  - name: others
    match: { system: "You are the (reviser|brancher)" }
    turns:
      - "WRONG: started without the draft's conversation"
  - name: slow
    match: { system: "You are slow" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: step1.txt, content: "one\\n" } } }]
      - content: [{ text: "Step two done." }]
        delay_ms: 2500
`,
  'conversation.yaml',
);

const continuity = parseWorkflow(
  `
name: continuity
agents:
  drafter: { systemPrompt: "You are the drafter.", tools: [Write, Read] }
  reviser: { systemPrompt: "You are the reviser.", tools: [Read] }
  brancher: { systemPrompt: "You are the brancher.", tools: [Read] }
nodes:
  - { id: draft, agent: drafter, task: "Draft notes.md." }
  - { id: revise, agent: reviser, task: "Revise the draft.", dependsOn: [draft], session: { from: draft } }
  - { id: branch, agent: brancher, task: "Try another angle.", dependsOn: [revise], session: { from: revise, fork: true } }
`,
  'continuity.yaml',
);

const interrupted = parseWorkflow(
  `
name: interrupted
agents:
  slow: { systemPrompt: "You are slow.", tools: [Write] }
nodes:
  - { id: work, agent: slow, task: "Do the two steps." }
`,
  'interrupted.yaml',
);

describe('conversation continuity', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-conversation-'));
    orchestrator = await Orchestrator.open({ config: loadConfig({ dataDir: dir, logLevel: 'silent' }, {}), scenario });
  });
  afterAll(async () => {
    await orchestrator.close();
    await rm(dir, { recursive: true, force: true });
  });

  const events = async (sessionId: string) => {
    const all: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(sessionId)) all.push(event);
    return all;
  };
  const sdkSessionOfNode = (all: AnyEvent[], nodeId: string) => {
    const agentId = all.find((e) => e.type === 'agent.spawned' && e.data.nodeId === nodeId)?.data.agentId;
    return all.find((e) => e.type === 'agent.progress' && e.data.agentId === agentId && e.data.kind === 'init')?.data
      .sdkSessionId;
  };

  it('carries on an upstream node’s conversation, or forks it into a new one', async () => {
    const handle = await orchestrator.startWorkflow(continuity);
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(final.nodes.revise?.output).toBe('Revised, knowing the draft.');
    expect(final.nodes.branch?.output).toBe('Branched from the revision.');

    const all = await events(handle.sessionId);
    const draftSession = sdkSessionOfNode(all, 'draft');
    expect(draftSession).toBeDefined();
    // Continuing keeps the SDK session id; forking gives a new one with the same history.
    expect(sdkSessionOfNode(all, 'revise')).toBe(draftSession);
    expect(sdkSessionOfNode(all, 'branch')).not.toBe(draftSession);
    const turnsOf = (script: string) =>
      (orchestrator.model.scripted?.requests ?? []).filter((r) => r.script === script).map((r) => r.turn);
    expect(turnsOf('drafter')).toEqual([0, 1, 2, 3]);
    expect(turnsOf('others')).toEqual([]);
  });

  it('resumes an interrupted node’s conversation on its next attempt instead of starting over', async () => {
    const handle = await orchestrator.startWorkflow(interrupted);
    const requests = () => (orchestrator.model.scripted?.requests ?? []).filter((r) => r.script === 'slow');
    await waitFor(async () => (requests().some((r) => r.turn === 1) ? true : undefined), 'the second turn', {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    await handle.suspend();
    expect((await handle.result).nodes.work?.status).toBe('retry_wait');

    const resumed = await orchestrator.resumeSession(handle.sessionId);
    const final = await resumed.result;
    expect(final.status).toBe('completed');
    expect(final.nodes.work?.output).toBe('Step two done.');

    const all = await events(handle.sessionId);
    const spawned = all.filter((e) => e.type === 'agent.spawned');
    expect(spawned).toHaveLength(2);
    const sessions = spawned.map((s) => {
      const init = all.find(
        (e) => e.type === 'agent.progress' && e.data.agentId === s.data.agentId && e.data.kind === 'init',
      );
      return init?.data.sdkSessionId;
    });
    expect(sessions[1]).toBe(sessions[0]);
    // The first step is not done again: the resumed conversation asks for the second turn.
    expect(requests().map((r) => r.turn)).toEqual([0, 1, 1]);
    expect(await readFile(path.join(resumed.workspace, 'step1.txt'), 'utf8')).toBe('one\n');
  });
});
