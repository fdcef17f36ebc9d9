import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishedAnswer } from '../../src/agents/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent, PendingEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { projectKeyOf } from '../../src/workspace/index.ts';
import { waitFor } from '../support/cli-kit.ts';

// Effects as intent and outcome, with real agents: an answer Claude Code had received when its
// process died is not asked for again, an isolated node's merge its process did not get to is
// finished by the next owner from the agent's durable result, and a forked session never
// writes its original's conversations (it branches them), so resuming both leaves each with
// its own.

const scenario = parseScenario(
  `
name: resume-effects
scripts:
  - name: answerer
    match: { system: "You are the answerer" }
    turns:
      - "The answer is 42."
  - name: isolated
    match: { system: "You work apart" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: apart.txt, content: "made apart\\n" } } }]
      - "Wrote apart.txt."
  - name: slow
    match: { system: "You are slow" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: step1.txt, content: "one\\n" } } }]
      - content: [{ text: "Step two done." }]
        delay_ms: 2500
`,
  'resume-effects.yaml',
);

const answer = parseWorkflow(
  `
name: answer
agents:
  answerer: { systemPrompt: "You are the answerer.", tools: [] }
nodes:
  - { id: ask, agent: answerer, task: "What is the answer?" }
`,
  'answer.yaml',
);

const twoSteps = parseWorkflow(
  `
name: two-steps
agents:
  slow: { systemPrompt: "You are slow.", tools: [Write] }
nodes:
  - { id: work, agent: slow, task: "Do the two steps." }
`,
  'two-steps.yaml',
);

const apart = parseWorkflow(
  `
name: apart
agents:
  apart: { systemPrompt: "You work apart.", tools: [Write] }
nodes:
  - { id: build, agent: apart, task: "Write apart.txt.", workspace: isolated }
`,
  'apart.yaml',
);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-resume-effects-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (dataDir: string) => loadConfig({ dataDir, logLevel: 'silent', leaseTtlMs: 1000 }, {});

async function eventsOf(orchestrator: Orchestrator, sessionId: string): Promise<AnyEvent[]> {
  const all: AnyEvent[] = [];
  for await (const event of orchestrator.log.readAll(sessionId)) all.push(event);
  return all;
}

/**
 * A store whose appends hang for good from the first one that records an agent's result on:
 * the process "dies" right after Claude Code delivered the answer, before it was recorded.
 */
function dyingAtResult(store: OrchestratorStore, died: () => void): OrchestratorStore {
  let dead = false;
  const append = (sessionId: string, events: readonly PendingEvent[], options?: object) => {
    if (dead || events.some((e) => e.type === 'agent.completed')) {
      dead = true;
      died();
      return new Promise<never>(() => undefined);
    }
    return store.append(sessionId, events, options);
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'append') return append;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * A store that goes silent once an agent's result is durable, as a process that dies right
 * after it: the append carrying `agent.completed` commits, then returns only after `holdMs`
 * (so the agent's result reaches its node when the lease's deadline has passed), and every
 * later append and lease renewal hangs. The node's merge, which confirms the lease before git
 * touches anything, waits there for good: the merge is left not done.
 */
function dyingAfterResult(store: OrchestratorStore, holdMs: number, died: () => void): OrchestratorStore {
  let dead = false;
  const append = async (sessionId: string, events: readonly PendingEvent[], options?: object) => {
    if (dead) return new Promise<never>(() => undefined);
    const committed = await store.append(sessionId, events, options);
    if (events.some((e) => e.type === 'agent.completed')) {
      dead = true;
      died();
      await new Promise((resolve) => setTimeout(resolve, holdMs));
    }
    return committed;
  };
  const renewLease = (...args: Parameters<OrchestratorStore['renewLease']>) =>
    dead ? new Promise<never>(() => undefined) : store.renewLease(...args);
  return new Proxy(store, {
    get(target, property) {
      if (property === 'append') return append;
      if (property === 'renewLease') return renewLease;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('resume after a process ended', () => {
  it('an answer already in the mirrored transcript completes the node without a new model call', {
    timeout: 90_000,
  }, async () => {
    const dataDir = path.join(dir, 'answered');
    const real = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
    let died = false;
    const first = await Orchestrator.open({
      config: config(dataDir),
      scenario,
      store: dyingAtResult(real, () => {
        died = true;
      }),
    });
    const handle = await first.startWorkflow(answer);
    await waitFor(async () => (died ? true : undefined), 'the answer to arrive', { timeoutMs: 60_000 });
    // What Claude Code mirrored of the conversation is in the store, up to its final answer.
    const init = (await eventsOf(first, handle.sessionId)).find(
      (e) => e.type === 'agent.progress' && e.data.kind === 'init',
    );
    const sdkSessionId = (init?.data as { sdkSessionId?: string } | undefined)?.sdkSessionId ?? '';
    const key = { projectKey: projectKeyOf(handle.workspace), sessionId: sdkSessionId };
    await waitFor(
      async () => finishedAnswer((await real.loadTranscript(key)) ?? [], false),
      'the final answer in the mirrored transcript',
      { timeoutMs: 30_000 },
    );
    expect(first.model.scripted?.requests).toHaveLength(1);
    // The dead process lets go of the session (as its lease lapsing would) and of its model.
    await first.leases.close();
    await first.model.close();

    const second = await Orchestrator.open({ config: config(dataDir), scenario });
    try {
      const resumed = await second.resumeSession(handle.sessionId);
      const final = await resumed.result;
      expect(final.status).toBe('completed');
      expect(final.nodes.ask?.output).toBe('The answer is 42.');
      expect(second.model.scripted?.requests ?? []).toHaveLength(0);
      const events = await eventsOf(second, handle.sessionId);
      const resumedAt = events.find((e) => e.type === 'session.resumed')?.seq ?? 0;
      expect(events.filter((e) => e.seq > resumedAt && e.type === 'agent.spawned')).toEqual([]);
    } finally {
      await second.close();
      await real.close();
    }
  });

  it('a fork branches the conversations it inherits: original and fork each carry on their own', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(dir, 'fork');
    const orchestrator = await Orchestrator.open({ config: config(dataDir), scenario });
    try {
      const requests = () => (orchestrator.model.scripted?.requests ?? []).filter((r) => r.script === 'slow');
      const handle = await orchestrator.startWorkflow(twoSteps);
      await waitFor(async () => (requests().some((r) => r.turn === 1) ? true : undefined), 'the second turn', {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
      await handle.suspend();
      await handle.result;
      const original = (await eventsOf(orchestrator, handle.sessionId)).find(
        (e) => e.type === 'agent.progress' && e.data.kind === 'init',
      )?.data as { sdkSessionId: string };

      const fork = await orchestrator.forkSession(handle.sessionId, { latest: true });
      const forked = await (await orchestrator.resumeSession(fork.sessionId)).result;
      expect(forked.status).toBe('completed');
      expect(forked.nodes.work?.output).toBe('Step two done.');
      const forkInits = (await eventsOf(orchestrator, fork.sessionId)).filter(
        (e) => e.type === 'agent.progress' && e.data.kind === 'init' && e.seq > fork.fromSeq,
      );
      const branched = (forkInits.at(-1)?.data as { sdkSessionId?: string } | undefined)?.sdkSessionId;
      expect(branched).toBeDefined();
      expect(branched).not.toBe(original.sdkSessionId);

      const resumed = await (await orchestrator.resumeSession(handle.sessionId)).result;
      expect(resumed.status).toBe('completed');
      const inits = (await eventsOf(orchestrator, handle.sessionId)).filter(
        (e) => e.type === 'agent.progress' && e.data.kind === 'init',
      );
      // The original carries on its own conversation, in place...
      expect((inits.at(-1)?.data as { sdkSessionId?: string } | undefined)?.sdkSessionId).toBe(original.sdkSessionId);
      // ...which the fork never wrote to: its resume asks for turn 1 again, as the fork's did,
      // not for a turn after the fork's answers.
      const carried = requests().filter((r) => r.turn === 1);
      expect(carried.length).toBe(3);
      expect(requests().map((r) => r.turn)).toEqual([0, 1, 1, 1]);
      expect(await readFile(path.join(handle.workspace, 'step1.txt'), 'utf8')).toBe('one\n');
    } finally {
      await orchestrator.close();
    }
  });
  it("finishes an isolated node's merge that its agent's durable result left not done, without a new agent run", {
    timeout: 90_000,
  }, async () => {
    const dataDir = path.join(dir, 'merge');
    const ttlMs = 600;
    const real = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
    let died = false;
    const first = await Orchestrator.open({
      config: loadConfig({ dataDir, logLevel: 'silent', leaseTtlMs: ttlMs }, {}),
      scenario,
      store: dyingAfterResult(real, ttlMs + 300, () => {
        died = true;
      }),
    });
    const handle = await first.startWorkflow(apart);
    await waitFor(async () => (died ? true : undefined), 'the agent to finish', { timeoutMs: 60_000 });
    const worktree = path.join(dataDir, 'worktrees', handle.sessionId, 'build-1');
    // The agent's file is in its worktree; the merge has not brought it to the workspace.
    expect(await readFile(path.join(worktree, 'apart.txt'), 'utf8')).toBe('made apart\n');
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 600));
    expect(await readFile(path.join(handle.workspace, 'apart.txt'), 'utf8').catch(() => 'absent')).toBe('absent');
    await first.model.close();

    // Another owner, once the lease lapsed: the merge is checked, found not done, and finished.
    const second = await Orchestrator.open({ config: config(dataDir), scenario });
    try {
      const resumed = await second.resumeSession(handle.sessionId);
      const final = await resumed.result;
      expect(final.status).toBe('completed');
      expect(final.nodes.build?.output).toBe('Wrote apart.txt.');
      expect(await readFile(path.join(handle.workspace, 'apart.txt'), 'utf8')).toBe('made apart\n');
      expect(second.model.scripted?.requests ?? []).toHaveLength(0);
      const events = await eventsOf(second, handle.sessionId);
      const resumedAt = events.find((e) => e.type === 'session.resumed')?.seq ?? 0;
      expect(events.filter((e) => e.seq > resumedAt && e.type === 'agent.spawned')).toEqual([]);
      expect(events.filter((e) => e.seq > resumedAt && e.type === 'node.interrupted')).toEqual([]);
      expect(events.find((e) => e.type === 'session.taken_over')?.data).toMatchObject({ reason: 'expired' });
      // The worktree went with the finished merge.
      expect(await readFile(path.join(worktree, 'apart.txt'), 'utf8').catch(() => 'gone')).toBe('gone');
    } finally {
      await second.close();
      await real.close();
    }
  });
});
