import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';
import { SessionManager } from '../../src/sessions/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { projectKeyOf } from '../../src/workspace/index.ts';
import { cliEnv, describeResult, type ProcessResult, parseJsonLines, runCli, tempDir } from '../support/cli-kit.ts';

// Planted secrets against the whole CLI: the real SDK and Claude Code run an agent that prints
// its environment, greps it for the key, reads ~/.aws/credentials, echoes the planted values
// (also base64-encoded, and in failing commands whose output no hook can rewrite), and ends
// with an answer quoting a tool's output. Then everything written is searched for the values:
// the SQLite file's bytes, events, transcripts and versions read back through the stores,
// every file under the data directory (Claude Code's own transcripts included), and all that
// the CLI printed (run --json, events --json, sessions versions, config) at LOG_LEVEL=debug.

const tag = randomBytes(6).toString('hex');
const PLANTED = {
  model: `test-model-key-planted-${tag}-modelkey`,
  aws: `plantedAWS${tag}SecretAccessKey`,
  operator: `planted-operator-${tag}-listed`,
  credentialsFile: `planted-aws-file-${tag}`,
};
const SESSION = `ses_secrets_${tag}`;
const BASHRC_SLEEP_S = 4;

const scenario = `
name: planted-secrets
scripts:
  - name: prober
    turns:
      - content:
          - tool_use:
              name: Bash
              input: { command: 'env | cut -d= -f1 | sort; echo "HOME=$HOME"; echo "TMPDIR=$TMPDIR"; echo "PROBE_MODE=$PROBE_MODE"; echo "PASSED_THROUGH=$PASSED_THROUGH"', description: Print the environment }
      - content: [{ tool_use: { name: Bash, input: { command: 'env | grep -i anthropic', description: Grep } } }]
      - content: [{ tool_use: { name: Bash, input: { command: 'cat ~/.aws/credentials; echo "HOME=$HOME"', description: Cat } } }]
      - content:
          - tool_use:
              name: Bash
              input: { command: 'echo "$AWS_SECRET_ACCESS_KEY $OPERATOR_LISTED $PASSED_THROUGH $PROBE_MODE"', description: Echo }
      - content:
          - tool_use:
              name: Bash
              input: { command: 'printf %s "$ANTHROPIC_API_KEY" | base64 -w0; echo; env | grep -i anthropic; exit 3', description: Fail }
      - 'Done: {{last_tool_result}}'
`;

const workflow = `
name: planted
agents:
  prober:
    tools: [Bash]
    env: { PROBE_MODE: literal-probe-mode }
    passEnv: [PASSED_THROUGH, AWS_SECRET_ACCESS_KEY, OPERATOR_LISTED]
nodes:
  - id: probe
    agent: prober
    task: Print what you can see.
`;

let root: { dir: string; cleanup(): Promise<void> };
let server: ModelServer;
let dataDir: string;
let userHome: string;
let env: Record<string, string>;
let run: ProcessResult;
const printed: string[] = [];

function forms(value: string): string[] {
  return [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)];
}
const NEEDLES = Object.values(PLANTED).flatMap(forms);

function leaksIn(text: string): string[] {
  return NEEDLES.filter((needle) => text.includes(needle));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

beforeAll(async () => {
  root = await tempDir('secrets');
  dataDir = path.join(root.dir, 'data');
  // The orchestrator's user: a HOME with credentials and a slow .bashrc, none of it for agents.
  userHome = path.join(root.dir, 'user-home');
  await mkdir(path.join(userHome, '.aws'), { recursive: true });
  await mkdir(path.join(userHome, '.ssh'), { recursive: true });
  await writeFile(
    path.join(userHome, '.aws', 'credentials'),
    `[default]\naws_secret_access_key = ${PLANTED.credentialsFile}\n`,
  );
  await writeFile(path.join(userHome, '.ssh', 'id_ed25519'), 'not a real key\n');
  await writeFile(path.join(userHome, '.bashrc'), `sleep ${BASHRC_SLEEP_S}\n`);
  await writeFile(path.join(root.dir, 'workflow.yaml'), workflow);
  server = await startModelServer({ scenario: parseScenario(scenario, 'planted.yaml') });
  env = {
    HOME: userHome,
    ANTHROPIC_API_KEY: PLANTED.model,
    ANTHROPIC_BASE_URL: server.url,
    AWS_SECRET_ACCESS_KEY: PLANTED.aws,
    OPERATOR_LISTED: PLANTED.operator,
    ORCHESTRATOR_SECRETS: 'OPERATOR_LISTED',
    PASSED_THROUGH: 'passed-through-value',
    HOST_ONLY_VARIABLE: 'host-only-value',
    LOG_LEVEL: 'debug',
  };
  const file = path.join(root.dir, 'workflow.yaml');
  run = await runCli(['--log-level', 'debug', 'run', file, '--json', '--session', SESSION], {
    dataDir,
    env,
  });
  printed.push(run.stdout, run.stderr);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await root?.cleanup();
});

async function withStore<T>(use: (store: OrchestratorStore, log: EventLog) => Promise<T>): Promise<T> {
  const store = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
  const log = new EventLog(store);
  try {
    return await use(store, log);
  } finally {
    await log.close();
  }
}

async function sessionEvents(): Promise<AnyEvent[]> {
  return withStore(async (_store, log) => {
    const events: AnyEvent[] = [];
    for await (const event of log.readAll(SESSION)) events.push(event);
    return events;
  });
}

function toolResults(events: readonly AnyEvent[]): string[] {
  return events
    .filter((event) => event.type === 'agent.tool_result')
    .map((event) => (event.data as { content: string }).content);
}

describe('planted secrets', () => {
  it('the run completed, and the agent really saw the planted values', async () => {
    expect(run.code, describeResult(run)).toBe(0);
    const results = toolResults(await sessionEvents());
    expect(results).toHaveLength(5);
    // The model key never was there to leak: behind the gateway the agent holds a token of its
    // own (no redaction needed); the other values were, and are redacted under their names.
    expect(results[1]).toMatch(/ANTHROPIC_API_KEY=orch-agt-[A-Za-z0-9_-]{43}\n/);
    expect(results[1]).not.toContain('REDACTED:ANTHROPIC_API_KEY');
    expect(results[3]).toContain(
      '[REDACTED:AWS_SECRET_ACCESS_KEY] [REDACTED:OPERATOR_LISTED] passed-through-value literal-probe-mode',
    );
    expect(results[4]).toContain('ANTHROPIC_API_KEY=orch-agt-');
    expect(results[4]).not.toContain('REDACTED:ANTHROPIC_API_KEY');
    // The model server got requests (from the gateway, which put the real key on them).
    expect(server.requests.length).toBeGreaterThan(0);
  });

  it("the agent's environment is the allow-list; HOME is under the data directory", async () => {
    const [envOutput = ''] = toolResults(await sessionEvents());
    // Names only (the sandbox adds many variables of its own, and the event keeps a preview of
    // the output), then the values the test looks at.
    const lines = envOutput.split('\n');
    const seen = new Map<string, string>(
      lines.filter((line) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(line)).map((name) => [name, ''] as const),
    );
    for (const line of lines.filter((l) => /^(HOME|TMPDIR|PROBE_MODE|PASSED_THROUGH)=/.test(l))) {
      const value = line.slice(line.indexOf('=') + 1);
      if (value !== '') seen.set(line.slice(0, line.indexOf('=')), value);
    }
    const host = Object.keys(cliEnv(env));
    // Set by Claude Code itself for its shell, whatever the host had: not passed by us.
    const claudeCodeOwn = ['SHELL', 'PWD', 'OLDPWD', 'SHLVL', '_', 'NoDefaultCurrentDirectoryInExePath'];
    const allowed = /^(PATH|LANG|LANGUAGE|LC_[A-Z_]+|TERM|TZ|HOME|TMPDIR|ANTHROPIC_API_KEY|ANTHROPIC_BASE_URL)$/;
    const declared = ['PASSED_THROUGH', 'AWS_SECRET_ACCESS_KEY', 'OPERATOR_LISTED'];
    const leaked = host.filter(
      (name) => seen.has(name) && !allowed.test(name) && !claudeCodeOwn.includes(name) && !declared.includes(name),
    );
    expect(leaked).toEqual([]);
    expect(seen.get('HOME')).toBe(path.join(dataDir, 'home'));
    // Claude Code's Bash sandbox (on by default) gives the shell a folder of its own under the
    // agent's TMPDIR; whatever the shell sees is never the host's.
    const tmp = seen.get('TMPDIR');
    if (tmp !== undefined) expect(tmp.startsWith(path.join(dataDir, 'tmp'))).toBe(true);
    expect(tmp).not.toBe(process.env.TMPDIR ?? '/tmp');
    expect(seen.get('PASSED_THROUGH')).toBe('passed-through-value');
    expect(seen.get('PROBE_MODE')).toBe('literal-probe-mode');
    expect(seen.has('HOST_ONLY_VARIABLE')).toBe(false);
    expect(seen.has('ORCHESTRATOR_SECRETS')).toBe(false);
    // ~/.aws/credentials of the user is not the agent's.
    const [, , cat = ''] = toolResults(await sessionEvents());
    expect(cat).toContain('No such file or directory');
    expect(cat).toContain(`HOME=${path.join(dataDir, 'home')}`);
  });

  it("the user's .bashrc does not slow an agent's Bash calls", async () => {
    const events = await sessionEvents();
    const started = new Map<string, number>();
    const durations: number[] = [];
    for (const event of events) {
      const data = event.data as { toolUseId?: string };
      if (event.type === 'agent.tool_use' && data.toolUseId) started.set(data.toolUseId, Date.parse(event.ts));
      if (event.type === 'agent.tool_result' && data.toolUseId) {
        durations.push(Date.parse(event.ts) - (started.get(data.toolUseId) ?? Number.NaN));
      }
    }
    expect(durations).toHaveLength(5);
    console.log(`Bash calls took ${durations.join(', ')} ms`);
    // A sourced .bashrc would cost BASHRC_SLEEP_S seconds a call; a sandboxed call on a loaded
    // 2-core machine was seen at 1.2 s, so the bound sits a second under the sleep.
    for (const ms of durations) expect(ms).toBeLessThan((BASHRC_SLEEP_S - 1) * 1000);
  });

  it('nothing written holds a planted value: the SQLite bytes, events, transcripts, versions', async () => {
    for (const name of await readdir(dataDir)) {
      if (!name.startsWith('events.db')) continue;
      expect(leaksIn((await readFile(path.join(dataDir, name))).toString('latin1')), name).toEqual([]);
    }
    const events = await sessionEvents();
    expect(leaksIn(JSON.stringify(events))).toEqual([]);
    const answer = events.find((event) => event.type === 'node.completed')?.data as { output?: unknown };
    expect(String(answer?.output)).toContain('Done: Exit code 3');
    const sdkSessionIds = events
      .filter((event) => event.type === 'agent.completed')
      .map((event) => (event.data as { sdkSessionId: string }).sdkSessionId);
    const { workspace } = (events[0] as AnyEvent).data as { workspace: string };
    await withStore(async (store, log) => {
      const projectKey = projectKeyOf(workspace);
      let entries = 0;
      for (const sessionId of sdkSessionIds) {
        const transcript = (await store.loadTranscript({ projectKey, sessionId })) ?? [];
        entries += transcript.length;
        expect(leaksIn(JSON.stringify(transcript))).toEqual([]);
      }
      // The failing command's output is in the stored transcript, redacted.
      expect(entries).toBeGreaterThan(5);
      const manager = new SessionManager({ log, versionStore: store, transcriptStore: store, dataDir });
      const versions = await manager.versions.list(SESSION);
      expect(versions.length).toBeGreaterThan(0);
      for (const version of versions) {
        const { state } = await manager.versions.load(SESSION, version.version);
        expect(leaksIn(JSON.stringify(state))).toEqual([]);
      }
    });
  });

  it("nothing under the data directory holds one: Claude Code's transcripts, the cache, HOME, TMPDIR", async () => {
    const files = await filesUnder(dataDir);
    const local = files.filter((file) => file.startsWith(path.join(dataDir, 'claude', 'projects')));
    expect(local.length).toBeGreaterThan(0);
    const leaking: string[] = [];
    for (const file of files) {
      const found = leaksIn((await readFile(file)).toString('latin1'));
      if (found.length > 0) leaking.push(`${path.relative(dataDir, file)}: ${found.join(', ')}`);
    }
    expect(leaking).toEqual([]);
  });

  it('nothing the CLI printed holds one: run --json, events --json, versions, config, debug logs', async () => {
    const events = await runCli(['events', SESSION, '--json'], { dataDir, env });
    expect(events.code, describeResult(events)).toBe(0);
    expect(parseJsonLines(events.stdout).length).toBeGreaterThan(10);
    const versions = await runCli(['sessions', 'versions', SESSION, '--json'], { dataDir, env });
    const config = await runCli(['config'], { dataDir, env });
    expect(config.stdout).toContain('"OPERATOR_LISTED"');
    const failing = await runCli(['events', PLANTED.model], { dataDir, env });
    expect(failing.code).not.toBe(0);
    expect(failing.stderr).toContain('[REDACTED:ANTHROPIC_API_KEY]');
    for (const result of [events, versions, config, failing]) printed.push(result.stdout, result.stderr);
    expect(run.stderr).toContain('"msg":"orchestrator ready"');
    const leaking = printed.map((text, i) => [i, leaksIn(text)] as const).filter(([, found]) => found.length > 0);
    expect(leaking).toEqual([]);
  });
});
