import { createRequire } from 'node:module';
import { OrchestratorError } from '../errors/index.ts';
import type { ScenarioInput } from '../model-server/index.ts';
import type { TranscriptStore } from '../store/index.ts';
import { isRecordedExchange, type RecordedExchange, recordingKey } from './recording.ts';

/**
 * Cassettes: a session's recorded exchanges as a scenario file whose `replay` list the scripted
 * model server serves (docs/cassettes.md). Building one is a pure function over the entries;
 * reading them from the store is the one effect here.
 */

/** Options of {@link buildCassette}. */
export interface CassetteOptions {
  /** @default `cassette of <sessionId>` */
  readonly name?: string | undefined;
  /** @default says where and when it was recorded */
  readonly description?: string | undefined;
  /**
   * What the replay answers a request no recording matches (a run that went further than the
   * recorded one); such requests are logged as unmatched.
   * @default 'Done.'
   */
  readonly finalText?: string | undefined;
}

/** A cassette: a scenario with a `replay` list (and no scripts). */
export type Cassette = ScenarioInput & { readonly replay: NonNullable<ScenarioInput['replay']> };

/**
 * The cassette of a session's recorded exchanges: conversations labelled `c1`, `c2`, ... in the
 * order they first appear, each exchange with its identity digests, turn, status, content type
 * and body, in recorded order.
 */
export function buildCassette(
  sessionId: string,
  exchanges: readonly RecordedExchange[],
  options: CassetteOptions = {},
): Cassette {
  const labels = new Map<string, string>();
  const replay = exchanges.map((exchange) => {
    let label = labels.get(exchange.conversation);
    if (label === undefined) {
      label = `c${labels.size + 1}`;
      labels.set(exchange.conversation, label);
    }
    return {
      conversation: label,
      agent: exchange.subagent ? `${exchange.agentType}/${exchange.subagent}` : exchange.agentType,
      system_digest: exchange.systemDigest,
      user_digest: exchange.userDigest,
      turn: exchange.turn,
      status: exchange.status,
      content_type: exchange.contentType,
      body: exchange.body,
    };
  });
  const first = exchanges[0]?.timestamp;
  return {
    name: options.name ?? `cassette of ${sessionId}`,
    description:
      options.description ??
      `Recorded model exchanges of session ${sessionId}${first ? ` (from ${first})` : ''}: ${labels.size} conversations, ${replay.length} exchanges.`,
    final_text: options.finalText ?? 'Done.',
    replay,
  };
}

/** The cassette as YAML text (bodies as literal blocks, byte for byte). */
export function cassetteToYaml(cassette: Cassette): string {
  // yaml is loaded here, on first use, not by importing the library (issue 15).
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return stringify(cassette, { lineWidth: 0, blockQuote: 'literal' });
}

/**
 * A session's recorded exchanges, in recorded order.
 * @throws OrchestratorError `RECORDING_NOT_FOUND` when the session has no recording.
 */
export async function loadRecording(
  store: Pick<TranscriptStore, 'loadTranscript'>,
  sessionId: string,
): Promise<RecordedExchange[]> {
  const entries = await store.loadTranscript(recordingKey(sessionId));
  const exchanges = (entries ?? []).filter(isRecordedExchange);
  if (exchanges.length === 0) {
    throw new OrchestratorError(
      'RECORDING_NOT_FOUND',
      `session ${sessionId} has no recorded model exchanges (record them with the gateway's recorder)`,
      { details: { sessionId } },
    );
  }
  return exchanges;
}
