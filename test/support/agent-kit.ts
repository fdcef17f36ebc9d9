import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentRuntime, type AgentRuntimeOptions, type AgentSpec } from '../../src/agents/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { makeSdkEnv, type SdkEnv, type SdkEnvOptions } from './sdk-env.ts';

/** Options of {@link startAgentKit}. */
export interface AgentKitOptions {
  /** The scenario as YAML text (see docs/scenarios.md). */
  readonly scenario: string;
  /** Passed to {@link makeSdkEnv}; `maxRetries` defaults to 1 to keep fault tests short. */
  readonly sdk?: SdkEnvOptions;
  /**
   * The agents' model at this URL instead of the kit's own server (which still starts, unused):
   * a benchmark counting this process's CPU runs the model server in a process of its own.
   */
  readonly modelUrl?: string;
}

/** Everything an agent runtime test needs, with one cleanup. */
export interface AgentKit {
  readonly server: ModelServer;
  readonly sdk: SdkEnv;
  readonly store: OrchestratorStore;
  readonly log: EventLog;
  /** A fresh folder under the kit's root, for one test's `cwd`. */
  workspace(name: string): Promise<string>;
  /** A runtime on the kit's log and environment; shut down by {@link AgentKit.cleanup}. */
  runtime(options?: Partial<AgentRuntimeOptions>): AgentRuntime;
  /** A new session id. */
  session(): string;
  /** Every committed event of a session, in order. */
  events(sessionId: string): Promise<AnyEvent[]>;
  /**
   * Live processes started for this kit: Claude Code and everything it ran, told apart from
   * other tests' processes by the kit's own `CLAUDE_CONFIG_DIR` in their environment.
   */
  ownProcesses(): ProcInfo[];
  /**
   * Shuts down every runtime handed out so far: after a failed test, so the agents it left
   * running do not show up in the next test's process checks.
   */
  stopRuntimes(): Promise<void>;
  /** Shuts runtimes down, closes the log, the server, and removes temporary folders. */
  cleanup(): Promise<void>;
}

let sessions = 0;

/** A minimal agent spec: no allow list unless given, one attempt, 30 s timeout. */
export function testSpec(overrides: Partial<AgentSpec> = {}): AgentSpec {
  return { name: 'tester', retry: { attempts: 1 }, timeoutMs: 30_000, ...overrides };
}

/**
 * Starts the scripted model server with a scenario, an isolated SDK environment, a SQLite
 * event store with its EventLog, and hands out runtimes bound to them.
 */
export async function startAgentKit(options: AgentKitOptions): Promise<AgentKit> {
  const root = await mkdtemp(join(tmpdir(), 'orch-agents-'));
  const server = await startModelServer({ scenario: parseScenario(options.scenario, 'kit.yaml') });
  const sdk = await makeSdkEnv(options.modelUrl ?? server.url, { maxRetries: 1, ...options.sdk });
  const store = await openEventStore({ kind: 'sqlite', path: join(root, 'events.db') });
  const log = new EventLog(store);
  const runtimes: AgentRuntime[] = [];
  let cleaned: Promise<void> | undefined;
  return {
    server,
    sdk,
    store,
    log,
    async workspace(name) {
      const dir = join(root, 'ws', name);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    runtime(overrides = {}) {
      const runtime = new AgentRuntime({ log, env: sdk.env, maxConcurrent: 2, ...overrides });
      runtimes.push(runtime);
      return runtime;
    },
    session() {
      sessions++;
      return `ses_agents_${process.pid}_${sessions}`;
    },
    ownProcesses() {
      return processesWithEnv(`CLAUDE_CONFIG_DIR=${sdk.configDir}`);
    },
    async events(sessionId) {
      const out: AnyEvent[] = [];
      for await (const event of log.readAll(sessionId)) out.push(event);
      return out;
    },
    async stopRuntimes() {
      await Promise.all(runtimes.splice(0).map((runtime) => runtime.shutdown()));
    },
    cleanup() {
      cleaned ??= (async () => {
        await Promise.all(runtimes.map((runtime) => runtime.shutdown()));
        await log.close();
        await server.close();
        await sdk.cleanup();
        await rm(root, { recursive: true, force: true });
      })();
      return cleaned;
    },
  };
}

/** The path of the Claude Code binary the SDK starts (from the optional dependency). */
export const CLAUDE_BINARY_MARKER = 'claude-agent-sdk-linux-x64/claude';

/** One process found in /proc. */
export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly cmdline: string;
  readonly cwd: string | undefined;
}

/** Every live (non-zombie) process of this machine, read from /proc. */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may contain spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      let cwd: string | undefined;
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        cwd = undefined;
      }
      out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]), cmdline, cwd });
    } catch {
      // The process exited while being read.
    }
  }
  return out;
}

/** Live Claude Code processes whose environment-independent marker is their binary path. */
export function claudeProcesses(): ProcInfo[] {
  return listProcesses().filter((p) => p.cmdline.includes(CLAUDE_BINARY_MARKER));
}

/** Live processes whose environment holds `entry` (`NAME=value`), this process excluded. */
export function processesWithEnv(entry: string): ProcInfo[] {
  const needle = Buffer.from(`${entry}\0`);
  return listProcesses().filter((p) => {
    if (p.pid === process.pid) return false;
    try {
      return readFileSync(`/proc/${p.pid}/environ`).includes(needle);
    } catch {
      return false;
    }
  });
}

/** Live processes whose command line contains `marker` (e.g. a unique `sleep` argument). */
export function processesMatching(marker: string): ProcInfo[] {
  return listProcesses().filter((p) => p.cmdline.includes(marker) && p.pid !== process.pid);
}

/** Polls until `check` is true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

/** The `data` of every event of a type, in order. */
export function dataOf(events: readonly AnyEvent[], type: string): Record<string, unknown>[] {
  return events.filter((event) => event.type === type).map((event) => event.data as Record<string, unknown>);
}

/** The sequence of `to` states of an agent. */
export function statesOf(events: readonly AnyEvent[], agentId: string): string[] {
  return dataOf(events, 'agent.state_changed')
    .filter((data) => data.agentId === agentId)
    .map((data) => String(data.to));
}
