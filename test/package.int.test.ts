import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, REPO_ROOT, tempDir } from './support/cli-kit.ts';

// The project as a user gets it from a registry: `npm pack` (which builds dist/ through the
// prepack script), the tarball installed into a fresh ESM project, and then used the three
// ways the README promises: the programmatic example, the installed bin, and a TypeScript
// consumer type-checked with ordinary settings. Slow (an install copies the Claude Code
// binary out of the npm cache), so its own timeouts.

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const HELLO = path.join(REPO_ROOT, 'examples', 'hello');

/** The same Node as the test first on PATH, so npm, npx and the bin all run under it. */
const env = cliEnv({ PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` });

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly { readonly path: string }[];
}

/** The README's programmatic example, with a data dir of the test's and its scenario. */
const EXAMPLE = `import { Orchestrator, loadWorkflowFile } from 'ai-orchestrator';

const orchestrator = await Orchestrator.open({
  notice: console.log,
  config: { dataDir: process.argv[2] },
  scenario: 'scenario.yaml',
});
const run = await orchestrator.startWorkflow(await loadWorkflowFile('workflow.yaml'), {
  inputs: { topic: 'a CSV parser' },
});
for await (const item of run.events()) {
  if (item.kind !== 'event') continue;
  if (item.event.type === 'input.requested') await run.answer(item.event.data.requestId, { approved: true });
  if (item.event.type === 'workflow.completed') break;
}
const final = await run.result;
await orchestrator.close();
console.log('RESULT ' + JSON.stringify({ status: final.status, sessionId: run.sessionId }));
`;

/** A consumer of the types, compiled with nodenext and strict (and no skipLibCheck). */
const CONSUMER = `import { type CompiledWorkflow, loadWorkflowFile, Orchestrator, OrchestratorError } from 'ai-orchestrator';

export async function runOnce(file: string, dataDir: string): Promise<string> {
  const orchestrator = await Orchestrator.open({ notice: (line: string) => console.log(line), config: { dataDir } });
  const workflow: CompiledWorkflow = await loadWorkflowFile(file);
  const handle = await orchestrator.startWorkflow(workflow, { inputs: { topic: 'types' } });
  for await (const item of handle.events()) {
    if (item.kind !== 'event') continue;
    if (item.event.type === 'input.requested') await handle.answer(item.event.data.requestId, { approved: true });
    if (item.event.type === 'workflow.completed') break;
  }
  const final = await handle.result;
  await orchestrator.close();
  return final.status;
}

export function codeOf(error: unknown): string | undefined {
  return error instanceof OrchestratorError ? error.code : undefined;
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noEmit: true,
    types: ['node'],
  },
  include: ['consumer.ts'],
};

let tmp: Awaited<ReturnType<typeof tempDir>>;
let app: string;
let pack: PackResult;
/** The bundled chunks of dist/ as the test command's set-up built them, before `npm pack` builds again. */
let chunksBefore: string[];

beforeAll(async () => {
  tmp = await tempDir('package');
  chunksBefore = (await readdir(path.join(REPO_ROOT, 'dist', 'chunks'))).sort();
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', tmp.dir], {
    cwd: REPO_ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  // The prepack build may print before the JSON on stdout.
  pack = (JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[])[0] as PackResult;
  console.log(
    `[package] ${pack.filename}: ${(pack.size / 1024).toFixed(0)} kB packed, ` +
      `${(pack.unpackedSize / 1024).toFixed(0)} kB unpacked, ${pack.entryCount} files`,
  );

  app = path.join(tmp.dir, 'app');
  await run('mkdir', ['-p', app]);
  await run(NPM, ['init', '-y'], { cwd: app, env });
  const manifest = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }, null, 2));
  // @types/node at the project's own version: any TypeScript consumer on Node has it.
  const typesNode = JSON.parse(
    await readFile(path.join(REPO_ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8'),
  ) as { version: string };
  await run(
    NPM,
    [
      'install',
      path.join(tmp.dir, pack.filename),
      `@types/node@${typesNode.version}`,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { cwd: app, env, maxBuffer: 64 * 1024 * 1024 },
  );
  await copyFile(path.join(HELLO, 'workflow.yaml'), path.join(app, 'workflow.yaml'));
  await copyFile(path.join(HELLO, 'scenario.yaml'), path.join(app, 'scenario.yaml'));
}, 600_000);

afterAll(async () => {
  await tmp?.cleanup();
});

describe('the packed package', () => {
  it('carries dist/ with declarations, the bin and the docs, and no tests, benchmarks, CI or sources', () => {
    const files = pack.files.map((file) => file.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/index.js');
    expect(files).toContain('bin/orchestrator.mjs');
    // The dashboard `orchestrator serve` serves: the built page and its assets (compressed when served).
    expect(files).toContain('dist/web/index.html');
    expect(files.some((file) => /^dist\/web\/assets\/index-[\w-]+\.js$/.test(file))).toBe(true);
    expect(files.filter((file) => file.endsWith('.gz'))).toEqual([]);
    expect(files).not.toContain('dist/web/.built');
    // The JavaScript is bundled (scripts/build.mjs): the two entries and their chunks, not a
    // file per source module; the build's record of which areas each file holds stays home.
    expect(files.some((file) => /^dist\/chunks\/[\w-]+\.js$/.test(file))).toBe(true);
    const perModule = files.filter(
      (file) => file.endsWith('.js') && !/^dist\/(index|cli\/index|chunks\/[\w-]+|web\/.*)\.js$/.test(file),
    );
    expect(perModule.filter((file) => file.startsWith('dist/'))).toEqual([]);
    expect(files).not.toContain('dist/.areas.json');
    // A build of the same sources gives the same chunks, hashed names included: the other tests
    // run the CLI from dist/ while `npm pack` builds it again, and a process that had loaded an
    // entry then failed to find its chunks when a build gave them new names.
    const packedChunks = files.filter((file) => file.startsWith('dist/chunks/')).map((file) => path.basename(file));
    expect(packedChunks.sort()).toEqual(chunksBefore);
    for (const doc of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) expect(files).toContain(doc);
    const stray = files.filter((file) => /^(test|bench|\.ci|src|scripts)\//.test(file));
    expect(stray).toEqual([]);
    // Only the starter `orchestrator init` writes ships of the examples.
    expect(files.filter((file) => file.startsWith('examples/')).sort()).toEqual([
      'examples/hello/scenario.yaml',
      'examples/hello/workflow.yaml',
    ]);
  });

  it('runs the README programmatic example offline, to a completed workflow', async () => {
    await writeFile(path.join(app, 'example.mjs'), EXAMPLE);
    const { stdout } = await run(process.execPath, ['example.mjs', path.join(tmp.dir, 'data')], {
      cwd: app,
      env,
      timeout: 240_000,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, stdout).toBeDefined();
    const result = JSON.parse((line as string).slice('RESULT '.length)) as { status: string };
    expect(result.status).toBe('completed');
  }, 300_000);

  it('installs a working bin: --version and validate', async () => {
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const version = await run(NPX, ['--no-install', 'orchestrator', '--version'], { cwd: app, env });
    expect(version.stdout.trim()).toBe(manifest.version);
    const validate = await run(NPX, ['--no-install', 'orchestrator', 'validate', 'workflow.yaml'], { cwd: app, env });
    expect(validate.stdout).toContain('workflow.yaml: ok');
    const init = await run(NPX, ['--no-install', 'orchestrator', 'init', 'starter'], { cwd: app, env });
    expect(init.stdout).toContain('wrote workflow.yaml and scenario.yaml');
    const starter = await run(NPX, ['--no-install', 'orchestrator', 'validate', 'starter/workflow.yaml'], {
      cwd: app,
      env,
    });
    expect(starter.stdout).toContain('starter/workflow.yaml: ok');
  }, 60_000);

  it('type-checks a TypeScript consumer with nodenext and strict: 0 errors', async () => {
    await writeFile(path.join(app, 'consumer.ts'), CONSUMER);
    await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app, env }).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? 'failed',
      }),
    );
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
  }, 120_000);
});
