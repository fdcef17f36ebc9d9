import { prewarm, type Query, type SpareProcess } from '@anthropic-ai/claude-agent-sdk';
import type { ProcessRegistry, TrackedProcess } from './processes.ts';
import { AgentBinding, type BoundAgent, buildSdkOptions, configKey, type ProcessConfig } from './sdk-options.ts';

/** Options of a {@link WarmPool}. */
export interface WarmPoolOptions {
  /** Parked spare processes kept per agent configuration. */
  readonly size: number;
  /** Where spare processes are tracked (and killed on shutdown). */
  readonly processes: ProcessRegistry;
  /** Configurations kept warm at once; the least recently used one is let go. @default 4 */
  readonly maxConfigurations?: number;
  /** Longest wait for a spare to start. @default 60000 */
  readonly initializeTimeoutMs?: number;
  /**
   * After a claim (or a miss), the spare that replaces it starts once the agent has its first
   * model answer, or after this long at most. @default 1000
   */
  readonly refillDelayMaxMs?: number;
}

/** A parked Claude Code process, started with a configuration and not yet bound to an agent. */
interface Spare {
  readonly process: SpareProcess;
  readonly binding: AgentBinding;
  readonly abortController: AbortController;
  tracked: TrackedProcess | undefined;
}

interface Bucket {
  readonly config: ProcessConfig;
  readonly ready: Spare[];
  /** Spares being started now. */
  readonly starting: Set<Promise<void>>;
  lastUsed: number;
}

/** A spare claimed by an agent: its query, already bound to the agent and sent the prompt. */
export interface ClaimedSpare {
  readonly stream: Query;
  readonly abortController: AbortController;
  readonly binding: AgentBinding;
  readonly process: TrackedProcess | undefined;
  /** How long the spare was parked before the claim. */
  readonly parkedMs: number | undefined;
}

/**
 * Pre-warmed Claude Code processes per agent configuration, through the SDK's `prewarm()`:
 * a spare has started, loaded its tools, registered the policy hook and the orchestrator's
 * MCP server, and waits; an agent claims it with its working directory and prompt and skips
 * the cold start (~0.45 s here). Everything else is fixed when the spare starts, so spares
 * are kept per {@link configKey}; the hook and tools are bound to the agent late, through
 * an {@link AgentBinding}. A resumed session cannot use a spare (the SDK cannot claim one
 * for `resume`). A claim the process refuses falls back to a cold start.
 *
 * Spares are processes beyond the runtime's `maxConcurrent` (each ~230 MB while parked);
 * the first agent of a configuration starts cold and fills the pool for the next ones.
 *
 * Refills wait for the agent that emptied the slot: from claim to its first model answer a
 * Claude Code process burns ~200 ms of CPU, and a spare starting beside it ~400 ms more; on a
 * 2-core machine starting both at once delayed the claimed agent's first answer by up to half
 * (measured 153 ms alone, 235 ms beside a starting spare). So the replacement starts when the
 * claimant's `startedUp` settles (its first model answer, or its end) or after
 * `refillDelayMaxMs`, whichever comes first. An explicit {@link fill} starts at once: nobody
 * is waiting then.
 */
export class WarmPool {
  readonly #options: WarmPoolOptions;
  readonly #buckets = new Map<string, Bucket>();
  readonly #starting = new Set<Promise<void>>();
  #closed = false;

  constructor(options: WarmPoolOptions) {
    this.#options = options;
  }

  /** Spares parked now, over every configuration. */
  get parked(): number {
    let count = 0;
    for (const bucket of this.#buckets.values()) count += bucket.ready.length;
    return count;
  }

  /**
   * Claims a parked spare of this configuration for an agent, or returns undefined (none is
   * ready, or the process refused the claim). Either way the pool refills, once `startedUp`
   * (the agent's first model answer, or its end) settles or `refillDelayMaxMs` passed.
   */
  async claim(
    config: ProcessConfig,
    agent: BoundAgent,
    prompt: string,
    cwd: string,
    startedUp: Promise<unknown>,
  ): Promise<ClaimedSpare | undefined> {
    if (this.#closed) return undefined;
    const bucket = this.#bucket(config);
    const spare = bucket.ready.shift();
    this.#refillAfter(bucket, startedUp);
    if (!spare) return undefined;
    spare.binding.current = agent;
    const stream = spare.process.claim({ prompt, options: { cwd } });
    try {
      const claimed = await spare.process.claimed;
      return {
        stream,
        abortController: spare.abortController,
        binding: spare.binding,
        process: spare.tracked,
        parkedMs: claimed.parkedMs,
      };
    } catch (error) {
      // Only `option_not_applied` leaves the session running; every other refusal means the
      // prompt never ran and the process goes away: start cold instead.
      if ((error as Error).message?.startsWith('option_not_applied')) {
        return {
          stream,
          abortController: spare.abortController,
          binding: spare.binding,
          process: spare.tracked,
          parkedMs: undefined,
        };
      }
      spare.binding.current = undefined;
      stream.close();
      spare.process.close();
      return undefined;
    }
  }

  /** Starts spares of a configuration up to the pool size and waits until they are parked. */
  async fill(config: ProcessConfig): Promise<void> {
    if (this.#closed) return;
    const bucket = this.#bucket(config);
    this.#refill(bucket);
    await Promise.all(bucket.starting);
  }

  /** Closes every spare and waits for their processes to exit. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#starting]);
    const spares = [...this.#buckets.values()].flatMap((bucket) => bucket.ready.splice(0));
    this.#buckets.clear();
    await Promise.all(spares.map((spare) => this.#discard(spare)));
  }

  #bucket(config: ProcessConfig): Bucket {
    const key = configKey(config);
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.lastUsed = performance.now();
      return bucket;
    }
    bucket = { config, ready: [], starting: new Set(), lastUsed: performance.now() };
    this.#buckets.set(key, bucket);
    this.#evict();
    return bucket;
  }

  #evict(): void {
    const max = this.#options.maxConfigurations ?? 4;
    while (this.#buckets.size > max) {
      const [key, oldest] = [...this.#buckets.entries()].reduce((a, b) => (b[1].lastUsed < a[1].lastUsed ? b : a));
      this.#buckets.delete(key);
      for (const spare of oldest.ready.splice(0)) void this.#discard(spare);
    }
  }

  #refillAfter(bucket: Bucket, startedUp: Promise<unknown>): void {
    let done = false;
    const refill = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A bucket evicted meanwhile must not come back through a late refill.
      if (this.#buckets.get(configKey(bucket.config)) === bucket) this.#refill(bucket);
    };
    const timer = setTimeout(refill, this.#options.refillDelayMaxMs ?? 1000);
    timer.unref();
    void startedUp.then(refill, refill);
  }

  #refill(bucket: Bucket): void {
    while (!this.#closed && bucket.ready.length + bucket.starting.size < this.#options.size) {
      const start: Promise<void> = this.#start(bucket).finally(() => {
        bucket.starting.delete(start);
        this.#starting.delete(start);
      });
      bucket.starting.add(start);
      this.#starting.add(start);
    }
  }

  async #start(bucket: Bucket): Promise<void> {
    const binding = new AgentBinding();
    const abortController = new AbortController();
    let tracked: TrackedProcess | undefined;
    const options = buildSdkOptions(bucket.config, {
      binding,
      abortController,
      processes: this.#options.processes,
      onSpawn: (process) => {
        tracked = process;
      },
    });
    let process: SpareProcess;
    try {
      process = await prewarm({ options, initializeTimeoutMs: this.#options.initializeTimeoutMs ?? 60_000 });
    } catch {
      // No spare this time; agents start cold, and the next claim tries again.
      abortController.abort();
      return;
    }
    const spare: Spare = { process, binding, abortController, tracked };
    // A bucket evicted or a pool closed while this spare started has no use for it.
    if (this.#closed || !this.#buckets.has(configKey(bucket.config))) {
      await this.#discard(spare);
      return;
    }
    bucket.ready.push(spare);
    void process.exited.then(() => {
      const index = bucket.ready.indexOf(spare);
      if (index >= 0) bucket.ready.splice(index, 1);
    });
  }

  async #discard(spare: Spare): Promise<void> {
    spare.process.close();
    if (spare.tracked?.pid !== undefined) await this.#options.processes.killPid(spare.tracked.pid);
  }
}
