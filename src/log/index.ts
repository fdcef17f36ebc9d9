/** The event log: validated, durable appends to the store, published on the bus once committed. */

export type { EventLogOptions, PayloadRedactor } from './event-log.ts';
export { EventLog } from './event-log.ts';
