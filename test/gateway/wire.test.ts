import { describe, expect, it } from 'vitest';
import { PauseGate, retryAfterMs, retryDelayMs, SseUsageReader, usageOfJson } from '../../src/gateway/index.ts';

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

describe('reading usage off the wire', () => {
  it('reads message_start and message_delta across chunk boundaries', () => {
    const text =
      sse('message_start', {
        type: 'message_start',
        message: {
          model: 'claude-sonnet-4-5',
          usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 4, cache_creation_input_tokens: 2 },
        },
      }) +
      sse('content_block_delta', { type: 'content_block_delta', delta: { text: 'é…' } }) +
      sse('message_delta', { type: 'message_delta', usage: { output_tokens: 9 } }) +
      sse('message_stop', { type: 'message_stop' });
    const bytes = Buffer.from(text);
    const reader = new SseUsageReader('asked-model');
    // Split every 7 bytes, through multi-byte characters and lines.
    for (let i = 0; i < bytes.length; i += 7) reader.feed(bytes.subarray(i, i + 7));
    expect(reader.usage).toEqual({
      model: 'claude-sonnet-4-5',
      inputTokens: 10,
      outputTokens: 9,
      cacheReadTokens: 4,
      cacheCreationTokens: 2,
    });
    expect(reader.complete).toBe(true);
    expect(reader.malformed).toBeUndefined();
  });

  it('flags malformed data and an error event', () => {
    const reader = new SseUsageReader('m');
    reader.feed(
      Buffer.from('event: message_start\ndata: {not json\n\nevent: error\ndata: {"error":{"message":"boom"}}\n\n'),
    );
    expect(reader.malformed).toMatch(/not JSON/);
    expect(reader.streamError).toBe('boom');
    expect(reader.complete).toBe(false);
  });

  it('reads a JSON body', () => {
    expect(usageOfJson('{"model":"x","usage":{"input_tokens":3,"output_tokens":4}}', 'y')).toMatchObject({
      model: 'x',
      inputTokens: 3,
      outputTokens: 4,
    });
    expect(usageOfJson('nope', 'y')).toBeUndefined();
  });
});

describe('retry decisions', () => {
  it('honours retry-after in seconds or as a date, capped', () => {
    expect(retryAfterMs('1.5')).toBe(1500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    const settings = { maxRetries: 4, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(retryDelayMs(settings, 1, 5000)).toBe(1000);
    expect(retryDelayMs(settings, 3, undefined, () => 0)).toBe(200);
    expect(retryDelayMs(settings, 3, undefined, () => 1)).toBe(400);
    expect(retryDelayMs(settings, 10, undefined, () => 1)).toBe(1000);
  });

  it('a shared pause extends, never shortens', () => {
    const gate = new PauseGate();
    gate.pause(500, 1000);
    gate.pause(100, 1000);
    expect(gate.remainingMs(1200)).toBe(300);
    expect(gate.remainingMs(2000)).toBe(0);
  });
});
