import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import { SessionVersions, StateChunker } from '../../src/sessions/index.ts';
import type { OrchestratorStore } from '../../src/store/index.ts';
import { type PlanFunctions, replay } from '../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, type TestNode, testWorkflow } from '../support/engine-kit.ts';

// The versions property, with the real store and the real sessions layer: for any session log
// and any two points of it, a version taken at each point loads back to exactly the replay of
// the log up to that point, the newest version plus the rest of the log equals a full replay,
// and the diff between the two versions is a patch that turns one into the other.
let kit: EngineKit;
let versions: SessionVersions;
beforeAll(async () => {
  kit = await startEngineKit();
  versions = new SessionVersions(kit.log, kit.store as OrchestratorStore);
});
afterAll(() => kit.cleanup());

const workflowShape = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.tuple(
    ...Array.from({ length: n }, (_, i) =>
      fc.record({
        deps: fc.array(fc.boolean(), { minLength: i, maxLength: i }),
        outcome: fc.constantFrom('ok', 'ok', 'ok', 'fail', 'flaky'),
      }),
    ),
  ),
);

describe('versions of a session', () => {
  it('load back to the replay at their point; newest + later events equal a full replay; diffs patch one into the other', async () => {
    await fc.assert(
      fc.asyncProperty(workflowShape, fc.nat(), fc.nat(), async (shape, a, b) => {
        const nodes: TestNode[] = shape.map((spec, i) => ({
          id: `n${i}`,
          dependsOn: spec.deps.flatMap((on, j) => (on ? [`n${j}`] : [])),
          trigger: 'all_done',
          retry: { attempts: 2, backoff: { initial: 1, max: 1 } },
        }));
        const calls = new Map<string, number>();
        const functions: PlanFunctions = Object.fromEntries(
          shape.map((spec, i) => [
            `n${i}`,
            async () => {
              const call = (calls.get(`n${i}`) ?? 0) + 1;
              calls.set(`n${i}`, call);
              if (spec.outcome === 'fail' || (spec.outcome === 'flaky' && call === 1)) {
                throw new OrchestratorError('AGENT_NETWORK', `n${i} failed`);
              }
              return { node: i, call };
            },
          ]),
        );
        const { run, sessionId } = await kit.start(testWorkflow({ onFailure: 'continue', nodes }), { functions });
        await run.run();
        const events = await kit.events(sessionId);
        const [low, high] = [a % (events.length + 1), b % (events.length + 1)].sort((x, y) => x - y) as [
          number,
          number,
        ];
        if (low === 0) return; // a version of an empty session has no meaning (it has no events)
        const chunker = new StateChunker();
        const early = replay(sessionId, events.slice(0, low));
        const late = replay(sessionId, events.slice(0, high));
        const v1 = await versions.take(structuredClone(early), { chunker });
        const v2 = await versions.take(structuredClone(late), { chunker });

        expect((await versions.load(sessionId, v1.version)).state).toEqual(early);
        expect((await versions.load(sessionId, v2.version)).state).toEqual(late);
        expect(await versions.current(sessionId)).toEqual(replay(sessionId, events));
        expect(await versions.stateAtSeq(sessionId, high)).toEqual(late);

        const diff = await versions.diff(sessionId, v1.version, v2.version);
        expect(diff.summary.eventsAdded).toBe(high - low);
        const patched = fastJsonPatch.applyPatch(structuredClone(early), diff.patch, false, false).newDocument;
        expect(patched).toEqual(late);
      }),
      { seed: 424242, numRuns: 40 },
    );
  });
});
