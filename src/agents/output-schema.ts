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
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `the output schema is invalid: ${describe(meta.errors).join('; ')}`,
      {
        details: { problems: describe(meta.errors) },
      },
    );
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
  const check = ((value: unknown) => {
    const result = validator.validate(value);
    check.problems = result.valid ? [] : describe(result.errors);
    return result.valid;
  }) as OutputValidator;
  check.problems = [];
  compiled.set(schema, check);
  return check;
}

/**
 * Checks structured output against the task's schema (a missing value is a problem too);
 * returns the problem, or undefined when the value matches.
 */
export function checkStructuredOutput(schema: Record<string, unknown>, value: unknown): string | undefined {
  if (value === undefined) return 'the task requires structured output, and the agent answered with text only';
  const validate = outputValidator(schema);
  if (validate(value)) return undefined;
  return `structured output does not match the schema: ${validate.problems.join('; ')}`;
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
