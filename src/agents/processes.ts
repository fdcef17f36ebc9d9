import { type ChildProcess, spawn } from 'node:child_process';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';

/** How long a process group may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Bytes of stderr kept per process, for error messages when it dies. */
const STDERR_TAIL_BYTES = 4000;

/** One Claude Code child process started for an agent. */
export interface TrackedProcess {
  readonly pid: number | undefined;
  /** The last few KB of its stderr. */
  stderrTail(): string;
  exitCode(): number | null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * Starts Claude Code processes for the SDK (through its `spawnClaudeCodeProcess` hook) and
 * keeps track of every one, so that none outlives its agent or the orchestrator. Each
 * process leads its own process group: killing the group also ends the shells and tools the
 * agent started (a `Bash` running `sleep 600` does not survive its agent).
 */
export class ProcessRegistry {
  readonly #live = new Map<number, ChildProcess>();

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
      const child = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env as NodeJS.ProcessEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      let tail = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
      });
      const exited = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
      });
      const pid = child.pid;
      if (pid !== undefined) {
        this.#live.set(pid, child);
        void exited.then(() => this.#live.delete(pid));
      }
      // The SDK's forwarded signal fires after its graceful-close window; then the whole
      // group goes, not only the direct child.
      options.signal?.addEventListener('abort', () => void this.kill(child), { once: true });
      onSpawn({ pid, stderrTail: () => tail.trim(), exitCode: () => child.exitCode, exited });
      return child as unknown as SpawnedProcess;
    };
  }

  /** Ends one process group: SIGTERM, then SIGKILL after a grace period. */
  async kill(child: ChildProcess): Promise<void> {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // Tools the agent started may linger in the group after the leader exits.
    signalGroup(child.pid, 'SIGKILL');
  }

  /** Ends the process with this pid (and its group), if it is one of ours. */
  async killPid(pid: number): Promise<void> {
    const child = this.#live.get(pid);
    if (child) await this.kill(child);
  }

  /** Ends every tracked process; used on shutdown. */
  async killAll(): Promise<void> {
    await Promise.all([...this.#live.values()].map((child) => this.kill(child)));
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
