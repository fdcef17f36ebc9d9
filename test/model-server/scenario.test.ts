import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOrchestratorError, type OrchestratorError } from '../../src/errors/index.ts';
import { compileScenario, loadScenario, parseScenario, type ScenarioProblem } from '../../src/model-server/index.ts';

function problemsOf(run: () => unknown): { error: OrchestratorError; problems: ScenarioProblem[] } {
  try {
    run();
  } catch (error) {
    if (!isOrchestratorError(error, 'SCENARIO_INVALID')) throw error;
    return { error, problems: error.details.problems as ScenarioProblem[] };
  }
  throw new Error('expected SCENARIO_INVALID');
}

describe('parseScenario', () => {
  it('compiles a scenario with defaults, shorthand turns and every content kind', () => {
    const scenario = parseScenario(
      `
name: demo
scripts:
  - name: one
    match: { system: planner, user: '/^hello/i', model: opus }
    turns:
      - Just text.
      - content:
          - text: calling
          - tool_use: { name: mcp__memory__put, input: { key: a } }
          - structured_output: { ok: true }
        usage: { input_tokens: 5, cache_read_input_tokens: 3 }
        stop_reason: max_tokens
        delay_ms: 10
        chunk_delay_ms: 2
        fault: { status: 429, retry_after: 2, times: 3 }
  - turns: []
`,
      'demo.yaml',
    );
    expect(scenario.name).toBe('demo');
    expect(scenario.source).toBe('demo.yaml');
    expect(scenario.finalText).toBe('Done.');
    expect(Object.isFrozen(scenario)).toBe(true);
    const [one, catchAll] = scenario.scripts;
    expect(one?.match?.user?.test('HELLO there')).toBe(true);
    expect(one?.match?.system?.source).toBe('planner');
    expect(catchAll?.name).toBe('scripts[1]');
    expect(catchAll?.match).toBeUndefined();
    expect(one?.turns[0]).toEqual({
      content: [{ type: 'text', text: 'Just text.' }],
      usage: {},
      stopReason: undefined,
      delayMs: 0,
      chunkDelayMs: 0,
      fault: undefined,
    });
    expect(one?.turns[1]).toEqual({
      content: [
        { type: 'text', text: 'calling' },
        { type: 'tool_use', name: 'mcp__memory__put', input: { key: 'a' }, id: undefined },
        { type: 'structured_output', value: { ok: true } },
      ],
      usage: { inputTokens: 5, cacheReadInputTokens: 3 },
      stopReason: 'max_tokens',
      delayMs: 10,
      chunkDelayMs: 2,
      fault: {
        type: 'status',
        status: 429,
        retryAfterSeconds: 2,
        message: undefined,
        shouldRetry: undefined,
        times: 3,
      },
    });
  });

  it('reads `times: always` as unlimited and allows an empty turn only then', () => {
    const scenario = parseScenario(
      'scripts:\n  - turns:\n      - { content: [], fault: { cut_after_events: 2, times: always } }\n',
    );
    expect(scenario.scripts[0]?.turns[0]?.fault).toEqual({ type: 'cut', afterEvents: 2, times: Infinity });
    const { problems } = problemsOf(() => parseScenario('scripts:\n  - turns:\n      - { content: [] }\n', 'e.yaml'));
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'scripts[0].turns[0].content',
        line: 3,
        message: expect.stringMatching(/at least one/),
      }),
    ]);
  });

  it('reports every problem at once with file, line, column and field', () => {
    const text = [
      'name: broken', // 1
      'scripts:', // 2
      '  - name: a', // 3
      '    colour: red', // 4
      '    match: { user: "(unclosed" }', // 5
      '    turns:', // 6
      '      - content:', // 7
      '          - text: fine', // 8
      '        fault: { status: "soon" }', // 9
      '      - content:', // 10
      '          - { text: two, tool_use: { name: Write } }', // 11
      '        stop_reason: finished', // 12
    ].join('\n');
    const { error, problems } = problemsOf(() => parseScenario(text, 'broken.yaml'));
    expect(error.code).toBe('SCENARIO_INVALID');
    expect(error.details.file).toBe('broken.yaml');
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(byPath['scripts[0].colour']).toMatchObject({ line: 4, column: 5, message: 'unknown field "colour"' });
    expect(byPath['scripts[0].match.user']).toMatchObject({ line: 5 });
    expect(byPath['scripts[0].match.user']?.message).toMatch(/not a valid regular expression/);
    expect(byPath['scripts[0].turns[0].fault.status']).toMatchObject({ line: 9 });
    expect(byPath['scripts[0].turns[0].fault.status']?.message).toMatch(/expected number.*got "soon"/);
    expect(byPath['scripts[0].turns[1].content[0]']).toMatchObject({ line: 11 });
    expect(byPath['scripts[0].turns[1].content[0]']?.message).toMatch(
      /exactly one of text, tool_use, structured_output/,
    );
    expect(byPath['scripts[0].turns[1].stop_reason']).toMatchObject({ line: 12 });
    expect(byPath['scripts[0].turns[1].stop_reason']?.message).toMatch(/got "finished"/);
    expect(error.message).toContain('broken.yaml:4:5 scripts[0].colour: unknown field "colour"');
  });

  it('rejects a fault with both or neither of status and cut_after_events, and stray status options', () => {
    const yaml = (fault: string) => `scripts:\n  - turns:\n      - content: [{ text: x }]\n        fault: ${fault}\n`;
    expect(problemsOf(() => parseScenario(yaml('{ status: 429, cut_after_events: 1 }'))).problems[0]?.message).toMatch(
      /exactly one of status, cut_after_events/,
    );
    expect(problemsOf(() => parseScenario(yaml('{ times: 2 }'))).problems[0]?.line).toBe(4);
    const stray = problemsOf(() => parseScenario(yaml('{ cut_after_events: 1, retry_after: 3 }'))).problems;
    expect(stray.map((p) => p.path)).toEqual(['scripts[0].turns[0].fault.retry_after']);
  });

  it('rejects duplicate names and scripts hidden behind a catch-all', () => {
    const { problems } = problemsOf(() =>
      parseScenario(
        'scripts:\n  - { name: a, match: { user: x }, turns: [hi] }\n  - { name: a, turns: [hi] }\n  - { name: b, turns: [hi] }\n',
      ),
    );
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['scripts[1].name', 3],
      ['scripts[2]', 4],
    ]);
    expect(problems[1]?.message).toMatch(/unreachable: scripts\[1\]/);
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems } = problemsOf(() => parseScenario('scripts:\n  - turns: [a\n  - b: c\n', 'syntax.yaml'));
    expect(problems[0]?.path).toBe('(yaml)');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it('reports a scenario with neither scripts nor replay on the root, and an empty file', () => {
    expect(problemsOf(() => parseScenario('name: x\n')).problems[0]).toEqual({
      path: 'scripts',
      line: 1,
      column: 1,
      message: 'expected at least one script (or a `replay` list)',
    });
    expect(problemsOf(() => parseScenario('')).problems[0]?.path).toBe('(root)');
  });
});

describe('compileScenario and loadScenario', () => {
  it('validates a plain object, naming the field without a line', () => {
    expect(compileScenario({ scripts: [{ turns: ['hi'] }] }).scripts[0]?.turns[0]?.content).toEqual([
      { type: 'text', text: 'hi' },
    ]);
    const { problems } = problemsOf(() => compileScenario({ scripts: [{ turns: [{ content: [{ text: 3 }] }] }] }));
    expect(problems[0]).toMatchObject({ path: 'scripts[0].turns[0].content[0].text', line: undefined });
  });

  it('loads the sample scenario and reports an unreadable file as SCENARIO_INVALID', async () => {
    const scenario = await loadScenario(join(import.meta.dirname, '../../examples/scenarios/hello.yaml'));
    expect(scenario.scripts.map((s) => s.name)).toEqual(['planner', 'writer', 'greeter']);
    await expect(loadScenario('/nonexistent/scenario.yaml')).rejects.toMatchObject({ code: 'SCENARIO_INVALID' });
  });
});
