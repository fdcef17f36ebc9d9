import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redactor } from '../security/index.ts';
import type { AttemptFailure, AttemptSuccess } from './attempt.ts';

/**
 * Text files Claude Code keeps for a session: transcripts (`.jsonl`) and the full output of a
 * tool too large for the conversation (`tool-results/<id>.txt`), which holds whatever it printed.
 */
const TEXT_FILE = /\.(jsonl|json|txt)$/;

/** An SDK session id usable as a file name (they are UUIDs); anything else is never a path here. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Removes Claude Code's own copies of SDK sessions from its config folder (the orchestrator
 * points `CLAUDE_CONFIG_DIR` under the data directory): `projects/<projectKey>/<id>.jsonl` and
 * the `<id>/` folder of its subagents, in every project. A project folder left holding no file
 * at all (Claude Code also creates an empty `memory/`) goes too. The store keeps the durable
 * copy of transcripts; this is the local cache, which would otherwise grow without end.
 * @returns how many transcript files were removed.
 */
export async function removeLocalTranscripts(configDir: string, sdkSessionIds: readonly string[]): Promise<number> {
  const ids = sdkSessionIds.filter((id) => SAFE_ID.test(id));
  if (ids.length === 0) return 0;
  const projects = path.join(configDir, 'projects');
  let removed = 0;
  for (const project of await entries(projects)) {
    if (!project.isDirectory()) continue;
    const folder = path.join(projects, project.name);
    const names = new Set((await entries(folder)).map((entry) => entry.name));
    let touched = false;
    for (const id of ids) {
      if (names.has(`${id}.jsonl`)) {
        await rm(path.join(folder, `${id}.jsonl`), { force: true });
        removed++;
        touched = true;
      }
      if (names.has(id)) {
        await rm(path.join(folder, id), { recursive: true, force: true });
        touched = true;
      }
    }
    if (touched && !(await holdsFiles(folder))) await rm(folder, { recursive: true, force: true });
  }
  return removed;
}

/**
 * Rewrites Claude Code's own copies of SDK sessions (see {@link removeLocalTranscripts}) with
 * `redactText` applied, once their process has exited: Claude Code writes them itself, so no
 * hook of ours sees every line (a failed tool's output, the model's own text, the full output
 * of a tool that it keeps in a file of its own before any hook runs). Markers such as
 * `[REDACTED:NAME]` need no escaping in JSON, so every line stays valid. A file is replaced
 * atomically, and only when something changed.
 * @returns how many files were rewritten.
 */
export async function redactLocalTranscripts(
  configDir: string,
  sdkSessionIds: readonly string[],
  redactText: (text: string) => string,
): Promise<number> {
  const ids = sdkSessionIds.filter((id) => SAFE_ID.test(id));
  let rewritten = 0;
  const rewrite = async (file: string) => {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const redacted = redactText(text);
    if (redacted === text) return;
    const temp = `${file}.${process.pid}.redacting`;
    await writeFile(temp, redacted, { mode: 0o600 });
    await rename(temp, file);
    rewritten++;
  };
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await entries(folder)) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (TEXT_FILE.test(entry.name)) await rewrite(full);
    }
  };
  const projects = path.join(configDir, 'projects');
  for (const project of await entries(projects)) {
    if (!project.isDirectory()) continue;
    const folder = path.join(projects, project.name);
    for (const id of ids) {
      await rewrite(path.join(folder, `${id}.jsonl`));
      await walk(path.join(folder, id));
    }
  }
  return rewritten;
}

/**
 * An attempt's outcome with its answer redacted, once Claude Code's local transcripts of its
 * session are (its process has exited by then: nothing writes them any more). The answer goes
 * on to node outputs, cached results and later agents' prompts.
 */
export async function redactedOutcome<T extends AttemptSuccess | AttemptFailure>(
  outcome: T,
  redactor: Redactor,
  configDir: string | undefined,
): Promise<T> {
  if (!redactor.active) return outcome;
  if (configDir && outcome.sdkSessionId) {
    await redactLocalTranscripts(configDir, [outcome.sdkSessionId], (text) => redactor.redactText(text)).catch(
      () => undefined,
    );
  }
  if (!outcome.ok) return outcome;
  return { ...outcome, text: redactor.redactText(outcome.text), structured: redactor.redact(outcome.structured) };
}

async function entries(folder: string) {
  try {
    return await readdir(folder, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Whether `folder` or any folder under it holds anything but folders. */
async function holdsFiles(folder: string): Promise<boolean> {
  for (const entry of await entries(folder)) {
    if (!entry.isDirectory() || (await holdsFiles(path.join(folder, entry.name)))) return true;
  }
  return false;
}
