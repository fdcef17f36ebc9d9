import { randomBytes } from 'node:crypto';
import { copyFile, cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import { describeResult, type ProcessResult, runCli, tempDir } from '../support/cli-kit.ts';

// The orchestrator's own data is no agent's to read, even for a type whose reads are open: the
// SQLite log holds every session's events (another session's task here), the history folder
// every session's files, and Claude Code's local transcripts (`claude/projects`) every agent's
// conversation. The real SDK and Claude Code run a prober that tries them with Bash
// (sandboxed), Read and Grep; the same greps on copies outside the data directory are the
// controls that show the probes would have found the marker.

const tag = randomBytes(6).toString('hex');
const MARKER = `marker-${tag}-of-another-session`;
const PATTERN = "'marker-[0-9a-f]*-of-another-session'";
const FIRST = `ses_datadir_first_${tag}`;
const PROBER = `ses_datadir_prober_${tag}`;

let root: { dir: string; cleanup(): Promise<void> };
let dataDir: string;
let copy: string;
let projectsCopy: string;
let first: ProcessResult;
let probe: ProcessResult;

const firstWorkflow = `
name: first
agents:
  writer: { systemPrompt: "You are the writer.", tools: [] }
nodes:
  - { id: write, agent: writer, task: "Remember ${MARKER}." }
`;

function proberFiles(db: string) {
  const projects = path.join(dataDir, 'claude', 'projects');
  const scenario = `
name: prober
scripts:
  - name: writer
    match: { system: "You are the writer" }
    turns: ["Remembered."]
  - name: prober
    match: { system: "You are the prober" }
    turns:
      - content: [{ tool_use: { name: Bash, input: { command: "grep -a -o ${PATTERN} ${db}; echo grep-exit=$?", description: Log } } }]
      - content: [{ tool_use: { name: Read, input: { file_path: "${db}" } } }]
      - content: [{ tool_use: { name: Grep, input: { pattern: "of-another-session", path: "${db}", output_mode: content } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "ls ${path.join(dataDir, 'history')}; echo ls-exit=$?", description: History } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "grep -r -a -o ${PATTERN} ${projects}; echo grep-exit=$?", description: Transcripts } } }]
      - content: [{ tool_use: { name: Grep, input: { pattern: "of-another-session", path: "${projects}", output_mode: content } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "grep -a -o ${PATTERN} ${copy}; echo grep-exit=$?", description: Control } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "grep -r -a -o ${PATTERN} ${projectsCopy}; echo grep-exit=$?", description: Control } } }]
      - "Done."
`;
  const workflow = `
name: prober
agents:
  prober: { systemPrompt: "You are the prober.", tools: [Bash, Read, Grep] }
nodes:
  - { id: probe, agent: prober, task: "Look around." }
`;
  return { scenario, workflow };
}

async function eventsOf(sessionId: string): Promise<AnyEvent[]> {
  const store = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
  const log = new EventLog(store);
  try {
    const out: AnyEvent[] = [];
    for await (const event of log.readAll(sessionId)) out.push(event);
    return out;
  } finally {
    await log.close();
  }
}

beforeAll(async () => {
  root = await tempDir('data-dir');
  dataDir = path.join(root.dir, 'data');
  const db = path.join(dataDir, 'events.db');
  copy = path.join(root.dir, 'outside', 'events-copy.db');
  projectsCopy = path.join(root.dir, 'outside', 'projects-copy');
  const { scenario, workflow } = proberFiles(db);
  await writeFile(path.join(root.dir, 'scenario.yaml'), scenario);
  await writeFile(path.join(root.dir, 'first.yaml'), firstWorkflow);
  await writeFile(path.join(root.dir, 'prober.yaml'), workflow);
  const model = ['--model-server', path.join(root.dir, 'scenario.yaml')];
  first = await runCli(['run', path.join(root.dir, 'first.yaml'), '--session', FIRST, ...model], { dataDir });
  await mkdir(path.dirname(copy), { recursive: true });
  await copyFile(db, copy);
  await cp(path.join(dataDir, 'claude', 'projects'), projectsCopy, { recursive: true });
  probe = await runCli(['run', path.join(root.dir, 'prober.yaml'), '--session', PROBER, ...model], { dataDir });
}, 180_000);

afterAll(async () => {
  await root?.cleanup();
});

describe("the orchestrator's data directory", () => {
  it("is not readable by an agent whose reads are open: the log, the histories, Claude Code's transcripts", async () => {
    expect(first.code, describeResult(first)).toBe(0);
    expect(probe.code, describeResult(probe)).toBe(0);
    const events = await eventsOf(PROBER);
    const results = events
      .filter((event) => event.type === 'agent.tool_result')
      .map((event) => JSON.stringify(event.data));
    expect(results).toHaveLength(8);
    const [bashLog, readLog, grepLog, lsHistory, bashProjects, grepProjects, control, projectsControl] = results;
    // The controls: the same greps on copies outside the data directory find the other session's task.
    expect(control).toContain(MARKER);
    expect(projectsControl).toContain(MARKER);
    for (const result of [bashLog, readLog, grepLog, bashProjects, grepProjects]) expect(result).not.toContain(MARKER);
    expect(lsHistory).not.toContain(FIRST);
    // What Claude Code was told to deny is on record.
    const policy = events.find((event) => event.type === 'security.policy')?.data as {
      privateReads?: string[];
      sessionFolders?: string[];
    };
    expect(policy.privateReads).toEqual(
      expect.arrayContaining([path.join(dataDir, 'events.db'), path.join(dataDir, 'history')]),
    );
    expect(policy.sessionFolders).toContain(path.join(dataDir, 'claude', 'projects'));
  });
});
