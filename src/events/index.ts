/** Typed events: the catalog of types, the envelope, ids, and the in-process bus. */

export type { EventDataMap, EventType } from './catalog.ts';
export { EVENT_DATA_SCHEMAS, EVENT_TYPES, isEventType } from './catalog.ts';
export type { AnyEvent, NewEvent, OrchestratorEvent, PendingEvent } from './envelope.ts';
export { prepareEvent } from './envelope.ts';
export { newId, newPrefixedId } from './ids.ts';
