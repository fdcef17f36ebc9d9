import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import type ajvFormats from 'ajv-formats';
import { OrchestratorError } from '../errors/index.ts';

let instance: Ajv | undefined;
/**
 * The validator, made when the first output schema is compiled: Ajv and its formats cost about
 * 15 MB resident, which importing the library does not pay (issue 15). Both are CommonJS, so
 * `require` gives the instances an `import` would.
 */
function ajvInstance(): Ajv {
  if (instance) return instance;
  const load = createRequire(import.meta.url);
  // `strict: false` accepts the annotations schemas written for models carry (`title`,
  // `examples`, vendor keys). Formats are enforced here on purpose: Claude Code's own check of
  // `StructuredOutput` ignores `format`, so without this an "email" could be any string.
  // (A separate binding: the compiler drops the parentheses of `new (x as T).Ajv()`.)
  const { Ajv } = load('ajv') as typeof import('ajv');
  const ajv = new Ajv({ allErrors: true, strict: false });
  // ajv-formats is CommonJS: its plugin function is also its `default` member.
  (load('ajv-formats') as typeof ajvFormats).default(ajv);
  instance = ajv;
  return ajv;
}

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * The validator of a task's output schema, compiled once per schema object.
 * @throws OrchestratorError `INVALID_ARGUMENT` when the schema itself is not valid JSON Schema.
 */
export function outputValidator(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    try {
      validate = ajvInstance().compile(schema);
    } catch (error) {
      throw new OrchestratorError('INVALID_ARGUMENT', `the output schema is invalid: ${(error as Error).message}`, {
        cause: error,
      });
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Checks structured output against the task's schema (a missing value is a problem too);
 * returns the problem, or undefined when the value matches.
 */
export function checkStructuredOutput(schema: Record<string, unknown>, value: unknown): string | undefined {
  if (value === undefined) return 'the task requires structured output, and the agent answered with text only';
  const validate = outputValidator(schema);
  if (validate(value)) return undefined;
  return `structured output does not match the schema: ${ajvInstance().errorsText(validate.errors)}`;
}
