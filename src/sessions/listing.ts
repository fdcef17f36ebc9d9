import { toOrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { replayMetrics } from '../monitor/index.ts';
import type { Lease, LeaseStore, SessionSummary } from '../store/index.ts';
import { replay, type SessionState } from '../workflow/index.ts';
import { FINISHED_STATUSES, type SessionStatus, sessionStatus } from './prune-plan.ts';
import { recordedModel } from './recorded-model.ts';

/**
 * The list of sessions, as `sessions list` (and any other reader) shows it: each session's
 * status told with its owner in mind, its workflow, what it cost and when it was made. The
 * decision is {@link listingOf}, a pure function over plain data; {@link listSessions} reads
 * what it needs from the log and the leases.
 */

/**
 * A session's status in a listing: its workflow's ({@link SessionStatus}), except that an
 * unfinished workflow nobody runs any more (no live lease: its process died or was stopped
 * without pausing it) is `interrupted`; `unreadable` when its log could not be read.
 */
export type ListedStatus = SessionStatus | 'interrupted' | 'unreadable';

/** Every {@link ListedStatus}, in the order help texts list them. */
export const LISTED_STATUSES: readonly ListedStatus[] = [
  'running',
  'awaiting_input',
  'paused',
  'interrupted',
  'rolling_back',
  'completed',
  'failed',
  'cancelled',
  'empty',
  'unreadable',
];

/** One session of a listing (plain JSON). */
export interface SessionListing {
  readonly sessionId: string;
  readonly status: ListedStatus;
  /** `sessions resume` would carry it on: unfinished, and no live process owns it. */
  readonly resumable: boolean;
  /** The name of the workflow the status is of (the latest unfinished run, else the latest); null without one. */
  readonly workflow: string | null;
  /** What it cost, priced from the usage its agents reported (the figure `sessions show` gives). */
  readonly costUsd: number;
  /** The answers came from the offline scripted model (the session recorded so): its cost is simulated. */
  readonly simulated: boolean;
  /** Events in its log. */
  readonly events: number;
  /** ISO times of its first and latest events. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The live process that runs it, if one does. */
  readonly owner: { readonly host: string; readonly pid: number } | null;
  /** Why the log could not be read (`unreadable` only). */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What {@link listingOf} decides from. */
export interface ListingFacts {
  readonly summary: SessionSummary;
  readonly state: SessionState;
  readonly costUsd: number;
  readonly simulated: boolean;
  /** The session's lease when a live process holds it; undefined when none does. */
  readonly liveLease: Lease | undefined;
}

/** A session's line in a listing: pure, over what was read. */
export function listingOf(facts: ListingFacts): SessionListing {
  const { summary, state, liveLease } = facts;
  const runs = Object.values(state.workflows);
  const run = runs.findLast((r) => !FINISHED_STATUSES.includes(r.status)) ?? runs.at(-1);
  const status = sessionStatus(state);
  const unfinished = run !== undefined && !FINISHED_STATUSES.includes(status);
  // A paused run stays `paused` without an owner (it waits for a resume by design); a run
  // that was going, asking or rolling back and has no live owner was cut off.
  const orphaned = unfinished && liveLease === undefined;
  return {
    sessionId: summary.sessionId,
    status: orphaned && status !== 'paused' ? 'interrupted' : status,
    resumable: orphaned,
    workflow: run?.name ?? null,
    costUsd: facts.costUsd,
    simulated: facts.simulated,
    events: summary.lastSeq,
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    owner: liveLease ? { host: liveLease.host, pid: liveLease.pid } : null,
  };
}

/** Where {@link listSessions} reads from. */
export interface ListingSource {
  readonly log: Pick<EventLog, 'listSessions' | 'readAll'>;
  readonly leases: Pick<LeaseStore, 'getLease'>;
  /**
   * Whether the process holding a lease is alive (the orchestrator's `leaseIsLive`: not lapsed,
   * and on this host its pid exists). Passed in: this area knows no processes.
   */
  readonly ownerLive: (lease: Lease) => boolean;
}

/** Options of {@link listSessions}. */
export interface ListSessionsFilter {
  /** At most this many sessions (after filtering), newest first. */
  readonly limit: number;
  /** Only sessions in these statuses. @default every status */
  readonly statuses?: readonly ListedStatus[] | undefined;
  /** Only sessions whose workflow has this name. @default every workflow */
  readonly workflow?: string | undefined;
}

/** How many sessions one store query lists. */
const PAGE = 100;

/**
 * The sessions of the store, newest first, each read from its log (its state and figures are
 * replayed) with its lease. A session whose log cannot be read is listed as `unreadable` with
 * the error, never failing the listing.
 */
export async function listSessions(source: ListingSource, filter: ListSessionsFilter): Promise<SessionListing[]> {
  const out: SessionListing[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await source.log.listSessions({ limit: PAGE, ...(before !== undefined && { before }) });
    for (const summary of page) {
      const listing = await readListing(source, summary);
      if (filter.statuses !== undefined && !filter.statuses.includes(listing.status)) continue;
      if (filter.workflow !== undefined && listing.workflow !== filter.workflow) continue;
      out.push(listing);
      if (out.length >= filter.limit) return out;
    }
    if (page.length < PAGE) return out;
    before = page.at(-1)?.sessionId;
  }
}

async function readListing(source: ListingSource, summary: SessionSummary): Promise<SessionListing> {
  try {
    const events: AnyEvent[] = [];
    for await (const event of source.log.readAll(summary.sessionId)) events.push(event);
    const lease = await source.leases.getLease(summary.sessionId);
    return listingOf({
      summary,
      state: replay(summary.sessionId, events),
      costUsd: replayMetrics(summary.sessionId, events).session.costUsd,
      simulated: recordedModel(events)?.kind === 'scripted',
      liveLease: lease !== undefined && source.ownerLive(lease) ? lease : undefined,
    });
  } catch (error) {
    const failure = toOrchestratorError(error);
    return {
      sessionId: summary.sessionId,
      status: 'unreadable',
      resumable: false,
      workflow: null,
      costUsd: 0,
      simulated: false,
      events: summary.lastSeq,
      createdAt: summary.createdAt,
      updatedAt: summary.updatedAt,
      owner: null,
      error: { code: failure.code, message: failure.message },
    };
  }
}
