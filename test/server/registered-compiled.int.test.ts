import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistered } from '../../src/server/routes/definitions.ts';
import { openEventStore } from '../../src/store/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// A registered version is compiled once and handed out again (listing and starting a run used to
// compile every definition anew), for the same stored text only, per store.

let tmp: Awaited<ReturnType<typeof tempDir>>;
let store: Awaited<ReturnType<typeof openEventStore>>;

beforeAll(async () => {
  tmp = await tempDir('registered-compiled');
  store = await openEventStore({ kind: 'sqlite', path: path.join(tmp.dir, 'events.db') });
});
afterAll(async () => {
  await store?.close();
  await tmp?.cleanup();
});

const register = (name: string, prompt: string, nodeCount = 1) => {
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({ id: `q${i}`, kind: 'human', prompt }));
  const definition = JSON.stringify({ name, limits: { maxNodes: 10_000 }, nodes });
  return store.workflows.putWorkflow({
    name,
    definition,
    digest: createHash('sha256').update(definition).digest('hex'),
    registeredAt: new Date().toISOString(),
    registeredBy: 'test',
  });
};

describe('registered workflows, compiled', () => {
  it('hands out one compiled form per version, and compiles a new version anew', async () => {
    await register('asks', 'Why?');
    const first = await loadRegistered(store.workflows, 'asks');
    const again = await loadRegistered(store.workflows, 'asks', 1);
    expect(again.compiled).toBe(first.compiled);
    expect(Object.isFrozen(first.compiled)).toBe(true);
    await register('asks', 'Why not?');
    const second = await loadRegistered(store.workflows, 'asks');
    expect(second.stored.version).toBe(2);
    expect(second.compiled).not.toBe(first.compiled);
    expect(JSON.stringify(second.compiled.definition)).toContain('Why not?');
    // The older version is still its own compiled form.
    expect((await loadRegistered(store.workflows, 'asks', 1)).compiled).toBe(first.compiled);
  });

  it('keeps a bounded number per store, the least recently used going first', async () => {
    await register('kept', 'Kept?');
    const kept = (await loadRegistered(store.workflows, 'kept')).compiled;
    const firsts: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      await register(`other-${i}`, 'Other?');
      firsts.push((await loadRegistered(store.workflows, `other-${i}`)).compiled);
      // Used again now and then: never the least recently used.
      if (i % 10 === 0) expect((await loadRegistered(store.workflows, 'kept')).compiled).toBe(kept);
    }
    // 41 versions for 32 places: the oldest unused ones were compiled again, the recent kept.
    expect((await loadRegistered(store.workflows, 'other-39')).compiled).toBe(firsts[39]);
    expect((await loadRegistered(store.workflows, 'kept')).compiled).toBe(kept);
    expect((await loadRegistered(store.workflows, 'other-0')).compiled).not.toBe(firsts[0]);
  });

  it('keeps at most 20,000 nodes of compiled workflows per store', async () => {
    for (const name of ['big-a', 'big-b', 'big-c']) await register(name, 'Big?', 8_000);
    const a = (await loadRegistered(store.workflows, 'big-a')).compiled;
    const b = (await loadRegistered(store.workflows, 'big-b')).compiled;
    expect((await loadRegistered(store.workflows, 'big-a')).compiled).toBe(a);
    // 24,000 nodes with the third: the least recently used (b) goes.
    const c = (await loadRegistered(store.workflows, 'big-c')).compiled;
    expect((await loadRegistered(store.workflows, 'big-c')).compiled).toBe(c);
    expect((await loadRegistered(store.workflows, 'big-a')).compiled).toBe(a);
    expect((await loadRegistered(store.workflows, 'big-b')).compiled).not.toBe(b);
  }, 60_000);
});
