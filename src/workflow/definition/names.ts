import { z } from 'zod';

/**
 * Names of nodes, agent types, groups and MCP servers: a letter, then letters, digits, `_` or
 * `-`, at most 64 characters. Hyphens are allowed because ids like `code-review` read well;
 * conditions reach such a node as `nodes["code-review"]`.
 */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Input names are identifiers so that `inputs.NAME` works the same in templates and conditions. */
export const INPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A schema for a name of the given kind ("node id", "agent name"...) with a message that says the rule. */
export function nameSchema(kind: string): z.ZodString {
  const article = /^[aeiou]/i.test(kind) ? 'an' : 'a';
  return z.string().regex(NAME_PATTERN, {
    error: (issue) =>
      `expected ${article} ${kind}: a letter, then letters, digits, '_' or '-' (at most 64), received ${JSON.stringify(issue.input)}`,
  });
}

/** A schema for an input name (an identifier). */
export function inputNameSchema(): z.ZodString {
  return z.string().regex(INPUT_NAME_PATTERN, {
    error: (issue) =>
      `expected an input name: a letter or '_', then letters, digits or '_' (at most 64), received ${JSON.stringify(issue.input)}`,
  });
}
