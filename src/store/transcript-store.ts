/** Where a transcript lives, in the SDK's terms (`SessionKey`). */
export interface TranscriptKey {
  /** The agent's cwd with every non-alphanumeric character turned into `-`. */
  readonly projectKey: string;
  /** The SDK session id. */
  readonly sessionId: string;
  /** e.g. `subagents/agent-<id>` for a subagent's transcript; absent for the main one. */
  readonly subpath?: string | undefined;
}

/** One transcript line as the SDK hands it over: opaque JSON with a `type`, often a `uuid`. */
export type TranscriptEntry = { type: string; uuid?: string; timestamp?: string; [key: string]: unknown };

/**
 * SDK session transcripts kept in the project's own store, so an agent's conversation can be
 * resumed from another process or machine (the SDK's `SessionStore` is adapted onto this).
 *
 * Guarantees: entries of one key are returned deep-equal and in append order (appends from one
 * process in call order); an entry whose `uuid` was already stored for the key is ignored (the
 * SDK retries appends and replays imports), entries without one are always appended; appending
 * no entries stores nothing; `load` of a key never written (or deleted) returns null; keys
 * differing in project, session or subpath never see each other's entries; an empty `subpath`
 * is refused (omit it for the main transcript). Left out: summaries (the SDK folds them
 * itself), and deciding retention (entries stay until deleted; the sessions layer's prune
 * deletes the transcripts of a pruned session's agents with {@link deleteTranscriptSessions}).
 */
export interface TranscriptStore {
  appendTranscript(key: TranscriptKey, entries: readonly TranscriptEntry[]): Promise<void>;
  loadTranscript(key: TranscriptKey): Promise<TranscriptEntry[] | null>;
  /** Sessions with a main transcript under a project, with the last append time of that transcript (integer epoch ms), newest first. */
  listTranscriptSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>>;
  /** Deletes a transcript; without `subpath`, also every subpath of the session. */
  deleteTranscript(key: TranscriptKey): Promise<void>;
  /**
   * Deletes every transcript (main and subpaths) of these SDK sessions, under whatever project
   * they were written: SDK session ids are UUIDs, unique across projects, and whoever prunes
   * knows an agent's session id but not always the cwd its project key came from.
   * @returns how many transcripts (keys) were deleted.
   */
  deleteTranscriptSessions(sessionIds: readonly string[]): Promise<number>;
  /** The subpaths stored under a session. */
  listTranscriptSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]>;
}
