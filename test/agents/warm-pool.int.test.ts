import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentRuntimeOptions, AgentToolHost } from '../../src/agents/index.ts';
import { type Gateway, startGateway } from '../../src/gateway/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec, waitFor } from '../support/agent-kit.ts';

// The warm pool on the real SDK: spares started with prewarm(), claimed by agents. The policy
// hook and the orchestrator's tools are registered when the spare starts and bound to the
// agent at claim time; these tests check that binding, not only that the pool is faster.
// They run twice: with the model key in the agents' environment, and behind the model gateway,
// where a spare holds a token of its own that is bound to the agent that claims it.

const scenario = `
name: warm-pool
scripts:
  - name: warm-writer
    match: { system: 'You are the warm writer', user: '^Write and try the shell$' }
    turns:
      - content:
          - tool_use: { name: Write, input: { file_path: note.txt, content: "warm\\n" } }
      - content:
          - tool_use: { name: Bash, input: { command: 'touch shell.txt', description: Create a file } }
      - 'Shell said: {{last_tool_result}}'
  - name: warm-memory
    match: { user: '^Remember this$' }
    turns:
      - content:
          - tool_use: { name: mcp__orchestrator__memory_set, input: { key: warm, value: yes } }
      - 'Stored: {{last_tool_result}}'
  - name: warm-structured
    match: { user: '^Report warmly$' }
    turns:
      - content:
          - structured_output: { ok: true }
  - name: warm-delegator
    match: { user: '^Delegate warmly$' }
    turns:
      - content:
          - tool_use: { name: Agent, input: { subagent_type: helper, description: Do the work, prompt: Create the file } }
      - Delegated.
  - name: warm-helper
    match: { system: 'You are the warm helper subagent' }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: 'touch sub-pwned.txt', description: Create a file } }
      - 'Helper saw: {{last_tool_result}}'
  - name: plain
    turns:
      - Plain answer.
`;

const writer = testSpec({ systemPrompt: 'You are the warm writer.', tools: ['Write', 'Bash(echo *)'] });

function memoryHost(store: Map<string, unknown>): AgentToolHost {
  return {
    memoryGet: async (key) => store.get(key),
    memorySet: async (key, value) => {
      store.set(key, value);
    },
    memoryList: async () => [...store.keys()],
  };
}

const modes = [
  { mode: 'with the key in the environment', gateway: false },
  { mode: 'behind the model gateway', gateway: true },
];

describe.each(modes)('warm pool $mode', ({ gateway: behindGateway }) => {
  let kit: AgentKit;
  let runtime: AgentRuntime;
  let gateway: Gateway | undefined;
  /** Spare tokens minted, and those released. */
  const spareTokens = { minted: 0, released: new Set<string>() };

  /** Options of a runtime of this mode: behind the gateway, agents' and spares' tokens. */
  const runtimeOptions = (): Partial<AgentRuntimeOptions> => {
    const gw = gateway;
    if (!gw) return {};
    return {
      credentials: (agent) => {
        const minted = gw.mint(agent);
        return { apiKey: minted.token, baseUrl: gw.url, release: minted.release };
      },
      spareCredentials: () => {
        const minted = gw.mintSpare();
        spareTokens.minted++;
        return {
          apiKey: minted.token,
          baseUrl: gw.url,
          bind: (agent) => gw.bind(minted.token, agent),
          release: () => {
            spareTokens.released.add(minted.token);
            minted.release();
          },
        };
      },
    };
  };

  /** Behind the gateway, every model request of the session is the agent's own. */
  const expectAttributedTo = async (sessionId: string, agentId: string) => {
    if (!gateway) return;
    const requests = dataOf(await kit.events(sessionId), 'model.request');
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.map((d) => d.agentId)).toEqual(requests.map(() => agentId));
    expect(requests.every((d) => d.ok === true)).toBe(true);
  };

  beforeAll(async () => {
    kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
    if (behindGateway) {
      gateway = await startGateway({ upstream: kit.server.url, apiKey: 'real-key', log: kit.log, maxRetries: 0 });
    }
    runtime = kit.runtime({ warmPool: 1, maxConcurrent: 1, ...runtimeOptions() });
  });

  afterAll(async () => {
    await kit?.cleanup();
    await gateway?.close();
  });

  it('runs an agent on a pre-warmed process with its own cwd, system prompt and policy', async () => {
    await runtime.prewarm(writer);
    expect(runtime.warmSpares).toBe(1);
    // The parked spare is a live, tracked process.
    expect(runtime.processes.size).toBe(1);

    const sessionId = kit.session();
    const cwd = await kit.workspace('warm-writer');
    const result = await runtime.spawn({ sessionId, spec: writer, prompt: 'Write and try the shell', cwd }).result;

    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    expect(dataOf(events, 'agent.progress').filter((d) => d.kind === 'warm_start')).toHaveLength(1);
    // The claim's cwd applies: the file lands in the agent's workspace.
    expect(await readFile(join(cwd, 'note.txt'), 'utf8')).toBe('warm\n');
    // The security gate registered at prewarm decides with this agent's rules and records to it.
    expect(existsSync(join(cwd, 'shell.txt'))).toBe(false);
    expect(dataOf(events, 'security.decision').map((d) => [d.agentId, d.tool, d.decision])).toEqual([
      [result.agentId, 'Write', 'allow'],
      [result.agentId, 'Bash', 'deny'],
    ]);
    expect(result.ok && result.text).toContain("not covered by the agent type's allow rules");
    // The spare's own token was bound to this agent: its requests are the agent's.
    await expectAttributedTo(sessionId, result.agentId);
    if (gateway) expect(gateway.stats.refused).toBe(0);
  });

  it('refills the pool after a claim, and the next agent of that configuration is warm too', async () => {
    expect(await waitFor(() => runtime.warmSpares === 1, 20_000)).toBe(true);
    const sessionId = kit.session();
    const cwd = await kit.workspace('warm-writer-2');
    const result = await runtime.spawn({ sessionId, spec: writer, prompt: 'Write and try the shell', cwd }).result;

    expect(result.ok).toBe(true);
    expect(dataOf(await kit.events(sessionId), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    expect(existsSync(join(cwd, 'note.txt'))).toBe(true);
    await expectAttributedTo(sessionId, result.agentId);
  });

  it("serves the orchestrator's tools of a warm process to the agent that claimed it", async () => {
    const spec = testSpec({ tools: [] });
    const first = new Map<string, unknown>();
    await runtime.prewarm(spec, { toolHost: memoryHost(new Map()) });
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec,
      prompt: 'Remember this',
      cwd: await kit.workspace('warm-memory'),
      toolHost: memoryHost(first),
    }).result;

    expect(dataOf(await kit.events(sessionId), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    expect(result).toMatchObject({ ok: true, text: 'Stored: stored "warm"' });
    expect(first.get('warm')).toBe('yes');
  });

  it('keeps spares per configuration: an output schema needs its own, filled by a cold start', async () => {
    // A runtime of its own, so that only this configuration's spares are counted.
    const fresh = kit.runtime({ warmPool: 1, maxConcurrent: 1, ...runtimeOptions() });
    const spec = testSpec({ tools: [] });
    const outputSchema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const cold = kit.session();
    const coldResult = await fresh.spawn({
      sessionId: cold,
      spec,
      prompt: 'Report warmly',
      cwd: await kit.workspace('cold-structured'),
      outputSchema,
    }).result;
    expect(coldResult).toMatchObject({ ok: true, structured: { ok: true } });
    expect(dataOf(await kit.events(cold), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(false);

    // The cold start filled the pool for this configuration (once its agent had its first
    // answer), with no prewarm() call: the next one is warm.
    expect(await waitFor(() => fresh.warmSpares === 1, 20_000)).toBe(true);
    const warm = kit.session();
    const warmResult = await fresh.spawn({
      sessionId: warm,
      spec,
      prompt: 'Report warmly',
      cwd: await kit.workspace('warm-structured'),
      outputSchema,
    }).result;
    expect(warmResult).toMatchObject({ ok: true, structured: { ok: true } });
    expect(dataOf(await kit.events(warm), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    await expectAttributedTo(warm, warmResult.agentId);
    await fresh.shutdown();
  });

  it("holds a pooled agent's subagent to the parent's policy", async () => {
    const spec = testSpec({
      tools: ['Read', 'Agent', 'Bash(echo *)'],
      subagents: {
        helper: { description: 'Does the work', prompt: 'You are the warm helper subagent.', tools: ['Bash'] },
      },
    });
    await runtime.prewarm(spec);
    const sessionId = kit.session();
    const cwd = await kit.workspace('warm-delegator');
    const result = await runtime.spawn({ sessionId, spec, prompt: 'Delegate warmly', cwd }).result;

    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    expect(dataOf(events, 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    expect(existsSync(join(cwd, 'sub-pwned.txt'))).toBe(false);
    const permissions = dataOf(events, 'security.decision');
    expect(permissions.find((d) => d.tool === 'Agent')).toMatchObject({ agentId: result.agentId, decision: 'allow' });
    expect(permissions.filter((d) => d.tool === 'Bash')).toEqual([
      expect.objectContaining({ agentId: result.agentId, decision: 'deny', subagentId: expect.any(String) }),
    ]);
  });

  it('leaves no spare process of either kind behind after shutdown', async () => {
    // A start-up spare in a folder too, beside the claim spares parked by now.
    await runtime.prewarm(writer, { cwd: await kit.workspace('warm-folder-spare') });
    expect(runtime.warmFolderSpares).toBe(1);
    expect(runtime.warmSpares).toBeGreaterThan(1);
    expect(kit.ownProcesses().length).toBeGreaterThan(1);
    await runtime.shutdown();
    expect(runtime.processes.size).toBe(0);
    expect(kit.ownProcesses()).toEqual([]);
    // Every spare token is gone: discarded spares' and those of agents that ended alike.
    if (gateway) {
      expect(spareTokens.minted).toBeGreaterThan(3);
      expect(spareTokens.released.size).toBe(spareTokens.minted);
      expect(gateway.stats.refused).toBe(0);
    }
  });
});

// The graph-aware warm start as the runtime offers it: spares on request for the agents a
// workflow will need next, bounded, niced until taken, and closed when their owner lets go.
describe('warm start on request', () => {
  let kit: AgentKit;

  beforeAll(async () => {
    kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
  });
  afterAll(async () => {
    await kit?.cleanup();
  });

  /** The nice value of a process (field 19 of /proc/PID/stat). */
  const niceOf = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  };

  it('starts one spare per wanted agent within the cap, serves the agent, and closes the rest for its owner', {
    timeout: 60_000,
  }, async () => {
    const runtime = kit.runtime({ maxConcurrent: 1, warmStart: { maxSpares: 2, minFreeMemoryBytes: 0 } });
    expect(runtime.warmStartOn).toBe(true);
    const a = testSpec({ name: 'a', systemPrompt: 'You answer plainly.' });
    const b = testSpec({ name: 'b', tools: [] });
    const sessionId = kit.session();
    // Three agents wanted, two spares allowed: the first two wants get one each.
    expect(
      runtime.warmStart('run-1', [
        { sessionId, spec: a },
        { sessionId, spec: b },
        { sessionId, spec: a },
      ]),
    ).toBe(2);
    // Asked again, nothing more: each want is covered, or the cap is reached.
    expect(
      runtime.warmStart('run-1', [
        { sessionId, spec: a },
        { sessionId, spec: b },
      ]),
    ).toBe(0);
    expect(await waitFor(() => runtime.warmSpares === 2, 30_000)).toBe(true);
    // Parked spares give way to working agents.
    for (const pid of runtime.processes.pids()) expect(niceOf(pid)).toBe(10);

    let atNormalPriority: number | undefined;
    let threadNices: number[] = [];
    const result = await runtime.spawn({
      sessionId,
      spec: a,
      prompt: 'Anything',
      cwd: await kit.workspace('on-request'),
      onEvent: (event) => {
        // The claimed process is back at the normal priority while it works.
        if (event.type === 'agent.progress' && (event.data as { kind: string }).kind === 'init') {
          atNormalPriority = runtime.processes.pids().filter((pid) => niceOf(pid) === 0).length;
          // Every thread of it, not only the main one (nice values are per thread on Linux).
          const claimed = runtime.processes.pids().find((pid) => niceOf(pid) === 0);
          threadNices = readdirSync(`/proc/${claimed}/task`).map((tid) => niceOf(Number(tid)));
        }
      },
    }).result;
    expect(result.ok).toBe(true);
    expect(dataOf(await kit.events(sessionId), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    // The claimed one; the other spare (of type b) is still parked, niced.
    expect(atNormalPriority).toBe(1);
    expect(threadNices.length).toBeGreaterThan(1);
    expect(new Set(threadNices)).toEqual(new Set([0]));
    expect(runtime.warmStats).toMatchObject({ started: 2, taken: 1 });

    await runtime.releaseWarm('run-1');
    expect(runtime.warmStats).toMatchObject({ started: 2, taken: 1, live: 0 });
    expect(await waitFor(() => runtime.processes.size === 0, 10_000)).toBe(true);
    await runtime.shutdown();
  });

  it('starts a start-up spare for an agent of a shared folder outside git, a claim spare inside one', {
    timeout: 60_000,
  }, async () => {
    const runtime = kit.runtime({ maxConcurrent: 1, warmStart: { maxSpares: 4, minFreeMemoryBytes: 0 } });
    const spec = testSpec({ name: 'shared' });
    const plain = await kit.workspace('shared-plain');
    const repo = await kit.workspace('shared-repo');
    execFileSync('git', ['init', '-q', repo]);
    const sessionId = kit.session();
    expect(
      runtime.warmStart('run-3', [
        { sessionId, spec, cwd: plain },
        { sessionId, spec, cwd: repo },
      ]),
    ).toBe(2);
    expect(await waitFor(() => runtime.warmSpares === 2, 30_000)).toBe(true);
    // One start-up spare (of the plain folder), one claim spare (for the repository).
    expect(runtime.warmFolderSpares).toBe(1);
    // Wanted again: both covered.
    expect(runtime.warmStart('run-3', [{ sessionId, spec, cwd: plain }])).toBe(0);
    const kinds: string[] = [];
    for (const cwd of [plain, repo]) {
      const session = kit.session();
      const result = await runtime.spawn({ sessionId: session, spec, prompt: 'Anything', cwd, sharedCwd: true }).result;
      expect(result.ok).toBe(true);
      const warm = dataOf(await kit.events(session), 'agent.progress').find((d) => d.kind === 'warm_start');
      kinds.push(String(warm?.text).split(' ').slice(0, 2).join(' '));
    }
    expect(kinds).toEqual(['took a', 'claimed a']);
    expect(runtime.warmStats).toMatchObject({ started: 2, taken: 2, live: 0 });
    await runtime.releaseWarm('run-3');
    await runtime.shutdown();
  });

  it('closes the start-up spares its owner asked for and nobody took', { timeout: 60_000 }, async () => {
    const runtime = kit.runtime({ maxConcurrent: 1, warmStart: { maxSpares: 2, minFreeMemoryBytes: 0 } });
    const cwd = await kit.workspace('shared-unused');
    expect(runtime.warmStart('run-4', [{ sessionId: kit.session(), spec: testSpec({ name: 'unused' }), cwd }])).toBe(1);
    expect(await waitFor(() => runtime.warmFolderSpares === 1, 30_000)).toBe(true);
    await runtime.releaseWarm('run-4');
    expect(runtime.warmStats).toMatchObject({ started: 1, taken: 0, live: 0 });
    expect(await waitFor(() => runtime.processes.size === 0, 10_000)).toBe(true);
    await runtime.shutdown();
  });

  it('starts nothing when the memory floor leaves no room, and nothing without warmStart', () => {
    const sessionId = kit.session();
    const want = [{ sessionId, spec: testSpec() }];
    const starved = kit.runtime({ warmStart: { maxSpares: 4, minFreeMemoryBytes: Number.MAX_SAFE_INTEGER } });
    expect(starved.warmStart('run-2', want)).toBe(0);
    const off = kit.runtime({});
    expect(off.warmStartOn).toBe(false);
    expect(off.warmStart('run-2', want)).toBe(0);
    expect(starved.warmStats.live + off.warmStats.live).toBe(0);
  });
});
