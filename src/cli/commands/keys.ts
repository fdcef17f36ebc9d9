import type { Command } from 'commander';
import type { KeyStore } from '../../store/index.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';

/** `orchestrator keys create | list | revoke`: API keys of the HTTP API, stored hashed. */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('API keys of the HTTP API (stored hashed; shown once)');

  keys
    .command('create')
    .description('create an API key and print it once (it cannot be shown again)')
    .requiredOption('--name <name>', 'what the key is for (named in the audit of what it does)')
    .requiredOption('--scope <scopes>', 'comma-separated: read, run, approve, admin')
    .option('--json', 'print JSON')
    .action(async (flags: { name: string; scope: string; json?: boolean }, command: Command) => {
      await withKeys(command, async (store, server) => {
        const created = await server.createApiKey(store, { name: flags.name, scopes: flags.scope });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ key: created.key, ...created.info })}\n`);
          return;
        }
        process.stdout.write(
          `${created.key}\n` +
            `API key ${created.info.keyId} (${created.info.name}) with ${created.info.scopes.join(', ')}: ` +
            'keep it now, it is stored hashed and cannot be shown again. Send it as "Authorization: Bearer <key>".\n',
        );
      });
    });

  keys
    .command('list')
    .description('list API keys (never the keys themselves), revoked ones included')
    .option('--json', 'print JSON lines')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withKeys(command, async (store, server) => {
        const list = await server.listApiKeys(store);
        if (flags.json) {
          for (const info of list) process.stdout.write(`${JSON.stringify(info)}\n`);
        } else if (list.length === 0) {
          process.stdout.write('no API keys\n');
        } else {
          process.stdout.write(
            formatTable(
              ['KEY', 'NAME', 'SCOPES', 'CREATED', 'REVOKED'],
              list.map((k) => [k.keyId, k.name, k.scopes.join(','), k.createdAt, k.revokedAt ?? '']),
            ),
          );
        }
      });
    });

  keys
    .command('revoke')
    .argument('<keyId>', 'the key id (see keys list)')
    .description('revoke an API key for good (servers refuse it within a second)')
    .action(async (keyId: string, _flags: unknown, command: Command) => {
      await withKeys(command, async (store, server) => {
        const info = await server.revokeApiKey(store, keyId);
        process.stdout.write(`revoked API key ${info.keyId} (${info.name}) at ${info.revokedAt}\n`);
      });
    });
}

type ServerModule = typeof import('../../server/index.ts');

async function withKeys(
  command: Command,
  task: (keys: KeyStore, server: ServerModule) => Promise<void>,
): Promise<void> {
  const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
  try {
    const [store, server] = await Promise.all([context.openStore(), import('../../server/index.ts')]);
    await task(store.keys, server);
  } finally {
    await context.close();
  }
}
