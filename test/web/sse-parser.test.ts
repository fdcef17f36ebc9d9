import { describe, expect, it } from 'vitest';
import { errorFromBody, withQuery } from '../../web/src/api/client.ts';
import { SseParser } from '../../web/src/api/sse-parser.ts';
import { formatCost, formatDuration, formatTokens, statusLabel } from '../../web/src/ui/format.ts';

// The page's SSE reader and its small pure helpers, in Node.

describe('SseParser', () => {
  it('reads messages split anywhere across chunks, with ids kept for the reconnect', () => {
    const parser = new SseParser();
    const text =
      'id: 1\nevent: node.started\ndata: {"seq":1}\n\n: heartbeat comment\n\nid: 2\ndata: {"seq":\ndata: 2}\n\n';
    const messages = [];
    for (let i = 0; i < text.length; i += 3) messages.push(...parser.push(text.slice(i, i + 3)));
    expect(messages).toEqual([
      { event: 'node.started', data: '{"seq":1}', id: '1' },
      { event: 'message', data: '{"seq":\n2}', id: '2' },
    ]);
    expect(parser.lastEventId).toBe('2');
  });

  it('accepts CRLF and CR line ends, a CRLF split between chunks included', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\n\r\ndata: b\r\r')).toEqual([{ event: 'message', data: 'a', id: undefined }]);
    // The last CR may be half a CRLF: it ends its line once the next text shows it does not.
    expect(parser.push('data: c\n\n')).toEqual([
      { event: 'message', data: 'b', id: undefined },
      { event: 'message', data: 'c', id: undefined },
    ]);
  });

  it('keeps the last id across messages without one (a heartbeat) and reads retry', () => {
    const parser = new SseParser();
    const out = parser.push('id: 7\ndata: x\n\nevent: heartbeat\ndata: {}\n\nretry: 1500\n\n');
    expect(out.map((m) => m.id)).toEqual(['7', '7']);
    expect(out[1]?.event).toBe('heartbeat');
    expect(parser.retry).toBe(1500);
  });
});

describe('client helpers', () => {
  it('builds query strings without empty values', () => {
    expect(withQuery('/v1/sessions', { limit: 50, cursor: undefined, status: '' })).toBe('/v1/sessions?limit=50');
  });

  it('reads the API error body, and anything else', () => {
    const error = errorFromBody(
      403,
      { error: { code: 'API_FORBIDDEN', message: 'no', details: { scope: 'run' } } },
      '',
    );
    expect([error.status, error.code, error.message, error.details.scope]).toEqual([403, 'API_FORBIDDEN', 'no', 'run']);
    expect(errorFromBody(502, undefined, 'Bad gateway').code).toBe('HTTP_502');
  });
});

describe('format', () => {
  it('writes money, tokens, durations and states for people', () => {
    expect([formatCost(0), formatCost(0.00123), formatCost(1.5), formatCost(undefined)]).toEqual([
      '$0',
      '$0.0012',
      '$1.50',
      '—',
    ]);
    expect([formatTokens(950), formatTokens(12_345), formatTokens(4_500_000)]).toEqual(['950', '12k', '4.5M']);
    expect([formatDuration(850), formatDuration(12_300), formatDuration(245_000), formatDuration(7_380_000)]).toEqual([
      '850 ms',
      '12.3 s',
      '4 min 05 s',
      '2 h 03 min',
    ]);
    expect(statusLabel('awaiting_input')).toBe('awaiting input');
  });
});
