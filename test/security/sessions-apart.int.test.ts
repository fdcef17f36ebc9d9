import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';

// Another session's files are no agent's to read, even for a type whose reads are open (the
// default): its workspace and worktrees lie beside the agent's own under the data directory.
// The real SDK and Claude Code run a prober, on a spare started before its folder was known
// (the graph-aware warm start), that writes and reads a file of its own, then looks for the
// other session's with Bash (sandboxed), Read, Grep and Glob, straight and through a link it
// plants in its own workspace; it reads the output Claude Code saved for it in its own
// transcript folder. The same grep on a copy of that workspace outside the data
// directory is the control that shows the probes would have found it.

const tag = randomBytes(6).toString('hex');
const MARKER = `marker-${tag}-of-another-session`;
const PATTERN = "'marker-[0-9a-f]*-of-another-session'";

let dir: string;
let orchestrator: Orchestrator;
let copy: string;
let theirs: string;

const writer = parseWorkflow(
  `
name: first
agents:
  writer: { systemPrompt: "You are the writer.", tools: [Write] }
nodes:
  - { id: write, agent: writer, task: "Write it down." }
`,
  'first.yaml',
);

const prober = parseWorkflow(
  `
name: prober
agents:
  starter: { systemPrompt: "You are the starter.", tools: [] }
  prober: { systemPrompt: "You are the prober.", tools: [Bash, Read, Grep, Glob, Write] }
nodes:
  - { id: start, agent: starter, task: "Take your time." }
  - { id: probe, agent: prober, dependsOn: [start], task: "Look around." }
`,
  'prober.yaml',
);

function scenario(dataDir: string) {
  const workspaces = path.join(dataDir, 'workspaces');
  const worktrees = path.join(dataDir, 'worktrees');
  const notes = path.join(workspaces, `ses_apart_first_${tag}`, 'notes.txt');
  const bash = (command: string) => ({
    content: [{ tool_use: { name: 'Bash', input: { command, description: 'Probe' } } }],
  });
  const tool = (name: string, input: Record<string, unknown>) => ({ content: [{ tool_use: { name, input } }] });
  return compileScenario({
    name: 'apart',
    scripts: [
      {
        name: 'writer',
        match: { system: 'You are the writer' },
        turns: [tool('Write', { file_path: 'notes.txt', content: MARKER }), 'Written.'],
      },
      // Long enough for the prober's spare to start and park.
      {
        name: 'starter',
        match: { system: 'You are the starter' },
        turns: [{ content: [{ text: 'Started.' }], delay_ms: 4000 }],
      },
      {
        name: 'prober',
        match: { system: 'You are the prober' },
        turns: [
          tool('Write', { file_path: 'own.txt', content: 'mine' }),
          bash('cat own.txt; echo cat-exit=$?; echo tmp-mine > $TMPDIR/t.txt; cat $TMPDIR/t.txt'),
          tool('Read', { file_path: 'own.txt' }),
          // Too large for the conversation: Claude Code saves it in the agent's own transcript folder.
          bash('seq 1 40000'),
          tool('Read', { file_path: '{{saved_output_path}}', offset: 39990, limit: 5 }),
          bash(`grep -r -a -o ${PATTERN} ${workspaces} ${worktrees}; echo grep-exit=$?`),
          bash(`cat ${notes}; echo cat-exit=$?`),
          tool('Read', { file_path: notes }),
          tool('Grep', { pattern: 'of-another-session', path: workspaces, output_mode: 'content' }),
          tool('Glob', { pattern: '*/notes.txt', path: workspaces }),
          tool('Glob', { pattern: `${workspaces}/*/notes.txt` }),
          // Searches from above: the data directory, and the root.
          tool('Grep', { pattern: 'of-another-session', path: dataDir, output_mode: 'content' }),
          tool('Glob', { pattern: '**/notes.txt', path: dataDir }),
          bash(`ln -s ${path.dirname(notes)} link; echo ln-exit=$?`),
          tool('Read', { file_path: 'link/notes.txt' }),
          tool('Grep', { pattern: 'of-another-session', output_mode: 'content' }),
          bash(`cat link/notes.txt; echo cat-exit=$?`),
          bash(`grep -r -a -o ${PATTERN} ${copy}; echo grep-exit=$?`),
          'Done.',
        ],
      },
    ],
  });
}

async function eventsOf(sessionId: string): Promise<AnyEvent[]> {
  const out: AnyEvent[] = [];
  for await (const event of orchestrator.log.readAll(sessionId)) out.push(event);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-apart-'));
  const dataDir = path.join(dir, 'data');
  copy = path.join(dir, 'outside', 'first-copy');
  theirs = path.join(dataDir, 'workspaces', `ses_apart_first_${tag}`);
  // No memory floor: the test needs the spare, whatever the machine's free memory.
  orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir, logLevel: 'silent', gateway: false, warmMinFreeMb: 0 }, {}),
    scenario: scenario(dataDir),
  });
});

afterAll(async () => {
  await orchestrator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("another session's files", () => {
  it('are not readable by an agent whose reads are open, which still reads and runs commands in its own', {
    timeout: 120_000,
  }, async () => {
    const first = await orchestrator.startWorkflow(writer, { sessionId: `ses_apart_first_${tag}` });
    expect((await first.result).status).toBe('completed');
    await cp(theirs, copy, { recursive: true });
    const run = await orchestrator.startWorkflow(prober);
    expect((await run.result).status).toBe('completed');
    // The prober took a spare started while the first node ran, before its folder was known.
    expect(orchestrator.agents.warmStats.taken).toBeGreaterThanOrEqual(1);

    const events = await eventsOf(run.sessionId);
    const results = events.filter((e) => e.type === 'agent.tool_result').map((e) => JSON.stringify(e.data));
    expect(results).toHaveLength(18);
    const [, bashOwn, readOwn, big, readSaved, ...probes] = results;
    const control = probes.pop();
    expect(bashOwn).toContain('mine');
    expect(bashOwn).toContain('cat-exit=0');
    // Its own TMPDIR too, though the agents' TMPDIRs are a folder of sessions' files.
    expect(bashOwn).toContain('tmp-mine');
    expect(readOwn).toContain('mine');
    expect(big).toContain('claude/projects/');
    expect(readSaved).toContain('39994');
    expect(control).toContain(MARKER);
    for (const result of probes) expect(result).not.toContain(MARKER);
    // The two Globs name no file of the other session either.
    for (const glob of [probes[4], probes[5]]) expect(glob).not.toContain(`ses_apart_first_${tag}`);
    // The file tools were refused by the gate, on record with the reason.
    const denied = events.filter(
      (e) => e.type === 'security.decision' && e.data.decision === 'deny' && e.data.by === 'policy',
    );
    expect(denied.map((e) => e.data.tool).sort()).toEqual(['Glob', 'Glob', 'Glob', 'Grep', 'Grep', 'Read', 'Read']);
    for (const e of denied) expect(String(e.data.reason)).toContain("holds another session's files");
    const policy = events.find((e) => e.type === 'security.policy' && e.data.agentType === 'prober');
    const dataDir = path.dirname(path.dirname(theirs));
    expect(policy?.data).toMatchObject({
      confineReads: false,
      sessionFolders: ['workspaces', 'worktrees', 'claude/projects', 'tmp'].map((f) => path.join(dataDir, f)),
    });
  });
});
