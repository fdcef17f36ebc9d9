import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { identityAlive, ownIdentity } from '../../src/agents/process-tags.ts';
import { makeScratchDir, scratchName, scratchOwner, sweepScratchDirs } from '../../src/agents/scratch.ts';

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
