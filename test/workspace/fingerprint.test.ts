import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint, MAX_ENTRIES, TOO_LARGE } from '../../src/workspace/fingerprint.ts';

// The cheap "did anything change?" of a workspace, on real folders. `later` is a clock a
// minute ahead, so nothing written here is within the racy window.

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'orch-fingerprint-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const later = () => BigInt(Date.now() + 60_000);

async function fill(count: number, under = folder): Promise<void> {
  await mkdir(under, { recursive: true });
  await Promise.all(Array.from({ length: count }, (_, i) => writeFile(path.join(under, `f${i}`), `${i}`)));
}

describe('fingerprint', () => {
  it('lists up to MAX_ENTRIES entries, subfolders and their files counted, and gives up beyond', async () => {
    await fill(MAX_ENTRIES - 11);
    await fill(10, path.join(folder, 'sub'));
    const print = await fingerprint(folder, later);
    expect(typeof print).toBe('string');
    expect((print as string).split('\n')).toHaveLength(MAX_ENTRIES);
    await writeFile(path.join(folder, 'sub', 'one-more'), 'x');
    expect(await fingerprint(folder, later)).toBe(TOO_LARGE);
    // The folder left out and the top's .git are not counted.
    await mkdir(path.join(folder, '.git'));
    await fill(5, path.join(folder, 'data'));
    await rm(path.join(folder, 'sub', 'one-more'));
    expect(typeof (await fingerprint(folder, later, 'data'))).toBe('string');
  });
  it('changes with a file written, distrusts a folder changed within the racy window, and is null when unreadable', async () => {
    await fill(3, path.join(folder, 'a', 'b'));
    const first = await fingerprint(folder, later);
    expect(await fingerprint(folder, later)).toBe(first);
    await writeFile(path.join(folder, 'a', 'b', 'f1'), 'changed, longer');
    expect(await fingerprint(folder, later)).not.toBe(first);
    expect(await fingerprint(folder)).toBeNull();
    expect(await fingerprint(path.join(folder, 'gone'), later)).toBeNull();
  });
});
