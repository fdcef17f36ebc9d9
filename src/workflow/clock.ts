/**
 * The engine's view of time, injected so tests can drive retries and timeouts without waiting.
 * Timers of the system clock do not keep the process alive on their own account beyond what
 * Node's timers do; the engine clears every timer it sets.
 */
export interface EngineClock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: EngineClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
