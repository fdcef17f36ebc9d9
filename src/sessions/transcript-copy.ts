import type { AnyEvent } from '../events/index.ts';
import type { TranscriptEntry, TranscriptKey, TranscriptStore } from '../store/index.ts';
import { projectKeyOf } from '../workspace/index.ts';

/**
 * An entry as it reads in its new folder: Claude Code records the agent's `cwd` in each line;
 * a cwd in the old folder (or under it) moves along. Message contents are left as written.
 */
export function movedCwd(entry: TranscriptEntry, from: string, to: string): TranscriptEntry {
  const cwd = entry.cwd;
  if (typeof cwd !== 'string' || from === to) return entry;
  if (cwd === from) return { ...entry, cwd: to };
  if (cwd.startsWith(`${from}/`)) return { ...entry, cwd: `${to}${cwd.slice(from.length)}` };
  return entry;
}

/** The SDK sessions of the agents a log names (from their `init` progress or their result). */
export function conversationsOf(events: Iterable<AnyEvent>): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.type === 'agent.progress' && event.data.kind === 'init' && event.data.sdkSessionId)
      ids.add(event.data.sdkSessionId);
    else if (event.type === 'agent.completed' && event.data.sdkSessionId) ids.add(event.data.sdkSessionId);
  }
  return [...ids];
}

/**
 * Copies conversations (main transcripts and their subagents') from one folder's key to
 * another's, under the same SDK session ids: a fork gets its own copy in its own workspace,
 * which it only ever branches (`fork: true`) on resume, so the original's transcripts are
 * never written by the fork. A conversation already present under the new key is left as it
 * is. @returns how many transcripts were copied.
 */
export async function copyConversations(
  store: Pick<TranscriptStore, 'loadTranscript' | 'appendTranscript' | 'listTranscriptSubkeys'>,
  sdkSessionIds: readonly string[],
  from: string,
  to: string,
): Promise<number> {
  let copied = 0;
  const fromKey = projectKeyOf(from);
  const toKey = projectKeyOf(to);
  if (fromKey === toKey) return 0;
  for (const sessionId of sdkSessionIds) {
    const subpaths = await store.listTranscriptSubkeys({ projectKey: fromKey, sessionId });
    for (const subpath of [undefined, ...subpaths]) {
      const source: TranscriptKey = { projectKey: fromKey, sessionId, ...(subpath !== undefined && { subpath }) };
      const entries = await store.loadTranscript(source);
      if (!entries || entries.length === 0) continue;
      const target: TranscriptKey = { ...source, projectKey: toKey };
      if ((await store.loadTranscript(target)) !== null) continue;
      await store.appendTranscript(
        target,
        entries.map((entry) => movedCwd(entry, from, to)),
      );
      copied++;
    }
  }
  return copied;
}
