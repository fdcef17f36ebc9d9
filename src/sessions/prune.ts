import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { removeLocalTranscripts } from '../agents/index.ts';
import { toOrchestratorError } from '../errors/index.ts';
import { assertBelow } from '../security/index.ts';
import type { EventStore, SessionSummary, TranscriptStore, VersionStore } from '../store/index.ts';
import type { SessionState } from '../workflow/index.ts';
import {
  type CompiledPruneOptions,
  type PlannedDeletion,
  type PrunePlan,
  type PruneSession,
  planPrune,
} from './prune-plan.ts';

/**
 * Retention, the applying half: gathers what the plan needs (every session's summary, state
 * and versions), plans (see `prune-plan.ts`), and unless it is a dry run deletes session by
 * session, then compacts blobs.
 *
 * A session's parts go in this order: versions, agent transcripts (store and Claude Code's
 * local copies), worktrees, workspace history, workspace folder, and its events last, in one
 * transaction. The log is what lists a session, so a prune interrupted half-way leaves every
 * half-deleted session listed, and running it again finishes the job. A session that gained
 * events since the plan was made (resumed meanwhile) is skipped. One session failing does not
 * stop the others: it is reported in `failed`.
 *
 * Storage: SQLite puts freed pages on its free list and reuses them for later writes, so the
 * file stops growing but does not shrink; shrinking takes a `VACUUM`, which rewrites the whole
 * file under an exclusive lock (every writer waits, and it needs as much free disk again), so
 * prune leaves it to the operator. PostgreSQL's autovacuum reclaims the rows.
 */

/** What a prune works on: narrow views of the stores, the session states, and the folders. */
export interface PruneTargets {
  readonly events: Pick<EventStore, 'listSessions' | 'lastSeq' | 'deleteSession'>;
  readonly versions: Pick<VersionStore, 'listVersions' | 'deleteVersions' | 'deleteUnreferencedBlobs'>;
  /** Without it, agent transcripts in the store are left alone. */
  readonly transcripts: Pick<TranscriptStore, 'deleteTranscriptSessions'> | undefined;
  /** A session's state now. */
  state(sessionId: string): Promise<SessionState>;
  readonly history: { remove(sessionId: string): Promise<void>; folder(sessionId: string): string };
  readonly worktrees: { removeSessionWorktrees(sessionId: string): Promise<boolean> };
  /** Claude Code's config folder, where its local copies of transcripts are. */
  readonly claudeConfigDir: string;
  readonly dataDir: string;
  readonly worktreesRoot: string;
}

/** Figures of a prune: what went, or in a dry run what would go. */
export interface PruneTotals {
  readonly sessions: number;
  readonly events: number;
  /** Versions of the deleted sessions. */
  readonly versions: number;
  /** Versions deleted from remaining sessions by `keepVersions`. */
  readonly trimmedVersions: number;
  /** Agent conversations (SDK sessions) whose transcripts went. */
  readonly transcripts: number;
  /** Folders removed: workspaces, history repositories, worktree folders. */
  readonly folders: number;
  /** Blobs no remaining version refers to, deleted by compaction; null in a dry run (known only by doing it). */
  readonly blobs: number | null;
}

/** What `SessionManager.prune` returns. */
export interface PruneResult {
  readonly dryRun: boolean;
  readonly plan: PrunePlan;
  readonly totals: PruneTotals;
  /** Sessions skipped at apply time: they changed since the plan, or deleting them failed. */
  readonly failed: ReadonlyArray<{ readonly sessionId: string; readonly reason: string }>;
}

/** Plans and (unless `options.dryRun`) applies a prune. */
export async function prune(targets: PruneTargets, options: CompiledPruneOptions, now: number): Promise<PruneResult> {
  const sessions = await gather(targets);
  const plan = planPrune(sessions, options, { now, dataDir: targets.dataDir });
  const failed: Array<{ sessionId: string; reason: string }> = [];
  let folders = 0;
  let events = 0;
  let versions = 0;
  let trimmedVersions = plan.trims.reduce((sum, trim) => sum + trim.versions.length, 0);
  let transcripts = 0;
  let deletedSessions = 0;

  if (options.dryRun) {
    for (const deletion of plan.deletions) {
      events += deletion.events;
      versions += deletion.versions.length;
      transcripts += deletion.transcripts.length;
      for (const folder of foldersOf(targets, deletion)) if (await exists(folder)) folders++;
    }
    return {
      dryRun: true,
      plan,
      totals: { sessions: plan.deletions.length, events, versions, trimmedVersions, transcripts, folders, blobs: null },
      failed,
    };
  }

  for (const deletion of plan.deletions) {
    try {
      const outcome = await deleteSession(targets, deletion);
      if (outcome === 'changed') {
        failed.push({ sessionId: deletion.sessionId, reason: 'it gained events since the plan was made: kept' });
        continue;
      }
      deletedSessions++;
      events += outcome.events;
      versions += outcome.versions;
      transcripts += deletion.transcripts.length;
      folders += outcome.folders;
    } catch (error) {
      failed.push({ sessionId: deletion.sessionId, reason: toOrchestratorError(error).message });
    }
  }
  for (const trim of plan.trims) {
    try {
      await targets.versions.deleteVersions(trim.sessionId, trim.versions);
    } catch (error) {
      trimmedVersions -= trim.versions.length;
      failed.push({ sessionId: trim.sessionId, reason: `versions kept: ${toOrchestratorError(error).message}` });
    }
  }
  const blobs = await targets.versions.deleteUnreferencedBlobs();
  return {
    dryRun: false,
    plan,
    totals: { sessions: deletedSessions, events, versions, trimmedVersions, transcripts, folders, blobs },
    failed,
  };
}

/** Every stored session with its state and versions (a session whose state cannot be read is marked so). */
async function gather(targets: PruneTargets): Promise<PruneSession[]> {
  const summaries: SessionSummary[] = [];
  for (let page = await targets.events.listSessions({ limit: 1000 }); page.length > 0; ) {
    summaries.push(...page);
    if (page.length < 1000) break;
    page = await targets.events.listSessions({ limit: 1000, before: page.at(-1)?.sessionId as string });
  }
  const sessions: PruneSession[] = [];
  for (const summary of summaries) {
    let state: PruneSession['state'];
    try {
      state = await targets.state(summary.sessionId);
    } catch (error) {
      state = { unreadable: toOrchestratorError(error).message };
    }
    const versions = await targets.versions.listVersions(summary.sessionId);
    sessions.push({ summary, state, versions: versions.map(({ version, label }) => ({ version, label })) });
  }
  return sessions;
}

/** Deletes one planned session, its events last; `changed` when it gained events since the plan. */
async function deleteSession(
  targets: PruneTargets,
  deletion: PlannedDeletion,
): Promise<'changed' | { events: number; versions: number; folders: number }> {
  const { sessionId } = deletion;
  if ((await targets.events.lastSeq(sessionId)) !== deletion.events) return 'changed';
  // Versions taken since the plan go too: the whole session goes.
  const numbers = (await targets.versions.listVersions(sessionId)).map((v) => v.version);
  const versions = await targets.versions.deleteVersions(sessionId, numbers);
  if (deletion.transcripts.length > 0) {
    await targets.transcripts?.deleteTranscriptSessions(deletion.transcripts);
    await removeLocalTranscripts(targets.claudeConfigDir, deletion.transcripts);
  }
  // The gateway keeps a session's recorded model exchanges as a transcript under the session's
  // own id (docs/cassettes.md); no SDK session has such an id, so this deletes only those.
  await targets.transcripts?.deleteTranscriptSessions([sessionId]);
  let folders = 0;
  if (deletion.files) {
    // Worktrees and their branches live in the session's history repository, never in the workspace.
    if (await targets.worktrees.removeSessionWorktrees(sessionId)) folders++;
    if (await exists(targets.history.folder(sessionId))) folders++;
    await targets.history.remove(sessionId);
  }
  if (deletion.removeWorkspace && (await exists(deletion.workspace))) {
    // Planned as a folder of the data directory's workspaces: checked again before it goes.
    await rm(assertBelow(path.join(targets.dataDir, 'workspaces'), deletion.workspace, 'workspace'), {
      recursive: true,
      force: true,
    });
    folders++;
  }
  const events = await targets.events.deleteSession(sessionId);
  return { events, versions, folders };
}

/** The folders a deletion removes (some may not exist). */
function foldersOf(targets: PruneTargets, deletion: PlannedDeletion): string[] {
  const folders = deletion.files
    ? [path.join(targets.worktreesRoot, deletion.sessionId), targets.history.folder(deletion.sessionId)]
    : [];
  if (deletion.removeWorkspace) folders.push(deletion.workspace);
  return folders;
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
