import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotPool } from '../../../src/agents/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { NodeExecutor, WorkflowState } from '../../../src/workflow/index.ts';
import { type EngineKit, type EngineRun, startEngineKit, testWorkflow, until } from '../../support/engine-kit.ts';

/**
 * A stop (cancel, pause, suspend) injected at every await point of a node's start path, for
 * agent-shaped, human, approval and function nodes: no effect (an agent spawned, a question
 * asked) may follow it, nothing is left holding a process slot, and the run ends as the stop
 * says (cancelled; completed after resume; carried on by a new process after suspend).
 */

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

type Kind = 'agent' | 'human' | 'approval' | 'function';
type Stop = 'cancel' | 'pause' | 'suspend';

/** What a node of each kind did that costs something outside the log. */
interface Effects {
  readonly list: string[];
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * An executor shaped like the agent executor: it reserves a process slot (through the
 * engine), reads a cache, makes a workspace, then spawns (the effect) and works until done or
 * stopped. Every await is followed by a checkpoint, as the real one does.
 */
function agentShaped(pool: SlotPool, effects: Effects): NodeExecutor {
  return {
    external: true,
    slots: pool,
    async run(context) {
      await tick();
      context.checkpoint('cache');
      await tick();
      context.checkpoint('workspace');
      context.checkpoint('spawn');
      effects.list.push(`spawn:${context.node.id}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5);
        context.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (context.signal.aborted) return { ok: false, error: new Error('stopped') as never };
      return { ok: true, output: 'done' };
    },
  };
}

/**
 * One node of `kind` after a blocker that holds the only agent slot until it has seen the
 * node queued (so the agent-shaped node waits for a slot: the `slot` point exists).
 */
function scenario(kind: Kind, pool: SlotPool, effects: Effects) {
  const target =
    kind === 'agent'
      ? { id: 'target', kind: 'agent' as const }
      : kind === 'function'
        ? { id: 'target' }
        : { id: 'target', kind, prompt: 'ok?' };
  const workflow = testWorkflow({ concurrency: 4, nodes: [{ id: 'blocker', kind: 'agent' }, target] });
  const agent = agentShaped(pool, effects);
  const functions =
    kind === 'function'
      ? {
          target: async ({ signal }: { signal: AbortSignal }) => {
            await tick();
            if (signal.aborted) throw new Error('stopped');
            effects.list.push('function:target');
            return 'f';
          },
        }
      : undefined;
  return { workflow, executors: { agent }, functions };
}

/** Answers every open question of a run as it appears (human and approval nodes). */
function autoAnswer(run: EngineRun, effects: Effects): () => void {
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      for (const request of Object.values(run.wf.inputRequests)) {
        effects.list.push(`question:${request.nodeId}`);
        await run.run.answer(request.requestId, { approved: true }).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}

/** The points the target node's start passes through, in order, on an undisturbed run. */
async function pointsOf(kind: Kind): Promise<string[]> {
  const pool = new SlotPool(1);
  const effects: Effects = { list: [] };
  const points: string[] = [];
  const { workflow, executors, functions } = scenario(kind, pool, effects);
  const run = await kit.start(workflow, {
    executors,
    functions,
    probe: (point, nodeId) => {
      if (nodeId === 'target') points.push(point);
    },
  });
  const stop = autoAnswer(run, effects);
  const final = await run.run.run();
  stop();
  expect(final.status).toBe('completed');
  return points;
}

async function stopAt(kind: Kind, point: string, index: number, stopKind: Stop): Promise<void> {
  const where = `${stopKind} at ${kind}/${point}#${index}`;
  const pool = new SlotPool(1);
  const effects: Effects = { list: [] };
  const { workflow, executors, functions } = scenario(kind, pool, effects);
  let seen = 0;
  let effectsAtStop = -1;
  let stopped: Promise<void> | undefined;
  const run: EngineRun = await kit.start(workflow, {
    executors,
    functions,
    probe: (at, nodeId) => {
      if (nodeId !== 'target' || at !== point || seen++ !== 0) return;
      effectsAtStop = effects.list.length;
      if (stopKind === 'cancel') run.run.cancel('stop under test');
      else if (stopKind === 'pause') run.run.pause({ reason: 'stop under test', interruptRunning: true });
      else stopped = run.run.suspend();
    },
  });
  const stopAnswering = autoAnswer(run, effects);
  const done = run.run.run();
  await until(() => effectsAtStop >= 0, where);
  if (stopKind === 'pause') {
    await until(() => !['running', 'queued', 'awaiting_input'].includes(run.wf.nodes.target?.status ?? ''), where);
    await new Promise((resolve) => setTimeout(resolve, 15));
  } else {
    await done;
    await stopped;
  }
  const targetEffects = effects.list.slice(effectsAtStop).filter((e) => e.endsWith(':target'));
  expect(targetEffects, `${where}: effects after the stop`).toEqual([]);
  if (stopKind === 'cancel') {
    const final = await done;
    expect(final.status, where).toBe('cancelled');
    const late = after(await kit.events(run.sessionId), 'workflow.cancel_requested');
    const started = late.filter((e) => e.type === 'input.requested' || e.type === 'node.started');
    expect(started, `${where}: started after the cancel`).toEqual([]);
    expect(Object.keys(final.inputRequests), `${where}: questions left open`).toEqual([]);
  }
  if (stopKind === 'pause') {
    run.run.resume('go on');
    const final: WorkflowState = await done;
    expect(final.status, where).toBe('completed');
  }
  if (stopKind === 'suspend') {
    // Another process carries on from the log.
    const resumed = await kit.resume(run.sessionId, { executors, functions });
    const stopResumed = autoAnswer(resumed, effects);
    const final = await resumed.run.run();
    stopResumed();
    expect(final.status, where).toBe('completed');
  }
  stopAnswering();
  // Whatever happened, no process slot is left held, and the work ran at most once.
  await until(() => pool.active === 0 && pool.queued === 0, `${where}: slots given back`);
  const work = effects.list.filter((e) => e === 'spawn:target' || e === 'function:target');
  expect(work.length, `${where}: times the work ran`).toBeLessThanOrEqual(1);
}

function after(events: readonly AnyEvent[], type: string): AnyEvent[] {
  const index = events.findIndex((e) => e.type === type);
  return index < 0 ? [] : events.slice(index + 1);
}

describe('a stop at every await point of a node start', () => {
  it('lands: nothing starts after it, no slot is left held, and the run ends as the stop says', async () => {
    const points: Record<Kind, string[]> = {
      agent: await pointsOf('agent'),
      human: await pointsOf('human'),
      approval: await pointsOf('approval'),
      function: await pointsOf('function'),
    };
    // The agent-shaped start passes the slot wait, the node.started commit, the cache and the
    // workspace: the points the issue names.
    expect(points.agent).toEqual(['admitted', 'slot', 'node.started', 'cache', 'workspace', 'spawn']);
    expect(points.human).toEqual(['admitted', 'node.started']);
    const cases = Object.entries(points).flatMap(([kind, list]) =>
      list.map((point, index) => ({ kind: kind as Kind, point, index })),
    );
    // Every point of every kind, under every stop: the whole space, not a sample of it.
    let tried = 0;
    for (const { kind, point, index } of cases) {
      for (const stopKind of ['cancel', 'pause', 'suspend'] as const) {
        tried++;
        await stopAt(kind, point, index, stopKind);
      }
    }
    console.log(`stops injected: ${tried} (${cases.length} points x 3 kinds of stop), all landed`);
    expect(tried).toBe(cases.length * 3);
  }, 60_000);
});
