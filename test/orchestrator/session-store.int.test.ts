import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';

// The orchestrator hands its agents a SessionStore on its own store: an agent's conversation
// lands in the store it was opened with, where another process or machine can resume it.
const workflow = parseWorkflow(
  `
name: transcribed
agents:
  writer: { systemPrompt: "You are the transcribed writer.", tools: [Read] }
nodes:
  - { id: answer, agent: writer, task: "Say something worth keeping." }
`,
  'transcribed.yaml',
);

const scenario = compileScenario({
  name: 'transcribed',
  scripts: [{ name: 'writer', match: { system: 'transcribed writer' }, turns: ['Worth keeping.'] }],
});

describe('Orchestrator and agent transcripts', () => {
  let dir: string;
  let store: OrchestratorStore;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-transcripts-'));
    store = await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') });
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent' }, {}),
      scenario,
      store,
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("mirrors every agent's SDK transcript into the orchestrator's store", async () => {
    const handle = await orchestrator.startWorkflow(workflow);
    expect((await handle.result).status).toBe('completed');
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    const completed = events.find((e) => e.type === 'agent.completed')?.data as { sdkSessionId?: string };
    expect(completed?.sdkSessionId).toEqual(expect.any(String));
    const created = events.find((e) => e.type === 'session.created')?.data as { workspace: string } | undefined;
    const workspace = created?.workspace as string;
    const projectKey = (await realpath(workspace)).replace(/[^a-zA-Z0-9]/g, '-');

    expect((await store.listTranscriptSessions(projectKey)).map((s) => s.sessionId)).toEqual([completed.sdkSessionId]);
    const transcript = JSON.stringify(
      await store.loadTranscript({ projectKey, sessionId: completed.sdkSessionId as string }),
    );
    expect(transcript).toContain('Say something worth keeping.');
    expect(transcript).toContain('Worth keeping.');
  });
});
