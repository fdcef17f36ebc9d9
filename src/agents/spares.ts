import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { Options, Query, SpareProcess, WarmQuery } from '@anthropic-ai/claude-agent-sdk';
import type { ProcessRegistry, TrackedProcess } from './processes.ts';
import { AgentBinding, type BoundAgent, buildSdkOptions, type ProcessConfig } from './sdk-options.ts';
import type { Spare, SpareSource } from './spare-buckets.ts';

/** A spare taken by an agent: its query, already bound to the agent and sent the prompt. */
export interface WarmStart {
  readonly stream: Query;
  readonly abortController: AbortController;
  readonly binding: AgentBinding;
  readonly process: TrackedProcess | undefined;
  /** What the agent's record says about it (`agent.progress` of kind `warm_start`). */
  readonly note: string;
}

/** A process parked by the SDK's `prewarm()`: no folder yet; the claim names it. */
export interface ClaimSpare extends Spare {
  readonly process: SpareProcess;
}

/** A process started by the SDK's `startup()` in its folder, waiting for its prompt. */
export interface StartupSpare extends Spare {
  readonly warm: WarmQuery;
}

/**
 * Model credentials of one spare (the model gateway's spare token): put in its environment
 * when it starts, since Claude Code reads `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` at
 * start-up only (a claim cannot change them); they stand for no one until the agent that
 * takes the spare binds them.
 */
export interface SpareCredentials {
  readonly apiKey: string;
  readonly baseUrl: string;
  /**
   * Makes the spare's requests the taking agent's. The agent's owner must call `release` when
   * the agent ends. @throws when the credentials were released meanwhile.
   */
  bind(agent: SpareTaker): void;
  /** Ends the credentials: the spare was discarded or died, or its agent ended. Idempotent. */
  release(): void;
}

/** The agent that takes a spare, as its credentials are bound to it (a runtime's `RunningAgent`). */
export interface SpareTaker {
  readonly agentId: string;
  readonly sessionId: string;
  readonly workflowId: string | undefined;
  readonly agentType: string;
  readonly nodeId: string | undefined;
}

/** What starting a spare needs. */
export interface SpareStartOptions {
  readonly processes: ProcessRegistry;
  readonly initializeTimeoutMs: number;
  /** Credentials for each new spare. @default none (the configuration's environment as it is) */
  readonly credentials?: (() => SpareCredentials) | undefined;
}

/**
 * The CPU priority (nice value) of a spare until an agent takes it. Spares start while the
 * agents they will follow work, and on a small machine they take the CPU those agents need:
 * on 2 cores, a planner took 5.8 s instead of 4.1 s with 8 spares starting beside it at the
 * same priority. Niced, they get what the agents on the critical path leave.
 */
export const SPARE_NICE = 10;

/** Sets a process's nice value; false when the system refused (no such process, no right to). */
function renice(pid: number | undefined, nice: number): boolean {
  if (pid === undefined) return false;
  try {
    setPriority(pid, nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Gives a taken spare back the normal priority. Lowering a nice value needs a privilege
 * (CAP_SYS_NICE, or an RLIMIT_NICE allowance) that an unprivileged orchestrator may lack: the
 * agent then keeps the spare's priority, which only matters when the machine is saturated.
 */
function restorePriority(spare: Spare): void {
  const pid = spare.tracked?.pid;
  if (pid === undefined) return;
  // A nice value is per thread on Linux, and the threads Claude Code started while niced
  // inherited it: each of them (/proc/PID/task) gets the normal priority back.
  let threads: string[] = [];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Not Linux, or gone: the process itself only.
  }
  if (threads.length === 0) renice(pid, 0);
  for (const tid of threads) renice(Number(tid), 0);
}

/** Options and wiring of a new spare, unbound: an agent binds it when it takes it. */
function unboundOptions(config: ProcessConfig, start: SpareStartOptions) {
  const binding = new AgentBinding();
  const abortController = new AbortController();
  let tracked: TrackedProcess | undefined;
  const credentials = start.credentials?.();
  const processes = start.processes;
  const withCredentials: ProcessConfig = credentials
    ? {
        ...config,
        env: { ...config.env, ANTHROPIC_API_KEY: credentials.apiKey, ANTHROPIC_BASE_URL: credentials.baseUrl },
      }
    : config;
  const options = buildSdkOptions(withCredentials, {
    binding,
    abortController,
    processes,
    onSpawn: (process) => {
      tracked = process;
      renice(process.pid, SPARE_NICE);
    },
  });
  return { options, binding, abortController, credentials, tracked: () => tracked };
}

async function discardTracked(spare: Spare, processes: ProcessRegistry): Promise<void> {
  spare.credentials?.release();
  if (spare.tracked?.pid !== undefined) await processes.killPid(spare.tracked.pid);
}

/** Spares from `prewarm()`, kept per configuration and claimed in any folder. */
export function claimSpareSource(start: SpareStartOptions): SpareSource<ClaimSpare> {
  return {
    async start(config) {
      const { options, binding, abortController, credentials, tracked } = unboundOptions(config, start);
      const startedAt = performance.now();
      try {
        // Loaded with the first spare, not when the library is imported (issue 15).
        const { prewarm } = await import('@anthropic-ai/claude-agent-sdk');
        const process = await prewarm({ options, initializeTimeoutMs: start.initializeTimeoutMs });
        const gone = process.exited;
        return { process, binding, abortController, credentials, tracked: tracked(), startedAt, gone };
      } catch {
        // No spare this time; agents start cold, and the next refill tries again.
        abortController.abort();
        credentials?.release();
        return undefined;
      }
    },
    async discard(spare) {
      spare.process.close();
      await discardTracked(spare, start.processes);
    },
  };
}

/** Spares from `startup()`, kept per configuration and folder: everything is fixed at start. */
export function startupSpareSource(start: SpareStartOptions): SpareSource<StartupSpare> {
  return {
    async start(config, cwd) {
      const { options, binding, abortController, credentials, tracked } = unboundOptions(config, start);
      const withCwd: Options = { ...options, cwd };
      const startedAt = performance.now();
      try {
        const { startup } = await import('@anthropic-ai/claude-agent-sdk');
        const warm = await startup({ options: withCwd, initializeTimeoutMs: start.initializeTimeoutMs });
        const process = tracked();
        const gone = process?.exited ?? never;
        return { warm, binding, abortController, credentials, tracked: process, startedAt, gone };
      } catch {
        abortController.abort();
        credentials?.release();
        return undefined;
      }
    },
    async discard(spare) {
      spare.warm.close();
      await discardTracked(spare, start.processes);
    },
  };
}

const never = new Promise<never>(() => undefined);

/**
 * Binds a spare's credentials to the agent taking it, before its first request; false when
 * they cannot be bound (released: the spare is useless, close it).
 */
function adoptCredentials(spare: Spare, adopt: ((credentials: SpareCredentials) => void) | undefined): boolean {
  if (!spare.credentials) return true;
  try {
    if (!adopt) throw new Error('a spare with credentials needs an owner');
    adopt(spare.credentials);
    return true;
  } catch {
    spare.credentials.release();
    return false;
  }
}

/** Binds a start-up spare to an agent and sends its prompt; undefined if it cannot take one. */
export function takeStartupSpare(
  spare: StartupSpare,
  agent: BoundAgent,
  prompt: string,
  adopt?: (credentials: SpareCredentials) => void,
): WarmStart | undefined {
  if (!adoptCredentials(spare, adopt)) {
    spare.warm.close();
    return undefined;
  }
  restorePriority(spare);
  spare.binding.current = agent;
  let stream: Query;
  try {
    stream = spare.warm.query(prompt);
  } catch {
    // The process went away since it was parked: start cold.
    spare.binding.current = undefined;
    spare.warm.close();
    return undefined;
  }
  return {
    stream,
    abortController: spare.abortController,
    binding: spare.binding,
    process: spare.tracked,
    note: `took a start-up spare started ${Math.round(performance.now() - spare.startedAt)} ms before`,
  };
}

/**
 * Claims a parked spare for an agent in its folder. Undefined when the process refused the
 * claim: the prompt did not run and the process goes away, so the agent starts cold.
 */
export async function claimSpare(
  spare: ClaimSpare,
  agent: BoundAgent,
  prompt: string,
  cwd: string,
  adopt?: (credentials: SpareCredentials) => void,
): Promise<WarmStart | undefined> {
  if (!adoptCredentials(spare, adopt)) {
    spare.process.close();
    return undefined;
  }
  restorePriority(spare);
  spare.binding.current = agent;
  let stream: Query;
  try {
    stream = spare.process.claim({ prompt, options: { cwd } });
  } catch {
    // The spare exited or was closed since it was parked: start cold.
    spare.binding.current = undefined;
    spare.process.close();
    return undefined;
  }
  const started = (parkedMs: number | undefined): WarmStart => ({
    stream,
    abortController: spare.abortController,
    binding: spare.binding,
    process: spare.tracked,
    note: `claimed a pre-warmed process${parkedMs === undefined ? '' : ` parked ${Math.round(parkedMs)} ms`}`,
  });
  try {
    return started((await spare.process.claimed).parkedMs);
  } catch (error) {
    // Only `option_not_applied` leaves the session running; every other refusal means the
    // prompt never ran and the process goes away: start cold instead.
    if ((error as Error).message?.startsWith('option_not_applied')) return started(undefined);
    spare.binding.current = undefined;
    stream.close();
    spare.process.close();
    return undefined;
  }
}
