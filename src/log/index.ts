/** The event log: validated, durable appends to the store, published on the bus once committed. */
export { EventLog } from './event-log.ts';
export type { EventLogOptions } from './event-log.ts';
