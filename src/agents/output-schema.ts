import { createRequire } from 'node:module';
import type { OutputUnit, Schema, Validator } from '@cfworker/json-schema';
import { OrchestratorError } from '../errors/index.ts';
import { DRAFT_07_META_SCHEMA } from './json-schema-draft-07.ts';

/**
 * Output schemas come from workflow files, API clients and agents (`add_nodes`), so they are
 * untrusted input, and they are interpreted, never compiled to code: `@cfworker/json-schema`
 * walks the schema for each check (Ajv generates a function per schema with `new Function`,
 * and its own security notes treat schemas as trusted as application code). Formats are
 * enforced on purpose: Claude Code's own check of `StructuredOutput` ignores `format`, so
 * without this an "email" could be any string. Unknown keywords (the annotations schemas
 * written for models carry: `title`, `examples`, vendor keys) are ignored.
 */

type ValidatorClass = typeof Validator;
let ValidatorOf: ValidatorClass | undefined;
let metaValidator: Validator | undefined;

/** The validator class, loaded with the first output schema, not when the library is imported (issue 15). */
function validatorClass(): ValidatorClass {
  ValidatorOf ??= (createRequire(import.meta.url)('@cfworker/json-schema') as typeof import('@cfworker/json-schema'))
    .Validator;
  return ValidatorOf;
}

/** A compiled output schema: checks a value, with every problem found. */
export interface OutputValidator {
  (value: unknown): boolean;
  /** The problems of the last value checked, as `where: what` lines. */
  problems: string[];
  /** Whether a check runs regular expressions of the schema (`pattern`, `patternProperties`) on the value. */
  readonly runsPatterns: boolean;
}

const compiled = new WeakMap<object, OutputValidator>();

/**
 * The validator of a task's output schema, made once per schema object. The schema is checked
 * against the draft-07 meta-schema first.
 * @throws OrchestratorError `INVALID_ARGUMENT` when the schema itself is not valid JSON Schema.
 */
export function outputValidator(schema: Record<string, unknown>): OutputValidator {
  const known = compiled.get(schema);
  if (known) return known;
  const Validator = validatorClass();
  metaValidator ??= new Validator(DRAFT_07_META_SCHEMA as unknown as Schema, '7', false);
  const meta = metaValidator.validate(schema);
  if (!meta.valid) {
    const problems = describe(meta.errors);
    throw new OrchestratorError('INVALID_ARGUMENT', `the output schema is invalid: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  let validator: Validator;
  try {
    // A copy: the validator marks the schema's parts with their URIs, and a compiled
    // workflow's schemas are frozen.
    validator = new Validator(structuredClone(schema) as Schema, '7', false);
  } catch (error) {
    throw new OrchestratorError('INVALID_ARGUMENT', `the output schema cannot be used: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const check = Object.assign(
    (value: unknown) => {
      const result = validator.validate(value);
      check.problems = result.valid ? [] : describe(result.errors);
      return result.valid;
    },
    { problems: [] as string[], runsPatterns: runsPatterns(schema) },
  );
  compiled.set(schema, check);
  return check;
}

const TEXT_ONLY = 'the task requires structured output, and the agent answered with text only';

/**
 * Checks structured output against the task's schema (a missing value is a problem too);
 * returns the problem, or undefined when the value matches. Runs on the calling thread: for a
 * schema with patterns and an answer from a model, use {@link checkStructuredOutputBounded}.
 */
export function checkStructuredOutput(schema: Record<string, unknown>, value: unknown): string | undefined {
  if (value === undefined) return TEXT_ONLY;
  const validate = outputValidator(schema);
  if (validate(value)) return undefined;
  return mismatch(validate.problems);
}

function mismatch(problems: readonly string[]): string {
  return `structured output does not match the schema: ${problems.join('; ')}`;
}

/** How long a check against a schema's patterns may take, by default. */
export const PATTERN_CHECK_TIMEOUT_MS = 2000;

/**
 * {@link checkStructuredOutput} for an agent's answer. A schema's `pattern` and
 * `patternProperties` are regular expressions run on the answer, and both can come from a
 * model (`add_nodes`): one that backtracks catastrophically (`^(a+)+$` against forty a's and a
 * bang) would hold this thread for hours, and with it every session of the process. Such a
 * check runs in a worker thread, ended after `timeoutMs`: the answer then does not match.
 * Schemas without patterns are checked here, at once.
 */
export async function checkStructuredOutputBounded(
  schema: Record<string, unknown>,
  value: unknown,
  timeoutMs = PATTERN_CHECK_TIMEOUT_MS,
): Promise<string | undefined> {
  if (value === undefined) return TEXT_ONLY;
  if (!outputValidator(schema).runsPatterns) return checkStructuredOutput(schema, value);
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const validator = createRequire(import.meta.url).resolve('@cfworker/json-schema');
  // The worker's code is this constant; the schema and the answer reach it as data only.
  const worker = new Worker(PATTERN_WORKER, { eval: true, workerData: { validator, schema, value } });
  return new Promise((resolve) => {
    const settle = (problem: string | undefined) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(problem);
    };
    const timer = setTimeout(
      () =>
        settle(
          `structured output could not be checked against the schema's patterns within ${timeoutMs} ms (a pattern that backtracks without end?)`,
        ),
      timeoutMs,
    );
    worker.once('message', (result: { valid: boolean; errors: OutputUnit[] }) =>
      settle(result.valid ? undefined : mismatch(describe(result.errors))),
    );
    worker.once('error', (error: Error) => settle(`structured output could not be checked: ${error.message}`));
  });
}

const PATTERN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Validator } = require(workerData.validator);
const result = new Validator(workerData.schema, '7', false).validate(workerData.value);
parentPort.postMessage({ valid: result.valid, errors: result.errors });
`;

/** Whether checking against a schema runs regular expressions of it on the value. */
function runsPatterns(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(runsPatterns);
  if (schema === null || typeof schema !== 'object') return false;
  for (const [key, inner] of Object.entries(schema)) {
    if (key === 'pattern' && typeof inner === 'string') return true;
    if (key === 'patternProperties' && inner !== null && typeof inner === 'object') return true;
    if (runsPatterns(inner)) return true;
  }
  return false;
}

/** Keywords whose failure only says that something inside failed: the inner errors say what. */
const APPLICATORS = new Set([
  'properties',
  'patternProperties',
  'additionalProperties',
  'items',
  'additionalItems',
  'contains',
  'dependencies',
  'propertyNames',
  'allOf',
  'anyOf',
  '$ref',
]);

/** The errors as `where: what`, leaving out an applicator's summary when the inner error is there. */
function describe(errors: readonly OutputUnit[]): string[] {
  const leaves = errors.filter((error) => !APPLICATORS.has(error.keyword));
  return (leaves.length > 0 ? leaves : errors).map(
    (error) => `${error.instanceLocation.replace(/^#/, '') || '(root)'}: ${error.error.replace(/\.$/, '')}`,
  );
}
