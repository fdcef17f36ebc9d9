import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../errors/index.ts';
import { type DurationInput, durationSchema, durationToMs } from './duration.ts';

/** What a retry policy retries on: `transient` (any error whose `retryable` verdict is true) or an error code. */
export type RetryOn = 'transient' | ErrorCode;

/** When and how often a failed agent run or node is tried again (loose input). */
export interface RetryPolicyDefinition {
  /** Total attempts, the first one included: 1 means no retry. @default 1 */
  attempts?: number;
  /** Waits between attempts: `initial`, then multiplied by `factor` up to `max`. */
  backoff?: {
    /** Wait before the second attempt. @default '1s' */
    initial?: DurationInput;
    /** Longest wait between two attempts. @default '30s' */
    max?: DurationInput;
    /** Multiplier applied to the wait after each attempt. @default 2 */
    factor?: number;
  };
  /** Errors that are retried: `transient` and/or error codes such as `AGENT_TIMEOUT`. @default ['transient'] */
  on?: RetryOn[];
}

/** A validated retry policy with durations in milliseconds. */
export interface RetryPolicy {
  /** Total attempts, the first one included (at least 1). */
  readonly attempts: number;
  /** Wait before the second attempt, in milliseconds. */
  readonly initialDelayMs: number;
  /** Longest wait between attempts, in milliseconds. */
  readonly maxDelayMs: number;
  /** Multiplier applied to the wait after each attempt (at least 1). */
  readonly factor: number;
  /** Errors that are retried: `transient` and/or error codes. */
  readonly on: readonly RetryOn[];
}

/** The retry policy used when a definition gives none: one attempt, no retry. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 1,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  factor: 2,
  on: Object.freeze(['transient'] as const),
});

const retryOnValues = ['transient', ...Object.keys(ERROR_CODES)] as [RetryOn, ...RetryOn[]];

/** The schema of a {@link RetryPolicyDefinition}. */
export const retryPolicySchema = z
  .strictObject({
    attempts: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'Total attempts, the first one included: 1 means no retry.', default: 1 }),
    backoff: z
      .strictObject({
        initial: durationSchema.optional().meta({ description: 'Wait before the second attempt.', default: '1s' }),
        max: durationSchema.optional().meta({ description: 'Longest wait between two attempts.', default: '30s' }),
        factor: z
          .number()
          .min(1)
          .max(10)
          .optional()
          .meta({ description: 'Multiplier applied to the wait after each attempt.', default: 2 }),
      })
      .optional()
      .meta({ description: 'Waits between attempts: initial, then multiplied by factor up to max.' }),
    on: z
      .array(z.enum(retryOnValues))
      .min(1)
      .optional()
      .meta({
        description: "Errors that are retried: 'transient' (retryable errors) and/or error codes.",
        default: ['transient'],
      }),
  })
  .superRefine((value, ctx) => {
    if (value.backoff?.initial === undefined && value.backoff?.max === undefined) return;
    // Compared after conversion so that '90s' and '1m' are seen as what they mean, and
    // against the defaults so that `initial: 1m` alone is caught too.
    const initialMs =
      value.backoff?.initial === undefined ? DEFAULT_RETRY_POLICY.initialDelayMs : safeMs(value.backoff.initial);
    const maxMs = value.backoff?.max === undefined ? DEFAULT_RETRY_POLICY.maxDelayMs : safeMs(value.backoff.max);
    if (initialMs !== undefined && maxMs !== undefined && initialMs > maxMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['backoff', value.backoff?.initial === undefined ? 'max' : 'initial'],
        message: `backoff.initial (${initialMs} ms) is longer than backoff.max (${maxMs} ms)`,
      });
    }
  })
  .meta({ title: 'Retry policy', description: 'When and how often a failed run is tried again.' });

/** Applies defaults and converts durations of a policy that passed {@link retryPolicySchema}. */
export function compileRetryPolicy(definition: RetryPolicyDefinition | undefined): RetryPolicy {
  if (definition === undefined) return DEFAULT_RETRY_POLICY;
  const backoff = definition.backoff ?? {};
  return Object.freeze({
    attempts: definition.attempts ?? DEFAULT_RETRY_POLICY.attempts,
    initialDelayMs: backoff.initial === undefined ? DEFAULT_RETRY_POLICY.initialDelayMs : durationToMs(backoff.initial),
    maxDelayMs: backoff.max === undefined ? DEFAULT_RETRY_POLICY.maxDelayMs : durationToMs(backoff.max),
    factor: backoff.factor ?? DEFAULT_RETRY_POLICY.factor,
    on: Object.freeze([...new Set(definition.on ?? DEFAULT_RETRY_POLICY.on)]),
  });
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failed (1-based), without jitter.
 * Pure, so the engine and its tests agree on the schedule.
 */
export function retryDelayMs(
  policy: Pick<RetryPolicy, 'initialDelayMs' | 'factor' | 'maxDelayMs'>,
  attempt: number,
): number {
  const raw = policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, Math.round(raw));
}

function safeMs(value: DurationInput): number | undefined {
  try {
    return durationToMs(value);
  } catch {
    return undefined;
  }
}
