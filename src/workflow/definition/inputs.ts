import { OrchestratorError } from '../../errors/index.ts';
import { jsonDataProblem, matchesInputType } from './checks.ts';
import { deepFreeze } from './compile.ts';
import type { CompiledWorkflow } from './compiled.ts';
import { describeValue, didYouMean } from './problems.ts';

/** Options of {@link resolveInputs}. */
export interface ResolveInputsOptions {
  /**
   * Values arrive as text (command-line `--input name=value`): numbers, booleans and JSON
   * objects or arrays are parsed according to the declared type. @default false
   */
  readonly fromStrings?: boolean;
}

/**
 * Checks the inputs given to a run against the workflow's declarations and fills in defaults.
 * Returns a frozen record holding every declared input that has a value.
 * @throws OrchestratorError `INVALID_ARGUMENT` listing every unknown, missing or mistyped input.
 */
export function resolveInputs(
  workflow: Pick<CompiledWorkflow, 'name' | 'inputs'>,
  given: Readonly<Record<string, unknown>>,
  options: ResolveInputsOptions = {},
): Readonly<Record<string, unknown>> {
  const problems: { input: string; message: string }[] = [];
  const declared = Object.keys(workflow.inputs);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(workflow.inputs, key)) {
      problems.push({
        input: key,
        message: `unknown input${didYouMean(key, declared) || ` (declared: ${declared.join(', ') || 'none'})`}`,
      });
    }
  }
  for (const input of Object.values(workflow.inputs)) {
    let value = Object.hasOwn(given, input.name) ? given[input.name] : undefined;
    if (value === undefined) {
      if (input.default !== undefined) out[input.name] = structuredClone(input.default);
      else if (input.required)
        problems.push({ input: input.name, message: `required input is missing (expected ${input.type})` });
      continue;
    }
    if (options.fromStrings && typeof value === 'string') value = fromString(value, input.type);
    const notJson = jsonDataProblem(value);
    if (notJson || !matchesInputType(value, input.type)) {
      problems.push({
        input: input.name,
        message: notJson ?? `expected ${input.type}, received ${describeValue(value)}`,
      });
      continue;
    }
    out[input.name] = structuredClone(value);
  }
  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.input}: ${p.message}`).join('\n');
    throw new OrchestratorError('INVALID_ARGUMENT', `invalid inputs for workflow ${workflow.name}:\n${lines}`, {
      details: { workflow: workflow.name, problems },
    });
  }
  return deepFreeze(out);
}

function fromString(text: string, type: string): unknown {
  switch (type) {
    case 'number':
      return text.trim() === '' || !Number.isFinite(Number(text)) ? text : Number(text);
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'object':
    case 'array':
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    default:
      return text;
  }
}
