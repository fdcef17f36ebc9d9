import { existsSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, FEATURE_TEAM, REPO_ROOT, tempDir } from './support/cli-kit.ts';
import { type Loaded, loadedModules } from './support/loaded-modules.ts';

// Importing the library loads what every use needs and nothing more (issue 15: resident memory
// right after `import`, which bench/public-api.bench.ts prints). The SDK, pg, OpenTelemetry,
// fastify, prom-client, the JSON Schema validator, pino, yaml, cel-js and node:http are loaded at their first use.
// Memory is for the benchmark; what a test can pin down is which modules an import loads, so
// one static import of a heavy package anywhere under src/index.ts makes this fail.

const SCENARIO = path.join(path.dirname(FEATURE_TEAM), 'scenario.yaml');
/**
 * The sources, and the built package as users import it (tsc's output can differ: it once
 * dropped the parentheses of `new (x as T).C()`). The bootstrap of scripts/with-node rebuilds
 * dist/ whenever src/ changed; a checkout never built has no dist/ to check.
 */
const LIBRARIES = [
  ['src/index.ts', path.join(REPO_ROOT, 'src', 'index.ts')],
  ['dist/index.js', path.join(REPO_ROOT, 'dist', 'index.js')],
].filter(([, file]) => existsSync(file as string)) as [string, string][];

/** Packages an import of the library must not load, each costing megabytes resident. */
const NOT_AT_IMPORT = [
  '@anthropic-ai/claude-agent-sdk',
  'pg',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/resources',
  'fastify',
  'prom-client',
  '@cfworker/json-schema',
  'pino',
  'yaml',
  '@marcbachmann/cel-js',
  'log-update',
];

/** Node's modules an import of the library must not load. */
const NODE_NOT_AT_IMPORT = ['util', 'child_process', 'zlib', 'readline', 'readline/promises', 'worker_threads', 'net'];

let tmp: Awaited<ReturnType<typeof tempDir>>;
let runs = 0;

/** Runs `script` (an ES module body with `lib`, the imported library) and records what it loaded. */
async function loadedBy(library: string, script: string): Promise<Loaded> {
  const source = `const lib = await import(${JSON.stringify(pathToFileURL(library).href)});\n${script}`;
  return loadedModules(['--input-type=module', '--eval', source], path.join(tmp.dir, `modules-${runs++}.txt`));
}

const hooks = typeof (module as { registerHooks?: unknown }).registerHooks === 'function';

beforeAll(async () => {
  tmp = await tempDir('lazy-import');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe.skipIf(!hooks).each(LIBRARIES)(
  'what importing %s loads (needs module.registerHooks, Node >= 22.15)',
  (_name, library) => {
    it('an import loads zod and the library, none of the heavy packages, and no HTTP stack', async () => {
      const loaded = await loadedBy(library, `console.log(typeof lib.Orchestrator.open);`);
      expect(loaded.result.code, describeResult(loaded.result)).toBe(0);
      expect(loaded.result.stdout.trim()).toBe('function');
      expect(loaded.packages).toContain('zod');
      expect(NOT_AT_IMPORT.filter((name) => loaded.packages.has(name))).toEqual([]);
      expect([...loaded.packages].filter((name) => name.startsWith('@opentelemetry/'))).toEqual([]);
      expect(loaded.builtins.has('http')).toBe(false);
      expect(loaded.builtins.has('https')).toBe(false);
      // Node's own modules cost resident memory too (util's ESM facade about 3 MB, child_process
      // with net and dgram 3, zlib 2, readline 1): taken with getBuiltinModule at first use.
      expect(NODE_NOT_AT_IMPORT.filter((name) => loaded.builtins.has(name))).toEqual([]);
      // The model gateway starts with an orchestrator that uses it; the HTTP API with `serve`.
      expect(loaded.areas).toContain('orchestrator');
      expect(['gateway', 'server', 'cli'].filter((area) => loaded.areas.has(area))).toEqual([]);
    });

    it('the recorder sees what first use loads: a workflow file, a Prometheus exporter, a model server', async () => {
      // The check above could pass by recording nothing, or by breaking the lazy loads: this one
      // uses the library and must see each package arrive, and the calls must work.
      const loaded = await loadedBy(
        library,
        `
      const workflow = await lib.loadWorkflowFile(${JSON.stringify(FEATURE_TEAM)});
      const exporter = new lib.PrometheusExporter();
      const server = await lib.startModelServer({ scenario: ${JSON.stringify(SCENARIO)} });
      await server.close();
      console.log(workflow.name, exporter.contentType.split(';')[0]);
    `,
      );
      expect(loaded.result.code, describeResult(loaded.result)).toBe(0);
      expect(loaded.result.stdout.trim()).toBe('feature-team text/plain');
      for (const name of ['yaml', '@marcbachmann/cel-js', 'prom-client']) expect(loaded.packages).toContain(name);
      expect(loaded.builtins.has('http')).toBe(true);
      expect(loaded.packages.has('@anthropic-ai/claude-agent-sdk')).toBe(false);
    });

    it('an orchestrator that runs a workflow loads prom-client only when its metrics are read, and they count the run', async () => {
      const runAndMaybeRead = (read: boolean) => `
      const dataDir = ${JSON.stringify(tmp.dir)} + '/data-' + ${read} + '-' + process.pid;
      const orchestrator = await lib.Orchestrator.open({
        config: { dataDir, logLevel: 'silent' },
        scenario: ${JSON.stringify(SCENARIO)},
      });
      const workflow = lib.defineWorkflow({
        name: 'two', agents: { noop: { systemPrompt: 'unused' } },
        nodes: [{ id: 'a', agent: 'noop', task: 't' }, { id: 'b', agent: 'noop', task: 't', dependsOn: ['a'] }],
      });
      const handle = await orchestrator.startWorkflow(workflow, { functions: { a: () => 1, b: () => 2 } });
      const result = await handle.result;
      const text = ${read} ? await orchestrator.monitor.prometheusText() : '';
      await orchestrator.close();
      console.log(result.status, text.split('\\n').filter((l) => /^orchestrator_(nodes|workflows)_total/.test(l)).join(' '));
    `;
      const quiet = await loadedBy(library, runAndMaybeRead(false));
      expect(quiet.result.code, describeResult(quiet.result)).toBe(0);
      expect(quiet.result.stdout.trim()).toBe('completed');
      expect(quiet.packages.has('prom-client')).toBe(false);
      const read = await loadedBy(library, runAndMaybeRead(true));
      expect(read.result.code, describeResult(read.result)).toBe(0);
      expect(read.packages.has('prom-client')).toBe(true);
      expect(read.result.stdout.trim()).toBe(
        'completed orchestrator_nodes_total{status="completed"} 2 orchestrator_workflows_total{status="completed"} 1',
      );
    });
  },
);
