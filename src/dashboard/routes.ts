// For its `schema.hide` (the dashboard's routes stay out of the OpenAPI document).
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { acceptsGzip, type DashboardFile, defaultDashboardDir, isAssetName, readDashboardFile } from './assets.ts';

/** Options of {@link registerDashboard}. */
export interface DashboardOptions {
  /**
   * The folder of the built dashboard.
   * @default dist/web of the package (where `scripts/build.mjs` writes it)
   */
  readonly dir?: string;
}

/**
 * The page's security headers. Everything comes from this origin: scripts, the layout worker,
 * the API and its streams. Styles allow `'unsafe-inline'` because the graph library positions
 * its nodes with inline styles.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>AI Orchestrator</title>
<body><h1>The dashboard is not built</h1><p>Run <code>npm run build</code> (in a clone, any
<code>./orchestrator</code> command builds it), then reload. The API answers under <code>/v1</code>
and its documentation is at <a href="/docs">/docs</a>.</p></body></html>\n`;

/**
 * Serves the dashboard's built files: the page at `/` and its assets under `/assets/`. Needs no
 * API key (the page holds no data; it asks for a key and sends it with every API call), so it
 * is registered beside the probes, outside the authenticated routes. The page routes itself
 * with the URL's hash (`/#/sessions/…`), so these two routes are all it needs.
 *
 * @example
 * registerDashboard(app); // in the server's public routes
 */
export function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): void {
  const dir = options.dir ?? defaultDashboardDir();
  const hide = { schema: { hide: true } };

  app.get('/', hide, async (request, reply) => {
    const file = await readDashboardFile(dir, 'index.html', acceptsGzip(request.headers['accept-encoding']));
    reply.headers(PAGE_HEADERS).header('cache-control', 'no-cache');
    if (file === undefined) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    return send(reply, file);
  });

  app.get<{ Params: { name: string } }>('/assets/:name', hide, async (request, reply) => {
    const { name } = request.params;
    const file = isAssetName(name)
      ? await readDashboardFile(dir, `assets/${name}`, acceptsGzip(request.headers['accept-encoding']))
      : undefined;
    if (file === undefined) return reply.callNotFound();
    // Asset names carry a hash of their content: a name never changes meaning.
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    reply.header('x-content-type-options', 'nosniff');
    return send(reply, file);
  });
}

function send(reply: FastifyReply, file: DashboardFile): FastifyReply {
  reply.type(file.contentType).header('vary', 'accept-encoding');
  if (file.gzipped) reply.header('content-encoding', 'gzip');
  return reply.send(file.body);
}
