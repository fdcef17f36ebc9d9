/**
 * Token buckets per API key: each key may send `ratePerSecond` requests per second on average
 * and `burst` at once. In memory, per server process (a key used against two servers gets the
 * rate of each); buckets of keys idle for a minute are dropped, so memory follows active keys.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;
  #sweptAt = 0;

  constructor(options: { ratePerSecond: number; burst: number; now?: () => number }) {
    this.#rate = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes one request of `key`'s allowance: 0 when allowed, else the ms to wait before the next one is. */
  take(key: string): number {
    const now = this.#now();
    this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.#rate);
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at > 60_000) this.#buckets.delete(key);
  }
}
