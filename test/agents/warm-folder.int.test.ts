import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentToolHost } from '../../src/agents/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec, waitFor } from '../support/agent-kit.ts';

// Start-up spares of the warm pool on the real SDK: processes started with startup() in a
// shared folder, taken by the next agent of the same configuration in that folder. Everything
// is fixed when such a process starts; the policy hook, canUseTool and the orchestrator's tools
// must still serve the agent that takes it, which these tests check, with the pool's bounds
// (age, folder, release, shutdown).

const scenario = `
name: warm-folder
scripts:
  - name: folder-writer
    match: { system: 'You are the folder writer', user: '^Write and try the shell$' }
    turns:
      - content:
          - tool_use: { name: Write, input: { file_path: note.txt, content: "folder\\n" } }
      - content:
          - tool_use: { name: Bash, input: { command: 'touch shell.txt', description: Create a file } }
      - 'Shell said: {{last_tool_result}}'
  - name: folder-memory
    match: { user: '^Remember this in the folder$' }
    turns:
      - content:
          - tool_use: { name: mcp__orchestrator__memory_set, input: { key: folder, value: yes } }
      - 'Stored: {{last_tool_result}}'
  - name: folder-delegator
    match: { user: '^Delegate in the folder$' }
    turns:
      - content:
          - tool_use: { name: Agent, input: { subagent_type: helper, description: Do the work, prompt: Create the file } }
      - Delegated.
  - name: folder-helper
    match: { system: 'You are the folder helper subagent' }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: 'touch sub-pwned.txt', description: Create a file } }
      - 'Helper saw: {{last_tool_result}}'
  - name: plain
    turns:
      - Plain answer.
`;

const writer = testSpec({ systemPrompt: 'You are the folder writer.', tools: ['Write', 'Bash(echo *)'] });

let kit: AgentKit;
let runtime: AgentRuntime;
let folder: string;

beforeAll(async () => {
  kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
  runtime = kit.runtime({ warmPool: 1, maxConcurrent: 1 });
  folder = await kit.workspace('shared-folder');
});

afterAll(async () => {
  await kit?.cleanup();
});

function memoryHost(store: Map<string, unknown>): AgentToolHost {
  return {
    memoryGet: async (key) => store.get(key),
    memorySet: async (key, value) => {
      store.set(key, value);
    },
    memoryList: async () => [...store.keys()],
  };
}

/** How the agent started: 'startup' (a start-up spare), 'claim' (a claim spare) or 'cold'. */
function startKind(events: readonly AnyEvent[]): 'startup' | 'claim' | 'cold' {
  const warm = dataOf(events, 'agent.progress').find((d) => d.kind === 'warm_start');
  if (!warm) return 'cold';
  return String(warm.text).startsWith('took a start-up spare') ? 'startup' : 'claim';
}

describe('warm pool: start-up spares in a shared folder', () => {
  it('runs an agent on a start-up spare with its system prompt, folder and policy', async () => {
    await runtime.prewarm(writer, { cwd: folder });
    expect(runtime.warmFolderSpares).toBe(1);
    expect(runtime.processes.size).toBe(1);

    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec: writer,
      prompt: 'Write and try the shell',
      cwd: folder,
      sharedCwd: true,
    }).result;

    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    expect(startKind(events)).toBe('startup');
    expect(await readFile(join(folder, 'note.txt'), 'utf8')).toBe('folder\n');
    // The hook registered when the process started decides with this agent's rules, for it.
    expect(existsSync(join(folder, 'shell.txt'))).toBe(false);
    expect(dataOf(events, 'security.decision').map((d) => [d.agentId, d.tool, d.decision])).toEqual([
      [result.agentId, 'Write', 'allow'],
      [result.agentId, 'Bash', 'deny'],
    ]);
    expect(result.ok && result.text).toContain("not covered by the agent type's allow rules");
  });

  it('starts a new spare in the folder after a take, and the next agent there takes it', async () => {
    expect(await waitFor(() => runtime.warmFolderSpares === 1, 20_000)).toBe(true);
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec: writer,
      prompt: 'Write and try the shell',
      cwd: folder,
      sharedCwd: true,
    }).result;
    expect(result.ok).toBe(true);
    expect(startKind(await kit.events(sessionId))).toBe('startup');
  });

  it('does not lend a folder spare to an agent in another folder', async () => {
    expect(await waitFor(() => runtime.warmFolderSpares === 1, 20_000)).toBe(true);
    const other = await kit.workspace('other-folder');
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec: writer,
      prompt: 'Write and try the shell',
      cwd: other,
      sharedCwd: true,
    }).result;
    expect(result.ok).toBe(true);
    expect(startKind(await kit.events(sessionId))).toBe('cold');
    expect(await readFile(join(other, 'note.txt'), 'utf8')).toBe('folder\n');
    await runtime.releaseFolder(other);
  });

  it("serves the orchestrator's tools of a start-up spare to the agent that took it", async () => {
    const spec = testSpec({ tools: [] });
    await runtime.prewarm(spec, { toolHost: memoryHost(new Map()), cwd: folder });
    const mine = new Map<string, unknown>();
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec,
      prompt: 'Remember this in the folder',
      cwd: folder,
      sharedCwd: true,
      toolHost: memoryHost(mine),
    }).result;

    expect(startKind(await kit.events(sessionId))).toBe('startup');
    expect(result).toMatchObject({ ok: true, text: 'Stored: stored "folder"' });
    expect(mine.get('folder')).toBe('yes');
  });

  it("holds the subagent of an agent on a start-up spare to its parent's policy", async () => {
    const spec = testSpec({
      tools: ['Read', 'Agent', 'Bash(echo *)'],
      subagents: {
        helper: { description: 'Does the work', prompt: 'You are the folder helper subagent.', tools: ['Bash'] },
      },
    });
    await runtime.prewarm(spec, { cwd: folder });
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec,
      prompt: 'Delegate in the folder',
      cwd: folder,
      sharedCwd: true,
    }).result;

    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    expect(startKind(events)).toBe('startup');
    expect(existsSync(join(folder, 'sub-pwned.txt'))).toBe(false);
    const permissions = dataOf(events, 'security.decision');
    expect(permissions.find((d) => d.tool === 'Agent')).toMatchObject({ agentId: result.agentId, decision: 'allow' });
    expect(permissions.filter((d) => d.tool === 'Bash')).toEqual([
      expect.objectContaining({ agentId: result.agentId, decision: 'deny', subagentId: expect.any(String) }),
    ]);
  });

  it('closes the spares of a released folder', async () => {
    await runtime.prewarm(writer, { cwd: folder });
    expect(runtime.warmFolderSpares).toBeGreaterThan(0);
    const before = runtime.processes.size;
    await runtime.releaseFolder(folder);
    expect(runtime.warmFolderSpares).toBe(0);
    expect(runtime.processes.size).toBeLessThan(before);
  });

  it('leaves no spare process of either kind behind after shutdown', async () => {
    await runtime.prewarm(writer, { cwd: folder });
    await runtime.prewarm(writer);
    expect(runtime.warmFolderSpares).toBe(1);
    expect(runtime.warmSpares).toBe(2);
    expect(kit.ownProcesses().length).toBeGreaterThanOrEqual(2);
    await runtime.shutdown();
    expect(runtime.processes.size).toBe(0);
    expect(kit.ownProcesses()).toEqual([]);
  });
});

/** Runs the folder writer in a shared folder; how it started. */
async function writerStartIn(runtime: AgentRuntime, cwd: string): Promise<'startup' | 'claim' | 'cold'> {
  const sessionId = kit.session();
  const result = await runtime.spawn({
    sessionId,
    spec: writer,
    prompt: 'Write and try the shell',
    cwd,
    sharedCwd: true,
  }).result;
  expect(result.ok).toBe(true);
  return startKind(await kit.events(sessionId));
}

describe('warm pool: the age of start-up spares', () => {
  it('closes a start-up spare past its age in a git work tree, and a claim spare serves the folder instead', async () => {
    const aging = kit.runtime({ warmPool: 1, maxConcurrent: 1, warmSpareMaxAgeMs: 500 });
    const cwd = await kit.workspace('aging-folder');
    // Claude Code keeps a git folder's status and recent commits from its start: that goes stale.
    execFileSync('git', ['init', '-q', cwd]);
    await aging.prewarm(writer, { cwd });
    // Past its age the start-up spare goes, and a claim spare of its configuration replaces it.
    expect(await waitFor(() => aging.warmFolderSpares === 0 && aging.warmSpares === 1, 30_000)).toBe(true);

    expect(await writerStartIn(aging, cwd)).toBe('claim');
    expect(await readFile(join(cwd, 'note.txt'), 'utf8')).toBe('folder\n');
    await aging.shutdown();
    await rm(cwd, { recursive: true, force: true });
  });

  it('keeps a start-up spare of a folder outside git whatever its age: nothing of the folder goes stale in it', async () => {
    const aging = kit.runtime({ warmPool: 1, maxConcurrent: 1, warmSpareMaxAgeMs: 500 });
    const cwd = await kit.workspace('plain-aging-folder');
    await aging.prewarm(writer, { cwd });
    expect(aging.warmFolderSpares).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(aging.warmFolderSpares).toBe(1);
    expect(await writerStartIn(aging, cwd)).toBe('startup');
    await aging.shutdown();
    await rm(cwd, { recursive: true, force: true });
  });
});
