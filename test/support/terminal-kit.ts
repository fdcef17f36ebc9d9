import { spawn } from 'node:child_process';
import { CLI, type CliOptions, cliEnv, REPO_ROOT } from './cli-kit.ts';

/** A CLI running on a pseudo-terminal. */
export interface TerminalProcess {
  readonly pid: number;
  /** Everything written to the terminal so far (the CLI's stdout and stderr, `\r\n` line ends). */
  output(): string;
  /** Types on the terminal's keyboard (`\r` is the Enter key). */
  type(text: string): void;
  /** Ends `script` (the terminal closes, and the CLI on it gets SIGHUP). */
  kill(): void;
  /** Settles once `script` has exited: the CLI's exit code, and everything written. */
  readonly exited: Promise<{ readonly code: number | null; readonly output: string }>;
}

/** Options of {@link startCliOnTerminal}. */
export interface TerminalOptions extends CliOptions {
  /** The terminal's size. @default 200 columns (no line of the CLI wraps), 40 rows */
  readonly columns?: number;
  readonly rows?: number;
}

/** `'…'` for a POSIX shell. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `orchestrator --data-dir DIR ...args` on a pseudo-terminal, as a person at a terminal
 * runs it: util-linux's `script` gives the CLI a terminal for its stdin, stdout and stderr (the
 * terminal's size is set first with `stty`), and passes on what is typed. The environment is
 * {@link cliEnv} without `CI` (a CI runner's would turn the live view off) and with a `TERM`,
 * then `options.env`.
 * `script -e` exits with the CLI's exit code.
 */
export function startCliOnTerminal(args: readonly string[], options: TerminalOptions): TerminalProcess {
  const command = [process.execPath, CLI, '--data-dir', options.dataDir, ...args].map(quote).join(' ');
  const size = `stty cols ${options.columns ?? 200} rows ${options.rows ?? 40}`;
  const env = cliEnv({ TERM: 'xterm-256color' });
  delete env.CI;
  Object.assign(env, options.env);
  const child = spawn('script', ['-qfec', `${size}; exec ${command}`, '/dev/null'], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('script did not start');
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
  return {
    pid: child.pid,
    output: () => output,
    type: (text) => child.stdin.write(text),
    kill: () => child.kill('SIGTERM'),
    exited,
  };
}
