/**
 * The cost of run-time graph changes: 1,000 `add_nodes` calls of one node each on a run of
 * 1,000 nodes (so the plan grows from 1,000 to 2,000 nodes). Measured twice: the plan change
 * alone (`withAddedNodes`: checks and compile of the new node), and through the engine
 * (`WorkflowRun.addNodes`: plan change, `workflow.modified` committed to a SQLite log with
 * synchronous=normal, dependency tracker updated), by an operator and by an agent (its graph
 * policy checked, a `security.decision` recorded with each change). Until the graph's
 * additions were compiled on their own, each call compiled the whole definition again: the
 * cost grew with the graph (measured then: 10.2 s for the plan changes, 11.3 s through the
 * engine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventLog } from '../src/log/index.ts';
import { openEventStore } from '../src/store/index.ts';
import {
  applyEvent,
  type CompiledPlan,
  defineWorkflow,
  emptySessionState,
  functionExecutor,
  type NodeDefinition,
  planFromCompiled,
  WorkflowRun,
} from '../src/workflow/index.ts';
import type { BenchFigure } from './run.ts';

const BASE = 1000;
const CALLS = 1000;

function workflow() {
  const nodes: NodeDefinition[] = [{ id: 'gate', agent: 'fn', task: 'gate' }];
  for (let i = 1; i < BASE; i++)
    nodes.push({ id: `n${i}`, agent: 'fn', task: `run {{ nodes.gate.output }}`, dependsOn: ['gate'] });
  return defineWorkflow({
    name: 'bench',
    agents: { fn: { canModifyWorkflow: true, graph: { addNodes: { maxPerCall: 1000, maxPerRun: 10_000 } } } },
    limits: { maxNodes: BASE + CALLS, maxAddedNodes: CALLS },
    nodes,
  } as never);
}

const added = (i: number) => ({ id: `x${i}`, agent: 'fn', task: `added {{ nodes.gate.output }}`, dependsOn: ['gate'] });

function planOnly(): number {
  let plan: CompiledPlan = planFromCompiled(workflow());
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) plan = plan.withAddedNodes([added(i)], undefined);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function throughEngine(dir: string, by: string): Promise<number> {
  const compiled = workflow();
  const store = await openEventStore({
    kind: 'sqlite',
    path: path.join(dir, `g-${Math.random()}.db`),
    synchronous: 'normal',
  });
  const log = new EventLog(store);
  const sessionId = 'bench';
  const state = emptySessionState(sessionId);
  for (const event of await log.append(sessionId, [
    {
      type: 'workflow.started',
      data: { workflowId: 'wf', name: 'bench', inputs: {}, definition: compiled.definition },
    },
  ]))
    applyEvent(state, event);
  const gate = Promise.withResolvers<void>();
  const functions = { gate: () => gate.promise };
  const run = new WorkflowRun({
    log,
    sessionId,
    workflowId: 'wf',
    plan: planFromCompiled(compiled, { functions }),
    executors: new Map([['function', functionExecutor]]),
    state,
    workspace: dir,
  });
  const done = run.run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await run.addNodes([added(i)], by, { agentType: 'fn' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  run.cancel('bench over');
  gate.resolve();
  await done;
  await log.close();
  return ms;
}

export default async function (): Promise<BenchFigure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-graph-'));
  try {
    planOnly();
    const plan = Math.min(planOnly(), planOnly());
    const engine = Math.min(await throughEngine(dir, 'user'), await throughEngine(dir, 'user'));
    const agent = Math.min(await throughEngine(dir, 'agent:agt_bench'), await throughEngine(dir, 'agent:agt_bench'));
    return [
      { name: `${CALLS} add_nodes of 1 node on ${BASE} nodes: plan change only`, value: plan, unit: 'ms' },
      { name: `  per call`, value: (plan * 1000) / CALLS, unit: 'us' },
      { name: `${CALLS} add_nodes of 1 node on ${BASE} nodes: through the engine (SQLite)`, value: engine, unit: 'ms' },
      { name: `  per call`, value: (engine * 1000) / CALLS, unit: 'us' },
      { name: `  the same asked by an agent (policy checked, audited)`, value: agent, unit: 'ms' },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
