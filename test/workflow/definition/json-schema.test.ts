import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workflowJsonSchema } from '../../../src/workflow/index.ts';

const schema = workflowJsonSchema();
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

async function fixture(name: string): Promise<unknown> {
  return parse(await readFile(`test/fixtures/workflows/${name}`, 'utf8'));
}

describe('the JSON Schema of the workflow format', () => {
  it('is a draft 2020-12 schema with a title, descriptions and defaults', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('Orchestrator workflow');
    expect(schema.additionalProperties).toBe(false);
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    // No default: unset, the orchestrator's agent and node caps apply (its description says so).
    expect(properties.concurrency?.default).toBeUndefined();
    expect(properties.concurrency?.description).toContain('ORCHESTRATOR_MAX_NODES');
    expect(properties.onFailure?.default).toBe('fail_fast');
    expect(properties.nodes?.description).toBe('The nodes of the graph.');
    expect(schema.required).toEqual(['name', 'nodes']);
  });

  it('accepts the example workflows', async () => {
    for (const name of ['minimal.yaml', 'rich.yaml']) {
      const ok = validate(await fixture(name));
      expect(validate.errors ?? [], name).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('rejects typos, wrong types and bad durations', async () => {
    const minimal = (await fixture('minimal.yaml')) as {
      agents: Record<string, Record<string, unknown>>;
      nodes: Record<string, unknown>[];
    };
    const bad = structuredClone(minimal);
    (bad.agents.writer as Record<string, unknown>).systemPromt = 'typo';
    (bad.nodes[0] as Record<string, unknown>).timeout = '10 minutes';
    (bad.nodes[1] as Record<string, unknown>).dependsOn = 'draft';
    expect(validate(bad)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
    expect(paths).toContain('/agents/writer additionalProperties');
    expect(paths).toContain('/nodes/0/timeout pattern');
    expect(paths).toContain('/nodes/1/dependsOn type');
  });
});
