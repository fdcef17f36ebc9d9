import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { type ModelServer, startModelServer } from '../../src/model-server/index.ts';
import { openEventStore } from '../../src/store/index.ts';

/** The repository root (the CLI runs from here, as a user in a clone would). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI entry point, run with `process.execPath` (the bootstrapped Node). */
export const CLI = path.join(REPO_ROOT, 'bin', 'orchestrator.mjs');
/** The demo workflow of the README. */
export const FEATURE_TEAM = path.join(REPO_ROOT, 'examples', 'feature-team', 'workflow.yaml');
/** Every node the demo ends with, the fix-up one added at run time included. */
export const FEATURE_TEAM_NODES = ['plan', 'implement', 'tests', 'review', 'triage', 'fixup', 'ship'] as const;

/**
 * The environment of a CLI child: the test's own minus whatever would point it at a real
 * model or another store (`ANTHROPIC_*`, `CLAUDE_*`, `DATABASE_URL`, `REDIS_URL`,
 * `ORCHESTRATOR_*`, `LOG_LEVEL`), so it runs offline on SQLite. `CI` is left as it is.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(ANTHROPIC_|CLAUDE_|ORCHESTRATOR_)/.test(key)) continue;
    if (key === 'DATABASE_URL' || key === 'REDIS_URL' || key === 'LOG_LEVEL') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * The model reached over the network, as a real user runs the CLI: the scripted model server
 * runs in the test process, and the CLI gets an `ANTHROPIC_API_KEY` and an `ANTHROPIC_BASE_URL`
 * pointing at it (so the CLI starts no server of its own, and nothing of the model keeps its
 * event loop alive). Close the server when done.
 */
export async function startNetworkModel(
  scenario: string,
): Promise<{ readonly server: ModelServer; readonly env: Record<string, string> }> {
  const server = await startModelServer({ scenario });
  return { server, env: { ANTHROPIC_API_KEY: 'test-key-not-secret', ANTHROPIC_BASE_URL: server.url } };
}

/** Node's message when a process exits on a top-level await nobody settles (exit code 13). */
export const UNSETTLED_AWAIT = 'Detected unsettled top-level await';

/** How a child process ended, and everything it printed. */
export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process started by {@link startCli} or {@link startScript}. */
export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Settles once it has exited and its pipes are drained. */
  readonly exited: Promise<ProcessResult>;
}

/** Options of {@link startCli} and {@link runCli}. */
export interface CliOptions {
  /** `--data-dir` (absolute). */
  readonly dataDir: string;
  /** @default the repository root */
  readonly cwd?: string;
  /** Added to {@link cliEnv}. @default none */
  readonly env?: Record<string, string>;
}

function track(child: ChildProcess): RunningProcess {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject);
    // 'close' comes after 'exit' once stdout and stderr are drained.
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  if (child.pid === undefined) throw new Error('the child process did not start');
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, exited };
}

/** Starts `orchestrator --data-dir DIR ...args` in a child process (standard input: /dev/null). */
export function startCli(args: readonly string[], options: CliOptions): RunningProcess {
  const child = spawn(process.execPath, [CLI, '--data-dir', options.dataDir, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child);
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], options: CliOptions): Promise<ProcessResult> {
  return startCli(args, options).exited;
}

/** Starts a TypeScript file of the test tree under the same Node, with the CLI's environment. */
export function startScript(
  file: string,
  args: readonly string[],
  options: { env?: Record<string, string> } = {},
): RunningProcess {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child);
}

/** Describes a finished process for assertion messages. */
export function describeResult(result: ProcessResult): string {
  return `exit ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** A fresh temporary folder, and its removal. */
export async function tempDir(prefix: string): Promise<{ readonly dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `orch-cli-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

/**
 * Two agents side by side from the start, each for a few seconds (a fixture, with its scenario
 * beside it): the smallest workflow in which a signal finds two agents running.
 */
export const TWO_CODERS = path.join(REPO_ROOT, 'test', 'fixtures', 'cli', 'two-coders.yaml');
/** The nodes of {@link TWO_CODERS}: the demo's two coders. */
export const TWO_CODERS_NODES = ['implement', 'tests'] as const;

/** The smallest example: a writer and a reviewer, two agents (49 events when run). */
export const HELLO = path.join(REPO_ROOT, 'examples', 'hello', 'workflow.yaml');

/**
 * Writes a copy of a workflow (one whose scenario.yaml lies beside it, as the examples' do)
 * beside a copy of that scenario in which every turn waits `delayMs` before answering, so
 * each node runs for a while and a kill has something to interrupt. The CLI finds the
 * scenario beside the workflow, as it does for the examples.
 * @returns the workflow file
 */
export async function writeSlowWorkflow(source: string, dir: string, delayMs: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const exampleDir = path.dirname(source);
  const scenario = parse(await readFile(path.join(exampleDir, 'scenario.yaml'), 'utf8')) as {
    name: string;
    scripts: Array<{ turns: Array<string | Record<string, unknown>> }>;
  };
  scenario.name = `${scenario.name}-slow`;
  for (const script of scenario.scripts) {
    script.turns = script.turns.map((turn) =>
      typeof turn === 'string' ? { content: [{ text: turn }], delay_ms: delayMs } : { ...turn, delay_ms: delayMs },
    );
  }
  const workflow = path.join(dir, 'workflow.yaml');
  await writeFile(workflow, await readFile(source, 'utf8'));
  await writeFile(path.join(dir, 'scenario.yaml'), stringify(scenario));
  return workflow;
}

/** {@link writeSlowWorkflow} of the demo workflow (six agents; about 110 events when run). */
export function writeSlowFeatureTeam(dir: string, delayMs: number): Promise<string> {
  return writeSlowWorkflow(FEATURE_TEAM, dir, delayMs);
}

/** Reads a data directory's SQLite log from the test process while CLI processes write it. */
export interface LogReader {
  /** Every committed event of a session, in order. */
  events(sessionId: string): Promise<AnyEvent[]>;
  lastSeq(sessionId: string): Promise<number>;
  /** When the session's lease lapses unless renewed (ISO time, the store's clock); undefined without one. */
  leaseExpiresAt(sessionId: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Opens (creating when missing) the SQLite log of a data directory, or with `postgres` the
 * PostgreSQL store the CLI children are pointed at.
 */
export async function openLogReader(
  dataDir: string,
  postgres?: { readonly url: string; readonly schema: string },
): Promise<LogReader> {
  const store = postgres
    ? await openEventStore({ kind: 'postgres', url: postgres.url, schema: postgres.schema })
    : await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
  const log = new EventLog(store);
  return {
    async events(sessionId) {
      const out: AnyEvent[] = [];
      for await (const event of log.readAll(sessionId)) out.push(event);
      return out;
    },
    lastSeq: (sessionId) => log.lastSeq(sessionId),
    leaseExpiresAt: async (sessionId) => (await store.getLease(sessionId))?.expiresAt,
    close: () => log.close(),
  };
}

/**
 * Waits until `probe` returns something other than `undefined` (or `false`); fails with
 * `what` after `timeoutMs`. The deadline is a safety net against hangs, not an assertion.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  { timeoutMs = 60_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Pids of live Claude Code processes started for this data directory: the command line runs
 * the SDK's binary (`claude-agent-sdk`) and the environment's `CLAUDE_CONFIG_DIR` lies under
 * the data directory (the orchestrator sets it there). Zombies are left out: they are dead,
 * only not yet reaped by a parent that is gone. Linux only (reads /proc).
 */
export async function agentProcesses(dataDir: string): Promise<number[]> {
  const tie = Buffer.from(`CLAUDE_CONFIG_DIR=${path.join(dataDir, 'claude')}`);
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes('claude-agent-sdk')) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // The state is the first field after the parenthesised command name.
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const environ = await readFile(`/proc/${name}/environ`);
      if (environ.includes(tie)) pids.push(Number(name));
    } catch {
      // Gone meanwhile, or not readable: not one of ours.
    }
  }
  return pids;
}

/** The JSON lines of a `--json` output, parsed; throws naming the first line that is not JSON. */
export function parseJsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`line ${index + 1} of the output is not JSON: ${line}`);
      }
    });
}
