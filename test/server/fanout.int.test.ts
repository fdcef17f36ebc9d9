import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AnyEvent, NewEvent } from '../../src/events/index.ts';
import { streams } from '../../src/server/contract/index.ts';
import { waitFor } from '../support/cli-kit.ts';
import { type ServerKit, startServerKit } from './kit.ts';
import { openSse, type SseConnection, seqsOf } from './sse-client.ts';

// The fan-out of live streams, through real sockets: clients of one session share deliveries
// (per filter, coalesced per turn of the event loop), and each still gets exactly its events,
// in order, once, whether it joined early, late or from a Last-Event-ID, and whatever its
// neighbours do: a client that stops reading holds back nobody.

const memory = (i: number, size = 0): NewEvent => ({
  type: 'memory.set',
  data: { key: `k${i}`, value: size > 0 ? `${i}:${'x'.repeat(size)}` : i, by: 'test' },
});
const progress = (agentId: string, i: number): NewEvent => ({
  type: 'agent.progress',
  data: { agentId, kind: 'text', text: `step ${i}` },
});

type Message = ReturnType<typeof streams.socketMessage.parse>;

/** A WebSocket client keeping every message, checked against the contract. */
async function openSocket(url: string, key: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/live`, ['orchestrator.v1', `bearer.${key}`]);
  const messages: Message[] = [];
  socket.addEventListener('message', (event) => {
    messages.push(streams.socketMessage.parse(JSON.parse(String(event.data))));
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('the socket did not open')), { once: true });
  });
  return { socket, messages, send: (message: unknown) => socket.send(JSON.stringify(message)) };
}

/** The sequence numbers a subscription of a socket received, in arrival order. */
function socketSeqs(messages: readonly Message[], id: string): number[] {
  return messages.flatMap((m) => (m.type === 'event' && m.id === id ? [m.event.seq] : []));
}

describe('fan-out of live session streams', () => {
  let kit: ServerKit;
  let key: string;
  const append = (sessionId: string, events: NewEvent[]) => kit.orchestrator.log.append(sessionId, events);
  const all = async (sessionId: string) =>
    (await kit.orchestrator.log.store.read(sessionId, { fromSeq: 1, limit: 10_000 })) as AnyEvent[];

  beforeAll(async () => {
    kit = await startServerKit({ settings: { heartbeatMs: 300, streamBufferEvents: 50, streamPollMs: 50 } });
    key = await kit.key('read');
  });
  afterAll(() => kit?.close());

  it('gives every client of a coalesced delivery its own events in order, exactly once, however it joined', {
    timeout: 60_000,
  }, async () => {
    const sessionId = 'ses-order';
    await append(sessionId, [{ type: 'session.created', data: { name: 'order' } }]);
    const url = `${kit.url}/v1/sessions/${sessionId}/events`;
    const sse: { name: string; connection: SseConnection; after: number; keep: (e: AnyEvent) => boolean }[] = [];
    const open = async (name: string, query: string, keep: (e: AnyEvent) => boolean, after = 0) => {
      const connection = await openSse(`${url}${query}`, {
        key,
        ...(after > 0 && { lastEventId: String(after) }),
      });
      sse.push({ name, connection, after, keep });
    };
    const everything = () => true;
    const ofAgentX = (e: AnyEvent) => (e.data as { agentId?: string }).agentId === 'agt_x';
    await open('all', '', everything);
    await open('memory', '?types=memory.*', (e) => e.type === 'memory.set');
    await open('agent x', '?agent=agt_x', ofAgentX);
    await open('all again', '', everything);
    const socket = await openSocket(kit.url, key);
    // Two subscriptions with one filter on one socket, a third with the same id on another
    // socket: they share a delivery, and each must still carry its own id.
    socket.send({ type: 'subscribe', id: 'one', sessionId, types: ['memory.*'] });
    socket.send({ type: 'subscribe', id: 'two', sessionId, types: ['memory.*'] });
    const other = await openSocket(kit.url, key);
    other.send({ type: 'subscribe', id: 'one', sessionId, types: ['memory.*'], after: 1 });
    onTestFinished(() => {
      for (const { connection } of sse) connection.close();
      socket.socket.close();
      other.socket.close();
    });

    // Rounds of appends issued together, so several commit in one turn of the event loop and
    // reach the clients as one delivery; clients join between rounds, live or from a point.
    let i = 0;
    for (let round = 0; round < 30; round++) {
      const appends = Array.from({ length: 5 }, () => {
        i++;
        return append(sessionId, [memory(i), progress(i % 2 === 0 ? 'agt_x' : 'agt_y', i)]);
      });
      await Promise.all(appends);
      if (round === 5) await open('late', '', everything);
      if (round === 12) await open('resumed', '?types=memory.*', (e) => e.type === 'memory.set', 40);
      if (round === 20) await open('late agent x', '?agent=agt_x', ofAgentX, 100);
      if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const events = await all(sessionId);
    const lastSeq = events.length;
    expect(lastSeq).toBe(1 + 30 * 5 * 2);

    for (const { name, connection, after, keep } of sse) {
      const expected = events.filter((e) => e.seq > after && keep(e)).map((e) => e.seq);
      await connection.until((frames) => seqsOf(frames).at(-1) === expected.at(-1), `${name}: the last of its events`);
      expect(seqsOf(connection.frames), name).toEqual(expected);
      // Each frame carries its own event: the id, the SSE event name and the data agree.
      for (const frame of connection.frames.filter((f) => f.id !== undefined)) {
        const event = JSON.parse(frame.data) as AnyEvent;
        expect([frame.event, frame.id]).toEqual([event.type, String(event.seq)]);
      }
    }
    const memorySeqs = events.filter((e) => e.type === 'memory.set').map((e) => e.seq);
    const lastMemory = memorySeqs.at(-1);
    await waitFor(
      () =>
        socketSeqs(socket.messages, 'one').at(-1) === lastMemory &&
        socketSeqs(socket.messages, 'two').at(-1) === lastMemory &&
        socketSeqs(other.messages, 'one').at(-1) === lastMemory,
      'the socket subscriptions to reach the last memory event',
      { timeoutMs: 20_000 },
    );
    expect(socketSeqs(socket.messages, 'one')).toEqual(memorySeqs);
    expect(socketSeqs(socket.messages, 'two')).toEqual(memorySeqs);
    expect(socketSeqs(other.messages, 'one')).toEqual(memorySeqs);
  });

  it('sends heartbeats to a client whose filter matches nothing of a busy session', { timeout: 30_000 }, async () => {
    const sessionId = 'ses-busy';
    await append(sessionId, [{ type: 'session.created', data: { name: 'busy' } }]);
    const quiet = await openSse(`${kit.url}/v1/sessions/${sessionId}/events?types=workflow.*`, { key });
    const busy = await openSse(`${kit.url}/v1/sessions/${sessionId}/events`, { key });
    onTestFinished(() => {
      quiet.close();
      busy.close();
    });
    let writing = true;
    let wrote = false;
    const writer = (async () => {
      for (let i = 0; writing && i < 500; i++) {
        await append(sessionId, [progress('agt_x', i)]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      wrote = true;
    })();
    await quiet.until((frames) => frames.filter((f) => f.event === 'heartbeat').length >= 2, 'two heartbeats');
    // The heartbeats came while the session was busy (an event every 20 ms, 10 s in all).
    expect(wrote).toBe(false);
    writing = false;
    await writer;
    expect(seqsOf(busy.frames).length).toBeGreaterThan(10);
    expect(seqsOf(quiet.frames)).toEqual([]);
  });

  it('keeps the fast clients live while one reads nothing; that one is told what it missed and catches up', {
    timeout: 120_000,
  }, async () => {
    const sessionId = 'ses-mixed';
    await append(sessionId, [{ type: 'session.created', data: { name: 'mixed' } }]);
    const url = `${kit.url}/v1/sessions/${sessionId}/events`;
    const port = Number(new URL(kit.url).port);
    const slow = connect(port, '127.0.0.1');
    onTestFinished(() => {
      slow.destroy();
    });
    await new Promise((resolve) => slow.once('connect', resolve));
    let received = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk: string) => {
      received += chunk;
    });
    slow.write(
      `GET /v1/sessions/${sessionId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    await waitFor(() => received.includes('id: 1\n'), 'the slow client to get the first event');
    const fast = await Promise.all(Array.from({ length: 4 }, () => openSse(url, { key })));
    onTestFinished(() => {
      for (const connection of fast) connection.close();
    });
    await Promise.all(fast.map((c) => c.until((frames) => seqsOf(frames).includes(1), 'the first event')));
    slow.pause();

    const total = 6000;
    for (let i = 0; i < total; i += 100) {
      await append(
        sessionId,
        Array.from({ length: 100 }, (_, k) => memory(i + k, 1000)),
      );
    }
    const lastSeq = total + 1;
    // The fast clients get everything while the slow one still reads nothing.
    for (const connection of fast) {
      await connection.until((frames) => seqsOf(frames).at(-1) === lastSeq, 'the last event', 60_000);
      expect(seqsOf(connection.frames)).toEqual(Array.from({ length: lastSeq }, (_, k) => k + 1));
    }
    expect(slow.isPaused()).toBe(true);
    expect(received.length).toBeLessThan(total * 1000);
    expect(kit.server.streams().maxBufferedBytes).toBeLessThan(64 * 1024 + 50 * 1400);

    slow.resume();
    await waitFor(() => received.includes(`id: ${lastSeq}\n`), 'the slow client to catch up', { timeoutMs: 60_000 });
    const seqs = [...received.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, k) => k + 1));
    const lagged = [...received.matchAll(/^event: lagged\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1] as string));
    expect(lagged.length).toBeGreaterThanOrEqual(1);
    expect(lagged[0].missed).toBe(lagged[0].toSeq - lagged[0].fromSeq + 1);
  });
});
