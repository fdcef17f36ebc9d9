import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { OrchestratorError } from '../../errors/index.ts';
import { versionRow, versionRows } from '../../reports/index.ts';
import type { ApiContext } from '../context.ts';
import {
  diffFiles,
  diffVersions,
  exportSession,
  forkSession,
  importSession,
  listVersions,
  showVersion,
  takeVersion,
} from '../contract/sessions.ts';
import { addRoute } from '../routing.ts';

/** Versions, diffs, forks, export and import: the session manager's verbs over HTTP. */
export function registerVersionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { orchestrator } = ctx;
  const sessions = orchestrator.sessions;

  addRoute(app, listVersions, async ({ params }) => ({ versions: await versionRows(sessions, params.id) }));

  addRoute(app, takeVersion, async ({ params, body }, { principal }) =>
    versionRow(await orchestrator.takeVersion(params.id, body?.label, { by: principal.by })),
  );

  addRoute(app, showVersion, async ({ params }) => {
    await sessions.state(params.id);
    const { record, state } = await sessions.versions.load(params.id, params.version);
    return { version: versionRow(record), state: state as unknown as Record<string, unknown> };
  });

  addRoute(app, diffVersions, async ({ params, query }) => {
    const diff = await sessions.diff(params.id, query.from, query.to);
    return {
      ...diff,
      patch: diff.patch as unknown as Record<string, unknown>[],
      summary: diff.summary as unknown as Record<string, unknown>,
    };
  });

  addRoute(app, diffFiles, async ({ params, query }) => {
    const limits = { maxFileBytes: query.maxFileBytes, maxTotalBytes: query.maxTotalBytes };
    const changes = await sessions.diffFiles(params.id, query.from, query.to, limits);
    return {
      sessionId: params.id,
      from: query.from,
      to: query.to ?? ('current' as const),
      recorded: changes !== null,
      // Files an agent wrote may hold a configured secret: never sent as it is.
      files: (changes?.files ?? []).map((file) =>
        file.diff === undefined ? file : { ...file, diff: orchestrator.redactor.redactText(file.diff) },
      ),
      omittedFiles: changes?.omittedFiles ?? 0,
    };
  });

  addRoute(app, forkSession, async ({ params, body }, { principal }) => {
    const point =
      body?.version !== undefined
        ? { version: body.version }
        : body?.seq !== undefined
          ? { seq: body.seq }
          : { latest: true as const };
    return orchestrator.forkSession(params.id, point, {
      by: principal.by,
      ...(body?.as !== undefined && { as: body.as }),
    });
  });

  addRoute(app, exportSession, async ({ params }, { reply }) => {
    await sessions.state(params.id);
    const dir = await mkdtemp(path.join(tmpdir(), 'orch-export-'));
    const file = path.join(dir, `${params.id}.session.jsonl`);
    try {
      await sessions.export(params.id, file);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const stream = createReadStream(file);
    // The file goes once it is sent (or the client went away).
    stream.once('close', () => void rm(dir, { recursive: true, force: true }));
    return reply
      .code(200)
      .type('application/x-ndjson')
      .header('content-length', String((await stat(file)).size))
      .header('content-disposition', `attachment; filename="${params.id}.session.jsonl"`)
      .send(stream);
  });

  // The body is streamed to a file (sessions can be large), never held in memory.
  app.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));
  addRoute(
    app,
    importSession,
    async ({ query }, { request, principal }) => {
      if (!(request.headers['content-type'] ?? '').startsWith('application/x-ndjson')) {
        throw new OrchestratorError('API_MEDIA_UNSUPPORTED', 'body: send the export as application/x-ndjson', {
          details: { field: 'content-type' },
        });
      }
      const body = request.body as Readable;
      const dir = await mkdtemp(path.join(tmpdir(), 'orch-import-'));
      const file = path.join(dir, 'import.session.jsonl');
      try {
        await pipeline(body, limited(ctx.options.importLimitBytes), createWriteStream(file));
        return await sessions.import(file, { by: principal.by, ...(query.as !== undefined && { as: query.as }) });
      } catch (error) {
        // Problems name the line of the file: of the body, here, not of a temporary file.
        if (error instanceof OrchestratorError && error.message.startsWith(file)) {
          throw new OrchestratorError(error.code, `body${error.message.slice(file.length)}`, {
            cause: error,
            details: { ...error.details, file: 'body' },
          });
        }
        throw error;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    { bodyLimit: ctx.options.importLimitBytes },
  );
}

/** A pass-through that fails with `LIMIT_EXCEEDED` past `maxBytes` (the import's own limit). */
function limited(maxBytes: number) {
  let seen = 0;
  return async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > maxBytes) {
        throw new OrchestratorError('LIMIT_EXCEEDED', `body: a session export larger than ${maxBytes} bytes`, {
          details: { field: 'body', limit: 'importLimitBytes', maxBytes },
        });
      }
      yield chunk;
    }
  };
}
