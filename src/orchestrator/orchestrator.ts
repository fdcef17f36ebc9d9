import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AgentRuntime, type AgentToolHost, buildAgentEnv, TranscriptSessionStore } from '../agents/index.ts';
import { type ConfigInput, loadConfig, type OrchestratorConfig } from '../config/index.ts';
import { OrchestratorError } from '../errors/index.ts';
import { type AnyEvent, type EventDataMap, type EventType, newId, newPrefixedId } from '../events/index.ts';
import { EventLog } from '../log/index.ts';
import { createLogger, type Logger } from '../logging/index.ts';
import type { Scenario } from '../model-server/index.ts';
import { Monitor, type MonitorSettings, monitorSettings } from '../monitor/index.ts';
import { AutoVersions, type ForkPoint, SessionManager } from '../sessions/index.ts';
import { type OrchestratorStore, openEventStore } from '../store/index.ts';
import {
  agentExecutor,
  applyEvent,
  approvalExecutor,
  type CompiledPlan,
  type CompiledWorkflow,
  compileWorkflow,
  functionExecutor,
  humanExecutor,
  type NodeExecutor,
  type NodeRunContext,
  type PlanFunctions,
  planFromCompiled,
  ResultCache,
  replay,
  resolveInputs,
  type SessionState,
  WorkflowRun,
} from '../workflow/index.ts';
import { WorkspaceManager } from '../workspace/index.ts';
import { type ModelAccess, resolveModelAccess } from './model-access.ts';
import { WorkflowHandle } from './workflow-handle.ts';

/** Options of {@link Orchestrator.open}. */
export interface OrchestratorOptions {
  /** Configuration values overriding the environment, or a loaded config. */
  readonly config?: ConfigInput | OrchestratorConfig;
  /** Forces the offline scripted model with this scenario (file path or compiled). @default only without a key */
  readonly scenario?: string | Scenario | undefined;
  /** @default a pino logger on stderr at the configured level */
  readonly logger?: Logger;
  /** Receives plain status sentences for the console (which model is used, and why). */
  readonly notice?: (line: string) => void;
  /** An already open store to use instead of the configured one (tests, embedding); closed by {@link Orchestrator.close}. */
  readonly store?: OrchestratorStore;
}

/** Options of {@link Orchestrator.startWorkflow}. */
export interface StartWorkflowOptions {
  /** Values of the workflow's inputs; defaults fill the rest. */
  readonly inputs?: Record<string, unknown>;
  /** Run in this session (it must be new). @default a new session id */
  readonly sessionId?: string;
  /** The folder agents work in. @default `<dataDir>/workspaces/<sessionId>` */
  readonly workspace?: string;
  /** Code of `function` nodes (TypeScript workflows), by node id. */
  readonly functions?: PlanFunctions;
}

/**
 * The programmatic entry point: opens the event store, decides how agents reach a model,
 * and runs workflows as sessions whose every step is an event in the log. The CLI is a thin
 * layer over this class.
 *
 * @example
 * const orchestrator = await Orchestrator.open();
 * const run = await orchestrator.startWorkflow(await loadWorkflowFile('flow.yaml'), { inputs: { topic: 'a CSV parser' } });
 * for await (const item of run.events()) if (item.kind === 'event') console.log(item.event.type);
 * const final = await run.result;
 * await orchestrator.close();
 */
export class Orchestrator {
  readonly config: OrchestratorConfig;
  readonly log: EventLog;
  readonly logger: Logger;
  readonly model: ModelAccess;
  readonly agents: AgentRuntime;
  /** Metrics, alerts, budgets, Prometheus and traces of every session this process runs. */
  readonly monitor: Monitor;
  /** Versions, diffs, forks, export and import of stored sessions. */
  readonly sessions: SessionManager;
  readonly #workspaces: WorkspaceManager;
  /** Auto-version followers still finishing (awaited before the log closes). */
  readonly #versioning = new Set<Promise<void>>();
  readonly #cache: ResultCache;
  readonly #runs = new Map<string, WorkflowHandle>();
  #closing: Promise<void> | undefined;

  private constructor(
    config: OrchestratorConfig,
    store: OrchestratorStore,
    logger: Logger,
    model: ModelAccess,
    monitoring: MonitorSettings,
  ) {
    const log = new EventLog(store);
    this.config = config;
    this.log = log;
    this.logger = logger;
    this.model = model;
    this.sessions = new SessionManager({ log, versionStore: store, transcriptStore: store, dataDir: config.dataDir });
    this.#workspaces = new WorkspaceManager(path.join(config.dataDir, 'worktrees'));
    this.#cache = new ResultCache(path.join(config.dataDir, 'cache'));
    this.monitor = new Monitor({
      log,
      ...monitoring,
      // A reached budget stops the agents in its scope (`fail`), or pauses the workflow so
      // that it can be resumed once the limit is raised (`pause`).
      agents: { stopAgents: (which, error) => this.agents.stopAgents(which, error) },
      onPause: (sessionId, _workflowId, reason) => this.#runs.get(sessionId)?.pause({ reason, interruptRunning: true }),
    }).start();
    this.agents = new AgentRuntime({
      log,
      maxConcurrent: config.maxConcurrentAgents,
      warmPool: config.warmPool,
      warmSpareMaxAgeMs: config.warmMaxAgeMs,
      // Agents' conversations live in the store too, so another process or machine on the
      // same store can resume them (its Claude Code config folder has never seen them).
      sessionStore: new TranscriptSessionStore(store),
      env: buildAgentEnv({
        apiKey: model.apiKey,
        baseUrl: model.baseUrl,
        configDir: path.join(config.dataDir, 'claude'),
      }),
      spendGate: this.monitor,
      resourceSampleMs: config.resourceSampleMs,
    });
  }

  /** Opens the store and the model access. */
  static async open(options: OrchestratorOptions = {}): Promise<Orchestrator> {
    const config = isLoaded(options.config) ? options.config : loadConfig(options.config ?? {});
    // Checked before anything opens: a bad rule is a configuration error, like any other.
    const monitoring = monitorSettings(config);
    const logger = options.logger ?? createLogger({ level: config.logLevel });
    await mkdir(config.dataDir, { recursive: true });
    const store =
      options.store ??
      (await openEventStore(
        config.store === 'postgres'
          ? { kind: 'postgres', url: config.databaseUrl as string, schema: config.postgresSchema }
          : { kind: 'sqlite', path: path.join(config.dataDir, 'events.db'), synchronous: config.sqliteSynchronous },
      ));
    const model = await resolveModelAccess(config, { scenario: options.scenario });
    options.notice?.(model.description);
    logger.info({ store: config.store, model: model.description }, 'orchestrator ready');
    return new Orchestrator(config, store, logger, model, monitoring);
  }

  /**
   * Starts a workflow in a new session and returns its handle at once; the run goes on in
   * the background until `handle.result` settles.
   * @throws OrchestratorError `INVALID_ARGUMENT` for bad inputs or a session id already used
   */
  async startWorkflow(workflow: CompiledWorkflow, options: StartWorkflowOptions = {}): Promise<WorkflowHandle> {
    const inputs = resolveInputs(workflow, options.inputs ?? {});
    const sessionId = options.sessionId ?? newPrefixedId('ses');
    if ((await this.log.lastSeq(sessionId)) > 0) {
      throw new OrchestratorError('INVALID_ARGUMENT', `session "${sessionId}" already exists; resume it instead`);
    }
    const workspace = await this.#workspaces.ensureSessionWorkspace(
      options.workspace ?? path.join(this.config.dataDir, 'workspaces', sessionId),
    );
    const workflowId = newPrefixedId('wf');
    const state = replay(sessionId, []);
    await this.#record(state, 'session.created', { name: workflow.name, workspace });
    await this.#record(state, 'workflow.started', {
      workflowId,
      name: workflow.name,
      inputs,
      definition: workflow.definition,
      file: workflow.file,
      workspace,
    });
    return this.#launch(state, workflowId, workflow, workspace, options.functions);
  }

  /**
   * Carries on the unfinished workflow of a session from its log, in this process: completed
   * nodes stay done, interrupted ones run again, open questions are awaited again.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, or `WORKFLOW_NOT_RUNNING` when it has ended
   */
  async resumeSession(
    sessionId: string,
    options: { functions?: PlanFunctions; version?: number } = {},
  ): Promise<WorkflowHandle> {
    if (options.version !== undefined) {
      // An older version is never resumed in place: that would rewrite history. It is forked,
      // and the fork carries on, with the files recorded with that version.
      const fork = await this.forkSession(sessionId, { version: options.version });
      return this.resumeSession(fork.sessionId, { functions: options.functions });
    }
    const running = this.#runs.get(sessionId);
    if (running) return running;
    const state = await this.#loadState(sessionId);
    // Figures, open alerts and spent budgets carry on from the log.
    await this.monitor.track(sessionId);
    const wf = Object.values(state.workflows).findLast((w) => !['completed', 'failed', 'cancelled'].includes(w.status));
    if (!wf) {
      throw new OrchestratorError('WORKFLOW_NOT_RUNNING', `session "${sessionId}" has no unfinished workflow`);
    }
    await this.#record(state, 'session.resumed', { fromSeq: state.lastSeq, reason: 'resumed on request' });
    const compiled = compileWorkflow(wf.definition, { file: wf.file ?? '<recorded>' });
    const workspace = await this.#workspaces.ensureSessionWorkspace(
      state.workspace ?? path.join(this.config.dataDir, 'workspaces', sessionId),
    );
    return this.#launch(state, wf.workflowId, compiled, workspace, options.functions, wf.addedNodes);
  }

  /**
   * A new session from a version (or the latest state) of another, with its own log and a
   * workspace holding the files recorded with that version; resume it to carry on.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `VERSION_NOT_FOUND`, `INVALID_ARGUMENT` without versions
   */
  forkSession(sessionId: string, point: ForkPoint, options: { as?: string } = {}) {
    return this.sessions.fork(sessionId, point, options);
  }

  /**
   * Takes a version of a session now, with a label. A run of this process is versioned at
   * its latest committed event; any other session as its log stands.
   */
  async takeVersion(sessionId: string, label?: string) {
    const manager = this.#sessionManager();
    return manager.takeVersion(sessionId, label);
  }

  #sessionManager(): SessionManager {
    if (!this.sessions) {
      throw new OrchestratorError(
        'INVALID_ARGUMENT',
        `the ${this.log.store.kind} store given keeps no session versions`,
      );
    }
    return this.sessions;
  }

  /** The session's state: its newest readable version plus later events, or a full replay. */
  async #loadState(sessionId: string): Promise<SessionState> {
    if (this.sessions) {
      return this.sessions.state(sessionId);
    }
    const events: AnyEvent[] = [];
    for await (const event of this.log.readAll(sessionId)) events.push(event);
    if (events.length === 0) throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`);
    return replay(sessionId, events);
  }

  /** The handle of a workflow running in this process. */
  handle(sessionId: string): WorkflowHandle | undefined {
    return this.#runs.get(sessionId);
  }

  #launch(
    state: SessionState,
    workflowId: string,
    workflow: CompiledWorkflow,
    workspace: string,
    functions: PlanFunctions | undefined,
    addedNodes: readonly unknown[] = [],
  ): WorkflowHandle {
    const sessionId = state.sessionId;
    let plan = planFromCompiled(workflow, { functions });
    if (addedNodes.length > 0) plan = plan.withAddedNodes(addedNodes, undefined);
    const executors = new Map<string, NodeExecutor>([
      ['human', humanExecutor],
      ['approval', approvalExecutor],
      ['function', functionExecutor],
    ]);
    const run: WorkflowRun<CompiledPlan> = new WorkflowRun({
      log: this.log,
      sessionId,
      workflowId,
      plan,
      executors,
      state,
      workspace,
    });
    executors.set(
      'agent',
      agentExecutor({
        runtime: this.agents,
        sessionId,
        cache: this.#cache,
        agentSpec: (name) => run.plan.agentType(name),
        memoryKeys: () => Object.keys(state.memory),
        sdkSessionOf: (nodeId) =>
          Object.values(state.agents).findLast((agent) => agent.nodeId === nodeId && agent.sdkSessionId)?.sdkSessionId,
        toolHost: (context, agentId, canModify) => this.#toolHost(state, run, context, agentId, canModify),
        workspaceFor: (context) =>
          context.node.workspace === 'isolated'
            ? this.#workspaces.isolated(workspace, sessionId, `${context.node.id}-${context.attempt}`)
            : Promise.resolve(this.#workspaces.shared(workspace)),
      }),
    );
    const versions = this.#startVersions(sessionId, state);
    // Agents write their own events to the log; the engine's state learns of them here (their
    // SDK session ids, for nodes that carry on a conversation).
    const agentEvents = this.log.subscribe(
      { sessionId, types: ['agent.spawned', 'agent.progress', 'agent.completed', 'agent.failed'] },
      (event) => {
        applyEvent(state, event as AnyEvent);
      },
      { name: `engine-state:${sessionId}` },
    );
    const handle = new WorkflowHandle({ sessionId, workflowId, run, log: this.log, workspace });
    this.#runs.set(sessionId, handle);
    void handle.result
      .finally(() => {
        agentEvents();
        this.#runs.delete(sessionId);
        this.#stopVersions(sessionId, versions);
        // No agent of this run will work in its workspace any more: its pre-started ones go.
        this.agents.releaseFolder(workspace).catch(() => undefined);
      })
      .catch(() => undefined);
    return handle;
  }

  /**
   * Follows the session's committed events and takes versions as it runs. Called before the
   * run starts, while `state` is still exactly the committed state (every event so far was
   * awaited); once the engine runs, its state is ahead of the log by decisions in flight.
   */
  #startVersions(sessionId: string, state: SessionState): AutoVersions {
    return AutoVersions.start({
      log: this.log,
      versions: this.sessions.versions,
      state: structuredClone(state),
      onError: (error) => this.logger.warn({ err: error, sessionId }, 'a version could not be stored'),
    });
  }

  #stopVersions(sessionId: string, versions: AutoVersions): void {
    const stopping = this.log
      .lastSeq(sessionId)
      .then((untilSeq) => versions.stop({ final: true, untilSeq }))
      .catch((error: unknown) => this.logger.warn({ err: error, sessionId }, 'the last version could not be stored'));
    this.#versioning.add(stopping);
    void stopping.finally(() => this.#versioning.delete(stopping));
  }

  #toolHost(
    state: SessionState,
    run: WorkflowRun<CompiledPlan>,
    context: NodeRunContext,
    agentId: () => string,
    canModify: boolean,
  ): AgentToolHost {
    const host: AgentToolHost = {
      memoryGet: async (key) => state.memory[key],
      memorySet: async (key, value) => {
        await this.#record(state, 'memory.set', { key, value, by: `agent:${agentId()}` });
      },
      memoryList: async () => Object.keys(state.memory),
      askHuman: async (question) => {
        const answer = await context.requestInput('input', question, { agentId: agentId() });
        return typeof answer === 'string' ? answer : JSON.stringify(answer);
      },
    };
    if (canModify) {
      host.addNodes = async (nodes) => {
        const withAgent = nodes.map((n) => ({
          ...n,
          agent: n.agent ?? context.node.agent,
          dependsOn: n.dependsOn ?? [],
        }));
        const ids = await run.addNodes(withAgent, `agent:${agentId()}`);
        return `added nodes: ${ids.join(', ')}`;
      };
      host.skipNodes = async (ids, reason) => {
        await run.skipNodes(ids, reason, `agent:${agentId()}`);
        return `skipped nodes: ${ids.join(', ')}`;
      };
    }
    return host;
  }

  /** Appends an event and applies it to the session's projected state. */
  async #record<T extends EventType>(state: SessionState, type: T, data: EventDataMap[T]): Promise<void> {
    const [committed] = await this.log.append(state.sessionId, [{ type, data, source: 'orchestrator' }]);
    applyEvent(state, committed ?? ({ type, data, seq: 0, id: newId(), ts: new Date().toISOString() } as never));
  }

  /**
   * Stops everything: running workflows are left resumable (their agents are interrupted and
   * recorded as such), agent processes are reaped, the store is closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#runs.values()].map((handle) => handle.suspend()));
      await this.agents.shutdown();
      await this.monitor.close();
      await this.model.close();
      await Promise.allSettled([...this.#versioning]);
      await this.log.close();
    })();
    return this.#closing;
  }
}

function isLoaded(config: OrchestratorOptions['config']): config is OrchestratorConfig {
  return config !== undefined && Object.isFrozen(config) && typeof (config as OrchestratorConfig).dataDir === 'string';
}
