import { OrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { type EngineClock, systemClock } from './clock.ts';
import {
  completionOrderOf,
  decideControl,
  decideFailure,
  decideOutcome,
  decideReady,
  decideRecovered,
  decideRecovery,
  finalStatus,
  firstFailure,
  interruptedTooOften,
  type OutcomeDecision,
  openRequestsOf,
  type StopReason,
} from './decide.ts';
import { RunEnding } from './ending.ts';
import { type GraphChangeOptions, GraphGate } from './graph-gate.ts';
import { HumanQuestions } from './humans.ts';
import { NodeStarter } from './node-start.ts';
import type { NodeContext, NodeExecutor, NodeOutcome, PlanNode, WorkflowPlan } from './plan.ts';
import { ReadyQueue } from './ready-queue.ts';
import { RunRecorder } from './run-recorder.ts';
import { type ClassLimits, DependencyTracker, type NodeClass } from './scheduler.ts';
import { type PendingControl, type SessionState, TERMINAL_NODE_STATUSES, type WorkflowState } from './state.ts';

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
  /** @default the system clock */
  readonly clock?: EngineClock;
  /**
   * Nodes of each class running at once in this run, besides the workflow's own `concurrency`:
   * agent nodes (the orchestrator passes `ORCHESTRATOR_MAX_AGENTS`) and all others
   * (`ORCHESTRATOR_MAX_NODES`). @default no cap besides the workflow's
   */
  readonly classLimits?: ClassLimits;
  /**
   * Node starts after which the run lets the event loop turn once (see #yieldTurn), so a run of
   * nodes that settle in microtasks commits its events as it goes and leaves room for timers,
   * the API and subscribers. The orchestrator bounds turns by time instead (`turnBudgetMs`).
   * @default no limit (one turn, as before)
   */
  readonly startsPerTurn?: number;
  /**
   * Milliseconds a turn may spend starting nodes before the run lets the event loop turn (see
   * #yieldTurn): the same pause as `startsPerTurn`, bounded by time rather than count, so the
   * loop is never held much longer than this whatever a node costs (a node that runs on, such as
   * a long synchronous function, still holds it). The orchestrator sets 25 ms (see the launcher).
   * @default no limit
   */
  readonly turnBudgetMs?: number;
  /**
   * Test hook: called at every await point of a node's start path (and of executors, through
   * `checkpoint`) with the point's name, before the run checks whether the node was stopped.
   */
  readonly probe?: ((point: string, nodeId: string) => void) | undefined;
}

/**
 * The phases of a run in this process, one at a time:
 * `idle` (built, not started) → `running` → `finishing` (recording the end, rolling back) →
 * `done`; or → `suspended` from `running` or `finishing` (this process let go; another one
 * carries on from the log). A paused rollback returns to `running` until resumed.
 */
export type RunPhase = 'idle' | 'running' | 'finishing' | 'suspended' | 'done';

/**
 * The reactor of one workflow run: the loop. It reads the projected state, asks the pure
 * decisions of `decide.ts` what follows (start, retry, skip, fail, roll back), records each
 * decision as an event, and only then acts; `node-start.ts` runs one attempt (slots, stops,
 * timeouts, executor), `rollback.ts` the compensations. Scheduling is event-driven: a node
 * settling touches only its dependents, and a ready node starts the moment the workflow's and
 * its group's limits allow. A run built on the state of a process that ended carries on:
 * completed nodes stay done, an agent whose result is durable completes its node without a new
 * model call, nodes that were running are recorded interrupted and run again, open questions
 * to humans are awaited again, control requests recorded meanwhile are applied.
 */
export class WorkflowRun<P extends WorkflowPlan = WorkflowPlan> {
  readonly #o: WorkflowRunOptions<P>;
  readonly #clock: EngineClock;
  #plan: P;
  #phase: RunPhase = 'idle';
  readonly #tracker: DependencyTracker;
  readonly #ready: ReadyQueue;
  readonly #starter: NodeStarter;
  readonly #ending: RunEnding;
  /** Human and approval nodes whose open question a restart awaits again (same attempt). */
  readonly #awaitAgain = new Set<string>();
  readonly #recorder: RunRecorder;
  readonly #completionOrder: string[] = [];
  #open = 0;
  readonly #settleQueue: string[] = [];
  #settling = false;
  #failure: OrchestratorError | undefined;
  readonly #done: PromiseWithResolvers<WorkflowState> = Promise.withResolvers();
  #cachedContext: NodeContext | undefined;
  /** Nodes started since the run last let the event loop turn (see #yieldTurn). */
  #startsThisTurn = 0;
  /** When the first start since the run last yielded happened (performance.now()). */
  #turnStartedAt = 0;
  #yielding = false;
  readonly #startsPerTurn: number;
  readonly #turnBudgetMs: number;
  readonly #limitedTurns: boolean;

  constructor(options: WorkflowRunOptions<P>) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#startsPerTurn = options.startsPerTurn ?? Number.POSITIVE_INFINITY;
    this.#turnBudgetMs = options.turnBudgetMs ?? Number.POSITIVE_INFINITY;
    this.#limitedTurns = options.startsPerTurn !== undefined || options.turnBudgetMs !== undefined;
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
    this.#tracker = new DependencyTracker(options.plan.nodes(), (id) => wf.nodes[id]?.status);
    this.#ready = new ReadyQueue(options.plan.concurrency, options.plan.groupLimits, this.#clock, options.classLimits);
    this.#starter = new NodeStarter({
      clock: this.#clock,
      probe: options.probe,
      workflowId: options.workflowId,
      record: (type, data) => this.#recorder.record(type, data),
      requestInput: (nodeId, attempt, kind, prompt, signal, options) =>
        this.#humans.request(nodeId, attempt, kind, prompt, signal, options),
    });
    const run = this;
    this.#ending = new RunEnding({
      workflowId: options.workflowId,
      get plan() {
        return run.#plan;
      },
      state: () => this.state,
      completionOrder: this.#completionOrder,
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
    for (const node of options.plan.nodes())
      if (!TERMINAL_NODE_STATUSES.has(wf.nodes[node.id]?.status ?? 'pending')) this.#open++;
    this.#completionOrder.push(...completionOrderOf(options.plan, wf));
    this.#done.promise.catch(() => undefined);
  }

  readonly #gate = new GraphGate({
    session: () => this.#o.state,
    workflow: () => this.state,
    record: (type, data) => this.#record(type, data),
  });

  readonly #humans = new HumanQuestions({
    state: () => this.state,
    record: (type, data) => this.#recorder.record(type, data),
  });

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
    this.#recover();
    for (const node of Object.values(wf.nodes))
      if (node.status === 'retry_wait') this.#scheduleRetry(node.id, node.retryAt ?? 0);
    for (const id of this.#tracker.readyNodes()) if (wf.nodes[id]?.status === 'pending') this.#onReady(id);
    if (wf.cancelRequested) this.#cancelEverything('cancelled before the restart');
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
      if (node.status === 'retry_wait' && !this.#ready.waiting(node.id)) this.#scheduleRetry(node.id, 0);
    }
    this.#pump();
  }

  /** Cancels the run: running nodes are interrupted, pending ones cancelled, a rollback stopped. */
  cancel(reason = 'cancelled on request', controlId?: string): void {
    this.#assertActive();
    if (this.state.cancelRequested) return;
    this.#record('workflow.cancel_requested', { reason, ...(controlId && { controlId }) });
    this.#cancelEverything(reason);
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
    for (const id of ids) if (this.state.nodes[id]?.status === 'pending') this.#skip(id, `skipped by ${by}: ${reason}`);
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

  // ---- decisions acted on ----------------------------------------------------------------

  /** What a restart does with the nodes the log shows in progress (see decideRecovery). */
  #recover(): void {
    for (const node of Object.values(this.state.nodes)) {
      if (node.status !== 'running' && node.status !== 'awaiting_input' && node.status !== 'queued') continue;
      const decision = decideRecovery(this.#plan.node(node.id), node, this.state);
      if (decision.kind === 'await_human') {
        this.#awaitAgain.add(node.id);
        this.#enqueue(node.id);
      } else if (decision.kind === 'complete_from_agent') {
        this.#finishDurable(node.id, node.attempts, { agentId: decision.agentId, output: decision.output });
      } else {
        this.#interrupt(node.id, node.attempts, decision.reason);
      }
    }
  }

  /** Completes a node whose agent's result was durable before the restart: no new model call. */
  #finishDurable(id: string, attempt: number, result: { agentId: string; output: unknown }): void {
    const node = this.#plan.node(id) as PlanNode;
    const executor = this.#o.executors.get(node.kind);
    this.#starter.recover(node, attempt, this.#context(), executor, result, ({ outcome, stop }) => {
      const decision = decideRecovered(this.#plan.node(id), this.state.nodes[id], outcome, stop);
      this.#act(id, attempt, decision);
      // Lost with the process that ran it: run again now (a pause or suspend reschedules itself).
      if (decision.kind === 'interrupt' && stop === undefined && this.#phase === 'running') {
        this.#scheduleRetry(id, this.#clock.now());
      }
      this.#pump();
    });
  }

  #onReady(id: string): void {
    const node = this.#plan.node(id);
    if (!node) return;
    const decision = decideReady(node, this.state, this.#failingFast(), this.#context());
    if (decision.kind === 'run') this.#enqueue(id);
    else if (decision.kind === 'skip') this.#skip(id, decision.reason);
    else if (decision.kind === 'fail') this.#fail(id, 1, decision.error);
    else {
      this.#record('node.cancelled', { nodeId: id, reason: decision.reason });
      this.#settle(id);
    }
  }

  #failingFast(): boolean {
    return this.#failure !== undefined && this.#plan.onFailure === 'fail_fast';
  }

  #enqueue(id: string): void {
    if (this.#starter.isRunning(id)) return;
    const node = this.#plan.node(id);
    this.#ready.enqueue(id, node?.group, classOf(node));
  }

  #pump(): void {
    if (this.#phase !== 'running' || this.#yielding) return;
    const wf = this.state;
    if (!wf.paused && !wf.cancelRequested) {
      for (let id = this.#ready.next(); id !== undefined; id = this.#ready.next()) {
        this.#start(id);
        if (this.#turnOver() && this.#yieldTurn()) return;
      }
    }
    this.#maybeFinish();
  }

  /** Counts a start; true when this turn has started enough nodes, or for long enough, to yield. */
  #turnOver(): boolean {
    if (!this.#limitedTurns) return false;
    const starts = ++this.#startsThisTurn;
    if (starts === 1) {
      this.#turnStartedAt = performance.now();
      // Counts are per turn: once the loop turns on its own (nodes that wait on I/O), the
      // next start begins a new count rather than yielding at once for time spent waiting.
      setImmediate(() => {
        if (!this.#yielding) this.#startsThisTurn = 0;
      });
    }
    if (starts >= this.#startsPerTurn) return true;
    return (
      this.#turnBudgetMs !== Number.POSITIVE_INFINITY && performance.now() - this.#turnStartedAt >= this.#turnBudgetMs
    );
  }

  /**
   * Lets the event loop run before more nodes start. Nodes with no effect outside the log
   * (function, condition-only) settle in microtasks, so without a pause a whole run of them
   * would start, finish and record in one turn: its events committed only at the end, in one
   * batch held in memory meanwhile, and timers (lease renewal), the API and the log's
   * subscribers kept waiting. After `startsPerTurn` starts, or `turnBudgetMs` of them, the run yields once: the recorder's
   * batch goes to the store and subscribers drain before the next starts.
   */
  #yieldTurn(): true {
    this.#yielding = true;
    setImmediate(() => {
      this.#yielding = false;
      this.#startsThisTurn = 0;
      this.#pump();
    });
    return true;
  }

  #start(id: string): void {
    const node = this.#plan.node(id) as PlanNode;
    const state = this.state.nodes[id];
    // While it waited for a slot the node may have settled (skipped, or a retry that was
    // also queued) or gained a dependency (a node inserted before it): give the slot back;
    // a new dependency makes it ready again when that one settles.
    if (!state || TERMINAL_NODE_STATUSES.has(state.status) || !this.#tracker.dependenciesSettled(id)) {
      this.#ready.release(node?.group, classOf(node));
      return;
    }
    const again = this.#awaitAgain.delete(id);
    const attempt = again ? state.attempts : state.attempts + 1;
    const executor = this.#o.executors.get(node.kind);
    this.#starter.start(node, attempt, again, this.#context(), executor, ({ outcome, stop }) => {
      this.#ready.release(node.group, classOf(node));
      this.#onOutcome(id, attempt, outcome, stop);
      this.#pump();
    });
  }

  #onOutcome(id: string, attempt: number, outcome: NodeOutcome, stop: StopReason | undefined): void {
    this.#act(id, attempt, decideOutcome(this.#plan.node(id), this.state.nodes[id], outcome, stop));
  }

  #act(id: string, attempt: number, decision: OutcomeDecision): void {
    if (this.#phase === 'done') return;
    if (decision.kind !== 'complete' && decision.kind !== 'leave') this.#closeQuestions(id, decision.kind);
    switch (decision.kind) {
      case 'complete':
        this.#record('node.completed', {
          nodeId: id,
          attempt,
          output: decision.output,
          ...(decision.cached && { cached: true, cacheKey: decision.cacheKey }),
        });
        this.#completionOrder.push(id);
        this.#settle(id);
        break;
      case 'cancel':
        this.#record('node.cancelled', { nodeId: id, reason: decision.reason });
        this.#settle(id);
        break;
      case 'leave':
        break;
      case 'interrupt':
        this.#interrupt(id, attempt, decision.reason);
        break;
      case 'fail':
        this.#fail(id, attempt, decision.error);
        break;
    }
  }

  #interrupt(id: string, attempt: number, reason: string): void {
    this.#closeQuestions(id, 'interrupt');
    this.#record('node.interrupted', { nodeId: id, attempt: Math.max(1, attempt), reason });
  }

  /** A node that stops without completing withdraws its open questions (recorded). */
  #closeQuestions(id: string, why: string): void {
    const reason =
      why === 'cancel'
        ? 'the node was cancelled'
        : why === 'interrupt'
          ? 'the node was interrupted'
          : 'the node failed';
    for (const requestId of openRequestsOf(this.state, id)) {
      this.#humans.drop(requestId);
      this.#record('input.closed', { requestId, nodeId: id, reason });
    }
  }

  #fail(id: string, attempt: number, error: OrchestratorError): void {
    const node = this.#plan.node(id);
    const { willRetry, delayMs } = decideFailure(
      node,
      this.state.nodes[id],
      attempt,
      error,
      this.state.cancelRequested,
    );
    this.#record('node.failed', {
      nodeId: id,
      attempt,
      error: error.toJSON(),
      willRetry,
      ...(willRetry && { retryInMs: delayMs }),
    });
    if (willRetry) {
      this.#scheduleRetry(id, this.#clock.now() + delayMs);
      return;
    }
    this.#settle(id);
    if (this.#plan.onFailure === 'fail_fast' && !this.#failure) {
      this.#failure = error;
      const reason = 'the workflow is failing (fail_fast)';
      for (const queued of this.#ready.drain()) this.#skip(queued, reason);
      this.#cancelWaitingRetries(reason);
      this.#starter.stopAll('fail_fast');
    }
    this.#failure ??= error;
  }

  #scheduleRetry(id: string, at: number): void {
    const node = this.state.nodes[id];
    if (interruptedTooOften(node)) {
      const message = `node "${id}" was interrupted ${node?.interruptions} times`;
      const error = new OrchestratorError('NODE_INTERRUPTED', message, { retryable: false });
      this.#fail(id, node?.attempts ?? 1, error);
      return;
    }
    this.#ready.retryAt(id, at, () => {
      this.#enqueue(id);
      this.#pump();
    });
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

  // ---- ending ----------------------------------------------------------------------------

  #cancelEverything(reason: string): void {
    for (const queued of this.#ready.drain()) {
      this.#record('node.cancelled', { nodeId: queued, reason });
      this.#settle(queued);
    }
    this.#cancelWaitingRetries(reason);
    this.#starter.stopAll('cancel');
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
    this.#ready.clearRetries();
    for (const node of Object.values(this.state.nodes)) {
      if (node.status !== 'retry_wait' || this.#starter.isRunning(node.id)) continue;
      this.#record('node.cancelled', { nodeId: node.id, reason });
      this.#settle(node.id);
    }
  }

  #maybeFinish(): void {
    if (this.#phase !== 'running' || this.#starter.size > 0 || this.#ready.busy) return;
    const wf = this.state;
    if (wf.paused && !wf.cancelRequested) return;
    if (this.#open > 0 && !wf.cancelRequested) return;
    this.#phase = 'finishing';
    const status = finalStatus(wf, this.#failure !== undefined);
    // A completed run has no failed node (finalStatus looked at each): no second pass for one.
    const error = status === 'completed' ? undefined : (this.#failure ?? firstFailure(wf));
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

/** The cap a node counts against (see NodeClass); the same at enqueue and at release. */
function classOf(node: PlanNode | undefined): NodeClass {
  return node?.kind === 'agent' ? 'agent' : 'other';
}
