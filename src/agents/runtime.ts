import { setTimeout as sleep } from 'node:timers/promises';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import { newPrefixedId } from '../events/index.ts';
import { withAgentTypeEnv } from '../security/index.ts';
import {
  type AgentUsage,
  type AttemptFailure,
  type AttemptSuccess,
  interruptedBeforeStart,
  runAttempt,
} from './attempt.ts';
import { redactedOutcome } from './local-transcripts.ts';
import { dataDirOfAgentEnv } from './process-tags.ts';
import { ProcessRegistry } from './processes.ts';
import { AgentRecorder } from './recorder.ts';
import { resourceSamples } from './resources.ts';
import type {
  AgentCredentials,
  AgentHandle,
  AgentResult,
  AgentRuntimeOptions,
  AgentTask,
  WarmStartWant,
} from './runtime-options.ts';
import { type ProcessConfig, policyOf, toolHostShape } from './sdk-options.ts';
import { type ProcessSlot, SlotPool } from './slots.ts';
import { type AgentSpec, backoffDelay } from './spec.ts';
import { agentOf, capBudget, type RunningAgent, refusal } from './spend.ts';
import { type SpareCredentials, WarmPool, type WarmStats, type WarmWant } from './warm-pool.ts';

/**
 * Runs agents on the real Claude Agent SDK: caps how many Claude Code processes live at once,
 * retries transient failures with exponential backoff and jitter, records every attempt,
 * message, tool call, permission decision and state change as events, and reaps every child
 * process (also on {@link shutdown}).
 */
export class AgentRuntime {
  readonly processes: ProcessRegistry;
  readonly #options: AgentRuntimeOptions;
  /** The cap on agent processes alive at once; callers may reserve a slot ahead of a spawn. */
  readonly slots: SlotPool;
  readonly #pool: WarmPool | undefined;
  readonly #warmStartOn: boolean;
  readonly #running = new Map<
    string,
    { controller: AbortController; result: Promise<AgentResult>; agent: RunningAgent; pid?: () => number | undefined }
  >();
  readonly #sampler: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: AgentRuntimeOptions) {
    this.#options = options;
    this.processes = new ProcessRegistry({ dataDir: options.dataDir ?? dataDirOfAgentEnv(options.env) });
    this.slots = new SlotPool(options.maxConcurrent ?? 4);
    // Agents with credentials of their own run on spares only when spares can have theirs.
    const noSpares = options.credentials !== undefined && !options.spareCredentials;
    const size = noSpares ? 0 : (options.warmPool ?? 0);
    const maxSpares = noSpares ? 0 : (options.warmStart?.maxSpares ?? 0);
    this.#warmStartOn = maxSpares > 0;
    this.#pool =
      size > 0 || maxSpares > 0
        ? new WarmPool({
            size,
            maxSpares,
            ...(options.warmStart?.minFreeMemoryBytes !== undefined && {
              minFreeMemoryBytes: options.warmStart.minFreeMemoryBytes,
            }),
            processes: this.processes,
            folderSpareMaxAgeMs: options.warmSpareMaxAgeMs,
            ...(options.spareCredentials && { credentials: options.spareCredentials }),
          })
        : undefined;
    const every = options.resourceSampleMs ?? 5000;
    if (every > 0) {
      this.#sampler = setInterval(() => this.sampleResources(), every);
      this.#sampler.unref();
    }
  }

  /** The agents running now (waiting for a slot or holding one). */
  running(): RunningAgent[] {
    return [...this.#running.values()].map((entry) => entry.agent);
  }

  /**
   * Stops the running agents `which` selects, now, ending each with `error` (for example a
   * `BUDGET_EXHAUSTED` when a budget trips). Returns how many were stopped.
   */
  stopAgents(which: (agent: RunningAgent) => boolean, error: OrchestratorError): number {
    let stopped = 0;
    for (const entry of this.#running.values()) {
      if (!which(entry.agent) || entry.controller.signal.aborted) continue;
      entry.controller.abort(error);
      stopped++;
    }
    return stopped;
  }

  /**
   * Records the resident memory of every live agent process, one `agent.resources` event per
   * session (what the periodic sampler does), with the warm pool's spares beside them.
   * Processes that cannot be read are left out.
   */
  sampleResources(): void {
    const live = [...this.#running.values()].map(({ agent, pid }) => ({ ...agent, pid: pid?.() }));
    // With a warm pool, the registry's other processes are its parked spares.
    const agentPids = new Set(live.map((agent) => agent.pid));
    const spares = this.#pool ? this.processes.pids().filter((pid) => !agentPids.has(pid)) : [];
    for (const [sessionId, event] of resourceSamples(live, spares)) {
      this.#options.log.append(sessionId, [event]).catch(() => {
        // The store is closing: a lost sample is only a missing figure.
      });
    }
  }

  /** Spare processes parked in the warm pool now, of both kinds. */
  get warmSpares(): number {
    return this.#pool?.parked ?? 0;
  }

  /** Start-up spares (per shared folder) parked in the warm pool now. */
  get warmFolderSpares(): number {
    return this.#pool?.parkedInFolders ?? 0;
  }

  /**
   * Fills the warm pool for agents of this configuration (the same spec, output schema and
   * kind of tool host as their tasks) and resolves once the spares are parked: start-up
   * spares in `task.cwd` when it is given (for tasks with `sharedCwd`), else claim spares. A
   * no-op without `warmPool`.
   */
  async prewarm(
    spec: AgentSpec,
    task: Pick<AgentTask, 'outputSchema' | 'toolHost'> & { readonly cwd?: string } = {},
  ): Promise<void> {
    if (this.#closing || !this.#pool) return;
    // A type that confines reads names its workspace in its sandbox settings: its spares are
    // per folder, and none can be made without one.
    const confineReads = policyOf(spec).confineReads;
    if (confineReads && task.cwd === undefined) return;
    await this.#pool.fill(
      {
        spec,
        env: this.#envOf(spec),
        outputSchema: task.outputSchema,
        sessionStore: this.#options.sessionStore,
        hostShape: toolHostShape(task.toolHost),
        redactor: this.#options.redactor,
        ...(confineReads && { workspace: task.cwd }),
      },
      task.cwd,
    );
  }

  /** What the warm pool has done so far (spares started, taken) and holds now; zeros without one. */
  get warmStats(): WarmStats {
    return this.#pool?.stats ?? { started: 0, taken: 0, live: 0 };
  }

  /**
   * The graph-aware warm start: makes sure each agent in `wants` (most urgent first) has a
   * spare parked or starting, within the runtime's `warmStart` bounds, and returns how many
   * spares it started. `owner` (a workflow run) is who asked: {@link releaseWarm} closes
   * what it asked for and nobody took. A no-op without `warmStart`.
   *
   * An agent whose budget the spend gate would cap gets no spare (a spare's `maxBudgetUsd` is
   * fixed when it starts, so it would start cold anyway). The gate is asked as at a spawn: a
   * budget already spent is recorded and acted on now rather than at the agent's spawn.
   */
  /** Whether {@link warmStart} can start anything (the runtime has a `warmStart` bound). */
  get warmStartOn(): boolean {
    return this.#pool !== undefined && this.#warmStartOn;
  }

  warmStart(owner: string, wants: readonly WarmStartWant[]): number {
    if (this.#closing || !this.#pool || wants.length === 0) return 0;
    const configs: WarmWant[] = [];
    for (const want of wants) {
      const config = this.#warmConfig(want);
      if (config) configs.push({ config, cwd: want.cwd });
    }
    return this.#pool.want(owner, configs);
  }

  /** Closes the spares {@link warmStart} started for `owner` that nobody took. */
  async releaseWarm(owner: string): Promise<void> {
    await this.#pool?.releaseOwner(owner);
  }

  #warmConfig(want: WarmStartWant): ProcessConfig | undefined {
    const { spec } = want;
    const confineReads = policyOf(spec).confineReads;
    if (confineReads && want.cwd === undefined) return undefined;
    const verdict = this.#options.spendGate?.admit({
      sessionId: want.sessionId,
      workflowId: want.workflowId,
      agentType: spec.name,
      agentId: 'agt_warm_start',
      nodeId: want.nodeId,
    });
    if (verdict && (!verdict.ok || capBudget(spec, verdict.maxBudgetUsd) !== spec)) return undefined;
    return {
      spec,
      env: this.#envOf(spec),
      outputSchema: want.outputSchema,
      sessionStore: this.#options.sessionStore,
      hostShape: want.tools,
      redactor: this.#options.redactor,
      ...(want.revoked && want.revoked.length > 0 && { revoked: want.revoked }),
      ...(confineReads && { workspace: want.cwd }),
    };
  }

  /**
   * Closes the warm pool's start-up spares in a folder: call it when no more agents will work
   * there (its session ended, the folder is removed).
   */
  async releaseFolder(cwd: string): Promise<void> {
    await this.#pool?.release(cwd);
  }

  /** Agents waiting for a process slot. */
  get queued(): number {
    return this.slots.queued;
  }

  /** Agents holding a process slot. */
  get active(): number {
    return this.slots.active;
  }

  /**
   * Starts an agent. Events flow to the session log at once; the handle's `result` settles
   * when the agent is done.
   * @throws OrchestratorError `AGENT_SHUTDOWN` after {@link shutdown} began; `INVALID_ARGUMENT`
   * when `task.agentId` names an agent that is still running.
   */
  spawn(task: AgentTask): AgentHandle {
    if (this.#closing) throw new OrchestratorError('AGENT_SHUTDOWN', 'the agent runtime is shutting down');
    const agentId = task.agentId ?? newPrefixedId('agt');
    if (this.#running.has(agentId)) {
      throw new OrchestratorError('INVALID_ARGUMENT', `agent "${agentId}" is already running`, {
        details: { agentId },
      });
    }
    const agent = agentOf(agentId, task);
    // Refused before anything is recorded: the agent never existed, its caller gets the error.
    const verdict = this.#options.spendGate?.admit(agent);
    if (verdict && !verdict.ok) {
      const refused: AgentResult = {
        ok: false,
        error: verdict.error,
        usage: undefined,
        costUsd: undefined,
        sdkSessionId: undefined,
        agentId,
        attempts: 0,
      };
      return { agentId, result: Promise.resolve(refused), interrupt: () => undefined };
    }
    const controller = new AbortController();
    const entry: { controller: AbortController; result: Promise<AgentResult>; agent: RunningAgent } = {
      controller,
      agent,
      result: Promise.resolve(undefined as never),
    };
    this.#running.set(agentId, entry);
    const credentials = this.#options.credentials?.(agent);
    // Credentials of spares this agent took (one per attempt at most), ended with the agent.
    const adopted: SpareCredentials[] = [];
    const adopt = (spare: SpareCredentials) => {
      spare.bind(agent);
      adopted.push(spare);
    };
    entry.result = this.#run(agentId, task, controller.signal, credentials, adopt).finally(() => {
      this.#running.delete(agentId);
      credentials?.release();
      for (const spare of adopted) spare.release();
    });
    const result = entry.result;
    return {
      agentId,
      result,
      interrupt: (reason) =>
        controller.abort(new OrchestratorError('AGENT_INTERRUPTED', reason ?? 'the agent was interrupted on request')),
    };
  }

  async #run(
    agentId: string,
    task: AgentTask,
    signal: AbortSignal,
    credentials: AgentCredentials | undefined,
    adopt: (spare: SpareCredentials) => void,
  ): Promise<AgentResult> {
    const recorder = new AgentRecorder(this.#options.log, task, agentId);
    const maxAttempts = Math.max(1, task.spec.retry?.attempts ?? 3);
    recorder.record([
      {
        type: 'agent.spawned',
        data: {
          agentId,
          agentType: task.spec.name,
          ...(task.nodeId !== undefined && { nodeId: task.nodeId }),
          ...(task.workflowId !== undefined && { workflowId: task.workflowId }),
          task: task.prompt.slice(0, 2000),
          ...(task.spec.model !== undefined && { model: task.spec.model }),
        },
      },
    ]);
    recorder.setState('waiting');
    let attempt = 0;
    let outcome: AttemptSuccess | AttemptFailure;
    for (;;) {
      attempt++;
      let slot: ProcessSlot | undefined;
      try {
        slot = attempt === 1 && task.slot ? task.slot : await this.slots.acquire(signal);
      } catch {
        // An agent interrupted while it waits for a slot ends now, not when a slot frees up.
        slot = undefined;
      }
      try {
        outcome =
          slot === undefined || signal.aborted
            ? interruptedBeforeStart(signal)
            : await this.#attempt(agentId, task, signal, recorder, credentials, adopt);
      } finally {
        slot?.release();
      }
      if (outcome.ok) break;
      const willRetry = outcome.error.retryable && attempt < maxAttempts && !signal.aborted;
      recorder.record([
        {
          type: 'agent.failed',
          data: {
            agentId,
            error: outcome.error.toJSON(),
            attempt,
            willRetry,
            ...spent(outcome.usage, outcome.costUsd),
            ...(outcome.modelUsage && { modelUsage: outcome.modelUsage }),
            ...(outcome.turns !== undefined && { turns: outcome.turns }),
          },
        },
      ]);
      if (!willRetry) break;
      const delayMs = backoffDelay(task.spec.retry, attempt);
      recorder.record([
        {
          type: 'agent.retry',
          data: { agentId, by: 'orchestrator', attempt: attempt + 1, maxAttempts, delayMs, reason: outcome.error.code },
        },
      ]);
      recorder.setState('waiting');
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
    if (outcome.ok) {
      recorder.record([
        {
          type: 'agent.completed',
          data: {
            agentId,
            output: outcome.structured ?? outcome.text,
            ...spent(outcome.usage, outcome.costUsd),
            turns: outcome.turns,
            durationMs: outcome.durationMs,
            ...(outcome.sdkSessionId !== undefined && { sdkSessionId: outcome.sdkSessionId }),
            attempt,
            ...(outcome.modelUsage && { modelUsage: outcome.modelUsage }),
          },
        },
      ]);
      recorder.setState('completed');
    } else {
      // Stopped on purpose (a request, or the orchestrator going down) is not a failure of the agent.
      const stopped = outcome.error.code === 'AGENT_INTERRUPTED' || outcome.error.code === 'AGENT_SHUTDOWN';
      recorder.setState(stopped ? 'interrupted' : 'error');
    }
    try {
      await recorder.flushed();
    } catch (error) {
      // The log refused an event: the agent's record is incomplete, so it cannot count as done.
      const failure = toOrchestratorError(error, 'STORE_UNAVAILABLE');
      return {
        ok: false,
        error: failure,
        usage: undefined,
        costUsd: undefined,
        sdkSessionId: undefined,
        agentId,
        attempts: attempt,
      };
    }
    return { ...outcome, agentId, attempts: attempt };
  }

  /** The environment of an agent of this type: the runtime's plus what the type declares. */
  #envOf(spec: AgentSpec): Record<string, string> {
    return withAgentTypeEnv(this.#options.env, spec, this.#options.hostEnv ?? process.env);
  }

  /** One attempt; with a redactor, its answer and Claude Code's files of it redacted (see {@link redactedOutcome}). */
  async #attempt(
    agentId: string,
    task: AgentTask,
    signal: AbortSignal,
    recorder: AgentRecorder,
    credentials: AgentCredentials | undefined,
    adopt: (spare: SpareCredentials) => void,
  ) {
    const outcome = await this.#runAttempt(agentId, task, signal, recorder, credentials, adopt);
    const redactor = this.#options.redactor;
    return redactor ? redactedOutcome(outcome, redactor, this.#options.env.CLAUDE_CONFIG_DIR) : outcome;
  }

  /** One attempt in a held slot: the spend gate asked again, then the SDK query. */
  #runAttempt(
    agentId: string,
    task: AgentTask,
    signal: AbortSignal,
    recorder: AgentRecorder,
    credentials: AgentCredentials | undefined,
    adopt: (spare: SpareCredentials) => void,
  ): Promise<AttemptSuccess | AttemptFailure> {
    // Asked again at the last moment: spending may have reached a budget while it waited.
    const verdict = this.#options.spendGate?.admit(this.#running.get(agentId)?.agent ?? agentOf(agentId, task));
    if (verdict && !verdict.ok) return Promise.resolve(refusal(verdict.error));
    const spec = capBudget(task.spec, verdict?.maxBudgetUsd);
    recorder.setState('initializing');
    return runAttempt({
      agentId,
      spec,
      prompt: task.prompt,
      cwd: task.cwd,
      sharedCwd: task.sharedCwd ?? false,
      env: credentials
        ? { ...this.#envOf(spec), ANTHROPIC_API_KEY: credentials.apiKey, ANTHROPIC_BASE_URL: credentials.baseUrl }
        : this.#envOf(spec),
      outputSchema: task.outputSchema,
      resume: task.resume,
      sessionStore: this.#options.sessionStore,
      redactor: this.#options.redactor,
      toolHost: task.toolHost,
      timeoutMs: task.spec.timeoutMs ?? this.#options.defaultTimeoutMs ?? 600_000,
      signal,
      processes: this.processes,
      // A spare's budget is fixed when it starts (the SDK applies maxBudgetUsd then), so an
      // attempt whose budget a gate capped starts cold rather than fill a pool for a
      // configuration no later agent will have.
      warmPool: spec === task.spec ? this.#pool : undefined,
      adoptSpareCredentials: adopt,
      record: (events) => recorder.record(events),
      recorded: () => recorder.recorded(),
      setState: (state) => recorder.setState(state),
      onLaunched: (pid) => {
        const running = this.#running.get(agentId);
        if (running) running.pid = pid;
        // The process exists by now (the SDK spawns it as the query is created).
        this.processes.attribute(pid(), { agentId, sessionId: task.sessionId });
      },
    });
  }

  /**
   * Interrupts every agent (queued ones included, which then never start), waits until each
   * has settled with `AGENT_SHUTDOWN` and its events are committed, and kills any process
   * left. Idempotent; spawns after it fail with `AGENT_SHUTDOWN`.
   */
  shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sampler);
      const running = [...this.#running.values()];
      for (const { controller } of running) {
        controller.abort(new OrchestratorError('AGENT_SHUTDOWN', 'the orchestrator is shutting down'));
      }
      // Each attempt interrupts its turn and reaps its process itself; this is the backstop.
      await Promise.all([this.processes.killAll(), this.#pool?.close(), ...running.map(({ result }) => result)]);
      await this.processes.killAll();
    })();
    return this.#closing;
  }
}

function spent(usage: AgentUsage | undefined, costUsd: number | undefined) {
  return { ...(usage && { usage }), ...(costUsd !== undefined && { costUsd }) };
}
