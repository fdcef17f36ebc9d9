import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';

/**
 * Zod at the boundary of every route. Route schemas are zod schemas from the contract: Fastify
 * hands them to {@link zodValidatorCompiler} (instead of compiling JSON Schema with Ajv), so
 * a request is checked, coerced and defaulted by exactly the schema the OpenAPI document shows,
 * and a refusal names the field. The document is made from the same schemas by
 * {@link jsonSchemaOf}.
 */

/** Which part of a request a schema checks, as Fastify names it. */
type HttpPart = 'body' | 'querystring' | 'params' | 'headers';

const PART_NAMES: Record<HttpPart, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** A request part's refusal: `INVALID_ARGUMENT` naming the first bad field (`body.inputs.topic`), all issues in details. */
export function invalidRequest(part: string, error: z.ZodError): OrchestratorError {
  const issues = error.issues.map((issue) => ({
    field: [part, ...issue.path.map(String)].join('.'),
    message: issueMessage(issue),
  }));
  const first = issues[0] ?? { field: part, message: 'invalid' };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new OrchestratorError('INVALID_ARGUMENT', `${first.field}: ${first.message}${more}`, {
    details: { field: first.field, issues },
  });
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  return issue.message;
}

/** Fastify's validator compiler for zod route schemas. */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = PART_NAMES[(httpPart ?? 'body') as HttpPart] ?? httpPart ?? 'request';
  return (data: unknown) => {
    // A route without a body still gets `null` here when none was sent.
    const result = schema.safeParse(data ?? (httpPart === 'body' ? undefined : {}));
    return result.success ? { value: result.data } : { error: invalidRequest(part, result.error) };
  };
};

/**
 * Responses are plain JSON.stringify: the handlers build them from typed read models, and the
 * contract's response schemas are checked against real answers by the tests, not on every
 * request (a full-session answer is served thousands of times a second).
 */
export const jsonSerializerCompiler: FastifySerializerCompiler<z.ZodType> = () => (data) => JSON.stringify(data);

/** The JSON Schema (2020-12, as OpenAPI 3.1 uses it) of a zod schema, for the OpenAPI document. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return json;
}

/** True for a zod schema (route schemas may also be plain JSON Schema, from plugins). */
export function isZodSchema(value: unknown): value is z.ZodType {
  return value instanceof z.ZodType;
}

/**
 * The `transform` of @fastify/swagger: a route's zod schemas become JSON Schema in the
 * document (requests as accepted, `io: input`; responses as sent, `io: output`).
 */
export function swaggerTransform({ schema, url }: { schema: Record<string, unknown>; url: string }): {
  schema: Record<string, unknown>;
  url: string;
} {
  if (schema === undefined || schema === null) return { schema, url };
  const out: Record<string, unknown> = { ...schema };
  for (const part of ['params', 'querystring', 'body', 'headers'] as const) {
    const value = schema[part];
    if (isZodSchema(value)) out[part] = jsonSchemaOf(value, 'input');
  }
  const response = schema.response as Record<string, unknown> | undefined;
  if (response) {
    out.response = Object.fromEntries(
      Object.entries(response).map(([status, value]) => [
        status,
        isZodSchema(value) ? jsonSchemaOf(value, 'output') : value,
      ]),
    );
  }
  return { schema: out, url };
}
