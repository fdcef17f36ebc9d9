import { existsSync } from 'node:fs';
import { freemem } from 'node:os';
import path from 'node:path';
import type { ProcessRegistry } from './processes.ts';
import { type BoundAgent, configKey, type ProcessConfig } from './sdk-options.ts';
import { SpareBuckets } from './spare-buckets.ts';
import {
  type ClaimSpare,
  claimSpare,
  claimSpareSource,
  type SpareCredentials,
  type StartupSpare,
  startupSpareSource,
  takeStartupSpare,
  type WarmStart,
} from './spares.ts';
import { memoryRoom, SPARE_BYTES, sparesToStart } from './warm-plan.ts';

export type { SpareCredentials, SpareTaker, WarmStart } from './spares.ts';

/** Options of a {@link WarmPool}. */
export interface WarmPoolOptions {
  /**
   * Spare processes kept per agent configuration, and per configuration and folder, refilled
   * after every take (the policy for agents spawned without a graph). 0: only what
   * {@link WarmPool.want} asks for.
   */
  readonly size: number;
  /**
   * Spares the graph-aware warm start ({@link WarmPool.want}) keeps parked or starting at
   * once, over every configuration. 0 turns it off. @default 0
   */
  readonly maxSpares?: number;
  /**
   * Memory that must stay available (`os.freemem()`, MemAvailable on Linux) after a spare of
   * the graph-aware warm start is started, counting ~240 MB per spare. @default 1 GiB
   */
  readonly minFreeMemoryBytes?: number;
  /** Reads the memory available now, in bytes. @default `os.freemem` */
  readonly availableMemory?: () => number;
  /** Where spare processes are tracked (and killed on shutdown). */
  readonly processes: ProcessRegistry;
  /** Configurations kept warm at once (claim spares); the least recently used one is let go. @default 4 */
  readonly maxConfigurations?: number;
  /** (configuration, folder) pairs kept warm at once (start-up spares); LRU as well. @default 4 */
  readonly maxFolders?: number;
  /**
   * A start-up spare older than this is closed rather than used (it would show the agent its
   * folder as it was then); a claim spare takes its place. @default 30000
   */
  readonly folderSpareMaxAgeMs?: number;
  /** Longest wait for a spare to start. @default 60000 */
  readonly initializeTimeoutMs?: number;
  /**
   * How long an agent waits for a spare of its own that is still starting, when none is
   * parked, before it starts cold (see `SpareBuckets.takeSoon`). @default 5000
   */
  readonly startingWaitMaxMs?: number;
  /**
   * After a take (or a miss), the spare that replaces it starts once the agent has its first
   * model answer, or after this long at most. @default 1000
   */
  readonly refillDelayMaxMs?: number;
  /**
   * Model credentials of each new spare (the gateway's spare token), put in its environment
   * at start and bound to the agent that takes it (see {@link WarmTake.adopt}). @default none
   */
  readonly credentials?: () => SpareCredentials;
}

/** One agent a workflow will need soon, as {@link WarmPool.want} takes it. */
export interface WarmWant {
  readonly config: ProcessConfig;
  /** The shared folder it will work in (a session workspace), when known. */
  readonly cwd?: string | undefined;
}

/** What the pool has done since it was made: spares started (and parked), and taken. */
export interface WarmStats {
  readonly started: number;
  readonly taken: number;
  /** Spares parked or starting now. */
  readonly live: number;
}

/** What {@link WarmPool.take} needs to know of the agent besides its configuration. */
export interface WarmTake {
  readonly agent: BoundAgent;
  readonly prompt: string;
  readonly cwd: string;
  /** More agents will work in this folder (the session workspace): keep start-up spares for it. */
  readonly sharedCwd: boolean;
  /** Settles at the agent's first model answer, or its end: refills wait for it. */
  readonly startedUp: Promise<unknown>;
  /** Aborted when the agent is stopped: it waits no longer for a spare, and sends no prompt. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Takes the credentials of the spare (with the pool's `credentials`): binds them to this
   * agent and releases them when it ends. A spare whose credentials cannot be bound is closed
   * and the agent starts cold.
   */
  readonly adopt?: ((credentials: SpareCredentials) => void) | undefined;
}

/**
 * Pre-started Claude Code processes, so that a spawn skips the cold start (~0.45 s here). Two
 * kinds, both started with everything that is fixed for the life of a process (system prompt,
 * tools, policy hook, `canUseTool`, the orchestrator's MCP server, environment), so kept per
 * {@link configKey}; the hook and tools are bound to the agent late, through an
 * `AgentBinding`:
 *
 * - **Start-up spares** (SDK `startup()`), per configuration AND folder: the process has
 *   also read its folder and waits only for the prompt (measured here ~0.16 s from spawn to
 *   the first answer, against ~0.22 s for a claim and ~0.55 s cold). Kept for folders that
 *   agents share (a session workspace; the task says `sharedCwd`), up to `maxFolders` pairs.
 * - **Claim spares** (SDK `prewarm()`), per configuration: parked before any folder is
 *   known; an agent claims one with its folder and prompt (isolated worktrees, other folders).
 *
 * An agent takes a start-up spare of its (configuration, folder) if one is ready, else a
 * claim spare of its configuration, else starts cold. A resumed session never uses a spare
 * (the SDK cannot resume into one); a claim the process refuses falls back to a cold start.
 *
 * Staleness, the price of start-up spares: in a git work tree, Claude Code reads its folder's
 * context (git branch, status and recent commits) when it starts (verified: a commit made
 * between start and prompt does not show), so an agent on a start-up spare sees the folder as
 * it was then, not as the agents since have left it. Outside git nothing of the folder goes
 * stale (see {@link insideGitWorkTree}). In a git work tree it is bounded two ways: a spare is
 * started only when the previous agent of its pair in that folder has its first answer or has
 * ended (below), and one older than `folderSpareMaxAgeMs` is closed instead of used, a claim
 * spare of its configuration starting in its place (a claim reads the folder at claim time).
 * {@link release} closes a folder's spares when its session ends.
 *
 * Spares are processes beyond the runtime's `maxConcurrent` (each ~230 MB while parked); the
 * first agent of a configuration (or folder) starts cold and fills the pool for the next.
 *
 * That refill policy (`size` > 0) starts spares for agents that may never come. The
 * graph-aware warm start ({@link want}, `size` 0) starts none of its own: a workflow run says
 * which agents it will need next, and the pool starts one spare for each (none for what is
 * parked or starting already), within `maxSpares` and the memory floor: a start-up spare of
 * the folder for an agent that will work in a shared folder outside git, a claim spare
 * otherwise; a take is never refilled; {@link releaseOwner} closes what the run asked for
 * and nobody took.
 *
 * Refills wait for the agent that emptied the slot: from claim to its first model answer a
 * Claude Code process burns ~200 ms of CPU, and a spare starting beside it ~400 ms more (and
 * ~200 ms over the 2.5 s after it reports ready); on a
 * 2-core machine starting both at once delayed the claimed agent's first answer by up to half
 * (measured 153 ms alone, 235 ms beside a starting spare). So the replacement starts when the
 * taker's `startedUp` settles (its first model answer is committed, or it ended) or after
 * `refillDelayMaxMs`, whichever comes first. An explicit {@link fill} starts at once: nobody
 * is waiting then.
 */
export class WarmPool {
  readonly #claims: SpareBuckets<ClaimSpare>;
  readonly #folders: SpareBuckets<StartupSpare>;
  readonly #maxSpares: number;
  readonly #minFreeBytes: number;
  readonly #available: () => number;
  readonly #startingWaitMaxMs: number;
  /** Configurations each owner (a workflow run) asked spares for, released with the owner. */
  readonly #owners = new Map<string, Set<string>>();
  #closed = false;

  constructor(options: WarmPoolOptions) {
    const start = {
      processes: options.processes,
      initializeTimeoutMs: options.initializeTimeoutMs ?? 60_000,
      credentials: options.credentials,
    };
    const refillDelayMaxMs = options.refillDelayMaxMs ?? 1000;
    this.#maxSpares = options.maxSpares ?? 0;
    this.#minFreeBytes = options.minFreeMemoryBytes ?? 1024 * 1024 * 1024;
    this.#available = options.availableMemory ?? freemem;
    this.#startingWaitMaxMs = options.startingWaitMaxMs ?? 5000;
    this.#claims = new SpareBuckets(claimSpareSource(start), {
      size: options.size,
      // The graph-aware warm start may want a spare of as many configurations as it has spares.
      maxBuckets: Math.max(options.maxConfigurations ?? 4, this.#maxSpares),
      refillDelayMaxMs,
    });
    this.#folders = new SpareBuckets(startupSpareSource(start), {
      size: options.size,
      // The graph-aware warm start may want a spare of as many configurations in one folder.
      maxBuckets: Math.max(options.maxFolders ?? 4, this.#maxSpares),
      refillDelayMaxMs,
      // Only a git work tree goes stale in a start-up spare (see insideGitWorkTree).
      maxAgeMs: (cwd) =>
        cwd !== undefined && insideGitWorkTree(cwd) ? (options.folderSpareMaxAgeMs ?? 30_000) : undefined,
      // A folder spare too old to use gives way to a claim spare, which never goes stale.
      onExpired: (config) => void this.#claims.fill(configKey(config), config, undefined).catch(() => undefined),
    });
  }

  /** Spares parked now, of both kinds. */
  get parked(): number {
    return this.#claims.parked + this.#folders.parked;
  }

  /** Start-up spares (per folder) parked now. */
  get parkedInFolders(): number {
    return this.#folders.parked;
  }

  /** Spares started and taken so far, of both kinds, and those parked or starting now. */
  get stats(): WarmStats {
    const claims = this.#claims.counts;
    const folders = this.#folders.counts;
    return {
      started: claims.started + folders.started,
      taken: claims.taken + folders.taken,
      live: this.#claims.live + this.#folders.live,
    };
  }

  /**
   * The graph-aware warm start: `wants` lists the agents a workflow will need next, most
   * urgent first; spares are started so that each has one parked or starting, within
   * `maxSpares` over every configuration and the memory bound: start-up spares of its folder
   * for an agent that will work in a shared folder outside a git work tree, else claim spares
   * (SDK `prewarm()`, claimable in any folder). A claim does part of the start-up that a
   * start-up spare has behind it: on the team bench (2 cores), the 4 coders of a wave reported
   * `init` 0.26-0.43 s after their start on start-up spares against 0.31-0.72 s on claim
   * spares, and a later agent alone 0.07-0.26 s against 0.20-0.63 s. Returns how many it
   * started. Nothing is refilled after a take: the next `want` decides again. Spares of a
   * configuration no longer wanted stay parked until a later agent of it takes them or
   * {@link releaseOwner} closes them (an agent may be on its way to take one: closing it then
   * would make it start cold).
   */
  want(owner: string, wants: readonly WarmWant[]): number {
    if (this.#closed || this.#maxSpares <= 0 || wants.length === 0) return 0;
    // Looked up once per folder and decision: a fan-out wants many agents in one folder.
    const inGit = new Map<string, boolean>();
    const gitTree = (cwd: string) => inGit.get(cwd) ?? inGit.set(cwd, insideGitWorkTree(cwd)).get(cwd);
    const keyed = wants.map((want) => {
      const key = configKey(want.config);
      // A start-up spare in a shared folder that nothing of it can go stale in; else a claim.
      return want.cwd !== undefined && !gitTree(want.cwd)
        ? { key: folderKeyOf(key, want.cwd), config: want.config, cwd: want.cwd }
        : { key, config: want.config, cwd: undefined };
    });
    let keys = this.#owners.get(owner);
    if (!keys) {
      keys = new Set();
      this.#owners.set(owner, keys);
    }
    for (const { key } of keyed) keys.add(key);
    const live = this.#claims.live + this.#folders.live;
    // Spares still starting have not reached their size yet: count them as if they had.
    const starting = live - this.#claims.parked - this.#folders.parked;
    const available = this.#available() - starting * SPARE_BYTES;
    const room = Math.min(this.#maxSpares - live, memoryRoom(available, this.#minFreeBytes, SPARE_BYTES));
    const start = sparesToStart(keyed, (key) => this.#claims.have(key) + this.#folders.have(key), room);
    let started = 0;
    for (const [key, count] of start) {
      const want = keyed.find((w) => w.key === key);
      if (!want) continue;
      if (want.cwd !== undefined) this.#folders.startMore(key, want.config, want.cwd, count);
      else this.#claims.startMore(key, want.config, undefined, count);
      started += count;
    }
    return started;
  }

  /**
   * Closes the spares an owner asked for ({@link want}) that no other owner asked for too:
   * its workflow run has ended, and nobody will take them.
   */
  async releaseOwner(owner: string): Promise<void> {
    const keys = this.#owners.get(owner);
    if (!keys) return;
    this.#owners.delete(owner);
    const stillWanted = new Set([...this.#owners.values()].flatMap((other) => [...other]));
    await Promise.all(
      [...keys]
        .filter((key) => !stillWanted.has(key))
        .flatMap((key) => [this.#claims.releaseKey(key), this.#folders.releaseKey(key)]),
    );
  }

  /**
   * Takes a spare for an agent and sends it the prompt, or returns undefined (none is ready or
   * coming, the process refused the claim, or the agent was stopped meanwhile): the agent then
   * starts cold. A spare of its own still starting is waited for (see `SpareBuckets.takeSoon`).
   * The kind of spare this agent would want next time is refilled once its `startedUp` settles.
   */
  async take(config: ProcessConfig, take: WarmTake): Promise<WarmStart | undefined> {
    if (this.#closed) return undefined;
    const key = configKey(config);
    const wait = { maxWaitMs: this.#startingWaitMaxMs, signal: take.signal };
    let claim: ClaimSpare | undefined;
    if (take.sharedCwd) {
      const folderKey = folderKeyOf(key, take.cwd);
      const spare = await this.#folders.takeSoon(folderKey, config, take.cwd, wait);
      this.#folders.refillAfter(folderKey, take.startedUp);
      if (spare && take.signal?.aborted) this.#folders.giveBack(folderKey, spare);
      else if (spare) return takeStartupSpare(spare, take.agent, take.prompt, take.adopt);
      if (take.signal?.aborted) return undefined;
      // A claim spare of the configuration serves too: the graph-aware warm start's for a
      // shared folder in a git work tree, one parked by an agent elsewhere, or one in place of
      // an expired folder spare. It is replaced.
      claim = await this.#claims.takeExistingSoon(key, wait);
      if (claim) this.#claims.refillAfter(key, take.startedUp);
    } else {
      claim = await this.#claims.takeSoon(key, config, undefined, wait);
      this.#claims.refillAfter(key, take.startedUp);
    }
    if (claim && take.signal?.aborted) {
      this.#claims.giveBack(key, claim);
      return undefined;
    }
    return claim ? claimSpare(claim, take.agent, take.prompt, take.cwd, take.adopt) : undefined;
  }

  /**
   * Starts spares up to the pool size and waits until they are parked: start-up spares of
   * this folder when `cwd` is given, else claim spares of the configuration.
   */
  async fill(config: ProcessConfig, cwd?: string): Promise<void> {
    if (this.#closed) return;
    const key = configKey(config);
    if (cwd === undefined) await this.#claims.fill(key, config, undefined);
    else await this.#folders.fill(folderKeyOf(key, cwd), config, cwd);
  }

  /** Closes the start-up spares of a folder (its session ended, or it is removed). */
  async release(cwd: string): Promise<void> {
    await this.#folders.release((folder) => folder === cwd);
  }

  /** Closes every spare and waits for their processes to exit. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#claims.close(), this.#folders.close()]);
  }
}

function folderKeyOf(key: string, cwd: string): string {
  return JSON.stringify([key, cwd]);
}

/**
 * Whether a folder is in a git work tree (a `.git` in it or above it). Of its folder, a Claude
 * Code process started there keeps only the working directory's path, whether it is a git
 * repository, and in one the git status and recent commits, taken at start (verified with
 * 2.1.331 by comparing the first request of a start-up spare and of a cold start, after files,
 * a CLAUDE.md and a commit were added in between: equal outside git, the commit missing
 * inside; the orchestrator reads no CLAUDE.md, `settingSources` is empty). So a start-up spare
 * of a folder outside git does not go stale, and one inside does.
 */
export function insideGitWorkTree(dir: string): boolean {
  for (let at = path.resolve(dir); ; ) {
    if (existsSync(path.join(at, '.git'))) return true;
    const up = path.dirname(at);
    if (up === at) return false;
    at = up;
  }
}
