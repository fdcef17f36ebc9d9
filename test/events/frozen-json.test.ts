import { describe, expect, it } from 'vitest';
import { jsonOf, knownJson, rememberJson, stringifyRecord } from '../../src/events/index.ts';
import { compileWorkflow } from '../../src/workflow/index.ts';

// A compiled definition is serialized once, by its compiler, and that text is spliced into
// what records it (the `workflow.started` payload, the versions' definition chunk): the output
// must stay byte for byte what JSON.stringify gives.

const workflow = () =>
  compileWorkflow({
    name: 'texts',
    agents: { a: { systemPrompt: 'Say "hi" \u2028 and \\ back' } },
    nodes: [
      { id: 'one', agent: 'a', task: 'first' },
      { id: 'two', agent: 'a', task: 'then {{nodes.one.output}}', dependsOn: ['one'] },
    ],
  });

describe('JSON texts made once', () => {
  it('registers the definition of a compiled workflow, as JSON.stringify gives it', () => {
    const compiled = workflow();
    expect(Object.isFrozen(compiled.definition)).toBe(true);
    expect(knownJson(compiled.definition)).toBe(JSON.stringify(compiled.definition));
    // The parsed text of a registered definition is the definition (nothing lost or added).
    expect(JSON.parse(knownJson(compiled.definition) as string)).toEqual(compiled.definition);
  });

  it('knows nothing of values nobody registered', () => {
    expect(knownJson({ a: 1 })).toBeUndefined();
    expect(knownJson('text')).toBeUndefined();
    expect(knownJson(null)).toBeUndefined();
    expect(jsonOf({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(jsonOf(undefined)).toBeUndefined();
  });

  it('splices registered fields into a record exactly where JSON.stringify puts them', () => {
    const compiled = workflow();
    const records: Record<string, unknown>[] = [
      { workflowId: 'wf_1', name: 'n "q"', definition: compiled.definition, inputs: { x: [1, null] }, file: 'w.yaml' },
      { definition: compiled.definition },
      { before: undefined, definition: compiled.definition, fn: () => 1, after: 'é\u0000' },
      { 'key "quoted"': 1, definition: undefined },
      {},
    ];
    for (const record of records) expect(stringifyRecord(record)).toBe(JSON.stringify(record));
  });

  it('uses the registered text, not a new serialization', () => {
    // What the caller promises (the value never changes) is what makes the text safe to keep:
    // a text registered for a value is what a record holding it is written with.
    const value = Object.freeze({ big: 'payload' });
    rememberJson(value, '{"big":"payload"}');
    expect(stringifyRecord({ value })).toBe('{"value":{"big":"payload"}}');
    const marked = {};
    rememberJson(marked, '{"registered":true}');
    expect(stringifyRecord({ marked })).toBe('{"marked":{"registered":true}}');
  });
});
