import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressView } from '../../src/cli/progress.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { type LogReader, openLogReader, REPO_ROOT, tempDir, waitFor } from '../support/cli-kit.ts';
import { Screen, stripControls } from '../support/screen.ts';
import { startCliOnTerminal, type TerminalProcess } from '../support/terminal-kit.ts';

// `orchestrator run` on a real pseudo-terminal (util-linux `script`): a live block at the bottom
// while the run goes on, the same lines as plain output above it, and nothing of the block left
// at the end. What the CLI wrote is played on a small terminal (test/support/screen.ts) to see
// what a person sees. The live run is a four-node team (test/fixtures/cli/small-team.yaml):
// the demo's shape, a plan, two coders at once and an approval, with half its agents.

const GATE = path.join(REPO_ROOT, 'test', 'fixtures', 'cli', 'gate-then-work.yaml');
const SMALL_TEAM = path.join(REPO_ROOT, 'test', 'fixtures', 'cli', 'small-team.yaml');
const SYNCHRONIZED_FRAME = '\u001b[?2026h';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let reader: LogReader;
let dataDir: string;
beforeAll(async () => {
  tmp = await tempDir('tty');
  dataDir = path.join(tmp.dir, 'data');
  reader = await openLogReader(dataDir);
});
afterAll(async () => {
  await reader?.close();
  await tmp?.cleanup();
});

/** Waits for a terminal run to end; ends it if the test fails first. */
async function finish(term: TerminalProcess, ms = 150_000) {
  const timer = setTimeout(() => term.kill(), ms);
  try {
    return await term.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The progress lines plain output prints for a session's events, up to the workflow's end. */
function plainLines(events: readonly AnyEvent[]): string[] {
  const view = new ProgressView({ simulated: true });
  const end = events.findIndex((e) => e.type === 'workflow.completed');
  return events.slice(0, end + 1).flatMap((event) => view.render(event).flatMap((line) => line.split('\n')));
}

/** The lines left on the terminal from the workflow's first line on, the answering notices left out. */
function progressOnScreen(screen: readonly string[], workflow: string): string[] {
  const from = screen.findIndex((line) => line.startsWith(`workflow ${workflow}:`));
  expect(from, screen.join('\n')).toBeGreaterThanOrEqual(0);
  return screen.slice(from).filter((line) => !line.startsWith('    ('));
}

describe('`orchestrator run` on a terminal', () => {
  it('draws the running nodes live, and leaves the plain lines and the same summary', {
    timeout: 180_000,
  }, async () => {
    const sessionId = 'ses_tty_demo';
    const term = startCliOnTerminal(['run', SMALL_TEAM, '--yes', '--session', sessionId], { dataDir });
    const { code, output } = await finish(term);
    expect(code, output).toBe(0);

    // Frames were drawn: the graph's progress, the spend, the two coders with their times.
    expect(output).toContain(SYNCHRONIZED_FRAME);
    const seen = stripControls(output);
    expect(seen).toMatch(/── small-team · 1\/4 done · 2 running · 1 waiting · \d+s · \$0\.\d{4} simulated/);
    expect(seen).toMatch(/^ {2}▸ implement +\d+s {2}\$0\.\d{4}/m);
    expect(seen).toMatch(/^ {2}▸ tests +\d+s/m);

    // What stays on the terminal: exactly the lines plain output prints, and no block.
    const screen = new Screen(200).write(output).lines();
    expect(screen.filter((line) => line.startsWith('──'))).toEqual([]);
    const expected = plainLines(await reader.events(sessionId));
    expect(progressOnScreen(screen, 'small-team')).toEqual(expected);
    expect(screen.at(-2)).toBe('✔ workflow completed');
    expect(screen.at(-1)).toBe(expected.at(-1));
  });

  it('takes the block down while it asks for an approval, and carries on once answered', {
    timeout: 120_000,
  }, async () => {
    const sessionId = 'ses_tty_prompt';
    const term = startCliOnTerminal(['run', GATE, '--session', sessionId], { dataDir });
    try {
      await waitFor(() => term.output().includes('approve? [y/N] '), 'the approval prompt', { timeoutMs: 90_000 });
      // The block is drawn by a timer: give it the time of several frames.
      await sleep(500);
      const asking = term.output();
      const screen = new Screen(200).write(asking).lines();
      expect(screen.slice(-3)).toEqual([
        '  ▸ gate      started',
        '  ? gate      approval: Start the work?',
        '    approve? [y/N]',
      ]);
      expect(screen.filter((line) => line.startsWith('──'))).toEqual([]);
      expect(term.output()).toBe(asking);

      term.type('y\r');
      const { code, output } = await finish(term);
      expect(code, output).toBe(0);
      // Live again once answered: the worker runs under the block.
      expect(stripControls(output.slice(asking.length))).toMatch(/── gate-then-work · 1\/2 done · 1 running/);
      const answers = (await reader.events(sessionId)).filter((e) => e.type === 'user.input');
      expect(answers.map((e) => e.data.value)).toEqual([{ approved: true, comment: 'answered at the terminal' }]);
    } finally {
      term.kill();
    }
  });

  it('stops on Ctrl-C at the prompt (exit 130), leaving the question open for a resume', {
    timeout: 120_000,
  }, async () => {
    const sessionId = 'ses_tty_ctrl_c';
    const term = startCliOnTerminal(['run', GATE, '--session', sessionId], { dataDir });
    try {
      await waitFor(() => term.output().includes('approve? [y/N] '), 'the approval prompt', { timeoutMs: 90_000 });
      // Readline has the terminal in raw mode: Ctrl-C comes to it as a key.
      term.type('\u0003');
      const { code, output } = await finish(term, 30_000);
      expect(code, output).toBe(130);
      expect(stripControls(output)).toContain('interrupted: stopping agents; the session stays resumable');
      const events = await reader.events(sessionId);
      expect(events.filter((e) => e.type === 'input.requested')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'user.input' || e.type === 'input.closed')).toEqual([]);
    } finally {
      term.kill();
    }
  });

  it('prints plain lines only with --no-live, or when CI is set', { timeout: 180_000 }, async () => {
    // Side by side: most of each run is its worker's scripted waits.
    const runs = (
      [
        ['ses_tty_nolive', ['--no-live'], {}],
        ['ses_tty_ci', [], { CI: 'true' }],
      ] as const
    ).map(([sessionId, flags, env]) => ({
      sessionId,
      term: startCliOnTerminal(['run', GATE, '--yes', '--session', sessionId, ...flags], { dataDir, env }),
    }));
    try {
      for (const { sessionId, term } of runs) {
        const { code, output } = await finish(term);
        expect(code, output).toBe(0);
        // Not one control sequence: no frame, no cursor movement.
        expect(output).not.toContain('\u001b');
        const screen = new Screen(200).write(output).lines();
        expect(progressOnScreen(screen, 'gate-then-work')).toEqual(plainLines(await reader.events(sessionId)));
      }
    } finally {
      for (const { term } of runs) term.kill();
    }
  });
});
