import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOrphans } from '../../src/agents/index.ts';
import { identityAlive } from '../../src/agents/process-tags.ts';
import { scratchOwner } from '../../src/agents/scratch.ts';
import type { ModelServer } from '../../src/model-server/index.ts';
import { processesMatching } from '../support/agent-kit.ts';
import {
  describeResult,
  openLogReader,
  type RunningProcess,
  runCli,
  startCli,
  startNetworkModel,
  tempDir,
  waitFor,
} from '../support/cli-kit.ts';

// A CLI SIGKILLed while its agent runs a Bash tool: Claude Code dies with it (parent-death
// signal), but the tool's process tree runs in a process group of its own and survives,
// re-parented. The next CLI on the same data directory (here `sessions resume`) ends it and
// records `system.orphans_swept` in its session; the tools of another CLI running on the same
// data directory at the same time are never touched. The napper opts out of Claude Code's
// sandbox: a sandboxed tool (bubblewrap) dies with Claude Code, so only an unsandboxed one can
// be left behind (seen with Claude Code 2.1.331: with the sandbox on, the sleep was gone once
// Claude Code was killed).

/** Unique sleep lengths, so the test finds exactly its own processes in /proc. */
const MARK_DEAD = `90.${process.pid % 1000}1`;
const MARK_LIVE = `90.${process.pid % 1000}2`;

const WORKFLOW = `
name: napper
inputs:
  which: { type: string }
agents:
  napper: { systemPrompt: "You are the napper.", tools: [Bash], sandbox: false }
nodes:
  - { id: nap, agent: napper, task: "{{ inputs.which }}" }
`;

// The first nap sleeps once: resumed, the same command finds its marker file and returns.
const SCENARIO = {
  name: 'napper',
  scripts: [
    {
      name: 'dead',
      match: { user: 'Nap in the doomed run' },
      turns: [
        {
          content: [
            {
              tool_use: {
                name: 'Bash',
                input: {
                  command: `test -f napped || { touch napped; sleep ${MARK_DEAD}; }; echo rested`,
                  description: 'Nap',
                },
              },
            },
          ],
        },
        'Rested.',
      ],
    },
    {
      name: 'live',
      match: { user: 'Nap in the live run' },
      turns: [
        {
          content: [
            {
              tool_use: {
                name: 'Bash',
                input: { command: `echo napping; sleep ${MARK_LIVE}; echo rested`, description: 'Nap' },
              },
            },
          ],
        },
        'Rested.',
      ],
    },
  ],
};

let tmp: Awaited<ReturnType<typeof tempDir>>;
let workflow: string;
let server: ModelServer;
let env: Record<string, string>;
let live: RunningProcess | undefined;

beforeAll(async () => {
  tmp = await tempDir('orphans');
  workflow = path.join(tmp.dir, 'napper.yaml');
  await writeFile(workflow, WORKFLOW);
  const scenario = path.join(tmp.dir, 'napper.scenario.json');
  await writeFile(scenario, JSON.stringify(SCENARIO));
  ({ server, env } = await startNetworkModel(scenario));
});
afterAll(async () => {
  live?.child.kill('SIGKILL');
  for (const p of [...processesMatching(`sleep ${MARK_DEAD}`), ...processesMatching(`sleep ${MARK_LIVE}`)]) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  await server?.close();
  await tmp?.cleanup();
});

const napping = (mark: string) => processesMatching(`sleep ${mark}`).filter((p) => p.cmdline.startsWith('sleep'));

describe('processes left behind by a CLI killed with SIGKILL', () => {
  it('survive the kill; the next CLI on the data directory ends them and records it; a live CLI keeps its own', {
    timeout: 180_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const reader = await openLogReader(dataDir);
    try {
      const doomed = startCli(['run', workflow, '--session', 'ses_dead', '-i', 'which=Nap in the doomed run'], {
        dataDir,
        env,
      });
      await waitFor(() => napping(MARK_DEAD).length > 0, 'the doomed run to nap', { timeoutMs: 90_000 });
      live = startCli(['run', workflow, '--session', 'ses_live', '-i', 'which=Nap in the live run'], { dataDir, env });
      await waitFor(
        () => {
          if (live?.child.exitCode !== null) throw new Error(`the live run ended:\n${live?.stdout()}${live?.stderr()}`);
          return napping(MARK_LIVE).length > 0;
        },
        'the live run to nap',
        { timeoutMs: 30_000 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n--- live stdout\n${live?.stdout()}\n--- live stderr\n${live?.stderr()}`);
      });

      // Both orchestrators are alive: nothing of theirs is an orphan.
      expect((await sweepOrphans({ dataDir, graceMs: 200 })).pids).toEqual([]);

      // Each agent process has a TMPDIR of its own under the data directory's (src/agents/scratch.ts).
      const scratch = async () =>
        (await readdir(path.join(dataDir, 'tmp'))).filter((name) => scratchOwner(name) !== undefined);
      const scratchBefore = await scratch();
      expect(scratchBefore.length).toBeGreaterThanOrEqual(2);

      doomed.child.kill('SIGKILL');
      await doomed.exited;
      // Claude Code went with it; the tool did not.
      await sleep(1000);
      const [orphan] = napping(MARK_DEAD);
      expect(orphan, 'the sleep of the killed run survives it').toBeDefined();
      expect(orphan?.ppid).not.toBe(doomed.pid);
      const agentId = (await reader.events('ses_dead')).find((e) => e.type === 'agent.spawned')?.data.agentId;
      expect(agentId).toBeDefined();

      const resumed = await runCli(['sessions', 'resume', 'ses_dead'], { dataDir, env });
      expect(resumed.code, describeResult(resumed)).toBe(0);
      expect(resumed.stdout).toMatch(/ended \d+ process\(es\) left behind by an orchestrator that died/);
      expect(napping(MARK_DEAD)).toEqual([]);
      const swept = (await reader.events('ses_dead')).flatMap((e) =>
        e.type === 'system.orphans_swept' ? [e.data] : [],
      );
      expect(swept).toHaveLength(1);
      expect(swept[0]?.agents).toEqual([agentId]);
      expect(swept[0]?.pids).toContain(orphan?.pid);
      expect(swept[0]?.processes).toBe(swept[0]?.pids.length);
      // The resumed node ran again (its marker file made the command return at once).
      expect(await readFile(path.join(dataDir, 'workspaces', 'ses_dead', 'napped'), 'utf8')).toBe('');

      // The killed CLI's TMPDIRs went with the sweep; the live CLI's stayed.
      const scratchAfter = await scratch();
      expect(scratchAfter.every((name) => identityAlive(scratchOwner(name) as string))).toBe(true);
      expect(scratchBefore.filter((name) => !scratchAfter.includes(name)).length).toBeGreaterThan(0);
      expect(scratchBefore.filter((name) => scratchAfter.includes(name)).length).toBeGreaterThan(0);

      // The live run's tool was never touched, and its session records no sweep.
      expect(napping(MARK_LIVE)).toHaveLength(1);
      expect(live.child.exitCode).toBeNull();
      expect((await reader.events('ses_live')).some((e) => e.type === 'system.orphans_swept')).toBe(false);
      live.child.kill('SIGINT');
      const stopped = await live.exited;
      expect(stopped.code, describeResult(stopped)).toBe(130);
      expect(napping(MARK_LIVE)).toEqual([]);
    } finally {
      await reader.close();
    }
  });
});
