import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AgentRuntime } from '../agents/index.ts';
import { type ConfigInput, loadConfig, type OrchestratorConfig } from '../config/index.ts';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import { type AnyEvent, newPrefixedId, typedEvent } from '../events/index.ts';
import type { Gateway } from '../gateway/index.ts';
import { EventLog } from '../log/index.ts';
import { createLogger, type Logger } from '../logging/index.ts';
import type { Scenario } from '../model-server/index.ts';
import { Monitor, type MonitorSettings, monitorSettings } from '../monitor/index.ts';
import { type ReportSource, reportSource } from '../reports/index.ts';
import {
  agentFolders,
  checkSafeName,
  childPath,
  prepareAgentFolders,
  prepareProtectedFolders,
  RESULT_CACHE_FOLDER,
  type Redactor,
  secretRedactor,
} from '../security/index.ts';
import { type ForkPoint, SessionManager } from '../sessions/index.ts';
import { type OrchestratorStore, openEventStore } from '../store/index.ts';
import {
  applyEvent,
  type CompiledWorkflow,
  compileWorkflow,
  type PlanFunctions,
  ResultCache,
  replay,
  resolveInputs,
  type SessionState,
} from '../workflow/index.ts';
import { WorkspaceManager } from '../workspace/index.ts';
import { agentRuntime, startOrchestratorGateway } from './composition.ts';
import {
  type ControlReceipt,
  type ControlRequest,
  checkControlRequest,
  recordControl,
  requestControl,
} from './control.ts';
import { type HookTarget, type OrchestratorGatewayHooks, orchestratorGatewayHooks } from './gateway-hooks.ts';
import { RunLauncher, recordEvent } from './launcher.ts';
import { SessionLeases } from './leases.ts';
import { type ModelAccess, resolveModelAccess } from './model-access.ts';
import type { WorkflowHandle } from './workflow-handle.ts';

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
  /**
   * Known secret values to keep out of everything written.
   * @default the secrets of the config and of `process.env` (see the security area's `secretRedactor`)
   */
  readonly redactor?: Redactor;
  /**
   * Test hook: called at every await point of a node's start path, in the engine and in the
   * executors (see WorkflowRunOptions.probe), before the run checks whether the node was
   * stopped. The stop property tests inject a cancel or a suspend from it.
   */
  readonly probe?: ((point: string, nodeId: string) => void) | undefined;
}

/** A rule granted or revoked at run time for an agent type of a session. */
export interface RuleChange {
  /** The agent type (its name in the workflow's `agents`). */
  readonly agentType: string;
  /** The rule, in Claude Code's syntax: `Bash(git push *)`, `Edit(docs/**)`, `WebFetch`. */
  readonly rule: string;
  /** Who decided (`user`, `cli`, `api:<key id>`). @default `user` */
  readonly by?: string;
  /** Why, recorded with the event. */
  readonly reason?: string;
}

/** Options of {@link Orchestrator.startWorkflow}. */
export interface StartWorkflowOptions {
  /** Values of the workflow's inputs; defaults fill the rest. */
  readonly inputs?: Record<string, unknown>;
  /** Run in this session (it must be new; a safe name: letters, digits, `.`, `_`, `-`, no `..`). @default a new session id */
  readonly sessionId?: string;
  /** The folder agents work in. @default `<dataDir>/workspaces/<sessionId>` */
  readonly workspace?: string;
  /** Code of `function` nodes (TypeScript workflows), by node id. */
  readonly functions?: PlanFunctions;
  /** Who starts it, recorded in `session.created` for the audit (`api:<key id>:<name>`). @default not recorded */
  readonly by?: string;
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
  /** The leases of the sessions this process runs (one owner per session). */
  readonly leases: SessionLeases;
  /**
   * What the read models (`sessionReport`, `statistics`, `sessionRows` of the reports area)
   * read: this orchestrator's log and the store's leases.
   */
  readonly reports: ReportSource;
  /**
   * Known secret values (the model key, variables named like keys and tokens, the operator's
   * `ORCHESTRATOR_SECRETS`), replaced by `[REDACTED:NAME]` in events, transcripts, cached
   * results, logs and the agents' tool outputs before they are written.
   */
  readonly redactor: Redactor;
  /** The model gateway every agent talks to (config `gateway`), or undefined when it is off. */
  readonly gateway: Gateway | undefined;
  readonly #store: OrchestratorStore;
  readonly #workspaces: WorkspaceManager;
  readonly #launcher: RunLauncher;
  /** The gateway's budgets per request and its recorder, when the gateway is on. */
  readonly #gatewayHooks: OrchestratorGatewayHooks | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    config: OrchestratorConfig,
    store: OrchestratorStore,
    logger: Logger,
    model: ModelAccess,
    monitoring: MonitorSettings,
    redactor: Redactor,
    gateway: Gateway | undefined,
    gatewayHooks: OrchestratorGatewayHooks | undefined,
    probe: OrchestratorOptions['probe'],
  ) {
    const log = new EventLog(store, {
      redactor,
      limits: { maxFieldBytes: config.maxEventFieldBytes, maxEventBytes: config.maxEventBytes },
      payloads: store.payloads,
    });
    this.redactor = redactor;
    this.gateway = gateway;
    this.#gatewayHooks = gatewayHooks;
    if (gatewayHooks) {
      // The monitor records limits it sees reached too: the gate does not record them again.
      log.subscribe(
        { types: ['budget.exhausted'] },
        (event) => gatewayHooks.budgets.markRecorded(event.sessionId, event.data),
        { name: 'gateway-budgets' },
      );
    }
    this.config = config;
    this.log = log;
    this.logger = logger;
    this.model = model;
    this.#store = store;
    this.reports = reportSource(log, { leases: store, storeName: `the ${config.store} store` });
    this.sessions = new SessionManager({
      log,
      versionStore: store,
      transcriptStore: store,
      payloadStore: store.payloads,
      dataDir: config.dataDir,
      // A process frozen past its lease must not write into the files of the session it lost.
      confirmOwner: (sessionId) => this.leases.confirm(sessionId),
    });
    this.#workspaces = new WorkspaceManager(path.join(config.dataDir, 'worktrees'), this.sessions.history);
    this.monitor = new Monitor({
      log,
      ...monitoring,
      // A reached budget stops the agents in its scope (`fail`), or pauses the workflow so
      // that it can be resumed once the limit is raised (`pause`).
      agents: { stopAgents: (which, error) => this.agents.stopAgents(which, error) },
      onPause: (sessionId, _workflowId, reason) =>
        this.#launcher.handle(sessionId)?.pause({ reason, interruptRunning: true }),
    }).start();
    this.agents = agentRuntime({ config, log, store, model, gateway, redactor, spendGate: this.monitor });
    this.leases = new SessionLeases({
      store,
      ttlMs: config.leaseTtlMs,
      // Another process took the session over (this one was frozen or cut off): stop its work
      // here at once; its appends are refused by the store anyway.
      onLost: (sessionId, error) => {
        this.logger.error({ err: error, sessionId }, 'lost the lease on a session; stopping its run here');
        void this.#launcher.handle(sessionId)?.suspend();
      },
    });
    this.#launcher = new RunLauncher({
      log,
      logger,
      agents: this.agents,
      sessions: this.sessions,
      workspaces: this.#workspaces,
      cache: new ResultCache(path.join(config.dataDir, RESULT_CACHE_FOLDER), { redactor }),
      transcripts: store,
      leases: this.leases,
      controlPollMs: config.controlPollMs,
      classLimits: { agent: config.maxConcurrentAgents, other: config.maxConcurrentNodes },
      probe,
    });
  }

  /** Opens the store and the model access. */
  static async open(options: OrchestratorOptions = {}): Promise<Orchestrator> {
    const config = isLoaded(options.config) ? options.config : loadConfig(options.config ?? {});
    // Checked before anything opens: a bad rule is a configuration error, like any other.
    const monitoring = monitorSettings(config);
    const redactor = options.redactor ?? secretRedactor(config);
    const logger = options.logger ?? createLogger({ level: config.logLevel, redactor });
    await mkdir(config.dataDir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new OrchestratorError(
        'CONFIG_INVALID',
        `the data directory ${config.dataDir} cannot be used (${error.code === 'EEXIST' || error.code === 'ENOTDIR' ? 'it is not a folder' : error.code}); set --data-dir or ORCHESTRATOR_DATA_DIR to a folder this user can write`,
        { cause: error, details: { field: 'dataDir', dataDir: config.dataDir } },
      );
    });
    await prepareAgentFolders(agentFolders(config.dataDir));
    await prepareProtectedFolders(config.dataDir);
    const store =
      options.store ??
      (await openEventStore(
        config.store === 'postgres'
          ? { kind: 'postgres', url: config.databaseUrl as string, schema: config.postgresSchema }
          : { kind: 'sqlite', path: path.join(config.dataDir, 'events.db'), synchronous: config.sqliteSynchronous },
      ));
    const model = await resolveModelAccess(config, { scenario: options.scenario });
    options.notice?.(model.description);
    let built: Orchestrator | undefined;
    // The gateway starts first; the log it records through exists once the orchestrator does.
    const logOf = () => (built as Orchestrator).log;
    const gatewayHooks = config.gateway
      ? await orchestratorGatewayHooks({
          config,
          store,
          redactor,
          logger,
          target: () => (built === undefined ? undefined : built.#hookTarget()),
        })
      : undefined;
    const gateway = gatewayHooks
      ? await startOrchestratorGateway({ config, model, logger, hooks: gatewayHooks, log: () => logOf() })
      : undefined;
    logger.info({ store: config.store, model: model.description, gateway: gateway?.url }, 'orchestrator ready');
    const orchestrator = new Orchestrator(
      config,
      store,
      logger,
      model,
      monitoring,
      redactor,
      gateway,
      gatewayHooks,
      options.probe,
    );
    built = orchestrator;
    return orchestrator;
  }

  /**
   * Starts a workflow in a new session and returns its handle at once; the run goes on in
   * the background until `handle.result` settles. The session is created atomically: two
   * processes starting one session id cannot both succeed.
   * @throws OrchestratorError `INVALID_ARGUMENT` for bad inputs or a session id that is not a safe name,
   * `SESSION_BUSY` naming the owner for a session id another live process runs, `SESSION_EXISTS`
   * for one already used otherwise
   */
  async startWorkflow(workflow: CompiledWorkflow, options: StartWorkflowOptions = {}): Promise<WorkflowHandle> {
    const inputs = resolveInputs(workflow, options.inputs ?? {});
    const sessionId =
      options.sessionId === undefined ? newPrefixedId('ses') : checkSafeName(options.sessionId, 'sessionId');
    const exists = () =>
      new OrchestratorError('SESSION_EXISTS', `session "${sessionId}" already exists; resume it instead`, {
        details: { sessionId },
      });
    if ((await this.log.lastSeq(sessionId)) > 0) {
      // A session another live process runs: say who, as a resume would.
      throw (await this.leases.busy(sessionId)) ?? exists();
    }
    const { lease } = await this.leases.acquire(sessionId);
    try {
      const workspace = await this.#workspaces.ensureSessionWorkspace(
        options.workspace ?? childPath(path.join(this.config.dataDir, 'workspaces'), [sessionId], ['sessionId']),
      );
      const workflowId = newPrefixedId('wf');
      const state = replay(sessionId, []);
      this.log.fence(sessionId, lease.token);
      const created = await this.log
        .append(
          sessionId,
          // Built here from checked values (the compiled workflow, resolved inputs, a safe
          // session id): typed events, not parsed again by the log.
          [
            typedEvent({
              type: 'session.created',
              source: 'orchestrator',
              data: {
                name: workflow.name,
                workspace,
                model: this.model.recorded,
                ...(options.by !== undefined && { by: options.by }),
              },
            }),
            typedEvent({
              type: 'workflow.started',
              source: 'orchestrator',
              data: {
                workflowId,
                name: workflow.name,
                inputs,
                definition: workflow.definition,
                file: workflow.file,
                workspace,
              },
            }),
          ],
          // Nothing may exist before: creation and its check are one atomic append.
          { expectedLastSeq: 0 },
        )
        .catch((error: unknown) => {
          throw toOrchestratorError(error).code === 'SEQUENCE_CONFLICT' ? exists() : error;
        });
      for (const event of created) applyEvent(state, event);
      return this.#launcher.launch({
        state,
        workflowId,
        workflow,
        workspace,
        functions: options.functions,
        committed: created,
      });
    } catch (error) {
      this.log.unfence(sessionId);
      await this.leases.release(sessionId);
      throw error;
    }
  }

  /**
   * Carries on the unfinished workflow of a session from its log, in this process: completed
   * nodes stay done, an agent whose result is durable completes its node without a new model
   * call, interrupted nodes run again, open questions are awaited again, control requests
   * recorded meanwhile are applied. The session's lease is taken first, so a session another
   * live process runs is refused.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `SESSION_BUSY` (naming the owner), or
   * `WORKFLOW_NOT_RUNNING` when it has ended
   */
  async resumeSession(
    sessionId: string,
    options: { functions?: PlanFunctions; version?: number; by?: string } = {},
  ): Promise<WorkflowHandle> {
    if (options.version !== undefined) {
      // An older version is never resumed in place: that would rewrite history. It is forked,
      // and the fork carries on, with the files recorded with that version.
      const fork = await this.forkSession(
        sessionId,
        {
          version: options.version,
        },
        options.by === undefined ? {} : { by: options.by },
      );
      return this.resumeSession(fork.sessionId, { functions: options.functions });
    }
    checkSafeName(sessionId, 'sessionId');
    const running = this.#launcher.handle(sessionId);
    if (running) return running;
    // A run of this session that this process just suspended lets go of it first.
    await this.#launcher.ended(sessionId);
    if ((await this.log.lastSeq(sessionId)) === 0) {
      throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`, { details: { sessionId } });
    }
    const owned = await this.leases.acquire(sessionId);
    try {
      this.log.fence(sessionId, owned.lease.token);
      // Read only now: everything the previous owner committed is in the log, and it can add
      // nothing more (its appends carry a stale token).
      const state = await this.#loadState(sessionId);
      const wf = Object.values(state.workflows).findLast(
        (w) => !['completed', 'failed', 'cancelled'].includes(w.status),
      );
      if (!wf) {
        throw new OrchestratorError('WORKFLOW_NOT_RUNNING', `session "${sessionId}" has no unfinished workflow`);
      }
      if (owned.takenOver) {
        const { previous, reason } = owned.takenOver;
        const { ownerId, host, pid, acquiredAt, expiresAt } = previous;
        await recordEvent(this.log, state, 'session.taken_over', {
          previous: { ownerId, host, pid, acquiredAt, expiresAt },
          reason,
          owner: { ...this.leases.owner },
        });
      }
      // Figures, open alerts and spent budgets carry on from the log, read once for both the
      // monitor and the gateway's budgets per request.
      const budgets = this.#gatewayHooks?.budgets;
      if (budgets) {
        const history: AnyEvent[] = [];
        for await (const event of this.log.readAll(sessionId)) history.push(event);
        await this.monitor.track(sessionId, history);
        budgets.load(sessionId, history);
      } else {
        await this.monitor.track(sessionId);
      }
      await recordEvent(this.log, state, 'session.resumed', {
        fromSeq: state.lastSeq,
        reason: 'resumed on request',
        model: this.model.recorded,
      });
      const compiled = compileWorkflow(wf.definition, { file: wf.file ?? '<recorded>' });
      const workspace = await this.#workspaces.ensureSessionWorkspace(
        state.workspace ?? childPath(path.join(this.config.dataDir, 'workspaces'), [sessionId], ['sessionId']),
      );
      return this.#launcher.launch({
        state,
        workflowId: wf.workflowId,
        workflow: compiled,
        workspace,
        functions: options.functions,
        addedNodes: wf.addedNodes,
      });
    } catch (error) {
      this.log.unfence(sessionId);
      await this.leases.release(sessionId);
      throw error;
    }
  }

  /**
   * Steers a session from anywhere: the request is recorded in the session's log
   * (`control.requested`, with `by` for the audit) and a run of this process applies it at once;
   * any other session's owner (another process, another machine) acts on it within a second,
   * or the next resume does when nobody runs it.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT`, `INPUT_REQUEST_NOT_FOUND`,
   * `WORKFLOW_NOT_RUNNING` (a run of this process that has ended)
   */
  async control(sessionId: string, request: ControlRequest): Promise<ControlReceipt> {
    const handle = this.#launcher.handle(sessionId);
    if (!handle) return requestControl(this.log, this.#store, sessionId, request);
    checkControlRequest(request);
    if (request.action === 'answer' && !handle.pendingInputs().some((r) => r.requestId === request.requestId)) {
      throw new OrchestratorError(
        'INPUT_REQUEST_NOT_FOUND',
        `no open question "${request.requestId}" in ${sessionId}`,
        {
          details: { sessionId, requestId: request.requestId },
        },
      );
    }
    // Recorded like any other control request, so the audit trail is the same wherever the
    // session runs; applied here at once.
    const { controlId, event } = await recordControl(this.log, sessionId, request);
    await this.#launcher.deliver(sessionId, event);
    const { host, pid } = this.leases.owner;
    return { controlId, owner: { host, pid, acquiredAt: this.leases.lease(sessionId)?.acquiredAt ?? '' } };
  }

  /** The store this orchestrator writes to: its log, versions, transcripts, leases, API keys and registered workflows. */
  get store(): OrchestratorStore {
    return this.#store;
  }

  /** Sessions whose workflow runs in this process now. */
  runningSessions(): string[] {
    return this.#launcher
      .handles()
      .map((handle) => handle.sessionId)
      .filter((sessionId) => this.#launcher.handle(sessionId) !== undefined);
  }

  /**
   * Grants a rule to an agent type of a session at run time: Claude Code's permission prompt
   * for a call the rule covers is answered with allow (it cannot lift a deny rule, nor add a
   * tool the type does not have). In force for the type's running agents at their next call
   * and for every later one; recorded as `security.granted`.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT` (a malformed rule)
   */
  grant(sessionId: string, grant: RuleChange) {
    return this.control(sessionId, { action: 'grant', ...grant });
  }

  /**
   * Revokes a rule for an agent type of a session at run time: calls it covers are denied,
   * by the orchestrator's hook for running agents and by Claude Code for later ones (a deny
   * rule of their session). Also withdraws an earlier grant of the same rule. Recorded as
   * `security.revoked`.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT` (a malformed rule)
   */
  revoke(sessionId: string, revocation: RuleChange) {
    return this.control(sessionId, { action: 'revoke', ...revocation });
  }

  /**
   * A new session from a version (or the latest state) of another, with its own log and a
   * workspace holding the files recorded with that version; resume it to carry on. The
   * conversations it inherits are branched on its first resume, never continued in place.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `VERSION_NOT_FOUND`, `INVALID_ARGUMENT` without versions
   */
  forkSession(sessionId: string, point: ForkPoint, options: { as?: string; by?: string } = {}) {
    return this.sessions.fork(sessionId, point, options);
  }

  /**
   * Takes a version of a session now, with a label. A run of this process is versioned at
   * its latest committed event; any other session as its log stands. `by` names who asked, for the audit.
   */
  async takeVersion(sessionId: string, label?: string, options: { by?: string } = {}) {
    return this.sessions.takeVersion(sessionId, label, options);
  }

  /** The session's state: its newest readable version plus later events, or a full replay. */
  async #loadState(sessionId: string): Promise<SessionState> {
    return this.sessions.state(sessionId);
  }

  /** The handle of a workflow running in this process. */
  handle(sessionId: string): WorkflowHandle | undefined {
    return this.#launcher.handle(sessionId);
  }

  /** What the gateway's hooks reach: limits, events, agents, runs (see gateway-hooks.ts). */
  #hookTarget(): HookTarget {
    return {
      budgetLimits: (sessionId, agent) => this.monitor.budgetLimits(sessionId, agent),
      append: (sessionId, events) => this.log.append(sessionId, events),
      stopAgent: (agentId, error) => {
        this.agents.stopAgents((agent) => agent.agentId === agentId, error);
      },
      pause: (sessionId, reason) => this.#launcher.handle(sessionId)?.pause({ reason, interruptRunning: true }),
    };
  }

  /**
   * Stops everything: running workflows are left resumable (their agents are interrupted and
   * recorded as such), agent processes are reaped, leases released, the store closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled(this.#launcher.handles().map((handle) => handle.suspend()));
      await this.agents.shutdown();
      await this.monitor.close();
      await this.gateway?.close();
      await this.#gatewayHooks?.recorder?.flush();
      await this.model.close();
      await this.#launcher.settled();
      await this.leases.close();
      await this.log.close();
    })();
    return this.#closing;
  }
}

function isLoaded(config: OrchestratorOptions['config']): config is OrchestratorConfig {
  return config !== undefined && Object.isFrozen(config) && typeof (config as OrchestratorConfig).dataDir === 'string';
}
