import { describe, expect, it } from 'vitest';
import { entry as E } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** listSessions: the project's sessions with a main transcript, with epoch-ms mtimes. */
export function listSessionsSpec(ctx: TranscriptConformanceContext): void {
  describe('listSessions', () => {
    // SDK contract 7.
    it('lists the sessions of one project only, with mtimes in epoch milliseconds', async () => {
      const store = await ctx.open();
      const [p, q] = [ctx.project('p'), ctx.project('q')];
      await store.append({ projectKey: p, sessionId: 's1' }, [E('a')]);
      await store.append({ projectKey: p, sessionId: 's2' }, [E('b')]);
      await store.append({ projectKey: q, sessionId: 's3' }, [E('c')]);
      const listed = await store.listSessions(p);
      expect(listed.map((s) => s.sessionId).sort()).toEqual(['s1', 's2']);
      expect(listed.every((s) => s.mtime > 1e12)).toBe(true);
      expect(await store.listSessions(ctx.project('never-seen'))).toEqual([]);
    });

    // SDK contract 8.
    it('leaves out a session that has only subagent transcripts', async () => {
      const store = await ctx.open();
      const p = ctx.project('p');
      await store.append({ projectKey: p, sessionId: 's1', subpath: 'subagents/agent-x' }, [E('sub')]);
      expect((await store.listSessions(p)).map((s) => s.sessionId)).not.toContain('s1');
    });

    it('gives integer mtimes taken at append time, moving forward with later appends', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const before = Date.now();
      await store.append(key, [E('a')]);
      const after = Date.now();
      const [first] = await store.listSessions(key.projectKey);
      expect(Number.isInteger(first?.mtime)).toBe(true);
      expect(first?.mtime).toBeGreaterThanOrEqual(before);
      expect(first?.mtime).toBeLessThanOrEqual(after);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.append(key, [E('b')]);
      const [second] = await store.listSessions(key.projectKey);
      expect(second?.mtime).toBeGreaterThan(first?.mtime as number);
      expect(Number.isInteger(second?.mtime)).toBe(true);
    });
  });
}
