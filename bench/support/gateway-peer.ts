/**
 * The gateway benchmark's peers, each in a process of its own, so that the measured process
 * holds the gateway alone (not the scripted model's work, nor the clients' queueing):
 * - `upstream`: the scripted model server; writes `{"url": ...}` as one line, serves until killed.
 * - `load`: the clients; takes commands over IPC (`{ id, op, ... }`) and answers
 *   `{ id, result }` or `{ id, error }`.
 * Usage: node bench/support/gateway-peer.ts upstream|load
 */
import http from 'node:http';
import { parseScenario, startModelServer } from '../../src/model-server/index.ts';

const scenario = `
name: gateway-bench
scripts:
  - name: quick
    match: { user: '^Quick' }
    turns: ['Hello from the scripted model, a short answer of a few chunks.']
  - name: spaced
    match: { user: '^Spaced' }
    turns:
      - content: [{ text: '${'x'.repeat(24 * 40)}' }]
        chunk_delay_ms: 2
  - name: held
    match: { user: '^Held' }
    turns:
      - content: [{ text: '${'y'.repeat(24 * 4)}' }]
        chunk_delay_ms: 1500
`;

/** Timings of one streamed request, from the client's side. */
export interface Timed {
  readonly firstByteMs: number;
  readonly totalMs: number;
  readonly chunks: number;
}

/**
 * The body of a request: `small` (a one-line prompt, about 150 bytes) or `first-turn`, shaped
 * and sized like Claude Code's first turn with its built-in tools (measured: 60 KB, of which
 * tools 36 KB, messages 16 KB, system 7 KB; `max_tokens` after the messages).
 */
export type BodySize = 'small' | 'first-turn';

/** A command to the `load` peer. */
export type LoadCommand =
  | {
      op: 'firstBytes';
      direct: string;
      through: string;
      key: string;
      concurrency: number;
      rounds: number;
      body?: BodySize;
    }
  | { op: 'spaced'; direct: string; through: string; key: string; count: number }
  | { op: 'hold'; base: string; key: string; count: number }
  | { op: 'held' }
  | { op: 'throughput'; base: string; key: string; total: number; clients: number };

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

/** A synthetic first turn: Claude Code's shape and size, with the prompt the scenario matches. */
function firstTurn(prompt: string): string {
  const schema = (i: number) => ({
    type: 'object',
    properties: Object.fromEntries(
      Array.from({ length: 6 }, (_, p) => [
        `parameter_${p}`,
        { type: 'string', description: `What parameter ${p} of tool ${i} means, and when to give it. `.repeat(5) },
      ]),
    ),
    required: ['parameter_0'],
    additionalProperties: false,
  });
  return JSON.stringify({
    model: 'claude-opus-5-5',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: `<system-reminder>${'Attribution notes. '.repeat(30)}</system-reminder>` },
          { type: 'text', text: prompt },
        ],
      },
      { role: 'system', content: [{ type: 'text', text: 'Sandbox and environment notes. '.repeat(490) }] },
    ],
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2; cc_entrypoint=sdk-ts;' },
      {
        type: 'text',
        text: 'You are a Claude agent, built on the Claude Agent SDK.',
        cache_control: { type: 'ephemeral' },
      },
      { type: 'text', text: 'You are a coder. '.repeat(415), cache_control: { type: 'ephemeral' } },
    ],
    tools: Array.from({ length: 13 }, (_, i) => ({
      name: `Tool${i}`,
      description: `What tool ${i} does, how and when to use it, and what it returns. `.repeat(12),
      input_schema: schema(i),
    })),
    metadata: { user_id: JSON.stringify({ device_id: 'b'.repeat(64), account_uuid: '', session_id: 'bench' }) },
    max_tokens: 32000,
    thinking: { type: 'adaptive' },
    stream: true,
  });
}

/** One streamed request; resolves at its end with its timings. `onFirst` runs at the first body byte. */
function request(
  base: string,
  key: string,
  prompt: string,
  onFirst?: () => void,
  size: BodySize = 'small',
): Promise<Timed> {
  const body =
    size === 'first-turn'
      ? firstTurn(prompt)
      : JSON.stringify({
          model: 'claude-opus-5-5',
          max_tokens: 1024,
          stream: true,
          messages: [{ role: 'user', content: prompt }],
        });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      `${base}/v1/messages?beta=true`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-api-key': key, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let first = 0;
        let chunks = 0;
        res.on('data', () => {
          chunks++;
          if (first === 0) {
            first = performance.now() - started;
            onFirst?.();
          }
        });
        res.on('end', () => resolve({ firstByteMs: first, totalMs: performance.now() - started, chunks }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let holding: Promise<unknown> = Promise.resolve();

async function run(command: LoadCommand): Promise<unknown> {
  switch (command.op) {
    case 'firstBytes': {
      const direct: number[] = [];
      const through: number[] = [];
      for (let round = 0; round < command.rounds; round++) {
        // Alternated, so that neither side always runs second on a warmer process.
        const order = round % 2 === 0 ? [true, false] : [false, true];
        for (const isDirect of order) {
          const base = isDirect ? command.direct : command.through;
          const timed = await Promise.all(
            Array.from({ length: command.concurrency }, (_, i) =>
              request(base, command.key, `Quick ${round}-${i}`, undefined, command.body),
            ),
          );
          (isDirect ? direct : through).push(...timed.map((t) => t.firstByteMs));
        }
      }
      return { direct, through };
    }
    case 'spaced': {
      const direct: number[] = [];
      const through: number[] = [];
      for (let i = 0; i < command.count; i++) {
        direct.push((await request(command.direct, command.key, `Spaced ${i}`)).totalMs);
        through.push((await request(command.through, command.key, `Spaced ${i}`)).totalMs);
      }
      return { direct, through };
    }
    case 'hold': {
      let opened = 0;
      const { promise: allOpen, resolve } = Promise.withResolvers<void>();
      holding = Promise.all(
        Array.from({ length: command.count }, (_, i) =>
          request(command.base, command.key, `Held ${i}`, () => {
            opened++;
            if (opened === command.count) resolve();
          }),
        ),
      );
      await allOpen;
      return opened;
    }
    case 'held':
      await holding;
      return true;
    case 'throughput': {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: command.clients }, async () => {
          while (next < command.total) {
            next++;
            await request(command.base, command.key, `Quick rps ${next}`);
          }
        }),
      );
      return command.total / ((performance.now() - started) / 1000);
    }
  }
}

const mode = process.argv[2];
if (mode === 'upstream') {
  const server = await startModelServer({
    scenario: parseScenario(scenario, 'gateway-bench.yaml'),
    requestLogLimit: 1000,
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.on('SIGTERM', () => void server.close().finally(() => process.exit(0)));
} else if (mode === 'load') {
  process.on('message', (message: { id: number } & LoadCommand) => {
    run(message).then(
      (result) => process.send?.({ id: message.id, result }),
      (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
    );
  });
  process.on('disconnect', () => {
    agent.destroy();
    process.exit(0);
  });
  process.send?.({ id: 0, result: 'ready' });
} else {
  process.stderr.write('usage: gateway-peer.ts upstream|load\n');
  process.exitCode = 2;
}
