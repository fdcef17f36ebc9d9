import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * How agent processes are recognised once their orchestrator is gone. Every Claude Code
 * process started for an agent carries three environment variables, inherited by whatever it
 * starts (its Bash tools, their children):
 *
 * - {@link PROCESS_TAG_VARIABLE}: a unique tag of that agent process;
 * - {@link PROCESS_OWNER_VARIABLE}: the orchestrator process that started it, as
 *   `<pid>:<start time>` (the start time in clock ticks since boot, from /proc, so a pid reused
 *   by another process is not taken for the owner);
 * - {@link PROCESS_SCOPE_VARIABLE}: the data directory of that orchestrator.
 *
 * While it runs, the orchestrator also writes `<dataDir>/agent-processes/<tag>.json` naming
 * the agent and session of each process, and removes it once the process is reaped; what an
 * orchestrator killed outright leaves behind tells a later sweep whose processes it ends.
 */

/** Environment variable with the unique tag of an agent process (inherited by its descendants). */
export const PROCESS_TAG_VARIABLE = 'ORCHESTRATOR_AGENT_PROCESS';
/** Environment variable naming the orchestrator process (`<pid>:<start time>`) that started an agent process. */
export const PROCESS_OWNER_VARIABLE = 'ORCHESTRATOR_AGENT_OWNER';
/** Environment variable with the data directory of the orchestrator that started an agent process. */
export const PROCESS_SCOPE_VARIABLE = 'ORCHESTRATOR_AGENT_SCOPE';

/** The folder of the attribution files under a data directory. */
const ATTRIBUTIONS = 'agent-processes';

/** Which agent and session an agent process (and its tag) works for. */
export interface ProcessAttribution {
  readonly tag: string;
  /** `<pid>:<start time>` of the orchestrator that started it. */
  readonly owner: string;
  readonly pid: number;
  readonly agentId: string;
  readonly sessionId: string;
}

/**
 * `<pid>:<start time>` of a live process, or undefined when it is gone (or a zombie). Off
 * Linux the start time is left empty: `<pid>:`.
 */
export function processIdentity(pid: number): string | undefined {
  if (process.platform !== 'linux') return isAlive(pid) ? `${pid}:` : undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return `${pid}:${fields[19] ?? ''}`;
  } catch {
    return undefined;
  }
}

let own: string | undefined;

/** The identity of this process, as agent processes it starts record it. */
export function ownIdentity(): string {
  own ??= processIdentity(process.pid) ?? `${process.pid}:`;
  return own;
}

/** True while the process an identity names is alive (the same process, not a reuse of its pid). */
export function identityAlive(identity: string): boolean {
  const pid = Number(identity.slice(0, identity.indexOf(':')));
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return processIdentity(pid) === identity;
}

/**
 * The data directory of an agent environment in the orchestrator's layout, where Claude
 * Code's config folder is `<dataDir>/claude`; undefined for any other layout.
 */
export function dataDirOfAgentEnv(env: Readonly<Record<string, string>>): string | undefined {
  const configDir = env.CLAUDE_CONFIG_DIR;
  return configDir !== undefined && path.basename(configDir) === 'claude' ? path.dirname(configDir) : undefined;
}

/** Records which agent a process works for. Best effort: a failed write only loses the attribution. */
export function writeAttribution(dataDir: string, attribution: ProcessAttribution): void {
  try {
    mkdirSync(path.join(dataDir, ATTRIBUTIONS), { recursive: true });
    writeFileSync(attributionFile(dataDir, attribution.tag), JSON.stringify(attribution));
  } catch {
    // A read-only or removed data directory: the process is still found by its tag.
  }
}

/** Removes the attribution of a process that is gone. */
export function removeAttribution(dataDir: string, tag: string): void {
  rmSync(attributionFile(dataDir, tag), { force: true });
}

/** The attribution of a tag, if one was written. */
export async function readAttribution(dataDir: string, tag: string): Promise<ProcessAttribution | undefined> {
  try {
    return JSON.parse(await readFile(attributionFile(dataDir, tag), 'utf8')) as ProcessAttribution;
  } catch {
    return undefined;
  }
}

/** Every attribution file of a data directory, by tag. */
export async function readAttributions(dataDir: string): Promise<ProcessAttribution[]> {
  let names: string[];
  try {
    names = await readdir(path.join(dataDir, ATTRIBUTIONS));
  } catch {
    return [];
  }
  const found = await Promise.all(
    names.filter((name) => name.endsWith('.json')).map((name) => readAttribution(dataDir, name.slice(0, -5))),
  );
  return found.filter((a): a is ProcessAttribution => a !== undefined);
}

function attributionFile(dataDir: string, tag: string): string {
  return path.join(dataDir, ATTRIBUTIONS, `${path.basename(tag)}.json`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
