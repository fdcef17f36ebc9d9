import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { isSafeName } from '../security/index.ts';
import type { SessionSummary, VersionRecord } from '../store/index.ts';
import { parseDuration, type SessionState, type WorkflowStatus } from '../workflow/index.ts';

/**
 * Retention, the pure half: which sessions go, which stay and why, and which versions of the
 * remaining sessions go, decided over plain data (session summaries, states, version lists).
 * `SessionManager.prune` gathers that data and applies the plan (see `prune.ts`).
 */

/** A session's status for retention: its workflow runs' (see {@link sessionStatus}), or `empty` without one. */
export type SessionStatus = WorkflowStatus | 'empty';

/** Every {@link SessionStatus}, in the order help texts list them. */
export const SESSION_STATUSES: readonly SessionStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'running',
  'paused',
  'awaiting_input',
  'rolling_back',
  'empty',
];

/** The statuses age pruning deletes unless told otherwise: sessions that have finished. */
export const FINISHED_STATUSES: readonly SessionStatus[] = ['completed', 'failed', 'cancelled'];

/** The oldest age `olderThan` accepts: 100 years (durations are otherwise capped for timers). */
export const MAX_PRUNE_AGE_MS = 100 * 365 * 86_400_000;

/** Options of `SessionManager.prune`. At least `olderThan` or `keepVersions` is required. */
export interface PruneOptions {
  /**
   * Delete sessions whose last event is older than this: `'30d'`, `'12h'`, `'1d12h'`, or
   * milliseconds. @default none: no session is deleted
   */
  readonly olderThan?: string | number | undefined;
  /**
   * Which sessions `olderThan` may delete, by {@link SessionStatus}. A running session is
   * deleted only when asked for by name here. @default ['completed', 'failed', 'cancelled']
   */
  readonly status?: readonly string[] | undefined;
  /** Keep only the newest N versions (N ≥ 1) of every remaining session. @default none: every version stays */
  readonly keepVersions?: number | undefined;
  /** Let `keepVersions` delete labelled versions too. @default false: labelled versions stay */
  readonly includeLabelled?: boolean | undefined;
  /** Make the plan only: report what would go and change nothing. @default false */
  readonly dryRun?: boolean | undefined;
}

/** {@link PruneOptions} checked, with defaults applied and the age in milliseconds. */
export interface CompiledPruneOptions {
  readonly olderThanMs: number | undefined;
  readonly statuses: readonly SessionStatus[];
  readonly keepVersions: number | undefined;
  readonly includeLabelled: boolean;
  readonly dryRun: boolean;
}

/** How the options are named in messages: the CLI passes its flags' names. */
export type PruneOptionNames = Readonly<Record<'olderThan' | 'status' | 'keepVersions', string>>;

const OPTION_NAMES: PruneOptionNames = { olderThan: 'olderThan', status: 'status', keepVersions: 'keepVersions' };
const KNOWN = new Set(['olderThan', 'status', 'keepVersions', 'includeLabelled', 'dryRun']);

/**
 * Checks prune options and applies their defaults; every problem is reported in one error.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming each bad option, or saying that the
 * options would prune nothing.
 */
export function compilePruneOptions(
  options: PruneOptions,
  names: PruneOptionNames = OPTION_NAMES,
): CompiledPruneOptions {
  const problems: string[] = [];
  const shown = (value: unknown) => `${JSON.stringify(value) ?? String(value)} (${typeof value})`;
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) problems.push(`${key}: unknown option`);

  let olderThanMs: number | undefined;
  if (options.olderThan !== undefined) {
    const parsed =
      typeof options.olderThan === 'string' || typeof options.olderThan === 'number'
        ? parseDuration(options.olderThan, { maxMs: MAX_PRUNE_AGE_MS })
        : { error: `expected a duration such as '30d' or '12h', received ${shown(options.olderThan)}` };
    if ('error' in parsed) problems.push(`${names.olderThan}: ${parsed.error}`);
    else olderThanMs = parsed.ms;
  }

  let statuses = FINISHED_STATUSES;
  if (options.status !== undefined) {
    const list = Array.isArray(options.status) ? (options.status as unknown[]) : [options.status];
    const bad = list.filter((s) => typeof s !== 'string' || !SESSION_STATUSES.includes(s as SessionStatus));
    if (bad.length > 0 || list.length === 0) {
      problems.push(
        `${names.status}: expected one or more of ${SESSION_STATUSES.join(', ')}, received ${bad.length > 0 ? bad.map(shown).join(', ') : 'none'}`,
      );
    } else {
      statuses = [...new Set(list as SessionStatus[])];
    }
    if (options.olderThan === undefined) {
      problems.push(`${names.status} chooses which sessions ${names.olderThan} deletes: give ${names.olderThan} too`);
    }
  }

  const { keepVersions } = options;
  if (keepVersions !== undefined && (!Number.isSafeInteger(keepVersions) || keepVersions < 1)) {
    problems.push(`${names.keepVersions}: expected a whole number of 1 or more, received ${shown(keepVersions)}`);
  }
  for (const key of ['includeLabelled', 'dryRun'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'boolean')
      problems.push(`${key}: expected a boolean, received ${shown(value)}`);
  }
  if (options.olderThan === undefined && keepVersions === undefined) {
    problems.push(
      `nothing to prune: give ${names.olderThan} (delete sessions whose last event is older) or ${names.keepVersions} (keep only the newest versions of each session)`,
    );
  }
  if (problems.length > 0) {
    throw new OrchestratorError('INVALID_ARGUMENT', `prune: ${problems.join('; ')}`, { details: { problems } });
  }
  return Object.freeze({
    olderThanMs,
    statuses: Object.freeze(statuses),
    keepVersions,
    includeLabelled: options.includeLabelled ?? false,
    dryRun: options.dryRun ?? false,
  });
}

/**
 * A session's status: the latest unfinished workflow run's when it has one (a run still going,
 * paused or awaiting an answer keeps the session alive), otherwise its latest run's, or `empty`.
 */
export function sessionStatus(state: SessionState): SessionStatus {
  const runs = Object.values(state.workflows);
  const open = runs.findLast((run) => !FINISHED_STATUSES.includes(run.status));
  return (open ?? runs.at(-1))?.status ?? 'empty';
}

/** One stored session as the plan sees it. */
export interface PruneSession {
  readonly summary: SessionSummary;
  /** Its state now, or why it could not be read (such a session is never touched). */
  readonly state: SessionState | { readonly unreadable: string };
  readonly versions: readonly Pick<VersionRecord, 'version' | 'label'>[];
}

/** A session the plan deletes, with everything that goes with it. */
export interface PlannedDeletion {
  readonly sessionId: string;
  readonly status: SessionStatus;
  readonly lastEventAt: string;
  readonly events: number;
  readonly versions: readonly number[];
  readonly reason: string;
  /** SDK sessions of its agents whose transcripts go (those no remaining session refers to). */
  readonly transcripts: readonly string[];
  /** Its workspace folder. */
  readonly workspace: string;
  /** Whether the workspace folder goes too: only one under the data directory's `workspaces/` that no remaining session uses. */
  readonly removeWorkspace: boolean;
  /** Whether its history repository and worktrees go: false for an id that is no plain folder name. */
  readonly files: boolean;
  /** What stays behind, and why. */
  readonly notes: readonly string[];
}

/** A session the plan keeps whole, and why. */
export interface KeptSession {
  readonly sessionId: string;
  readonly status: SessionStatus | 'unreadable';
  /** `recent`: its last event is within the age; `status`: not a status being deleted; `unreadable`; `no-age`: no age was given. */
  readonly why: 'recent' | 'status' | 'unreadable' | 'no-age';
  readonly reason: string;
}

/** Versions of a remaining session that `keepVersions` deletes. */
export interface VersionTrim {
  readonly sessionId: string;
  readonly versions: readonly number[];
  /** Older versions kept because they carry a label. */
  readonly labelledKept: readonly number[];
}

/** What a prune deletes (or, in a dry run, would delete). */
export interface PrunePlan {
  readonly deletions: readonly PlannedDeletion[];
  readonly kept: readonly KeptSession[];
  readonly trims: readonly VersionTrim[];
}

/** Where the plan runs: the clock, and the data directory whose folders may go. */
export interface PruneContext {
  /** Now, in epoch milliseconds. */
  readonly now: number;
  readonly dataDir: string;
}

/**
 * Decides a prune over the stored sessions: pure, no I/O. A session is deleted when its last
 * event is older than `olderThanMs` and its status is one of `statuses`; every other readable
 * session keeps its newest `keepVersions` versions (and its labelled ones unless
 * `includeLabelled`). Unreadable sessions are kept whole. Transcripts and workspace folders a
 * remaining session still refers to (a fork shares its origin's agents' SDK sessions) stay.
 */
export function planPrune(
  sessions: readonly PruneSession[],
  options: CompiledPruneOptions,
  context: PruneContext,
): PrunePlan {
  const doomed: PruneSession[] = [];
  const kept: KeptSession[] = [];
  const remaining: Array<{ session: PruneSession; state: SessionState }> = [];
  for (const session of sessions) {
    const { sessionId } = session.summary;
    if ('unreadable' in session.state) {
      kept.push({
        sessionId,
        status: 'unreadable',
        why: 'unreadable',
        reason: `unreadable, left as it is: ${session.state.unreadable}`,
      });
      continue;
    }
    const status = sessionStatus(session.state);
    const verdict = ageVerdict(session, status, options, context.now);
    if (verdict.delete) doomed.push(session);
    else {
      kept.push({ sessionId, status, why: verdict.why, reason: verdict.reason });
      remaining.push({ session, state: session.state });
    }
  }

  const workspaces = path.resolve(context.dataDir, 'workspaces');
  const stillUsed = new Set(remaining.flatMap(({ state }) => sdkSessionsOf(state)));
  const stillWorkedIn = new Set(remaining.map(({ state }) => workspaceOf(state, context.dataDir)));
  const deletions = doomed.map((session): PlannedDeletion => {
    const state = session.state as SessionState;
    const { sessionId } = session.summary;
    const status = sessionStatus(state);
    const notes: string[] = [];
    const sdk = sdkSessionsOf(state);
    const shared = sdk.filter((id) => stillUsed.has(id));
    if (shared.length > 0)
      notes.push(`${shared.length} agent transcript(s) kept: a remaining session (a fork) uses them`);
    const workspace = workspaceOf(state, context.dataDir);
    let removeWorkspace = false;
    if (path.dirname(workspace) !== workspaces)
      notes.push(`workspace ${workspace} is not under ${workspaces}: left as it is`);
    else if (stillWorkedIn.has(workspace))
      notes.push(`workspace ${workspace} is used by a remaining session: left as it is`);
    else removeWorkspace = true;
    const files = isSafeName(sessionId);
    if (!files) notes.push('the session id is not a safe name: its history and worktrees are left as they are');
    return {
      sessionId,
      status,
      lastEventAt: session.summary.updatedAt,
      events: session.summary.lastSeq,
      versions: session.versions.map((v) => v.version),
      reason: ageVerdict(session, status, options, context.now).reason,
      transcripts: sdk.filter((id) => !stillUsed.has(id)),
      workspace,
      removeWorkspace,
      files,
      notes,
    };
  });

  const trims: VersionTrim[] = [];
  if (options.keepVersions !== undefined) {
    for (const { session } of remaining) {
      const older = [...session.versions].sort((a, b) => b.version - a.version).slice(options.keepVersions);
      const labelledKept = options.includeLabelled ? [] : older.filter((v) => v.label !== null).map((v) => v.version);
      const versions = older.filter((v) => options.includeLabelled || v.label === null).map((v) => v.version);
      if (versions.length > 0 || labelledKept.length > 0) {
        trims.push({
          sessionId: session.summary.sessionId,
          versions: versions.reverse(),
          labelledKept: labelledKept.reverse(),
        });
      }
    }
  }
  return { deletions, kept, trims };
}

function ageVerdict(
  session: PruneSession,
  status: SessionStatus,
  options: CompiledPruneOptions,
  now: number,
): { delete: true; reason: string } | { delete: false; why: KeptSession['why']; reason: string } {
  if (options.olderThanMs === undefined) return { delete: false, why: 'no-age', reason: 'no age given: sessions stay' };
  const age = now - Date.parse(session.summary.updatedAt);
  const limit = formatAge(options.olderThanMs);
  if (!(age > options.olderThanMs)) {
    return { delete: false, why: 'recent', reason: `last event ${formatAge(age)} ago, within ${limit}` };
  }
  if (!options.statuses.includes(status)) {
    return {
      delete: false,
      why: 'status',
      reason: `${status}: only ${options.statuses.join(', ')} sessions are deleted`,
    };
  }
  return { delete: true, reason: `${status}, last event ${formatAge(age)} ago (older than ${limit})` };
}

/** The SDK session ids of a session's agents. */
function sdkSessionsOf(state: SessionState): string[] {
  return [...new Set(Object.values(state.agents).flatMap((agent) => (agent.sdkSessionId ? [agent.sdkSessionId] : [])))];
}

/** The session's workspace folder, resolved: the recorded one, or where the orchestrator would make it. */
function workspaceOf(state: SessionState, dataDir: string): string {
  return path.resolve(state.workspace ?? path.join(dataDir, 'workspaces', state.sessionId));
}

/** An age in its largest whole unit, like the durations it is compared with: `45d`, `3h`, `20m`, `12s`, `300ms`. */
export function formatAge(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) if (Math.abs(ms) >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.max(0, Math.round(ms))}ms`;
}
