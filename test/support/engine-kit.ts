import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { type EventStore, openEventStore } from '../../src/store/index.ts';
import {
  applyEvent,
  approvalExecutor,
  type ClassLimits,
  type CompiledPlan,
  type CompiledWorkflow,
  defineWorkflow,
  functionExecutor,
  humanExecutor,
  type NodeDefinition,
  type NodeExecutor,
  type PlanFunctions,
  planFromCompiled,
  replay,
  type SessionState,
  type WorkflowDefinition,
  WorkflowRun,
  type WorkflowState,
} from '../../src/workflow/index.ts';

/** The agent type every function node names (the definition format wants one). */
export const FN_AGENT = 'fn';

/**
 * A node of a test workflow: without `kind`, an agent node of the `fn` agent type whose task is
 * its id, so giving it a function in `functions` makes it a function node.
 */
export type TestNode = Omit<NodeDefinition, 'agent' | 'task'> & { agent?: string; task?: string };

/** A workflow definition written with {@link TestNode}s. */
export type TestWorkflow = Omit<WorkflowDefinition, 'nodes' | 'name'> & { name?: string; nodes: TestNode[] };

/** Compiles a test workflow: fills `agent`/`task` of agent nodes and defines the `fn` agent type. */
export function testWorkflow(definition: TestWorkflow): CompiledWorkflow {
  const nodes = definition.nodes.map((node) =>
    (node.kind ?? 'agent') === 'agent' ? { agent: FN_AGENT, task: `run ${node.id}`, ...node } : node,
  ) as NodeDefinition[];
  return defineWorkflow({
    name: 'test',
    ...definition,
    agents: { [FN_AGENT]: {}, ...definition.agents },
    nodes,
  });
}

/** One run of a workflow in a session, with the state it keeps up to date. */
export interface EngineRun {
  readonly sessionId: string;
  readonly workflowId: string;
  readonly run: WorkflowRun<CompiledPlan>;
  /** The session state the run projects into (live). */
  readonly state: SessionState;
  /** The workflow's state (live). */
  readonly wf: WorkflowState;
}

/** Options of {@link EngineKit.start} and {@link EngineKit.resume}. */
export interface RunOptions {
  /** Code of function nodes by node id. @default none */
  readonly functions?: PlanFunctions;
  /** Executors added to (or replacing) the human, approval and function ones. @default none */
  readonly executors?: Readonly<Record<string, NodeExecutor>>;
  /** The log the run writes to (see {@link EngineKit.process}). @default the kit's log */
  readonly log?: EventLog;
  /** Input values recorded in `workflow.started`. @default {} */
  readonly inputs?: Record<string, unknown>;
  /** The engine's test hook at every await point of a node's start (see WorkflowRunOptions.probe). */
  readonly probe?: (point: string, nodeId: string) => void;
  /** Caps of agent nodes and of the other nodes (see WorkflowRunOptions.classLimits). @default none */
  readonly classLimits?: ClassLimits;
  /** See WorkflowRunOptions.startsPerTurn. @default no limit */
  readonly startsPerTurn?: number;
  /** See WorkflowRunOptions.turnBudgetMs. @default no limit */
  readonly turnBudgetMs?: number;
}

/** A log that stops writing, as a killed process would. */
export interface KillableLog {
  readonly log: EventLog;
  /** From now on every append of this log never settles and writes nothing. */
  kill(): void;
  /** Resolves once the log is killed and the appends already under way have committed. */
  readonly dead: Promise<void>;
}

/** Everything an engine test needs, with one cleanup. */
export interface EngineKit {
  readonly store: EventStore;
  readonly log: EventLog;
  /** A new session id. */
  session(): string;
  /** Records `session.created` + `workflow.started` and builds a run (not yet started). */
  start(workflow: CompiledWorkflow, options?: RunOptions): Promise<EngineRun>;
  /** Replays a session's log and builds a new run of its unfinished workflow, as a restarted process would. */
  resume(sessionId: string, options?: RunOptions): Promise<EngineRun>;
  /**
   * A log over the kit's store that can be killed, to play a process that dies; with
   * `killAfter`, it dies right after committing the first event that matches.
   */
  process(options?: { killAfter?: (event: AnyEvent) => boolean }): KillableLog;
  /** Every committed event of a session, in order. */
  events(sessionId: string): Promise<AnyEvent[]>;
  /** The session state replayed from its committed events. */
  replay(sessionId: string): Promise<SessionState>;
  /** Polls the committed events until `predicate` holds; returns them. */
  waitForEvents(sessionId: string, predicate: (events: AnyEvent[]) => boolean): Promise<AnyEvent[]>;
  /** Closes the log and removes the temporary folder. */
  cleanup(): Promise<void>;
}

let sessions = 0;
const newSession = () => `ses_engine_${process.pid}_${++sessions}`;

/** Opens a SQLite event store in a temporary folder with its EventLog. */
export async function startEngineKit(): Promise<EngineKit> {
  const root = await mkdtemp(join(tmpdir(), 'orch-engine-'));
  const store = await openEventStore({ kind: 'sqlite', path: join(root, 'events.db'), synchronous: 'normal' });
  const log = new EventLog(store);
  const events = async (sessionId: string) => {
    const out: AnyEvent[] = [];
    for await (const event of log.readAll(sessionId)) out.push(event);
    return out;
  };
  const build = (state: SessionState, workflowId: string, compiled: CompiledWorkflow, options: RunOptions) => {
    const wf = state.workflows[workflowId] as WorkflowState;
    let plan = planFromCompiled(compiled, { functions: options.functions });
    if (wf.addedNodes.length > 0) plan = plan.withAddedNodes(wf.addedNodes, undefined);
    const executors = new Map<string, NodeExecutor>([
      ['human', humanExecutor],
      ['approval', approvalExecutor],
      ['function', functionExecutor],
      ...Object.entries(options.executors ?? {}),
    ]);
    const run = new WorkflowRun({
      log: options.log ?? log,
      sessionId: state.sessionId,
      workflowId,
      plan,
      executors,
      state,
      workspace: root,
      probe: options.probe,
      classLimits: options.classLimits,
      startsPerTurn: options.startsPerTurn,
      turnBudgetMs: options.turnBudgetMs,
    });
    return { sessionId: state.sessionId, workflowId, run, state, wf };
  };
  return {
    store,
    log,
    session: newSession,
    async start(workflow, options = {}) {
      const sessionId = newSession();
      const workflowId = `wf_${sessions}`;
      const committed = await log.append(sessionId, [
        { type: 'session.created', data: { name: workflow.name, workspace: root } },
        {
          type: 'workflow.started',
          data: {
            workflowId,
            name: workflow.name,
            inputs: options.inputs ?? {},
            definition: workflow.definition,
            file: workflow.file,
          },
        },
      ]);
      const state = replay(sessionId, committed);
      return build(state, workflowId, workflow, options);
    },
    async resume(sessionId, options = {}) {
      const state = replay(sessionId, await events(sessionId));
      const wf = Object.values(state.workflows).findLast(
        (w) => !['completed', 'failed', 'cancelled'].includes(w.status),
      );
      if (!wf) throw new Error(`session ${sessionId} has no unfinished workflow`);
      return build(state, wf.workflowId, defineWorkflow(wf.definition as WorkflowDefinition), options);
    },
    process({ killAfter } = {}) {
      let killed = false;
      const inFlight = new Set<Promise<unknown>>();
      const died = deferred();
      const kill = () => {
        killed = true;
        void Promise.allSettled([...inFlight]).then(() => died.resolve());
      };
      const killable: EventStore = {
        kind: store.kind,
        append: async (sessionId, pending, options) => {
          if (killed) return new Promise(() => undefined);
          const append = store.append(sessionId, pending, options);
          inFlight.add(append);
          try {
            const committed = await append;
            if (!killed && killAfter && (committed as AnyEvent[]).some(killAfter)) kill();
            return committed;
          } finally {
            inFlight.delete(append);
          }
        },
        read: (sessionId, options) => store.read(sessionId, options),
        lastSeq: (sessionId) => store.lastSeq(sessionId),
        listSessions: (options) => store.listSessions(options),
        deleteSession: (sessionId) => store.deleteSession(sessionId),
        close: async () => undefined,
      };
      return { log: new EventLog(killable), kill, dead: died.promise };
    },
    events,
    async replay(sessionId) {
      return replay(sessionId, await events(sessionId));
    },
    async waitForEvents(sessionId, predicate) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const all = await events(sessionId);
        if (predicate(all)) return all;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for events; have: ${all.map((e) => e.type).join(', ')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async cleanup() {
      await log.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Applies committed events to a state, as a reader catching up would. */
export function applyAll(state: SessionState, events: readonly AnyEvent[]): SessionState {
  for (const event of events) applyEvent(state, event);
  return state;
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Makes a {@link Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves when `signal` aborts, rejecting like a cancellable operation would. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error(`aborted: ${String(signal.reason)}`));
    signal.addEventListener('abort', () => reject(new Error(`aborted: ${String(signal.reason)}`)), { once: true });
  });
}

/** Events of one workflow as `type:nodeId` strings (node events) or `type` strings, in order. */
export function trace(events: readonly AnyEvent[], types?: readonly string[]): string[] {
  return events
    .filter((e) => !types || types.includes(e.type))
    .map((e) => {
      const node = (e.data as { nodeId?: string }).nodeId;
      return node === undefined ? e.type : `${e.type}:${node}`;
    });
}

/** Index of the first event matching `type` and `nodeId`; -1 when none. */
export function indexOfEvent(events: readonly AnyEvent[], type: string, nodeId?: string): number {
  return events.findIndex(
    (e) => e.type === type && (nodeId === undefined || (e.data as { nodeId?: string }).nodeId === nodeId),
  );
}

/** Node statuses of a workflow state, by id. */
export function statuses(wf: WorkflowState): Record<string, string> {
  return Object.fromEntries(Object.values(wf.nodes).map((n) => [n.id, n.status]));
}

/** Polls `predicate` (every few ms, up to 10 s) until it holds. */
export async function until(predicate: () => boolean, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The most nodes running at once in an event sequence (between `node.started` and how that attempt ended). */
export function maxRunning(events: readonly AnyEvent[], nodes?: ReadonlySet<string>): number {
  const running = new Set<string>();
  let max = 0;
  for (const event of events) {
    const id = (event.data as { nodeId?: string }).nodeId;
    if (id === undefined || (nodes && !nodes.has(id))) continue;
    if (event.type === 'node.started') max = Math.max(max, running.add(id).size);
    else if (ENDS_ATTEMPT.has(event.type)) running.delete(id);
  }
  return max;
}

const ENDS_ATTEMPT = new Set(['node.completed', 'node.failed', 'node.interrupted', 'node.cancelled']);
