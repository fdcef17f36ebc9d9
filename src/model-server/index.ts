/**
 * The scripted model server: an offline Anthropic Messages API look-alike that answers the
 * real Claude Code binary (through `ANTHROPIC_BASE_URL`) from YAML scenarios, with tool calls,
 * structured output, delays and injected faults. Format reference: `docs/scenarios.md`.
 */

export type { ModelServerCommandOptions } from './command.ts';
export { runModelServerCommand } from './command.ts';
export type { ReplayAnswer, ReplayConversation, ReplayExchange, ReplayIdentity } from './replay.ts';
export { groupReplay, ReplayState, replayIdentity } from './replay.ts';
export type { RequestFacts } from './request.ts';
export { readRequest, selectScript, selectTurn } from './request.ts';
export type { ModelLogLine } from './request-log.ts';
export type {
  Scenario,
  ScenarioInput,
  ScenarioScript,
  ScenarioTurn,
  ScriptMatch,
  StopReason,
  TokenUsage,
  TurnContent,
  TurnFault,
} from './scenario.ts';
export { STRUCTURED_OUTPUT_TOOL } from './scenario.ts';
export type { ScenarioProblem } from './scenario-file.ts';
export { compileScenario, loadScenario, parseScenario } from './scenario-file.ts';
export { startModelServer } from './server.ts';
export type {
  ModelAnswerKind,
  ModelExchangeRecord,
  ModelRequestRecord,
  ModelServer,
  ModelServerLogger,
  ModelServerOptions,
} from './server-types.ts';
