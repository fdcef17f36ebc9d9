import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import {
  describeResult,
  HELLO,
  type LogReader,
  openLogReader,
  type ProcessResult,
  type RunningProcess,
  runCli,
  startCli,
  tempDir,
  waitFor,
  writeSlowWorkflow,
} from '../support/cli-kit.ts';
import { postgresClient, postgresProblem, TEST_DATABASE_URL } from '../support/postgres.ts';
import { recoveryProblems, sequenceProblems } from './log-checks.ts';

// One owner per session, tried from outside with real processes: two resumes of one session at
// once, a frozen owner taken over once its lease lapses (and refused when it wakes), and
// control requests from another process, with and without a live owner. The two-agent hello
// example, slowed down, is enough: none of this depends on the workflow, and each resume that
// runs to the end starts one or two agents instead of the demo's five or six.

const TURN_DELAY_MS = 250;
/**
 * For the live cancel: hello has far less left to run than the demo once the cancel is due,
 * so its turns are slower there, for the run to be still going (on a loaded machine) when the
 * `sessions cancel` process gets to record its request.
 */
const PATIENT_TURN_DELAY_MS = 1_500;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let workflow: string;
let patientWorkflow: string;
beforeAll(async () => {
  tmp = await tempDir('ownership');
  workflow = await writeSlowWorkflow(HELLO, path.join(tmp.dir, 'slow-hello'), TURN_DELAY_MS);
  patientWorkflow = await writeSlowWorkflow(HELLO, path.join(tmp.dir, 'patient-hello'), PATIENT_TURN_DELAY_MS);
});
afterAll(async () => {
  await tmp?.cleanup();
});

interface Setup {
  readonly dataDir: string;
  readonly env: Record<string, string>;
  readonly reader: LogReader;
}

async function sqliteSetup(name: string, env: Record<string, string> = {}): Promise<Setup> {
  const dataDir = path.join(tmp.dir, name);
  return { dataDir, env, reader: await openLogReader(dataDir) };
}

/** Starts `run` and waits until at least `events` events of its session are committed. */
async function runUntil(
  setup: Setup,
  sessionId: string,
  events: number,
  file: string = workflow,
): Promise<RunningProcess> {
  const run = startCli(['run', file, '--session', sessionId, '--yes'], setup);
  await waitFor(
    async () => {
      if (run.child.exitCode !== null) throw new Error(`the run ended early:\n${run.stdout()}${run.stderr()}`);
      return (await setup.reader.lastSeq(sessionId)) >= events ? true : undefined;
    },
    `${events} events of ${sessionId}`,
    { timeoutMs: 90_000, intervalMs: 25 },
  );
  return run;
}

async function dropSchema(schema: string): Promise<void> {
  const client = postgresClient();
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

const ofType = (events: readonly AnyEvent[], type: string) => events.filter((e) => e.type === type);

async function twoResumesAtOnce(setup: Setup, sessionId: string): Promise<void> {
  const run = await runUntil(setup, sessionId, 30);
  run.child.kill('SIGKILL');
  await run.exited;
  const killSeq = await setup.reader.lastSeq(sessionId);

  const results: ProcessResult[] = await Promise.all([
    runCli(['sessions', 'resume', sessionId, '--yes'], setup),
    runCli(['sessions', 'resume', sessionId, '--yes'], setup),
  ]);
  const won = results.filter((r) => r.code === 0);
  const lost = results.filter((r) => r.code !== 0);
  expect(won, results.map(describeResult).join('\n')).toHaveLength(1);
  expect(lost).toHaveLength(1);
  const refusal = lost[0] as ProcessResult;
  expect(refusal.stderr, describeResult(refusal)).toContain('SESSION_BUSY');
  expect(refusal.stderr).toMatch(/owned by process \d+ on /);
  // Refused at once, not after waiting for the winner to finish.
  expect(refusal.stdout).not.toContain('workflow completed');

  const events = await setup.reader.events(sessionId);
  expect(recoveryProblems(events, killSeq), `killed at seq ${killSeq}`).toEqual([]);
  const takeovers = ofType(events, 'session.taken_over');
  expect(takeovers).toHaveLength(1);
  expect(takeovers[0]?.data).toMatchObject({ reason: 'owner_dead', previous: { pid: run.pid } });
  expect(ofType(events, 'session.resumed')).toHaveLength(1);
}

describe('one owner per session', () => {
  it('SQLite: of two resumes at once after a SIGKILL, exactly one runs; the other is SESSION_BUSY', {
    timeout: 180_000,
  }, async () => {
    const setup = await sqliteSetup('two-resumes');
    try {
      await twoResumesAtOnce(setup, 'ses_own_two_sqlite');
    } finally {
      await setup.reader.close();
    }
  });

  it('PostgreSQL: of two resumes at once after a SIGKILL, exactly one runs; the other is SESSION_BUSY', {
    timeout: 180_000,
  }, async (context) => {
    const problem = await postgresProblem();
    if (problem) {
      if (process.env.CI === 'true') throw new Error(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${problem}`);
      context.skip(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${problem}`);
    }
    const schema = `orch_own_${process.pid}`;
    const env = { DATABASE_URL: TEST_DATABASE_URL, ORCHESTRATOR_STORE: 'postgres', ORCHESTRATOR_PG_SCHEMA: schema };
    const dataDir = path.join(tmp.dir, 'two-resumes-pg');
    const reader = await openLogReader(dataDir, { url: TEST_DATABASE_URL, schema });
    try {
      await twoResumesAtOnce({ dataDir, env, reader }, 'ses_own_two_pg');
    } finally {
      await reader.close();
      await dropSchema(schema);
    }
  });

  // On PostgreSQL, the shared store of many machines. (SQLite cannot take this test: a process
  // frozen while it holds the file's write lock blocks every writer until it wakes or dies.)
  it('PostgreSQL: a frozen owner is taken over once its lease lapses, and cannot write when it wakes', {
    timeout: 180_000,
  }, async (context) => {
    const problem = await postgresProblem();
    if (problem) {
      if (process.env.CI === 'true') throw new Error(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${problem}`);
      context.skip(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${problem}`);
    }
    const schema = `orch_zombie_${process.pid}`;
    const dataDir = path.join(tmp.dir, 'zombie');
    const env = {
      DATABASE_URL: TEST_DATABASE_URL,
      ORCHESTRATOR_STORE: 'postgres',
      ORCHESTRATOR_PG_SCHEMA: schema,
      // Long enough that the refused resume below starts (a Node process, on a loaded
      // machine) well within the frozen owner's lease; short enough to wait out.
      ORCHESTRATOR_LEASE_TTL: '10s',
    };
    const setup: Setup = { dataDir, env, reader: await openLogReader(dataDir, { url: TEST_DATABASE_URL, schema }) };
    const sessionId = 'ses_own_zombie';
    try {
      const zombie = await runUntil(setup, sessionId, 25);
      zombie.child.kill('SIGSTOP');
      const frozenAt = await setup.reader.lastSeq(sessionId);
      // Its lease is live and its pid alive: a resume now is refused at once.
      const early = await runCli(['sessions', 'resume', sessionId, '--yes'], setup);
      expect(early.code, describeResult(early)).not.toBe(0);
      expect(early.stderr).toContain('SESSION_BUSY');
      // Once the lease has lapsed, a resume takes the session over. (Its expiry is read from
      // the store rather than slept out: the refused resume above took part of the TTL.)
      const lease = await setup.reader.leaseExpiresAt(sessionId);
      expect(lease, 'the frozen owner’s lease').toBeDefined();
      const expiresAt = Date.parse(lease as string);
      await waitFor(() => Date.now() > expiresAt + 250, 'the frozen owner’s lease to lapse', { timeoutMs: 30_000 });
      const resume = startCli(['sessions', 'resume', sessionId, '--yes'], setup);
      const takeoverSeq = await waitFor(
        async () => {
          const events = await setup.reader.events(sessionId);
          return ofType(events, 'session.taken_over')[0]?.seq;
        },
        'the takeover',
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      zombie.child.kill('SIGCONT');
      const [woke, resumed] = await Promise.all([zombie.exited, resume.exited]);
      expect(resumed.code, describeResult(resumed)).toBe(0);
      expect(woke.code, describeResult(woke)).not.toBe(0);
      expect(`${woke.stderr}${woke.stdout}`).toContain('LEASE_LOST');

      const events = await setup.reader.events(sessionId);
      expect(sequenceProblems(events)).toEqual([]);
      const takeover = events.find((e) => e.seq === takeoverSeq);
      expect(takeover?.data).toMatchObject({ reason: 'expired', previous: { pid: zombie.pid } });
      expect(recoveryProblems(events, takeoverSeq - 1)).toEqual([]);
      // Nothing of the woken process landed after the takeover: every later event is the new
      // owner's, and the log between the freeze and the takeover is only the refused resume's.
      expect(frozenAt).toBeLessThan(takeoverSeq);
    } finally {
      await setup.reader.close();
      await dropSchema(schema);
    }
  });

  it('`sessions cancel` from another process stops the owner within a second', { timeout: 180_000 }, async () => {
    const setup = await sqliteSetup('cancel-live');
    const sessionId = 'ses_own_cancel';
    try {
      const run = await runUntil(setup, sessionId, 15, patientWorkflow);
      const cancel = await runCli(['sessions', 'cancel', sessionId, '--reason', 'changed my mind'], setup);
      expect(cancel.code, describeResult(cancel)).toBe(0);
      expect(cancel.stdout).toMatch(/acts on it within a second/);
      const ended = await run.exited;
      expect(ended.code, describeResult(ended)).toBe(1);
      const events = await setup.reader.events(sessionId);
      const requested = ofType(events, 'control.requested')[0] as AnyEvent;
      const applied = ofType(events, 'workflow.cancel_requested')[0] as AnyEvent;
      expect(applied.data).toMatchObject({ controlId: (requested.data as { controlId: string }).controlId });
      expect(Date.parse(applied.ts) - Date.parse(requested.ts)).toBeLessThan(1_500);
      const after = events.filter((e) => e.seq > applied.seq);
      expect(ofType(after, 'agent.spawned'), 'agents started after the cancel').toEqual([]);
      expect(ofType(after, 'node.started')).toEqual([]);
      expect(ofType(events, 'workflow.completed')[0]?.data).toMatchObject({ status: 'cancelled' });
    } finally {
      await setup.reader.close();
    }
  });

  it('`sessions pause` from another process stops the owner within a second; `sessions unpause` lets it finish', {
    timeout: 180_000,
  }, async () => {
    const setup = await sqliteSetup('pause-live');
    const sessionId = 'ses_own_pause';
    try {
      const run = await runUntil(setup, sessionId, 15, patientWorkflow);
      const pause = await runCli(['sessions', 'pause', sessionId, '--reason', 'hold on'], setup);
      expect(pause.code, describeResult(pause)).toBe(0);
      expect(pause.stdout).toMatch(/acts on it within a second/);
      const paused = await waitFor(
        async () => ofType(await setup.reader.events(sessionId), 'workflow.paused')[0],
        'the owner to pause',
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      const requested = ofType(await setup.reader.events(sessionId), 'control.requested')[0] as AnyEvent;
      expect(paused.data).toMatchObject({
        controlId: (requested.data as { controlId: string }).controlId,
        interruptRunning: true,
      });
      expect(Date.parse(paused.ts) - Date.parse(requested.ts)).toBeLessThan(1_500);
      // Paused, the owner waits: alive, starting nothing.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(run.child.exitCode, 'the paused owner is still running').toBeNull();

      const unpause = await runCli(['sessions', 'unpause', sessionId], setup);
      expect(unpause.code, describeResult(unpause)).toBe(0);
      const ended = await run.exited;
      expect(ended.code, describeResult(ended)).toBe(0);
      const events = await setup.reader.events(sessionId);
      expect(sequenceProblems(events)).toEqual([]);
      const resumed = ofType(events, 'workflow.resumed')[0] as AnyEvent;
      const unpauseRequest = ofType(events, 'control.requested')[1] as AnyEvent;
      expect(resumed.data).toMatchObject({ controlId: (unpauseRequest.data as { controlId: string }).controlId });
      const whilePaused = events.filter((e) => e.seq > paused.seq && e.seq < resumed.seq);
      expect(ofType(whilePaused, 'agent.spawned'), 'agents started while paused').toEqual([]);
      expect(ofType(whilePaused, 'node.started')).toEqual([]);
      expect(ofType(events, 'workflow.completed')[0]?.data).toMatchObject({ status: 'completed' });
      const completions = ofType(events, 'node.completed').map((e) => (e.data as { nodeId: string }).nodeId);
      expect(completions.length, 'each node completed once').toBe(new Set(completions).size);
    } finally {
      await setup.reader.close();
    }
  });

  it('a cancel recorded while nobody runs the session is applied by the next resume', {
    timeout: 180_000,
  }, async () => {
    const setup = await sqliteSetup('cancel-dead');
    const sessionId = 'ses_own_cancel_dead';
    try {
      const run = await runUntil(setup, sessionId, 15);
      run.child.kill('SIGKILL');
      await run.exited;
      const cancel = await runCli(['sessions', 'cancel', sessionId], setup);
      expect(cancel.code, describeResult(cancel)).toBe(0);
      expect(cancel.stdout).toContain('applied when the session is resumed');
      const resumed = await runCli(['sessions', 'resume', sessionId], setup);
      expect(resumed.code, describeResult(resumed)).toBe(1);
      const events = await setup.reader.events(sessionId);
      expect(ofType(events, 'workflow.completed')[0]?.data).toMatchObject({ status: 'cancelled' });
      const resumedAt = ofType(events, 'session.resumed')[0]?.seq ?? 0;
      expect(
        ofType(
          events.filter((e) => e.seq > resumedAt),
          'agent.spawned',
        ),
      ).toEqual([]);
    } finally {
      await setup.reader.close();
    }
  });
});
