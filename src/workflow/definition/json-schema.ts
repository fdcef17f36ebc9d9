import { z } from 'zod';
import { workflowSchema } from './schema.ts';

/**
 * The JSON Schema (draft 2020-12) of the workflow file format, generated from the same zod
 * schema the loader validates with: `$schema`, titles, descriptions and defaults included,
 * unknown keys refused. Editors use it for completion and checks
 * (`# yaml-language-server: $schema=workflow.schema.json`). Cross-field rules (known node
 * ids, cycles, names inside templates and conditions) are the loader's alone.
 */
export function workflowJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(workflowSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}
