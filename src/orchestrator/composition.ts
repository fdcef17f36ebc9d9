import { AgentRuntime, type SpendGate, TranscriptSessionStore } from '../agents/index.ts';
import type { OrchestratorConfig } from '../config/index.ts';
import type { Gateway } from '../gateway/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Logger } from '../logging/index.ts';
import { agentFolders, buildAgentEnv, type Redactor } from '../security/index.ts';
import type { OrchestratorStore } from '../store/index.ts';
import type { OrchestratorGatewayHooks } from './gateway-hooks.ts';
import type { ModelAccess } from './model-access.ts';

/** Anthropic's API, the gateway's upstream when the operator set no `ANTHROPIC_BASE_URL`. */
const ANTHROPIC_API_URL = 'https://api.anthropic.com';

/** The key of the agents' shared environment behind the gateway: each agent's own token replaces it. */
const GATEWAY_TOKEN_PENDING = 'orch-agt-pending';

/**
 * The model gateway of an orchestrator, in front of Anthropic (or the operator's
 * `ANTHROPIC_BASE_URL`, or the scripted model server), with the orchestrator's hooks.
 * `log` is asked for at each event: the gateway starts before the orchestrator's log exists.
 */
export async function startOrchestratorGateway(options: {
  readonly config: OrchestratorConfig;
  readonly model: ModelAccess;
  readonly logger: Logger;
  readonly hooks: OrchestratorGatewayHooks;
  readonly log: () => EventLog;
}): Promise<Gateway> {
  const { config, model, logger } = options;
  const { startGateway } = await import('../gateway/index.ts');
  return startGateway({
    hooks: options.hooks.hooks,
    upstream: model.baseUrl ?? ANTHROPIC_API_URL,
    apiKey: model.apiKey,
    log: { append: (sessionId, events) => options.log().append(sessionId, events) },
    maxRetries: config.gatewayMaxRetries,
    firstByteTimeoutMs: config.gatewayFirstByteTimeoutMs,
    idleTimeoutMs: config.gatewayIdleTimeoutMs,
    rateLimits: {
      requests: config.gatewayRpm,
      inputTokens: config.gatewayInputTpm,
      outputTokens: config.gatewayOutputTpm,
    },
    warn: (message, details) => logger.warn(details ?? {}, message),
  });
}

/**
 * The agent runtime of an orchestrator: an allow-listed environment with a HOME and TMPDIR of
 * the agents' own, never the host's; behind the gateway no model key at all (each agent, and
 * each warm spare once claimed, gets a token of its own, and retries are the gateway's).
 */
export function agentRuntime(options: {
  readonly config: OrchestratorConfig;
  readonly log: EventLog;
  readonly store: OrchestratorStore;
  readonly model: ModelAccess;
  readonly gateway: Gateway | undefined;
  readonly redactor: Redactor;
  readonly spendGate: SpendGate;
}): AgentRuntime {
  const { config, log, store, model, gateway, redactor } = options;
  return new AgentRuntime({
    log,
    maxConcurrent: config.maxConcurrentAgents,
    warmPool: config.warmPool,
    warmSpareMaxAgeMs: config.warmMaxAgeMs,
    ...(config.warmStart === 'graph' &&
      config.warmMaxSpares > 0 && {
        warmStart: { maxSpares: config.warmMaxSpares, minFreeMemoryBytes: config.warmMinFreeMb * 1024 * 1024 },
      }),
    // Agents' conversations live in the store too, so another process or machine on the
    // same store can resume them (its Claude Code config folder has never seen them).
    sessionStore: new TranscriptSessionStore(store, { redactor }),
    env: gateway
      ? buildAgentEnv({
          apiKey: GATEWAY_TOKEN_PENDING,
          baseUrl: gateway.url,
          maxRetries: 0,
          ...agentFolders(config.dataDir),
        })
      : buildAgentEnv({ apiKey: model.apiKey, baseUrl: model.baseUrl, ...agentFolders(config.dataDir) }),
    ...(gateway && {
      credentials: (agent) => {
        const minted = gateway.mint(agent);
        return { apiKey: minted.token, baseUrl: gateway.url, release: minted.release };
      },
      // A spare starts before its agent exists: a token of its own, bound at the claim.
      spareCredentials: () => {
        const minted = gateway.mintSpare();
        return {
          apiKey: minted.token,
          baseUrl: gateway.url,
          bind: (agent) => gateway.bind(minted.token, agent),
          release: minted.release,
        };
      },
    }),
    redactor,
    spendGate: options.spendGate,
    resourceSampleMs: config.resourceSampleMs,
    dataDir: config.dataDir,
  });
}
