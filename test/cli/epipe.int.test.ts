import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, describeResult, FEATURE_TEAM, REPO_ROOT, runCli, tempDir } from '../support/cli-kit.ts';

// A reader that goes away early (`| head`) ends the command quietly, as with any Unix tool:
// exit 0, nothing on stderr (it used to be an EPIPE stack trace and exit 1).

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let sessionId: string;

beforeAll(async () => {
  tmp = await tempDir('epipe');
  dataDir = path.join(tmp.dir, 'data');
  const run = await runCli(['run', FEATURE_TEAM, '--session', 'ses_epipe', '--yes'], { dataDir });
  expect(run.code, describeResult(run)).toBe(0);
  sessionId = 'ses_epipe';
}, 120_000);
afterAll(async () => {
  await tmp?.cleanup();
});

function piped(args: string): { status: string; stderr: string } {
  const script = `"${process.execPath}" "${CLI}" --data-dir "${dataDir}" ${args} | head -c 20 > /dev/null; echo "status \${PIPESTATUS[0]}" >&2`;
  const result = spawnSync('bash', ['-c', script], { cwd: REPO_ROOT, env: cliEnv(), encoding: 'utf8' });
  const lines = result.stderr.trim().split('\n');
  return { status: lines.at(-1) ?? '', stderr: lines.slice(0, -1).join('\n') };
}

describe('a closed pipe', () => {
  it('ends `events ID --json | head` quietly with exit 0', () => {
    const { status, stderr } = piped(`events ${sessionId} --json`);
    expect(stderr).toBe('');
    expect(status).toBe('status 0');
  });

  it('ends `sessions show ID --json | head` and `events ID | head` quietly too', () => {
    for (const args of [`sessions show ${sessionId} --json`, `events ${sessionId}`]) {
      const { status, stderr } = piped(args);
      expect(stderr, args).toBe('');
      expect(status, args).toBe('status 0');
    }
  });
});
