import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { identityAlive, ownIdentity } from '../../src/agents/process-tags.ts';
import {
  makeScratchDir,
  removeScratchDir,
  scratchName,
  scratchOwner,
  sweepScratchDirs,
} from '../../src/agents/scratch.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orch-scratch-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const TAG = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

describe('per-process TMPDIR names', () => {
  it('are short and give back their owner', () => {
    for (const owner of ['4194304:18446744073709551615', '1:0', '123:', ownIdentity()]) {
      const name = scratchName(owner, TAG);
      // A socket path in it (claude-http-<16 hex>.sock, 33 bytes) must stay under 107 bytes.
      expect(name.length).toBeLessThanOrEqual(30);
      expect(scratchOwner(name)).toBe(owner);
    }
    expect(scratchName('1:2', TAG)).toBe('1.2.0f1e2d3c');
    expect(scratchOwner('claude-0')).toBeUndefined();
    expect(scratchOwner('1.2.0f1e2d3c.x')).toBeUndefined();
  });

  it('are made readable by the owner only', async () => {
    const dir = makeScratchDir(root, ownIdentity(), TAG) as string;
    expect(path.dirname(dir)).toBe(root);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    // Not made (a file where the folder should be): the process shares the agents' TMPDIR.
    await writeFile(path.join(root, 'file'), '');
    expect(makeScratchDir(path.join(root, 'file'), ownIdentity(), TAG)).toBeUndefined();
  });
});

describe('sweepScratchDirs', () => {
  it("removes the folders of dead owners only, with what they hold; others' and foreign names stay", async () => {
    const dead = '999999999:1';
    expect(identityAlive(dead)).toBe(false);
    const mine = makeScratchDir(root, ownIdentity(), TAG) as string;
    const gone = makeScratchDir(root, dead, TAG) as string;
    await writeFile(path.join(gone, 'claude-settings-x.json'), '{}');
    await mkdir(path.join(gone, 'claude-0'));
    const foreign = path.join(root, 'claude-0');
    await mkdir(foreign);
    expect(await sweepScratchDirs(root, identityAlive)).toBe(1);
    expect([existsSync(mine), existsSync(gone), existsSync(foreign)]).toEqual([true, false, true]);
    expect(await sweepScratchDirs(path.join(root, 'missing'), identityAlive)).toBe(0);
  });
});

describe('removing a TMPDIR', () => {
  /** A folder like the ones Claude Code leaves, plus `extra` files, and links that lead out. */
  async function leftBehind(name: string, extra = 0): Promise<{ dir: string; outside: string }> {
    const dir = path.join(root, name);
    const outside = path.join(root, `outside-${name}`);
    await mkdir(path.join(outside, 'kept'), { recursive: true });
    await writeFile(path.join(outside, 'kept', 'file'), 'mine');
    for (const sub of ['cc-socks', 'claude-0/-tmp-ws/0190/tasks', 'claude-0/bash-edit-diff']) {
      await mkdir(path.join(dir, sub), { recursive: true });
    }
    await writeFile(path.join(dir, 'claude-0', 'probe'), 'x');
    await symlink(outside, path.join(dir, 'link-to-folder'));
    await symlink(path.join(outside, 'kept', 'file'), path.join(dir, 'claude-0', 'link-to-file'));
    await mkdir(path.join(dir, 'many'));
    for (let i = 0; i < extra; i++) await writeFile(path.join(dir, 'many', `f${i}`), String(i));
    return { dir, outside };
  }

  it('removes a small folder and a large one whole, never what their links lead to', async () => {
    for (const [name, extra] of [
      ['small', 3],
      ['large', 200],
    ] as const) {
      const { dir, outside } = await leftBehind(name, extra);
      await removeScratchDir(dir);
      expect(existsSync(dir)).toBe(false);
      expect(readdirSync(path.join(outside, 'kept'))).toEqual(['file']);
    }
  });

  it('does nothing, and does not throw, for a folder that is gone', async () => {
    await expect(removeScratchDir(path.join(root, 'never-made'))).resolves.toBeUndefined();
  });
});
