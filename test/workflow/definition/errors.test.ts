import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isOrchestratorError, type OrchestratorError } from '../../../src/errors/index.ts';
import { type DefinitionProblem, loadWorkflowFile, parseWorkflow } from '../../../src/workflow/index.ts';
import { problemsOf, where } from './helpers.ts';

/** 1-based column of the first `needle` on 1-based line `line` of `text`. */
function col(text: string, line: number, needle: string): number {
  const content = text.split('\n')[line - 1] ?? '';
  const index = content.indexOf(needle);
  if (index < 0) throw new Error(`'${needle}' is not on line ${line}`);
  return index + 1;
}

const BAD = `name: bad-flow
inputs:
  topic: { type: string, default: 42 }
agents:
  writer:
    systemPromt: You write.
    permissionMode: yolo
groups:
  impl: { concurrency: 0 }
nodes:
  - id: draft
    agent: writr
    task: "Write {{ inputs.topik }} now"
    dependsOn: [drat]
    group: imp
    timeout: 10 minutes
    retries: 3
  - id: draft
    agent: writer
    task: Again
  - id: review
    agent: writer
    task: "See {{ nodes.later.output }}"
    condition: "nodes.draft.status =="
  - id: later
    agent: writer
    dependsOn: [review]
    task: 5
`;

describe('problems of a bad file', () => {
  it('lists every problem at once, each with line, column, path and message', () => {
    const { problems } = problemsOf(() => parseWorkflow(BAD, 'flows/bad.yaml'));
    expect(problems.every((p) => p.file === 'flows/bad.yaml')).toBe(true);
    expect(where(problems)).toEqual([
      `3:${col(BAD, 3, '42')} inputs.topic.default expected string (the input's type), received number 42`,
      "6:5 agents.writer.systemPromt unknown field 'systemPromt'; did you mean 'systemPrompt'?",
      `7:${col(BAD, 7, 'yolo')} agents.writer.permissionMode expected one of "default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto", received string "yolo"`,
      `9:${col(BAD, 9, '0 }')} groups.impl.concurrency expected a number >= 1, received number 0`,
      "12:12 nodes[0].agent unknown agent 'writr'; did you mean 'writer'?",
      `13:${col(BAD, 13, '{{')} nodes[0].task {{ inputs.topik }}: unknown input 'topik'; did you mean 'topic'?`,
      "14:17 nodes[0].dependsOn[0] unknown node 'drat'; did you mean 'draft'?",
      "15:12 nodes[0].group unknown group 'imp'; did you mean 'impl'?",
      "16:14 nodes[0].timeout expected a duration such as '500ms', '30s', '10m' or '1h30m' (units ms, s, m, h, d), received '10 minutes'",
      "17:5 nodes[0].retries unknown field 'retries'; did you mean 'retry'?",
      "18:9 nodes[1].id duplicate node id 'draft' (first used by nodes[0])",
      `23:${col(BAD, 23, '{{')} nodes[2].task {{ nodes.later.output }}: node 'later' is not upstream of 'review': add it to dependsOn (directly or through another node) to read it`,
      `24:${col(BAD, 24, '"') + 1 + 'nodes.draft.status =='.length} nodes[2].condition Unexpected token: EOF`,
      '28:11 nodes[3].task expected string, received number 5',
    ]);
  });

  it('prints them as file:line:col  path  message lines under a summary', () => {
    const { error } = problemsOf(() => parseWorkflow(BAD, 'flows/bad.yaml'));
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Workflow flows/bad.yaml is invalid (14 problems):');
    expect(lines[2]).toBe(
      "flows/bad.yaml:6:5  agents.writer.systemPromt  unknown field 'systemPromt'; did you mean 'systemPrompt'?",
    );
    expect(error.code).toBe('WORKFLOW_INVALID');
    expect(error.retryable).toBe(false);
  });
});

describe('cycles', () => {
  it('names the nodes of each cycle in order, at the dependency that closes it', async () => {
    const file = 'test/fixtures/workflows/cycle.yaml';
    const text = await readFile(file, 'utf8');
    const error = await loadWorkflowFile(file).catch((e: unknown) => e);
    expect(isOrchestratorError(error, 'WORKFLOW_INVALID')).toBe(true);
    const problems = (error as OrchestratorError).details.problems as DefinitionProblem[];
    expect(where(problems)).toEqual([
      `5:${col(text, 5, 'third]')} nodes[0].dependsOn[0] dependency cycle: first -> second -> third -> first`,
      `9:${col(text, 9, 'y]')} nodes[4].dependsOn[0] dependency cycle: x -> y -> x`,
    ]);
  });

  it('reports a self-dependency and a dependency listed twice', () => {
    const text =
      'name: w\nagents: { a: {} }\nnodes:\n  - { id: n, agent: a, task: t, dependsOn: [n] }\n  - { id: m, agent: a, task: t, dependsOn: [n, n] }\n';
    const { problems } = problemsOf(() => parseWorkflow(text, 'w.yaml'));
    expect(where(problems)).toEqual([
      `4:${col(text, 4, 'n]')} nodes[0].dependsOn[0] node 'n' cannot depend on itself`,
      `5:${col(text, 5, 'n]')} nodes[1].dependsOn[1] 'n' is listed twice`,
    ]);
  });
});

/**
 * Parses a workflow whose nodes section is `nodes` (it starts on line 5; agents `a` and `b`,
 * input `topic`) and returns its problems plus `at(line, needle)`, the position of `needle`.
 */
function check(nodes: string, extra = '') {
  const text = `name: w\ninputs: { topic: { type: string } }\nagents: { a: {}, b: {} }\n${extra}nodes:\n${nodes}`;
  const lines = where(problemsOf(() => parseWorkflow(text, 'w.yaml')).problems);
  return { lines, at: (line: number, needle: string, shift = 0) => `${line}:${col(text, line, needle) + shift}` };
}

describe('node rules', () => {
  it('needs agent and task on agent nodes, pointing at the node', () => {
    const { lines } = check('  - id: n\n    kind: agent\n');
    expect(lines).toEqual([
      '5:5 nodes[0].agent required field is missing (an agent node names the agent type that runs it)',
      '5:5 nodes[0].task required field is missing (an agent node needs a task)',
    ]);
  });

  it('keeps human and approval nodes to prompts', () => {
    const { lines, at } = check(
      '  - { id: h, kind: human, task: t }\n  - { id: p, kind: approval, prompt: ok, agent: a, output: { schema: { type: object } } }\n',
    );
    expect(lines).toEqual([
      `${at(5, '{')} nodes[0].prompt required field is missing (a human node asks a person)`,
      `${at(5, 't }')} nodes[0].task a human node asks a person: use 'prompt', not 'task'`,
      `${at(6, 'a, output')} nodes[1].agent an approval node is answered by a person and runs no agent`,
      `${at(6, '{ schema')} nodes[1].output an approval node has a fixed output: { approved, comment }`,
    ]);
  });

  it('takes onConflict as pause or fail, and not on human or approval nodes', () => {
    const { lines, at } = check(
      '  - { id: n, agent: a, task: t, onConflict: ask }\n  - { id: p, kind: approval, prompt: ok, onConflict: fail }\n',
      'onConflict: never\n',
    );
    expect(lines).toEqual([
      `${at(4, 'never')} onConflict expected one of "pause", "fail", received string "never"`,
      `${at(6, 'ask }')} nodes[0].onConflict expected one of "pause", "fail", received string "ask"`,
      `${at(7, 'fail')} nodes[1].onConflict an approval node works in no worktree, so it has no merge conflict`,
    ]);
  });

  it('rejects unknown kinds with a suggestion, and params on built-in kinds', () => {
    const { lines, at } = check(
      '  - { id: n, kind: humna, prompt: p }\n  - { id: m, agent: a, task: t, params: { x: 1 } }\n',
    );
    expect(lines).toEqual([
      `${at(5, 'humna')} nodes[0].kind unknown node kind 'humna' (known: agent, human, approval); did you mean 'human'?`,
      `${at(6, '{ x')} nodes[1].params an agent node takes no 'params' (only plugin node kinds do)`,
    ]);
  });

  it('needs a workflow cache for cache: true, and an object root in output schemas', () => {
    const { lines, at } = check('  - { id: n, agent: a, task: t, cache: true, output: { schema: { type: array } } }\n');
    expect(lines).toEqual([
      `${at(5, 'true')} nodes[0].cache cache: true needs a workflow-level cache.ttl; or write cache: { ttl: '1h' }`,
      `${at(5, 'array')} nodes[0].output.schema.type expected the output schema's root to have type: object, received string "array"`,
    ]);
  });

  it('needs an agent for the compensation of a node without one', () => {
    const { lines, at } = check('  - { id: n, kind: human, prompt: p, compensation: undo it }\n');
    expect(lines).toEqual([
      `${at(5, 'undo')} nodes[0].compensation this node has no agent, so its compensation needs one: { task: ..., agent: NAME }`,
    ]);
  });

  it('enforces limits.maxNodes', () => {
    const { lines } = check(
      '  - { id: n, agent: a, task: t }\n  - { id: m, agent: a, task: t }\n',
      'limits: { maxNodes: 1 }\n',
    );
    expect(lines).toEqual(['6:3 nodes the workflow has 2 nodes, more than limits.maxNodes (1)']);
  });

  it('reports wrong types with what was expected and what arrived', () => {
    const { problems } = problemsOf(() => parseWorkflow('name: 12\nconcurrency: many\nnodes: {}\n', 'w.yaml'));
    expect(where(problems)).toEqual([
      '1:7 name expected string, received number 12',
      '2:14 concurrency expected number, received string "many"',
      '3:8 nodes expected array, received an object',
    ]);
  });

  it('reports a missing top-level field at the start of the document', () => {
    const { problems } = problemsOf(() => parseWorkflow('description: no name\n', 'w.yaml'));
    expect(where(problems)).toEqual([
      '1:1 name required field is missing (expected string)',
      '1:1 nodes required field is missing (expected array)',
    ]);
  });

  it('checks retry backoff bounds after unit conversion', () => {
    const { lines, at } = check('  - { id: n, agent: a, task: t, retry: { backoff: { initial: 2m, max: 90s } } }\n');
    expect(lines).toEqual([
      `${at(5, '2m')} nodes[0].retry.backoff.initial backoff.initial (120000 ms) is longer than backoff.max (90000 ms)`,
    ]);
  });
});

describe('templates and conditions', () => {
  it('places template errors inside literal blocks', () => {
    const { lines, at } = check(
      '  - { id: a, agent: a, task: t }\n  - id: b\n    agent: a\n    dependsOn: [a]\n    task: |\n      First line\n      then {{ nodes.a.output.field }} and {{ oops\n',
    );
    expect(lines).toEqual([
      `${at(11, '{{')} nodes[1].task {{ nodes.a.output.field }}: node 'a' has no output schema, so its output is text: use nodes.a.output, or give it output.schema`,
      `${at(11, '{{ oops')} nodes[1].task unclosed '{{': expected '}}' (write '\\{{' for a literal '{{')`,
    ]);
  });

  it('rejects expressions, unknown roots, session fields and fields of a status', () => {
    const { lines, at } = check(
      '  - { id: a, agent: a, task: t }\n  - { id: b, agent: a, dependsOn: [a], task: "{{ a + b }} {{ input.topic }} {{ session.cwd }} {{ nodes.a.status.x }}" }\n',
    );
    expect(lines).toEqual([
      `${at(6, '{{ a')} nodes[1].task expected a path such as '{{ inputs.topic }}' or '{{ nodes.draft.output }}', received '{{ a + b }}'`,
      `${at(6, '{{ input.')} nodes[1].task {{ input.topic }}: unknown name 'input' in 'input.topic': expected inputs.NAME, nodes.ID.output, nodes.ID.status or session.workspace; did you mean 'inputs'?`,
      `${at(6, '{{ session')} nodes[1].task {{ session.cwd }}: unknown session field in 'session.cwd': expected session.workspace or session.id`,
      `${at(6, '{{ nodes')} nodes[1].task {{ nodes.a.status.x }}: 'nodes.a.status' is a string and has no fields`,
    ]);
  });

  it('checks output fields against the upstream output schema', () => {
    const { lines, at } = check(
      '  - { id: a, agent: a, task: t, output: { schema: { type: object, properties: { files: { type: array } } } } }\n  - { id: b, agent: a, dependsOn: [a], task: "{{ nodes.a.output.file }}" }\n',
    );
    expect(lines).toEqual([
      `${at(6, '{{')} nodes[1].task {{ nodes.a.output.file }}: node 'a' output has no field 'file'; did you mean 'files'?`,
    ]);
  });

  it('checks condition names: unknown variables, inputs, non-upstream nodes, non-boolean results', () => {
    const { lines, at } = check(
      `  - { id: a, agent: a, task: t, condition: "nodes.b.status == 'completed'" }\n  - { id: b, agent: a, task: t, dependsOn: [a], condition: "inputs.topc == 'x'" }\n  - { id: c, agent: a, task: t, condition: "env.HOME != ''" }\n  - { id: d, agent: a, task: t, condition: "1 + 2" }\n`,
    );
    expect(lines).toEqual([
      `${at(5, 'nodes.b')} nodes[0].condition node 'b' is not upstream of 'a': add it to dependsOn (directly or through another node) to read it`,
      `${at(6, 'inputs.topc')} nodes[1].condition unknown input 'topc'; did you mean 'topic'?`,
      `${at(7, 'env')} nodes[2].condition Unknown variable: env`,
      `${at(8, '1 + 2')} nodes[3].condition a condition must be true or false, but this expression gives int`,
    ]);
  });
});

describe('agents in a workflow', () => {
  it('locates a malformed permission rule by file, line and field', () => {
    const text =
      'name: w\nagents:\n  a:\n    tools: [Bash]\n    permissions:\n      ask: ["Bash(git push *"]\nnodes:\n  - { id: n, agent: a, task: t }\n';
    const { problems } = problemsOf(() => parseWorkflow(text, 'w.yaml'));
    expect(where(problems)).toEqual([
      `6:${col(text, 6, '"Bash')} agents.a.permissions.ask[0] malformed rule "Bash(git push *": expected Tool or Tool(content), ending at the closing ")"`,
    ]);
  });

  it('rejects a name that differs from the key, and bad tool rules', () => {
    const text =
      'name: w\nagents:\n  a: { name: b, tools: ["Bash(git *"] }\nnodes:\n  - { id: n, agent: a, task: t }\n';
    const { problems } = problemsOf(() => parseWorkflow(text, 'w.yaml'));
    expect(where(problems)).toEqual([
      `3:${col(text, 3, 'b,')} agents.a.name the name 'b' differs from its key 'a'`,
      `3:${col(text, 3, '"Bash')} agents.a.tools[0] malformed rule "Bash(git *": expected Tool or Tool(content), ending at the closing ")"`,
    ]);
  });
});
