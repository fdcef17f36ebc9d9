import { Command, CommanderError } from 'commander';
import { toOrchestratorError } from '../errors/index.ts';
import { packageRoot } from '../package-root.ts';
import type { Redactor } from '../security/index.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerEventsCommand } from './commands/events.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerModelServerCommand } from './commands/model-server.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerSessionsCommand } from './commands/sessions.ts';
import { registerStatsCommand } from './commands/stats.ts';
import { registerValidateCommands } from './commands/validate.ts';
import { EXIT, exitCodeOfError } from './exit.ts';

export { EXIT };

// Start-up cost is the CLI's first impression: `--help` and `--version` must not load more than
// Commander. So the command modules registered here import only Commander, `args.ts`,
// `format.ts`, the errors and types; each action loads what it runs (the config schema, the
// store, the engine, the SDK, pino, OpenTelemetry...) with a dynamic import when it is chosen.
// test/cli/lazy-load.int.test.ts checks which packages `--help` and `validate` load, and
// bench/cli.bench.ts times them.

/**
 * Builds the command tree (exported so tests can inspect `--help` without a process). With
 * `versionFlag: false` the root does not claim `-V, --version`, so a subcommand can take a
 * `--version <n>` of its own (`sessions resume ID --version 3`).
 */
export function buildProgram(options: { versionFlag?: boolean } = {}): Command {
  const program = new Command('orchestrator').description(
    'Run teams of Claude agents as durable, observable workflows.',
  );
  if (options.versionFlag !== false) program.version(packageRoot().version, '-V, --version');
  program
    .option('--data-dir <dir>', 'data directory for the embedded store and workspaces (env ORCHESTRATOR_DATA_DIR)')
    .option('--store <kind>', 'event store: sqlite or postgres (env ORCHESTRATOR_STORE)')
    .option('--log-level <level>', 'log level on stderr: fatal..trace or silent (env LOG_LEVEL)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInitCommand(program);
  registerRunCommand(program);
  registerValidateCommands(program);
  registerSessionsCommand(program);
  registerStatsCommand(program);
  registerEventsCommand(program);
  registerServeCommand(program);
  registerKeysCommand(program);
  registerModelServerCommand(program);
  registerConfigCommand(program);
  return program;
}

/**
 * Runs the CLI. Errors reach the user as one line `error [CODE]: message` (plus details for
 * multi-line messages) and an exit code; stack traces only with LOG_LEVEL=debug.
 */
export async function main(argv: readonly string[]): Promise<void> {
  quietOnClosedPipe(process.stdout);
  // Commander reads root options anywhere on the line; the root's --version must not swallow
  // a subcommand's own --version (the session verbs' version numbers).
  const names = new Set(buildProgram().commands.map((command) => command.name()));
  const program = buildProgram({ versionFlag: !argv.slice(2).some((arg) => names.has(arg)) });
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed help, the version, or a usage error.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const failure = toOrchestratorError(error);
    const redactor = await errorRedactor();
    process.stderr.write(redactor.redactText(`error [${failure.code}]: ${failure.message}\n`));
    if (process.env.LOG_LEVEL === 'debug' && failure.cause instanceof Error) {
      process.stderr.write(redactor.redactText(`${failure.cause.stack ?? ''}\n`));
    }
    process.exitCode = exitCodeOfError(failure);
  }
}

/**
 * A reader that went away (`orchestrator events ID | head`) ends the command quietly, as any
 * Unix tool does: nothing more is worth writing, and a stack trace about it helps nobody.
 * Other write errors stay errors.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    setImmediate(() => {
      throw error;
    });
  });
}

/**
 * The redactor for an error message: the secrets of the configuration, or of the environment
 * alone when the configuration itself is what failed. Never throws.
 */
async function errorRedactor(): Promise<Redactor> {
  const [{ loadConfig }, { secretRedactor }] = await Promise.all([
    import('../config/index.ts'),
    import('../security/index.ts'),
  ]);
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig();
  } catch {
    config = undefined;
  }
  const env = process.env;
  return secretRedactor(
    config ?? { anthropicApiKey: env.ANTHROPIC_API_KEY, databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL },
    env,
    { lenient: true },
  );
}
