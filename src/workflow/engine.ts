import { OrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import { systemClock } from './clock.ts';
import { decideControl, finalStatus, firstFailure } from './decide.ts';
import { RunEnding } from './ending.ts';
import { type GraphChangeOptions, GraphGate } from './graph-gate.ts';
import { HumanQuestions } from './humans.ts';
import { NodeFlow } from './node-flow.ts';
import { NodeStarter } from './node-start.ts';
import type { NodeContext, PlanNode, WorkflowPlan } from './plan.ts';
import { ReadyQueue } from './ready-queue.ts';
import type { RunPhase, WorkflowRunOptions } from './run-options.ts';
import { RunRecorder } from './run-recorder.ts';
import { DependencyTracker } from './scheduler.ts';
import { type NodeState, notStarted, type PendingControl, type WorkflowState } from './state.ts';
import { TurnPacer } from './turn-pacer.ts';

export type { RunPhase, WorkflowRunOptions } from './run-options.ts';

/**
 * The reactor of one workflow run: the loop. It reads the projected state, asks the pure
 * decisions of `decide.ts` what follows (start, retry, skip, fail, roll back), records each
 * decision as an event, and only then acts; `node-flow.ts` carries each node from ready to
 * settled, `node-start.ts` runs one attempt (slots, stops, timeouts, executor), `ending.ts`
 * and `rollback.ts` the end and its compensations. Its phase is one union (see RunPhase).
 * Scheduling is event-driven: a node settling touches only its dependents, and a ready node
 * starts the moment the workflow's and its group's limits allow. A run built on the state of a
 * process that ended carries on: completed nodes stay done, an agent whose result is durable
 * completes its node without a new model call, nodes that were running are recorded
 * interrupted and run again, open questions to humans are awaited again, control requests
 * recorded meanwhile are applied.
 */
export class WorkflowRun<P extends WorkflowPlan = WorkflowPlan> {
  readonly #o: WorkflowRunOptions<P>;
  #plan: P;
  #phase: RunPhase = 'idle';
  readonly #ready: ReadyQueue;
  readonly #starter: NodeStarter;
  readonly #flow: NodeFlow;
  readonly #ending: RunEnding;
  readonly #recorder: RunRecorder;
  readonly #pacer: TurnPacer;
  readonly #done: PromiseWithResolvers<WorkflowState> = Promise.withResolvers();
  #cachedContext: NodeContext | undefined;

  readonly #gate = new GraphGate({
    session: () => this.#o.state,
    workflow: () => this.state,
    record: (type, data) => this.#record(type, data),
  });

  readonly #humans = new HumanQuestions({
    state: () => this.state,
    record: (type, data) => this.#recorder.record(type, data),
  });

  constructor(options: WorkflowRunOptions<P>) {
    this.#o = options;
    const clock = options.clock ?? systemClock;
    this.#pacer = new TurnPacer(options.startsPerTurn, options.turnBudgetMs);
    this.#plan = options.plan;
    this.#recorder = new RunRecorder({
      log: options.log,
      sessionId: options.sessionId,
      workflowId: options.workflowId,
      state: options.state,
      // A decision that is not durable must not be acted on further: stop the run loudly.
      onFailure: (error) => this.#abandon(error),
    });
    const wf = this.state;
    this.#ready = new ReadyQueue(options.plan.concurrency, options.plan.groupLimits, clock, options.classLimits);
    this.#starter = new NodeStarter({
      clock,
      probe: options.probe,
      workflowId: options.workflowId,
      record: (type, data) => this.#recorder.record(type, data),
      requestInput: (nodeId, attempt, kind, prompt, signal, options) =>
        this.#humans.request(nodeId, attempt, kind, prompt, signal, options),
    });
    this.#flow = new NodeFlow({
      clock,
      executors: options.executors,
      tracker: new DependencyTracker(options.plan.nodes(), (id) => wf.nodes[id]?.status),
      ready: this.#ready,
      starter: this.#starter,
      humans: this.#humans,
      plan: () => this.#plan,
      state: () => this.state,
      context: () => this.#context(),
      phase: () => this.#phase,
      record: (type, data) => this.#record(type, data),
      pump: () => this.#pump(),
    });
    const run = this;
    this.#ending = new RunEnding({
      workflowId: options.workflowId,
      get plan() {
        return run.#plan;
      },
      state: () => this.state,
      completionOrder: this.#flow.completionOrder,
      // Read when a rollback runs, not now: the orchestrator registers its agent executor after
      // the run is built (the executor needs the run), and a compensation found none before.
      get executor() {
        return options.executors.get('agent');
      },
      context: () => this.#context(),
      record: (type, data) => this.#recorder.record(type, data),
      flush: () => this.#flush(),
      suspended: () => this.#phase === 'suspended',
    });
    this.#done.promise.catch(() => undefined);
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

  /** Where the run is in this process. */
  get phase(): RunPhase {
    return this.#phase;
  }

  /**
   * Runs (or carries on) the workflow until it completes, fails or is cancelled; resolves
   * with its final state once every event is committed. Calling it again returns the same
   * promise.
   */
  run(): Promise<WorkflowState> {
    if (this.#phase !== 'idle') return this.#done.promise;
    this.#phase = 'running';
    const wf = this.state;
    if (wf.status === 'completed' || wf.status === 'failed' || wf.status === 'cancelled') {
      this.#phase = 'done';
      this.#done.resolve(wf);
      return this.#done.promise;
    }
    this.#flow.recover();
    for (const id in wf.nodes) {
      const node = wf.nodes[id] as NodeState;
      if (node.status === 'retry_wait' && Object.hasOwn(wf.nodes, id))
        this.#flow.scheduleRetry(node.id, node.retryAt ?? 0);
    }
    for (const id of this.#flow.readyNodes()) if (wf.nodes[id]?.status === 'pending') this.#flow.onReady(id);
    if (wf.cancelRequested) this.#flow.cancelEverything('cancelled before the restart');
    for (const control of Object.values(this.#o.state.controls ?? {})) this.applyControl(control);
    this.#pump();
    return this.#done.promise;
  }

  /**
   * Stops starting nodes (nodes queued for a process slot are interrupted, uncounted); with
   * `interruptRunning`, running nodes stop now too. Both run again on resume.
   */
  pause(options: { reason?: string; interruptRunning?: boolean; controlId?: string } = {}): void {
    this.#assertActive();
    if (this.state.paused) return;
    const { reason, interruptRunning = false, controlId } = options;
    this.#record('workflow.paused', { reason, interruptRunning, ...(controlId && { controlId }) });
    if (interruptRunning) this.#starter.stopAll('pause');
    else this.#starter.stopQueued('pause');
    this.#ending.stop('pause');
  }

  /** Starts nodes again after {@link pause}. */
  resume(reason?: string, controlId?: string): void {
    this.#assertActive();
    if (!this.state.paused) return;
    this.#record('workflow.resumed', { reason, ...(controlId && { controlId }) });
    for (const node of Object.values(this.state.nodes)) {
      if (node.status === 'retry_wait' && !this.#ready.waiting(node.id)) this.#flow.scheduleRetry(node.id, 0);
    }
    this.#pump();
  }

  /** Cancels the run: running nodes are interrupted, pending ones cancelled, a rollback stopped. */
  cancel(reason = 'cancelled on request', controlId?: string): void {
    this.#assertActive();
    if (this.state.cancelRequested) return;
    this.#record('workflow.cancel_requested', { reason, ...(controlId && { controlId }) });
    this.#flow.cancelEverything(reason);
    this.#ending.stop('cancel');
    this.#pump();
  }

  /**
   * Answers an open question to a human.
   * @throws OrchestratorError `INPUT_REQUEST_NOT_FOUND`
   */
  answer(requestId: string, value: unknown, by = 'user', controlId?: string): Promise<void> {
    return this.#humans.answer(requestId, value, by, controlId);
  }

  /**
   * Acts on a control request recorded by someone other than this process (another CLI, the
   * API): the resulting event carries its `controlId`, which marks it handled. A request that
   * no longer applies is recorded as `control.rejected`.
   */
  applyControl(control: PendingControl): void {
    const { controlId, reason } = control;
    // This process let go of the session: the request stays pending for the next owner.
    if (this.#phase === 'suspended') return;
    // Not the phase alone: a run rolling back (`finishing`) still takes a cancel or a pause.
    const decision = decideControl(control, this.state, !this.#active());
    if (decision.kind === 'reject') this.#record('control.rejected', { controlId, reason: decision.reason });
    else if (decision.kind === 'cancel') this.cancel(reason ?? 'cancelled on request', controlId);
    else if (decision.kind === 'pause')
      this.pause({ reason: reason ?? 'paused on request', interruptRunning: true, controlId });
    else if (decision.kind === 'resume') this.resume(reason ?? 'resumed on request', controlId);
    else if (decision.kind === 'answer')
      void this.answer(decision.requestId, control.value, control.by ?? 'user', controlId).catch(() => undefined);
    else if (decision.kind === 'grant' || decision.kind === 'revoke')
      void this.changeRule(decision.kind, decision.agentType, decision.rule, control.by ?? 'user', reason, controlId);
  }

  /**
   * Grants or revokes a rule for an agent type of the session: recorded, and in force for its
   * running agents at their next decision and for every agent started after.
   */
  changeRule(
    kind: 'grant' | 'revoke',
    agentType: string,
    rule: string,
    by: string,
    reason?: string,
    controlId?: string,
  ): Promise<void> {
    this.#assertActive();
    const data = { agentType, rule, by, ...(reason !== undefined && { reason }), ...(controlId && { controlId }) };
    return this.#append(kind === 'grant' ? 'security.granted' : 'security.revoked', data);
  }

  /**
   * Adds nodes to the running workflow (validated: acyclic, known dependencies and agents,
   * growth limits). An agent (`by` = `agent:<id>`) is held to its type's graph policy, and its
   * change, allowed or refused, is recorded as a `security.decision`. Returns the ids added.
   * @throws OrchestratorError `MODIFICATION_REJECTED` naming the rule or the problem
   */
  async addNodes(nodes: readonly unknown[], by: string, options: GraphChangeOptions = {}): Promise<string[]> {
    this.#assertActive();
    const { plan, agentType } = this.#gate.admitAdd(this.#plan, nodes, by, options);
    const ids = (nodes as Array<{ id: string }>).map((n) => n.id);
    // Recorded and acted on in one turn, like every decision: were the plan updated only
    // once the change is durable, a node settling meanwhile could finish the run without
    // the added nodes. Appends commit in order, so nothing about them can commit first.
    const committed = this.#append('workflow.modified', {
      by,
      ...(agentType !== undefined && { agentType }),
      changes: [{ op: 'add_nodes', nodes: [...nodes] }],
    });
    this.#plan = plan;
    for (const id of ids) {
      const requiredBy = (nodes as Array<{ id: string; requiredBy?: string[] }>).find((n) => n.id === id)?.requiredBy;
      this.#flow.add(plan.node(id) as PlanNode, requiredBy ?? []);
    }
    this.#pump();
    await committed;
    return ids;
  }

  /**
   * Skips nodes that have not started. An agent may skip only what its type's graph policy
   * allows, and never a human or approval node nor a node whose skip would skip one.
   * @throws OrchestratorError `MODIFICATION_REJECTED` naming a node that is unknown or started, or the rule
   */
  async skipNodes(ids: readonly string[], reason: string, by: string, options: GraphChangeOptions = {}): Promise<void> {
    this.#assertActive();
    const { agentType } = this.#gate.admitSkip(this.#plan, ids, reason, by, options);
    // In the same turn as the check, so none of them can start in between (see addNodes).
    const committed = this.#append('workflow.modified', {
      by,
      ...(agentType !== undefined && { agentType }),
      changes: [{ op: 'skip_nodes', ids: [...ids], reason }],
    });
    for (const id of ids) if (notStarted(this.state.nodes[id])) this.#flow.skip(id, `skipped by ${by}: ${reason}`);
    this.#pump();
    await committed;
  }

  /**
   * Stops all activity of this process without ending the workflow: running nodes (and a
   * rollback) are interrupted and recorded as such, retry timers dropped. The log then says
   * exactly what a killed process would leave, and {@link run} in a new process carries on.
   * The run's result resolves with the (unfinished) state.
   */
  async suspend(): Promise<void> {
    if (this.#phase === 'done' || this.#phase === 'suspended') return;
    const wasFinishing = this.#phase === 'finishing';
    this.#phase = 'suspended';
    this.#ready.clearRetries();
    this.#ending.stop('suspend');
    this.#starter.stopAll('suspend');
    await this.#starter.settled();
    await this.#ending.settled();
    if (wasFinishing && this.#phase !== 'suspended') return;
    try {
      await this.#flush();
    } finally {
      this.#done.resolve(this.state);
    }
  }

  // ---- the loop ------------------------------------------------------------------------

  #pump(): void {
    if (this.#phase !== 'running' || this.#pacer.yielding) return;
    const wf = this.state;
    if (!wf.paused && !wf.cancelRequested) {
      for (let id = this.#ready.next(); id !== undefined; id = this.#ready.next()) {
        this.#flow.start(id);
        if (this.#pacer.started()) {
          this.#pacer.yieldThen(() => this.#pump());
          return;
        }
      }
      this.#flow.markHeld();
    }
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (this.#phase !== 'running' || this.#starter.size > 0 || this.#ready.busy) return;
    const wf = this.state;
    if (wf.paused && !wf.cancelRequested) return;
    if (this.#flow.open > 0 && !wf.cancelRequested) return;
    this.#phase = 'finishing';
    const failure = this.#flow.failure;
    const status = finalStatus(wf, failure !== undefined);
    // A completed run has no failed node (finalStatus looked at each): no second pass for one.
    const error = status === 'completed' ? undefined : (failure ?? firstFailure(wf));
    this.#ending.finish(status, error).then(
      (state) => {
        if (state) {
          this.#phase = 'done';
          this.#done.resolve(state);
        } else if (this.#phase === 'finishing') {
          // A pause cut the rollback short: the run waits; resume() pumps and it carries on.
          this.#phase = 'running';
        }
      },
      (error: unknown) => this.#abandon(error),
    );
  }

  /** The log refused a decision: nothing more may be acted on. */
  #abandon(error: unknown): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#starter.stopAll('suspend');
    this.#done.reject(error);
  }

  /** True until this process let go of the run or its end was recorded. */
  #active(): boolean {
    const status = this.state.status;
    if (this.#phase === 'done' || this.#phase === 'suspended') return false;
    return status !== 'completed' && status !== 'failed' && status !== 'cancelled';
  }

  #assertActive(): void {
    if (!this.#active()) {
      const status = this.state.status;
      throw new OrchestratorError('WORKFLOW_NOT_RUNNING', `workflow ${this.#o.workflowId} has ended (${status})`);
    }
  }

  // ---- recording -------------------------------------------------------------------------

  /**
   * The values templates and conditions see now. `nodes` is the live node map itself, not a
   * copy: building a copy per started node made large runs quadratic.
   */
  #context(): NodeContext {
    // One frozen object while the state's maps stay the same ones (they are changed in place):
    // every ready and started node asked for a new one.
    const wf = this.state;
    const cached = this.#cachedContext;
    if (cached && cached.inputs === wf.inputs && cached.nodes === wf.nodes) return cached;
    this.#cachedContext = Object.freeze({
      inputs: wf.inputs,
      nodes: wf.nodes,
      session: Object.freeze({ id: this.#o.sessionId, workspace: this.#o.workspace }),
    });
    return this.#cachedContext;
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

  #flush(): Promise<void> {
    return this.#recorder.flush();
  }
}
