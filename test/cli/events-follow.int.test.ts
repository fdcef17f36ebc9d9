import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, openLogReader, REPO_ROOT, runCli, startCli, tempDir, waitFor } from '../support/cli-kit.ts';

// `orchestrator events ID --follow` ends by itself once the session's workflow has ended (with
// `--forever` it goes on until Ctrl-C), and an unknown session is an error (exit 2,
// SESSION_NOT_FOUND naming the id), followed or not.

const HELLO = path.join(REPO_ROOT, 'examples', 'hello', 'workflow.yaml');

/** Runs `events ... --follow` and expects it to end by itself within `ms` (else kills it and fails). */
async function followToEnd(args: string[], dataDir: string, until: Promise<unknown> = Promise.resolve(), ms = 15_000) {
  const follow = startCli(args, { dataDir });
  await until;
  const ended = await Promise.race([follow.exited, sleep(ms).then(() => undefined)]);
  if (ended === undefined) {
    follow.child.kill('SIGKILL');
    throw new Error(`\`${args.join(' ')}\` still waited ${ms} ms after the workflow ended:\n${follow.stdout()}`);
  }
  return ended;
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
/** Where a session lies whose workflow failed at once (for the two tests that follow one). */
let failedDataDir: string;
const FAILED = 'ses_follow_failed';
beforeAll(async () => {
  tmp = await tempDir('events-follow');
  failedDataDir = path.join(tmp.dir, 'failed');
  // A budget of $0 refuses the first agent: the workflow fails without a model request.
  const run = await runCli(['run', HELLO, '--session', FAILED, '--budget-session', '0'], { dataDir: failedDataDir });
  expect(run.code, describeResult(run)).toBe(1);
}, 60_000);
afterAll(async () => {
  await tmp?.cleanup();
});

describe('orchestrator events --follow', () => {
  it('ends when the workflow it follows completes, having printed its whole log', { timeout: 120_000 }, async () => {
    const dataDir = path.join(tmp.dir, 'completed');
    const sessionId = 'ses_follow_completed';
    const reader = await openLogReader(dataDir);
    try {
      const run = startCli(['run', HELLO, '--session', sessionId], { dataDir });
      await waitFor(async () => (await reader.lastSeq(sessionId)) > 0, 'the session to exist');
      const follow = await followToEnd(['events', sessionId, '--follow', '--json'], dataDir, run.exited);
      const ran = await run.exited;
      expect(ran.code, describeResult(ran)).toBe(0);
      expect(follow.code, describeResult(follow)).toBe(0);
      const printed = follow.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { seq: number; type: string });
      const completed = printed.findIndex((e) => e.type === 'workflow.completed');
      expect(completed).toBeGreaterThan(0);
      // Every event up to the end, in order, with no gap.
      expect(printed.slice(0, completed + 1).map((e) => e.seq)).toEqual(
        Array.from({ length: completed + 1 }, (_, i) => i + 1),
      );
    } finally {
      await reader.close();
    }
  });

  it('ends at once on a workflow that has already failed (--from skips what came before)', {
    timeout: 60_000,
  }, async () => {
    const follow = await followToEnd(['events', FAILED, '--follow', '--from', '3'], failedDataDir);
    expect(follow.code, describeResult(follow)).toBe(0);
    expect(follow.stdout).toMatch(/workflow\.completed .*"status":"failed"/);
    expect(follow.stdout).not.toMatch(/^ +[12] {2}/m);
  });

  it('says an unknown session is not there and exits 2, followed or not', { timeout: 60_000 }, async () => {
    const dataDir = path.join(tmp.dir, 'unknown');
    for (const args of [
      ['events', 'ses_nope', '--follow'],
      ['events', 'ses_nope'],
    ]) {
      const result = await followToEnd(args, dataDir);
      expect(result.code, describeResult(result)).toBe(2);
      expect(result.stderr).toContain('error [SESSION_NOT_FOUND]: no session "ses_nope"');
      expect(result.stdout).toBe('');
    }
  });

  it('with --forever keeps following after the workflow ended, printing what comes later, until Ctrl-C', {
    timeout: 60_000,
  }, async () => {
    // The failed session made before all; the version taken below comes after its end.
    const dataDir = failedDataDir;
    const sessionId = FAILED;
    // --forever implies --follow.
    const follow = startCli(['events', sessionId, '--forever'], { dataDir });
    try {
      await waitFor(() => /workflow\.completed/.test(follow.stdout()), 'the end of the workflow to be printed');
      // Several polls later it still follows (plain --follow has ended by now: see above).
      await sleep(1500);
      expect(follow.child.exitCode).toBeNull();
      // An event recorded after the end is printed too.
      const version = await runCli(['sessions', 'version', sessionId, '--label', 'later'], { dataDir });
      expect(version.code, describeResult(version)).toBe(0);
      await waitFor(
        () => /session\.versioned .*"label":"later"/.test(follow.stdout()),
        'the later event to be printed',
      );
      follow.child.kill('SIGINT');
      const ended = await follow.exited;
      expect(ended.code, describeResult(ended)).toBe(0);
    } finally {
      if (follow.child.exitCode === null) follow.child.kill('SIGKILL');
    }
  });
});
