import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TranscriptSessionStore } from '../../src/agents/index.ts';
import { SqliteEventStore } from '../../src/store/index.ts';
import { describeTranscriptStoreConformance } from '../store/conformance/transcripts/index.ts';
import { type AgentKit, startAgentKit, testSpec } from '../support/agent-kit.ts';
import { makeSdkEnv, type SdkEnv } from '../support/sdk-env.ts';

// The SDK's SessionStore adapter: first the transcript contracts (the SDK's 13 and ours)
// through the adapter on a SQLite store, then the real SDK and Claude Code binary resuming
// and forking a session from a config folder that has never seen it, as another machine would.

const dir = await mkdtemp(join(tmpdir(), 'orch-session-store-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describeTranscriptStoreConformance('SDK adapter (TranscriptSessionStore) on SQLite', {
  async open() {
    const store = await SqliteEventStore.open({ path: join(dir, 'adapter.db') });
    return { ops: new TranscriptSessionStore(store), close: () => store.close() };
  },
});

const scenario = `
name: session-store
scripts:
  - name: remember
    match: { user: '^Remember the word zebra$' }
    turns:
      - I will remember it.
      - I remember the earlier conversation.
      - Still remembered after the fork.
`;

/** The SDK's project key: the cwd with every non-alphanumeric character turned into `-`. */
function projectKeyOf(cwd: string): string {
  return cwd.replace(/[^a-zA-Z0-9]/g, '-');
}

function texts(entries: readonly unknown[] | null): string {
  return JSON.stringify(entries ?? []);
}

describe('SessionStore adapter with the real SDK', () => {
  let kit: AgentKit;
  let sessionStore: TranscriptSessionStore;
  const machines: SdkEnv[] = [];

  /** A fresh, empty Claude Code config folder (and HOME, TMPDIR): another machine. */
  async function machine(): Promise<SdkEnv> {
    const env = await makeSdkEnv(kit.server.url, { maxRetries: 1 });
    machines.push(env);
    return env;
  }

  beforeAll(async () => {
    kit = await startAgentKit({ scenario });
    sessionStore = new TranscriptSessionStore(kit.store);
  });
  afterAll(async () => {
    await kit?.cleanup();
    await Promise.all(machines.map((m) => m.cleanup()));
  });

  it('resumes and forks a session on a machine whose config folder never saw it', async () => {
    const cwd = await realpath(await kit.workspace('shared-project'));
    const projectKey = projectKeyOf(cwd);

    // Agent A, on the kit's machine, mirrors its transcript into the store.
    const a = await kit.runtime({ sessionStore }).spawn({
      sessionId: kit.session(),
      spec: testSpec(),
      prompt: 'Remember the word zebra',
      cwd,
    }).result;
    expect(a).toMatchObject({ ok: true, text: 'I will remember it.' });
    const sdkSessionId = a.sdkSessionId as string;
    expect(sdkSessionId).toEqual(expect.any(String));
    const mirrored = await kit.store.loadTranscript({ projectKey, sessionId: sdkSessionId });
    expect(texts(mirrored)).toContain('Remember the word zebra');
    expect(texts(mirrored)).toContain('I will remember it.');
    expect((await kit.store.listTranscriptSessions(projectKey)).map((s) => s.sessionId)).toEqual([sdkSessionId]);

    // Agent B, on another machine (empty config folder), same cwd, resumes A's session.
    const other = await machine();
    expect(await readdir(other.configDir)).toEqual([]);
    const b = await kit.runtime({ env: other.env, sessionStore }).spawn({
      sessionId: kit.session(),
      spec: testSpec(),
      prompt: 'What was the word?',
      cwd,
      resume: { sdkSessionId, fork: false },
    }).result;
    // The model saw A's conversation: the request starts with A's prompt and carries A's
    // answer (turn 1 of the script A's prompt selected).
    expect(b).toMatchObject({ ok: true, text: 'I remember the earlier conversation.', sdkSessionId });
    const resumed = kit.server.requests.filter((r) => r.script === 'remember' && r.turn === 1);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.conversation).toBe(sdkSessionId);
    const afterB = await kit.store.loadTranscript({ projectKey, sessionId: sdkSessionId });
    expect(texts(afterB)).toContain('What was the word?');
    expect(afterB?.length).toBeGreaterThan(mirrored?.length ?? 0);

    // Agent C, on a third machine, forks: a new SDK session with the same history.
    const third = await machine();
    const c = await kit.runtime({ env: third.env, sessionStore }).spawn({
      sessionId: kit.session(),
      spec: testSpec(),
      prompt: 'And now?',
      cwd,
      resume: { sdkSessionId, fork: true },
    }).result;
    expect(c).toMatchObject({ ok: true, text: 'Still remembered after the fork.' });
    const forkId = c.sdkSessionId as string;
    expect(forkId).toEqual(expect.any(String));
    expect(forkId).not.toBe(sdkSessionId);
    const forked = kit.server.requests.filter((r) => r.script === 'remember' && r.turn === 2);
    expect(forked).toHaveLength(1);
    expect(forked[0]?.conversation).toBe(forkId);
    const forkTranscript = await kit.store.loadTranscript({ projectKey, sessionId: forkId });
    expect(texts(forkTranscript)).toContain('Remember the word zebra');
    expect(texts(forkTranscript)).toContain('What was the word?');
    expect(texts(forkTranscript)).toContain('And now?');
    // The original is untouched by the fork.
    expect(await kit.store.loadTranscript({ projectKey, sessionId: sdkSessionId })).toEqual(afterB);
    expect((await kit.store.listTranscriptSessions(projectKey)).map((s) => s.sessionId).sort()).toEqual(
      [sdkSessionId, forkId].sort(),
    );
  });

  it('mirrors the transcript of an agent that claimed a pre-warmed process too', async () => {
    const cwd = await realpath(await kit.workspace('warm'));
    const runtime = kit.runtime({ sessionStore, warmPool: 1 });
    await runtime.prewarm(testSpec());
    expect(runtime.warmSpares).toBe(1);
    const sessionId = kit.session();
    const result = await runtime.spawn({ sessionId, spec: testSpec(), prompt: 'Remember the word zebra', cwd }).result;
    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    expect(events.some((e) => e.type === 'agent.progress' && (e.data as { kind: string }).kind === 'warm_start')).toBe(
      true,
    );
    const transcript = await kit.store.loadTranscript({
      projectKey: projectKeyOf(cwd),
      sessionId: result.sdkSessionId as string,
    });
    expect(texts(transcript)).toContain('Remember the word zebra');
  });

  it('cannot resume on another machine without the store (the control case)', async () => {
    const cwd = await realpath(await kit.workspace('control'));
    const a = await kit.runtime().spawn({
      sessionId: kit.session(),
      spec: testSpec(),
      prompt: 'Remember the word zebra',
      cwd,
    }).result;
    expect(a.ok).toBe(true);
    const other = await machine();
    const b = await kit.runtime({ env: other.env }).spawn({
      sessionId: kit.session(),
      spec: testSpec(),
      prompt: 'What was the word?',
      cwd,
      resume: { sdkSessionId: a.sdkSessionId as string, fork: false },
    }).result;
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.error.message).toContain('No conversation found');
    expect(
      await kit.store.loadTranscript({ projectKey: projectKeyOf(cwd), sessionId: a.sdkSessionId as string }),
    ).toBeNull();
  });
});
