import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../../src/model-server/index.ts';
import {
  agentProcesses,
  describeResult,
  openLogReader,
  startCli,
  startNetworkModel,
  TWO_CODERS,
  tempDir,
  UNSETTLED_AWAIT,
  waitFor,
} from '../support/cli-kit.ts';

// Signals end `orchestrator run` with their own exit codes when the model is reached over the
// network (ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, as a real user runs it): then nothing of
// the model keeps the CLI's event loop alive, and a promise left unsettled ended it with exit
// 13 and Node's "unsettled top-level await" warning. The built-in scripted model's case is in
// interrupt.int.test.ts. The workflow is the smallest with two agents running at once
// (test/fixtures/cli/two-coders.yaml), as the demo's two coders are.

let tmp: Awaited<ReturnType<typeof tempDir>>;
let server: ModelServer;
let env: Record<string, string>;

beforeAll(async () => {
  tmp = await tempDir('exit-codes');
  ({ server, env } = await startNetworkModel(TWO_CODERS.replace(/\.yaml$/, '.scenario.yaml')));
});
afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

/** Runs the two slow coders, sends `signal` once both have started, and returns how it ended. */
async function stopWith(signal: NodeJS.Signals, name: string) {
  const dataDir = path.join(tmp.dir, name);
  const sessionId = `ses_exit_${name}`;
  const reader = await openLogReader(dataDir);
  try {
    const run = startCli(['run', TWO_CODERS, '--session', sessionId], { dataDir, env });
    await waitFor(
      async () => {
        if (run.child.exitCode !== null)
          throw new Error(`the run ended before the signal:\n${run.stdout()}${run.stderr()}`);
        const spawned = (await reader.events(sessionId)).flatMap((e) =>
          e.type === 'agent.spawned' ? [e.data.nodeId] : [],
        );
        return spawned.includes('implement') && spawned.includes('tests');
      },
      'both coders to start',
      { timeoutMs: 90_000, intervalMs: 25 },
    );
    run.child.kill(signal);
    const result = await run.exited;
    const events = await reader.events(sessionId);
    return { result, events, dataDir };
  } finally {
    await reader.close();
  }
}

describe('exit codes of `orchestrator run` with the model reached over the network', () => {
  it('SIGINT (Ctrl-C) exits 130, the session resumable', { timeout: 120_000 }, async () => {
    const { result, events, dataDir } = await stopWith('SIGINT', 'sigint');
    expect(result.code, describeResult(result)).toBe(130);
    expect(result.stderr).not.toContain(UNSETTLED_AWAIT);
    expect(result.stdout).toContain('model: Anthropic API through http://127.0.0.1:');
    expect(result.stdout).toContain('interrupted: stopping agents; the session stays resumable');
    expect(events.some((e) => e.type === 'node.interrupted' && e.data.reason === 'the orchestrator stopped')).toBe(
      true,
    );
    expect(events.some((e) => e.type === 'workflow.completed')).toBe(false);
    expect(await agentProcesses(dataDir)).toEqual([]);
  });

  it('SIGTERM exits 143, the session resumable', { timeout: 120_000 }, async () => {
    const { result, events, dataDir } = await stopWith('SIGTERM', 'sigterm');
    expect(result.code, describeResult(result)).toBe(143);
    expect(result.stderr).not.toContain(UNSETTLED_AWAIT);
    expect(result.stdout).toContain('interrupted: stopping agents; the session stays resumable');
    expect(events.some((e) => e.type === 'node.interrupted')).toBe(true);
    expect(events.some((e) => e.type === 'workflow.completed')).toBe(false);
    expect(await agentProcesses(dataDir)).toEqual([]);
  });
});
