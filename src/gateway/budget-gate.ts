import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import { accountsOf, type GateScope, type ScopeRef, SpendLedger } from './budget-ledger.ts';
import { planAdmission, settlementCost } from './budget-plan.ts';
import { inputRate, nanoOf, nanoPriceOf, usageInputTokens, usd } from './budget-price.ts';
import { exhaustedIn, type ScopeSpend, spentByScope } from './budget-seed.ts';
import type { Admission, AgentIdentity, GatewayHooks, GatewayRequest, RequestEnd } from './contract.ts';
import { countInput } from './input-count.ts';

/*
 * Budgets enforced per model request. The gate reserves a request's most possible cost before
 * the proxy forwards it (`admit`) against every limit that covers it (session, workflow, agent
 * type, node, agent), lowers `max_tokens` when the tightest one has less left, refuses below a
 * floor, and replaces the reservation with the real cost when the response ended (`settle`).
 * Reservations are held while requests are in flight, so concurrent agents never see the same
 * money twice. The decisions are pure (`budget-plan.ts`), over whole nano-dollars. A request
 * no limit covers holds nothing and its body is not read (parsing and counting a 60 KB body
 * cost about 0.35 ms); its real cost is booked when it ends, so a limit that appears later
 * (a workflow with a `budget:` starting in the session) counts it, though not while it is in
 * flight.
 *
 * The bound (pinned by test/gateway/budget-gate.test.ts over random interleavings of 8
 * agents): for every scope, at every moment,
 *     booked + held <= limit + Σ over settled requests of max(0, cost − reservation)
 * (in nano-dollars, the limit rounded down). A request's cost exceeds its reservation only
 * when its real input is more than its count (the output never exceeds the forwarded
 * `max_tokens`); the count is high on purpose and calibrated per agent by its last response.
 * So with inputs counted at or above the real figure, spending never passes a limit at all.
 *
 * Wiring, in src/orchestrator/orchestrator.ts (after `this.monitor` and `this.agents` exist;
 * the proxy calls the hooks; `agentUsd` is filled where the proxy mints an agent's token):
 *
 *   const agentUsd = new Map<string, number>(); // agentId → its type's maxBudgetUsd
 *   this.budgets = budgetGate({
 *     limits: (agent) => [
 *       ...this.monitor.budgetLimits(agent.sessionId, agent), // session, workflow, agent type
 *       ...(agentUsd.has(agent.agentId) ? [{ scope: 'agent' as const, limitUsd: agentUsd.get(agent.agentId) as number }] : []),
 *       // a node's `budget`, once the definition has one: { scope: 'node', limitUsd }
 *     ],
 *     record: (sessionId, data) => {
 *       void log.append(sessionId, [{ type: 'budget.exhausted', data, source: 'gateway' } as NewEvent]).catch(() => {});
 *     },
 *     stopAgent: (agentId, error) => void this.agents.stopAgents((a) => a.agentId === agentId, error),
 *     pause: (sessionId, _workflowId, reason) =>
 *       this.#launcher.handle(sessionId)?.pause({ reason, interruptRunning: true }),
 *   });
 *   hooks of the gateway: [this.budgets, ...others]  // first: nothing is forwarded past a refusal
 *   log.subscribe({ types: ['budget.exhausted'] }, (e) => this.budgets.markRecorded(e.sessionId, e.data), { name: 'budget-gate' });
 *   on resume, beside `this.monitor.track(sessionId)`: this.budgets.load(sessionId, events of log.readAll(sessionId))
 *   when a session's run ends: this.budgets.forget(sessionId)
 *
 * The monitor's own checks stay as they are (spawns refused at a limit, the SDK's
 * `maxBudgetUsd` capped at what is left): the gate adds the per-request reservation.
 */

/** A limit over one scope of an agent's work; the account is the agent's own for that scope. */
export interface GateLimit {
  readonly scope: GateScope;
  readonly limitUsd: number;
  /** What reaching it does: stop the agent, or pause its workflow. @default 'fail' */
  readonly action?: 'fail' | 'pause' | undefined;
}

/** The payload of a `budget.exhausted` event the gate records. */
export interface ExhaustedData {
  readonly scope: GateScope;
  readonly key: string;
  readonly limitUsd: number;
  readonly spentUsd: number;
  readonly action: 'fail' | 'pause';
  readonly workflowId?: string;
}

/** Options of {@link budgetGate}. */
export interface BudgetGateOptions {
  /** The limits over an agent's requests, asked on every request (limits can change while a session runs). */
  readonly limits: (agent: AgentIdentity) => readonly GateLimit[];
  /** Records `budget.exhausted` in a session: called once per scope and limit. */
  readonly record: (sessionId: string, data: ExhaustedData) => void;
  /** Stops an agent whose request was refused: called once per agent. */
  readonly stopAgent: (agentId: string, error: OrchestratorError) => void;
  /** Pauses a workflow, for a limit whose action is `pause`. @default the agent is stopped */
  readonly pause?: ((sessionId: string, workflowId: string | undefined, reason: string) => void) | undefined;
  /** The fewest output tokens a request is lowered to; below, it is refused. @default 256 */
  readonly minOutputTokens?: number | undefined;
}

/** A scope's figures, in US dollars. */
export interface BudgetFigures {
  /** Booked: real usage of ended requests (and the seed of a resumed session). */
  readonly spentUsd: number;
  /** Reserved by requests in flight. */
  readonly heldUsd: number;
  /** The limit in force at the last request against it, if any. */
  readonly limitUsd: number | undefined;
  /** `limit − spent − held` (never below 0), when a limit applies. */
  readonly remainingUsd: number | undefined;
}

/** A request's reservation, while it is in flight. */
export interface Reservation {
  readonly inputTokens: number;
  readonly maxTokens: number;
  readonly usd: number;
}

/** The budget gate: the gateway's hooks, plus its figures and the session lifecycle. */
export interface BudgetGate extends GatewayHooks {
  admit(request: GatewayRequest): Admission;
  settle(request: GatewayRequest, end: RequestEnd): void;
  /** A scope's figures (for the monitor and the CLI). */
  remaining(ref: ScopeRef): BudgetFigures;
  /** The reservation a request in flight holds. */
  reservation(requestId: string): Reservation | undefined;
  /** Sets what scopes of a session spent before this process (idempotent: the higher figure stays). */
  seed(sessionId: string, spent: readonly ScopeSpend[]): void;
  /** Seeds a resumed session from its log: spend per scope, and the limits already reported. */
  load(sessionId: string, events: readonly AnyEvent[]): void;
  /** Marks a limit as reported (a `budget.exhausted` another component recorded). */
  markRecorded(
    sessionId: string,
    breach: { readonly scope: GateScope; readonly key: string; readonly limitUsd: number },
  ): void;
  /** Drops a session's accounts and state (it ended). Requests still in flight settle harmlessly. */
  forget(sessionId: string): void;
}

/** The default of `minOutputTokens`. */
export const MIN_OUTPUT_TOKENS = 256;
/** The highest per-agent correction of the input count (real input / counted). */
const MAX_CALIBRATION = 8;

interface Hold {
  readonly sessionId: string;
  readonly refs: readonly ScopeRef[];
  readonly reserve: number;
  readonly inputCost: number;
  readonly inputTokens: number;
  readonly maxTokens: number;
  readonly counted: number;
  readonly oneHourCache: boolean;
  readonly calibrationKey: string;
}

interface SessionState {
  /** `agentId|subagent` → real input over counted input of its last response (at least 1). */
  readonly calibration: Map<string, number>;
  /** `scope|key` → highest limit (nano) already reported. */
  readonly recorded: Map<string, number>;
  readonly stopped: Set<string>;
}

/**
 * The budget gate: a {@link GatewayHooks} that enforces hard budgets per model request.
 * @throws OrchestratorError `INVALID_ARGUMENT` when an option is missing or out of range.
 * @example
 * const gate = budgetGate({ limits, record, stopAgent }); // see the wiring note above
 */
export function budgetGate(options: BudgetGateOptions): BudgetGate {
  checkOptions(options);
  const minOutputTokens = options.minOutputTokens ?? MIN_OUTPUT_TOKENS;
  const ledger = new SpendLedger();
  const holds = new Map<string, Hold>();
  const sessions = new Map<string, SessionState>();

  const stateOf = (sessionId: string): SessionState => {
    let state = sessions.get(sessionId);
    if (!state) {
      state = { calibration: new Map(), recorded: new Map(), stopped: new Set() };
      sessions.set(sessionId, state);
    }
    return state;
  };

  const release = (requestId: string): Hold | undefined => {
    const hold = holds.get(requestId);
    if (!hold) return undefined;
    holds.delete(requestId);
    ledger.release(hold.refs, hold.reserve);
    return hold;
  };

  const refuse = (request: GatewayRequest, ref: ScopeRef, limit: GateLimit): Admission => {
    const { sessionId, agentId, workflowId } = request.agent;
    const state = stateOf(sessionId);
    const booked = ledger.open(ref).booked;
    const data: ExhaustedData = {
      scope: ref.scope,
      key: ref.key,
      limitUsd: limit.limitUsd,
      spentUsd: Math.round(usd(booked) * 1e6) / 1e6,
      action: limit.action ?? 'fail',
      ...(workflowId !== undefined && { workflowId }),
    };
    const error = new OrchestratorError('BUDGET_EXHAUSTED', `budget exhausted: ${describe(data)}`, {
      details: { ...data, requestId: request.requestId, agentId },
    });
    const id = `${ref.scope}|${ref.key}`;
    const limitNano = nanoOf(limit.limitUsd);
    const firstReport = (state.recorded.get(id) ?? -1) < limitNano;
    if (firstReport) {
      state.recorded.set(id, limitNano);
      options.record(sessionId, data);
    }
    if (data.action === 'pause' && options.pause) {
      if (firstReport) options.pause(sessionId, workflowId, error.message);
    } else if (!state.stopped.has(agentId)) {
      state.stopped.add(agentId);
      options.stopAgent(agentId, error);
    }
    return { ok: false, error };
  };

  return {
    admit(request) {
      // Counting tokens is free, and a retry of a request admitted before replaces its hold.
      release(request.requestId);
      if (request.path.includes('/count_tokens')) return { ok: true };
      const { agent } = request;
      const limits = options.limits(agent);
      // Known, so that `settle` books its real spend (a limit set later starts from it).
      const state = stateOf(agent.sessionId);
      // No budget covers the agent: nothing to reserve, and the body is not read (the proxy
      // then forwards it unparsed). Its spend is booked when it ends.
      if (limits.length === 0) return { ok: true };
      const refs = accountsOf(agent);
      let available = Number.POSITIVE_INFINITY;
      let tightest: { ref: ScopeRef; limit: GateLimit } | undefined;
      for (const limit of limits) {
        const ref = refs.find((candidate) => candidate.scope === limit.scope);
        if (!ref || !(limit.limitUsd >= 0)) continue;
        const account = ledger.open(ref);
        account.limit = nanoOf(limit.limitUsd);
        const left = account.limit - account.booked - account.held;
        if (left < available || tightest === undefined) {
          available = Math.min(available, left);
          tightest = { ref, limit };
        }
      }
      const count = countInput(request.body);
      const calibrationKey = `${agent.agentId}|${request.subagent ?? ''}`;
      const counted = Math.max(request.inputTokensEstimate, count.tokens);
      const factor = state.calibration.get(calibrationKey) ?? 1;
      const inputTokens = Math.ceil(counted * factor);
      const price = nanoPriceOf(request.model);
      const rate = inputRate(price, count.oneHourCache);
      const plan = planAdmission({
        available,
        inputTokens,
        inputRate: rate,
        outputRate: price.output,
        maxTokens: request.maxTokens,
        minOutputTokens,
        thinkingBudget: count.thinkingBudget,
      });
      if (plan.kind === 'refused') {
        // `tightest` is set: without a limit, `available` is infinite and nothing is refused.
        const { ref, limit } = tightest as { ref: ScopeRef; limit: GateLimit };
        return refuse(request, ref, limit);
      }
      ledger.hold(refs, plan.reserve);
      holds.set(request.requestId, {
        sessionId: agent.sessionId,
        refs,
        reserve: plan.reserve,
        inputCost: inputTokens * rate,
        inputTokens,
        maxTokens: plan.maxTokens,
        counted,
        oneHourCache: count.oneHourCache,
        calibrationKey,
      });
      return plan.kind === 'lowered' ? { ok: true, maxTokens: plan.maxTokens } : { ok: true };
    },

    settle(request, end) {
      const hold = release(request.requestId);
      if (!hold) {
        // Not admitted here (or admitted before a `forget`): real usage is still real spend.
        if (end.usage && sessions.has(request.agent.sessionId)) {
          const cost = settlementCost(end, { inputCost: 0, oneHourCache: false });
          ledger.book(accountsOf(request.agent), cost);
        }
        return;
      }
      ledger.book(hold.refs, settlementCost(end, hold));
      if (end.usage && hold.counted > 0) {
        const ratio = usageInputTokens(end.usage) / hold.counted;
        stateOf(hold.sessionId).calibration.set(hold.calibrationKey, Math.min(MAX_CALIBRATION, Math.max(1, ratio)));
      }
    },

    remaining(ref) {
      const account = ledger.peek(ref);
      const booked = account?.booked ?? 0;
      const held = account?.held ?? 0;
      const limit = account?.limit;
      return {
        spentUsd: usd(booked),
        heldUsd: usd(held),
        limitUsd: limit === undefined ? undefined : usd(limit),
        remainingUsd: limit === undefined ? undefined : usd(Math.max(0, limit - booked - held)),
      };
    },

    reservation(requestId) {
      const hold = holds.get(requestId);
      return hold && { inputTokens: hold.inputTokens, maxTokens: hold.maxTokens, usd: usd(hold.reserve) };
    },

    seed(sessionId, spent) {
      stateOf(sessionId);
      for (const { scope, key, usd: dollars } of spent) {
        ledger.seed({ sessionId, scope, key }, Math.ceil(Math.round(dollars * 1e12) / 1000));
      }
    },

    load(sessionId, events) {
      this.seed(sessionId, spentByScope(sessionId, events));
      for (const breach of exhaustedIn(events)) this.markRecorded(sessionId, breach);
    },

    markRecorded(sessionId, breach) {
      const recorded = stateOf(sessionId).recorded;
      const id = `${breach.scope}|${breach.key}`;
      recorded.set(id, Math.max(recorded.get(id) ?? -1, nanoOf(breach.limitUsd)));
    },

    forget(sessionId) {
      sessions.delete(sessionId);
      ledger.forget(sessionId);
      for (const [requestId, hold] of holds) if (hold.sessionId === sessionId) holds.delete(requestId);
    },
  };
}

function describe(data: ExhaustedData): string {
  const what = data.scope === 'agentType' ? `agent type ${data.key}` : `${data.scope} ${data.key}`;
  return `${what} has spent $${data.spentUsd.toFixed(4)} of its $${data.limitUsd} limit; a model request does not fit`;
}

function checkOptions(options: BudgetGateOptions): void {
  const problems: string[] = [];
  for (const name of ['limits', 'record', 'stopAgent'] as const) {
    if (typeof options[name] !== 'function') problems.push(`${name}: expected a function, got ${typeof options[name]}`);
  }
  if (options.pause !== undefined && typeof options.pause !== 'function')
    problems.push(`pause: expected a function, got ${typeof options.pause}`);
  const min = options.minOutputTokens;
  if (min !== undefined && !(Number.isInteger(min) && min >= 1))
    problems.push(`minOutputTokens: expected a positive integer, got ${String(min)} (${typeof min})`);
  if (problems.length > 0) {
    throw new OrchestratorError('INVALID_ARGUMENT', `budget gate options: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}
