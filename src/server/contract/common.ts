import { z } from 'zod';

// Shapes shared by the routes of the contract. The contract imports zod and the read models'
// schemas (src/reports), never the server: clients such as the dashboard import it for types.

/**
 * Scopes of an API key. `read` sees everything; `run` starts, steers (cancel, pause, resume),
 * forks and imports sessions and registers workflows; `approve` answers questions and
 * approvals; `admin` may do all of that and manage keys and webhooks.
 */
export const API_SCOPES = ['read', 'run', 'approve', 'admin'] as const;

/** One scope of an API key (see {@link API_SCOPES}). */
export type ApiScope = (typeof API_SCOPES)[number];

/** The body of every error answer: the registry's code, a message, the retry verdict, details. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.string().describe('A stable code of the registry (docs/errors.md)'),
      message: z.string(),
      retryable: z.boolean(),
      details: z
        .record(z.string(), z.unknown())
        .describe('Facts about the failure; `field` names the request field a validation error is about'),
    }),
  })
  .describe('An error answer');

/** The error body as a type. */
export type ErrorBody = z.infer<typeof errorBody>;

/**
 * A safe name (session ids, workflow names, labels): the rule of the security area's
 * `SAFE_NAME_PATTERN`, repeated here so the contract needs nothing but zod.
 */
export const safeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a letter or digit, then letters, digits, '.', '_' or '-'")
  .refine((value) => !value.includes('..'), "no '..'");

/** A session id in a path or a body. */
export const sessionId = safeName.describe('A session id');

/** Path parameters of the routes about one session. */
export const sessionParams = z.strictObject({ id: sessionId });

/** A positive integer read from a query string or a path (where everything arrives as text). */
export const positiveInt = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A non-negative integer from a query string. */
export const nonNegativeInt = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A page size of a listing. */
export const pageLimit = z.coerce.number().int().min(1).max(500).default(50);

/** An optional `reason` recorded with a control request. */
export const reasonBody = z.strictObject({
  reason: z.string().max(2000).optional().describe('Why, recorded with the request'),
});

/** What a control request (cancel, pause, answer...) became. */
export const controlReceipt = z
  .object({
    sessionId: z.string(),
    action: z.string(),
    controlId: z.string().describe('The `control.requested` event recorded for it'),
    applied: z
      .enum(['now', 'by-owner', 'on-resume'])
      .describe(
        '`now`: this server runs the session and applied it; `by-owner`: another live process runs it and applies it within a second; `on-resume`: nobody runs it, the next resume applies it',
      ),
    owner: z.object({ host: z.string(), pid: z.number().int() }).optional(),
  })
  .describe('What became of a control request');

/** The type of a control receipt. */
export type ControlReceipt = z.infer<typeof controlReceipt>;

/** An event of a session's log, as the API sends it. */
export const eventSchema = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    seq: z.number().int(),
    type: z.string(),
    ts: z.string(),
    source: z.string(),
    correlationId: z.string().nullable().optional(),
    causationId: z.string().nullable().optional(),
    data: z.unknown(),
  })
  .describe('An event of a session log');

/** Severities an event stream may filter on (lowest first). */
export const SEVERITY_NAMES = ['info', 'warning', 'error', 'critical'] as const;
