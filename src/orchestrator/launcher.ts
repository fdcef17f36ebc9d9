import path from 'node:path';
import { type AgentRuntime, type AgentToolHost, finishedAnswer } from '../agents/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import { type AnyEvent, newId } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Logger } from '../logging/index.ts';
import { rulesOf } from '../security/index.ts';
import { AutoVersions, CutBudget, type SessionManager } from '../sessions/index.ts';
import type { TranscriptStore } from '../store/index.ts';
import {
  agentExecutor,
  applyEvent,
  approvalExecutor,
  type ClassLimits,
  type CompiledPlan,
  type CompiledWorkflow,
  checkMemoryValue,
  cloneState,
  functionExecutor,
  humanExecutor,
  type NodeExecutor,
  type NodeRunContext,
  normalizeApproval,
  type PendingControl,
  type PlanFunctions,
  planFromCompiled,
  type ResultCache,
  replay,
  type SessionState,
  WorkflowRun,
} from '../workflow/index.ts';
import { projectKeyOf, type WorkspaceManager } from '../workspace/index.ts';
import { ControlWatcher } from './control-watcher.ts';
import type { SessionLeases } from './leases.ts';
import { followUpcoming } from './warm-start.ts';
import { WorkflowHandle } from './workflow-handle.ts';

/**
 * How long a run may start nodes before it lets the event loop turn (WorkflowRunOptions.
 * turnBudgetMs). Function nodes settle in microtasks: without a bound a run of them held the
 * loop to its end (lease renewals, the API, subscribers waiting; every event committed in one
 * batch at the end). By time rather than count so the bound holds whatever a node costs.
 * Measured (bench/support/profile-public.ts, chain of 10,000, CPU to the result, loaded 2-core
 * machine): no bound 51-57 us/node; 10 ms 64-69 (versions, taken during the run, rose from 23%
 * to 31% of the profile); 25 ms 52-54; 50 ms 52-55. Again, alternating on the same code: no
 * bound 48-60, 25 ms 48-59, 100 ms 51-56. The 1k-node shapes showed no difference from 5 to
 * 20 ms or 256 starts, within the noise.
 */
const TURN_BUDGET_MS = 25;

/** What the launcher uses: the orchestrator's services, opened once and shared. */
export interface LauncherServices {
  readonly log: EventLog;
  readonly logger: Logger;
  readonly agents: AgentRuntime;
  readonly sessions: SessionManager;
  readonly workspaces: WorkspaceManager;
  readonly cache: ResultCache;
  readonly transcripts: TranscriptStore;
  readonly leases: SessionLeases;
  /** How often an owner looks for control requests of other processes. */
  readonly controlPollMs: number;
  /** Agent nodes and other nodes running at once in one run (`ORCHESTRATOR_MAX_AGENTS`, `ORCHESTRATOR_MAX_NODES`). */
  readonly classLimits: ClassLimits;
  /** Test hook at every await point of a node's start path (see OrchestratorOptions.probe). */
  readonly probe?: ((point: string, nodeId: string) => void) | undefined;
}

/** What {@link RunLauncher.launch} needs to know about one run. */
export interface LaunchRequest {
  /** The session's state: exactly its committed events (nothing in flight). */
  readonly state: SessionState;
  readonly workflowId: string;
  readonly workflow: CompiledWorkflow;
  readonly workspace: string;
  readonly functions?: PlanFunctions | undefined;
  readonly addedNodes?: readonly unknown[];
  /**
   * Every committed event of the session, when `state` was built from them alone (a new
   * session): the versions follower's own copy of the state is replayed from these (one
   * reducer pass) instead of copied from `state` (a copy of every node's state).
   */
  readonly committed?: readonly AnyEvent[];
}

/**
 * Launches workflow runs in this process, on a session whose lease it already holds: builds
 * the plan and the executors, follows the run with versions, watches the log for control
 * requests of other processes, and when the run ends (or this process lets go) stops all of
 * that and gives the lease back. The orchestrator's public API stays apart from this.
 */
export class RunLauncher {
  readonly #s: LauncherServices;
  readonly #runs = new Map<string, WorkflowHandle>();
  /** Auto-version followers still finishing (awaited before the log closes). */
  readonly #versioning = new Set<Promise<void>>();
  /**
   * One budget for the cuts of every run's version follower in this process: versions of runs
   * side by side share the loop's fortieth, rather than taking one each.
   */
  readonly #cutBudget = new CutBudget(performance.now());
  /** Runs' ends still releasing their leases and watchers, by session. */
  readonly #ending = new Map<string, Promise<void>>();
  /** How each run applies a control request: to its state, then to the run. */
  readonly #controls = new Map<string, (event: AnyEvent) => Promise<void>>();

  constructor(services: LauncherServices) {
    this.#s = services;
  }

  /** The handle of a run of this process that is still going (not ended, not suspended). */
  handle(sessionId: string): WorkflowHandle | undefined {
    const handle = this.#runs.get(sessionId);
    const phase = handle?.run.phase;
    return phase === 'done' || phase === 'suspended' ? undefined : handle;
  }

  /** Resolves once an ended run of the session has let go of it (watchers stopped, lease released). */
  async ended(sessionId: string): Promise<void> {
    await this.#ending.get(sessionId);
  }

  /**
   * Applies a `control.requested` event this process appended for one of its own runs (the
   * run's watcher skips this process's appends, so nothing else would). An answer or a rule
   * change resolves once recorded.
   * @throws OrchestratorError `INPUT_REQUEST_NOT_FOUND` for an answer to a question closed meanwhile
   */
  async deliver(sessionId: string, event: AnyEvent): Promise<void> {
    await this.#controls.get(sessionId)?.(event);
  }

  /** Every run of this process. */
  handles(): WorkflowHandle[] {
    return [...this.#runs.values()];
  }

  /** Resolves once every ended run has stored its last version and released its lease. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#ending.values()]);
    await Promise.allSettled([...this.#versioning]);
  }

  launch(request: LaunchRequest): WorkflowHandle {
    const { state, workflowId, workflow, workspace } = request;
    const { log } = this.#s;
    const sessionId = state.sessionId;
    let plan = planFromCompiled(workflow, { functions: request.functions });
    if (request.addedNodes && request.addedNodes.length > 0) plan = plan.withAddedNodes(request.addedNodes, undefined);
    const executors = new Map<string, NodeExecutor>([
      ['human', humanExecutor],
      ['approval', approvalExecutor],
      ['function', functionExecutor],
    ]);
    const run: WorkflowRun<CompiledPlan> = new WorkflowRun({
      log,
      sessionId,
      workflowId,
      plan,
      executors,
      state,
      workspace,
      classLimits: this.#s.classLimits,
      turnBudgetMs: TURN_BUDGET_MS,
      probe: this.#s.probe,
    });
    executors.set('agent', this.#agentExecutor(state, run, workspace));
    // Spares for the agents about to be needed, started while their predecessors run.
    const stopWarm = this.#s.agents.warmStartOn
      ? followUpcoming({ log, agents: this.#s.agents, run, state, workflowId, workspace })
      : undefined;
    const versions = this.#startVersions(
      sessionId,
      request.committed ? replay(sessionId, request.committed) : state,
      state,
    );
    // Agents write their own events to the log; the engine's state learns of them here (their
    // SDK session ids, for nodes that carry on a conversation; their durable results).
    const agentEvents = log.subscribe(
      { sessionId, types: ['agent.spawned', 'agent.progress', 'agent.completed', 'agent.failed'] },
      (event) => {
        applyEvent(state, event as AnyEvent);
      },
      { name: `engine-state:${sessionId}` },
    );
    const applyControl = async (event: AnyEvent): Promise<void> => {
      if (event.type !== 'control.requested') return;
      applyEvent(state, event);
      const control = state.controls?.[event.data.controlId] as PendingControl | undefined;
      if (!control) return;
      const { controlId, requestId, agentType, rule, by = 'user' } = control;
      // Answers and rule changes are awaited, so a caller of this process learns they are recorded.
      if (control.action === 'answer' && requestId !== undefined && run.state.inputRequests[requestId]) {
        await run.answer(requestId, control.value, by, controlId);
      } else if (
        (control.action === 'grant' || control.action === 'revoke') &&
        agentType &&
        rule &&
        run.phase !== 'done'
      ) {
        await run.changeRule(control.action, agentType, rule, by, control.reason, controlId);
      } else {
        run.applyControl(control);
      }
    };
    this.#controls.set(sessionId, applyControl);
    const watcher = new ControlWatcher({
      log,
      sessionId,
      fromSeq: state.lastSeq,
      pollMs: this.#s.controlPollMs,
      onForeign: (event) => {
        applyControl(event).catch((error: unknown) =>
          this.#s.logger.warn({ err: error, sessionId }, 'a control request could not be applied'),
        );
      },
      onError: (error) => this.#s.logger.warn({ err: error, sessionId }, 'control requests could not be read'),
    });
    const handle = new WorkflowHandle({ sessionId, workflowId, run, log, workspace });
    this.#runs.set(sessionId, handle);
    const ending = handle.result
      .catch(() => undefined)
      .then(async () => {
        agentEvents();
        await watcher.stop();
        this.#runs.delete(sessionId);
        if (this.#controls.get(sessionId) === applyControl) this.#controls.delete(sessionId);
        this.#stopVersions(sessionId, versions);
        // No agent of this run will work in its workspace any more: its pre-started ones go.
        this.#s.agents.releaseFolder(workspace).catch(() => undefined);
        stopWarm?.().catch(() => undefined);
        log.unfence(sessionId);
        await this.#s.leases.release(sessionId);
      });
    this.#ending.set(sessionId, ending);
    void ending.finally(() => {
      if (this.#ending.get(sessionId) === ending) this.#ending.delete(sessionId);
    });
    return handle;
  }

  #agentExecutor(state: SessionState, run: WorkflowRun<CompiledPlan>, workspace: string): NodeExecutor {
    const { agents, workspaces, transcripts } = this.#s;
    const sessionId = state.sessionId;
    const label = (context: NodeRunContext, attempt = context.attempt) => `${context.node.id}-${attempt}`;
    return agentExecutor({
      runtime: agents,
      sessionId,
      cache: this.#s.cache,
      agentSpec: (name) => run.plan.agentType(name),
      memoryKeys: () => Object.keys(state.memory),
      maxPromptChars: () => run.plan.limits.maxPromptChars,
      sdkSessionOf: (nodeId) =>
        Object.values(state.agents).findLast((agent) => agent.nodeId === nodeId && agent.sdkSessionId)?.sdkSessionId,
      inheritedConversation: (sdkSessionId) =>
        Object.values(state.agents).some((agent) => agent.sdkSessionId === sdkSessionId && agent.inherited === true),
      toolHost: (context, agentId, canModify) => this.#toolHost(state, run, context, agentId, canModify),
      workspaceFor: (context) =>
        context.node.workspace === 'isolated'
          ? workspaces.isolated(workspace, sessionId, label(context))
          : Promise.resolve(workspaces.shared(workspace)),
      resumeWorkspace: (context, attempt) => workspaces.resumeIsolated(workspace, sessionId, label(context, attempt)),
      earlierResult: (nodeId) => run.state.nodes[nodeId]?.earlierResult,
      finishedAnswer: async (sdkSessionId, cwd, structured) => {
        const key = { projectKey: projectKeyOf(path.resolve(cwd)), sessionId: sdkSessionId };
        const entries = await transcripts.loadTranscript(key);
        return entries ? finishedAnswer(entries, structured) : undefined;
      },
    });
  }

  /**
   * Follows the session's committed events and takes versions as it runs. Called before the
   * run starts, while `state` is still exactly the committed state (every event so far was
   * awaited); once the engine runs, its state is ahead of the log by decisions in flight. A
   * state the engine does not run on (replayed for the follower alone) is taken as it is.
   */
  #startVersions(sessionId: string, state: SessionState, engineState: SessionState): AutoVersions {
    return AutoVersions.start({
      log: this.#s.log,
      versions: this.#s.sessions.versions,
      // Frozen parts (the recorded definition) shared, the rest copied: see cloneState.
      state: state === engineState ? cloneState(state) : state,
      onError: (error) => this.#s.logger.warn({ err: error, sessionId }, 'a version could not be stored'),
      budget: this.#cutBudget,
    });
  }

  #stopVersions(sessionId: string, versions: AutoVersions): void {
    const stopping = this.#s.log
      .lastSeq(sessionId)
      .then((untilSeq) => versions.stop({ final: true, untilSeq }))
      .catch((error: unknown) =>
        this.#s.logger.warn({ err: error, sessionId }, 'the last version could not be stored'),
      );
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
        checkMemoryValue(key, value, run.plan.limits.maxMemoryValueBytes);
        await recordEvent(this.#s.log, state, 'memory.set', { key, value, by: `agent:${agentId()}` });
      },
      memoryList: async () => Object.keys(state.memory),
      askHuman: async (question) => {
        const answer = await context.requestInput('input', question, { agentId: agentId() });
        return typeof answer === 'string' ? answer : JSON.stringify(answer);
      },
      // A tool call an ask rule (or Claude Code) holds for a human: a durable approval question
      // of the session, answered like any other (`sessions answer ID REQ yes`).
      approveTool: async ({ tool, inputSummary, rule, timeoutMs, signal }) => {
        const prompt = `agent ${agentId()} (${context.node.agent ?? 'agent'}) asks to run ${tool}: ${inputSummary} [${rule}]. Approve?`;
        const answer = await context.requestInput('approval', prompt, { agentId: agentId(), timeoutMs, signal });
        return normalizeApproval(answer).approved;
      },
      permissionRules: () => rulesOf(state.security, context.node.agent ?? ''),
    };
    // The tools follow the type's graph policy; the engine checks every call against it again.
    // (toolShapeOf says the same to the warm start, whose spares must offer the same tools.)
    const agentType = context.node.agent;
    const policy = canModify && agentType ? run.plan.agentType(agentType)?.graph : undefined;
    if (policy?.addNodes) {
      host.addNodes = async (nodes) => {
        const requested = nodes.map((n) => {
          const kind = n.kind ?? 'agent';
          // An agent node names its agent type; by default the asking agent's own.
          return kind === 'agent'
            ? { ...n, agent: n.agent ?? agentType, dependsOn: n.dependsOn ?? [] }
            : { ...n, dependsOn: n.dependsOn ?? [] };
        });
        const ids = await run.addNodes(requested, `agent:${agentId()}`, { agentType });
        return `added nodes: ${ids.join(', ')}`;
      };
    }
    if (policy?.skipNodes) {
      host.skipNodes = async (ids, reason) => {
        await run.skipNodes(ids, reason, `agent:${agentId()}`, { agentType });
        return `skipped nodes: ${ids.join(', ')}`;
      };
    }
    return host;
  }
}

/** Appends an event and applies it to the session's projected state. */
export async function recordEvent<T extends EventType>(
  log: EventLog,
  state: SessionState,
  type: T,
  data: EventDataMap[T],
): Promise<void> {
  const [committed] = await log.append(state.sessionId, [{ type, data, source: 'orchestrator' }]);
  applyEvent(state, committed ?? ({ type, data, seq: 0, id: newId(), ts: new Date().toISOString() } as never));
}
