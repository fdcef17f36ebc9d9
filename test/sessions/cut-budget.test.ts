import { describe, expect, it } from 'vitest';
import { CutBudget, FIRST_MS_PER_CHUNK, MAX_SAVED_MS, MAX_WAIT_MS, SPACING } from '../../src/sessions/cut-budget.ts';

// The follower's one budget for cuts: at most 1/SPACING of the loop from its start, decided
// before a cut from its estimated cost.

describe('CutBudget', () => {
  it('starts empty: a whole cut of a large state waits until the run has paid for it', () => {
    const budget = new CutBudget(1000);
    const chunks = 10_000;
    const cost = chunks * FIRST_MS_PER_CHUNK;
    // Right after the start nothing is saved: the wait is the cost times SPACING.
    expect(budget.wait(chunks, 1000)).toBeCloseTo(cost * SPACING);
    // Halfway there, half the wait is left; once there, none.
    expect(budget.wait(chunks, 1000 + (cost * SPACING) / 2)).toBeCloseTo((cost * SPACING) / 2);
    expect(budget.wait(chunks, 1000 + cost * SPACING)).toBe(0);
  });

  it('lets a small cut go at once (a workflow of a few nodes gets a version per node)', () => {
    const budget = new CutBudget(0);
    expect(budget.wait(5, 1)).toBe(0);
    budget.spent(5, 0.01, 1);
    expect(budget.wait(5, 2)).toBe(0);
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
    expect(budget.available(40)).toBeCloseTo(40 / SPACING);
    budget.spent(300, 3, 40);
    expect(budget.available(40)).toBeCloseTo(40 / SPACING - 3);
    // It learned 0.01 ms a chunk (halfway from its first guess), so 300 chunks are now
    // estimated dearer than before, and wait for the debt and their cost.
    const perChunk = (FIRST_MS_PER_CHUNK + 3 / 300) / 2;
    expect(budget.estimate(300)).toBeCloseTo(300 * perChunk);
    expect(budget.wait(300, 40)).toBeCloseTo((300 * perChunk + 3 - 40 / SPACING) * SPACING);
  });

  it('does not learn the cost per chunk from small cuts (their time is what any cut costs)', () => {
    const budget = new CutBudget(0);
    budget.spent(3, 0.5, 10);
    expect(budget.estimate(10_000)).toBeCloseTo(10_000 * FIRST_MS_PER_CHUNK);
  });

  it('saves at most MAX_SAVED_MS over a quiet stretch', () => {
    const budget = new CutBudget(0);
    expect(budget.available(3_600_000)).toBe(MAX_SAVED_MS);
    budget.spent(1000, MAX_SAVED_MS, 3_600_000);
    expect(budget.available(3_600_000)).toBe(0);
  });
});
