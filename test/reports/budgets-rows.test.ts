import { describe, expect, it } from 'vitest';
import { replayMetrics } from '../../src/monitor/index.ts';
import { budgetLineSchema, budgetLines, rowMatches, sessionRows } from '../../src/reports/index.ts';
import { compileBudgetValue, replay } from '../../src/workflow/index.ts';
import { EventRecorder } from '../monitor/kit.ts';
import { memorySource } from './kit.ts';

// Budgets with what is left, and the list's search, tokens and duration: pure read models over
// recorded events.

function painted(sessionId: string, budget: Record<string, unknown> | undefined, nodeBudget?: Record<string, unknown>) {
  const run = new EventRecorder(sessionId, Date.parse('2026-01-05T10:00:00.000Z')).start('wf_p', {
    name: 'paint-flow',
    ...(budget && { budget }),
    nodes: [
      { id: 'prime', agent: 'painter', task: 'prime', ...(nodeBudget && { budget: nodeBudget }) },
      { id: 'coat', agent: 'painter', task: 'coat', dependsOn: ['prime'] },
    ],
  });
  run
    .spawn('agt_1', { workflowId: 'wf_p', nodeId: 'prime', agentType: 'painter' })
    .usage('agt_1', 100_000, 10_000, { cacheReadTokens: 5000 });
  return run.events;
}

describe('budgetLines', () => {
  it('lists each limit in force with what was spent and what is left, the lowest of two applying', () => {
    const events = painted(
      'ses_b',
      { session: 10, workflow: 0.2, agentTypes: { painter: 50 } },
      { usd: 1, tokens: 200_000 },
    );
    const metrics = replayMetrics('ses_b', events);
    const state = replay('ses_b', events);
    const spent = metrics.session.costUsd;
    expect(spent).toBeGreaterThan(0.2);
    // The configuration allows a session 3 dollars, the file 10: the lower one holds.
    const global = compileBudgetValue({ session: 3, agentTypes: { painter: 40, reviewer: 1 } }, 'config');
    const lines = budgetLines(state, metrics, global);
    for (const line of lines) expect(budgetLineSchema.parse(line)).toEqual(line);
    const byKey = Object.fromEntries(lines.map((l) => [`${l.scope}:${l.key}`, l]));
    expect(Object.keys(byKey).sort()).toEqual([
      'agentType:painter',
      'agentType:reviewer',
      'node:wf_p/prime',
      'session:ses_b',
      'workflow:wf_p',
    ]);
    expect(byKey['session:ses_b']).toMatchObject({ limitUsd: 3, reached: false, action: 'fail' });
    expect(byKey['session:ses_b']?.leftUsd).toBeCloseTo(3 - spent, 6);
    expect(byKey['workflow:wf_p']).toMatchObject({ limitUsd: 0.2, leftUsd: 0, reached: true, workflowId: 'wf_p' });
    expect(byKey['agentType:painter']).toMatchObject({ limitUsd: 40, reached: false });
    expect(byKey['agentType:reviewer']).toMatchObject({ limitUsd: 1, spentUsd: 0, leftUsd: 1, reached: false });
    expect(byKey['node:wf_p/prime']).toMatchObject({
      nodeId: 'prime',
      limitUsd: 1,
      limitTokens: 200_000,
      spentTokens: 115_000,
      leftTokens: 85_000,
      reached: false,
    });
  });

  it('is empty without any limit, and a token limit alone is reached by tokens', () => {
    const plain = painted('ses_p', undefined);
    expect(budgetLines(replay('ses_p', plain), replayMetrics('ses_p', plain), undefined)).toEqual([]);
    const tight = painted('ses_t', undefined, { tokens: 50_000 });
    const lines = budgetLines(replay('ses_t', tight), replayMetrics('ses_t', tight), undefined);
    expect(lines).toEqual([
      expect.objectContaining({
        scope: 'node',
        limitTokens: 50_000,
        spentTokens: 115_000,
        leftTokens: 0,
        reached: true,
      }),
    ]);
    expect(lines[0]?.limitUsd).toBeUndefined();
  });
});

describe('session rows: search, tokens and duration', () => {
  it('matches the id or the workflow name, ignoring case, beside the other filters', () => {
    const row = { sessionId: 'ses_Wall-7', status: 'completed' as const, workflow: 'paint-flow' };
    expect(rowMatches(row, { query: 'wall-7' })).toBe(true);
    expect(rowMatches(row, { query: 'PAINT' })).toBe(true);
    expect(rowMatches(row, { query: '  ' })).toBe(true);
    expect(rowMatches(row, { query: 'roof' })).toBe(false);
    expect(rowMatches(row, { query: 'wall', statuses: ['running'] })).toBe(false);
    expect(rowMatches(row, { query: 'wall', workflow: 'other' })).toBe(false);
    expect(rowMatches({ sessionId: 'ses_x' }, { query: 'flow' })).toBe(false);
  });

  it('lists only the matches, each with its tokens and how long it ran', async () => {
    const a = painted('ses_a', undefined);
    const b = new EventRecorder('ses_roof', Date.parse('2026-01-05T11:00:00.000Z')).start('wf_r', {
      name: 'roofing',
      nodes: [],
    }).events;
    const source = memorySource([
      ['ses_a', a],
      ['ses_roof', b],
    ]);
    const found = await sessionRows(source, { query: 'PAINT' });
    expect(found.map((r) => r.sessionId)).toEqual(['ses_a']);
    expect(found[0]?.tokens).toBe(110_000);
    const first = Date.parse(a[0]?.ts as string);
    const last = Date.parse(a.at(-1)?.ts as string);
    expect(found[0]?.durationMs).toBe(last - first);
    expect((await sessionRows(source, { query: 'roof' })).map((r) => r.sessionId)).toEqual(['ses_roof']);
    expect(await sessionRows(source, { query: 'nothing' })).toEqual([]);
  });
});
