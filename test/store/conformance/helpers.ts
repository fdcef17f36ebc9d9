import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import { newPrefixedId, type OrchestratorEvent, type PendingEvent, prepareEvent } from '../../../src/events/index.ts';
import type { LeaseOwner } from '../../../src/store/index.ts';

/** A session id no other test uses. */
export function sessionId(): string {
  return newPrefixedId('ses');
}

/** `count` valid pending events whose payloads name `tag` and their index. */
export function events(count: number, tag = 'e'): PendingEvent[] {
  return Array.from({ length: count }, (_, i) =>
    prepareEvent({ type: 'agent.progress', data: { agentId: 'agt_test', kind: 'text', text: `${tag}:${i}` } }),
  );
}

/** The committed form a pending event must have: same envelope and payload, plus session and seq. */
export function committed(sessionIdValue: string, seq: number, event: PendingEvent): OrchestratorEvent {
  return { ...event, sessionId: sessionIdValue, seq } as OrchestratorEvent;
}

/** Awaits a promise that must reject with an OrchestratorError of `code`; returns the error. */
export async function rejection(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, `expected a rejection with ${code}`).toBeDefined();
  if (!isOrchestratorError(error)) throw error;
  expect(error.code).toBe(code);
  return error;
}

/** Checks that seqs are exactly 1..n in order. */
export function expectContiguous(list: readonly OrchestratorEvent[]): void {
  expect(list.map((e) => e.seq)).toEqual(Array.from({ length: list.length }, (_, i) => i + 1));
}

/** A lease owner no other test uses: a fresh `ownerId`, on `host` with `pid`. */
export function owner(host = 'host-a', pid = 4242): LeaseOwner {
  return { ownerId: randomUUID(), host, pid };
}

/** Waits `ms` of real time (leases expire by the store's clock, never a fake one). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
