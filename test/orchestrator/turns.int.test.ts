import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { defineWorkflow, type PlanFunctions } from '../../src/workflow/index.ts';

// Function nodes settle in microtasks: unless the run lets the event loop turn, a chain of
// them runs from its first node to its last in one turn, and a timer set meanwhile (a lease
// renewal, an API request) waits for the whole run. Through the public API, with the
// orchestrator's own setting.

const N = 2000;
const ids = Array.from({ length: N }, (_, i) => `n${i}`);
const workflow = defineWorkflow({
  name: 'turns',
  agents: { noop: { systemPrompt: 'unused', tools: [] } },
  limits: { maxNodes: N },
  nodes: ids.map((id, i) => ({ id, agent: 'noop', task: 'noop', dependsOn: i === 0 ? [] : [`n${i - 1}`] })),
});

describe('a long run of function nodes', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-turns-'));
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', warmPool: 0 }, {}),
      scenario: compileScenario({
        name: 'turns',
        scripts: [{ name: 'noop', match: { system: 'unused' }, turns: ['Done.'] }],
      }),
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('does not hold the event loop: a timer set by its first node fires while it runs', async () => {
    let ran = 0;
    let firedAfter: number | undefined;
    const functions: PlanFunctions = Object.fromEntries(
      ids.map((id, i) => [
        id,
        () => {
          if (i === 0)
            setTimeout(() => {
              firedAfter = ran;
            }, 0);
          // At least 0.05 ms each: the run lasts 100 ms or more, many times the turn budget.
          for (const until = performance.now() + 0.05; performance.now() < until; );
          ran++;
          return i;
        },
      ]),
    );
    const handle = await orchestrator.startWorkflow(workflow, { functions });
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(ran).toBe(N);
    // Held, the timer would fire only once all N had run.
    expect(firedAfter).toBeDefined();
    expect(firedAfter).toBeLessThan(N / 2);
  });
});
