import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AnyEvent } from '../../../src/events/index.ts';
import { TOKEN_PREFIX } from '../../../src/gateway/index.ts';
import { EventLog } from '../../../src/log/index.ts';
import { type ModelServer, parseScenario, startModelServer } from '../../../src/model-server/index.ts';
import { SessionManager } from '../../../src/sessions/index.ts';
import { openEventStore } from '../../../src/store/index.ts';
import { projectKeyOf } from '../../../src/workspace/index.ts';
import { describeResult, type ProcessResult, runCli, tempDir } from '../../support/cli-kit.ts';

// A workflow run through the CLI whose agent prints planted secrets in every form it can (plain,
// base64 in one line, inside a longer base64 text and wrapped at 76 columns, reversed, hex, on a
// failing command, inside a 3 MB output that Claude Code keeps in a file of its own, quoted in
// the model's answer, written by the model into a tool's input), then produces oversized
// payloads (a 5 MB tool result, a tool input and a message over the field limit). Everything the
// run wrote is then searched for the values through the store APIs, in every file under the data
// directory and in what the CLI printed (`events ID --json` included).

const tag = randomBytes(6).toString('hex');
const PLANTED = {
  ANTHROPIC_API_KEY: `test-model-key-planted-${tag}-modelkey`,
  AWS_SECRET_ACCESS_KEY: `plantedAWS${tag}SecretKey`,
};
const SESSION = `ses_escapes_${tag}`;
/** The field limit of the run (ORCHESTRATOR_MAX_EVENT_FIELD_BYTES). */
const FIELD_LIMIT = 16_384;
const BIG_INPUT = 'i'.repeat(200_000);
const BIG_MESSAGE = 'm'.repeat(100_000);

/** The forms redaction must catch, by label: plain, and base64 at each of the three alignments. */
function mustCatch(name: string, value: string): [string, string][] {
  const forms: [string, string][] = [[`${name} plain`, value]];
  for (let offset = 0; offset < 3; offset++) {
    const text = Buffer.concat([Buffer.alloc(offset), Buffer.from(value)]).toString('base64');
    const form = text.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + value.length) * 8) / 6));
    forms.push([`${name} base64@${offset}`, form]);
  }
  return forms;
}
const NEEDLES = Object.entries(PLANTED).flatMap(([name, value]) => mustCatch(name, value));
/** Forms no redaction by value catches (a known limit): reversed, hex. */
const KNOWN_LIMIT_FORMS = Object.values(PLANTED).flatMap((v) => [
  [...v].reverse().join(''),
  Buffer.from(v).toString('hex'),
]);

/** Labels of the needles found in a text, also across line breaks (base64 wrapped at 76 columns). */
function leaksIn(text: string): string[] {
  const joined = text.replace(/\\n|\n/g, '');
  return NEEDLES.flatMap(([label, needle]) =>
    text.includes(needle) ? [label] : joined.includes(needle) ? [`${label} across lines`] : [],
  );
}
function limitsIn(text: string): string[] {
  return KNOWN_LIMIT_FORMS.filter((form) => text.includes(form));
}

interface SecretCase {
  readonly id: string;
  readonly name: string;
  readonly command?: string;
  readonly tool?: { name: string; input: Record<string, unknown> };
  /** Text said by the model in the same turn. */
  readonly text?: string;
  /** What the result shows when the attempt was refused (and nothing planted was in it). */
  readonly refusedWhen?: RegExp;
}

/** Cases about the model key (s16 quotes s15's output): behind the gateway the agent never has it. */
const modelKeyCase = (c: SecretCase) => c.id === 's16' || (c.command ?? '').includes('ANTHROPIC_API_KEY');

const bashCase = (id: string, name: string, command: string): SecretCase => ({ id, name, command });
const SECRET_CASES: SecretCase[] = [
  bashCase('s01', 'model key, plain', 'echo "$ANTHROPIC_API_KEY"'),
  bashCase('s02', 'AWS_SECRET_ACCESS_KEY, plain', 'echo "$AWS_SECRET_ACCESS_KEY"'),
  bashCase('s03', 'model key, base64', 'printf %s "$ANTHROPIC_API_KEY" | base64'),
  bashCase('s04', 'AWS key, base64 -w0', 'printf %s "$AWS_SECRET_ACCESS_KEY" | base64 -w0'),
  bashCase('s05', 'both, inside a longer base64 text', 'env | grep -e ANTHROPIC_API_KEY -e AWS_SECRET | base64 -w0'),
  bashCase(
    's06',
    'model key, base64 wrapped at 76 columns',
    `{ printf 'padding-%.0s' 1 2 3 4 5; printf %s "$ANTHROPIC_API_KEY"; } | base64`,
  ),
  bashCase('s07', 'model key, reversed (rev)', 'printf %s "$ANTHROPIC_API_KEY" | rev'),
  bashCase('s08', 'AWS key, reversed (rev)', 'printf %s "$AWS_SECRET_ACCESS_KEY" | rev'),
  bashCase('s09', 'model key, hex', `printf %s "$ANTHROPIC_API_KEY" | od -An -tx1 | tr -d ' \\n'`),
  bashCase('s10', 'env | grep -i key', 'env | grep -i -e key -e secret'),
  bashCase('s11', '/proc/self/environ', "cat /proc/self/environ | tr '\\0' '\\n' | grep -e KEY"),
  {
    ...bashCase(
      's17',
      "the environments of the command's parents, up to the orchestrator (/proc/PID/environ)",
      `p=$$; while [ "$p" -gt 1 ]; do tr '\\0' '\\n' < /proc/$p/environ 2>&1 | grep -e KEY -e Permission; p=$(awk '{print $4}' /proc/$p/stat); done; tr '\\0' '\\n' < /proc/1/environ 2>&1 | grep -e KEY -e Permission`,
    ),
    refusedWhen: /Permission denied/,
  },
  bashCase('s12', 'the model writes the AWS value into a command', `echo ${PLANTED.AWS_SECRET_ACCESS_KEY}`),
  {
    id: 's13',
    name: 'the model writes the model key into a Write input (outside: refused)',
    tool: {
      name: 'Write',
      input: { file_path: `/tmp/refused-${tag}.txt`, content: `key=${PLANTED.ANTHROPIC_API_KEY}` },
    },
  },
  bashCase(
    's14',
    'model key inside a 3 MB output (Claude Code keeps it in a file)',
    `{ printf 'KEY=%s\\n' "$ANTHROPIC_API_KEY"; head -c 3000000 /dev/zero | tr '\\0' a; }`,
  ),
  bashCase('s15', 'model key on a failing command (no hook rewrites it)', 'echo "$ANTHROPIC_API_KEY" >&2; exit 3'),
  {
    ...bashCase('s16', 'the model quotes the failed output in its answer', 'echo quoted'),
    text: 'Quoting: {{last_tool_result}}',
  },
];
const OVERSIZED_CASES: SecretCase[] = [
  bashCase('o01', 'a 5 MB tool result', "head -c 5000000 /dev/zero | tr '\\0' a"),
  {
    id: 'o02',
    name: 'a 200 KB tool input (Write)',
    tool: { name: 'Write', input: { file_path: 'big.txt', content: BIG_INPUT } },
  },
  { ...bashCase('o03', 'a 100 KB model message', 'echo after-message'), text: BIG_MESSAGE },
  { id: 'o04', name: 'Read of the 200 KB file', tool: { name: 'Read', input: { file_path: 'big.txt' } } },
  bashCase('o05', 'cat of the 200 KB file', 'cat big.txt'),
];

function turn(c: SecretCase): object {
  const tool = c.tool ?? { name: 'Bash', input: { command: c.command, description: 'print it' } };
  return {
    content: [...(c.text ? [{ text: c.text }] : []), { tool_use: { id: `toolu_${c.id}`, ...tool } }],
  };
}

const scenario = {
  name: 'escapes-secrets',
  scripts: [
    {
      name: 'leaker',
      match: { user: 'Leak what you can' },
      turns: [...[...SECRET_CASES, ...OVERSIZED_CASES].map(turn), 'Done: {{last_tool_result}}'],
    },
    { name: 'after', match: { user: 'Carry on' }, turns: ['Still here.'] },
  ],
};

const workflow = `
name: escapes-secrets
agents:
  leaker:
    tools: [Bash, Write, Read]
    passEnv: [AWS_SECRET_ACCESS_KEY]
nodes:
  - id: leak
    agent: leaker
    task: Leak what you can.
  - id: after
    agent: leaker
    dependsOn: [leak]
    task: Carry on.
`;

/** Calls back once per case: its name, outcome and detail. */
export type Note = (name: string, outcome: string, detail: string) => void;

/** The CLI run, started at once, and its judges. */
export interface SecretsProbe {
  readonly done: Promise<void>;
  /** Judges the secret cases; `leaks` names every place holding a value, `unclear` the cases that show nothing. */
  judge(note: Note): Promise<{ runCode: number | null; describe: string; leaks: string[]; unclear: string[] }>;
  judgeOversized(note: Note): Promise<{ problems: string[] }>;
  cleanup(): Promise<void>;
}

interface Collected {
  readonly run: ProcessResult;
  readonly eventsJson: ProcessResult;
  readonly events: AnyEvent[];
  /** Every place searched, by name: its text. */
  readonly places: Map<string, string>;
  /** The full values of shortened fields stored as payload blobs, read back by their digests. */
  readonly payloads: Map<string, string>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

async function collect(dataDir: string, run: ProcessResult, env: Record<string, string>): Promise<Collected> {
  const eventsJson = await runCli(['events', SESSION, '--json'], { dataDir, env });
  const places = new Map<string, string>([
    ['run output', run.stdout + run.stderr],
    ['events --json', eventsJson.stdout + eventsJson.stderr],
  ]);
  const store = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
  const log = new EventLog(store);
  const events: AnyEvent[] = [];
  const payloads = new Map<string, string>();
  try {
    for await (const event of log.readAll(SESSION)) events.push(event);
    places.set('events', JSON.stringify(events));
    const { workspace } = (events[0]?.data ?? {}) as { workspace?: string };
    const projectKey = projectKeyOf(workspace ?? '');
    for (const event of events.filter((e) => e.type === 'agent.completed')) {
      const { sdkSessionId } = event.data as { sdkSessionId: string };
      const transcript = (await store.loadTranscript({ projectKey, sessionId: sdkSessionId })) ?? [];
      places.set(`transcript ${sdkSessionId}`, JSON.stringify(transcript));
    }
    const manager = new SessionManager({
      log,
      versionStore: store,
      transcriptStore: store,
      payloadStore: store.payloads,
      dataDir,
    });
    for (const event of events) {
      for (const entry of (event.data as { truncated?: Array<{ sha256: string; stored?: boolean }> }).truncated ?? []) {
        if (!entry.stored) continue;
        const { text } = await manager.payload(SESSION, entry.sha256);
        payloads.set(entry.sha256, text);
        places.set(`payload ${entry.sha256.slice(0, 12)}`, text);
      }
    }
    for (const version of await manager.versions.list(SESSION)) {
      const { state } = await manager.versions.load(SESSION, version.version);
      places.set(`version ${version.version}`, JSON.stringify(state));
    }
  } finally {
    await log.close();
  }
  for (const file of await filesUnder(dataDir)) {
    places.set(`file ${path.relative(dataDir, file)}`, (await readFile(file)).toString('latin1'));
  }
  return { run, eventsJson, events, places, payloads };
}

function byToolUse(events: readonly AnyEvent[], type: string, id: string): Record<string, unknown> | undefined {
  return events.find((e) => e.type === type && (e.data as { toolUseId?: string }).toolUseId === `toolu_${id}`)?.data as
    | Record<string, unknown>
    | undefined;
}

/** Starts the CLI run (secrets, then oversized payloads) in the background. */
export function startSecretsProbe(): SecretsProbe {
  let root: { dir: string; cleanup(): Promise<void> } | undefined;
  let server: ModelServer | undefined;
  let collected: Collected | undefined;
  const done = (async () => {
    root = await tempDir('escapes-secrets');
    server = await startModelServer({ scenario: parseScenario(JSON.stringify(scenario), 'escapes-secrets.json') });
    const file = path.join(root.dir, 'workflow.yaml');
    await writeFile(file, workflow);
    const dataDir = path.join(root.dir, 'data');
    const env = {
      ...PLANTED,
      ANTHROPIC_BASE_URL: server.url,
      ORCHESTRATOR_MAX_EVENT_FIELD_BYTES: String(FIELD_LIMIT),
    };
    const run = await runCli(['run', file, '--json', '--session', SESSION], { dataDir, env });
    collected = await collect(dataDir, run, env);
  })();
  const ready = async (): Promise<Collected> => {
    await done;
    return collected as Collected;
  };
  return {
    done,
    async judge(note) {
      const { run, events, places } = await ready();
      const unclear: string[] = [];
      for (const c of SECRET_CASES) {
        const stored = JSON.stringify([
          byToolUse(events, 'agent.tool_use', c.id),
          byToolUse(events, 'agent.tool_result', c.id),
          c.text ? events.filter((e) => e.type === 'agent.message').map((e) => e.data) : null,
        ]);
        const leaked = leaksIn(stored);
        const limited = limitsIn(stored);
        if (c.refusedWhen) {
          // Nothing of another process's environment may show, not even redacted.
          const result = String(byToolUse(events, 'agent.tool_result', c.id)?.content ?? '');
          if (leaked.length > 0 || stored.includes('[REDACTED:'))
            note(c.name, 'leaked', `read: ${result.slice(0, 200)}`);
          else if (c.refusedWhen.test(result))
            note(c.name, 'refused', 'out of the sandbox’s sight (its own PID namespace)');
          else {
            note(c.name, 'inconclusive', `no refusal in: ${JSON.stringify(result)}`);
            unclear.push(c.id);
          }
          if (leaked.length > 0 || stored.includes('[REDACTED:')) unclear.push(c.id);
          continue;
        }
        if (leaked.length > 0) note(c.name, 'leaked', `stored as printed: ${leaked.join(', ')}`);
        else if (limited.length > 0) note(c.name, 'known limit', 'a reversed or hex value is stored as printed');
        else if (stored.includes('[REDACTED:'))
          note(c.name, 'redacted', /\[REDACTED:[A-Z_]+\]/.exec(stored)?.[0] ?? '');
        else if (modelKeyCase(c) && stored.includes(TOKEN_PREFIX))
          // Behind the gateway the model key is not in the agent's process at all: it printed its token.
          note(c.name, 'never in the agent', 'the agent holds only its gateway token');
        else if (modelKeyCase(c) && c.id !== 's01' && !leaksIn(stored).length)
          note(c.name, 'never in the agent', 'a transformation of the gateway token, not of the key');
        else {
          const result = byToolUse(events, 'agent.tool_result', c.id)?.content;
          note(c.name, 'inconclusive', `no marker in what was stored: ${JSON.stringify(result)}`);
          unclear.push(c.id);
        }
      }
      const leaks: string[] = [];
      const limited: string[] = [];
      for (const [place, text] of places) {
        const found = leaksIn(text);
        if (found.length > 0) leaks.push(`${place}: ${found.join(', ')}`);
        if (limitsIn(text).length > 0) limited.push(place);
      }
      if (limited.length > 0) {
        note(
          'reversed or hex values, wherever stored',
          'known limit',
          `not redacted by value, in: ${limited.join(', ')}`,
        );
      }
      note(
        `searched ${places.size} places (events, transcripts, versions, files, CLI output)`,
        leaks.length ? 'leaked' : 'clean',
        leaks.join('; '),
      );
      return { runCode: run.code, describe: describeResult(run), leaks, unclear };
    },
    async judgeOversized(note) {
      const { events, payloads } = await ready();
      const problems: string[] = [];
      const check = (c: SecretCase, ok: boolean, detail: string) => {
        note(c.name, ok ? 'stored as preview' : 'inconclusive', detail);
        if (!ok) problems.push(`${c.id}: ${detail}`);
      };
      const [o1, o2, o3, o4, o5] = OVERSIZED_CASES as [SecretCase, SecretCase, SecretCase, SecretCase, SecretCase];
      const result1 = String(byToolUse(events, 'agent.tool_result', o1.id)?.content ?? '');
      check(
        o1,
        result1.length < FIELD_LIMIT && /Output too large/.test(result1),
        `${result1.length} characters stored`,
      );
      const input2 = byToolUse(events, 'agent.tool_use', o2.id) as
        | { input?: unknown; truncated?: unknown[] }
        | undefined;
      const json = JSON.stringify({ file_path: 'big.txt', content: BIG_INPUT });
      const digest = createHash('sha256').update(json).digest('hex');
      check(
        o2,
        JSON.stringify(input2 ?? {}).length < FIELD_LIMIT &&
          JSON.stringify(input2?.truncated) ===
            JSON.stringify([{ field: 'input', bytes: json.length, sha256: digest, stored: true, json: true }]) &&
          // The whole input is read back from the session's payload blobs, equal to what was given.
          payloads.get(digest) === json,
        `truncated: ${JSON.stringify(input2?.truncated)}; payload read back: ${payloads.get(digest)?.length ?? 'none'} characters`,
      );
      const message = events.find((e) => e.type === 'agent.message' && (e.data as { truncated?: unknown }).truncated);
      const messageData = message?.data as { text?: string; truncated?: { bytes: number }[] } | undefined;
      check(
        o3,
        (messageData?.text?.length ?? Infinity) < FIELD_LIMIT &&
          messageData?.truncated?.[0]?.bytes === BIG_MESSAGE.length,
        `truncated: ${JSON.stringify(messageData?.truncated)}`,
      );
      for (const c of [o4, o5]) {
        const result = String(byToolUse(events, 'agent.tool_result', c.id)?.content ?? '');
        check(c, result.length > 0 && result.length < FIELD_LIMIT, `${result.length} characters stored`);
      }
      const completed = events
        .filter((e) => e.type === 'node.completed')
        .map((e) => (e.data as { nodeId: string }).nodeId);
      const goesOn = completed.includes('leak') && completed.includes('after');
      note('the run goes on after the oversized payloads', goesOn ? 'completed' : 'inconclusive', completed.join(', '));
      if (!goesOn) problems.push(`nodes completed: ${completed.join(', ')}`);
      return { problems };
    },
    async cleanup() {
      await done.catch(() => undefined);
      await server?.close();
      await root?.cleanup();
    },
  };
}
