import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileSecurityPolicy,
  type DecisionContext,
  decideBeforeClaudeCode,
  NO_RULES,
  sdkSecurityOptions,
  sessionFoldersOf,
} from '../../src/security/index.ts';
import { readTargets, realTargets } from '../../src/security/read-targets.ts';

// Where reads are open, a file tool reads in the folders of sessions' files (workspaces,
// worktrees) only inside the agent's own workspace; the sandbox keeps its commands out of them.

describe('readTargets: what a file tool call reads', () => {
  it('takes the path fields of the reading tools, relative ones from the workspace', () => {
    expect(readTargets('Read', { file_path: 'a/b.txt' }, '/ws')).toEqual(['/ws/a/b.txt']);
    expect(readTargets('Read', { file_path: '/etc/passwd' }, '/ws')).toEqual(['/etc/passwd']);
    expect(readTargets('Grep', { pattern: 'x' }, '/ws')).toEqual(['/ws']);
    expect(readTargets('Grep', { pattern: 'x', path: '../other' }, '/data/workspaces/me')).toEqual([
      '/data/workspaces/other',
    ]);
    expect(readTargets('Glob', { pattern: '**/*.ts', path: '/data/worktrees' }, '/ws')).toEqual([
      '/data/worktrees',
      '/data/worktrees',
    ]);
    expect(readTargets('NotebookRead', { notebook_path: 'n.ipynb' }, '/ws')).toEqual(['/ws/n.ipynb']);
  });

  it("reads a Glob pattern's plain leading folders, and ignores tools that read no file", () => {
    expect(readTargets('Glob', { pattern: '/data/workspaces/*/notes.txt' }, '/ws')).toEqual([
      '/ws',
      '/data/workspaces',
    ]);
    expect(readTargets('Glob', { pattern: '../other/**/*.txt' }, '/data/workspaces/me')).toEqual([
      '/data/workspaces/me',
      '/data/workspaces/other',
    ]);
    expect(readTargets('Glob', { pattern: '**/*.ts' }, '/ws')).toEqual(['/ws', '/ws']);
    // A `..` among the wildcards may climb anywhere: a search from the root.
    expect(readTargets('Glob', { pattern: '{../other,src}/*.txt' }, '/data/workspaces/me')).toEqual([
      '/data/workspaces/me',
      '/',
    ]);
    expect(readTargets('Glob', { pattern: 'src/*/..x/*.ts' }, '/ws')).toEqual(['/ws', '/ws/src']);
    expect(readTargets('Glob', { pattern: 'src/a*.ts', path: 'lib' }, '/ws')).toEqual(['/ws/lib', '/ws/lib/src']);
    expect(readTargets('Glob', { pattern: '/data/workspaces/x/notes.txt' }, '/ws')).toEqual([
      '/ws',
      '/data/workspaces/x/notes.txt',
    ]);
    expect(readTargets('Bash', { command: 'cat /data/workspaces/x' }, '/ws')).toEqual([]);
    expect(readTargets('Write', { file_path: '/x' }, '/ws')).toEqual([]);
    expect(readTargets('Read', null, '/ws')).toEqual([]);
  });
});

describe('realTargets: links resolved', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'orch-read-targets-'));
    await mkdir(path.join(root, 'workspaces', 'me'), { recursive: true });
    await mkdir(path.join(root, 'workspaces', 'other'), { recursive: true });
    await writeFile(path.join(root, 'workspaces', 'other', 'notes.txt'), 'theirs');
    await symlink(path.join(root, 'workspaces', 'other'), path.join(root, 'workspaces', 'me', 'link'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("follows a link planted in the agent's own workspace, and the nearest folder of a path not there", async () => {
    const me = path.join(root, 'workspaces', 'me');
    const [linked, missing] = await realTargets([path.join(me, 'link', 'notes.txt'), path.join(me, 'link', 'no', 'x')]);
    expect(linked).toMatch(/workspaces\/other\/notes\.txt$/);
    expect(missing).toMatch(/workspaces\/other\/no\/x$/);
  });
});

describe('decideBeforeClaudeCode: reads in other sessions', () => {
  const context = (spec = {}): DecisionContext => ({
    policy: compileSecurityPolicy(spec),
    workspace: '/data/workspaces/me',
    workspaceReal: '/data/workspaces/me',
    rules: NO_RULES,
    sessionFolders: sessionFoldersOf('/data'),
  });

  it("denies a read in another session's folder and allows one in the agent's own", () => {
    const other = decideBeforeClaudeCode(context(), 'Read', {}, ['/data/workspaces/other/notes.txt']);
    expect(other).toEqual({
      decision: 'deny',
      by: 'policy',
      reason: `"/data/workspaces/other/notes.txt" holds another session's files`,
    });
    expect(decideBeforeClaudeCode(context(), 'Grep', {}, ['/data/workspaces'])?.decision).toBe('deny');
    expect(decideBeforeClaudeCode(context(), 'Glob', {}, ['/data/worktrees/x-n-1'])?.decision).toBe('deny');
    expect(decideBeforeClaudeCode(context(), 'Read', {}, ['/data/workspaces/me/a.txt'])).toBeUndefined();
    expect(decideBeforeClaudeCode(context(), 'Read', {}, ['/etc/hosts'])).toBeUndefined();
    // Its own transcript folder (Claude Code keeps large tool outputs there for it to read).
    const own = { ...context(), ownFolders: ['/data/claude/projects/-data-workspaces-me'] };
    expect(
      decideBeforeClaudeCode(own, 'Read', {}, ['/data/claude/projects/-data-workspaces-me/s/tool-results/1.txt']),
    ).toBeUndefined();
    expect(
      decideBeforeClaudeCode(own, 'Read', {}, ['/data/claude/projects/-data-workspaces-other/s.jsonl'])?.decision,
    ).toBe('deny');
    // A search from above the folders goes down into them.
    expect(decideBeforeClaudeCode(context(), 'Grep', {}, ['/data'])?.decision).toBe('deny');
    expect(decideBeforeClaudeCode(context(), 'Glob', {}, ['/'])?.decision).toBe('deny');
    expect(decideBeforeClaudeCode(context(), 'Grep', {}, ['/data/workspaces/me/src'])).toBeUndefined();
    // Its own TMPDIR (an own folder), not another process's.
    const scratch = { ...context(), ownFolders: ['/data/tmp/abc.def.12345678'] };
    expect(decideBeforeClaudeCode(scratch, 'Read', {}, ['/data/tmp/abc.def.12345678/claude-0/t.txt'])).toBeUndefined();
    expect(decideBeforeClaudeCode(scratch, 'Read', {}, ['/data/tmp/xyz.uvw.87654321/t.txt'])?.decision).toBe('deny');
    // A workspace holding the data directory does not make other sessions' folders its own.
    const around = {
      ...context(),
      workspace: '/repo',
      workspaceReal: '/repo',
      sessionFolders: sessionFoldersOf('/repo/.orchestrator'),
    };
    expect(decideBeforeClaudeCode(around, 'Read', {}, ['/repo/.orchestrator/workspaces/s/a'])?.decision).toBe('deny');
    expect(decideBeforeClaudeCode(around, 'Read', {}, ['/repo/src/a.ts'])).toBeUndefined();
    expect(decideBeforeClaudeCode(around, 'Grep', {}, ['/repo'])).toBeUndefined();
    // Claude Code's own confinement covers confined types.
    const confined = context({ confine: { reads: true } });
    expect(decideBeforeClaudeCode(confined, 'Read', {}, ['/data/workspaces/other/a'])).toBeUndefined();
  });

  it('gives the folders to the sandbox of a type whose reads are open, and only then', () => {
    const base = {
      alwaysAllow: [],
      revoked: [],
      workspace: '/data/workspaces/me',
      sessionFolders: sessionFoldersOf('/data'),
    };
    expect(sdkSecurityOptions(compileSecurityPolicy({}), base).sandbox?.filesystem).toEqual({
      denyRead: ['/data/workspaces', '/data/worktrees', '/data/claude/projects', '/data/tmp'],
    });
    const confined = sdkSecurityOptions(compileSecurityPolicy({ confine: { reads: true } }), base);
    expect(confined.sandbox?.filesystem?.denyRead).toEqual(['/']);
    expect(sdkSecurityOptions(compileSecurityPolicy({ sandbox: false }), base).sandbox).toBeUndefined();
    expect(sessionFoldersOf(undefined)).toEqual([]);
  });
});
