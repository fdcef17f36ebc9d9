/** The agent runtime: Claude Code agents on the real Claude Agent SDK, recorded as events. */
export type { AgentUsage, AttemptFailure, AttemptSuccess, ModelUsageFigures } from './attempt.ts';
export { classifyResultError, classifyThrown, fromApiStatus } from './classify.ts';
export { finishedAnswer } from './finished-answer.ts';
export { redactLocalTranscripts, removeLocalTranscripts } from './local-transcripts.ts';
export type { NormalizedMessage } from './normalize.ts';
export { normalizeSdkMessage, previewToolResult } from './normalize.ts';
export type { OrphanSweep, SweepOptions, SweptProcess } from './orphans.ts';
export { recordOrphanSweep, sweepOrphans } from './orphans.ts';
export { checkStructuredOutput, checkStructuredOutputBounded, outputValidator } from './output-schema.ts';
export type { ProcessAttribution } from './process-tags.ts';
export {
  PROCESS_OWNER_VARIABLE,
  PROCESS_SCOPE_VARIABLE,
  PROCESS_TAG_VARIABLE,
  processIdentity,
} from './process-tags.ts';
export type { TrackedProcess } from './processes.ts';
export { ProcessRegistry, readRssBytes } from './processes.ts';
export { AgentRuntime } from './runtime.ts';
export type {
  AgentCredentials,
  AgentHandle,
  AgentResult,
  AgentRuntimeOptions,
  AgentTask,
  WarmStartWant,
} from './runtime-options.ts';
export type { ToolHostShape } from './sdk-options.ts';
export { TranscriptSessionStore } from './session-store.ts';
export type { ProcessSlot } from './slots.ts';
export { SlotPool } from './slots.ts';
export type { AgentSpec, RetrySpec } from './spec.ts';
export { backoffDelay } from './spec.ts';
export type { NodeBudget, RunningAgent, SpendGate, SpendRequest, SpendVerdict } from './spend.ts';
export type { AgentToolHost, NodeRequest } from './tools.ts';
export { createOrchestratorMcpServer, ORCHESTRATOR_MCP_SERVER, ORCHESTRATOR_TOOLS_RULE } from './tools.ts';
export { UsageTracker } from './usage.ts';
export type { SpareCredentials, SpareTaker, WarmStats } from './warm-pool.ts';
