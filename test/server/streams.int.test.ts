import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { NewEvent } from '../../src/events/index.ts';
import { streams } from '../../src/server/contract/index.ts';
import { waitFor } from '../support/cli-kit.ts';
import { type ServerKit, startServerKit } from './kit.ts';
import { openSse, seqsOf } from './sse-client.ts';

// Live streams of a session over SSE, through real sockets: resuming with no gap and no
// duplicate, filters, heartbeats, JSON pages, and a client that stops reading.

const memory = (i: number, size = 0): NewEvent => ({
  type: 'memory.set',
  data: { key: `k${i}`, value: size > 0 ? `${i}:${'x'.repeat(size)}` : i, by: 'test' },
});

describe('session event streams over SSE', () => {
  let kit: ServerKit;
  let key: string;
  const append = (sessionId: string, events: NewEvent[]) => kit.orchestrator.log.append(sessionId, events);
  const create = (sessionId: string) => append(sessionId, [{ type: 'session.created', data: { name: 'streamed' } }]);

  beforeAll(async () => {
    kit = await startServerKit({ settings: { heartbeatMs: 300, streamBufferEvents: 50, streamPollMs: 50 } });
    key = await kit.key('read');
  });
  afterAll(() => kit?.close());

  it('resumes with Last-Event-ID after a drop: every event exactly once, in order', async () => {
    await create('ses-resume');
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 60; i++) {
        await append('ses-resume', [memory(2 * i), memory(2 * i + 1)]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      writing = false;
    })();
    const first = await openSse(`${kit.url}/v1/sessions/ses-resume/events`, { key });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    await first.until((frames) => seqsOf(frames).length >= 30, '30 events');
    first.close();
    await first.ended;
    const seen = seqsOf(first.frames);
    expect(writing).toBe(true);
    const second = await openSse(`${kit.url}/v1/sessions/ses-resume/events`, {
      key,
      lastEventId: String(seen.at(-1)),
    });
    await writer;
    const lastSeq = await kit.orchestrator.log.lastSeq('ses-resume');
    await second.until((frames) => seqsOf(frames).at(-1) === lastSeq, 'the last event');
    second.close();
    const all = [...seen, ...seqsOf(second.frames)];
    expect(all).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    // Each frame carries the event, its type as the SSE event name and its seq as the id.
    const frame = second.frames.find((f) => f.id !== undefined);
    const event = streams.sessionEvents.response.shape.events.element.parse(JSON.parse(frame?.data ?? '{}'));
    expect(frame?.event).toBe(event.type);
    expect(frame?.id).toBe(String(event.seq));
  });

  it('starts after ?after=SEQ, and Last-Event-ID wins over it', async () => {
    await create('ses-after');
    await append(
      'ses-after',
      Array.from({ length: 9 }, (_, i) => memory(i)),
    );
    const after = await openSse(`${kit.url}/v1/sessions/ses-after/events?after=7&follow=false`, { key });
    await after.ended;
    expect(seqsOf(after.frames)).toEqual([8, 9, 10]);
    const both = await openSse(`${kit.url}/v1/sessions/ses-after/events?after=2&follow=false`, {
      key,
      lastEventId: '8',
    });
    await both.ended;
    expect(seqsOf(both.frames)).toEqual([9, 10]);
  });

  it('filters by type, agent and severity', async () => {
    await create('ses-filter');
    await append('ses-filter', [
      memory(1),
      {
        type: 'agent.failed',
        data: { agentId: 'agt_a', error: { code: 'AGENT_FAILED', message: 'no' }, willRetry: false },
      },
      {
        type: 'agent.failed',
        data: { agentId: 'agt_b', error: { code: 'AGENT_FAILED', message: 'no' }, willRetry: true },
      },
      { type: 'system.alert', data: { rule: 'cost', severity: 'critical', message: 'too much', state: 'raised' } },
    ]);
    const types = (frames: { event: string; id?: string }[]) => frames.filter((f) => f.id).map((f) => f.event);
    const byType = await openSse(
      `${kit.url}/v1/sessions/ses-filter/events?types=agent.*,session.created&follow=false`,
      {
        key,
      },
    );
    await byType.ended;
    expect(types(byType.frames)).toEqual(['session.created', 'agent.failed', 'agent.failed']);
    const byAgent = await openSse(`${kit.url}/v1/sessions/ses-filter/events?agent=agt_b&follow=false`, { key });
    await byAgent.ended;
    expect(seqsOf(byAgent.frames)).toEqual([4]);
    const severe = await openSse(`${kit.url}/v1/sessions/ses-filter/events?severity=error&follow=false`, { key });
    await severe.ended;
    expect(types(severe.frames)).toEqual(['agent.failed', 'system.alert']);
    const unknown = await kit.call('GET', '/v1/sessions/ses-filter/events?types=agent.nope', {
      key,
      headers: { accept: 'text/event-stream' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'query.types' } } });
    // The raised alert is listed by the alerts route too, at its severity.
    const critical = await kit.call<{ alerts: unknown[] }>('GET', '/v1/alerts?severity=critical', { key });
    expect(critical.body.alerts).toEqual([
      expect.objectContaining({ sessionId: 'ses-filter', rule: 'cost', severity: 'critical', message: 'too much' }),
    ]);
    const ofSession = await kit.call<{ alerts: unknown[] }>('GET', '/v1/alerts?session=ses-filter', { key });
    expect(ofSession.body.alerts).toHaveLength(1);
  });

  it('sends heartbeats without an id while the session is idle, and new events as they come', async () => {
    await create('ses-idle');
    const stream = await openSse(`${kit.url}/v1/sessions/ses-idle/events`, { key });
    await stream.until((frames) => frames.filter((f) => f.event === 'heartbeat').length >= 2, 'two heartbeats');
    expect(stream.frames.filter((f) => f.event === 'heartbeat').every((f) => f.id === undefined)).toBe(true);
    await append('ses-idle', [memory(1)]);
    await stream.until((frames) => seqsOf(frames).includes(2), 'the new event');
    stream.close();
  });

  it('answers a JSON page without Accept: text/event-stream', async () => {
    const page = await kit.call('GET', '/v1/sessions/ses-after/events?after=3&limit=4', { key });
    const body = streams.sessionEvents.response.parse(page.body);
    expect(body.events.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect(body).toMatchObject({ lastSeq: 10, next: 7 });
    const rest = streams.sessionEvents.response.parse(
      (await kit.call('GET', '/v1/sessions/ses-after/events?after=7', { key })).body,
    );
    expect(rest.events.map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(rest.next).toBeNull();
    const missing = await kit.call('GET', '/v1/sessions/ses-none/events', { key });
    expect(missing.status).toBe(404);
  });

  it('never waits for a client that stops reading: the writer finishes, the server holds a bounded amount, and the client is told what it missed and catches up', {
    timeout: 120_000,
  }, async () => {
    await create('ses-slow');
    const port = Number(new URL(kit.url).port);
    const socket = connect(port, '127.0.0.1');
    onTestFinished(() => {
      socket.destroy();
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.write(
      `GET /v1/sessions/ses-slow/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    await waitFor(() => received.includes('id: 1\n'), 'the first event');
    // The client stops reading: what the server writes piles up in the kernel, then in the server.
    socket.pause();
    const total = 20_000;
    const started = Date.now();
    let maxBuffered = 0;
    for (let i = 0; i < total; i += 200) {
      await append(
        'ses-slow',
        Array.from({ length: 200 }, (_, k) => memory(i + k, 1000)),
      );
      maxBuffered = Math.max(maxBuffered, kit.server.streams().maxBufferedBytes);
    }
    const writing = Date.now() - started;
    const lastSeq = total + 1;
    expect(await kit.orchestrator.log.lastSeq('ses-slow')).toBe(lastSeq);
    // The writer never waited on the client (20 MB went to the log while it read nothing)...
    expect(received.length).toBeLessThan(total * 1000);
    // ...and the server held at most a response buffer and one batch of events for it (the
    // stream's 50 events of about 1.3 KB), never the 20 MB it had not sent.
    await new Promise((resolve) => setTimeout(resolve, 500));
    maxBuffered = Math.max(maxBuffered, kit.server.streams().maxBufferedBytes);
    expect(maxBuffered).toBeLessThan(64 * 1024 + 50 * 1400);
    // Reading again, it gets a `lagged` notice, then every event exactly once, in order.
    socket.resume();
    await waitFor(() => received.includes(`id: ${lastSeq}\n`), 'the last event', { timeoutMs: 60_000 });
    socket.destroy();
    const seqs = [...received.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    const lagged = [...received.matchAll(/^event: lagged\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1] as string));
    expect(lagged.length).toBeGreaterThanOrEqual(1);
    expect(lagged[0]).toMatchObject({ fromSeq: expect.any(Number), toSeq: expect.any(Number) });
    expect(lagged[0].missed).toBe(lagged[0].toSeq - lagged[0].fromSeq + 1);
    console.log(
      `slow client: ${total} events written in ${writing} ms while it read nothing; max buffered ${maxBuffered} bytes`,
    );
  });
});

describe('closing the server', () => {
  it('ends every live stream, even one whose client reads nothing, and stops', { timeout: 60_000 }, async () => {
    const kit = await startServerKit({ settings: { streamBufferEvents: 50 } });
    const log = kit.orchestrator.log;
    await log.append('ses-stuck', [{ type: 'session.created', data: { name: 'stuck' } }]);
    const socket = connect(Number(new URL(kit.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
    });
    socket.write('GET /v1/sessions/ses-stuck/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await waitFor(() => received.includes('id: 1\n'), 'the first event');
    socket.pause();
    for (let i = 0; i < 10_000; i += 500)
      await log.append(
        'ses-stuck',
        Array.from({ length: 500 }, (_, k) => memory(i + k, 1000)),
      );
    expect(kit.server.streams().clients).toBe(1);
    const started = Date.now();
    await kit.server.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(kit.server.state).toBe('closed');
    socket.destroy();
    await kit.close();
  });
});
