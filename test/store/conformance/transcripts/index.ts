import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe } from 'vitest';
import type { TranscriptStore } from '../../../../src/store/index.ts';
import { appendLoadSpec } from './append-load.spec.ts';
import { argumentsSpec } from './arguments.spec.ts';
import { deleteSessionsSpec, deleteSpec } from './delete.spec.ts';
import { durabilitySpec } from './durability.spec.ts';
import { keysSpec } from './keys.spec.ts';
import { listSessionsSpec } from './list-sessions.spec.ts';
import { listSubkeysSpec } from './list-subkeys.spec.ts';
import type {
  OpenedTranscripts,
  TranscriptConformanceContext,
  TranscriptConformanceOptions,
  TranscriptOps,
} from './types.ts';

export type { OpenedTranscripts, TranscriptConformanceOptions, TranscriptOps } from './types.ts';

/** A `TranscriptStore` seen through the SDK's `SessionStore` names (a renaming, nothing more). */
export function transcriptOps(store: TranscriptStore): TranscriptOps {
  return {
    append: (key, entries) => store.appendTranscript(key, entries),
    load: (key) => store.loadTranscript(key),
    listSessions: (projectKey) => store.listTranscriptSessions(projectKey),
    delete: (key) => store.deleteTranscript(key),
    listSubkeys: (key) => store.listTranscriptSubkeys(key),
    deleteSessions: (sessionIds) => store.deleteTranscriptSessions(sessionIds),
  };
}

/**
 * The behavioural suite of transcripts: the 13 contracts of the Claude Agent SDK's own
 * `SessionStore` conformance suite (`examples/session-stores/shared/conformance.ts` in the
 * SDK's repository; each is marked "SDK contract N" in the specs), plus what the SDK's
 * `SessionStore` documentation asks beyond them: `uuid` idempotence, integer epoch-ms mtimes,
 * deep-equal round trips, call order within a process. It runs against both stores and
 * against the SDK adapter. All specs share one database: each test's keys carry a project
 * prefix of its own instead of a fresh store per test.
 */
export function describeTranscriptStoreConformance(name: string, options: TranscriptConformanceOptions): void {
  describe(`TranscriptStore conformance: ${name}`, () => {
    const opened: OpenedTranscripts[] = [];
    const track = async (open: () => Promise<OpenedTranscripts>) => {
      const instance = await open();
      opened.push(instance);
      return instance;
    };
    const run = randomBytes(4).toString('hex');
    let projects = 0;
    const ctx: TranscriptConformanceContext = {
      options,
      open: async () => (await track(() => options.open())).ops,
      openClosable: () => track(() => options.open()),
      reopen: async () => (await track(() => (options.reopen ?? options.open)())).ops,
      project: (label) => `-tmp-${run}-${++projects}-${label}`,
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((instance) => instance.close()));
    });
    afterAll(() => options.cleanup?.());

    appendLoadSpec(ctx);
    keysSpec(ctx);
    listSessionsSpec(ctx);
    deleteSpec(ctx);
    deleteSessionsSpec(ctx);
    listSubkeysSpec(ctx);
    durabilitySpec(ctx);
    argumentsSpec(ctx);
  });
}
