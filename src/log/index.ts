/** The event log: validated, durable appends to the store, published on the bus once committed. */

export type { EventLogOptions, PayloadRedactor } from './event-log.ts';
export { EventLog } from './event-log.ts';
export type { PayloadLimits, TruncatedField } from './payload-limits.ts';
export { limitPayload, PAYLOAD_LIMIT_DEFAULTS, SHORTENABLE_FIELDS } from './payload-limits.ts';
