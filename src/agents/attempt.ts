import type { SDKMessage, SDKResultMessage, SessionStore } from '@anthropic-ai/claude-agent-sdk';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import type { AgentState, NewEvent } from '../events/index.ts';
import type { Redactor } from '../security/index.ts';
import { sandboxUnavailable } from '../security/index.ts';
import { classifyResultError, classifyThrown } from './classify.ts';
import { launchQuery, startColdInstead } from './launch.ts';
import { normalizeSdkMessage, previewToolResult } from './normalize.ts';
import { checkStructuredOutputBounded, outputValidator } from './output-schema.ts';
import { type ProcessRegistry, readRssBytes } from './processes.ts';
import { STRUCTURED_OUTPUT_TOOL } from './sdk-options.ts';
import type { AgentSpec } from './spec.ts';
import type { AgentToolHost } from './tools.ts';
import { UsageTracker } from './usage.ts';
import type { SpareCredentials, WarmPool } from './warm-pool.ts';

/** After an interrupt, how long the turn may take to stop before the process is aborted. */
const INTERRUPT_GRACE_MS = 1500;

/** Token counts of an attempt, from the SDK's result. */
export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/** Usage of one model in an attempt (the SDK's `result.modelUsage`, renamed); priced by the monitor. */
export interface ModelUsageFigures {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheCreationTokens: number;
  /** Cache writes with a 1-hour lifetime, already counted in `cacheCreationTokens`. */
  readonly cacheCreation1hTokens?: number;
  /** The SDK's own cost estimate for this model. */
  readonly costUsd?: number;
  readonly canonicalModel?: string;
}

/** What a successful attempt produced. */
export interface AttemptSuccess {
  readonly ok: true;
  /** The final text answer. */
  readonly text: string;
  /** The structured output, when the task required a schema. */
  readonly structured: unknown;
  readonly usage: AgentUsage;
  readonly costUsd: number;
  readonly turns: number;
  readonly durationMs: number;
  readonly sdkSessionId: string | undefined;
  /** Usage per model, subagents included, when the SDK reported it. */
  readonly modelUsage?: Readonly<Record<string, ModelUsageFigures>> | undefined;
}

/** A failed attempt: the typed error, and what it spent before failing. */
export interface AttemptFailure {
  readonly ok: false;
  readonly error: OrchestratorError;
  readonly usage: AgentUsage | undefined;
  readonly costUsd: number | undefined;
  readonly sdkSessionId: string | undefined;
  readonly modelUsage?: Readonly<Record<string, ModelUsageFigures>> | undefined;
  readonly turns?: number | undefined;
}

/** Everything one attempt needs. Small on purpose: the runtime owns the rest. */
export interface AttemptInput {
  readonly agentId: string;
  readonly spec: AgentSpec;
  readonly prompt: string;
  readonly cwd: string;
  /** Other agents work in this folder too: the warm pool may keep start-up spares for it. */
  readonly sharedCwd: boolean;
  readonly env: Record<string, string>;
  readonly outputSchema: Record<string, unknown> | undefined;
  readonly resume: { sdkSessionId: string; fork: boolean } | undefined;
  readonly sessionStore: SessionStore | undefined;
  /** Redacts tool outputs before the model sees them. */
  readonly redactor?: Redactor | undefined;
  readonly toolHost: AgentToolHost | undefined;
  readonly timeoutMs: number;
  /** Aborted when the agent must stop now (interrupt request, shutdown). */
  readonly signal: AbortSignal;
  readonly processes: ProcessRegistry;
  /** Pre-started processes to take, when the runtime keeps a pool. */
  readonly warmPool: WarmPool | undefined;
  /** Takes the model credentials of a spare this attempt runs on (see `WarmTake.adopt`). */
  readonly adoptSpareCredentials?: ((credentials: SpareCredentials) => void) | undefined;
  /** Records events in order (the runtime appends them to the session log). */
  record(events: NewEvent[]): void;
  /** Settles once every event recorded so far is committed; never rejects. */
  recorded(): Promise<void>;
  setState(state: AgentState): void;
  /** Told once the attempt has launched: a way to read its process id (for resource samples). */
  onLaunched?(pid: () => number | undefined): void;
}

/**
 * Runs one attempt of an agent: one SDK query (cold, or claimed from the warm pool), its
 * messages turned into events as they stream, bounded by a timeout and an interrupt signal,
 * and its child process reaped before the promise settles. Never throws: every ending is an
 * {@link AttemptSuccess} or a typed {@link AttemptFailure}.
 */
export async function runAttempt(input: AttemptInput): Promise<AttemptSuccess | AttemptFailure> {
  let stopReason: 'timeout' | 'interrupt' | undefined;
  let sdkSessionId: string | undefined;
  // A query can end several runs, each with its own `result`: a background subagent's end
  // starts one more turn of the parent. Usage adds up; `total_cost_usd` is already a total.
  let result: SDKResultMessage | undefined;
  let resultBeforeStop = false;
  const spent = new Spent();
  let thrown: unknown;
  // Why Claude Code last refused a StructuredOutput call, to explain a final text-only answer.
  const structuredCalls = new Set<string>();
  let structuredRejection: string | undefined;

  if (input.outputSchema) {
    try {
      outputValidator(input.outputSchema);
    } catch (error) {
      const refused = toOrchestratorError(error, 'INVALID_ARGUMENT');
      return { ok: false, error: refused, usage: undefined, costUsd: undefined, sdkSessionId };
    }
  }

  const usage = new UsageTracker(input.agentId);
  // Settles at the agent's first model answer (its start-up CPU burst is over) or its end;
  // the warm pool starts the replacement spare only then (see WarmPool). Only once that
  // answer is committed, too: starting a spare blocks this event loop for ~10 ms (a
  // synchronous process spawn, the SDK's platform probe), which would hold up the answer's
  // commit and every live view of it.
  const startup = Promise.withResolvers<void>();
  const launched = await launchQuery(input, startup.promise);
  if (!launched) {
    startup.resolve();
    return interruptedBeforeStart(input.signal);
  }
  let launch = launched;
  input.onLaunched?.(() => launch.process()?.pid);

  const stop = (reason: 'timeout' | 'interrupt') => {
    if (stopReason) return;
    stopReason = reason;
    // interrupt() ends the turn within ~0.5 s, even mid-tool; abort() is the backstop.
    launch.stream.interrupt().catch(() => undefined);
    setTimeout(() => launch.abortController.abort(), INTERRUPT_GRACE_MS).unref();
  };
  const timer = setTimeout(() => stop('timeout'), input.timeoutMs);
  const onSignal = () => stop('interrupt');
  if (input.signal.aborted) onSignal();
  else input.signal.addEventListener('abort', onSignal, { once: true });

  const onMessage = (message: SDKMessage): void => {
    if ('session_id' in message && typeof message.session_id === 'string') sdkSessionId ??= message.session_id;
    launch.binding.gate?.observe(message);
    if (message.type === 'result') {
      result = message;
      resultBeforeStop = stopReason === undefined;
      spent.add(message);
      // The process is still alive and at about its largest: one memory sample.
      const sample = resourceSample(input.agentId, launch.process()?.pid);
      if (sample) input.record([sample]);
      return;
    }
    const counted = usage.observe(message);
    if (counted.length > 0) input.record(counted);
    if (input.outputSchema) {
      if (message.type === 'assistant') {
        for (const block of message.message.content) {
          if (block.type === 'tool_use' && block.name === STRUCTURED_OUTPUT_TOOL) structuredCalls.add(block.id);
        }
      } else if (message.type === 'user' && typeof message.message.content !== 'string') {
        for (const block of message.message.content) {
          if (block.type === 'tool_result' && block.is_error && structuredCalls.has(block.tool_use_id)) {
            structuredRejection = previewToolResult(block.content);
          }
        }
      }
    }
    const normalized = normalizeSdkMessage(message, input.agentId);
    if (normalized.events.length > 0) input.record(normalized.events);
    if (normalized.state) input.setState(normalized.state);
    if (message.type === 'assistant') void input.recorded().then(() => startup.resolve());
  };

  // A spare can die between its parking and its take (killed, out of memory) before the pool
  // hears of it: its query then ends before a single message. Claude Code says `init` before
  // its first model request, so nothing was asked of the model yet: the agent starts cold.
  let heard = false;
  const spareDiedUnheard = () => !heard && launch.coldInstead !== undefined && stopReason === undefined;
  try {
    for (;;) {
      try {
        for await (const message of launch.stream) {
          heard = true;
          onMessage(message);
        }
      } catch (error) {
        if (!spareDiedUnheard()) throw error;
      }
      if (!spareDiedUnheard()) break;
      // A stop heard while the dead spare's process was reaped starts nothing.
      const cold = await startColdInstead(input, launch, () => stopReason !== undefined);
      if (!cold) break;
      launch = cold;
    }
  } catch (error) {
    thrown = error;
  } finally {
    const cut = usage.flush();
    if (cut.length > 0) input.record(cut);
    startup.resolve();
    clearTimeout(timer);
    input.signal.removeEventListener('abort', onSignal);
    launch.stream.close();
    const pid = launch.process()?.pid;
    if (pid !== undefined) await input.processes.killPid(pid);
    // Callbacks that still arrive (a hook racing the end) must not write into a finished agent.
    launch.binding.current = undefined;
  }

  const child = launch.process();
  const totals = spent.usage;
  const costUsd = spent.costUsd;
  const modelUsage = spent.modelUsage;
  const fail = (error: OrchestratorError): AttemptFailure => ({
    ok: false,
    error,
    usage: totals,
    costUsd,
    sdkSessionId,
    ...(modelUsage && { modelUsage }),
    ...(result && { turns: spent.turns }),
  });
  const succeeded = result?.subtype === 'success' && !result.is_error;

  // A stop that came after the agent had already finished does not undo its work.
  if (stopReason === 'timeout' && !(succeeded && resultBeforeStop)) {
    return fail(new OrchestratorError('AGENT_TIMEOUT', `the agent did not finish within ${input.timeoutMs} ms`));
  }
  if (stopReason === 'interrupt' && !(succeeded && resultBeforeStop)) {
    const reason = input.signal.reason instanceof OrchestratorError ? input.signal.reason : undefined;
    return fail(reason ?? new OrchestratorError('AGENT_INTERRUPTED', 'the agent was interrupted on request'));
  }
  if (result?.subtype === 'success' && !result.is_error) {
    const structured = (result as { structured_output?: unknown }).structured_output;
    if (input.outputSchema) {
      let problem = await checkStructuredOutputBounded(input.outputSchema, structured);
      if (problem && structured === undefined && structuredRejection) {
        problem = `${problem}; its last StructuredOutput call was refused: ${structuredRejection}`;
      }
      if (problem) return fail(new OrchestratorError('AGENT_OUTPUT_INVALID', problem, { details: { structured } }));
    }
    return {
      ok: true,
      text: result.result,
      structured,
      usage: totals ?? usageOf(result),
      costUsd: costUsd ?? result.total_cost_usd,
      turns: spent.turns,
      durationMs: spent.durationMs,
      sdkSessionId,
      ...(modelUsage && { modelUsage }),
    };
  }
  const stderrTail = child?.stderrTail() ?? '';
  const noSandbox = sandboxUnavailable(
    stderrTail,
    thrown instanceof Error ? thrown.message : undefined,
    ...(result?.subtype === 'error_during_execution' ? result.errors : []),
  );
  if (noSandbox) return fail(noSandbox);
  if (result) return fail(classifyResultError(result, stderrTail));
  return fail(
    classifyThrown(thrown ?? new Error('the agent ended without a result'), {
      exitCode: child?.exitCode() ?? null,
      stderrTail,
    }),
  );
}

function usageOf(result: SDKResultMessage): AgentUsage {
  return {
    inputTokens: result.usage.input_tokens ?? 0,
    outputTokens: result.usage.output_tokens ?? 0,
    cacheReadTokens: result.usage.cache_read_input_tokens ?? 0,
    cacheCreationTokens: result.usage.cache_creation_input_tokens ?? 0,
  };
}

/** An `agent.resources` event with one process's resident memory, or undefined when it cannot be read. */
function resourceSample(agentId: string, pid: number | undefined): NewEvent | undefined {
  if (pid === undefined) return undefined;
  const rssBytes = readRssBytes(pid);
  if (rssBytes === undefined) return undefined;
  return {
    type: 'agent.resources',
    data: { processes: 1, rssBytes, maxRssBytes: rssBytes, samples: [{ pid, rssBytes, agentId }] },
  };
}

/** The SDK's per-model usage in the catalog's spelling. */
function modelUsageOf(result: SDKResultMessage): Record<string, ModelUsageFigures> | undefined {
  const raw = (result as { modelUsage?: Record<string, Record<string, unknown>> }).modelUsage;
  if (!raw || Object.keys(raw).length === 0) return undefined;
  const out: Record<string, ModelUsageFigures> = {};
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);
  for (const [model, usage] of Object.entries(raw)) {
    const oneHour = count(usage.cacheCreationEphemeral1hInputTokens);
    out[model] = {
      inputTokens: count(usage.inputTokens),
      outputTokens: count(usage.outputTokens),
      cacheReadTokens: count(usage.cacheReadInputTokens),
      cacheCreationTokens: count(usage.cacheCreationInputTokens),
      ...(oneHour > 0 && { cacheCreation1hTokens: oneHour }),
      ...(typeof usage.costUSD === 'number' && { costUsd: count(usage.costUSD) }),
      ...(typeof usage.canonicalModel === 'string' && { canonicalModel: usage.canonicalModel }),
    };
  }
  return out;
}

/** What the results of one query spent, summed over its runs. */
class Spent {
  usage: AgentUsage | undefined;
  costUsd: number | undefined;
  /** Per model, cumulative over the query: the latest result's figures. */
  modelUsage: Record<string, ModelUsageFigures> | undefined;
  turns = 0;
  durationMs = 0;

  add(result: SDKResultMessage): void {
    const more = usageOf(result);
    const sum = this.usage;
    this.usage = sum
      ? {
          inputTokens: sum.inputTokens + more.inputTokens,
          outputTokens: sum.outputTokens + more.outputTokens,
          cacheReadTokens: sum.cacheReadTokens + more.cacheReadTokens,
          cacheCreationTokens: sum.cacheCreationTokens + more.cacheCreationTokens,
        }
      : more;
    // Claude Code's cost is cumulative over the process; keep the highest seen.
    this.costUsd = Math.max(this.costUsd ?? 0, result.total_cost_usd ?? 0);
    this.modelUsage = modelUsageOf(result) ?? this.modelUsage;
    this.turns += result.num_turns;
    this.durationMs += result.duration_ms;
  }
}

/** The attempt of an agent stopped before its process was started or given its prompt. */
export function interruptedBeforeStart(signal: AbortSignal): AttemptFailure {
  const error =
    signal.reason instanceof OrchestratorError
      ? signal.reason
      : new OrchestratorError('AGENT_INTERRUPTED', 'the agent was interrupted before it started');
  return { ok: false, error, usage: undefined, costUsd: undefined, sdkSessionId: undefined };
}
