import type { OrchestratorConfig } from '../config/index.ts';
import type { OrchestratorError } from '../errors/index.ts';
import type { NewEvent } from '../events/index.ts';
import type { budgetGate, ExchangeRecorder, GateLimit, GatewayHooks } from '../gateway/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Redactor } from '../security/index.ts';
import type { TranscriptStore } from '../store/index.ts';

/** What the gateway's hooks need of an orchestrator that exists only once the gateway has started. */
export interface HookTarget {
  budgetLimits(
    sessionId: string,
    agent: { workflowId?: string; agentType: string },
  ): ReadonlyArray<{
    readonly scope: 'session' | 'workflow' | 'agentType';
    readonly limitUsd: number;
    readonly action: 'fail' | 'pause';
  }>;
  append(sessionId: string, events: NewEvent[]): Promise<unknown>;
  stopAgent(agentId: string, error: OrchestratorError): void;
  pause(sessionId: string, reason: string): void;
}

/** The hooks the orchestrator plugs into its gateway, and the two it keeps handles on. */
export interface OrchestratorGatewayHooks {
  readonly hooks: readonly GatewayHooks[];
  readonly budgets: ReturnType<typeof budgetGate>;
  readonly recorder: ExchangeRecorder | undefined;
}

/**
 * Budgets per request first (nothing is forwarded past a refusal), then the recorder when
 * `ORCHESTRATOR_GATEWAY_RECORD` is on. The gateway starts before the orchestrator exists, so the
 * hooks reach it through `target()`, bound once it is built; a request before that has no limits.
 */
export async function orchestratorGatewayHooks(options: {
  readonly config: OrchestratorConfig;
  readonly store: Pick<TranscriptStore, 'appendTranscript'>;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly target: () => HookTarget | undefined;
}): Promise<OrchestratorGatewayHooks> {
  // The gateway's modules load when an orchestrator starts one, not when the library is imported (issue 15).
  const { budgetGate, ExchangeRecorder } = await import('../gateway/index.ts');
  const { target } = options;
  const budgets = budgetGate({
    limits: (agent): readonly GateLimit[] => {
      const scopes = target()?.budgetLimits(agent.sessionId, agent) ?? [];
      const node = agent.nodeBudget;
      if (!node || (node.usd === undefined && node.tokens === undefined)) return scopes;
      // A node's budget fails the node when reached (it cannot be raised on resume, so pausing
      // would only pause again); the workflow's `onFailure` decides what follows.
      return [...scopes, { scope: 'node', limitUsd: node.usd, limitTokens: node.tokens, action: 'fail' }];
    },
    record: (sessionId, data) => {
      void target()
        ?.append(sessionId, [{ type: 'budget.exhausted', data, source: 'gateway' } as NewEvent])
        .catch(() => undefined);
    },
    stopAgent: (agentId, error) => target()?.stopAgent(agentId, error),
    pause: (sessionId, _workflowId, reason) => target()?.pause(sessionId, reason),
  });
  const recorder = options.config.gatewayRecord
    ? new ExchangeRecorder({
        store: options.store,
        redactor: options.redactor,
        onError: (error) => options.logger.warn({ err: error }, 'gateway: an exchange could not be recorded'),
      })
    : undefined;
  return { hooks: recorder ? [budgets, recorder] : [budgets], budgets, recorder };
}
