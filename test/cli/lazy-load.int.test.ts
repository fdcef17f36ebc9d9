import module from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, describeResult, FEATURE_TEAM, tempDir } from '../support/cli-kit.ts';
import { type Loaded, loadedModules } from '../support/loaded-modules.ts';

// Commands load what they use (issue 12: `--help` and `--version` in 150 ms, `validate` in
// 400 ms; bench/cli.bench.ts times them). Timing is for the benchmark; what a test can pin down
// is which modules a command loads: `--help` nothing but Commander and the CLI's own
// registration, `validate` the workflow parser but no store, SDK, logger, engine host,
// gateway, telemetry or JSON Schema validator. One static import of a heavy module in a
// command's registration makes these fail.

/** Packages `validate` must not load, and project areas it must not either. */
const NOT_FOR_VALIDATE = {
  packages: [
    '@anthropic-ai/claude-agent-sdk',
    'pino',
    'pg',
    'prom-client',
    '@cfworker/json-schema',
    'fastify',
    '@opentelemetry/api',
    '@opentelemetry/sdk-trace-base',
  ],
  areas: ['agents', 'store', 'log', 'sessions', 'monitor', 'gateway', 'orchestrator', 'logging', 'config'],
};

let tmp: Awaited<ReturnType<typeof tempDir>>;
let runs = 0;

async function loadedBy(args: readonly string[]): Promise<Loaded> {
  return loadedModules([CLI, ...args], path.join(tmp.dir, `modules-${runs++}.txt`));
}

const hooks = typeof (module as { registerHooks?: unknown }).registerHooks === 'function';

beforeAll(async () => {
  tmp = await tempDir('lazy-load');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe.skipIf(!hooks)('what a command loads (needs module.registerHooks, Node >= 22.15)', () => {
  it.each([
    [['--help']],
    [['--version']],
    [['sessions', '--help']],
    [['run', '--help']],
    [['sessions', 'list', '--help']],
  ])('%j loads Commander and the command registrations, nothing else', async (args) => {
    const loaded = await loadedBy(args);
    expect(loaded.result.code, describeResult(loaded.result)).toBe(0);
    expect([...loaded.packages]).toEqual(['commander']);
    expect([...loaded.areas].sort()).toEqual(['cli', 'errors']);
    expect(loaded.builtins.has('sqlite')).toBe(false);
  });

  it('`validate` of the demo loads the workflow parser but no store, SDK, logger, engine host or telemetry', async () => {
    const loaded = await loadedBy(['validate', FEATURE_TEAM]);
    expect(loaded.result.code, describeResult(loaded.result)).toBe(0);
    expect(loaded.result.stdout).toContain('ok (workflow feature-team');
    expect(loaded.packages).toContain('yaml');
    expect(loaded.areas).toContain('workflow');
    expect(NOT_FOR_VALIDATE.packages.filter((name) => loaded.packages.has(name))).toEqual([]);
    expect(NOT_FOR_VALIDATE.areas.filter((area) => loaded.areas.has(area))).toEqual([]);
    expect(loaded.builtins.has('sqlite')).toBe(false);
  });

  it('the recorder sees what a command does load: `sessions list` opens the store', async () => {
    // The check above could pass by recording nothing: this one must see the heavy parts.
    const loaded = await loadedBy(['--data-dir', path.join(tmp.dir, 'data'), 'sessions', 'list']);
    expect(loaded.result.code, describeResult(loaded.result)).toBe(0);
    expect(loaded.areas).toContain('store');
    expect(loaded.builtins.has('sqlite')).toBe(true);
  });
});
