import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  inPidWindow,
  type PidMark,
  pidsForkedBetween,
  procIsOwnNamespace,
  readPidMark,
} from '../../src/agents/pid-window.ts';

const mark = (fields: Partial<PidMark>): PidMark => ({
  forks: 1000,
  tasks: 150,
  lastPid: 5000,
  pidMax: 32768,
  ...fields,
});

describe('pidsForkedBetween', () => {
  it('is the pids after the earlier last pid up to the last pid now', () => {
    const window = pidsForkedBetween(mark({}), mark({ forks: 1040, lastPid: 5040 }));
    expect(window).toEqual({ after: 5000, upTo: 5040 });
    if (!window) return;
    expect([4999, 5000, 5001, 5040, 5041, 300, 32767].map((pid) => inPidWindow(pid, window))).toEqual([
      false,
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('wraps at pid_max: the pids above the earlier last pid and those up to the last pid now', () => {
    const window = pidsForkedBetween(mark({ lastPid: 32700 }), mark({ forks: 1200, lastPid: 420 }));
    expect(window).toEqual({ after: 32700, upTo: 420 });
    if (!window) return;
    expect([32700, 32701, 32767, 1, 300, 420, 421, 5000].map((pid) => inPidWindow(pid, window))).toEqual([
      false,
      true,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('is empty when nothing was forked in the namespace', () => {
    const window = pidsForkedBetween(mark({}), mark({ forks: 1003 }));
    expect(window && [4999, 5000, 5001].some((pid) => inPidWindow(pid, window))).toBe(false);
  });

  it('gives no window once the cycle may have come round: forks plus three pids per task reach its length', () => {
    // The cycle is 32768 - 300 = 32468 pids long; 150 tasks at the mark hold up to 450 of them.
    // Each fork steps over at most one free pid and makes a task holding up to 3 more: 4 a fork.
    const limit = Math.ceil((32468 - 450) / 4);
    expect(pidsForkedBetween(mark({}), mark({ forks: 1000 + limit - 1 }))).toBeDefined();
    expect(pidsForkedBetween(mark({}), mark({ forks: 1000 + limit }))).toBeUndefined();
    // More tasks alive at the mark leave room for fewer forks.
    expect(pidsForkedBetween(mark({ tasks: 10_000 }), mark({ forks: 1000 + limit - 1 }))).toBeUndefined();
  });

  it('gives no window when the last pid moved further than the counted forks can take it', () => {
    // 5 forks and 150 tasks at the mark: at most 5 + 3 * 155 = 470 steps of the cycle.
    expect(pidsForkedBetween(mark({}), mark({ forks: 1005, lastPid: 5470 }))).toBeDefined();
    expect(pidsForkedBetween(mark({}), mark({ forks: 1005, lastPid: 5471 }))).toBeUndefined();
    // Across a wrap, counted from pid_max down to the earlier last pid and up from 0.
    expect(pidsForkedBetween(mark({ lastPid: 32600 }), mark({ forks: 1005, lastPid: 302 }))).toBeDefined();
    expect(pidsForkedBetween(mark({ lastPid: 32600 }), mark({ forks: 1005, lastPid: 303 }))).toBeUndefined();
  });

  it('gives no window when pid_max changed or the fork counter went back', () => {
    expect(pidsForkedBetween(mark({}), mark({ forks: 1010, pidMax: 4_194_304 }))).toBeUndefined();
    expect(pidsForkedBetween(mark({}), mark({ forks: 999 }))).toBeUndefined();
  });
});

describe.runIf(process.platform === 'linux')('readPidMark', () => {
  it('reads the counters, and a child forked after a mark falls in the window to the next one', () => {
    const before = readPidMark(true);
    const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const after = readPidMark(false);
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    if (!before || !after) return;
    expect(after.forks).toBeGreaterThan(before.forks);
    expect(before.tasks).toBeGreaterThan(0);
    expect(before.pidMax).toBeGreaterThan(300);
    expect(procIsOwnNamespace()).toBe(true);
    const window = pidsForkedBetween(before, after);
    // A busy machine may have forked enough meanwhile to refuse a window; then there is nothing to check.
    if (window) expect(inPidWindow(Number(child.stdout.trim()), window)).toBe(true);
  });
});

const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((candidate) => existsSync(candidate));
describe.runIf(process.platform === 'linux' && process.getuid?.() === 0 && unshare !== undefined)(
  'readPidMark in a pid namespace of its own',
  () => {
    it('tells that /proc is of another pid namespace, whose pids name other processes here, and gives no mark', () => {
      const module = new URL('../../src/agents/pid-window.ts', import.meta.url).pathname;
      const script = `const { procIsOwnNamespace, readPidMark } = await import(${JSON.stringify(module)}); process.stdout.write(JSON.stringify({ pid: process.pid, own: procIsOwnNamespace(), mark: readPidMark(true) ?? null }));`;
      const child = spawnSync(
        unshare as string,
        ['--pid', '--fork', process.execPath, '--input-type=module', '--eval', script],
        { encoding: 'utf8' },
      );
      expect(child.status, child.stderr).toBe(0);
      // In its own namespace the child is pid 1, while /proc still shows this namespace's pids.
      expect(JSON.parse(child.stdout)).toEqual({ pid: 1, own: false, mark: null });
    });
  },
);
