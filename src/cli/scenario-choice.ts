import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import { recordedModel } from '../sessions/index.ts';

// Which scenario the offline scripted model answers from, for `run` and `sessions resume`.

/** The offline scenario that belongs to a workflow file: `NAME.scenario.yaml` or `scenario.yaml` beside it. */
export function scenarioBeside(file: string): string | undefined {
  const dir = path.dirname(file);
  const base = path.basename(file).replace(/\.(ya?ml|m?ts|m?js)$/, '');
  for (const candidate of [path.join(dir, `${base}.scenario.yaml`), path.join(dir, 'scenario.yaml')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** What {@link resumeScenario} decided: the scenario (undefined: the model access decides), and a line for the user. */
export interface ResumeScenario {
  readonly scenario: string | undefined;
  readonly notice?: string;
}

/**
 * The scenario a resume runs with. `--model-server` wins. Otherwise a session whose process
 * recorded a scenario file (`session.created` or, for a later resume, `session.resumed`) goes
 * on with that file, whether or not a key is set now: an offline run must not turn into paid
 * requests, nor meet a scenario that cannot script its agents. A file that changed since is
 * used as it is, with a notice. A session that recorded the Anthropic API or a built-in scenario
 * (or nothing: made before this was recorded) goes on as a run would: with the key when one is
 * set, else with the scenario beside its recorded workflow file.
 * @throws OrchestratorError `INVALID_ARGUMENT` when the recorded scenario file is gone (give
 * one with `--model-server`)
 */
export async function resumeScenario(options: {
  /** `--model-server FILE`. */
  readonly flag: string | undefined;
  /** The session's events. */
  readonly events: readonly AnyEvent[];
  /** A model key is configured now. */
  readonly apiKey: boolean;
}): Promise<ResumeScenario> {
  if (options.flag !== undefined) return { scenario: options.flag };
  const model = recordedModel(options.events);
  let file: string | undefined;
  for (const event of options.events) if (event.type === 'workflow.started') file = event.data.file;
  if (model?.kind === 'scripted' && model.scenario !== undefined) {
    const recorded = model.scenario;
    const bytes = await readFile(recorded).catch((error: NodeJS.ErrnoException) => {
      throw new OrchestratorError(
        'INVALID_ARGUMENT',
        `the session ran offline with the scenario ${recorded}, which cannot be read now (${error.code}); give one with --model-server FILE`,
        { cause: error, details: { field: '--model-server', scenario: recorded } },
      );
    });
    const changed =
      model.scenarioSha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== model.scenarioSha256;
    return {
      scenario: recorded,
      ...(changed && {
        notice: `note: the scenario ${recorded} changed since the session last ran; its answers may differ now`,
      }),
    };
  }
  if (options.apiKey || file === undefined) return { scenario: undefined };
  return { scenario: scenarioBeside(file) };
}
