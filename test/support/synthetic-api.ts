import Fastify, { type FastifyInstance } from 'fastify';
import { registerDashboard } from '../../src/dashboard/index.ts';

/**
 * A stand-in for the API that serves the built dashboard and one synthetic session of any
 * size, its events replayed and then produced live at a chosen rate: what the page's
 * performance is measured against (the page is measured, not the server, so its answers cost
 * nothing). Only the routes the session page calls exist.
 */

/** Options of {@link startSyntheticApi}. */
export interface SyntheticOptions {
  /** Nodes of the workflow. */
  readonly nodes: number;
  /** Nodes per layer of the DAG (each depends on one or two of the layer before). */
  readonly width?: number;
  /** Events a second sent live after the replay. @default 0 */
  readonly liveRate?: number;
  /** How long the live events go on, in ms. @default 10 s */
  readonly liveMs?: number;
  /** The built dashboard to serve. @default dist/web */
  readonly dashboardDir?: string;
}

/** A running synthetic API. */
export interface SyntheticApi {
  readonly url: string;
  readonly sessionId: string;
  close(): Promise<void>;
}

const SESSION = 'ses_synthetic';
const WF = 'wf_synthetic';

function envelope(seq: number, type: string, data: Record<string, unknown>, ts = Date.now()) {
  return { id: `e${seq}`, sessionId: SESSION, seq, type, ts: new Date(ts).toISOString(), source: 'synthetic', data };
}

/** The workflow definition: `nodes` agent nodes in layers of `width`. */
export function syntheticDefinition(nodes: number, width: number): Record<string, unknown> {
  const list = [];
  for (let i = 0; i < nodes; i++) {
    const layer = Math.floor(i / width);
    const dependsOn =
      layer === 0
        ? []
        : [...new Set([(layer - 1) * width + (i % width), (layer - 1) * width + ((i * 7 + 3) % width)])].filter(
            (d) => d < nodes,
          );
    list.push({
      id: `n${i}`,
      agent: i % 3 === 0 ? 'planner' : 'coder',
      task: `Task ${i}`,
      dependsOn: dependsOn.map((d) => `n${d}`),
    });
  }
  return { name: 'synthetic', nodes: list };
}

export async function startSyntheticApi(options: SyntheticOptions): Promise<SyntheticApi> {
  const width = options.width ?? 20;
  // Live streams are cut at close, not waited for.
  const app: FastifyInstance = Fastify({ forceCloseConnections: true });
  registerDashboard(app, options.dashboardDir ? { dir: options.dashboardDir } : {});
  const start = Date.now() - 60_000;
  const history = [
    envelope(1, 'session.created', { name: 'synthetic' }, start),
    envelope(
      2,
      'workflow.started',
      { workflowId: WF, name: 'synthetic', definition: syntheticDefinition(options.nodes, width) },
      start,
    ),
  ];
  // The keyless loopback principal, in the contract's shape (`keys.whoami`).
  app.get('/v1/whoami', async () => ({
    keyId: 'local',
    name: 'local',
    scopes: ['admin'],
    by: 'api:local',
    local: true,
    allows: (['read', 'run', 'approve', 'admin'] as const).map((scope) => ({ scope, allowed: true, means: scope })),
  }));
  app.get('/v1/sessions/:id', async () => ({
    sessionId: SESSION,
    name: 'synthetic',
    status: 'running',
    lastSeq: 2,
    owner: null,
    workspace: null,
    workflows: [],
    questions: [],
    budgets: [],
    report: {},
  }));
  app.get('/v1/sessions/:id/events', async (request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    let closed = false;
    request.raw.on('close', () => {
      closed = true;
    });
    for (const event of history) reply.raw.write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
    const rate = options.liveRate ?? 0;
    if (rate <= 0) return;
    // Live: node after node starts, its agent talks and uses a tool, and it completes.
    let seq = history.length;
    let node = 0;
    const until = Date.now() + (options.liveMs ?? 10_000);
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    while (!closed && Date.now() < until) {
      const batch: string[] = [];
      for (let i = 0; i < perTick; i++) {
        const n = node % options.nodes;
        const step = seq % 5;
        const agentId = `agt_${n}`;
        seq++;
        const data =
          step === 0
            ? { type: 'node.started', data: { workflowId: WF, nodeId: `n${n}`, attempt: 1, agentId } }
            : step === 1
              ? { type: 'agent.spawned', data: { agentId, agentType: 'coder', nodeId: `n${n}`, workflowId: WF } }
              : step === 2
                ? { type: 'agent.message', data: { agentId, text: `Working on n${n}: ${'lorem ipsum '.repeat(8)}` } }
                : step === 3
                  ? {
                      type: 'model.request',
                      data: {
                        requestId: `r${seq}`,
                        agentId,
                        model: 'claude-sonnet',
                        status: 200,
                        ok: true,
                        inputTokens: 1200,
                        outputTokens: 300,
                        cacheReadTokens: 0,
                        cacheCreationTokens: 0,
                        costUsd: 0.004,
                        durationMs: 900,
                        attempt: 1,
                      },
                    }
                  : { type: 'node.completed', data: { workflowId: WF, nodeId: `n${n}`, attempt: 1, output: 'ok' } };
        if (step === 4) node++;
        batch.push(`id: ${seq}\ndata: ${JSON.stringify(envelope(seq, data.type, data.data))}\n\n`);
      }
      reply.raw.write(batch.join(''));
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    sessionId: SESSION,
    close: async () => {
      await app.close();
    },
  };
}
