import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/events/index.ts';
import { streams } from '../../src/server/contract/index.ts';
import { type ServerKit, startServerKit } from './kit.ts';
import { openSse } from './sse-client.ts';

// Several session streams and the sessions list on one WebSocket, and the sessions list over
// SSE, through real sockets.

type Message = ReturnType<typeof streams.socketMessage.parse>;

/** A WebSocket client keeping every message, checked against the contract. */
async function openSocket(url: string, key: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/live`, ['orchestrator.v1', `bearer.${key}`]);
  const messages: Message[] = [];
  const watchers = new Set<() => void>();
  socket.addEventListener('message', (event) => {
    messages.push(streams.socketMessage.parse(JSON.parse(String(event.data))));
    for (const watch of [...watchers]) watch();
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('the socket did not open')), { once: true });
  });
  return {
    socket,
    messages,
    send: (message: unknown) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    until(predicate: (all: Message[]) => boolean, what: string) {
      if (predicate(messages)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 15_000);
        const check = () => {
          if (!predicate(messages)) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve();
        };
        watchers.add(check);
      });
    },
  };
}

const memory = (i: number): NewEvent => ({ type: 'memory.set', data: { key: `k${i}`, value: i, by: 'test' } });

describe('the live WebSocket', () => {
  let kit: ServerKit;
  let key: string;
  const append = (sessionId: string, events: NewEvent[]) => kit.orchestrator.log.append(sessionId, events);

  beforeAll(async () => {
    kit = await startServerKit({ settings: { streamPollMs: 50 } });
    key = await kit.key('read');
    for (const id of ['ses-a', 'ses-b']) {
      await append(id, [{ type: 'session.created', data: { name: id } }, memory(1), memory(2)]);
    }
  });
  afterAll(() => kit?.close());

  it('refuses the upgrade without a key', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const upgrade = request(`${kit.url}/v1/live`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        },
      });
      upgrade.on('response', (response) => resolve(response.statusCode ?? 0));
      upgrade.on('upgrade', () => resolve(101));
      upgrade.on('error', reject);
      upgrade.end();
    });
    expect(status).toBe(401);
  });

  it('carries two session streams with their own filters and positions, and ends one on request', async () => {
    const client = await openSocket(kit.url, key);
    client.send({ type: 'subscribe', id: 'a', sessionId: 'ses-a' });
    client.send({ type: 'subscribe', id: 'b', sessionId: 'ses-b', after: 2, types: ['memory.set'] });
    const eventsOf = (id: string) =>
      client.messages
        .filter((m) => m.type === 'event' && m.id === id)
        .map((m) => (m as { event: { seq: number } }).event.seq);
    await client.until(() => eventsOf('a').length === 3 && eventsOf('b').length === 1, 'the catch-up');
    expect(eventsOf('a')).toEqual([1, 2, 3]);
    expect(eventsOf('b')).toEqual([3]);
    await append('ses-a', [memory(3)]);
    await append('ses-b', [memory(3), { type: 'session.versioned', data: { version: 1, seq: 4 } }]);
    await client.until(() => eventsOf('a').includes(4) && eventsOf('b').includes(4), 'live events');
    client.send({ type: 'unsubscribe', id: 'a' });
    await client.until((all) => all.some((m) => m.type === 'unsubscribed' && m.id === 'a'), 'the unsubscribe');
    await append('ses-a', [memory(4)]);
    await append('ses-b', [memory(5)]);
    await client.until(() => eventsOf('b').includes(6), 'the next event of b');
    // b's filter kept the versioned event out; a sends nothing after it was unsubscribed.
    expect(eventsOf('b')).toEqual([3, 4, 6]);
    expect(eventsOf('a')).toEqual([1, 2, 3, 4]);
    client.socket.close();
  });

  it('answers bad messages with an error and stays open', async () => {
    const client = await openSocket(kit.url, key);
    client.send('not json');
    client.send({ type: 'subscribe', id: 'x' });
    client.send({ type: 'subscribe', id: 'y', sessionId: '../etc' });
    client.send({ type: 'subscribe', id: 'z', sessionId: 'ses-nobody' });
    await client.until((all) => all.filter((m) => m.type === 'error').length === 4, 'four errors');
    const errors = client.messages.filter((m) => m.type === 'error') as Array<Extract<Message, { type: 'error' }>>;
    expect(errors.map((e) => [e.id, e.error.code])).toEqual([
      [undefined, 'INVALID_ARGUMENT'],
      ['x', 'INVALID_ARGUMENT'],
      ['y', 'INVALID_ARGUMENT'],
      ['z', 'SESSION_NOT_FOUND'],
    ]);
    expect(errors[1]?.error.details).toMatchObject({ field: 'message.sessionId' });
    client.send({ type: 'subscribe', id: 'ok', sessionId: 'ses-a' });
    await client.until((all) => all.some((m) => m.type === 'subscribed' && m.id === 'ok'), 'a good subscription');
    client.socket.close();
  });

  it('sends the sessions list and each session that changes, on the socket and over SSE', async () => {
    const client = await openSocket(kit.url, key);
    client.send({ type: 'sessions', id: 'list' });
    const rows = () =>
      client.messages
        .filter((m) => m.type === 'session')
        .map((m) => (m as Extract<Message, { type: 'session' }>).session);
    await client.until(() => rows().length >= 2, 'the first rows');
    expect(rows().map((r) => r.sessionId)).toEqual(expect.arrayContaining(['ses-a', 'ses-b']));
    const sse = await openSse(`${kit.url}/v1/live/sessions`, { key });
    await sse.until((frames) => frames.filter((f) => f.event === 'session').length >= 2, 'the first SSE rows');
    const before = rows().length;
    await append('ses-a', [memory(9)]);
    await client.until(() => rows().length > before, 'a changed row');
    expect(rows().at(-1)).toMatchObject({ sessionId: 'ses-a', lastSeq: await kit.orchestrator.log.lastSeq('ses-a') });
    await sse.until(
      (frames) => frames.some((f) => f.event === 'session' && JSON.parse(f.data).lastSeq === rows().at(-1)?.lastSeq),
      'the changed row over SSE',
    );
    sse.close();
    client.socket.close();
  });
});
