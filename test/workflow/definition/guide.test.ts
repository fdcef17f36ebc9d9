import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OrchestratorError } from '../../../src/errors/index.ts';
import { type DefinitionProblem, formatProblems, parseWorkflow } from '../../../src/workflow/index.ts';

// docs/workflows.md, the authoring guide, cannot rot: every workflow it shows goes through the
// validator `orchestrator validate` uses, the mistake it shows fails with the very message it
// prints, and the add_nodes call it shows is a valid addition to the workflow before it.

const GUIDE = 'docs/workflows.md';
const markdown = readFileSync(new URL(`../../../${GUIDE}`, import.meta.url), 'utf8');

interface Block {
  /** The fence's info string: `yaml`, `yaml invalid`, `json`, `text`. */
  readonly info: string;
  readonly text: string;
  /** Line of the opening fence (1-based). */
  readonly line: number;
}

function fencedBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line === '```');
    if (end < 0) throw new Error(`${GUIDE}:${i + 1}: a fence that is never closed`);
    blocks.push({ info: (open[1] as string).trim(), text: lines.slice(i + 1, end).join('\n'), line: i + 1 });
    i = end;
  }
  return blocks;
}

const blocks = fencedBlocks(markdown);
const workflows = blocks.filter((block) => block.info === 'yaml');

function problemsOf(text: string, file: string): readonly DefinitionProblem[] {
  try {
    parseWorkflow(text, file);
  } catch (error) {
    if (error instanceof OrchestratorError && error.code === 'WORKFLOW_INVALID') {
      return (error.details as { problems: DefinitionProblem[] }).problems;
    }
    throw error;
  }
  return [];
}

describe(`the workflows of ${GUIDE}`, () => {
  it('are there, from the first section to the last, each fence closed', () => {
    expect(workflows.length).toBeGreaterThanOrEqual(10);
    expect(blocks.every((block) => ['yaml', 'yaml invalid', 'json', 'text', ''].includes(block.info))).toBe(true);
  });

  it.each(workflows.map((block) => [`line ${block.line}`, block] as const))('%s is a valid workflow', (_, block) => {
    const file = `${GUIDE}:${block.line}`;
    expect(formatProblems(problemsOf(block.text, file))).toBe('');
    expect(parseWorkflow(block.text, file).nodeIds.length).toBeGreaterThan(0);
  });

  it('shows a mistake with the problems the validator reports for it', () => {
    const mistakes = blocks.flatMap((block, i) => (block.info === 'yaml invalid' ? [[block, blocks[i + 1]]] : []));
    expect(mistakes.length).toBeGreaterThan(0);
    for (const [mistake, shown] of mistakes) {
      expect(shown?.info, `the block after line ${mistake?.line} shows the validator's output`).toBe('text');
      expect(formatProblems(problemsOf(mistake?.text ?? '', 'flow.yaml'))).toBe(shown?.text);
    }
  });

  it('shows add_nodes calls that are valid additions to the workflow before them', () => {
    const calls = blocks.flatMap((block, i) => (block.info === 'json' ? [i] : []));
    expect(calls.length).toBeGreaterThan(0);
    for (const at of calls) {
      const call = JSON.parse(blocks[at]?.text ?? '') as {
        nodes: Array<{ id: string; dependsOn?: string[]; requiredBy?: string[] }>;
      };
      const before = blocks.slice(0, at).findLast((block) => block.info === 'yaml');
      const workflow = parse(before?.text ?? '') as { nodes: Array<{ id: string; dependsOn?: string[] }> };
      // What the engine does with an addition: the new nodes join the graph, and each node a new
      // one is `requiredBy` gains it as a dependency.
      for (const { requiredBy = [], ...node } of call.nodes) {
        workflow.nodes.push(node);
        for (const id of requiredBy) {
          const waiting = workflow.nodes.find((n) => n.id === id);
          expect(waiting, `requiredBy names ${id}`).toBeDefined();
          if (waiting) waiting.dependsOn = [...(waiting.dependsOn ?? []), node.id];
        }
      }
      const file = `${GUIDE}:${blocks[at]?.line}`;
      expect(formatProblems(problemsOf(JSON.stringify(workflow), file))).toBe('');
    }
  });

  it('is linked from the README', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`](${GUIDE})`);
  });
});
