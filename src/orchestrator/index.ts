/** The programmatic API: open an orchestrator, run and resume workflows, watch and steer them. */
export type { ControlAction, ControlReceipt, ControlRequest } from './control.ts';
export { checkControlRequest, recordControl, requestControl } from './control.ts';
export type { OwnedSession, TakeoverReason } from './leases.ts';
export { SessionLeases } from './leases.ts';
export type { ModelAccess } from './model-access.ts';
export { FALLBACK_SCENARIO, resolveModelAccess } from './model-access.ts';
export type { OrchestratorOptions, RuleChange, StartWorkflowOptions } from './orchestrator.ts';
export { Orchestrator } from './orchestrator.ts';
export { WorkflowHandle } from './workflow-handle.ts';
