/**
 * The HTTP API: REST under `/v1`, live streams over SSE and WebSocket, API keys with scopes,
 * probes and metrics, an OpenAPI 3.1 document generated from the zod contract
 * (`contract/`, importable on its own by clients such as the dashboard). See docs/api.md.
 */

export type { Principal } from './auth.ts';
export { KeyAuthenticator, LOCAL_PRINCIPAL } from './auth.ts';
export type { ApiKeyInfo, CreatedApiKey } from './keys.ts';
export { createApiKey, listApiKeys, revokeApiKey } from './keys.ts';
export type { CompiledServerOptions, ServerOptions } from './options.ts';
export { compileServerOptions, isLoopback, SERVER_DEFAULTS } from './options.ts';
export type { ServeCommandOptions } from './serve-command.ts';
export { runServeCommand } from './serve-command.ts';
export type { ServerState, StartServerOptions } from './server.ts';
export { ApiServer } from './server.ts';
export { signWebhook, verifyWebhookSignature } from './webhooks/signing.ts';
