import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';
import { inPidWindow, type PidMark, pidsForkedBetween, procIsOwnNamespace, readPidMark } from './pid-window.ts';
import {
  ownIdentity,
  PROCESS_OWNER_VARIABLE,
  PROCESS_SCOPE_VARIABLE,
  PROCESS_TAG_VARIABLE,
  removeAttribution,
  writeAttribution,
} from './process-tags.ts';
import { makeScratchDir, removeScratchDir } from './scratch.ts';

export { PROCESS_TAG_VARIABLE };

/** How long a process group may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Bytes of stderr kept per process, for error messages when it dies. */
const STDERR_TAIL_BYTES = 4000;

/**
 * util-linux `setpriv` sets the parent-death signal before it execs Claude Code, so an agent
 * process dies with the orchestrator even when the orchestrator is SIGKILLed (without it, an
 * orphaned agent went on retrying, and against a real API would go on spending). Linux only;
 * elsewhere the processes are still reaped on every normal ending.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(
  (candidate) => process.platform === 'linux' && existsSync(candidate),
);

/** One Claude Code child process started for an agent. */
export interface TrackedProcess {
  readonly pid: number | undefined;
  /** The last few KB of its stderr. */
  stderrTail(): string;
  exitCode(): number | null;
  /** Resolves when the process has exited and the descendants it left behind were killed. */
  readonly exited: Promise<void>;
  /** Its own TMPDIR (see scratch.ts), when it has one. */
  readonly scratchDir?: string | undefined;
}

/**
 * Starts Claude Code processes for the SDK (through its `spawnClaudeCodeProcess` hook) and
 * keeps track of every one, so that none outlives its agent or the orchestrator. Each
 * process leads its own process group, killed as a whole. Claude Code runs each `Bash` tool
 * call in a process group of its own, though, so when Claude Code dies without ending them
 * (SIGKILL, a crash) they would survive it, re-parented to init: every agent process carries
 * a unique {@link PROCESS_TAG_VARIABLE} that its descendants inherit, and once it has exited
 * every process still carrying its tag is killed (on Linux, through /proc). A tool that
 * scrubs its own environment escapes this sweep. The tag comes with this process's identity
 * and the data directory (see `process-tags.ts`): when the orchestrator itself is killed,
 * nothing here runs, and the next orchestrator on the directory ends what is left with
 * `sweepOrphans`.
 */
export class ProcessRegistry {
  /** The data directory written into every process's environment and attribution files. */
  readonly #dataDir: string | undefined;

  /** The orchestrator's data directory, when the agents' environment names it. */
  get dataDir(): string | undefined {
    return this.#dataDir;
  }
  readonly #live = new Map<number, ChildProcess>();
  /** Tags of the live processes, by pid; and those whose attribution file was written. */
  readonly #tags = new Map<number, string>();
  readonly #attributed = new Set<string>();
  readonly #exits = new WeakMap<ChildProcess, Promise<void>>();
  /** Processes this registry was asked to end: their exit is never taken as clean. */
  readonly #stopping = new WeakSet<ChildProcess>();
  /** TMPDIR removals after a clean exit, still under way (see the exit handler); `killAll` waits for them. */
  readonly #removals = new Set<Promise<void>>();

  /**
   * @param options.dataDir the orchestrator's data directory: its processes carry it (with
   * this process's identity) so that a later `sweepOrphans(dataDir)` finds those a killed
   * orchestrator left behind. @default none (processes carry their tag and owner only)
   */
  constructor(options: { dataDir?: string | undefined } = {}) {
    this.#dataDir = options.dataDir;
  }

  /** The number of agent processes alive now. */
  get size(): number {
    return this.#live.size;
  }

  /** Pids of the agent processes alive now. */
  pids(): number[] {
    return [...this.#live.keys()];
  }

  /**
   * A spawn function for one query: the SDK calls it once; the returned handle reports the
   * process to the caller through `onSpawn`.
   */
  spawner(onSpawn: (process: TrackedProcess) => void): (options: SpawnOptions) => SpawnedProcess {
    return (options) => {
      const tag = randomUUID();
      // A TMPDIR of its own (see scratch.ts): processes of one configuration sharing one
      // raced on the sandbox's settings file there.
      const sharedTmp = options.env.TMPDIR;
      const scratch = sharedTmp === undefined ? undefined : makeScratchDir(sharedTmp, ownIdentity(), tag);
      // Before the fork: its descendants' pids come after this mark (see pid-window.ts).
      const forkedAfter = readPidMark(true);
      const [command, args] = SETPRIV
        ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', options.command, ...options.args]]
        : [options.command, options.args];
      // Loaded at the first spawn: node:child_process (with net and dgram) costs about 3 MB
      // resident at every import of the library.
      const child = process.getBuiltinModule('node:child_process').spawn(command, args, {
        cwd: options.cwd,
        env: {
          ...(options.env as NodeJS.ProcessEnv),
          ...(scratch !== undefined && { TMPDIR: scratch }),
          [PROCESS_TAG_VARIABLE]: tag,
          [PROCESS_OWNER_VARIABLE]: ownIdentity(),
          ...(this.#dataDir !== undefined && { [PROCESS_SCOPE_VARIABLE]: this.#dataDir }),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      // The SDK hangs 'exit' listeners on the process for each of its waits: a pre-warmed
      // spare closed before any claim has 11 (transport start and close, two for each of four
      // waits for exit, and ours below), one over Node's default warning threshold. They are
      // bounded per process and go with it, so this is not a leak: raise the threshold.
      child.setMaxListeners(32);
      let tail = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
      });
      const pid = child.pid;
      if (pid !== undefined) {
        this.#live.set(pid, child);
        this.#tags.set(pid, tag);
      }
      // Settles once the process AND every descendant carrying its tag are gone, so a caller
      // awaiting it (the runtime, before it frees the slot) never leaves one behind. After a
      // clean exit nobody asked for, Claude Code has ended its own tools: the sweep still runs,
      // but off the agent's critical path (it reads /proc, a few ms). The TMPDIR goes only
      // after the sweep, in every case: a process of the agent still alive could otherwise
      // swap a folder in it for a link while it is removed, and have this (unsandboxed)
      // process remove what the link leads to.
      const removeFolder = () => (scratch === undefined ? Promise.resolve() : removeScratchDir(scratch));
      const exited = new Promise<void>((resolve) => {
        const done = (code: number | null) => {
          if (pid !== undefined) signalGroup(pid, 'SIGKILL');
          const sweep = killTagged(tag, forkedAfter).catch(() => undefined);
          const forget = () => {
            if (pid !== undefined) {
              this.#live.delete(pid);
              this.#tags.delete(pid);
            }
            if (this.#attributed.delete(tag) && this.#dataDir !== undefined) {
              try {
                removeAttribution(this.#dataDir, tag);
              } catch {
                // Left for the next sweep, which removes the files of dead owners.
              }
            }
          };
          if (code === 0 && !this.#stopping.has(child)) {
            forget();
            resolve();
            const removal = sweep.then(removeFolder);
            this.#removals.add(removal);
            void removal.finally(() => this.#removals.delete(removal));
          } else {
            void sweep.then(() => {
              forget();
              return removeFolder().then(resolve);
            });
          }
        };
        child.once('exit', done);
        child.once('error', () => {
          if (pid !== undefined) return;
          void removeFolder().then(resolve);
        });
      });
      this.#exits.set(child, exited);
      // The SDK's forwarded signal fires after its graceful-close window; then the whole
      // group goes, not only the direct child.
      options.signal?.addEventListener('abort', () => void this.kill(child), { once: true });
      onSpawn({ pid, stderrTail: () => tail.trim(), exitCode: () => child.exitCode, exited, scratchDir: scratch });
      return child as unknown as SpawnedProcess;
    };
  }

  /**
   * Ends one process group: SIGTERM, then SIGKILL after a grace period; resolves once the
   * process and its tagged descendants are gone.
   */
  async kill(child: ChildProcess): Promise<void> {
    const reaped = this.#exits.get(child) ?? Promise.resolve();
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return reaped;
    this.#stopping.add(child);
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    await reaped;
    clearTimeout(timer);
  }

  /**
   * Records which agent and session the live process with this pid works for, so that a
   * sweep after a crash can say whose processes it ended. A no-op without a data directory
   * or for a pid that is not one of ours.
   */
  attribute(pid: number | undefined, label: { agentId: string; sessionId: string }): void {
    const tag = pid === undefined ? undefined : this.#tags.get(pid);
    if (tag === undefined || pid === undefined || this.#dataDir === undefined) return;
    writeAttribution(this.#dataDir, { tag, owner: ownIdentity(), pid, ...label });
    this.#attributed.add(tag);
  }

  /** Ends the process with this pid (and its group), if it is one of ours. */
  async killPid(pid: number): Promise<void> {
    const child = this.#live.get(pid);
    if (child) await this.kill(child);
  }

  /** Ends every tracked process, and waits for their TMPDIRs to go; used on shutdown. */
  async killAll(): Promise<void> {
    await Promise.all([...this.#live.values()].map((child) => this.kill(child)));
    await Promise.all([...this.#removals]);
  }
}

/**
 * The resident memory of a process in bytes (`VmRSS` of /proc/PID/status), or undefined when
 * it cannot be read (gone, not Linux). Synchronous on purpose: the file is tiny and in memory,
 * and a sample must be taken while the process is known to be alive.
 */
export function readRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SIGKILLs every process whose environment carries this tag (Linux /proc; elsewhere a no-op).
 * With `forkedAfter` (a mark taken before the tag's first process was forked), only the pids
 * handed out since are looked at, when that window can be told (see pid-window.ts).
 */
async function killTagged(tag: string, forkedAfter?: PidMark): Promise<void> {
  // A tagged process may fork between the listing of /proc and the kill of its parent (a
  // shell starting its command): that child is not in the listing. Passes repeat until one
  // finds nothing left to kill (a few at most: every kill removes a possible parent).
  const killed: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    if ((await killTaggedOnce(tag, killed, forkedAfter)) === 0) break;
  }
  // SIGKILL is delivered, not waited for: a process may still run for a moment (a sandbox's
  // bwrap was seen alive right after the sweep). The sweep ends once each has exited, within
  // a bound: whoever waits for it (an agent's result) finds nothing of the agent left.
  const deadline = Date.now() + KILL_WAIT_MS;
  while (killed.some(running) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** How long a sweep waits for the processes it killed to exit. */
const KILL_WAIT_MS = 2000;

/** Whether a process exists and has not exited (a zombie has: only its parent's reaping is left). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command's closing parenthesis: `pid (comm) S ...`.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** /proc entries read between two yields to the event loop in a sweep. */
const SWEEP_CHUNK = 64;

/**
 * One pass over /proc; returns how many tagged processes it killed. Synchronous reads in
 * chunks, yielding between them: the same pass with one promise per file cost 3.4x the CPU
 * here (5.6 ms against 1.65 ms for 114 processes), paid after every agent; a chunk blocks the
 * event loop for well under a millisecond.
 */
async function killTaggedOnce(tag: string, killedPids: number[], forkedAfter?: PidMark): Promise<number> {
  if (!procIsOwnNamespace()) return 0;
  const needle = Buffer.from(`${PROCESS_TAG_VARIABLE}=${tag}\0`);
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return 0;
  }
  // Read after the listing, so that the window holds every pid listed.
  const now = forkedAfter && readPidMark(false);
  const window = now && pidsForkedBetween(forkedAfter, now);
  let killed = 0;
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % SWEEP_CHUNK === 0) await new Promise((resolve) => setImmediate(resolve));
    const name = names[i] as string;
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    if (window && !inPidWindow(Number(name), window)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`).includes(needle)) {
        process.kill(Number(name), 'SIGKILL');
        killedPids.push(Number(name));
        killed++;
      }
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return killed;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
