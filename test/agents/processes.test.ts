import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessRegistry, type TrackedProcess } from '../../src/agents/processes.ts';
import { processesMatching } from '../support/agent-kit.ts';

// The registry's spawn, exit and sweep with real `sh` processes standing in for Claude Code:
// what a process leaves behind (a tagged descendant, its TMPDIR) and in which order it goes.

let root: string;
let registry: ProcessRegistry;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orch-processes-'));
  await mkdir(path.join(root, 'tmp'));
  registry = new ProcessRegistry();
});
afterEach(async () => {
  await registry.killAll();
  await rm(root, { recursive: true, force: true });
});

/** Starts `sh -c script` as the SDK would start Claude Code, with the agents' TMPDIR. */
function start(script: string): TrackedProcess {
  let tracked: TrackedProcess | undefined;
  registry.spawner((process) => {
    tracked = process;
  })({
    command: 'sh',
    args: ['-c', script],
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: path.join(root, 'tmp') },
    signal: new AbortController().signal,
  });
  if (!tracked) throw new Error('the spawner reported no process');
  return tracked;
}

describe('ProcessRegistry', () => {
  it('after a clean exit, kills the descendant it left in a session of its own, then removes its TMPDIR', async () => {
    // A unique sleep length finds exactly this test's process in /proc.
    const mark = `300.${process.pid % 1000}${Date.now() % 1000}`;
    // In a session of its own, as Claude Code runs a command: the group kill misses it, only
    // the sweep finds it (by its tag). It writes its pid once it has its session, and the
    // shell exits only then.
    const tracked = start(
      `setsid sh -c 'echo $$ > "$TMPDIR/pid"; exec sleep ${mark}' & ` +
        'while [ ! -s "$TMPDIR/pid" ]; do sleep 0.01; done; exit 0',
    );
    const folder = tracked.scratchDir as string;
    expect(folder.startsWith(path.join(root, 'tmp'))).toBe(true);
    await tracked.exited;
    expect(tracked.exitCode()).toBe(0);
    // The removal comes after the sweep (not awaited by `exited` after a clean exit);
    // killAll waits for both.
    await registry.killAll();
    expect(processesMatching(`sleep ${mark}`)).toEqual([]);
    expect(existsSync(folder)).toBe(false);
  });

  it('waits in killAll for the TMPDIR of a process that exited cleanly', async () => {
    const tracked = start('echo done > "$TMPDIR/note"; exit 0');
    await tracked.exited;
    await registry.killAll();
    expect(existsSync(tracked.scratchDir as string)).toBe(false);
  });

  it('removes the TMPDIR of a process that failed before its result resolves', async () => {
    const tracked = start('echo failing > "$TMPDIR/note"; exit 3');
    await tracked.exited;
    expect(tracked.exitCode()).toBe(3);
    expect(existsSync(tracked.scratchDir as string)).toBe(false);
  });
});
