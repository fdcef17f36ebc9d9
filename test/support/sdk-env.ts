import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { writeNpmShim } from '../../src/security/index.ts';

/** Options of {@link makeSdkEnv}. */
export interface SdkEnvOptions {
  /**
   * `CLAUDE_CODE_MAX_RETRIES`: how many times Claude Code retries a failed model request.
   * @default 2
   */
  maxRetries?: number;
  /**
   * Sets `IS_SANDBOX=1`, which Claude Code requires to accept `permissionMode:
   * 'bypassPermissions'` when running as root (it exits with "cannot be used with root/sudo
   * privileges" otherwise). It also changes how repeated 529s are handled, so it is opt-in.
   * @default false
   */
  allowBypassAsRoot?: boolean;
  /**
   * More variables, applied last (a value of `undefined` removes a variable).
   * @default {}
   */
  extra?: Record<string, string | undefined>;
}

/** An isolated environment for one or more `query()` calls, and its cleanup. */
export interface SdkEnv {
  /** Pass as `options.env` to `query()`: it replaces the child's whole environment. */
  readonly env: Record<string, string>;
  /** `CLAUDE_CONFIG_DIR`: settings, transcripts under `projects/`. */
  readonly configDir: string;
  /** A scratch folder, free for the test to use as a `cwd`. */
  readonly workDir: string;
  /** Removes every temporary folder; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * Builds the environment for the real Claude Code binary to talk only to the scripted model
 * server at `serverUrl`: a fresh config dir, HOME and TMPDIR, a fake API key, no telemetry,
 * no update checks, no nonessential traffic, and no proxy variables (the environment is built
 * from scratch rather than copied from `process.env`, so nothing of the host leaks in).
 */
export async function makeSdkEnv(serverUrl: string, options: SdkEnvOptions = {}): Promise<SdkEnv> {
  const root = await mkdtemp(join(tmpdir(), 'orch-sdk-'));
  const configDir = join(root, 'config');
  const home = join(root, 'home');
  const tmp = join(root, 'tmp');
  const workDir = join(root, 'work');
  await Promise.all([configDir, home, tmp, workDir].map((dir) => mkdir(dir, { recursive: true })));
  // The orchestrator's own `npm` shim first on the PATH, as its agents have it.
  const bin = join(root, 'bin');
  const hostPath = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  await writeNpmShim(bin, hostPath);
  const env: Record<string, string> = {
    PATH: `${bin}${delimiter}${hostPath}`,
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_API_KEY: 'test-key-not-secret',
    ANTHROPIC_BASE_URL: serverUrl,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_MAX_RETRIES: String(options.maxRetries ?? 2),
    // Loopback must never go through a proxy, even if one is configured for the host.
    NO_PROXY: '127.0.0.1,localhost,::1',
  };
  if (options.allowBypassAsRoot) env.IS_SANDBOX = '1';
  for (const [key, value] of Object.entries(options.extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  let cleaned: Promise<void> | undefined;
  return {
    env,
    configDir,
    workDir,
    cleanup() {
      cleaned ??= rm(root, { recursive: true, force: true });
      return cleaned;
    },
  };
}

/** What {@link collectQuery} gathered from one query. */
export interface CollectedQuery<M> {
  /** Every message the iterator yielded, in order. */
  readonly messages: M[];
  /** What the iterator threw, if it did (Claude Code ends some failures with a throw). */
  readonly error: unknown;
}

/** Drains a query's message iterator, keeping the messages and any error it throws. */
export async function collectQuery<M>(messages: AsyncIterable<M>): Promise<CollectedQuery<M>> {
  const out: M[] = [];
  try {
    for await (const message of messages) out.push(message);
    return { messages: out, error: undefined };
  } catch (error) {
    return { messages: out, error };
  }
}
