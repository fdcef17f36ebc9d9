import type { ExecFileOptions } from 'node:child_process';
import { OrchestratorError } from '../errors/index.ts';

// Node's modules through getBuiltinModule at the first command, not `import`: node:util's ESM
// facade reads every export (about 3 MB of Node's internals, worker threads among them), and
// node:child_process brings net and dgram; the library's import should not pay for either.
type Run = (file: string, args: string[], options: ExecFileOptions) => Promise<{ stdout: string }>;
let runner: Run | undefined;
function run(file: string, args: string[], options: ExecFileOptions): Promise<{ stdout: string }> {
  runner ??= process.getBuiltinModule('node:util').promisify(process.getBuiltinModule('node:child_process').execFile);
  return runner(file, args, options);
}

/** Git refused because another git process holds one of the repository's lock files. */
const LOCK_HELD = /\.lock'?: File exists|could not lock config file/;
/** Waits between tries while a lock is held: about 3 s in all, then the failure stands. */
const LOCK_WAITS_MS = [20, 40, 80, 160, 320, 640, 640, 640];

/**
 * Identity of the commits the orchestrator makes in workspaces, and no file-system monitor: a
 * repository an agent makes inside its folder is one git looks into (`git status` there, to
 * see whether it changed), with that repository's own config, where `core.fsmonitor` names a
 * command to run. Command-line settings reach those nested git processes and override theirs.
 */
const IDENTITY = [
  '-c',
  'user.name=AI Orchestrator',
  '-c',
  'user.email=orchestrator@localhost',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'diff.ignoreSubmodules=all',
];

/**
 * Runs git in a folder; failures become `WORKSPACE_FAILED` with git's stderr. A lock held by
 * another git process is waited for, about 3 s at most.
 */
export async function git(
  cwd: string,
  args: string[],
  options: { allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; code: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { stdout } = await run('git', [...IDENTITY, ...args], {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
        ...(options.env && { env: options.env }),
      });
      return { stdout: stdout.trim(), code: 0 };
    } catch (error) {
      const wait = LOCK_WAITS_MS[attempt];
      // Another git process (a version being recorded, or the process this one took the
      // session over from, finishing its command) holds a lock for a moment: wait for it.
      if (wait !== undefined && LOCK_HELD.test((error as { stderr?: string }).stderr ?? '')) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      return failed(error, cwd, args, options);
    }
  }
}

/**
 * Runs a shell script of several git commands as one child process (`"$@"` in the script is
 * git's identity options plus `args`; `env` is added to the environment): one spawn on the
 * main thread instead of one per command. Failures and held locks as {@link git}.
 */
export async function gitScript(
  cwd: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  options: { allowFailure?: boolean } = {},
): Promise<{ stdout: string; code: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { stdout } = await run('sh', ['-c', script, 'sh', ...IDENTITY, ...args], {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...env },
      });
      return { stdout: stdout.trim(), code: 0 };
    } catch (error) {
      const wait = LOCK_WAITS_MS[attempt];
      if (wait !== undefined && LOCK_HELD.test((error as { stderr?: string }).stderr ?? '')) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      return failed(error, cwd, ['(script)', ...args], options);
    }
  }
}

function failed(
  error: unknown,
  cwd: string,
  args: string[],
  options: { allowFailure?: boolean },
): { stdout: string; code: number } {
  const failure = error as { code?: number; stderr?: string; stdout?: string };
  if (options.allowFailure) {
    return { stdout: (failure.stdout ?? '').trim(), code: typeof failure.code === 'number' ? failure.code : 1 };
  }
  throw new OrchestratorError(
    'WORKSPACE_FAILED',
    `git ${args.join(' ')} failed in ${cwd}: ${(failure.stderr ?? String(error)).trim()}`,
    { cause: error },
  );
}

/**
 * Shell lines run right after `git "$@" add -A` of the folder `$WORKSPACE`: they unstage the
 * empty read-only files Claude Code's sandbox (2.1.331) places in a working directory while a
 * command runs, as mount points (`.bashrc`, `.mcp.json`, `.claude/settings.json`, ...; see
 * `SANDBOX_PLACEHOLDERS`), so that a recording made meanwhile (or after an agent killed
 * mid-command left them) never records them, nor gives them to a worktree or a restored copy.
 * Taken for one: a new file at a top-level dot name or directly under `.claude/`, empty, and on
 * disk still empty with mode 0444 or already gone. A user's own file there is never empty and
 * read-only for all, and one already recorded is never touched.
 */
export const UNSTAGE_SANDBOX_PLACEHOLDERS = `added=$(git "$@" diff --cached --raw --no-abbrev --no-renames --diff-filter=A -- ':(glob).*' ':(glob).claude/*')
[ -z "$added" ] || printf '%s\\n' "$added" | while IFS= read -r line; do
  blob=$(printf '%s' "$line" | cut -d' ' -f4)
  case "$blob" in e69de29bb2d1d6434b8b29ae775ad8c2e48c5391|473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813) ;; *) continue ;; esac
  file=\${line#*\t}
  case "$file" in \\"*|*/*/*) continue ;; */*) case "$file" in .claude/*) ;; *) continue ;; esac ;; esac
  if [ ! -e "$WORKSPACE/$file" ] || [ -n "$(find "$WORKSPACE/$file" -maxdepth 0 -type f -perm 444 -size 0 2>/dev/null)" ]; then
    git "$@" rm -q --cached -- "$file"
  fi
done`;

/**
 * Shell lines that print, NUL-terminated, a pathspec excluding each repository nested in the
 * folder `$WORKSPACE` (below its top; git's options in `"$@"`, `$SKIP` a folder left out), for
 * `git add --pathspec-from-file`. Left in view, such a repository (one an agent made, or
 * cloned) is recorded as a link to its commit, and every later `git add` runs `git status`
 * inside it to see whether it changed: with that repository's own config and attributes, so a
 * clean filter it names (`filter.<name>.clean`) ran as a command of the orchestrator's, outside
 * the sandbox. Kept out, it is never looked into; what it holds was never recorded anyway (a
 * link names a commit, not files).
 *
 * Git itself finds them, in the walk `add` makes anyway: `ls-files -o` stops at a repository
 * and lists it as `dir/` (a file is never listed with a slash), and `-s` shows the links an
 * older recording made (mode 160000). Ignored folders are never walked: a `find` over the
 * folder took 60-90 ms beside `node_modules` (16,000-20,000 files), git's listing 8-15. A name
 * git has to quote (a tab, a newline, a quote or a backslash in it) cannot be read back safely
 * here, so then `find` looks through the whole folder as before; so it does when git fails.
 */
export const NESTED_REPOSITORY_EXCLUDES = `(cd "$WORKSPACE" || exit 1
listed=$({ git "$@" -c core.quotePath=false ls-files -s -o --exclude-standard -- ':(top)' \
    \${SKIP:+":(top,exclude,literal)$SKIP"} || echo '"failed/"'; } | grep -e '^160000 ' -e '/$' -e '/"$') || :
case "$listed" in \\"*|*'
"'*|*"\t\\""*) find . -mindepth 2 -name .git -prune -exec sh -c 'for found; do
    dir=\${found%/.git}; printf ":(top,exclude,literal)%s\\0" "\${dir#./}"; done' sh {} +; exit ;;
esac
set -f; IFS='
'
for line in $listed; do
  case "$line" in
    "160000 "*"\t"*) link=\${line#*\t}
      if [ -e "$link/.git" ] || [ -h "$link/.git" ]; then printf ':(top,exclude,literal)%s\\0' "$link"; fi ;;
    */) printf ':(top,exclude,literal)%s\\0' "\${line%/}" ;;
  esac
done)`;

/**
 * Commits everything in the folder when anything changed; returns the head commit, or the
 * commit `ref` names afterwards (read in the same child process). `gitOptions` go before each
 * git command (`--git-dir`, `--work-tree`).
 */
export async function commitAll(
  cwd: string,
  message: string,
  ref = 'HEAD',
  gitOptions: string[] = [],
): Promise<string> {
  return (await gitScript(cwd, COMMIT_ALL_SCRIPT, gitOptions, { WORKSPACE: cwd, MESSAGE: message, REF: ref })).stdout;
}

// One child process for its git commands (each one spawned by the orchestrator cost it a
// fork of its whole process, 13-110 ms apiece, on the critical path of an isolated node). A
// repository without a commit yet (an empty workspace, or a process killed right after
// `git init`) still gets one: worktrees and merges start from HEAD.
const COMMIT_ALL_SCRIPT = `set -e
{ printf ':(top)\\0'; ${NESTED_REPOSITORY_EXCLUDES}; } | git "$@" add -A --pathspec-from-file=- --pathspec-file-nul
${UNSTAGE_SANDBOX_PLACEHOLDERS}
if git "$@" rev-parse -q --verify HEAD >/dev/null && git "$@" diff --cached --quiet HEAD --; then :
else git "$@" commit -q --no-verify --allow-empty -m "$MESSAGE"; fi
git "$@" rev-parse "$REF"`;
