import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import type { WorkflowHandle } from '../../src/orchestrator/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { type CompiledWorkflow, parseWorkflow } from '../../src/workflow/index.ts';
import { agentProcesses, waitFor } from '../support/cli-kit.ts';

// "A stop that arrives at any point of a node's start or run stops it", proved on the real agent
// executor: the orchestrator's own composition (result cache, session workspace or worktree,
// the mirrored transcript, Claude Code spawned through the SDK against the scripted model).
// The engine's property test (test/workflow/engine/stops.property.test.ts) covers the engine's
// points with an agent-shaped executor and the real human, approval and function executors;
// this one runs the agent executor that users run, so an await added to it without a check
// shows up here. The points are found by running each shape undisturbed first, then a cancel
// and a suspend are injected at each of them in turn.

const scenario = parseScenario(
  `
name: stops
scripts:
  - name: writer
    match: { system: "You are the writer" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: out.txt, content: "written\\n" } } }]
      - content: [{ text: "Wrote out.txt." }]
        delay_ms: 300
`,
  'stops.yaml',
);

const writer = (name: string, node = '') =>
  parseWorkflow(
    `
name: ${name}
agents:
  writer: { systemPrompt: "You are the writer.", tools: [Write] }
nodes:
  - { id: target, agent: writer, task: "Write out.txt."${node && `, ${node}`} }
`,
    `${name}.yaml`,
  );

/**
 * The shapes of an agent node's start: a first attempt reading the result cache, one making a
 * worktree, and (`interruptFirst`) the attempt after an interruption, which reads the mirrored
 * transcript for an answer already given before it carries on the conversation.
 */
interface Shape {
  readonly workflow: CompiledWorkflow;
  readonly points: readonly string[];
  readonly interruptFirst?: boolean;
}
const shapes: Record<string, Shape> = {
  'shared, cached': {
    workflow: writer('cached', 'cache: { ttl: 1h }'),
    points: ['admitted', 'node.started', 'cache', 'workspace', 'spawn'],
  },
  isolated: {
    workflow: writer('isolated', 'workspace: isolated'),
    points: ['admitted', 'node.started', 'workspace', 'spawn'],
  },
  'after an interruption': {
    workflow: writer('interrupted'),
    points: ['admitted', 'node.started', 'workspace', 'transcript', 'spawn'],
    interruptFirst: true,
  },
};

let dir: string;
let cases = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-stops-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function eventsOf(orchestrator: Orchestrator, sessionId: string): Promise<AnyEvent[]> {
  const all: AnyEvent[] = [];
  for await (const event of orchestrator.log.readAll(sessionId)) all.push(event);
  return all;
}

/** An orchestrator on its own data directory (its own cache: no case sees another's result). */
async function open(probe: (point: string, nodeId: string) => void) {
  const dataDir = path.join(dir, `case-${++cases}`);
  const orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir, logLevel: 'silent' }, {}),
    scenario,
    probe,
  });
  return { orchestrator, dataDir };
}

const writerRequests = (orchestrator: Orchestrator) =>
  (orchestrator.model.scripted?.requests ?? []).filter((r) => r.script === 'writer');

/**
 * Starts the shape's workflow; with `interruptFirst`, pauses it (interrupting the node) once
 * its agent is half-way and resumes it. `arm` is called when the attempt under test is next.
 */
async function startShape(
  orchestrator: Orchestrator,
  shape: Shape,
  sessionId: string,
  arm: () => void,
): Promise<WorkflowHandle> {
  if (!shape.interruptFirst) arm();
  const handle = await orchestrator.startWorkflow(shape.workflow, { sessionId });
  if (shape.interruptFirst) {
    await waitFor(async () => (writerRequests(orchestrator).some((r) => r.turn === 1) ? true : undefined), 'turn 1', {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    handle.pause({ interruptRunning: true });
    await waitFor(async () => (handle.state.nodes.target?.status === 'retry_wait' ? true : undefined), 'interrupted', {
      timeoutMs: 30_000,
    });
    arm();
    handle.resume();
  }
  return handle;
}

/** The points the target passes through, in order, on an undisturbed run. */
async function pointsOf(shape: Shape): Promise<string[]> {
  const points: string[] = [];
  let armed = false;
  const { orchestrator } = await open((point, nodeId) => {
    if (armed && nodeId === 'target') points.push(point);
  });
  try {
    const handle = await startShape(orchestrator, shape, 'ses_points', () => {
      armed = true;
    });
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(final.nodes.target?.output).toBe('Wrote out.txt.');
  } finally {
    await orchestrator.close();
  }
  return points;
}

const spawnsOf = (events: readonly AnyEvent[]) =>
  events.filter((e) => e.type === 'agent.spawned' && e.data.nodeId === 'target');

async function stopAt(shape: Shape, point: string, stop: 'cancel' | 'suspend'): Promise<void> {
  const where = `${stop} at ${shape.workflow.name}/${point}`;
  const sessionId = `ses_stop_${cases + 1}`;
  const earlierSpawns = shape.interruptFirst ? 1 : 0;
  let armed = false;
  let fired = false;
  let requestsAtStop = -1;
  let suspended: Promise<void> | undefined;
  const stopNow = (handle: WorkflowHandle | undefined) => {
    if (!handle) throw new Error(`${where}: no handle of the run`);
    if (stop === 'cancel') handle.cancel('stop under test');
    else suspended = handle.suspend();
  };
  const { orchestrator, dataDir } = await open((at, nodeId) => {
    if (!armed || nodeId !== 'target' || at !== point || fired) return;
    fired = true;
    requestsAtStop = writerRequests(orchestrator).length;
    const handle = orchestrator.handle(sessionId);
    // The first point passes while the run is being built (the handle exists once the start
    // returns, in this same turn): the stop then lands in the next microtask, while
    // `node.started` commits, still before anything else of the node happened.
    if (handle) stopNow(handle);
    else queueMicrotask(() => stopNow(orchestrator.handle(sessionId)));
  });
  try {
    const handle = await startShape(orchestrator, shape, sessionId, () => {
      armed = true;
    });
    const final = await handle.result;
    await suspended;
    expect(fired, `${where}: the point was reached`).toBe(true);
    const events = await eventsOf(orchestrator, handle.sessionId);
    if (stop === 'cancel') {
      expect(final.status, where).toBe('cancelled');
      const cancelAt = events.find((e) => e.type === 'workflow.cancel_requested')?.seq ?? 0;
      const late = events.filter(
        (e) => e.seq > cancelAt && ['agent.spawned', 'node.started', 'input.requested'].includes(e.type),
      );
      expect(late, `${where}: started after the cancel`).toEqual([]);
      expect(spawnsOf(events), `${where}: agents spawned`).toHaveLength(earlierSpawns);
      expect(writerRequests(orchestrator), `${where}: model requests after the stop`).toHaveLength(requestsAtStop);
      // A worktree made for the attempt that never ran is removed with it.
      const worktree = path.join(dataDir, 'worktrees', sessionId, 'target-1');
      expect(await stat(worktree).catch(() => 'gone'), `${where}: the attempt's worktree`).toBe('gone');
    } else {
      expect(spawnsOf(events), `${where}: agents spawned before the resume`).toHaveLength(earlierSpawns);
      // Another owner carries on from the log: the work runs once, there.
      const resumed = await (await orchestrator.resumeSession(handle.sessionId)).result;
      expect(resumed.status, where).toBe('completed');
      expect(resumed.nodes.target?.output, where).toBe('Wrote out.txt.');
      const all = await eventsOf(orchestrator, handle.sessionId);
      expect(spawnsOf(all), `${where}: agents spawned`).toHaveLength(earlierSpawns + 1);
    }
  } finally {
    await orchestrator.close();
  }
  // No Claude Code process of this data directory outlives the run (spares included).
  const left = await waitFor(async () => ((await agentProcesses(dataDir)).length === 0 ? [] : undefined), where, {
    timeoutMs: 10_000,
    intervalMs: 100,
  }).catch(() => agentProcesses(dataDir));
  expect(left, `${where}: Claude Code processes left`).toEqual([]);
}

describe('a stop at every await point of an agent node start, on the real agent executor', () => {
  for (const [name, shape] of Object.entries(shapes)) {
    it(`${name}: lands at each point; a cancel leaves no agent, request or process, a suspend runs the work once on resume`, {
      timeout: 240_000,
    }, async () => {
      const points = await pointsOf(shape);
      expect(points).toEqual(shape.points);
      for (const point of points) {
        for (const stop of ['cancel', 'suspend'] as const) await stopAt(shape, point, stop);
      }
    });
  }
});
