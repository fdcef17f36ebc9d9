/** Typed events: the catalog of types, the envelope, ids, and the in-process bus. */

export { DEFAULT_BUFFER_SIZE, DEFAULT_HANDLER_TIMEOUT_MS, EventBus } from './bus.ts';
export type {
  EventBusOptions,
  EventGap,
  EventHandler,
  EventReader,
  StreamItem,
  StreamOptions,
  SubscribeOptions,
  SubscriberFailure,
  SubscriberOverflow,
  Subscription,
  SubscriptionStats,
} from './bus-types.ts';
export { canonicalJson, sha256Hex } from './canonical-json.ts';
export type { AgentState, EventDataMap, EventType } from './catalog.ts';
export { AGENT_STATES, dataSchemaOf, EVENT_TYPES, internEventType, isEventType } from './catalog.ts';
export type { AnyEvent, NewEvent, OrchestratorEvent, PendingEvent } from './envelope.ts';
export { isTypedEvent, prepareEvent, typedEvent, typedRecord } from './envelope.ts';
export { jsonOf, knownJson, rememberJson, stringifyRecord } from './frozen-json.ts';
export { newId, newPrefixedId } from './ids.ts';
export type { CompiledFilter, EventFilter, FilteredEvent, FilterTypes, PatternTypes } from './pattern.ts';
export { compileFilter, compilePattern } from './pattern.ts';
export type { Severity } from './severity.ts';
export { eventSeverity, SEVERITIES, severityRank } from './severity.ts';
export type { EventStream, StreamState } from './stream.ts';
