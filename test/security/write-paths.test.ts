import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { HookInput } from '@anthropic-ai/claude-agent-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRegistry, redactLocalTranscripts, TranscriptSessionStore } from '../../src/agents/index.ts';
import { AgentBinding, buildSdkOptions } from '../../src/agents/sdk-options.ts';
import { OrchestratorError } from '../../src/errors/index.ts';
import type { OrchestratorEvent, PendingEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { createLogger } from '../../src/logging/index.ts';
import { Redactor } from '../../src/security/index.ts';
import type { EventStore, TranscriptEntry, TranscriptKey, TranscriptStore } from '../../src/store/index.ts';
import { ResultCache } from '../../src/workflow/index.ts';

// Each write path hands its payload through the redactor before it is stored or printed.

const KEY = 'test-model-key-planted-write-paths-key';
const redactor = new Redactor([{ name: 'ANTHROPIC_API_KEY', value: KEY }]);
const MARK = '[REDACTED:ANTHROPIC_API_KEY]';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-write-paths-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store that keeps what it is handed (the log's one write path ends here). */
function capturingStore(): EventStore & { readonly appended: PendingEvent[] } {
  const appended: PendingEvent[] = [];
  return {
    kind: 'memory',
    appended,
    async append(sessionId: string, events: readonly PendingEvent[]) {
      appended.push(...events);
      return events.map((event, i) => ({ ...event, sessionId, seq: appended.length - events.length + i + 1 }));
    },
    async read() {
      return [];
    },
    async lastSeq() {
      return appended.length;
    },
    async close() {},
  } as unknown as EventStore & { readonly appended: PendingEvent[] };
}

describe('write paths', () => {
  it('EventLog.append redacts payloads at any depth before validating, storing and publishing', async () => {
    const store = capturingStore();
    const log = new EventLog(store, { redactor });
    const published: OrchestratorEvent[] = [];
    log.subscribe({}, (event) => {
      published.push(event);
    });
    const committed = await log.append('ses_1', [
      {
        type: 'agent.tool_result',
        data: { agentId: 'agt_1', toolUseId: 't1', isError: false, content: `ANTHROPIC_API_KEY=${KEY}` },
      },
      {
        type: 'agent.failed',
        data: {
          agentId: 'agt_1',
          error: new OrchestratorError('AGENT_FAILED', `it printed ${KEY}`).toJSON(),
          attempt: 1,
          willRetry: false,
        },
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const written of [store.appended, committed, published]) {
      expect(JSON.stringify(written)).not.toContain(KEY);
      expect(JSON.stringify(written)).toContain(MARK);
    }
    await log.close();
  });

  it('an invalid event is refused without its secret in the message', async () => {
    const log = new EventLog(capturingStore(), { redactor });
    const failure = await log
      .append('ses_1', [{ type: 'agent.tool_result', data: { agentId: KEY } as never }])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OrchestratorError);
    expect(JSON.stringify((failure as OrchestratorError).toJSON())).not.toContain(KEY);
    await log.close();
  });

  it('the logger redacts every line by value: messages, fields, error stacks', async () => {
    let out = '';
    const destination = new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination, redactor });
    logger.debug({ config: { token: KEY }, err: new Error(`boom ${KEY}`) }, `message with ${KEY}`);
    logger.info({ headers: { 'x-api-key': KEY } }, 'by field name too');
    logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(out).not.toContain(KEY);
    expect(out.split(MARK).length - 1).toBeGreaterThanOrEqual(3);
  });

  it('the transcript mirror stores entries redacted', async () => {
    const stored: TranscriptEntry[][] = [];
    const store = {
      async appendTranscript(_key: TranscriptKey, entries: readonly TranscriptEntry[]) {
        stored.push([...entries]);
      },
    } as unknown as TranscriptStore;
    const entry = {
      type: 'user',
      uuid: 'u1',
      message: { content: [{ type: 'tool_result', content: [{ type: 'text', text: KEY }] }] },
      toolUseResult: { stdout: `export KEY=${KEY}` },
    };
    await new TranscriptSessionStore(store, { redactor }).append({ projectKey: 'p', sessionId: 's' }, [entry]);
    expect(JSON.stringify(stored)).not.toContain(KEY);
    expect(JSON.stringify(stored)).toContain(MARK);
    expect(entry.toolUseResult.stdout).toContain(KEY);
  });

  it('the result cache stores outputs redacted', async () => {
    const cache = new ResultCache(path.join(dir, 'cache'), { redactor });
    await cache.put('k1', { answer: `the key is ${KEY}` });
    const [file = ''] = await readdir(path.join(dir, 'cache'));
    expect(await readFile(path.join(dir, 'cache', file), 'utf8')).not.toContain(KEY);
    expect((await cache.get('k1', 60_000))?.output).toEqual({ answer: `the key is ${MARK}` });
  });

  it("Claude Code's local transcripts of a session are rewritten redacted, subagents' and kept tool outputs too, and stay JSON", async () => {
    const configDir = path.join(dir, 'claude');
    const project = path.join(configDir, 'projects', '-work-ws');
    const id = '0b5c6f7e-1111-4222-8333-944455556666';
    await mkdir(path.join(project, id, 'subagents'), { recursive: true });
    const line = (text: string) => `${JSON.stringify({ type: 'user', message: { content: text } })}\n`;
    await writeFile(path.join(project, `${id}.jsonl`), line(`env: ANTHROPIC_API_KEY=${KEY}`) + line('clean'));
    await writeFile(path.join(project, id, 'subagents', 'agent-a1.jsonl'), line(KEY));
    // A tool's output too large for the conversation: Claude Code keeps it whole, before any hook.
    await mkdir(path.join(project, id, 'tool-results'));
    await writeFile(path.join(project, id, 'tool-results', 'b1.txt'), `KEY=${KEY}\n${'a'.repeat(1000)}`);
    await writeFile(path.join(project, 'other-session.jsonl'), line(KEY));
    const rewritten = await redactLocalTranscripts(configDir, [id, '../escape'], (text) => redactor.redactText(text));
    expect(rewritten).toBe(3);
    expect(await readFile(path.join(project, id, 'tool-results', 'b1.txt'), 'utf8')).toBe(
      `KEY=${MARK}\n${'a'.repeat(1000)}`,
    );
    const main = await readFile(path.join(project, `${id}.jsonl`), 'utf8');
    expect(main).not.toContain(KEY);
    expect(
      main
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toHaveLength(2);
    expect(await readFile(path.join(project, id, 'subagents', 'agent-a1.jsonl'), 'utf8')).toBe(line(MARK));
    // Only the sessions named: another session's file is its own attempt's business.
    expect(await readFile(path.join(project, 'other-session.jsonl'), 'utf8')).toContain(KEY);
  });

  it("a tool's output is redacted before the model sees it (PostToolUse), and only when it holds a secret", async () => {
    const options = (r: Redactor) =>
      buildSdkOptions(
        {
          spec: { name: 't' },
          env: {},
          outputSchema: undefined,
          sessionStore: undefined,
          hostShape: undefined,
          redactor: r,
        },
        {
          binding: new AgentBinding(),
          abortController: new AbortController(),
          processes: new ProcessRegistry(),
          onSpawn: () => undefined,
        },
      );
    // Without secrets only the tool gate's own PostToolUse hook is there; with them the
    // redaction runs first.
    const plain = options(Redactor.none).hooks?.PostToolUse ?? [];
    const redacting = options(redactor).hooks?.PostToolUse ?? [];
    expect(redacting.length).toBe(plain.length + 1);
    const [matcher] = redacting;
    const hook = matcher?.hooks[0];
    if (!hook) throw new Error('no PostToolUse hook');
    const call = (toolResponse: unknown) =>
      hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_response: toolResponse } as HookInput, 'toolu_1', {
        signal: new AbortController().signal,
      });
    expect(await call({ stdout: `ANTHROPIC_API_KEY=${KEY}`, stderr: '', interrupted: false })).toEqual({
      hookSpecificOutput: {
        hookEventName: 'PostToolUse',
        updatedToolOutput: { stdout: `ANTHROPIC_API_KEY=${MARK}`, stderr: '', interrupted: false },
      },
    });
    expect(await call({ stdout: 'clean', stderr: '' })).toEqual({});
  });
});
