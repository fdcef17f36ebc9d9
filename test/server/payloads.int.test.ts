import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoring } from '../../src/server/contract/index.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// GET /v1/sessions/:id/payloads/:sha256 serves the full value of a field the log shortened,
// to a key with the read scope, for the session that references it only; every refusal is
// JSON with the registry's code.

type ErrorAnswer = { error?: { code?: string } };

describe('payloads of a session through the API', () => {
  let kit: ServerKit;
  let reader: string;
  let approver: string;
  let hash: string;
  const content = `${'p'.repeat(100_000)} the end`;
  beforeAll(async () => {
    kit = await startServerKit();
    reader = await kit.key('read');
    approver = await kit.key('approve');
    const [event] = await kit.orchestrator.log.append('ses-pay', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content } },
    ]);
    hash = (event?.data as { truncated?: Array<{ sha256: string }> } | undefined)?.truncated?.[0]?.sha256 as string;
    await kit.orchestrator.log.append('ses-other', [{ type: 'agent.message', data: { agentId: 'agt', text: 'hi' } }]);
  });
  afterAll(() => kit?.close());

  it('answers the whole value, verified, to a read key', async () => {
    expect(hash).toBe(createHash('sha256').update(content).digest('hex'));
    const answer = await kit.call('GET', `/v1/sessions/ses-pay/payloads/${hash}`, { key: reader });
    expect(answer.status, answer.text).toBe(200);
    const body = monitoring.getPayload.response.parse(answer.body);
    expect(body).toEqual({ sessionId: 'ses-pay', sha256: hash, bytes: content.length, text: content });
  });

  it('refuses keys without the read scope and calls without a key', async () => {
    const weak = await kit.call<ErrorAnswer>('GET', `/v1/sessions/ses-pay/payloads/${hash}`, { key: approver });
    expect([weak.status, weak.body.error?.code]).toEqual([403, 'API_FORBIDDEN']);
    const none = await kit.call<ErrorAnswer>('GET', `/v1/sessions/ses-pay/payloads/${hash}`);
    expect([none.status, none.body.error?.code]).toEqual([401, 'API_UNAUTHENTICATED']);
  });

  it("404 with a code for another session's digest, an unknown digest and an unknown session", async () => {
    for (const [route, code] of [
      [`/v1/sessions/ses-other/payloads/${hash}`, 'PAYLOAD_NOT_FOUND'],
      [`/v1/sessions/ses-pay/payloads/${'0'.repeat(64)}`, 'PAYLOAD_NOT_FOUND'],
      [`/v1/sessions/ses-nobody/payloads/${hash}`, 'SESSION_NOT_FOUND'],
    ] as const) {
      const answer = await kit.call<ErrorAnswer>('GET', route, { key: reader });
      expect([route, answer.status, answer.body.error?.code]).toEqual([route, 404, code]);
      expect(answer.headers.get('content-type')).toMatch(/json/);
      expect(answer.text).not.toContain('the end');
    }
  });

  it('refuses malformed digests and path traversal with 400 (or no route), never a file', async () => {
    for (const bad of [
      hash.toUpperCase(),
      `${hash}00`,
      hash.slice(0, 63),
      '..%2F..%2F..%2Fetc%2Fpasswd',
      `..%2F${hash}`,
      `${hash}%00`,
    ]) {
      const answer = await kit.call<ErrorAnswer>('GET', `/v1/sessions/ses-pay/payloads/${bad}`, { key: reader });
      expect([bad, answer.status, answer.body.error?.code]).toEqual([bad, 400, 'INVALID_ARGUMENT']);
    }
    const traversal = await kit.call<ErrorAnswer>('GET', `/v1/sessions/..%2Fses-pay/payloads/${hash}`, {
      key: reader,
    });
    expect([traversal.status, traversal.body.error?.code]).toEqual([400, 'INVALID_ARGUMENT']);
    const deeper = await kit.call<ErrorAnswer>('GET', `/v1/sessions/ses-pay/payloads/../../../etc/passwd`, {
      key: reader,
    });
    expect(deeper.status).toBeGreaterThanOrEqual(400);
    expect(deeper.status).toBeLessThan(500);
    expect(deeper.text).not.toContain('root:');
  });

  it('is in /openapi.json', async () => {
    const answer = await kit.call<{ paths: Record<string, { get?: { operationId?: string } }> }>(
      'GET',
      '/openapi.json',
    );
    expect(answer.body.paths['/v1/sessions/{id}/payloads/{sha256}']?.get?.operationId).toBe('getPayload');
  });
});
