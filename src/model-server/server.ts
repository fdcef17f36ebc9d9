import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { OrchestratorError } from '../errors/index.ts';
import { ReplayState } from './replay.ts';
import { attemptKey, BadRequestError, type RequestFacts, readRequest, selectScript, selectTurn } from './request.ts';
import { openRequestLog, type ServedRequest } from './request-log.ts';
import { answerEvents, buildAnswer, encodeEvent, errorBody, estimateTokens, randomId } from './response.ts';
import type { ScenarioScript, ScenarioTurn, TurnFault } from './scenario.ts';
import { loadScenario } from './scenario-file.ts';
import type {
  ModelAnswerKind,
  ModelExchangeRecord,
  ModelRequestRecord,
  ModelServer,
  ModelServerLogger,
  ModelServerOptions,
} from './server-types.ts';

const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const silentLogger: ModelServerLogger = { info() {}, warn() {} };

function finalTurn(text: string): ScenarioTurn {
  return {
    content: [{ type: 'text', text }],
    usage: {},
    stopReason: 'end_turn',
    delayMs: 0,
    chunkDelayMs: 0,
    fault: undefined,
  };
}

/** Waits, returning false when the request went away first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !signal.aborted;
  try {
    await sleepFor(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
  return text;
}

function describeFault(fault: TurnFault): string {
  return fault.type === 'status' ? `status ${fault.status}` : `cut_after_events ${fault.afterEvents}`;
}

/**
 * Starts the scripted model server: an Anthropic Messages API look-alike that answers from a
 * scenario, for the real Claude Code binary (`ANTHROPIC_BASE_URL`) or plain HTTP clients.
 * @throws OrchestratorError `SCENARIO_INVALID` for an invalid scenario file,
 *   `MODEL_SERVER_START_FAILED` when the port cannot be bound, `CONFIG_INVALID` when
 *   `requestLog` cannot be opened.
 */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const limit = options.requestLogLimit ?? 10_000;
  let scenario = typeof options.scenario === 'string' ? await loadScenario(options.scenario) : options.scenario;
  let attempts = new Map<string, number>();
  let replay = new ReplayState(scenario.replay);
  const requests: ModelRequestRecord[] = [];
  const exchanges: ModelExchangeRecord[] = [];
  const keepExchanges = options.keepExchanges ?? false;
  const closing = new AbortController();
  const requestLog = options.requestLog === undefined ? undefined : openRequestLog(options.requestLog);

  const record = (entry: ModelRequestRecord, served: ServedRequest): void => {
    served.record = entry;
    requests.push(entry);
    if (requests.length > limit) requests.splice(0, requests.length - limit);
  };

  const keep = (entry: ModelExchangeRecord): void => {
    exchanges.push(entry);
    if (exchanges.length > limit) exchanges.splice(0, exchanges.length - limit);
  };

  const streamEvents = async (
    res: ServerResponse,
    events: readonly string[],
    delayMs: number,
    signal: AbortSignal,
  ): Promise<void> => {
    for (let i = 0; i < events.length; i++) {
      if (i > 0 && !(await pause(delayMs, signal))) return;
      if (signal.aborted) return;
      const last = i === events.length - 1;
      // Wait for the final write to reach the socket: a cut must not drop what was "sent".
      if (last) await new Promise<void>((resolve) => res.write(events[i], () => resolve()));
      else res.write(events[i]);
    }
  };

  const answerMessages = async (
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
    base: Pick<ModelRequestRecord, 'at' | 'method' | 'path'>,
    served: ServedRequest,
  ): Promise<void> => {
    const text = await readBody(req);
    const requestId = randomId('req_');
    if (text === undefined) {
      record({ ...base, ...noFacts, answer: 'bad_request' }, served);
      sendJson(res, 413, errorBody(413, 'Request body too large.', requestId), { 'request-id': requestId });
      return;
    }
    let facts: RequestFacts;
    try {
      const header = req.headers['x-claude-code-session-id'];
      facts = readRequest(JSON.parse(text) as unknown, Array.isArray(header) ? header[0] : header);
    } catch (error) {
      const message = error instanceof BadRequestError ? error.message : 'request body is not valid JSON';
      logger.warn('model server: bad request', { path: base.path, message });
      record({ ...base, ...noFacts, answer: 'bad_request' }, served);
      sendJson(res, 400, errorBody(400, message, requestId), { 'request-id': requestId });
      return;
    }
    served.facts = facts;
    const exchange = (status: number, contentType: string, body: string): void => {
      if (!keepExchanges) return;
      const sessionHeader = req.headers['x-claude-code-session-id'];
      keep({
        at: base.at,
        path: req.url ?? base.path,
        sessionHeader: Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader,
        requestBody: Buffer.from(text, 'utf8'),
        status,
        contentType,
        responseBody: Buffer.from(body, 'utf8'),
      });
    };
    const current = scenario;
    if (current.replay.length > 0) {
      const replayed = replay.answer(facts);
      if (replayed.kind === 'exchange') {
        const { exchange: recorded, attempt } = replayed;
        record(
          {
            ...base,
            model: facts.model,
            stream: facts.stream,
            conversation: facts.conversation,
            turn: facts.turn,
            script: `replay:${recorded.conversation}`,
            attempt,
            answer: 'replay',
            fault: undefined,
          },
          served,
        );
        logger.info(`model server: replay ${recorded.conversation} turn ${facts.turn} attempt ${attempt}`);
        res.writeHead(recorded.status, {
          'content-type': recorded.contentType,
          'content-length': recorded.body.length,
          'request-id': requestId,
        });
        res.end(recorded.body);
        exchange(recorded.status, recorded.contentType, recorded.body.toString('utf8'));
        return;
      }
      logger.warn(
        replayed.kind === 'no_turn'
          ? `model server: replay ${replayed.conversation} has no turn ${facts.turn}; answering from the scripts`
          : 'model server: no recorded conversation matches; answering from the scripts',
        { model: facts.model, turn: facts.turn },
      );
    }
    const script: ScenarioScript | undefined = selectScript(current, facts);
    const scripted = script ? selectTurn(script, facts) : undefined;
    const turn = scripted ?? finalTurn(current.finalText);
    const key = attemptKey(facts, script);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const fault = turn.fault && attempt <= turn.fault.times ? turn.fault : undefined;
    const answer: ModelAnswerKind = fault ? 'fault' : !script ? 'unmatched' : scripted ? 'turn' : 'final';
    const entry: ModelRequestRecord = {
      ...base,
      model: facts.model,
      stream: facts.stream,
      conversation: facts.conversation,
      turn: facts.turn,
      script: script?.name,
      attempt,
      answer,
      fault: fault && describeFault(fault),
    };
    record(entry, served);
    if (!script) logger.warn('model server: no script matched; answering the final text', { model: facts.model });
    else logger.info(`model server: ${script.name} turn ${facts.turn} attempt ${attempt}: ${entry.fault ?? answer}`);

    if (!(await pause(turn.delayMs, signal))) return;

    if (fault?.type === 'status') {
      const headers: Record<string, string> = { 'request-id': requestId };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      if (fault.shouldRetry !== undefined) headers['x-should-retry'] = String(fault.shouldRetry);
      exchange(
        fault.status,
        'application/json',
        sendJson(res, fault.status, errorBody(fault.status, fault.message, requestId), headers),
      );
      return;
    }

    const message = buildAnswer(turn, {
      facts,
      scriptName: script?.name ?? '',
      inputEstimate: estimateTokens(text),
    });
    // A cut answer (a fault) reported no usage: only a whole one counts in the log.
    if (!fault) served.usage = message.usage;
    if (!facts.stream) {
      if (fault) res.destroy();
      else exchange(200, 'application/json', sendJson(res, 200, message, { 'request-id': requestId }));
      return;
    }
    const events = answerEvents(message).map(encodeEvent);
    if (fault && fault.afterEvents === 0) {
      res.destroy();
      return;
    }
    res.writeHead(200, {
      'content-type': SSE_CONTENT_TYPE,
      'cache-control': 'no-cache',
      'request-id': requestId,
    });
    if (fault) {
      await streamEvents(res, events.slice(0, fault.afterEvents), turn.chunkDelayMs, signal);
      res.destroy();
      return;
    }
    await streamEvents(res, events, turn.chunkDelayMs, signal);
    res.end();
    if (!signal.aborted) exchange(200, SSE_CONTENT_TYPE, events.join(''));
  };

  const countTokens = async (
    req: IncomingMessage,
    res: ServerResponse,
    base: Pick<ModelRequestRecord, 'at' | 'method' | 'path'>,
    served: ServedRequest,
  ): Promise<void> => {
    const text = await readBody(req);
    const requestId = randomId('req_');
    let model: string | undefined;
    try {
      const body = JSON.parse(text ?? '') as unknown;
      if (typeof body === 'object' && body !== null && 'model' in body && typeof body.model === 'string') {
        model = body.model;
      }
    } catch {
      record({ ...base, ...noFacts, answer: 'bad_request' }, served);
      sendJson(res, 400, errorBody(400, 'request body is not valid JSON', requestId), { 'request-id': requestId });
      return;
    }
    record({ ...base, ...noFacts, model, answer: 'count_tokens' }, served);
    sendJson(res, 200, { input_tokens: estimateTokens(text) }, { 'request-id': requestId });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, served: ServedRequest): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://model-server').pathname;
    const base = { at: Date.now(), method: req.method ?? 'GET', path };
    const request = new AbortController();
    res.on('close', () => request.abort());
    const signal = AbortSignal.any([request.signal, closing.signal]);
    if (req.method === 'POST' && path === '/v1/messages') return answerMessages(req, res, signal, base, served);
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') return countTokens(req, res, base, served);
    record({ ...base, ...noFacts, answer: 'not_found' }, served);
    req.resume();
    const requestId = randomId('req_');
    sendJson(res, 404, errorBody(404, `Not found: ${base.method} ${path}`, requestId), { 'request-id': requestId });
  };

  // node:http costs about 15 MB resident: taken when a server starts, not at import (issue 15).
  const { createServer } = process.getBuiltinModule('node:http');
  const server = createServer((req, res) => {
    const served: ServedRequest = {};
    const answeredBy = scenario.name;
    handle(req, res, served)
      .catch((error: unknown) => {
        logger.warn('model server: request failed', { error: String(error) });
        if (!res.headersSent) sendJson(res, 500, errorBody(500, 'Internal scripted server error.', randomId('req_')));
        else res.destroy();
      })
      .finally(() => requestLog?.write(served, answeredBy, Date.now()));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      requestLog?.close();
      reject(
        new OrchestratorError(
          'MODEL_SERVER_START_FAILED',
          `Scripted model server cannot listen on ${host}:${options.port ?? 0}: ${error.message}`,
          { cause: error, details: { host, port: options.port ?? 0 } },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    port,
    host,
    get scenario() {
      return scenario;
    },
    requests,
    exchanges,
    async setScenario(next) {
      scenario = typeof next === 'string' ? await loadScenario(next) : next;
      attempts = new Map();
      replay = new ReplayState(scenario.replay);
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => {
          requestLog?.close();
          resolve();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

const noFacts = {
  model: undefined,
  stream: undefined,
  conversation: undefined,
  turn: undefined,
  script: undefined,
  attempt: undefined,
  fault: undefined,
} as const;
