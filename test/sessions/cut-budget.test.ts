import { describe, expect, it } from 'vitest';
import { CutBudget, FIRST_MS_PER_CHUNK, MAX_SAVED_MS, MAX_WAIT_MS, SPACING } from '../../src/sessions/cut-budget.ts';

// The version followers' one budget for cuts: at most 1/SPACING of the loop, decided before a
// cut from its estimated cost, shared by the followers of a process.

describe('CutBudget', () => {
  it('starts empty: a whole cut of a large state waits until the run has paid for it', () => {
    const budget = new CutBudget(1000);
    const chunks = 10_000;
    const cost = chunks * FIRST_MS_PER_CHUNK;
    // Due right at the start, nothing saved: the wait is the cost times SPACING.
    expect(budget.wait(chunks, 1000, 1000)).toBeCloseTo(cost * SPACING);
    // Halfway there, half the wait is left; once there, none.
    expect(budget.wait(chunks, 1000 + (cost * SPACING) / 2, 1000)).toBeCloseTo((cost * SPACING) / 2);
    expect(budget.wait(chunks, 1000 + cost * SPACING, 1000)).toBe(0);
  });

  it('lets a small cut go at once (a workflow of a few nodes gets a version per node)', () => {
    const budget = new CutBudget(0);
    expect(budget.wait(5, 1, 1)).toBe(0);
    budget.spent(5, 0.01, 1, 1);
    expect(budget.wait(5, 2, 2)).toBe(0);
  });

  it('never keeps a due version waiting more than MAX_WAIT_MS after it became due', () => {
    const budget = new CutBudget(0);
    const huge = 1_000_000;
    expect(budget.wait(huge, 10)).toBeGreaterThan(MAX_WAIT_MS);
    expect(budget.wait(huge, 10, 10)).toBe(MAX_WAIT_MS);
    expect(budget.wait(huge, 400, 10)).toBe(MAX_WAIT_MS - 390);
    expect(budget.wait(huge, 10 + MAX_WAIT_MS, 10)).toBe(0);
    expect(budget.wait(huge, 5000, 10)).toBe(0);
  });

  it('charges what a cut took, so the next waits SPACING times as long', () => {
    const budget = new CutBudget(0);
    // 40 ms in, 1 ms is saved; a cut of 300 chunks that took 3 ms leaves 2 ms owed.
    expect(budget.available(40)).toBeCloseTo(Math.min(MAX_SAVED_MS, 40 / SPACING));
    budget.spent(300, 3, 40);
    expect(budget.available(40)).toBeCloseTo(Math.min(MAX_SAVED_MS, 40 / SPACING) - 3);
    // It learned 0.01 ms a chunk (halfway from its first guess), so 300 chunks are now
    // estimated dearer than before, and wait for the debt and their cost.
    const perChunk = (FIRST_MS_PER_CHUNK + 3 / 300) / 2;
    expect(budget.estimate(300)).toBeCloseTo(300 * perChunk);
    expect(budget.wait(300, 40, 40)).toBeCloseTo((300 * perChunk + 3 - Math.min(MAX_SAVED_MS, 40 / SPACING)) * SPACING);
  });

  it('does not learn the cost per chunk from small cuts (their time is what any cut costs)', () => {
    const budget = new CutBudget(0);
    budget.spent(3, 0.5, 10);
    expect(budget.estimate(10_000)).toBeCloseTo(10_000 * FIRST_MS_PER_CHUNK);
  });

  it('saves at most MAX_SAVED_MS over a quiet stretch, so an idle process does not pay for a large cut', () => {
    const hour = 3_600_000;
    const budget = new CutBudget(0);
    expect(budget.available(hour)).toBe(MAX_SAVED_MS);
    // A cut of 10 ms due after an hour of nothing still waits for most of its cost...
    const chunks = 10 / FIRST_MS_PER_CHUNK;
    expect(budget.wait(chunks, hour, hour)).toBeCloseTo((10 - MAX_SAVED_MS) * SPACING);
    // ...and is affordable once the time since it became due has paid for it.
    expect(budget.wait(chunks, hour + (10 - MAX_SAVED_MS) * SPACING, hour)).toBe(0);
    // A cut with no version due (made ahead of one) never counts more than what is kept.
    expect(budget.wait(chunks, hour + (10 - MAX_SAVED_MS) * SPACING)).toBeCloseTo((10 - MAX_SAVED_MS) * SPACING);
    budget.spent(1000, MAX_SAVED_MS, hour);
    expect(budget.available(hour)).toBe(0);
  });

  it('is shared: a cut of one follower delays the due version of another', () => {
    const budget = new CutBudget(0);
    // One follower's version, due since 100, waits for 1 ms of budget; another's cut of 10 ms
    // at 400 leaves the budget 9 ms short, which the first now waits for too.
    const oneMs = 1 / FIRST_MS_PER_CHUNK;
    expect(budget.wait(oneMs, 400, 100)).toBe(0);
    budget.spent(100, 10, 400, 400);
    const owed = 10 - Math.min(MAX_SAVED_MS, 400 / SPACING);
    expect(budget.wait(oneMs, 400, 100)).toBeCloseTo((1 + owed) * SPACING);
    // Still never past a second after it became due.
    expect(budget.wait(1_000_000, 400, 100)).toBe(100 + MAX_WAIT_MS - 400);
  });
});
