import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import { accountsOf, type GateScope, type ScopeRef, SpendLedger } from './budget-ledger.ts';
import { planAdmission, settlementCost, settlementTokens } from './budget-plan.ts';
import { inputRate, nanoOf, nanoPriceOf, usageInputTokens, usd } from './budget-price.ts';
import {
  type BudgetUnit,
  type ExhaustedData,
  exhaustedData,
  exhaustedError,
  markReported,
  newSessionState,
  type ReportedLimit,
  type SessionState,
} from './budget-report.ts';
import { exhaustedIn, type ScopeSpend, spentByScope } from './budget-seed.ts';
import type { Admission, AgentIdentity, GatewayHooks, GatewayRequest, RequestEnd } from './contract.ts';
import { countInput } from './input-count.ts';

export type { BudgetUnit, ExhaustedData } from './budget-report.ts';

/*
 * Budgets enforced per model request. The gate reserves a request's most possible cost before
 * the proxy forwards it (`admit`) against every limit that covers it (session, workflow, agent
 * type, node, agent; in US dollars, or in tokens), lowers `max_tokens` when the tightest one
 * has less left, refuses below a floor, and replaces the reservation with the real cost when
 * the response ended (`settle`). Reservations are held while requests are in flight, so
 * concurrent agents never see the same money twice. The decisions are pure (`budget-plan.ts`),
 * over whole nano-dollars and whole tokens. A token limit counts a request's whole input
 * (cache reads and writes included) plus its output: its reservation is the input count plus
 * `max_tokens`, the same rule at one "price" per token.
 *
 * A request no limit covers holds nothing and its body is not read (parsing and counting a
 * 60 KB body cost about 0.35 ms); its real cost is booked when it ends, so a limit that
 * appears later (a workflow with a `budget:` starting in the session) counts it, though not
 * while it is in flight.
 *
 * The bound (pinned by test/gateway/budget-gate.test.ts over random interleavings of 8
 * agents): for every scope, at every moment,
 *     booked + held <= limit + Σ over settled requests of max(0, cost − reservation)
 * (in nano-dollars, the limit rounded down; or in tokens). A request's cost exceeds its
 * reservation only when its real input is more than its count (the output never exceeds the
 * forwarded `max_tokens`); the count is high on purpose and calibrated per agent by its last
 * response. So with inputs counted at or above the real figure, spending never passes a limit.
 *
 * Wiring (src/orchestrator/gateway-hooks.ts): `limits` are the monitor's (session, workflow,
 * agent type, from the configuration and the workflow files) and the node's `budget:`, which
 * travels with the agent's identity; `record` appends `budget.exhausted`; `stopAgent` stops the
 * agent; `pause` pauses the workflow. The gate is the gateway's first hook (nothing is
 * forwarded past a refusal); `budget.exhausted` recorded by others is fed to `markRecorded`; a
 * resumed session is `load`ed from its log; a session whose run ended is `forget`-ed.
 * The monitor's own checks stay as they are (spawns refused at a limit, the SDK's
 * `maxBudgetUsd` capped at what is left): the gate adds the per-request reservation.
 */

/** A limit over one scope of an agent's work; the account is the agent's own for that scope. */
export interface GateLimit {
  readonly scope: GateScope;
  /** A limit in US dollars. Give this or `limitTokens` (both: two limits). */
  readonly limitUsd?: number | undefined;
  /** A limit in tokens: input (cache reads and writes included) plus output. */
  readonly limitTokens?: number | undefined;
  /** What reaching it does: stop the agent, or pause its workflow. @default 'fail' */
  readonly action?: 'fail' | 'pause' | undefined;
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

/** A scope's figures, in US dollars and in tokens. */
export interface BudgetFigures {
  /** Booked: real usage of ended requests (and the seed of a resumed session). */
  readonly spentUsd: number;
  /** Reserved by requests in flight. */
  readonly heldUsd: number;
  /** The limit in force at the last request against it, if any. */
  readonly limitUsd: number | undefined;
  /** `limit − spent − held` (never below 0), when a limit applies. */
  readonly remainingUsd: number | undefined;
  readonly spentTokens: number;
  /** Tokens reserved by requests in flight (held only while a token limit covers them). */
  readonly heldTokens: number;
  readonly limitTokens: number | undefined;
  readonly remainingTokens: number | undefined;
}

/** A request's reservation, while it is in flight. */
export interface Reservation {
  readonly inputTokens: number;
  readonly maxTokens: number;
  readonly usd: number;
  /** Tokens held against token limits (0 when none covers the request). */
  readonly tokens: number;
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
  markRecorded(sessionId: string, breach: ReportedLimit): void;
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
  /** Tokens held in the token ledger (0 when no token limit covered it). */
  readonly reserveTokens: number;
  readonly inputCost: number;
  readonly inputTokens: number;
  readonly maxTokens: number;
  readonly counted: number;
  readonly oneHourCache: boolean;
  readonly calibrationKey: string;
}

/** The tightest limit of one unit: what it has left, and which it is. */
interface Tightest {
  available: number;
  at: { readonly ref: ScopeRef; readonly limit: GateLimit; readonly amount: number } | undefined;
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
  /** Nano-dollars. */
  const ledger = new SpendLedger();
  /** Tokens. */
  const tokenLedger = new SpendLedger();
  const holds = new Map<string, Hold>();
  const sessions = new Map<string, SessionState>();

  const stateOf = (sessionId: string): SessionState => {
    let state = sessions.get(sessionId);
    if (!state) {
      state = newSessionState();
      sessions.set(sessionId, state);
    }
    return state;
  };

  const release = (requestId: string): Hold | undefined => {
    const hold = holds.get(requestId);
    if (!hold) return undefined;
    holds.delete(requestId);
    ledger.release(hold.refs, hold.reserve);
    if (hold.reserveTokens > 0) tokenLedger.release(hold.refs, hold.reserveTokens);
    return hold;
  };

  const refuse = (request: GatewayRequest, unit: BudgetUnit, at: NonNullable<Tightest['at']>): Admission => {
    const { sessionId, agentId, workflowId } = request.agent;
    const state = stateOf(sessionId);
    const { ref, limit, amount } = at;
    const booked = (unit === 'usd' ? ledger : tokenLedger).open(ref).booked;
    const data = exhaustedData(ref, unit, amount, booked, limit.action ?? 'fail', workflowId);
    const error = exhaustedError(data, request.requestId, agentId);
    const firstReport = markReported(state, data);
    if (firstReport) options.record(sessionId, data);
    if (data.action === 'pause' && options.pause) {
      if (firstReport) options.pause(sessionId, workflowId, error.message);
    } else if (!state.stopped.has(agentId)) {
      state.stopped.add(agentId);
      options.stopAgent(agentId, error);
    }
    return { ok: false, error };
  };

  /** Opens the accounts a limit covers and keeps the tightest of each unit. */
  const tighten = (refs: readonly ScopeRef[], limits: readonly GateLimit[], money: Tightest, tokens: Tightest) => {
    for (const limit of limits) {
      const ref = refs.find((candidate) => candidate.scope === limit.scope);
      if (!ref) continue;
      for (const unit of ['usd', 'tokens'] as const) {
        const amount = unit === 'usd' ? limit.limitUsd : limit.limitTokens;
        if (amount === undefined || !(amount >= 0)) continue;
        const account = (unit === 'usd' ? ledger : tokenLedger).open(ref);
        account.limit = unit === 'usd' ? nanoOf(amount) : Math.floor(amount);
        const left = account.limit - account.booked - account.held;
        const tightest = unit === 'usd' ? money : tokens;
        if (left < tightest.available || tightest.at === undefined) {
          tightest.available = Math.min(tightest.available, left);
          tightest.at = { ref, limit, amount };
        }
      }
    }
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
      const money: Tightest = { available: Number.POSITIVE_INFINITY, at: undefined };
      const tokens: Tightest = { available: Number.POSITIVE_INFINITY, at: undefined };
      tighten(refs, limits, money, tokens);
      const count = countInput(request.body);
      const calibrationKey = `${agent.agentId}|${request.subagent ?? ''}`;
      const counted = Math.max(request.inputTokensEstimate, count.tokens);
      const factor = state.calibration.get(calibrationKey) ?? 1;
      const inputTokens = Math.ceil(counted * factor);
      const price = nanoPriceOf(request.model);
      const rate = inputRate(price, count.oneHourCache);
      const asked = {
        inputTokens,
        maxTokens: request.maxTokens,
        minOutputTokens,
        thinkingBudget: count.thinkingBudget,
      };
      const plan = planAdmission({ ...asked, available: money.available, inputRate: rate, outputRate: price.output });
      // `at` is set when refused: without a limit, `available` is infinite and nothing is refused.
      if (plan.kind === 'refused') return refuse(request, 'usd', money.at as NonNullable<Tightest['at']>);
      let maxTokens = plan.maxTokens;
      if (tokens.at !== undefined) {
        // The same rule in tokens, from what the dollars allow: each token "costs" one.
        const inTokens = planAdmission({
          ...asked,
          maxTokens,
          available: tokens.available,
          inputRate: 1,
          outputRate: 1,
        });
        if (inTokens.kind === 'refused') return refuse(request, 'tokens', tokens.at);
        maxTokens = inTokens.maxTokens;
      }
      const reserve = inputTokens * rate + maxTokens * price.output;
      const reserveTokens = tokens.at === undefined ? 0 : inputTokens + maxTokens;
      ledger.hold(refs, reserve);
      if (reserveTokens > 0) tokenLedger.hold(refs, reserveTokens);
      holds.set(request.requestId, {
        sessionId: agent.sessionId,
        refs,
        reserve,
        reserveTokens,
        inputCost: inputTokens * rate,
        inputTokens,
        maxTokens,
        counted,
        oneHourCache: count.oneHourCache,
        calibrationKey,
      });
      return maxTokens < request.maxTokens ? { ok: true, maxTokens } : { ok: true };
    },

    settle(request, end) {
      const hold = release(request.requestId);
      if (!hold) {
        // Not admitted here (or admitted before a `forget`): real usage is still real spend.
        if (end.usage && sessions.has(request.agent.sessionId)) {
          const refs = accountsOf(request.agent);
          ledger.book(refs, settlementCost(end, { inputCost: 0, oneHourCache: false }));
          tokenLedger.book(refs, settlementTokens(end, 0));
        }
        return;
      }
      ledger.book(hold.refs, settlementCost(end, hold));
      tokenLedger.book(hold.refs, settlementTokens(end, hold.inputTokens));
      if (end.usage && hold.counted > 0) {
        const ratio = usageInputTokens(end.usage) / hold.counted;
        stateOf(hold.sessionId).calibration.set(hold.calibrationKey, Math.min(MAX_CALIBRATION, Math.max(1, ratio)));
      }
    },

    remaining(ref) {
      const money = ledger.peek(ref);
      const count = tokenLedger.peek(ref);
      const left = (account: typeof money) =>
        account?.limit === undefined ? undefined : Math.max(0, account.limit - account.booked - account.held);
      const moneyLeft = left(money);
      return {
        spentUsd: usd(money?.booked ?? 0),
        heldUsd: usd(money?.held ?? 0),
        limitUsd: money?.limit === undefined ? undefined : usd(money.limit),
        remainingUsd: moneyLeft === undefined ? undefined : usd(moneyLeft),
        spentTokens: count?.booked ?? 0,
        heldTokens: count?.held ?? 0,
        limitTokens: count?.limit,
        remainingTokens: left(count),
      };
    },

    reservation(requestId) {
      const hold = holds.get(requestId);
      return (
        hold && {
          inputTokens: hold.inputTokens,
          maxTokens: hold.maxTokens,
          usd: usd(hold.reserve),
          tokens: hold.reserveTokens,
        }
      );
    },

    seed(sessionId, spent) {
      stateOf(sessionId);
      for (const { scope, key, usd: dollars, tokens } of spent) {
        ledger.seed({ sessionId, scope, key }, Math.ceil(Math.round(dollars * 1e12) / 1000));
        if (tokens !== undefined && tokens > 0) tokenLedger.seed({ sessionId, scope, key }, tokens);
      }
    },

    load(sessionId, events) {
      this.seed(sessionId, spentByScope(sessionId, events));
      for (const breach of exhaustedIn(events)) this.markRecorded(sessionId, breach);
    },

    markRecorded(sessionId, breach) {
      markReported(stateOf(sessionId), breach);
    },

    forget(sessionId) {
      sessions.delete(sessionId);
      ledger.forget(sessionId);
      tokenLedger.forget(sessionId);
      for (const [requestId, hold] of holds) if (hold.sessionId === sessionId) holds.delete(requestId);
    },
  };
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
