import { describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { StateChunker } from '../../src/sessions/chunks.ts';
import { compileWorkflow, replay } from '../../src/workflow/index.ts';

// A definition's chunk is made once per definition object (canonical JSON, hash, deflated
// bytes), so a compiled workflow started again does not pay for it at its first version.

const started = (sessionId: string, definition: object): AnyEvent[] =>
  [
    { type: 'session.created', data: {} },
    { type: 'workflow.started', data: { workflowId: 'wf', name: 'd', definition } },
  ].map((event, i) => ({
    ...event,
    id: `evt_${sessionId}_${i}`,
    sessionId,
    seq: i + 1,
    ts: '2026-12-07T10:00:00.000Z',
    source: 'test',
    correlationId: null,
    causationId: null,
  })) as unknown as AnyEvent[];

const definitionOf = (text: string) =>
  Object.freeze({
    name: 'd',
    nodes: Object.freeze([Object.freeze({ id: 'a', kind: 'human', prompt: text.repeat(200) })]),
  });

const definitionChunk = (cut: ReturnType<StateChunker['cut']>) =>
  cut.entries.find(([path]) => path === 'workflows/wf/definition')?.[1] as string;

describe('the definition chunk', () => {
  it('is made once per definition object and handed to every session that records it', () => {
    const definition = definitionOf('Why? ');
    const first = new StateChunker().cut(replay('ses_a', started('ses_a', definition)));
    const second = new StateChunker().cut(replay('ses_b', started('ses_b', definition)));
    const hash = definitionChunk(first);
    expect(definitionChunk(second)).toBe(hash);
    // The same bytes, not made again; each session's first version still hands them out, for
    // its store may not have them.
    expect(second.newBlobs.get(hash)).toBe(first.newBlobs.get(hash));
    // An equal definition that is another object: the same chunk, made anew.
    const equal = new StateChunker().cut(replay('ses_c', started('ses_c', definitionOf('Why? '))));
    expect(definitionChunk(equal)).toBe(hash);
    expect(equal.newBlobs.get(hash)).not.toBe(first.newBlobs.get(hash));
    expect(Buffer.from(equal.newBlobs.get(hash) as Uint8Array)).toEqual(
      Buffer.from(first.newBlobs.get(hash) as Uint8Array),
    );
    // Another definition, another chunk.
    const other = new StateChunker().cut(replay('ses_d', started('ses_d', definitionOf('Why not? '))));
    expect(definitionChunk(other)).not.toBe(hash);
  });

  it('is not handed out again by a chunker that stored it', () => {
    const definition = definitionOf('Stored? ');
    const chunker = new StateChunker();
    const state = replay('ses_e', started('ses_e', definition));
    const cut = chunker.cut(state);
    const hash = definitionChunk(cut);
    chunker.markStored(cut.newBlobs.keys());
    chunker.reset();
    chunker.markStored([hash]);
    expect(chunker.cut(state).newBlobs.has(hash)).toBe(false);
  });

  it('is the plain JSON of the compiled definition: the same for one written in another order, and after a round trip', () => {
    const a = compileWorkflow(
      {
        name: 'd',
        agents: { c: { systemPrompt: 's', model: 'm' } },
        nodes: [{ id: 'a', agent: 'c', task: 't', retry: { attempts: 2 } }],
      },
      { file: 'a.yaml' },
    );
    const b = compileWorkflow(
      {
        nodes: [{ retry: { attempts: 2 }, task: 't', agent: 'c', id: 'a' }],
        agents: { c: { model: 'm', systemPrompt: 's' } },
        name: 'd',
      },
      { file: 'b.yaml' },
    );
    const hashOf = (sessionId: string, definition: object) =>
      definitionChunk(new StateChunker().cut(replay(sessionId, started(sessionId, definition))));
    const hash = hashOf('ses_f', a.definition);
    expect(hashOf('ses_g', b.definition)).toBe(hash);
    // As a resumed session reads it back from its log or a version: parsed from its JSON.
    expect(hashOf('ses_h', JSON.parse(JSON.stringify(a.definition)) as object)).toBe(hash);
  });
});
