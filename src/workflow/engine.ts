import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import { type EventDataMap, type EventType, newPrefixedId } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import type { NodeContext, NodeExecutor, NodeOutcome, PlanNode, WorkflowPlan } from './plan.ts';
import { RunRecorder } from './run-recorder.ts';
import { AdmissionQueue, DependencyTracker, evaluateTrigger } from './scheduler.ts';
import { type SessionState, TERMINAL_NODE_STATUSES, type WorkflowState } from './state.ts';

/** Interruptions by crash or pause a node may suffer before it fails; they do not use retries. */
const MAX_INTERRUPTIONS = 3;

/** Everything a run needs. */
export interface WorkflowRunOptions<P extends WorkflowPlan = WorkflowPlan> {
  readonly log: EventLog;
  readonly sessionId: string;
  readonly workflowId: string;
  readonly plan: P;
  /** Executors by node kind. */
  readonly executors: ReadonlyMap<string, NodeExecutor>;
  /** The session's state replayed from the log; the run keeps it up to date. */
  readonly state: SessionState;
  readonly workspace: string;
}

/** How a node run was stopped from outside, carried as the abort reason. */
type StopReason = 'cancel' | 'pause' | 'fail_fast' | 'timeout' | 'suspend';

/**
 * The reactor of one workflow run. It reads the projected state, decides what to do next
 * (start, retry, skip, fail, roll back), records each decision as an event, and only then
 * acts. Scheduling is event-driven: a node settling touches only its dependents, and a ready
 * node starts the moment the workflow's and its group's limits allow. A run built on the state
 * of a killed process carries on: completed nodes stay done, nodes that were running are
 * recorded as interrupted and run again, open questions to humans are awaited again.
 */
export class WorkflowRun<P extends WorkflowPlan = WorkflowPlan> {
  readonly #o: WorkflowRunOptions<P>;
  #plan: P;
  readonly #tracker: DependencyTracker;
  readonly #admission: AdmissionQueue;
  readonly #running = new Map<string, AbortController>();
  /** Nodes in the admission queue, so a node is never queued twice (a retry due while paused, then resume). */
  readonly #queued = new Set<string>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  readonly #waiters = new Map<string, { resolve(value: unknown): void; reject(error: unknown): void }>();
  readonly #recorder: RunRecorder;
  readonly #completionOrder: string[] = [];
  #open = 0;
  readonly #settleQueue: string[] = [];
  #settling = false;
  #failure: OrchestratorError | undefined;
  #finishing = false;
  #suspended = false;
  #started = false;
  readonly #done: Promise<WorkflowState>;
  #resolveDone!: (state: WorkflowState) => void;
  #rejectDone!: (error: unknown) => void;

  constructor(options: WorkflowRunOptions<P>) {
    this.#o = options;
    this.#plan = options.plan;
    this.#recorder = new RunRecorder({
      log: options.log,
      sessionId: options.sessionId,
      workflowId: options.workflowId,
      state: options.state,
      // A decision that is not durable must not be acted on further: stop the run loudly.
      onFailure: (error) => {
        this.#finishing = true;
        this.#rejectDone(error);
      },
    });
    const wf = this.state;
    this.#tracker = new DependencyTracker(options.plan.nodes(), (id) => wf.nodes[id]?.status);
    this.#admission = new AdmissionQueue(options.plan.concurrency, options.plan.groupLimits);
    for (const node of options.plan.nodes())
      if (!TERMINAL_NODE_STATUSES.has(wf.nodes[node.id]?.status ?? 'pending')) this.#open++;
    // Completion times have millisecond precision: on a tie, a dependency completed first.
    const completed = Object.values(wf.nodes).filter((n) => n.status === 'completed');
    if (completed.length > 0) {
      const topological = new Map([...options.plan.nodes()].map((node, index) => [node.id, index]));
      completed.sort((a, b) => byEnd(a, b) || (topological.get(a.id) ?? 0) - (topological.get(b.id) ?? 0));
      for (const node of completed) this.#completionOrder.push(node.id);
    }
    this.#done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
  }

  /** The run's projected state (live). */
  get state(): WorkflowState {
    const wf = this.#o.state.workflows[this.#o.workflowId];
    if (!wf) throw new OrchestratorError('INTERNAL', `workflow ${this.#o.workflowId} has no started event`);
    return wf;
  }

  /** The current plan, including nodes added at run time. */
  get plan(): P {
    return this.#plan;
  }

  /**
   * Runs (or carries on) the workflow until it completes, fails or is cancelled; resolves
   * with its final state once every event is committed. Calling it again returns the same
   * promise.
   */
  run(): Promise<WorkflowState> {
    if (this.#started) return this.#done;
    this.#started = true;
    const wf = this.state;
    if (wf.status === 'completed' || wf.status === 'failed' || wf.status === 'cancelled') {
      this.#resolveDone(wf);
      return this.#done;
    }
    for (const node of Object.values(wf.nodes)) {
      if (node.status !== 'running' && node.status !== 'awaiting_input') continue;
      // This process never started it: the attempt belonged to a process that is gone.
      const waitingForHuman = node.status === 'awaiting_input' && this.#plan.node(node.id)?.kind !== 'agent';
      if (waitingForHuman) this.#enqueue(node.id);
      else
        this.#record('node.interrupted', {
          nodeId: node.id,
          attempt: node.attempts,
          reason: 'the process running it ended',
        });
    }
    for (const node of Object.values(wf.nodes))
      if (node.status === 'retry_wait') this.#scheduleRetry(node.id, node.retryAt ?? 0);
    for (const id of this.#tracker.readyNodes()) if (wf.nodes[id]?.status === 'pending') this.#onReady(id);
    if (wf.cancelRequested) this.#cancelEverything('cancelled before the restart');
    this.#pump();
    return this.#done;
  }

  /** Stops starting nodes; with `interruptRunning`, running nodes stop now and run again on resume. */
  pause(options: { reason?: string; interruptRunning?: boolean } = {}): void {
    this.#assertActive();
    if (this.state.paused) return;
    this.#record('workflow.paused', { reason: options.reason, interruptRunning: options.interruptRunning ?? false });
    if (options.interruptRunning)
      for (const controller of this.#running.values()) controller.abort('pause' satisfies StopReason);
  }

  /** Starts nodes again after {@link pause}. */
  resume(reason?: string): void {
    this.#assertActive();
    if (!this.state.paused) return;
    this.#record('workflow.resumed', { reason });
    for (const node of Object.values(this.state.nodes)) {
      const waiting = this.#retryTimers.has(node.id) || this.#queued.has(node.id);
      if (node.status === 'retry_wait' && !waiting) this.#scheduleRetry(node.id, 0);
    }
    this.#pump();
  }

  /** Cancels the run: running nodes are interrupted, pending ones cancelled. */
  cancel(reason = 'cancelled on request'): void {
    this.#assertActive();
    if (this.state.cancelRequested) return;
    this.#record('workflow.cancel_requested', { reason });
    this.#cancelEverything(reason);
    this.#pump();
  }

  /**
   * Answers an open question to a human.
   * @throws OrchestratorError `INPUT_REQUEST_NOT_FOUND`
   */
  async answer(requestId: string, value: unknown, by = 'user'): Promise<void> {
    if (!this.state.inputRequests[requestId]) {
      throw new OrchestratorError('INPUT_REQUEST_NOT_FOUND', `no open input request "${requestId}"`);
    }
    await this.#commit('user.input', { requestId, value, by });
    this.#waiters.get(requestId)?.resolve(value);
    this.#waiters.delete(requestId);
  }

  /**
   * Adds nodes to the running workflow (validated: acyclic, known dependencies and agents,
   * size limit). Returns the ids added.
   * @throws OrchestratorError `MODIFICATION_REJECTED` or `WORKFLOW_INVALID`
   */
  async addNodes(nodes: readonly unknown[], by: string): Promise<string[]> {
    this.#assertActive();
    const plan = this.#plan.withAddedNodes(nodes, this.state);
    const ids = (nodes as Array<{ id: string }>).map((n) => n.id);
    // Recorded and acted on in one turn, like every decision: were the plan updated only
    // once the change is durable, a node settling meanwhile could finish the run without
    // the added nodes. Appends commit in order, so nothing about them can commit first.
    const committed = this.#append('workflow.modified', { by, changes: [{ op: 'add_nodes', nodes: [...nodes] }] });
    this.#plan = plan;
    for (const id of ids) {
      const node = plan.node(id) as PlanNode;
      this.#open++;
      for (const target of (nodes as Array<{ id: string; requiredBy?: string[] }>).find((n) => n.id === id)
        ?.requiredBy ?? []) {
        this.#tracker.addDependency(target, id);
      }
      if (this.#tracker.add(node)) this.#onReady(id);
    }
    this.#pump();
    await committed;
    return ids;
  }

  /**
   * Skips nodes that have not started.
   * @throws OrchestratorError `MODIFICATION_REJECTED` naming a node that is unknown or started
   */
  async skipNodes(ids: readonly string[], reason: string, by: string): Promise<void> {
    this.#assertActive();
    for (const id of ids) {
      const status = this.state.nodes[id]?.status;
      if (status !== 'pending') {
        throw new OrchestratorError('MODIFICATION_REJECTED', `cannot skip node "${id}": it is ${status ?? 'unknown'}`);
      }
    }
    // In the same turn as the check, so none of them can start in between (see addNodes).
    const committed = this.#append('workflow.modified', { by, changes: [{ op: 'skip_nodes', ids: [...ids], reason }] });
    for (const id of ids) if (this.state.nodes[id]?.status === 'pending') this.#skip(id, `skipped by ${by}: ${reason}`);
    this.#pump();
    await committed;
  }

  /**
   * Stops all activity of this process without ending the workflow: running nodes are
   * interrupted and recorded as such, retry timers dropped. The log then says exactly what a
   * killed process would leave, and {@link run} in a new process carries on. The run's
   * result resolves with the (unfinished) state.
   */
  async suspend(): Promise<void> {
    if (this.#finishing || this.#suspended) return;
    this.#suspended = true;
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    const stopped = [...this.#running.values()];
    for (const controller of stopped) controller.abort('suspend' satisfies StopReason);
    while (this.#running.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.#flush();
    this.#resolveDone(this.state);
  }

  // ---- decisions -------------------------------------------------------------------------

  #onReady(id: string): void {
    const node = this.#plan.node(id);
    if (!node) return;
    const wf = this.state;
    // Queueing it would keep a cancelled run from ever finishing (nothing starts any more).
    if (wf.cancelRequested) {
      this.#record('node.cancelled', { nodeId: id, reason: 'the workflow was cancelled' });
      this.#settle(id);
      return;
    }
    const verdict = evaluateTrigger(
      node.trigger,
      node.dependsOn.map((dep) => ({ id: dep, status: wf.nodes[dep]?.status ?? 'pending' })),
    );
    if (!verdict.run) {
      this.#skip(id, verdict.reason);
      return;
    }
    if (this.#failure && this.#plan.onFailure === 'fail_fast') {
      this.#skip(id, 'the workflow is failing (fail_fast)');
      return;
    }
    if (node.evaluateCondition) {
      let pass: boolean;
      try {
        pass = node.evaluateCondition(this.#context());
      } catch (error) {
        this.#fail(
          id,
          1,
          new OrchestratorError('CONDITION_FAILED', `condition of "${id}": ${toOrchestratorError(error).message}`),
        );
        return;
      }
      if (!pass) {
        this.#skip(id, 'condition is false');
        return;
      }
    }
    this.#enqueue(id);
  }

  #enqueue(id: string): void {
    if (this.#queued.has(id) || this.#running.has(id)) return;
    this.#queued.add(id);
    this.#admission.enqueue(id, this.#plan.node(id)?.group);
  }

  /** Empties the admission queue; returns the nodes that were waiting. */
  #drain(): string[] {
    this.#queued.clear();
    return this.#admission.drain();
  }

  #pump(): void {
    if (this.#finishing || this.#suspended) return;
    const wf = this.state;
    if (!wf.paused && !wf.cancelRequested) {
      for (let id = this.#admission.next(); id !== undefined; id = this.#admission.next()) void this.#start(id);
    }
    this.#maybeFinish();
  }

  async #start(id: string): Promise<void> {
    const node = this.#plan.node(id) as PlanNode;
    const state = this.state.nodes[id];
    this.#queued.delete(id);
    // While it waited for a slot the node may have settled (skipped, or a retry that was
    // also queued) or gained a dependency (a node inserted before it): give the slot back;
    // a new dependency makes it ready again when that one settles.
    if (!state || TERMINAL_NODE_STATUSES.has(state.status) || !this.#tracker.dependenciesSettled(id)) {
      this.#admission.release(node?.group);
      return;
    }
    const resumingHuman = state.status === 'awaiting_input';
    const attempt = resumingHuman ? state.attempts : state.attempts + 1;
    const controller = new AbortController();
    this.#running.set(id, controller);
    let outcome: NodeOutcome;
    const timer =
      node.timeoutMs === undefined
        ? undefined
        : setTimeout(() => controller.abort('timeout' satisfies StopReason), node.timeoutMs);
    try {
      const executor = this.#o.executors.get(node.kind);
      if (!executor) throw new OrchestratorError('NODE_KIND_UNKNOWN', `no executor for node kind "${node.kind}"`);
      const context = this.#context();
      let task: string;
      try {
        task = node.renderTask(context);
      } catch (error) {
        throw new OrchestratorError('TEMPLATE_FAILED', `task of "${id}": ${toOrchestratorError(error).message}`);
      }
      if (!resumingHuman) {
        const started = this.#append('node.started', { nodeId: id, attempt });
        if (executor.external) await started;
      }
      outcome = await executor.run({
        ...context,
        workflowId: this.#o.workflowId,
        node,
        attempt,
        signal: controller.signal,
        task,
        requestInput: (kind, prompt, options) =>
          this.#requestInput(id, kind, prompt, controller.signal, options?.agentId),
      });
    } catch (error) {
      outcome = { ok: false, error: toOrchestratorError(error) };
    } finally {
      clearTimeout(timer);
      this.#running.delete(id);
      this.#admission.release(node.group);
    }
    this.#onOutcome(
      id,
      attempt,
      outcome,
      controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined,
    );
    this.#pump();
  }

  #onOutcome(id: string, attempt: number, outcome: NodeOutcome, stop: StopReason | undefined): void {
    if (outcome.ok && stop !== 'cancel' && stop !== 'fail_fast') {
      this.#record('node.completed', {
        nodeId: id,
        attempt,
        output: outcome.output,
        ...(outcome.cached && { cached: true, cacheKey: outcome.cacheKey }),
      });
      this.#completionOrder.push(id);
      this.#settle(id);
      return;
    }
    if (stop === 'cancel' || stop === 'fail_fast') {
      this.#record('node.cancelled', {
        nodeId: id,
        reason: stop === 'cancel' ? 'the workflow was cancelled' : 'the workflow is failing (fail_fast)',
      });
      this.#settle(id);
      return;
    }
    if (
      stop === 'suspend' &&
      this.state.nodes[id]?.status === 'awaiting_input' &&
      this.#plan.node(id)?.kind !== 'agent'
    ) {
      // A question to a human outlives this process. Leave it as a killed process would: the
      // next run awaits the same request without counting an interruption (those are capped).
      return;
    }
    if (stop === 'pause' || stop === 'suspend') {
      const reason = stop === 'pause' ? 'interrupted by pause' : 'the orchestrator stopped';
      this.#record('node.interrupted', { nodeId: id, attempt, reason });
      return;
    }
    const error =
      stop === 'timeout'
        ? new OrchestratorError(
            'NODE_TIMEOUT',
            `node "${id}" did not finish within ${this.#plan.node(id)?.timeoutMs} ms`,
          )
        : (outcome as { error: OrchestratorError }).error;
    this.#fail(id, attempt, error);
  }

  #fail(id: string, attempt: number, error: OrchestratorError): void {
    const policy = this.#plan.node(id)?.retry;
    const retryable = policy?.on
      ? policy.on.includes(error.code) || (policy.on.includes('transient') && error.retryable)
      : error.retryable;
    // Interrupted attempts (crash, pause) are not the node's failures: they do not use retries.
    const used = attempt - (this.state.nodes[id]?.interruptions ?? 0);
    const willRetry = retryable && used < (policy?.attempts ?? 1) && !this.state.cancelRequested;
    const delay =
      willRetry && policy ? Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1)) : 0;
    this.#record('node.failed', {
      nodeId: id,
      attempt,
      error: error.toJSON(),
      willRetry,
      ...(willRetry && { retryInMs: delay }),
    });
    if (willRetry) {
      this.#scheduleRetry(id, Date.now() + delay);
      return;
    }
    this.#settle(id);
    if (this.#plan.onFailure === 'fail_fast' && !this.#failure) {
      this.#failure = error;
      const reason = 'the workflow is failing (fail_fast)';
      for (const queued of this.#drain()) this.#skip(queued, reason);
      this.#cancelWaitingRetries(reason);
      for (const controller of this.#running.values()) controller.abort('fail_fast' satisfies StopReason);
    }
    this.#failure ??= error;
  }

  #scheduleRetry(id: string, at: number): void {
    const node = this.state.nodes[id];
    if (node && node.interruptions > MAX_INTERRUPTIONS) {
      const error = new OrchestratorError(
        'NODE_INTERRUPTED',
        `node "${id}" was interrupted ${node.interruptions} times`,
        {
          retryable: false,
        },
      );
      this.#fail(id, node.attempts, error);
      return;
    }
    const timer = setTimeout(
      () => {
        this.#retryTimers.delete(id);
        this.#enqueue(id);
        this.#pump();
      },
      Math.max(0, at - Date.now()),
    );
    this.#retryTimers.set(id, timer);
  }

  #skip(id: string, reason: string): void {
    this.#record('node.skipped', { nodeId: id, reason });
    this.#settle(id);
  }

  /**
   * Marks a node settled and reacts to the dependents that become ready. Skips cascade
   * through the same queue instead of recursion, so a long chain of skipped nodes cannot
   * overflow the stack.
   */
  #settle(id: string): void {
    this.#settleQueue.push(id);
    if (this.#settling) return;
    this.#settling = true;
    try {
      for (let next = this.#settleQueue.pop(); next !== undefined; next = this.#settleQueue.pop()) {
        if (this.#tracker.isSettled(next)) continue;
        this.#open--;
        for (const ready of this.#tracker.settle(next)) this.#onReady(ready);
      }
    } finally {
      this.#settling = false;
    }
  }

  // ---- humans ----------------------------------------------------------------------------

  async #requestInput(
    nodeId: string,
    kind: 'input' | 'approval',
    prompt: string,
    signal: AbortSignal,
    agentId: string | undefined,
  ): Promise<unknown> {
    const wf = this.state;
    if (agentId === undefined) {
      // A human or approval node after a restart: an answer given before the crash is used,
      // and an open question is awaited again rather than asked twice.
      const answered = Object.values(wf.answers).findLast((a) => a.nodeId === nodeId);
      if (answered && wf.nodes[nodeId]?.status === 'running') return answered.value;
    }
    const open = Object.values(wf.inputRequests).find(
      (r) => r.nodeId === nodeId && r.agentId === agentId && r.kind === kind,
    );
    const requestId = open?.requestId ?? newPrefixedId('req');
    if (!open) await this.#commit('input.requested', { requestId, nodeId, kind, prompt, ...(agentId && { agentId }) });
    return new Promise((resolve, reject) => {
      this.#waiters.set(requestId, { resolve, reject });
      signal.addEventListener(
        'abort',
        () => reject(new OrchestratorError('NODE_INTERRUPTED', 'stopped while waiting for input')),
        {
          once: true,
        },
      );
    });
  }

  // ---- ending ----------------------------------------------------------------------------

  #cancelEverything(reason: string): void {
    for (const queued of this.#drain()) {
      this.#record('node.cancelled', { nodeId: queued, reason });
      this.#settle(queued);
    }
    this.#cancelWaitingRetries(reason);
    for (const controller of this.#running.values()) controller.abort('cancel' satisfies StopReason);
    for (const node of Object.values(this.state.nodes)) {
      if (node.status !== 'pending') continue;
      this.#record('node.cancelled', { nodeId: node.id, reason });
      this.#settle(node.id);
    }
  }

  /**
   * Cancels nodes waiting for another attempt, on a timer or for a resume after a pause
   * interrupted them: once the run is cancelled or failing fast they must not start again.
   */
  #cancelWaitingRetries(reason: string): void {
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    for (const node of Object.values(this.state.nodes)) {
      if (node.status !== 'retry_wait' || this.#running.has(node.id)) continue;
      this.#record('node.cancelled', { nodeId: node.id, reason });
      this.#settle(node.id);
    }
  }

  #maybeFinish(): void {
    if (this.#finishing || this.#running.size > 0 || this.#admission.queued > 0 || this.#retryTimers.size > 0) return;
    const wf = this.state;
    if (wf.paused && !wf.cancelRequested) return;
    if (this.#open > 0 && !wf.cancelRequested) return;
    this.#finishing = true;
    const status = wf.cancelRequested ? 'cancelled' : this.#failure || this.#anyFailed() ? 'failed' : 'completed';
    this.#finish(status).then(this.#resolveDone, this.#rejectDone);
  }

  async #finish(status: 'completed' | 'failed' | 'cancelled'): Promise<WorkflowState> {
    const failure = this.#failure ?? this.#firstFailure();
    let rolledBack = false;
    if (status === 'failed' && this.#plan.rollback) {
      await this.#rollback(failure?.message ?? 'the workflow failed');
      rolledBack = true;
    }
    this.#record('workflow.completed', {
      status,
      ...(status === 'failed' && failure && { error: failure.toJSON() }),
      ...(rolledBack && { rolledBack }),
    });
    await this.#flush();
    return this.state;
  }

  /** Runs the compensation of every completed node, latest completion first. */
  async #rollback(reason: string): Promise<void> {
    await this.#commit('workflow.rolling_back', { reason });
    const agentExecutor = this.#o.executors.get('agent');
    for (const id of [...this.#completionOrder].reverse()) {
      const node = this.#plan.node(id);
      if (!node?.renderCompensation || this.state.nodes[id]?.compensated !== undefined) continue;
      let outcome: NodeOutcome;
      try {
        if (!agentExecutor)
          throw new OrchestratorError('NODE_KIND_UNKNOWN', 'no agent executor for compensation tasks');
        const context = this.#context();
        const task = node.renderCompensation(context);
        const compensation: PlanNode = {
          ...node,
          kind: 'agent',
          agent: node.compensationAgent ?? node.agent,
          outputSchema: undefined,
          cacheTtlMs: undefined,
        };
        outcome = await agentExecutor.run({
          ...context,
          workflowId: this.#o.workflowId,
          node: compensation,
          attempt: 1,
          signal: new AbortController().signal,
          task,
          requestInput: (kind, prompt, options) =>
            this.#requestInput(id, kind, prompt, new AbortController().signal, options?.agentId),
        });
      } catch (error) {
        outcome = { ok: false, error: toOrchestratorError(error) };
      }
      this.#record('node.compensated', {
        nodeId: id,
        ok: outcome.ok,
        ...(!outcome.ok && { error: outcome.error.toJSON() }),
      });
    }
  }

  #anyFailed(): boolean {
    return Object.values(this.state.nodes).some((n) => n.status === 'failed');
  }

  #firstFailure(): OrchestratorError | undefined {
    const failed = Object.values(this.state.nodes).find((n) => n.status === 'failed' && n.error);
    if (!failed?.error) return undefined;
    return new OrchestratorError('INTERNAL', `node "${failed.id}" failed: ${failed.error.message}`, {
      details: { nodeId: failed.id, code: failed.error.code },
    });
  }

  #assertActive(): void {
    const status = this.state.status;
    if (this.#finishing || status === 'completed' || status === 'failed' || status === 'cancelled') {
      throw new OrchestratorError('WORKFLOW_NOT_RUNNING', `workflow ${this.#o.workflowId} has ended (${status})`);
    }
  }

  // ---- recording -------------------------------------------------------------------------

  /**
   * The values templates and conditions see now. `nodes` is the live node map itself, not a
   * copy: building a copy per started node made large runs quadratic.
   */
  #context(): NodeContext {
    return {
      inputs: this.state.inputs,
      nodes: this.state.nodes,
      session: { id: this.#o.sessionId, workspace: this.#o.workspace },
    };
  }

  /**
   * Records a workflow event: applied to the projected state at once (the engine's decisions
   * must see their own effects), and appended to the log (see {@link RunRecorder}).
   */
  #record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): void {
    void this.#recorder.record(type, data);
  }

  /** {@link #record}, returning the promise that resolves once the event is durable. */
  #append<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void> {
    return this.#recorder.record(type, data);
  }

  /** Records and waits until durable. */
  async #commit<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void> {
    await this.#recorder.record(type, data);
  }

  #flush(): Promise<void> {
    return this.#recorder.flush();
  }
}

function byEnd(a: { endedAt?: string | undefined }, b: { endedAt?: string | undefined }): number {
  return (a.endedAt ?? '').localeCompare(b.endedAt ?? '');
}
