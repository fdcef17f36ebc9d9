import type { z } from 'zod';
import type { ApiScope } from './common.ts';

/** HTTP methods the API uses. */
export type ApiMethod = 'GET' | 'POST' | 'DELETE';

/**
 * One route of the API: where it is, who may call it, and the zod schemas of what it takes
 * and gives. The server registers each route from this, the OpenAPI document is generated from
 * it, and clients import it for their types.
 */
export interface ApiRoute {
  readonly method: ApiMethod;
  /** Fastify-style path, `:name` for a parameter. */
  readonly path: string;
  /** The operation's id in the OpenAPI document. */
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  /** The group it is listed under in the document. */
  readonly tag: string;
  /**
   * The scope a key needs; `public` routes need no key (probes and the document), `any` routes
   * any valid key whatever its scopes (`whoami`).
   */
  readonly scope: ApiScope | 'any' | 'public';
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** The body's media type when it is not JSON. @default application/json */
  readonly consumes?: string;
  /** The success answer's body (JSON unless `produces` says otherwise). */
  readonly response: z.ZodType;
  /** The success status. @default 200 */
  readonly status?: 200 | 201 | 202;
  /** The success answer's media type when it is not JSON (a stream, a file, Prometheus text). */
  readonly produces?: string;
}

/** Declares a route, keeping its literal types for handlers and clients. */
export function route<const R extends ApiRoute>(definition: R): R {
  return definition;
}

/** What a route's handler receives after validation: the parsed (coerced, defaulted) parts. */
export interface RouteInput<R extends ApiRoute> {
  readonly params: R['params'] extends z.ZodType ? z.output<R['params']> : Record<string, never>;
  readonly query: R['query'] extends z.ZodType ? z.output<R['query']> : Record<string, never>;
  readonly body: R['body'] extends z.ZodType ? z.output<R['body']> : undefined;
}

/** `T` with every array and property read-only at every depth (what a handler may return). */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What a route's handler returns: the success body, before serialization (read-only data will do). */
export type RouteOutput<R extends ApiRoute> = DeepReadonly<z.input<R['response']>>;
