import { query, type SDKMessage, type SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';
import { collectQuery, makeSdkEnv, type SdkEnv } from '../support/sdk-env.ts';

// Injected faults against the real SDK: Claude Code's own retry loop must see them as the
// real API's failures (status codes, retry-after, a broken stream).

const SCENARIO = `
name: sdk-faults
scripts:
  - name: rate-limited
    match: { user: '^Survive a rate limit$' }
    turns:
      - content: [{ text: Recovered after 429. }]
        fault: { status: 429, retry_after: 1, times: 1 }
  - name: overloaded
    match: { user: '^Stay overloaded$' }
    turns:
      - content: []
        fault: { status: 529, times: always }
  - name: cut
    match: { user: '^Survive a cut stream$' }
    turns:
      - content: [{ text: The second attempt streamed completely. }]
        fault: { cut_after_events: 4 }
`;

let server: ModelServer;
let sdk: SdkEnv;

type RetryMessage = Extract<SDKMessage, { type: 'system'; subtype: 'api_retry' }>;

function retries(messages: readonly SDKMessage[]): RetryMessage[] {
  return messages.filter((m): m is RetryMessage => m.type === 'system' && m.subtype === 'api_retry');
}

function resultOf(messages: readonly SDKMessage[]): SDKResultMessage | undefined {
  return messages.find((m): m is SDKResultMessage => m.type === 'result');
}

beforeAll(async () => {
  server = await startModelServer({ scenario: parseScenario(SCENARIO, 'sdk-faults.yaml') });
  sdk = await makeSdkEnv(server.url, { maxRetries: 2 });
});

afterAll(async () => {
  await server?.close();
  await sdk?.cleanup();
});

describe('scripted faults with the real SDK', () => {
  it('retries a 429 after retry-after and then succeeds', async () => {
    const run = await collectQuery(
      query({ prompt: 'Survive a rate limit', options: { cwd: sdk.workDir, env: sdk.env } }),
    );
    expect(run.error).toBeUndefined();
    const announced = retries(run.messages);
    expect(announced).toHaveLength(1);
    expect(announced[0]?.error_status).toBe(429);
    // retry-after is honoured (Claude Code adds a little jitter on top).
    expect(announced[0]?.retry_delay_ms).toBeGreaterThanOrEqual(1000);
    const result = resultOf(run.messages);
    expect(result?.is_error).toBe(false);
    expect(result?.subtype === 'success' && result.result).toBe('Recovered after 429.');
    const mine = server.requests.filter((r) => r.script === 'rate-limited');
    expect(mine.map((r) => [r.attempt, r.answer, r.fault])).toEqual([
      [1, 'fault', 'status 429'],
      [2, 'turn', undefined],
    ]);
  });

  it('gives up on a persistent 529 once CLAUDE_CODE_MAX_RETRIES is spent', async () => {
    const env = { ...sdk.env, CLAUDE_CODE_MAX_RETRIES: '1' };
    const run = await collectQuery(query({ prompt: 'Stay overloaded', options: { cwd: sdk.workDir, env } }));
    expect(retries(run.messages).map((m) => m.error_status)).toEqual([529]);
    // Observed: an error result (subtype 'success' with is_error) and then the iterator throws.
    const result = resultOf(run.messages);
    expect(result?.is_error).toBe(true);
    expect(result?.subtype).toBe('success');
    expect(result?.terminal_reason).toBe('api_error');
    expect(result && 'api_error_status' in result && result.api_error_status).toBe(529);
    expect(run.error).toBeInstanceOf(Error);
    expect(String(run.error)).toMatch(/529/);
    expect(server.requests.filter((r) => r.script === 'overloaded').map((r) => r.answer)).toEqual(['fault', 'fault']);
  });

  it('retries a stream cut mid-way and succeeds', async () => {
    const run = await collectQuery(
      query({ prompt: 'Survive a cut stream', options: { cwd: sdk.workDir, env: sdk.env } }),
    );
    expect(run.error).toBeUndefined();
    const result = resultOf(run.messages);
    expect(result?.subtype === 'success' && result.result).toBe('The second attempt streamed completely.');
    // Observed: announced as an api_retry without a status, and re-sent as a streaming request.
    expect(retries(run.messages).map((m) => m.error_status)).toEqual([null]);
    const mine = server.requests.filter((r) => r.script === 'cut');
    expect(mine.map((r) => [r.attempt, r.answer, r.stream])).toEqual([
      [1, 'fault', true],
      [2, 'turn', true],
    ]);
  });
});
