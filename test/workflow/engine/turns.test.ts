import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanFunctions } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

// Function nodes settle in microtasks: a chain of them runs in one turn of the event loop
// unless the run yields. What each node saw committed in the log tells which happened.
async function chainRun(startsPerTurn: number | undefined, turnBudgetMs?: number, nodeMs = 0) {
  const ids = Array.from({ length: 600 }, (_, i) => `n${i}`);
  const seen: number[] = [];
  let sessionId = '';
  const functions: PlanFunctions = Object.fromEntries(
    ids.map((id) => [
      id,
      async () => {
        // A node that costs CPU, for the time budget (spins: a timer would end the turn).
        for (const until = performance.now() + nodeMs; performance.now() < until; );
        seen.push(await kit.store.lastSeq(sessionId));
        return id;
      },
    ]),
  );
  const workflow = testWorkflow({
    limits: { maxNodes: 1000 },
    nodes: ids.map((id, i) => ({ id, dependsOn: i === 0 ? [] : [`n${i - 1}`] })),
  });
  const started = await kit.start(workflow, { functions, startsPerTurn, turnBudgetMs });
  sessionId = started.sessionId;
  const final = await started.run.run();
  expect(final.status).toBe('completed');
  return seen;
}

describe('turns of the event loop', () => {
  it('by default runs a chain of function nodes in one turn: nothing of it is committed before its end', async () => {
    const seen = await chainRun(undefined);
    // session.created and workflow.started only.
    expect(Math.max(...seen)).toBe(2);
  });

  it('with startsPerTurn, yields every so many starts: the run commits its events as it goes', async () => {
    const seen = await chainRun(100);
    // By the last node, the events of the first five hundred or so are durable.
    expect(seen.at(-1)).toBeGreaterThan(2 * 400);
    // Yields happen every 100 starts, not after each one.
    expect(new Set(seen).size).toBeLessThanOrEqual(7);
  });

  it('with turnBudgetMs, yields once a turn has started nodes for that long, whatever their count', async () => {
    // 600 nodes of at least 0.1 ms each: 60 ms or more of starts, so at least five turns of 10 ms.
    const seen = await chainRun(undefined, 10, 0.1);
    expect(seen.at(-1)).toBeGreaterThan(2 * 300);
    // Not a yield per start: turns hold about a hundred nodes each (fewer on a slow machine).
    expect(new Set(seen).size).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBeLessThan(300);
  });
});
