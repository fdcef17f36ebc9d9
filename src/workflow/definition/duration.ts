import { z } from 'zod';

/**
 * A duration as written in definitions: a string of one or more `<number><unit>` parts with
 * units `ms`, `s`, `m`, `h`, `d` (`'10m'`, `'1h30m'`, `'1.5s'`), or a whole number of
 * milliseconds.
 */
export type DurationInput = string | number;

// A strict grammar instead of `ms`: `ms` reads a bare "10" as 10 milliseconds, "1M" as one
// minute and "-1h" as negative, and accepts spaces and long unit names; each of those is a
// likely mistake in a hand-written timeout, so they fail here instead.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest duration accepted: timers in Node.js overflow beyond 2^31-1 ms (about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

/**
 * Converts a duration to whole milliseconds, or returns a message saying why it cannot.
 * Durations must be positive and at most `maxMs`; nothing is clamped.
 * @param options.maxMs the longest accepted; a duration that is never a timer (an age, as in
 * `sessions prune --older-than 90d`) may allow more. @default {@link MAX_DURATION_MS}
 */
export function parseDuration(
  value: DurationInput,
  options: { maxMs?: number } = {},
): { ms: number } | { error: string } {
  const maxMs = options.maxMs ?? MAX_DURATION_MS;
  const limit = maxMs === MAX_DURATION_MS ? `${MAX_DURATION_MS} ms (about 24.8 days)` : `${maxMs} ms`;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0) {
      return { error: `expected a positive whole number of milliseconds, received ${value}` };
    }
    if (value > maxMs) return { error: `expected at most ${maxMs} ms, received ${value}` };
    return { ms: value };
  }
  if (!WHOLE.test(value)) {
    return {
      error: `expected a duration such as '500ms', '30s', '10m' or '1h30m' (units ms, s, m, h, d), received '${value}'`,
    };
  }
  let total = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(value); match; match = PART.exec(value)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  }
  const ms = Math.round(total);
  if (ms <= 0) return { error: `expected a duration above zero, received '${value}'` };
  if (ms > maxMs) return { error: `expected at most ${limit}, received '${value}'` };
  return { ms };
}

/**
 * Converts a duration already accepted by {@link durationSchema} to milliseconds.
 * @throws Error when the value is not a valid duration (a schema was skipped: a bug).
 */
export function durationToMs(value: DurationInput): number {
  const parsed = parseDuration(value);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.ms;
}

/** The schema of a {@link DurationInput}; reports the grammar on a bad value. */
export const durationSchema = z
  .union([
    z.string().regex(WHOLE, { error: (issue) => parseDurationError(issue.input) }),
    z.number().int().positive().max(MAX_DURATION_MS),
  ])
  .superRefine((value, ctx) => {
    // The regex admits '0s' and over-long values; the numeric bounds need the parse.
    const parsed = parseDuration(value);
    if (typeof value === 'string' && WHOLE.test(value) && 'error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
    }
  })
  .meta({
    title: 'Duration',
    description: "A duration: '500ms', '30s', '10m', '1h30m', '2d', or a whole number of milliseconds.",
    examples: ['30s', '10m', '1h30m', 60000],
  });

function parseDurationError(input: unknown): string {
  const parsed = typeof input === 'string' ? parseDuration(input) : undefined;
  return parsed && 'error' in parsed ? parsed.error : 'expected a duration';
}
