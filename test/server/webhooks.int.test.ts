import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/events/index.ts';
import { webhooks } from '../../src/server/contract/index.ts';
import { verifyWebhookSignature } from '../../src/server/index.ts';
import { waitFor } from '../support/cli-kit.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// Webhooks through real sockets: a receiver on loopback that answers what the test tells it,
// deliveries signed, retried with backoff, recorded, and carried over a restart of the server.

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** When it arrived (ms). */
  readonly at: number;
}

/** A webhook receiver: records every request, answers `answer()`'s status. */
async function startReceiver(answer: (count: number) => number) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({ headers: request.headers, body, at: Date.now() });
      response.writeHead(answer(received.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const settings = { webhookPollMs: 50, webhookBackoffMs: 100, webhookMaxAttempts: 3, webhookTimeoutMs: 2000 };
const memory = (i: number): NewEvent => ({ type: 'memory.set', data: { key: `k${i}`, value: i, by: 'test' } });

describe('webhooks', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function kitWithKey(dir?: string): Promise<{ kit: ServerKit; key: string }> {
    const kit = await startServerKit({ settings, ...(dir !== undefined && { dir }) });
    cleanups.push(() => kit.close());
    return { kit, key: await kit.key('admin') };
  }

  it('posts each event its types match, signed with its secret', { timeout: 60_000 }, async () => {
    const { kit, key } = await kitWithKey();
    const receiver = await startReceiver(() => 204);
    cleanups.push(receiver.close);
    const seen = receiver.received;
    const created = await kit.call('POST', '/v1/webhooks', {
      key,
      body: { url: receiver.url, types: ['workflow.*', 'session.created'], secret: 'a-long-enough-secret' },
    });
    expect(created.status, created.text).toBe(201);
    const hook = webhooks.createWebhook.response.parse(created.body);
    expect(hook.secret).toBe('a-long-enough-secret');
    await kit.orchestrator.log.append('ses-hooked', [
      { type: 'session.created', data: { name: 'hooked' } },
      memory(1),
      { type: 'workflow.paused', data: { workflowId: 'wf_1', reason: 'test' } },
    ]);
    await waitFor(() => seen.length >= 2, 'two deliveries', { timeoutMs: 10_000 });
    // The memory.set event matched no type: only two were posted, and nothing more comes.
    await kit.server.webhooksTick();
    const bodies = seen.map(
      (r) => JSON.parse(r.body) as { webhookId: string; deliveryId: string; event: { type: string; seq: number } },
    );
    expect(bodies.map((b) => b.event.type).sort()).toEqual(['session.created', 'workflow.paused']);
    for (const request of seen) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-orchestrator-event']).toMatch(/^(session\.created|workflow\.paused)$/);
      expect(
        verifyWebhookSignature(
          'a-long-enough-secret',
          request.headers['x-orchestrator-signature'] as string,
          request.body,
        ),
      ).toBe(true);
      expect(
        verifyWebhookSignature(
          'another-secret-entirely',
          request.headers['x-orchestrator-signature'] as string,
          request.body,
        ),
      ).toBe(false);
      expect(
        verifyWebhookSignature(
          'a-long-enough-secret',
          request.headers['x-orchestrator-signature'] as string,
          `${request.body} `,
        ),
      ).toBe(false);
    }
    expect(bodies.every((b) => b.webhookId === hook.webhookId)).toBe(true);
    expect(seen).toHaveLength(2);
  });

  it('tries again after a failure, with a doubling backoff, and records the outcome of each delivery', {
    timeout: 60_000,
  }, async () => {
    const { kit, key } = await kitWithKey();
    // Every delivery fails twice (503), then is taken (204).
    const attemptsOf = new Map<string, number>();
    const receiver = await startReceiver(() => 204);
    cleanups.push(receiver.close);
    const flaky = await startReceiver((count) => {
      const request = flaky.received[count - 1] as Received;
      const id = request.headers['x-orchestrator-delivery'] as string;
      const n = (attemptsOf.get(id) ?? 0) + 1;
      attemptsOf.set(id, n);
      return n <= 2 ? 503 : 204;
    });
    cleanups.push(flaky.close);
    const hook = webhooks.createWebhook.response.parse(
      (await kit.call('POST', '/v1/webhooks', { key, body: { url: flaky.url, types: ['workflow.completed'] } })).body,
    );
    expect(hook.secret).toMatch(/^whsec_/);
    const alwaysDown = webhooks.createWebhook.response.parse(
      (
        await kit.call('POST', '/v1/webhooks', {
          key,
          body: { url: `http://127.0.0.1:${receiver.port}/gone`, types: ['workflow.completed'] },
        })
      ).body,
    );
    await receiver.close();
    await kit.orchestrator.log.append('ses-retried', [
      { type: 'session.created', data: { name: 'retried' } },
      { type: 'workflow.completed', data: { workflowId: 'wf_1', status: 'completed' } },
    ]);
    const deliveriesOf = async (id: string) =>
      webhooks.listDeliveries.response.parse((await kit.call('GET', `/v1/webhooks/${id}/deliveries`, { key })).body)
        .deliveries;
    await waitFor(async () => (await deliveriesOf(hook.webhookId))[0]?.status === 'delivered', 'the delivery', {
      timeoutMs: 20_000,
    });
    const [delivered] = await deliveriesOf(hook.webhookId);
    expect(delivered).toMatchObject({ eventType: 'workflow.completed', attempts: 3, lastStatus: 204, lastError: null });
    // Three attempts of the one delivery, the same delivery id each time (receivers dedupe by it).
    expect(flaky.received).toHaveLength(3);
    expect(new Set(flaky.received.map((r) => r.headers['x-orchestrator-delivery'])).size).toBe(1);
    // Waited 100 ms, then 200 ms (the backoff doubles; ticks every 50 ms only add to it).
    const [a, b, c] = flaky.received.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(95);
    expect(c - b).toBeGreaterThanOrEqual(195);
    // A receiver that never answers: failed after the most attempts, with the error recorded.
    await waitFor(async () => (await deliveriesOf(alwaysDown.webhookId))[0]?.status === 'failed', 'the failure', {
      timeoutMs: 20_000,
    });
    const [failed] = await deliveriesOf(alwaysDown.webhookId);
    expect(failed).toMatchObject({ attempts: 3, lastStatus: null, lastError: expect.stringContaining('fetch failed') });
  });

  it('keeps pending deliveries and enqueues missed events across a restart of the server', {
    timeout: 90_000,
  }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'orch-api-hooks-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await startServerKit({ settings, dir });
    const key = await first.key('admin');
    // A receiver that is down for now: its port is taken and released.
    const probe = await startReceiver(() => 204);
    const port = probe.port;
    await probe.close();
    const hook = webhooks.createWebhook.response.parse(
      (
        await first.call('POST', '/v1/webhooks', {
          key,
          body: { url: `http://127.0.0.1:${port}/hook`, types: ['memory.set'] },
        })
      ).body,
    );
    await first.orchestrator.log.append('ses-restart', [{ type: 'session.created', data: { name: 'r' } }, memory(1)]);
    await waitFor(
      async () => (await first.orchestrator.store.webhooks.listDeliveries(hook.webhookId))[0]?.attempts === 1,
      'a first failed attempt',
      { timeoutMs: 10_000 },
    );
    await first.close();
    // While no server runs, another process writes more events.
    const { openEventStore } = await import('../../src/store/index.ts');
    const { EventLog } = await import('../../src/log/index.ts');
    const other = new EventLog(await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') }));
    await other.append('ses-restart', [memory(2), memory(3)]);
    await other.close();
    // The receiver comes up on that port, and a new server on the same data directory.
    const receiver = await new Promise<Awaited<ReturnType<typeof startReceiver>>>((resolve) => {
      const received: Received[] = [];
      const server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        request.on('end', () => {
          received.push({ headers: request.headers, body, at: Date.now() });
          response.writeHead(204).end();
        });
      });
      server.listen(port, '127.0.0.1', () =>
        resolve({ url: '', port, received, close: () => new Promise<void>((done) => server.close(() => done())) }),
      );
    });
    cleanups.push(receiver.close);
    const second = await startServerKit({ settings, dir });
    cleanups.push(() => second.close());
    await waitFor(() => receiver.received.length >= 3, 'the three deliveries', { timeoutMs: 30_000 });
    const seqs = receiver.received.map((r) => (JSON.parse(r.body) as { event: { seq: number } }).event.seq).sort();
    expect(seqs).toEqual([2, 3, 4]);
    // The receiver has the request before the server has its answer and records it.
    const statuses = async () =>
      (await second.orchestrator.store.webhooks.listDeliveries(hook.webhookId)).map((d) => d.status);
    await waitFor(async () => (await statuses()).every((status) => status !== 'pending'), 'the deliveries recorded', {
      timeoutMs: 10_000,
    });
    const recorded = await second.orchestrator.store.webhooks.listDeliveries(hook.webhookId);
    expect(recorded.map((d) => [d.seq, d.status])).toEqual([
      [4, 'delivered'],
      [3, 'delivered'],
      [2, 'delivered'],
    ]);
    expect(recorded.find((d) => d.seq === 2)?.attempts).toBeGreaterThanOrEqual(2);
  });

  it('removes a webhook: its pending deliveries are cancelled and nothing more is sent', async () => {
    const { kit, key } = await kitWithKey();
    const probe = await startReceiver(() => 204);
    await probe.close();
    const hook = webhooks.createWebhook.response.parse(
      (
        await kit.call('POST', '/v1/webhooks', {
          key,
          body: { url: `http://127.0.0.1:${probe.port}/gone`, types: ['memory.set'] },
        })
      ).body,
    );
    const listed = webhooks.listWebhooks.response.parse((await kit.call('GET', '/v1/webhooks', { key })).body);
    expect(listed.webhooks).toEqual([expect.objectContaining({ webhookId: hook.webhookId, disabledAt: null })]);
    expect(JSON.stringify(listed)).not.toContain(hook.secret);
    await kit.orchestrator.log.append('ses-removed', [{ type: 'session.created', data: { name: 'x' } }, memory(1)]);
    await waitFor(
      async () => (await kit.orchestrator.store.webhooks.listDeliveries(hook.webhookId)).length === 1,
      'the delivery to be enqueued',
    );
    const removed = await kit.call('DELETE', `/v1/webhooks/${hook.webhookId}`, { key });
    expect(removed.body).toMatchObject({ webhookId: hook.webhookId, disabledAt: expect.any(String) });
    const [cancelled] = await kit.orchestrator.store.webhooks.listDeliveries(hook.webhookId);
    expect(cancelled?.status).toBe('cancelled');
    expect((await kit.call('DELETE', '/v1/webhooks/wh_000000000000000000000000', { key })).status).toBe(404);
    const badTypes = await kit.call('POST', '/v1/webhooks', {
      key,
      body: { url: 'http://127.0.0.1:1/x', types: ['nope.*'] },
    });
    expect(badTypes.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.types' } } });
    const badUrl = await kit.call('POST', '/v1/webhooks', {
      key,
      body: { url: 'file:///etc/passwd', types: ['memory.set'] },
    });
    expect(badUrl.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.url' } } });
  });
});
