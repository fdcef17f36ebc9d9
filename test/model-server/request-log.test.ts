import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
import { type ModelLogLine, type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';

// The scripted model's request log as a file (`requestLog`): one JSON line per request served,
// over real HTTP, written to a real file.

const SCENARIO = `
name: logged
scripts:
  - name: writer
    match: { system: 'You are the writer' }
    turns:
      - content: [{ text: first }]
        usage: { input_tokens: 11, output_tokens: 22, cache_read_input_tokens: 33, cache_creation_input_tokens: 44 }
        delay_ms: 30
  - name: flaky
    match: { user: '^flaky$' }
    turns:
      - content: [{ text: never }]
        fault: { status: 429 }
`;

const SYSTEM = [
  { type: 'text', text: 'A preset prompt.\n\nWith paragraphs.' },
  { type: 'text', text: 'The harness prompt.\n\nYou are the writer.\nYou write short files.' },
];

let dir: string;
let server: ModelServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-model-log-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((response) => response.text());

const lines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ModelLogLine);

describe('the request log file', () => {
  it('has one line per request served: time, duration, scenario step, agent, task, tokens', async () => {
    const file = path.join(dir, 'requests.jsonl');
    server = await startModelServer({ scenario: parseScenario(SCENARIO, 'logged.yaml'), requestLog: file });
    const before = Date.now();
    await post(server.url, {
      model: 'claude-test',
      system: SYSTEM,
      messages: [{ role: 'user', content: `Write a note.\n${'x'.repeat(500)}` }],
    });
    await post(server.url, { model: 'claude-test', messages: [{ role: 'user', content: 'flaky' }] });
    await fetch(`${server.url}/nowhere`);
    await server.close();
    const [served, fault, missing, ...more] = await lines(file);
    expect(more).toEqual([]);
    expect(served).toEqual({
      time: expect.any(String),
      durationMs: expect.any(Number),
      method: 'POST',
      path: '/v1/messages',
      scenario: 'logged',
      answer: 'turn',
      script: 'writer',
      turn: 0,
      attempt: 1,
      fault: null,
      model: 'claude-test',
      stream: false,
      conversation: expect.stringMatching(/^user-/),
      agent: 'You are the writer. You write short files.',
      task: expect.stringMatching(/^Write a note\. x+…$/),
      tokens: { input: 11, output: 22, cacheRead: 33, cacheCreation: 44 },
    });
    expect((served as ModelLogLine).task).toHaveLength(200);
    expect(Date.parse((served as ModelLogLine).time)).toBeGreaterThanOrEqual(before - 1);
    // The turn's 30 ms delay is part of serving it.
    expect((served as ModelLogLine).durationMs).toBeGreaterThanOrEqual(25);
    expect(fault).toMatchObject({ answer: 'fault', script: 'flaky', fault: 'status 429', tokens: null, agent: null });
    expect(missing).toMatchObject({ method: 'GET', path: '/nowhere', answer: 'not_found', script: null, task: null });
  });

  it('appends to an existing file, and refuses at start a file it cannot open (CONFIG_INVALID)', async () => {
    const file = path.join(dir, 'requests.jsonl');
    for (let i = 0; i < 2; i++) {
      server = await startModelServer({ scenario: parseScenario(SCENARIO, 'logged.yaml'), requestLog: file });
      await post(server.url, { model: 'm', messages: [{ role: 'user', content: 'flaky' }] });
      await server.close();
    }
    expect(await lines(file)).toHaveLength(2);

    const failure = await startModelServer({
      scenario: parseScenario(SCENARIO, 'logged.yaml'),
      requestLog: path.join(dir, 'no-such-folder', 'requests.jsonl'),
    }).catch((error: unknown) => error);
    expect(isOrchestratorError(failure) && failure.code).toBe('CONFIG_INVALID');
    expect(String((failure as Error).message)).toContain('no-such-folder');
  });
});
