import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ENTRIES } from '../../src/workspace/fingerprint.ts';
import { commitAll } from '../../src/workspace/git.ts';
import { WorkspaceHistory } from '../../src/workspace/index.ts';

// Recording a workspace's files for a version: real git, real folders. git is reached through
// a wrapper first on PATH that logs each git command before running the real one, so the test
// counts the git processes a recording starts.

let root: string;
let calls: string;
let savedPath: string | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orch-history-'));
  const bin = path.join(root, 'bin');
  calls = path.join(root, 'calls.log');
  await mkdir(bin);
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  await writeFile(
    path.join(bin, 'git'),
    `#!/bin/sh\nfor a in "$@"; do case "$a" in -*|*=*) ;; *) echo "$a" >> '${calls}'; break;; esac; done\nexec '${realGit}' "$@"\n`,
  );
  await chmod(path.join(bin, 'git'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}${path.delimiter}${savedPath ?? ''}`;
});
afterAll(async () => {
  process.env.PATH = savedPath;
  await rm(root, { recursive: true, force: true });
});

let workspace: string;
let history: WorkspaceHistory;
beforeEach(async () => {
  workspace = await mkdtemp(path.join(root, 'ws-'));
  history = new WorkspaceHistory(await mkdtemp(path.join(root, 'history-')));
  await writeFile(path.join(workspace, 'a.txt'), 'one\n');
  await writeFile(calls, '');
});

/** The git commands (first word) started since the last call. */
async function gitCommands(): Promise<string[]> {
  const list = (await readFile(calls, 'utf8')).split('\n').filter(Boolean);
  await writeFile(calls, '');
  return list;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));
const files = (commit: string) =>
  execFileSync('git', [`--git-dir=${history.folder('ses_1')}`, 'ls-tree', '-r', '--name-only', commit], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);

describe('workspace history', () => {
  it('starts no git process for a version when no file changed, one recording (add, commit) when one did', async () => {
    const first = await history.record('ses_1', workspace, 'seq 1');
    expect(files(first)).toEqual(['a.txt']);
    await gitCommands();
    await settle();
    const same = await history.record('ses_1', workspace, 'seq 2');
    expect(same).toBe(first);
    expect(await history.record('ses_1', workspace, 'seq 3')).toBe(first);
    // The fingerprint of a folder changed less than 100 ms ago is not trusted: the second call
    // may have asked git; the third, later, must not have.
    const quiet = await gitCommands();
    await settle();
    expect(await history.record('ses_1', workspace, 'seq 4')).toBe(first);
    expect(await gitCommands()).toEqual([]);
    expect(quiet.filter((c) => c === 'commit')).toEqual([]);

    await mkdir(path.join(workspace, 'src'));
    await writeFile(path.join(workspace, 'src', 'b.txt'), 'two\n');
    const second = await history.record('ses_1', workspace, 'seq 5');
    expect(second).not.toBe(first);
    expect(files(second)).toEqual(['a.txt', 'src/b.txt']);
    const commands = await gitCommands();
    expect(commands.filter((c) => c === 'add')).toEqual(['add']);
    expect(commands.filter((c) => c === 'commit')).toEqual(['commit']);
  });

  it('sees a file rewritten at once with the same size (within the clock tick of the file system)', async () => {
    await settle();
    const first = await history.record('ses_1', workspace, 'seq 1');
    await writeFile(path.join(workspace, 'a.txt'), 'two\n');
    const second = await history.record('ses_1', workspace, 'seq 2');
    await writeFile(path.join(workspace, 'a.txt'), 'six\n');
    const third = await history.record('ses_1', workspace, 'seq 3');
    expect(new Set([first, second, third]).size).toBe(3);
    const shown = execFileSync('git', [`--git-dir=${history.folder('ses_1')}`, 'show', `${third}:a.txt`], {
      encoding: 'utf8',
    });
    expect(shown).toBe('six\n');
  });

  it('records nothing for a version of an empty folder with no history, and an emptied folder as a change', async () => {
    const empty = await mkdtemp(path.join(root, 'empty-'));
    await mkdir(path.join(empty, '.git'));
    expect(await history.recordVersion('ses_2', empty, 'seq 1')).toBeNull();
    expect(await gitCommands()).toEqual([]);
    expect(await history.exists('ses_2')).toBe(false);

    await writeFile(path.join(empty, 'a.txt'), 'one\n');
    const first = await history.recordVersion('ses_2', empty, 'seq 2');
    expect(first).toMatch(/^[0-9a-f]{40}$/);
    await rm(path.join(empty, 'a.txt'));
    const emptied = await history.recordVersion('ses_2', empty, 'seq 3');
    expect(emptied).toMatch(/^[0-9a-f]{40}$/);
    expect(emptied).not.toBe(first);
    const changed = await history.changedFiles('ses_2', first as string, emptied as string);
    expect(changed).toEqual(['a.txt']);
    // A history made elsewhere (another process, an import) is honoured as well.
    const other = new WorkspaceHistory(path.dirname(history.folder('ses_2')));
    expect(await other.recordVersion('ses_2', empty, 'seq 4')).toMatch(/^[0-9a-f]{40}$/);
  });

  it('leaves a folder of more entries than a fingerprint lists to git, at every version', async () => {
    await mkdir(path.join(workspace, 'many'));
    for (let i = 0; i <= MAX_ENTRIES; i++) await writeFile(path.join(workspace, 'many', `f${i}`), `${i}`);
    const first = await history.record('ses_1', workspace, 'v1');
    await settle();
    await gitCommands();
    expect(await history.record('ses_1', workspace, 'v2')).toBe(first);
    expect((await gitCommands()).filter((c) => c === 'add')).toEqual(['add']);
    await writeFile(path.join(workspace, 'many', 'f7'), 'seven');
    await settle();
    const third = await history.record('ses_1', workspace, 'v3');
    expect(third).not.toBe(first);
    expect(
      execFileSync('git', [`--git-dir=${history.folder('ses_1')}`, 'show', `${third}:many/f7`], { encoding: 'utf8' }),
    ).toBe('seven');
  });
  it('records a removed file and an ignored one not at all', async () => {
    await writeFile(path.join(workspace, '.gitignore'), 'secret.txt\n');
    await writeFile(path.join(workspace, 'secret.txt'), 'hidden\n');
    const first = await history.record('ses_1', workspace, 'seq 1');
    expect(files(first)).toEqual(['.gitignore', 'a.txt']);
    await rm(path.join(workspace, 'a.txt'));
    await settle();
    const second = await history.record('ses_1', workspace, 'seq 2');
    expect(files(second)).toEqual(['.gitignore']);
  });
});

describe("Claude Code's sandbox placeholders", () => {
  /** An empty read-only file, as Claude Code's sandbox places one while a command runs. */
  const placeholder = async (file: string) => {
    await mkdir(path.dirname(path.join(workspace, file)), { recursive: true });
    await writeFile(path.join(workspace, file), '');
    await chmod(path.join(workspace, file), 0o444);
  };

  it('are never recorded; a user’s files at the same kind of names are', async () => {
    // Recorded before any sandbox ran: stays recorded whatever it looks like later.
    await writeFile(path.join(workspace, '.gitconfig'), '');
    const first = await history.record('ses_1', workspace, 'seq 1');
    await chmod(path.join(workspace, '.gitconfig'), 0o444);
    for (const file of ['.bashrc', '.mcp.json', '.vscode', '.claude/settings.json', '.claude/commands']) {
      await placeholder(file);
    }
    // A user's own: with content, writable, or deeper than the sandbox places its files.
    await writeFile(path.join(workspace, '.envrc'), 'export A=1\n');
    await mkdir(path.join(workspace, '.claude', 'agents'), { recursive: true });
    await writeFile(path.join(workspace, '.claude', 'notes.md'), '');
    await placeholder('src/.bashrc');
    await placeholder('.claude/agents/x.md');
    const second = await history.record('ses_1', workspace, 'seq 2');
    expect(second).not.toBe(first);
    expect(files(second)).toEqual([
      '.claude/agents/x.md',
      '.claude/notes.md',
      '.envrc',
      '.gitconfig',
      'a.txt',
      'src/.bashrc',
    ]);
  });

  it('are not recorded in a new history either, nor when gone by the time of the check', async () => {
    await placeholder('.profile');
    await placeholder('.claude/settings.local.json');
    const first = await history.record('ses_1', workspace, 'seq 1');
    expect(files(first)).toEqual(['a.txt']);
    // Removed once the command ended: nothing to record.
    await rm(path.join(workspace, '.profile'), { force: true });
    await settle();
    await writeFile(path.join(workspace, 'a.txt'), 'two\n');
    expect(files(await history.record('ses_1', workspace, 'seq 2'))).toEqual(['a.txt']);
  });

  it("are not committed from a node's worktree (an agent killed mid-command leaves them)", async () => {
    execFileSync('git', ['init', '-q', workspace]);
    await placeholder('.bashrc');
    await placeholder('.claude/settings.json');
    await writeFile(path.join(workspace, '.claude', 'keep.json'), '{}\n');
    const head = await commitAll(workspace, 'changes of a node');
    const committed = execFileSync('git', ['-C', workspace, 'ls-tree', '-r', '--name-only', head], {
      encoding: 'utf8',
    });
    expect(committed.split('\n').filter(Boolean)).toEqual(['.claude/keep.json', 'a.txt']);
  });
});

describe('workspace history of a workspace that holds the data directory', () => {
  it('never records the data directory, drops what an earlier recording took of it, and is not woken by it', async () => {
    // `--workspace .` on a checkout with the default `.orchestrator` in it: the history lives
    // inside the folder it records.
    const dataDir = path.join(workspace, '.orchestrator');
    await mkdir(path.join(dataDir, 'claude'), { recursive: true });
    await writeFile(path.join(dataDir, 'events.db'), 'the log');
    await writeFile(path.join(dataDir, 'claude', 'transcript.jsonl'), 'a conversation');
    // An earlier recording that took the data directory in (before it was left out).
    const careless = new WorkspaceHistory(path.join(dataDir, 'history'));
    const before = await careless.record('ses_1', workspace, 'v1');
    expect(
      execFileSync('git', [`--git-dir=${careless.folder('ses_1')}`, 'ls-tree', '-r', '--name-only', before], {
        encoding: 'utf8',
      }),
    ).toContain('.orchestrator/events.db');

    history = new WorkspaceHistory(path.join(dataDir, 'history'), undefined, { neverRecorded: dataDir });
    // a.txt must be older than the fingerprint's racy window (100 ms), or this recording keeps
    // no fingerprint and the one below asks git again: on a quiet machine the steps since the
    // file was written can take less than that (seen once in a full run).
    await settle();
    const first = await history.record('ses_1', workspace, 'v2');
    expect(files(first)).toEqual(['a.txt']);
    await settle();
    await gitCommands();
    // The log and the transcripts change all the time: no new recording, not even a git process.
    await writeFile(path.join(dataDir, 'events.db'), 'the log, longer');
    await writeFile(path.join(dataDir, 'claude', 'other.jsonl'), 'another conversation');
    await settle();
    expect(await history.record('ses_1', workspace, 'v3')).toBe(first);
    expect(await gitCommands()).toEqual([]);
    // A file of the workspace's own is recorded as ever.
    await writeFile(path.join(workspace, 'b.txt'), 'two\n');
    expect(files(await history.record('ses_1', workspace, 'v4'))).toEqual(['a.txt', 'b.txt']);
  });
  it('never looks into a repository inside the workspace: its fsmonitor and clean filter never run', async () => {
    const marker = path.join(root, `ran-${path.basename(workspace)}`);
    const nested = await plantRepository(path.join(workspace, 'sub'), marker);
    await writeFile(path.join(workspace, 'own.txt'), 'mine\n');
    const first = await history.record('ses_1', workspace, 'v1');
    await writeFile(path.join(nested, 'f.txt'), 'two\n');
    await writeFile(path.join(workspace, 'own.txt'), 'mine, edited\n');
    const second = await history.record('ses_1', workspace, 'v2');
    expect(await readFile(marker, 'utf8').catch(() => 'never ran')).toBe('never ran');
    // The workspace's own files are recorded as ever; the nested repository not at all.
    for (const commit of [first, second]) {
      expect(files(commit)).toContain('own.txt');
      expect(files(commit).filter((file) => file.startsWith('sub'))).toEqual([]);
    }
    expect(second).not.toBe(first);
  });
  it('finds repositories deep in new folders, at names git quotes, and links an older recording made', async () => {
    const marker = path.join(root, `ran-${path.basename(workspace)}`);
    // A link to a repository, as recordings made before nested repositories were left out
    // took one: in the history's index and its last commit.
    const linked = await plantRepository(path.join(workspace, 'linked'), marker);
    await history.record('ses_1', workspace, 'v1');
    const inHistory = ['-c', 'user.name=a', '-c', 'user.email=a@b', `--git-dir=${history.folder('ses_1')}`];
    execFileSync('git', [...inHistory, `--work-tree=${workspace}`, 'add', 'linked'], {
      cwd: workspace,
      stdio: 'ignore',
    });
    execFileSync('git', [...inHistory, 'commit', '-q', '-m', 'old'], { cwd: workspace });
    const deep = await plantRepository(path.join(workspace, 'new', 'er', 'deep'), marker);
    await writeFile(path.join(workspace, 'new', 'own.txt'), 'mine\n');
    const edit = async (round: string, repositories = [linked, deep]) => {
      for (const folder of repositories) await writeFile(path.join(folder, 'f.txt'), round);
      await writeFile(path.join(workspace, 'a.txt'), round);
      return history.record('ses_1', workspace, round);
    };
    const second = await edit('two\n');
    expect(files(second)).toEqual(['a.txt', 'linked', 'new/own.txt']);
    // A name git writes quoted (a tab in it) cannot be read back from its listing: then the
    // whole folder is searched, and every repository is still left out.
    const quoted = await plantRepository(path.join(workspace, 'new', 'tab\there'), marker);
    await writeFile(path.join(quoted, 'f.txt'), 'edited\n');
    const third = await edit('three\n');
    expect(files(third)).toEqual(['a.txt', 'linked', 'new/own.txt']);
    expect(await readFile(marker, 'utf8').catch(() => 'never ran')).toBe('never ran');
    // The old link stays as recorded while its repository is there, and goes with it.
    const linkIn = (commit: string) =>
      execFileSync('git', [`--git-dir=${history.folder('ses_1')}`, 'rev-parse', `${commit}:linked`], {
        encoding: 'utf8',
      });
    expect(linkIn(third)).toBe(linkIn(second));
    await rm(linked, { recursive: true });
    expect(files(await edit('four\n', [deep]))).toEqual(['a.txt', 'new/own.txt']);
  });
});

/** A repository in `folder` whose config names commands git would run, each appending to `marker`. */
async function plantRepository(folder: string, marker: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  const inNested = (...args: string[]) =>
    execFileSync('git', ['-C', folder, '-c', 'user.name=a', '-c', 'user.email=a@b', ...args]);
  inNested('init', '-q');
  await writeFile(path.join(folder, '.gitattributes'), '* filter=x\n');
  await writeFile(path.join(folder, 'f.txt'), 'one\n');
  inNested('add', '-A');
  inNested('commit', '-q', '-m', 'first');
  inNested('config', 'core.fsmonitor', `echo fsmonitor >> ${marker}; false`);
  inNested('config', 'filter.x.clean', `sh -c 'echo filter >> ${marker}; cat'`);
  return folder;
}
