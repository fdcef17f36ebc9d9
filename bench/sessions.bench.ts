/**
 * Sessions (issue 5): snapshot write and verified load for a session of 10,000 events and one
 * of 1,000,000 events, beside a full replay of the same log; resume of a 10,000-node workflow
 * from its latest version (load + the events after it + compile + a run ready to go); and the
 * bytes a version stores as the session grows. Targets: load + resume of the 10,000-node
 * workflow under 500 ms; storage per version proportional to the change, not to the size.
 * SQLite store (synchronous=normal for the setup: the figures are about versions, not appends).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventDataMap, EventType, NewEvent } from '../src/events/index.ts';
import { EventLog } from '../src/log/index.ts';
import { SessionVersions, StateChunker } from '../src/sessions/index.ts';
import { SqliteEventStore } from '../src/store/index.ts';
import {
  applyEvent,
  compileWorkflow,
  emptySessionState,
  functionExecutor,
  planFromCompiled,
  replay,
  type SessionState,
  WorkflowRun,
} from '../src/workflow/index.ts';
import type { BenchFigure } from './run.ts';

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** The events of one agent node: 4 + `chatter` events (messages, tool calls, results, usage). */
function nodeEvents(workflowId: string, nodeId: string, chatter: number): NewEvent[] {
  const agentId = `agt_${nodeId}`;
  const events: NewEvent[] = [
    { type: 'node.started', data: { workflowId, nodeId, attempt: 1 } },
    { type: 'agent.spawned', data: { agentId, agentType: 'coder', nodeId, attempt: 1 } },
  ];
  for (let i = 0; i < chatter; i++) {
    const kind = i % 4;
    if (kind === 0) events.push({ type: 'agent.message', data: { agentId, text: `Working on ${nodeId}, step ${i}.` } });
    else if (kind === 1)
      events.push({
        type: 'agent.tool_use',
        data: { agentId, toolUseId: `tu_${nodeId}_${i}`, tool: 'Write', input: { file_path: `src/${nodeId}.ts` } },
      });
    else if (kind === 2)
      events.push({
        type: 'agent.tool_result',
        data: { agentId, toolUseId: `tu_${nodeId}_${i - 1}`, isError: false, content: 'written' },
      });
    else events.push({ type: 'agent.usage', data: { agentId, inputTokens: 1200 + i, outputTokens: 80 } });
  }
  events.push(
    {
      type: 'agent.completed',
      data: { agentId, output: `done ${nodeId}`, usage: { inputTokens: 5000, outputTokens: 400 }, costUsd: 0.01 },
    },
    { type: 'node.completed', data: { workflowId, nodeId, attempt: 1, output: `Summary of ${nodeId}.` } },
  );
  return events;
}

interface Built {
  readonly sessionId: string;
  readonly events: number;
  readonly nodes: number;
  readonly definition: unknown;
}

/** Appends a session: a workflow of `nodes` chained nodes, all but the last completed. */
async function buildSession(log: EventLog, sessionId: string, nodes: number, chatter: number): Promise<Built> {
  const workflowId = `wf_${sessionId}`;
  const definition = {
    name: 'big',
    limits: { maxNodes: nodes },
    agents: { coder: { systemPrompt: 'You write code.' } },
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `n${i}`,
      agent: 'coder',
      task: `Write module ${i}.`,
      dependsOn: i === 0 ? [] : [`n${i - 1}`],
    })),
  };
  let batch: NewEvent[] = [
    { type: 'session.created', data: { name: 'big', workspace: '/tmp/bench-workspace' } },
    { type: 'workflow.started', data: { workflowId, name: 'big', inputs: {}, definition } },
  ];
  let count = 0;
  const flush = async () => {
    await log.append(sessionId, batch);
    count += batch.length;
    batch = [];
  };
  for (let i = 0; i < nodes - 1; i++) {
    batch.push(...nodeEvents(workflowId, `n${i}`, chatter));
    if (batch.length >= 2000) await flush();
  }
  await flush();
  return { sessionId, events: count, nodes, definition };
}

async function replayTime(log: EventLog, sessionId: string): Promise<{ ms: number; state: SessionState }> {
  const start = process.hrtime.bigint();
  const state = emptySessionState(sessionId);
  for await (const event of log.readAll(sessionId)) applyEvent(state, event);
  return { ms: ms(start), state };
}

export default async function bench(): Promise<BenchFigure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-sessions-'));
  const store = await SqliteEventStore.open({ path: path.join(dir, 'events.db'), synchronous: 'normal' });
  const log = new EventLog(store);
  const versions = new SessionVersions(log, store);
  const figures: BenchFigure[] = [];
  try {
    for (const [label, nodes, chatter] of [
      ['10,000 events', 1_000, 6],
      ['1,000,000 events', 10_000, 96],
    ] as const) {
      const built = await buildSession(log, `ses_bench_${nodes}`, nodes, chatter);
      const replayed = await replayTime(log, built.sessionId);
      let start = process.hrtime.bigint();
      const record = await versions.take(replayed.state);
      const write = ms(start);
      start = process.hrtime.bigint();
      const loaded = await versions.load(built.sessionId, record.version);
      const load = ms(start);
      if (JSON.stringify(loaded.state.workflows).length !== JSON.stringify(replayed.state.workflows).length) {
        throw new Error('the loaded version differs from the replay');
      }
      figures.push(
        {
          name: `session of ${label} (${built.events.toLocaleString('en-US')}): full replay from the log`,
          value: replayed.ms,
          unit: 'ms',
        },
        { name: `session of ${label}: snapshot write (first version)`, value: write, unit: 'ms' },
        { name: `session of ${label}: verified snapshot load`, value: load, unit: 'ms' },
        { name: `session of ${label}: bytes stored by the first version`, value: record.newBytes, unit: 'bytes' },
      );
    }

    // Resume of the 10,000-node workflow: the newest version plus the events after it (a few
    // nodes' worth), the definition compiled, the plan built and the run constructed, ready to
    // start its next node.
    const sessionId = 'ses_bench_10000';
    const tail = await buildTail(log, sessionId);
    const resumeRuns: number[] = [];
    for (let round = 0; round < 5; round++) {
      const start = process.hrtime.bigint();
      const state = await versions.current(sessionId);
      const wf = Object.values(state.workflows)[0];
      if (!wf) throw new Error('no workflow');
      const compiled = compileWorkflow(wf.definition, { file: '<bench>' });
      const run = new WorkflowRun({
        log,
        sessionId,
        workflowId: wf.workflowId,
        plan: planFromCompiled(compiled),
        executors: new Map([['agent', functionExecutor]]),
        state,
        workspace: dir,
      });
      if (run.state.nodes.n9999?.status !== 'pending') throw new Error('the last node should be pending');
      resumeRuns.push(ms(start));
    }
    resumeRuns.sort((a, b) => a - b);
    figures.push({
      name: `resume of the 10,000-node workflow from its latest version (+${tail} events), median of 5`,
      value: resumeRuns[2] as number,
      unit: 'ms',
      target: '< 500',
    });
    const full = await replayTime(log, sessionId);
    figures.push({ name: 'the same state by a full replay of its log, for comparison', value: full.ms, unit: 'ms' });

    figures.push(...(await bytesPerVersion(versions)));
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}

/** A few more nodes completed after the version, so a resume has events to apply. */
async function buildTail(log: EventLog, sessionId: string): Promise<number> {
  const events = [9_990, 9_991, 9_992].flatMap((i) => nodeEvents(`wf_${sessionId}`, `n${i}b`, 20));
  // Nodes n9990b.. are not in the definition: the reducer ignores their node events, as it would
  // for any event of an unknown node, but the agent events still count as work to replay.
  await log.append(sessionId, events);
  return events.length;
}

/**
 * Bytes each version stores while a session grows from 1,000 to 10,000 nodes, one node
 * completing between two versions: with chunks shared between versions, the figure stays flat.
 */
async function bytesPerVersion(versions: SessionVersions): Promise<BenchFigure[]> {
  const sessionId = 'ses_bench_growth';
  const workflowId = 'wf_growth';
  const chunker = new StateChunker();
  // The state grows through the reducer, as a run's would: nodes added at run time, then one
  // of them completed between two versions.
  let seq = 0;
  const apply = <T extends EventType>(type: T, data: EventDataMap[T]) =>
    applyEvent(state, { type, data, seq: ++seq, ts: new Date().toISOString() } as never);
  const state = replay(sessionId, []);
  apply('workflow.started', { workflowId, name: 'growth', inputs: {}, definition: { name: 'growth', nodes: [] } });
  const figures: BenchFigure[] = [];
  let size = 0;
  for (const target of [1_000, 5_000, 10_000]) {
    const added = [];
    for (; size < target; size++) added.push({ id: `n${size}`, agent: 'coder', task: 'x', dependsOn: [] });
    apply('workflow.modified', { workflowId, by: 'bench', changes: [{ op: 'add_nodes', nodes: added }] });
    await versions.take(state, { chunker });
    apply('node.completed', { workflowId, nodeId: `n${size - 1}`, attempt: 1, output: `output of node ${size - 1}` });
    const start = process.hrtime.bigint();
    const record = await versions.take(state, { chunker });
    const took = ms(start);
    figures.push(
      {
        name: `version after one node completed, state of ${target.toLocaleString('en-US')} nodes: bytes stored`,
        value: record.newBytes,
        unit: 'bytes',
      },
      {
        name: `version after one node completed, state of ${target.toLocaleString('en-US')} nodes: time`,
        value: took,
        unit: 'ms',
      },
    );
  }
  return figures;
}
