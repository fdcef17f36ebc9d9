import { OrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import type { EngineClock } from './clock.ts';
import {
  completionOrderOf,
  decideFailure,
  decideOutcome,
  decideReady,
  decideRecovered,
  decideRecovery,
  interruptedTooOften,
  type OutcomeDecision,
  type StopReason,
} from './decide.ts';
import type { HumanQuestions } from './humans.ts';
import type { NodeStarter } from './node-start.ts';
import type { NodeContext, NodeExecutor, NodeOutcome, PlanNode, WorkflowPlan } from './plan.ts';
import type { ReadyQueue } from './ready-queue.ts';
import type { RunPhase } from './run-options.ts';
import type { DependencyTracker, NodeClass } from './scheduler.ts';
import { type NodeState, TERMINAL_NODE_STATUSES, type WorkflowState } from './state.ts';

/** What a node the log shows this way was doing when its last owner stopped: {@link NodeFlow.recover} decides. */
const IN_PROGRESS: ReadonlySet<NodeState['status']> = new Set(['running', 'awaiting_input', 'queued']);

/** What a {@link NodeFlow} needs from its run: a narrow view, not the run itself. */
export interface NodeFlowHost {
  readonly clock: EngineClock;
  readonly executors: ReadonlyMap<string, NodeExecutor>;
  readonly tracker: DependencyTracker;
  readonly ready: ReadyQueue;
  readonly starter: NodeStarter;
  readonly humans: HumanQuestions;
  /** The current plan, including nodes added at run time. */
  plan(): WorkflowPlan;
  state(): WorkflowState;
  context(): NodeContext;
  /** Where the run is: a run that is done acts on nothing more; only a running one retries at once. */
  phase(): RunPhase;
  /** Records an event: applied to the state at once, durable soon. */
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): void;
  /** Starts what the limits now admit, and ends the run when nothing is left. */
  pump(): void;
}

/**
 * The life of the run's nodes, as the loop (`engine.ts`) acts on the pure decisions of
 * `decide.ts`: a node becomes ready, is queued under the limits, started (`node-start.ts`),
 * and its outcome completes, cancels, interrupts, fails or retries it; settling it makes its
 * dependents ready. It also takes over, on a restart, the nodes the log shows in progress.
 * The run's controls (pause, cancel, suspend, graph changes) and its end stay in the engine.
 */
export class NodeFlow {
  readonly #h: NodeFlowHost;
  /** Human and approval nodes whose open question a restart awaits again (same attempt). */
  readonly #awaitAgain = new Set<string>();
  /** Completed nodes in completion order (a rollback compensates them in reverse). */
  readonly completionOrder: string[] = [];
  #open = 0;
  readonly #settleQueue: string[] = [];
  #settling = false;
  #failure: OrchestratorError | undefined;
  /** Agent nodes waiting for admission not yet recorded as held back by the agent cap. */
  readonly #unmarked = new Set<string>();
  /** Nodes the log showed in progress when the run was set up (see {@link recover}). */
  #inProgress = 0;

  constructor(host: NodeFlowHost) {
    this.#h = host;
    const wf = host.state();
    const plan = host.plan();
    // One pass over the plan: at 10,000 nodes each pass over the state's nodes costs milliseconds
    // before the first node starts.
    const completed: NodeState[] = [];
    for (const node of plan.nodes()) {
      const state = wf.nodes[node.id];
      if (state === undefined) this.#open++;
      else if (state.status === 'completed') completed.push(state);
      else if (!TERMINAL_NODE_STATUSES.has(state.status)) {
        this.#open++;
        if (IN_PROGRESS.has(state.status)) this.#inProgress++;
      }
    }
    for (const id of completionOrderOf(plan, completed)) this.completionOrder.push(id);
  }

  /** Nodes not yet settled. */
  get open(): number {
    return this.#open;
  }

  /** The first failure that ends the run failed, if one happened. */
  get failure(): OrchestratorError | undefined {
    return this.#failure;
  }

  /** Nodes whose dependencies have all settled (at the start of a run). */
  readyNodes(): string[] {
    return this.#h.tracker.readyNodes();
  }

  /** What a restart does with the nodes the log shows in progress (see decideRecovery). */
  recover(): void {
    // A run started afresh has nothing in progress: no second pass over every node.
    if (this.#inProgress === 0) return;
    const wf = this.#h.state();
    // `for...in`, not `Object.values`: no array of every node (10,000 of them: 2-3 ms at each start).
    for (const id in wf.nodes) {
      const node = wf.nodes[id] as NodeState;
      if (!Object.hasOwn(wf.nodes, id)) continue;
      if (!IN_PROGRESS.has(node.status)) continue;
      const decision = decideRecovery(this.#h.plan().node(node.id), node, wf);
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

  /** Reacts to a node whose dependencies have settled: run, skip, fail or cancel it. */
  onReady(id: string): void {
    const node = this.#h.plan().node(id);
    if (!node) return;
    const decision = decideReady(node, this.#h.state(), this.#failingFast(), this.#h.context());
    if (decision.kind === 'run') this.#enqueue(id);
    else if (decision.kind === 'skip') this.skip(id, decision.reason);
    else if (decision.kind === 'fail') this.#fail(id, 1, decision.error);
    else {
      this.#h.record('node.cancelled', { nodeId: id, reason: decision.reason });
      this.#settle(id);
    }
  }

  /** Takes a node added at run time: counted open, wired before `requiredBy`, handled once ready. */
  add(node: PlanNode, requiredBy: readonly string[]): void {
    this.#open++;
    for (const target of requiredBy) this.#h.tracker.addDependency(target, node.id);
    if (this.#h.tracker.add(node)) this.onReady(node.id);
  }

  /**
   * Records `node.queued` (held) for the agent nodes the run's agent cap holds back now: waiting
   * for an agent process is a state (shown, and its time not counted in the node's timeout or
   * duration), whichever limit makes it wait. Each is marked once per wait; called by the pump
   * once it has started what the limits admit.
   */
  markHeld(): void {
    if (this.#unmarked.size === 0 || !this.#h.ready.classFull('agent')) return;
    const wf = this.#h.state();
    for (const id of this.#unmarked) {
      const node = wf.nodes[id];
      if (!node || !this.#h.ready.waiting(id) || (node.status !== 'pending' && node.status !== 'retry_wait')) continue;
      this.#h.record('node.queued', {
        nodeId: id,
        attempt: node.attempts + 1,
        reason: 'waiting for a free agent process (the agent cap)',
        held: true,
      });
    }
    this.#unmarked.clear();
  }

  /** Starts an attempt of a node the ready queue admitted. */
  start(id: string): void {
    this.#unmarked.delete(id);
    const { tracker, ready, starter } = this.#h;
    const node = this.#h.plan().node(id) as PlanNode;
    const state = this.#h.state().nodes[id];
    // While it waited for a slot the node may have settled (skipped, or a retry that was
    // also queued) or gained a dependency (a node inserted before it): give the slot back;
    // a new dependency makes it ready again when that one settles.
    if (!state || TERMINAL_NODE_STATUSES.has(state.status) || !tracker.dependenciesSettled(id)) {
      ready.release(node?.group, classOf(node));
      return;
    }
    const again = this.#awaitAgain.delete(id);
    const attempt = again ? state.attempts : state.attempts + 1;
    const executor = this.#h.executors.get(node.kind);
    starter.start(node, attempt, again, this.#h.context(), executor, ({ outcome, stop }) => {
      ready.release(node.group, classOf(node));
      this.#onOutcome(id, attempt, outcome, stop);
      this.#h.pump();
    });
  }

  /** Runs a node again at `at` (its retry delay, or now after an interruption). */
  scheduleRetry(id: string, at: number): void {
    const node = this.#h.state().nodes[id];
    if (interruptedTooOften(node)) {
      const message = `node "${id}" was interrupted ${node?.interruptions} times`;
      const error = new OrchestratorError('NODE_INTERRUPTED', message, { retryable: false });
      this.#fail(id, node?.attempts ?? 1, error);
      return;
    }
    this.#h.ready.retryAt(id, at, () => {
      this.#enqueue(id);
      this.#h.pump();
    });
  }

  skip(id: string, reason: string): void {
    this.#h.record('node.skipped', { nodeId: id, reason });
    this.#settle(id);
  }

  /** Cancels every node not yet done: queued and pending ones at once, running ones through their stop. */
  cancelEverything(reason: string): void {
    this.#unmarked.clear();
    for (const queued of this.#h.ready.drain()) {
      this.#h.record('node.cancelled', { nodeId: queued, reason });
      this.#settle(queued);
    }
    this.#cancelWaitingRetries(reason);
    this.#h.starter.stopAll('cancel');
    for (const node of Object.values(this.#h.state().nodes)) {
      if (node.status !== 'pending') continue;
      this.#h.record('node.cancelled', { nodeId: node.id, reason });
      this.#settle(node.id);
    }
  }

  /** Completes a node whose agent's result was durable before the restart: no new model call. */
  #finishDurable(id: string, attempt: number, result: { agentId: string; output: unknown }): void {
    const node = this.#h.plan().node(id) as PlanNode;
    const executor = this.#h.executors.get(node.kind);
    this.#h.starter.recover(node, attempt, this.#h.context(), executor, result, ({ outcome, stop }) => {
      const decision = decideRecovered(this.#h.plan().node(id), this.#h.state().nodes[id], outcome, stop);
      this.#act(id, attempt, decision);
      // Lost with the process that ran it: run again now (a pause or suspend reschedules itself).
      if (decision.kind === 'interrupt' && stop === undefined && this.#h.phase() === 'running') {
        this.scheduleRetry(id, this.#h.clock.now());
      }
      this.#h.pump();
    });
  }

  #failingFast(): boolean {
    return this.#failure !== undefined && this.#h.plan().onFailure === 'fail_fast';
  }

  #enqueue(id: string): void {
    if (this.#h.starter.isRunning(id)) return;
    const node = this.#h.plan().node(id);
    const cls = classOf(node);
    this.#h.ready.enqueue(id, node?.group, cls);
    if (cls === 'agent') this.#unmarked.add(id);
  }

  #onOutcome(id: string, attempt: number, outcome: NodeOutcome, stop: StopReason | undefined): void {
    this.#act(id, attempt, decideOutcome(this.#h.plan().node(id), this.#h.state().nodes[id], outcome, stop));
  }

  #act(id: string, attempt: number, decision: OutcomeDecision): void {
    if (this.#h.phase() === 'done') return;
    if (decision.kind !== 'complete' && decision.kind !== 'leave') this.#closeQuestions(id, decision.kind);
    switch (decision.kind) {
      case 'complete':
        this.#h.record('node.completed', {
          nodeId: id,
          attempt,
          output: decision.output,
          ...(decision.cached && { cached: true, cacheKey: decision.cacheKey }),
        });
        this.completionOrder.push(id);
        this.#settle(id);
        break;
      case 'cancel':
        this.#h.record('node.cancelled', { nodeId: id, reason: decision.reason });
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
    this.#h.record('node.interrupted', { nodeId: id, attempt: Math.max(1, attempt), reason });
  }

  /** A node that stops without completing withdraws its open questions (recorded). */
  #closeQuestions(id: string, why: string): void {
    const reason =
      why === 'cancel'
        ? 'the node was cancelled'
        : why === 'interrupt'
          ? 'the node was interrupted'
          : 'the node failed';
    this.#h.humans.closeOpen(id, reason);
  }

  #fail(id: string, attempt: number, error: OrchestratorError): void {
    const plan = this.#h.plan();
    const wf = this.#h.state();
    const { willRetry, delayMs } = decideFailure(plan.node(id), wf.nodes[id], attempt, error, wf.cancelRequested);
    this.#h.record('node.failed', {
      nodeId: id,
      attempt,
      error: error.toJSON(),
      willRetry,
      ...(willRetry && { retryInMs: delayMs }),
    });
    if (willRetry) {
      this.scheduleRetry(id, this.#h.clock.now() + delayMs);
      return;
    }
    this.#settle(id);
    if (plan.onFailure === 'fail_fast' && !this.#failure) {
      this.#failure = error;
      const reason = 'the workflow is failing (fail_fast)';
      this.#unmarked.clear();
      for (const queued of this.#h.ready.drain()) this.skip(queued, reason);
      this.#cancelWaitingRetries(reason);
      this.#h.starter.stopAll('fail_fast');
    }
    this.#failure ??= error;
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
        if (this.#h.tracker.isSettled(next)) continue;
        this.#open--;
        for (const ready of this.#h.tracker.settle(next)) this.onReady(ready);
      }
    } finally {
      this.#settling = false;
    }
  }

  /**
   * Cancels nodes waiting for another attempt, on a timer or for a resume after a pause
   * interrupted them: once the run is cancelled or failing fast they must not start again.
   */
  #cancelWaitingRetries(reason: string): void {
    this.#h.ready.clearRetries();
    for (const node of Object.values(this.#h.state().nodes)) {
      if (node.status !== 'retry_wait' || this.#h.starter.isRunning(node.id)) continue;
      this.#h.record('node.cancelled', { nodeId: node.id, reason });
      this.#settle(node.id);
    }
  }
}

/** The cap a node counts against (see NodeClass); the same at enqueue and at release. */
function classOf(node: PlanNode | undefined): NodeClass {
  return node?.kind === 'agent' ? 'agent' : 'other';
}
