import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, REPO_ROOT, runCli, tempDir } from '../support/cli-kit.ts';

// `orchestrator init` writes a starter that runs at once, offline, and never overwrites a file.

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('init');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('orchestrator init', () => {
  it('writes a workflow and its scenario that validate and run offline', { timeout: 60_000 }, async () => {
    const dir = path.join(tmp.dir, 'starter');
    const dataDir = path.join(tmp.dir, 'data');
    const init = await runCli(['init', dir], { dataDir });
    expect(init.code, describeResult(init)).toBe(0);
    expect(await readFile(path.join(dir, 'workflow.yaml'), 'utf8')).toBe(
      await readFile(path.join(REPO_ROOT, 'examples/hello/workflow.yaml'), 'utf8'),
    );
    const validate = await runCli(['validate', path.join(dir, 'workflow.yaml')], { dataDir });
    expect(validate.code, describeResult(validate)).toBe(0);
    const run = await runCli(['run', path.join(dir, 'workflow.yaml')], { dataDir });
    expect(run.code, describeResult(run)).toBe(0);
    expect(run.stdout).toMatch(/scenario \S*starter\/scenario\.yaml\)/);
  });

  it('never overwrites a file: nothing is written, exit 2', async () => {
    const dir = path.join(tmp.dir, 'taken');
    await runCli(['init', dir], { dataDir: path.join(tmp.dir, 'data2') });
    await writeFile(path.join(dir, 'workflow.yaml'), 'mine\n');
    const again = await runCli(['init', dir], { dataDir: path.join(tmp.dir, 'data2') });
    expect(again.code, describeResult(again)).toBe(2);
    expect(again.stderr).toContain('workflow.yaml exists; nothing was written');
    expect(await readFile(path.join(dir, 'workflow.yaml'), 'utf8')).toBe('mine\n');
  });
});
