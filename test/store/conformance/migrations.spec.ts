import { describe, expect, it } from 'vitest';
import { events, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** Opening runs migrations; opening again (even several at once) changes nothing. */
export function migrationsSpec(ctx: ConformanceContext): void {
  describe('migrations', () => {
    it('are idempotent on reopen and when several instances open at once', async () => {
      const first = await ctx.open();
      const id = sessionId();
      await first.append(id, events(4));
      const applied = await ctx.options.appliedMigrations?.();
      await first.close();
      const again = await Promise.all([ctx.reopen(), ctx.reopen(), ctx.reopen()]);
      for (const store of again) expect((await store.read(id)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      if (applied !== undefined) {
        expect(applied.length).toBeGreaterThan(0);
        expect(applied.map((m) => m.version)).toEqual([...applied.map((m) => m.version)].sort((a, b) => a - b));
        expect(await ctx.options.appliedMigrations?.()).toEqual(applied);
      }
    });
  });
}
