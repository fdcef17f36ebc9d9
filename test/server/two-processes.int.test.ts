import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cliEnv, describeResult, openLogReader, REPO_ROOT, startCli, tempDir, waitFor } from '../support/cli-kit.ts';
import { call } from './kit.ts';

// The API of a serve process steering what another process runs, and the README's example,
// each with real processes on one data directory.

const SLOW = `
name: slow
agents:
  worker:
    systemPrompt: You are the worker.
nodes:
  - id: work
    agent: worker
    task: Work for a long while.
`;
const SLOW_SCENARIO = `
name: slow
scripts:
  - name: work
    match: { system: "You are the worker" }
    turns:
      - content: [{ text: "Done at last." }]
        delay_ms: 60000
`;

async function startServe(dir: string) {
  const serve = startCli(['serve', '--port', '0'], { dataDir: dir });
  const url = await waitFor(
    () => /API listening on (http:\/\/\S+) /.exec(serve.stdout())?.[1],
    `the API to listen (${serve.stderr()})`,
    { timeoutMs: 30_000 },
  );
  return { serve, url };
}

describe('two processes on one data directory', () => {
  it('cancels, through the API of a serve process, a session that orchestrator run started', {
    timeout: 120_000,
  }, async () => {
    const { dir, cleanup } = await tempDir('api-two');
    const { serve, url } = await startServe(dir);
    try {
      const keyed = await startCli(['keys', 'create', '--name', 'ops', '--scope', 'read,run', '--json'], {
        dataDir: dir,
      }).exited;
      const { key, keyId } = JSON.parse(keyed.stdout) as { key: string; keyId: string };
      const workflow = path.join(dir, 'slow.yaml');
      await writeFile(workflow, SLOW);
      await writeFile(path.join(dir, 'slow.scenario.yaml'), SLOW_SCENARIO);
      const run = startCli(['run', workflow, '--session', 'ses-cli'], { dataDir: dir });
      // The run's agent is at work (its scripted answer waits a minute).
      await waitFor(
        async () => {
          const shown = await call<{
            status?: string;
            owner?: { pid: number } | null;
            report?: { byType: Record<string, number> };
          }>(url, 'GET', '/v1/sessions/ses-cli', { key });
          return shown.status === 200 && (shown.body.report?.byType['agent.spawned'] ?? 0) > 0 && shown.body;
        },
        'the CLI run to spawn its agent',
        { timeoutMs: 60_000 },
      );
      const shown = await call<{ owner: { pid: number; here: boolean } }>(url, 'GET', '/v1/sessions/ses-cli', { key });
      expect(shown.body.owner).toMatchObject({ pid: run.pid, here: false });
      const listed = await call<{ sessions: Array<{ sessionId: string }> }>(url, 'GET', '/v1/sessions', { key });
      expect(listed.body.sessions).toEqual([
        expect.objectContaining({
          sessionId: 'ses-cli',
          status: 'running',
          owner: expect.objectContaining({ pid: run.pid }),
        }),
      ]);

      const cancelled = await call(url, 'POST', '/v1/sessions/ses-cli/cancel', {
        key,
        body: { reason: 'from the API' },
      });
      expect(cancelled.status, cancelled.text).toBe(202);
      expect(cancelled.body).toMatchObject({ applied: 'by-owner', owner: { pid: run.pid } });
      const result = await run.exited;
      // The run process applied it: its workflow ended cancelled, and the command said so.
      expect(result.code, describeResult(result)).toBe(1);
      const after = await call<{ status: string; owner: unknown }>(url, 'GET', '/v1/sessions/ses-cli', { key });
      expect(after.body).toMatchObject({ status: 'cancelled', owner: null });
      const reader = await openLogReader(dir);
      try {
        const events = await reader.events('ses-cli');
        const requested = events.find((e) => e.type === 'control.requested');
        expect(requested?.data).toMatchObject({ action: 'cancel', by: `api:${keyId}:ops`, reason: 'from the API' });
        const applied = events.find((e) => e.type === 'workflow.cancel_requested');
        expect(applied?.data).toMatchObject({
          controlId: (requested?.data as { controlId?: string } | undefined)?.controlId,
        });
      } finally {
        await reader.close();
      }
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      await cleanup();
    }
  });

  it("runs the README's curl example against a serve process", { timeout: 60_000 }, async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /<!-- api-example:start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- api-example:end -->/.exec(readme)?.[1];
    expect(block, 'the example block of the README').toBeDefined();
    const { dir, cleanup } = await tempDir('api-readme');
    const { serve, url } = await startServe(dir);
    try {
      const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', block as string], {
        cwd: REPO_ROOT,
        env: cliEnv({ ORCH_URL: url, ORCHESTRATOR_DATA_DIR: dir }),
        timeout: 30_000,
      });
      expect(stdout).toContain('"sessionId":"hello-api"');
      expect(stdout).toContain('"action":"answer"');
      expect(stdout).toMatch(/"type":"user.input".*"value":"Ada"/);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      await cleanup();
    }
  });
});
