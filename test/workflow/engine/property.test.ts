import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import {
  type PlanFunctions,
  replay,
  type SessionState,
  TERMINAL_NODE_STATUSES,
  type TriggerRule,
  type WorkflowState,
} from '../../../src/workflow/index.ts';
import { applyAll, type EngineKit, startEngineKit, type TestNode, testWorkflow } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

type Outcome = 'ok' | 'fail' | 'flaky' | 'always_flaky' | 'async_ok';

interface NodeSpec {
  deps: boolean[];
  trigger: TriggerRule;
  outcome: Outcome;
  condition: 'none' | 'true' | 'false';
  grouped: boolean;
}

const nodeSpec = (index: number) =>
  fc.record({
    deps: fc.array(fc.boolean(), { minLength: index, maxLength: index }),
    trigger: fc.constantFrom<TriggerRule>('all_success', 'all_done', 'none_failed'),
    outcome: fc.constantFrom<Outcome>('ok', 'ok', 'async_ok', 'fail', 'flaky', 'always_flaky'),
    condition: fc.constantFrom('none', 'none', 'none', 'true', 'false' as const),
    grouped: fc.boolean(),
  });

const scenario = fc.record({
  specs: fc.integer({ min: 1, max: 7 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeSpec(i)))),
  onFailure: fc.constantFrom('fail_fast' as const, 'continue' as const),
  concurrency: fc.integer({ min: 1, max: 3 }),
  groupLimit: fc.integer({ min: 1, max: 2 }),
});

function build(specs: NodeSpec[]) {
  const nodes: TestNode[] = specs.map((spec, i) => ({
    id: `n${i}`,
    dependsOn: spec.deps.flatMap((on, j) => (on ? [`n${j}`] : [])),
    trigger: spec.trigger,
    retry: { attempts: 2, backoff: { initial: 1, max: 1 } },
    ...(spec.condition !== 'none' && { condition: spec.condition }),
    ...(spec.grouped && { group: 'g' }),
  }));
  const calls = new Map<string, number>();
  const functions: PlanFunctions = Object.fromEntries(
    specs.map((spec, i) => {
      const id = `n${i}`;
      return [
        id,
        async ({ nodes: upstream }) => {
          const call = (calls.get(id) ?? 0) + 1;
          calls.set(id, call);
          const output = { id, upstream: Object.keys(upstream).length };
          switch (spec.outcome) {
            case 'ok':
              return output;
            case 'async_ok':
              await new Promise((resolve) => setImmediate(resolve));
              return output;
            case 'fail':
              throw new OrchestratorError('AGENT_FAILED', `${id} fails`);
            case 'flaky':
              if (call === 1) throw new OrchestratorError('AGENT_NETWORK', `${id} flaky`);
              return output;
            case 'always_flaky':
              throw new OrchestratorError('AGENT_NETWORK', `${id} keeps failing`);
          }
        },
      ];
    }),
  );
  return { nodes, functions };
}

/** What must agree between the engine's live state and a replay of its log. */
function essence(wf: WorkflowState | undefined) {
  if (!wf) return undefined;
  return {
    status: wf.status,
    error: wf.error?.code,
    nodes: Object.fromEntries(
      Object.values(wf.nodes).map((n) => [
        n.id,
        {
          status: n.status,
          output: n.output,
          attempts: n.attempts,
          interruptions: n.interruptions,
          error: n.error?.code,
        },
      ]),
    ),
  };
}

/** Checks that no node started before each of its dependencies had settled, in log order. */
function startedAfterDependencies(events: AnyEvent[], dependsOn: Record<string, string[]>): void {
  const settled = new Set<string>();
  for (const event of events) {
    const id = (event.data as { nodeId?: string }).nodeId as string;
    if (['node.completed', 'node.skipped', 'node.cancelled'].includes(event.type)) settled.add(id);
    if (event.type === 'node.failed' && !(event.data as { willRetry: boolean }).willRetry) settled.add(id);
    if (event.type === 'node.started') for (const dep of dependsOn[id] ?? []) expect(settled.has(dep)).toBe(true);
  }
}

describe('random workflows', () => {
  it('settle every node; live state, full replay and snapshot + rest agree; seq is contiguous', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.nat(), async ({ specs, onFailure, concurrency, groupLimit }, cut) => {
        const { nodes, functions } = build(specs);
        const workflow = testWorkflow({ onFailure, concurrency, groups: { g: { concurrency: groupLimit } }, nodes });
        const { run, state, sessionId, workflowId } = await kit.start(workflow, { functions });
        const live = await run.run();

        // (1) everything settled
        expect(['completed', 'failed']).toContain(live.status);
        for (const node of Object.values(live.nodes)) expect(TERMINAL_NODE_STATUSES.has(node.status)).toBe(true);

        const events = await kit.events(sessionId);
        // (4) contiguous sequence numbers, one workflow.completed at the end
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        expect(events.filter((e) => e.type === 'workflow.completed')).toHaveLength(1);
        expect(events.at(-1)?.type).toBe('workflow.completed');

        // (2) the log tells the same story as the engine's live state
        const full = replay(sessionId, events);
        expect(essence(full.workflows[workflowId])).toEqual(essence(state.workflows[workflowId]));

        // (3) snapshot property: replay a prefix, copy it, apply the rest
        const at = cut % (events.length + 1);
        const snapshot: SessionState = structuredClone(replay(sessionId, events.slice(0, at)));
        expect(applyAll(snapshot, events.slice(at))).toEqual(full);

        // scheduling invariants
        startedAfterDependencies(events, Object.fromEntries(nodes.map((n) => [n.id, n.dependsOn ?? []])));
        const completions = events.filter((e) => e.type === 'node.completed').map((e) => e.data.nodeId);
        expect(new Set(completions).size).toBe(completions.length);
        for (const [i, spec] of specs.entries()) {
          const node = live.nodes[`n${i}`];
          if (spec.condition === 'false') expect(node?.status).not.toBe('completed');
          if (spec.outcome === 'fail' || spec.outcome === 'always_flaky') expect(node?.status).not.toBe('completed');
          if (node?.status === 'completed' && spec.trigger === 'all_success') {
            for (const dep of nodes[i]?.dependsOn ?? []) expect(live.nodes[dep]?.status).toBe('completed');
          }
        }
        if (onFailure === 'fail_fast') {
          // Once a node has failed for good, nothing starts any more.
          const firstFailure = events.findIndex((e) => e.type === 'node.failed' && !e.data.willRetry);
          if (firstFailure >= 0) {
            expect(events.slice(firstFailure).filter((e) => e.type === 'node.started')).toEqual([]);
          }
        }
        if (onFailure === 'continue') {
          // Only the nodes' own outcomes and triggers decide: nothing is cancelled.
          for (const node of Object.values(live.nodes)) expect(node.status).not.toBe('cancelled');
        }
      }),
      { seed: 20240607, numRuns: 80 },
    );
  });

  it('a process killed after any committed event is carried on by a new run to the same kind of end', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario,
        fc.integer({ min: 1, max: 12 }),
        async ({ specs, onFailure, concurrency, groupLimit }, k) => {
          const { nodes, functions } = build(specs);
          const workflow = testWorkflow({ onFailure, concurrency, groups: { g: { concurrency: groupLimit } }, nodes });
          let count = 0;
          const first = kit.process({ killAfter: () => ++count >= k });
          const { run, sessionId } = await kit.start(workflow, { functions, log: first.log });
          const finished = await Promise.race([run.run().then(() => true), first.dead.then(() => false)]);
          const before = await kit.events(sessionId);
          if (finished || before.at(-1)?.type === 'workflow.completed') return;

          const resumed = await kit.resume(sessionId, { functions });
          const live = await resumed.run.run();
          const events = await kit.events(sessionId);
          expect(events.slice(0, before.length)).toEqual(before);
          expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
          expect(['completed', 'failed']).toContain(live.status);
          for (const node of Object.values(live.nodes)) expect(TERMINAL_NODE_STATUSES.has(node.status)).toBe(true);
          expect(essence(replay(sessionId, events).workflows[resumed.workflowId])).toEqual(essence(live));
          // Nodes completed before the crash never start again; none completes twice.
          const doneBefore = new Set(before.filter((e) => e.type === 'node.completed').map((e) => e.data.nodeId));
          const restarted = events
            .slice(before.length)
            .filter((e) => e.type === 'node.started')
            .map((e) => e.data.nodeId);
          expect(restarted.filter((id) => doneBefore.has(id))).toEqual([]);
          const completions = events.filter((e) => e.type === 'node.completed').map((e) => e.data.nodeId);
          expect(new Set(completions).size).toBe(completions.length);
        },
      ),
      { seed: 4242, numRuns: 100 },
    );
  });
});
