import type { AnyEvent, EventDataMap } from '../events/index.ts';

/** The model a process ran a session against, as recorded in `session.created` and `session.resumed`. */
export type RecordedModel = NonNullable<EventDataMap['session.created']['model']>;

/**
 * The model the session was last run against: the `model` of its latest `session.created` or
 * `session.resumed` that records one; undefined for a session that never recorded it (made
 * before it was recorded, or by a fork or an import that has not run yet).
 */
export function recordedModel(events: Iterable<AnyEvent>): RecordedModel | undefined {
  let model: RecordedModel | undefined;
  for (const event of events) {
    if ((event.type === 'session.created' || event.type === 'session.resumed') && event.data.model !== undefined) {
      model = event.data.model;
    }
  }
  return model;
}
