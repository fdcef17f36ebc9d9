import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentProcesses,
  describeResult,
  openLogReader,
  runCli,
  startCli,
  TWO_CODERS,
  TWO_CODERS_NODES,
  tempDir,
  waitFor,
} from '../support/cli-kit.ts';
import { nodeActivityAt, recoveryProblems } from './log-checks.ts';

// Ctrl-C during `run`: the agents stop, the log says which nodes were interrupted, the exit
// code is 130, and `sessions resume` finishes the workflow. Two coders side by side
// (test/fixtures/cli/two-coders.yaml) are all it takes: the demo's nodes after its coders
// would add agent processes, not meaning.

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('sigint');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('Ctrl-C (SIGINT) during `orchestrator run`', () => {
  it('stops with exit code 130, leaves the session resumable, and `sessions resume` completes it', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const sessionId = 'ses_cli_sigint';
    const reader = await openLogReader(dataDir);
    try {
      const run = startCli(['run', TWO_CODERS, '--session', sessionId], { dataDir });
      // Interrupt while both coders run: their agents have been spawned and have not finished.
      await waitFor(
        async () => {
          if (run.child.exitCode !== null)
            throw new Error(`the run ended before Ctrl-C:\n${run.stdout()}${run.stderr()}`);
          const events = await reader.events(sessionId);
          const spawned = events
            .filter((e) => e.type === 'agent.spawned')
            .map((e) => e.type === 'agent.spawned' && e.data.nodeId);
          return spawned.includes('implement') && spawned.includes('tests');
        },
        'both coders to start',
        { timeoutMs: 90_000, intervalMs: 25 },
      );
      run.child.kill('SIGINT');
      const stopped = await run.exited;
      expect(stopped.code, describeResult(stopped)).toBe(130);
      expect(stopped.stdout).toContain('interrupted: stopping agents; the session stays resumable');
      expect(stopped.stdout).toContain(`resume or inspect with: orchestrator sessions show ${sessionId}`);
      // The CLI reaped its agents before it exited.
      expect(await agentProcesses(dataDir)).toEqual([]);

      const stopSeq = await reader.lastSeq(sessionId);
      const atStop = await reader.events(sessionId);
      expect(atStop.filter((e) => e.type === 'workflow.completed')).toEqual([]);
      const interrupted = atStop.flatMap((e) => (e.type === 'node.interrupted' ? [e] : []));
      expect(interrupted.length).toBeGreaterThan(0);
      for (const event of interrupted) expect(event.data.reason).toBe('the orchestrator stopped');
      // Every node that had started and not ended was recorded as interrupted, and none is left running.
      const running = [...nodeActivityAt(atStop, stopSeq)].filter(([, doing]) => doing === 'running');
      expect(running).toEqual([]);
      const interruptedNodes = new Set(interrupted.map((e) => e.data.nodeId));
      expect(interruptedNodes.size).toBeGreaterThan(0);
      for (const nodeId of interruptedNodes) expect(['implement', 'tests']).toContain(nodeId);

      const resumed = await runCli(['sessions', 'resume', sessionId], { dataDir });
      expect(resumed.code, describeResult(resumed)).toBe(0);
      const events = await reader.events(sessionId);
      // Nothing was running when the log ended, so the resume interrupts nothing more.
      expect(recoveryProblems(events, stopSeq)).toEqual([]);
      for (const nodeId of interruptedNodes) {
        const after = events.filter((e) => e.seq > stopSeq && e.type === 'node.started' && e.data.nodeId === nodeId);
        expect(after, `${nodeId} runs again after the resume`).toHaveLength(1);
      }
      expect(new Set(events.flatMap((e) => (e.type === 'node.completed' ? [e.data.nodeId] : [])))).toEqual(
        new Set(TWO_CODERS_NODES),
      );
      expect(await agentProcesses(dataDir)).toEqual([]);
    } finally {
      await reader.close();
    }
  });
});
