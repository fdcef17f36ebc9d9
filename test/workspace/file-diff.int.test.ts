import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchSplitter, parseChangedFiles, WorkspaceHistory } from '../../src/workspace/index.ts';

// The files that changed between two recorded commits of a session's workspace, with capped
// diffs and binary files named only, read from a real git history.

describe('WorkspaceHistory.diffFiles', () => {
  let dir: string;
  let history: WorkspaceHistory;
  let from: string;
  let to: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-file-diff-'));
    const workspace = path.join(dir, 'ws');
    history = new WorkspaceHistory(path.join(dir, 'history'));
    execFileSync('mkdir', ['-p', path.join(workspace, 'sub dir')]);
    await writeFile(path.join(workspace, 'keep.txt'), 'one\ntwo\nthree\n');
    await writeFile(path.join(workspace, 'gone.txt'), 'bye\n');
    await writeFile(path.join(workspace, 'picture.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
    from = await history.record('ses-files', workspace, 'first');
    await writeFile(path.join(workspace, 'keep.txt'), 'one\nTWO\nthree\n');
    await rm(path.join(workspace, 'gone.txt'));
    await writeFile(path.join(workspace, 'picture.bin'), Buffer.from([0, 9, 9, 9, 0, 255]));
    await writeFile(path.join(workspace, 'sub dir', 'big ünïcode.txt'), `${'é'.repeat(40_000)}\n`);
    to = await history.record('ses-files', workspace, 'second');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists every change, each text file with its unified diff, binary files named only', async () => {
    const { files, omittedFiles } = await history.diffFiles('ses-files', from, to);
    expect(omittedFiles).toBe(0);
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(['gone.txt', 'keep.txt', 'picture.bin', 'sub dir/big ünïcode.txt']);
    expect(byPath['keep.txt']).toMatchObject({
      status: 'modified',
      binary: false,
      added: 1,
      removed: 1,
      truncated: false,
    });
    expect(byPath['keep.txt']?.diff).toContain('-two\n+TWO');
    expect(byPath['gone.txt']).toMatchObject({ status: 'deleted', removed: 1, truncated: false });
    expect(byPath['picture.bin']).toEqual({
      path: 'picture.bin',
      status: 'modified',
      binary: true,
      added: 0,
      removed: 0,
      truncated: false,
    });
    // 80 KB of text: over the default 64 KiB, cut there, and never in the middle of a character.
    const big = byPath['sub dir/big ünïcode.txt'];
    expect(big).toMatchObject({ status: 'added', truncated: true });
    expect(Buffer.byteLength(big?.diff ?? '')).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.byteLength(big?.diff ?? '')).toBeGreaterThan(60 * 1024);
    expect(big?.diff).not.toContain('\uFFFD');
  });

  it('keeps to the limits: per file, in all, and in files listed', async () => {
    const small = await history.diffFiles('ses-files', from, to, { maxFileBytes: 1024, maxTotalBytes: 150 });
    const total = small.files.reduce((sum, f) => sum + Buffer.byteLength(f.diff ?? ''), 0);
    expect(total).toBeLessThanOrEqual(150);
    expect(total).toBeGreaterThan(0);
    // Files after the total is spent are listed, without a diff, marked truncated.
    const withoutDiff = small.files.filter((f) => !f.binary && f.diff === undefined);
    expect(withoutDiff.length).toBeGreaterThan(0);
    expect(withoutDiff.every((f) => f.truncated)).toBe(true);
    const few = await history.diffFiles('ses-files', from, to, { maxFiles: 2 });
    expect(few.files).toHaveLength(2);
    expect(few.omittedFiles).toBe(2);
  });
});

describe('parseChangedFiles', () => {
  it("reads git's -z name-status and numstat, binary counts as '-'", () => {
    const files = parseChangedFiles(
      'M\0a.txt\0A\0b c.txt\0D\0img.png\0',
      '3\t1\ta.txt\0' + '2\t0\tb c.txt\0' + '-\t-\timg.png\0',
    );
    expect(files).toEqual([
      { path: 'a.txt', status: 'modified', binary: false, added: 3, removed: 1 },
      { path: 'b c.txt', status: 'added', binary: false, added: 2, removed: 0 },
      { path: 'img.png', status: 'deleted', binary: true, added: 0, removed: 0 },
    ]);
    expect(parseChangedFiles('', '')).toEqual([]);
  });
});

describe('PatchSplitter', () => {
  const patch =
    'diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y\n' +
    'diff --git a/b.txt b/b.txt\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+diff --git is content here\n';

  it('splits a patch into one section per file, whatever the chunks, a content line never taken for a header', () => {
    const whole = new PatchSplitter(1 << 20, 1 << 20);
    whole.push(Buffer.from(patch));
    const expected = whole.end();
    expect(expected.map((s) => s.header)).toEqual(['diff --git a/a.txt b/a.txt', 'diff --git a/b.txt b/b.txt']);
    expect(expected[1]?.text).toContain('+diff --git is content here');
    expect(expected.map((s) => s.text).join('')).toBe(patch);
    // Byte by byte: a header split across chunks is still one.
    const bytes = new PatchSplitter(1 << 20, 1 << 20);
    for (const byte of Buffer.from(patch)) bytes.push(Buffer.from([byte]));
    expect(bytes.end()).toEqual(expected);
  });

  it('cuts a section at the file limit and stops at the total', () => {
    const perFile = new PatchSplitter(40, 1 << 20);
    perFile.push(Buffer.from(patch));
    const sections = perFile.end();
    expect(sections.map((s) => [Buffer.byteLength(s.text), s.truncated])).toEqual([
      [40, true],
      [40, true],
    ]);
    const total = new PatchSplitter(1 << 20, 60);
    expect(total.push(Buffer.from(patch))).toBe(false);
    const cut = total.end();
    expect(cut).toHaveLength(1);
    expect(cut[0]?.truncated).toBe(true);
    expect(Buffer.byteLength(cut[0]?.text ?? '')).toBe(60);
    // A cut inside a character drops the partial character.
    const accents = new PatchSplitter(30, 1 << 20);
    accents.push(Buffer.from(`diff --git a/e b/e\n+${'é'.repeat(20)}\n`));
    const [e] = accents.end();
    expect(e?.text).not.toContain('\uFFFD');
    expect(Buffer.byteLength(e?.text ?? '')).toBeLessThanOrEqual(30);
  });
});
