import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../src/agents/index.ts';
import type { OrchestratorError } from '../../src/errors/index.ts';
import {
  type AnyEvent,
  type EventDataMap,
  type EventType,
  type NewEvent,
  prepareEvent,
} from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { Monitor, type MonitorOptions } from '../../src/monitor/index.ts';
import { openEventStore } from '../../src/store/index.ts';

// The live monitor on a real event log (SQLite in a temporary folder): it records alerts and
// exhausted budgets as events, once, refuses spawns past a budget, and stops or pauses work.

let dir: string;
let log: EventLog;
let monitor: Monitor | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orch-monitor-'));
  log = new EventLog(await openEventStore({ kind: 'sqlite', path: join(dir, 'events.db'), synchronous: 'normal' }));
});

afterEach(async () => {
  await monitor?.close();
  monitor = undefined;
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

function start(options: Omit<MonitorOptions, 'log'> = {}): Monitor {
  monitor = new Monitor({ log, tickMs: 0, ...options }).start();
  return monitor;
}

function event<T extends EventType>(type: T, data: EventDataMap[T]): NewEvent {
  return { type, data } as NewEvent;
}

async function read(sessionId: string): Promise<AnyEvent[]> {
  const out: AnyEvent[] = [];
  for await (const e of log.readAll(sessionId)) out.push(e);
  return out;
}

/**
 * Lets the monitor take in everything published so far, then closes it, which waits for the
 * events it is appending: after this, the log holds every decision it will ever make.
 */
async function drained(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await monitor?.close();
}

/** Waits until the session's log satisfies `check` (the monitor appends asynchronously). */
async function until(sessionId: string, check: (events: AnyEvent[]) => boolean): Promise<AnyEvent[]> {
  for (let i = 0; i < 200; i++) {
    const events = await read(sessionId);
    if (check(events)) return events;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out waiting for the monitor');
}

const started = (definition: Record<string, unknown>) => [
  event('session.created', { name: 'flow' }),
  event('workflow.started', {
    workflowId: 'wf_1',
    name: 'flow',
    definition: { name: 'flow', nodes: [], ...definition },
  }),
  event('agent.spawned', { agentId: 'agt_1', agentType: 'coder', workflowId: 'wf_1' }),
];

const usage = (output: number) =>
  event('agent.usage', { agentId: 'agt_1', model: 'claude-sonnet-4-5', inputTokens: 0, outputTokens: output });

describe('Monitor', () => {
  it("records the alerts of a workflow's own rules, once, as events of its session", async () => {
    start();
    await log.append('s1', started({ alerts: { maxCost: { session: 0.01 } } }));
    await log.append('s1', [usage(1000)]); // $0.015
    await log.append('s1', [usage(1000)]);
    await drained();
    const events = await read('s1');
    const alerts = events.filter((e) => e.type === 'system.alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      source: 'monitor',
      data: { rule: 'max_session_cost', state: 'raised', threshold: 0.01, value: 0.015 },
    });
    expect(alerts[0]?.causationId).toBe(events.find((e) => e.type === 'agent.usage')?.id);
    const metrics = await monitor?.metrics('s1');
    expect(metrics?.alertsRaised).toBe(1);
    expect(metrics?.session.outputTokens).toBe(2000);
  });

  it('refuses a spawn past the budget, records it once, and stops the agents in scope', async () => {
    const stopped: { which: (agent: RunningAgent) => boolean; error: OrchestratorError }[] = [];
    start({
      budget: { session: undefined, workflow: 0.01, agentTypes: {}, onExhausted: undefined },
      agents: {
        stopAgents(which, error) {
          stopped.push({ which, error });
          return 1;
        },
      },
    });
    await log.append('s1', started({}));
    await new Promise((resolve) => setImmediate(resolve));
    const request = { sessionId: 's1', workflowId: 'wf_1', agentType: 'coder', agentId: 'agt_2', nodeId: 'n' };
    const before = monitor?.admit(request);
    expect(before).toEqual({ ok: true, maxBudgetUsd: 0.01 });

    await log.append('s1', [usage(1000)]); // $0.015 > $0.01: reached while agt_1 runs
    const events = await until('s1', (all) => all.some((e) => e.type === 'budget.exhausted'));
    expect(events.find((e) => e.type === 'budget.exhausted')?.data).toMatchObject({
      scope: 'workflow',
      key: 'wf_1',
      limitUsd: 0.01,
      spentUsd: 0.015,
      action: 'fail',
    });
    expect(stopped).toHaveLength(1);
    expect(stopped[0]?.error.code).toBe('BUDGET_EXHAUSTED');
    const agent = (workflowId: string) => ({ ...request, workflowId, agentId: 'x' });
    expect(stopped[0]?.which(agent('wf_1'))).toBe(true);
    expect(stopped[0]?.which(agent('wf_other'))).toBe(false);

    const refused = monitor?.admit(request);
    expect(refused).toMatchObject({ ok: false, error: { code: 'BUDGET_EXHAUSTED' } });
    expect(refused?.ok === false && refused.error.message).toMatch(
      /workflow wf_1 has spent \$0\.0150 of its \$0\.01 limit/,
    );
    await drained();
    expect((await read('s1')).filter((e) => e.type === 'budget.exhausted')).toHaveLength(1);
  });

  it('pauses the workflow instead when the budget says so, and refuses before any spending', async () => {
    const paused: string[] = [];
    start({
      budget: { session: 0, workflow: undefined, agentTypes: {}, onExhausted: 'pause' },
      onPause: (sessionId, workflowId, reason) => paused.push(`${sessionId} ${workflowId} ${reason}`),
    });
    await log.append('s1', started({}));
    await new Promise((resolve) => setImmediate(resolve));
    const verdict = monitor?.admit({
      sessionId: 's1',
      workflowId: 'wf_1',
      agentType: 'coder',
      agentId: 'a',
      nodeId: undefined,
    });
    expect(verdict?.ok).toBe(false);
    expect(paused).toEqual(['s1 wf_1 budget exhausted: session s1 has spent $0.0000 of its $0 limit']);
    await until('s1', (all) => all.some((e) => e.type === 'budget.exhausted' && e.data.action === 'pause'));
  });

  it('carries on from a loaded log without raising again what the log holds', async () => {
    const history = await log.append('s1', [
      ...started({ alerts: { maxCost: { session: 0.01 } } }),
      usage(1000),
      event('system.alert', { rule: 'max_session_cost', severity: 'warning', message: 'm', state: 'raised' }),
    ]);
    start();
    monitor?.load('s1', history);
    await log.append('s1', [usage(1000)]);
    await drained();
    expect((await read('s1')).filter((e) => e.type === 'system.alert')).toHaveLength(1);
    expect((await monitor?.metrics('s1'))?.session.outputTokens).toBe(2000);
  });

  it('drops the oldest finished sessions beyond keepFinishedNodes, keeping the newest; dropped ones replay', async () => {
    start({ keepFinishedNodes: 5 });
    const run = async (sessionId: string, nodes: number) => {
      const steps = Array.from({ length: nodes }, (_, i) => [
        event('node.started', { workflowId: 'wf_1', nodeId: `n${i}`, attempt: 1 }),
        event('node.completed', { workflowId: 'wf_1', nodeId: `n${i}`, attempt: 1 }),
      ]).flat();
      await log.append(sessionId, [...started({}), ...steps]);
      await log.append(sessionId, [event('workflow.completed', { workflowId: 'wf_1', status: 'completed' })]);
      await new Promise((resolve) => setImmediate(resolve));
    };
    // Written to the store without passing the bus: only a replay from the log sees this node,
    // so a session's figures tell whether the monitor still held it live or had dropped it.
    const behindTheBus = (sessionId: string) =>
      log.store.append(sessionId, [
        prepareEvent(event('node.started', { workflowId: 'wf_1', nodeId: 'unseen', attempt: 1 })),
      ]);
    const sees = async (sessionId: string) =>
      'unseen' in ((await monitor?.metrics(sessionId))?.workflows.wf_1?.nodes ?? {});

    await run('small', 2);
    await behindTheBus('small');
    expect(await sees('small')).toBe(false); // held live: 2 nodes, within 5
    await run('big', 4);
    await behindTheBus('big');
    expect(await sees('small')).toBe(true); // 6 nodes > 5: the oldest was dropped, replayed
    // A late event of a dropped session does not start partial figures: it still replays whole.
    await log.append('small', [event('node.started', { workflowId: 'wf_1', nodeId: 'late', attempt: 1 })]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await sees('small')).toBe(true);
    expect(Object.keys((await monitor?.metrics('small'))?.workflows.wf_1?.nodes ?? {})).toHaveLength(4);
    expect(await sees('big')).toBe(false); // the newest stays
    await run('huge', 8);
    await behindTheBus('huge');
    expect(await sees('big')).toBe(true);
    expect(await sees('huge')).toBe(false); // over the bound alone, but the newest is kept
    expect((await monitor?.metrics('huge'))?.workflows.wf_1?.stepsCompleted).toBe(8);
  });

  it('builds traces and Prometheus figures from the same events', async () => {
    start({ tracing: { exporter: 'memory' } });
    await log.append('s1', [...started({}), usage(10), event('agent.completed', { agentId: 'agt_1' })]);
    await log.append('s1', [event('workflow.completed', { workflowId: 'wf_1', status: 'completed' })]);
    await new Promise((resolve) => setImmediate(resolve));
    const names = monitor?.tracing?.memory?.getFinishedSpans().map((span) => span.name);
    expect(names).toEqual(['chat claude-sonnet-4-5', 'invoke_agent coder', 'workflow flow', 'session flow']);
    expect(await monitor?.prometheusText()).toContain('orchestrator_agents_spawned_total{agent_type="coder"} 1');
  });
});
