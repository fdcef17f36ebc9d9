import type { SessionKey, SessionStore, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
import type { Redactor } from '../security/index.ts';
import type { TranscriptStore } from '../store/index.ts';

/**
 * The SDK's `SessionStore` on the project's own {@link TranscriptStore}: Claude Code's
 * transcripts are mirrored into the event store's database as the agent works, and loaded
 * from it when an agent resumes or forks a session, so a resume works from another process
 * or machine whose Claude Code config folder has never seen the session.
 *
 * The SDK calls `append` after Claude Code's local write, retries a failed one three times,
 * then drops the batch with a `mirror_error` message (the runtime records it as an
 * `agent.progress` event of kind `mirror_error`). Keys are the SDK's: `projectKey` comes from
 * the agent's cwd, so a resume must run in the same cwd. Left out: `listSessionSummaries`
 * (the SDK then falls back to `listSessions` plus `load`).
 *
 * With a `redactor`, entries are stored with known secret values replaced (at any depth: tool
 * results, tool inputs, messages), so the store never holds them; a resume loads the
 * redacted conversation.
 *
 * @example
 * const store = await openEventStore({ kind: 'sqlite', path: 'events.db' });
 * const runtime = new AgentRuntime({ log, env, sessionStore: new TranscriptSessionStore(store) });
 */
export class TranscriptSessionStore implements SessionStore {
  readonly #store: TranscriptStore;
  readonly #redactor: Redactor | undefined;

  constructor(store: TranscriptStore, options: { redactor?: Redactor } = {}) {
    this.#store = store;
    this.#redactor = options.redactor;
  }

  append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    return this.#store.appendTranscript(key, this.#redactor ? this.#redactor.redact(entries) : entries);
  }

  load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    return this.#store.loadTranscript(key);
  }

  listSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    return this.#store.listTranscriptSessions(projectKey);
  }

  delete(key: SessionKey): Promise<void> {
    return this.#store.deleteTranscript(key);
  }

  listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    return this.#store.listTranscriptSubkeys(key);
  }
}
