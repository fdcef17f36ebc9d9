import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OrchestratorConfig } from '../config/index.ts';
import { compileScenario, type ModelServer, type Scenario, startModelServer } from '../model-server/index.ts';
import type { RecordedModel } from '../sessions/index.ts';

/** How agents reach a model: Anthropic (or a gateway) with a key, or the scripted server. */
export interface ModelAccess {
  readonly apiKey: string;
  readonly baseUrl: string | undefined;
  /** The scripted model server, when one was started. */
  readonly scripted: ModelServer | undefined;
  /** One plain sentence for the console. */
  readonly description: string;
  /** What sessions record of it when this process starts or resumes them (a resume reuses the scenario). */
  readonly recorded: RecordedModel;
  close(): Promise<void>;
}

/** Placeholder key for the scripted server; it accepts any key and this one is not a secret. */
const SCRIPTED_KEY = 'scripted-model-server-no-key-needed';

/**
 * A scenario that answers every request with a short text, used when no key is set and no
 * scenario was given: runs complete, and the console says the answers are scripted.
 */
export const FALLBACK_SCENARIO: Scenario = compileScenario({
  name: 'fallback',
  final_text: 'Scripted answer: no ANTHROPIC_API_KEY is set, so the offline scripted model replied.',
  scripts: [
    { name: 'any', turns: ['Scripted answer: no ANTHROPIC_API_KEY is set, so the offline scripted model replied.'] },
  ],
});

/**
 * Decides how agents reach a model. With `ANTHROPIC_API_KEY` set, agents talk to Anthropic,
 * or to `ANTHROPIC_BASE_URL` when the user set one (a gateway or proxy), as Claude Code does.
 * Without a key, or when a scenario is forced, the orchestrator starts its scripted model
 * server on loopback and points the SDK at it.
 */
export async function resolveModelAccess(
  config: OrchestratorConfig,
  options: { scenario?: string | Scenario | undefined },
): Promise<ModelAccess> {
  if (config.anthropicApiKey && options.scenario === undefined) {
    return {
      apiKey: config.anthropicApiKey,
      baseUrl: config.anthropicBaseUrl,
      scripted: undefined,
      description: `${
        config.anthropicBaseUrl
          ? `model: Anthropic API through ${config.anthropicBaseUrl}`
          : 'model: Anthropic API (ANTHROPIC_API_KEY is set)'
      }${config.modelLog ? '; the model log (--model-log, ORCHESTRATOR_MODEL_LOG) is written by the offline scripted model only' : ''}`,
      recorded: { kind: 'anthropic' },
      close: async () => undefined,
    };
  }
  const scenario = options.scenario ?? FALLBACK_SCENARIO;
  const server = await startModelServer({
    scenario,
    logger: { info: () => undefined, warn: () => undefined },
    requestLog: config.modelLog,
  });
  const recorded: RecordedModel =
    typeof scenario === 'string'
      ? {
          kind: 'scripted',
          scenario: path.resolve(scenario),
          scenarioSha256: createHash('sha256')
            .update(await readFile(scenario))
            .digest('hex'),
          scenarioName: server.scenario.name,
        }
      : { kind: 'scripted', scenarioName: scenario.name };
  const what =
    typeof scenario === 'string'
      ? `scenario ${path.relative(process.cwd(), scenario) || scenario}`
      : `scenario "${scenario.name ?? 'inline'}"`;
  const why = config.anthropicApiKey ? 'forced by --model-server' : 'no ANTHROPIC_API_KEY is set';
  return {
    apiKey: SCRIPTED_KEY,
    baseUrl: server.url,
    scripted: server,
    description: `model: offline scripted model server at ${server.url} (${why}; ${what})${config.modelLog ? `; its requests are logged to ${config.modelLog}` : ''}`,
    recorded,
    close: () => server.close(),
  };
}
