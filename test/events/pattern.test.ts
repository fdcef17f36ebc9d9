import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AnyEvent,
  compileFilter,
  compilePattern,
  EVENT_TYPES,
  EventBus,
  type EventType,
  type FilterTypes,
  type OrchestratorEvent,
  type PatternTypes,
} from '../../src/events/index.ts';

describe('compilePattern', () => {
  it('matches globs where * spans any characters, dots included', () => {
    const agent = compilePattern('agent.*');
    expect(agent('agent.failed')).toBe(true);
    expect(agent('agent.')).toBe(true);
    expect(agent('agents.failed')).toBe(false);
    expect(agent('workflow.agent.x')).toBe(false);
    const failed = compilePattern('*.failed');
    expect(failed('agent.failed')).toBe(true);
    expect(failed('system.subscriber_failed')).toBe(false);
    expect(compilePattern('*failed')('system.subscriber_failed')).toBe(true);
    expect(compilePattern('*')('anything.at.all')).toBe(true);
    expect(compilePattern('a*t.*d')('agent.failed')).toBe(true);
  });

  it('treats dots literally, not as regex wildcards', () => {
    expect(compilePattern('agent.failed')('agentXfailed')).toBe(false);
    expect(compilePattern('agent.failed')('agent.failed')).toBe(true);
  });

  it('rejects characters outside the glob alphabet', () => {
    for (const bad of ['', 'agent.(x)', 'agent.?', 'a b', 'agent.[f]']) {
      expect(() => compilePattern(bad), bad).toThrow(/invalid event pattern/);
    }
  });
});

describe('compileFilter', () => {
  it('selects every known type when neither types nor pattern is given', () => {
    const all = compileFilter({});
    expect(EVENT_TYPES.every((t) => all.matchesType(t))).toBe(true);
    expect(all.sessionId).toBeNull();
    expect(compileFilter({ sessionId: 's1' }).sessionId).toBe('s1');
  });

  it('agrees with the type-level matcher on every catalog type', () => {
    const filter = compileFilter({ pattern: ['agent.*', '*.created'] });
    const matched = EVENT_TYPES.filter((t) => filter.matchesType(t));
    expect(matched).toContain('agent.failed');
    expect(matched).toContain('session.created');
    expect(matched).not.toContain('workflow.started');
    expect(matched.every((t) => t.startsWith('agent.') || t.endsWith('.created'))).toBe(true);
  });

  it('rejects a non-object filter', () => {
    expect(() => compileFilter(null as never)).toThrow(/must be an object/);
    expect(() => compileFilter(['agent.*'] as never)).toThrow(/must be an object/);
  });
});

describe('typed filters', () => {
  it('narrows the handler event to the listed types', () => {
    const bus = new EventBus();
    bus.subscribe({ types: ['agent.failed'] }, (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'agent.failed'>();
      expectTypeOf(event.data.error.code).toEqualTypeOf<string>();
    });
    bus.subscribe({ types: ['agent.failed', 'workflow.started'] }, (event) => {
      if (event.type === 'workflow.started') expectTypeOf(event.data.workflowId).toEqualTypeOf<string>();
      else expectTypeOf(event.data.error.message).toEqualTypeOf<string>();
    });
    bus.close();
  });

  it('narrows by glob patterns at the type level', () => {
    // Written against the catalog's own names so the test follows the catalog as it grows.
    expectTypeOf<PatternTypes<'workflow.*'>>().toEqualTypeOf<Extract<EventType, `workflow.${string}`>>();
    expectTypeOf<PatternTypes<'workflow.*'>>().toExtend<EventType>();
    expectTypeOf<'workflow.started'>().toExtend<PatternTypes<'workflow.*'>>();
    expectTypeOf<'agent.failed'>().not.toExtend<PatternTypes<'workflow.*'>>();
    expectTypeOf<PatternTypes<'*.failed'>>().toEqualTypeOf<Extract<EventType, `${string}.failed`>>();
    expectTypeOf<PatternTypes<'*'>>().toEqualTypeOf<EventType>();
    expectTypeOf<PatternTypes<string>>().toEqualTypeOf<EventType>();
    expectTypeOf<PatternTypes<['agent.f*', 'user.*']>>().toEqualTypeOf<
      Extract<EventType, `agent.f${string}` | `user.${string}`>
    >();
    expectTypeOf<FilterTypes<{ types: ['user.input']; pattern: 'session.*' }>>().toEqualTypeOf<
      'user.input' | Extract<EventType, `session.${string}`>
    >();
    expectTypeOf<FilterTypes<{ sessionId: 's' }>>().toEqualTypeOf<EventType>();
    const bus = new EventBus();
    const stream = bus.stream({ pattern: '*.failed', sessionId: 's' });
    type Item = Extract<Awaited<ReturnType<typeof stream.next>>, { done?: false }>['value'];
    expectTypeOf<Extract<Item, { kind: 'event' }>['event']>().toEqualTypeOf<
      Extract<AnyEvent, { type: `${string}.failed` }>
    >();
    expectTypeOf<Extract<Item, { kind: 'event' }>['event']>().toExtend<OrchestratorEvent>();
    expectTypeOf<Extract<Item, { kind: 'gap' }>['missed']>().toEqualTypeOf<number>();
    bus.close();
  });

  it('rejects an unknown type name at compile time', () => {
    const bus = new EventBus();
    // @ts-expect-error 'agent.nope' is not an event type
    expect(() => bus.subscribe({ types: ['agent.nope'] }, () => {})).toThrow(/unknown event type/);
    bus.close();
  });
});
