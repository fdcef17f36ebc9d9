import { type AnyEvent, type EventDataMap, type EventType, internEventType } from '../events/index.ts';

/** An event's type and payload, narrowed together like `AnyEvent`. */
export type EventView = { [K in EventType]: { readonly type: K; readonly data: EventDataMap[K] } }[EventType];

/**
 * The event with its type interned (see `internEventType`): a switch over it compares
 * pointers instead of characters, which is most of the cost of a reducer step otherwise.
 * Undefined for a type outside the catalog.
 */
export function viewOf(event: AnyEvent): EventView | undefined {
  // The monitor looks at each event three times in a row (metrics, alerts, Prometheus): the
  // last view is kept so that it is built once.
  if (event === lastEvent) return lastView;
  const type = internEventType(event.type);
  lastEvent = event;
  lastView = type === undefined ? undefined : ({ type, data: event.data } as EventView);
  return lastView;
}

let lastEvent: AnyEvent | undefined;
let lastView: EventView | undefined;
