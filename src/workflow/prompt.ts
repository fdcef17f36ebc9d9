import { OrchestratorError } from '../errors/index.ts';
import { WORKFLOW_DEFAULTS } from './definition/index.ts';
import type { NodeRunContext } from './plan.ts';

/** Longest upstream output handed to an agent in its prompt, however much room is left. */
export const HANDOVER_CHARS = 8000;

/** Longest list of shared memory keys in a prompt (the agent lists them all with memory_list). */
const MEMORY_LINE_CHARS = 2000;

/** Room kept per handed result for its heading and a truncation marker. */
const PER_RESULT_OVERHEAD = 80;

/**
 * Builds an agent's prompt: the rendered task, then what the node's direct dependencies
 * produced (so agents hand work to each other), then the shared memory keys, in at most
 * `maxChars` characters. The task is given whole or not at all: a task over the limit fails
 * the node (`LIMIT_EXCEEDED`). The results share what the task leaves: each gets at most
 * {@link HANDOVER_CHARS}, and a fan-in of many results splits the room evenly (short ones
 * take what they need, the rest is shared among the long ones), each cut with a marker
 * saying how much was left out.
 * @throws OrchestratorError `LIMIT_EXCEEDED` when the task alone is over `maxChars`
 */
export function buildAgentPrompt(
  context: Pick<NodeRunContext, 'task' | 'node' | 'nodes'>,
  memoryKeys: readonly string[],
  maxChars: number = WORKFLOW_DEFAULTS.maxPromptChars,
): string {
  const { task } = context;
  if (task.length > maxChars) {
    throw new OrchestratorError(
      'LIMIT_EXCEEDED',
      `the task of node "${context.node.id}" is ${task.length} characters, over the workflow's limit of ${maxChars} (limits.maxPromptChars)`,
      {
        retryable: false,
        details: { limit: 'limits.maxPromptChars', value: maxChars, actual: task.length, nodeId: context.node.id },
      },
    );
  }
  const memory = memoryLine(memoryKeys, Math.min(MEMORY_LINE_CHARS, maxChars - task.length - 2));
  const handed = context.node.dependsOn
    .map((id) => ({ id, node: context.nodes[id] }))
    .filter((entry) => entry.node?.status === 'completed' && entry.node.output !== undefined)
    .map(({ id, node }) => ({
      id,
      text: typeof node?.output === 'string' ? node.output : (JSON.stringify(node?.output, null, 2) ?? ''),
    }));
  const parts = [task];
  const heading = '## Results of earlier steps';
  // What the results may take: the limit less the task, the memory line and the separators.
  const left = maxChars - task.length - (memory ? memory.length + 2 : 0) - 2;
  const room = left - heading.length - 2;
  if (handed.length > 0 && room > 0) {
    const shares = shareRoom(
      handed.map(({ id, text }) => Math.min(text.length, HANDOVER_CHARS) + id.length),
      room - handed.length * PER_RESULT_OVERHEAD,
    );
    const sections: string[] = [];
    handed.forEach(({ id, text }, i) => {
      const share = Math.max(0, (shares[i] ?? 0) - id.length);
      if (share === 0 && text.length > 0) return;
      const shown =
        text.length > share ? `${text.slice(0, share)}\n[truncated: ${share} of ${text.length} characters]` : text;
      sections.push(`### ${id}\n${shown}`);
    });
    const leftOut = handed.length - sections.length;
    if (leftOut > 0)
      sections.push(`[${leftOut} more result(s) left out: the prompt limit (limits.maxPromptChars) is reached]`);
    const block = [heading, ...sections].join('\n\n');
    if (block.length <= left) parts.push(block);
  }
  if (memory) parts.push(memory);
  return parts.join('\n\n');
}

/**
 * Splits `room` among wants (water-filling): each gets what it wants or an even share of what
 * is left, whichever is smaller, the smallest wants served first.
 */
export function shareRoom(wants: readonly number[], room: number): number[] {
  const shares = wants.map(() => 0);
  const order = wants.map((want, i) => ({ want, i })).sort((a, b) => a.want - b.want);
  let left = Math.max(0, room);
  order.forEach(({ want, i }, k) => {
    const share = Math.min(want, Math.floor(left / (order.length - k)));
    shares[i] = share;
    left -= share;
  });
  return shares;
}

/** The shared-memory line, listing as many keys as fit in `maxChars`. */
function memoryLine(keys: readonly string[], maxChars: number): string {
  if (keys.length === 0) return '';
  const head = '## Shared memory\nKeys available through the memory_get tool: ';
  let line = head;
  let listed = 0;
  for (const key of keys) {
    const next = `${listed === 0 ? '' : ', '}${key}`;
    if (line.length + next.length + 40 > maxChars) break;
    line += next;
    listed++;
  }
  if (listed < keys.length) line += `${listed === 0 ? '' : ', '}and ${keys.length - listed} more (memory_list)`;
  return line.length <= maxChars ? line : '';
}
