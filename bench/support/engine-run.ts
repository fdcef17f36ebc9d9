import { rm } from 'node:fs/promises';
import path from 'node:path';
import { SlotPool } from '../../src/agents/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import {
  applyEvent,
  emptySessionState,
  functionExecutor,
  type NodeExecutor,
  planFromCompiled,
  WorkflowRun,
} from '../../src/workflow/index.ts';
import { type BenchShape, instantWorkflow } from './shapes.ts';

/**
 * One run of a shape on the engine alone (`WorkflowRun` over a SQLite log, no orchestrator):
 * the reference the scheduler bench reports and the public-API bench measures beside its own
 * runs, so that what the public API adds can be told from how fast the machine is just then.
 */

/** Wall and CPU time of one run, microseconds. */
export interface EngineTiming {
  wall: number;
  cpu: number;
}

/** How the engine runs. */
export interface EngineMode {
  readonly synchronous: 'full' | 'normal';
  /** The session's lease taken and every append fenced with its token, as a real run does. */
  readonly fenced: boolean;
  /** Nodes with outside effects: a process slot and an awaited `node.started` each. */
  readonly agentShaped: boolean;
  readonly label: string;
}

/** Instant nodes that behave like agent nodes towards the engine (slot, awaited start). */
function agentShaped(): NodeExecutor {
  return { external: true, slots: new SlotPool(1000), run: async () => ({ ok: true, output: 1 }) };
}

/**
 * Runs `shape` once on a fresh database in `dir`. Timed from the engine's start to its result:
 * the store's opening and the `workflow.started` append come before.
 */
export async function engineRun(
  shape: BenchShape,
  dir: string,
  mode: EngineMode,
  concurrency = 1000,
): Promise<EngineTiming> {
  const { synchronous } = mode;
  const { workflow, functions } = instantWorkflow(shape, concurrency);
  const file = path.join(dir, `${synchronous}-${shape.nodes.length}-${Math.random()}.db`);
  const store = await openEventStore({ kind: 'sqlite', path: file, synchronous });
  const log = new EventLog(store);
  const sessionId = 'bench';
  if (mode.fenced) {
    const owner = { ownerId: 'bench', host: 'bench', pid: process.pid };
    const { lease } = await store.acquireLease(sessionId, owner, { ttlMs: 10_000 });
    log.fence(sessionId, lease.token);
  }
  const state = emptySessionState(sessionId);
  for (const event of await log.append(sessionId, [
    {
      type: 'workflow.started',
      data: { workflowId: 'wf', name: 'bench', inputs: {}, definition: workflow.definition },
    },
  ]))
    applyEvent(state, event);
  const plan = planFromCompiled(workflow, { functions });
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const run = new WorkflowRun({
    log,
    sessionId,
    workflowId: 'wf',
    plan,
    executors: new Map([['function', mode.agentShaped ? agentShaped() : functionExecutor]]),
    state,
    workspace: dir,
  });
  const final = await run.run();
  const wall = Number(process.hrtime.bigint() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (final.status !== 'completed') throw new Error(`bench workflow ended ${final.status}`);
  await log.close();
  // Gone at once: a bench makes dozens of these (up to 10 MB each for 10,000 nodes).
  await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${file}${suffix}`, { force: true })));
  return { wall, cpu: used.user + used.system };
}
