import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { OrchestratorError } from '../errors/index.ts';
import type { Blob } from '../store/index.ts';
import { canonicalJson, type SessionState } from '../workflow/index.ts';

/** Format of snapshots written by this version; see {@link migrateSnapshot} for older ones. */
export const SNAPSHOT_SCHEMA_VERSION = 1;

/** A snapshot cut into content-addressed chunks. */
export interface ChunkedSnapshot {
  /** `[path, hash]` pairs in a stable order: the table of contents. */
  readonly manifest: ReadonlyArray<readonly [string, string]>;
  /** Every chunk, compressed, by hash (chunks equal in content share one blob). */
  readonly blobs: ReadonlyMap<string, Uint8Array>;
  /** SHA-256 of the canonical JSON of the whole state. */
  readonly checksum: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Cuts a session state into chunks (one per node, memory key, agent and workflow header, and
 * one for the rest), so consecutive versions share every chunk that did not change and a
 * version costs storage in proportion to its change.
 */
export function chunkState(state: SessionState): ChunkedSnapshot {
  const manifest: Array<readonly [string, string]> = [];
  const blobs = new Map<string, Uint8Array>();
  const add = (chunkPath: string, value: unknown) => {
    const text = canonicalJson(value);
    const hash = sha256(text);
    if (!blobs.has(hash)) blobs.set(hash, deflateRawSync(text));
    manifest.push([chunkPath, hash]);
  };
  const { workflows, memory, agents, ...session } = state;
  add('session', session);
  for (const id of Object.keys(workflows).sort()) {
    const { nodes, ...header } = workflows[id] as SessionState['workflows'][string];
    add(`workflows/${id}`, header);
    for (const nodeId of Object.keys(nodes).sort()) add(`workflows/${id}/nodes/${nodeId}`, nodes[nodeId]);
  }
  for (const key of Object.keys(memory).sort()) add(`memory/${key}`, { value: memory[key] });
  for (const id of Object.keys(agents).sort()) add(`agents/${id}`, agents[id]);
  return { manifest, blobs, checksum: sha256(canonicalJson(state)) };
}

/** The manifest as stored: compressed canonical JSON. */
export function encodeManifest(manifest: ChunkedSnapshot['manifest']): Uint8Array {
  return deflateRawSync(JSON.stringify(manifest));
}

/** Blobs in the store's shape. */
export function blobsOf(snapshot: ChunkedSnapshot): Blob[] {
  return [...snapshot.blobs].map(([hash, bytes]) => ({ hash, bytes }));
}

/**
 * Rebuilds a state from a stored manifest and its blobs, and verifies the result against the
 * version's checksum. Fails closed: a missing blob, an undecodable chunk or a checksum
 * mismatch is `SNAPSHOT_CORRUPT` naming the version, never a guess.
 */
export function assembleState(
  where: { sessionId: string; version: number },
  manifestBytes: Uint8Array,
  blobs: ReadonlyMap<string, Uint8Array>,
  checksum: string,
): SessionState {
  const fail = (why: string) =>
    new OrchestratorError(
      'SNAPSHOT_CORRUPT',
      `version ${where.version} of session ${where.sessionId} is unreadable: ${why}`,
      {
        details: where,
      },
    );
  let manifest: Array<[string, string]>;
  try {
    manifest = JSON.parse(inflateRawSync(manifestBytes).toString('utf8')) as Array<[string, string]>;
  } catch {
    throw fail('its manifest cannot be decoded');
  }
  const chunk = (hash: string): unknown => {
    const bytes = blobs.get(hash);
    if (!bytes) throw fail(`blob ${hash.slice(0, 12)} is missing`);
    const text = inflateRawSync(bytes).toString('utf8');
    if (sha256(text) !== hash) throw fail(`blob ${hash.slice(0, 12)} does not match its hash`);
    return JSON.parse(text);
  };
  const state = { workflows: {}, memory: {}, agents: {} } as unknown as SessionState & Record<string, unknown>;
  try {
    for (const [chunkPath, hash] of manifest) {
      const parts = chunkPath.split('/');
      if (chunkPath === 'session') Object.assign(state, chunk(hash));
      else if (parts[0] === 'workflows' && parts.length === 2) {
        (state.workflows as Record<string, unknown>)[parts[1] as string] = { ...(chunk(hash) as object), nodes: {} };
      } else if (parts[0] === 'workflows' && parts[2] === 'nodes') {
        const wf = state.workflows[parts[1] as string];
        if (!wf) throw fail(`node chunk ${chunkPath} has no workflow`);
        (wf.nodes as Record<string, unknown>)[parts.slice(3).join('/')] = chunk(hash);
      } else if (parts[0] === 'memory') {
        state.memory[parts.slice(1).join('/')] = (chunk(hash) as { value: unknown }).value;
      } else if (parts[0] === 'agents') {
        (state.agents as Record<string, unknown>)[parts.slice(1).join('/')] = chunk(hash);
      } else throw fail(`unknown chunk ${chunkPath}`);
    }
  } catch (error) {
    if (error instanceof OrchestratorError) throw error;
    throw fail(`a chunk cannot be decoded (${error instanceof Error ? error.message : String(error)})`);
  }
  if (sha256(canonicalJson(state)) !== checksum) throw fail('the rebuilt state does not match its checksum');
  return state;
}

/**
 * Brings a snapshot written by an older format up to the current one. Unknown (newer) formats
 * are refused rather than read by guesswork.
 * @throws OrchestratorError `SNAPSHOT_UNSUPPORTED`
 */
export function migrateSnapshot(schemaVersion: number, where: { sessionId: string; version: number }): void {
  if (schemaVersion === SNAPSHOT_SCHEMA_VERSION) return;
  throw new OrchestratorError(
    'SNAPSHOT_UNSUPPORTED',
    `version ${where.version} of session ${where.sessionId} has snapshot format ${schemaVersion}; this orchestrator reads format ${SNAPSHOT_SCHEMA_VERSION}${schemaVersion > SNAPSHOT_SCHEMA_VERSION ? ' (it was written by a newer orchestrator)' : ''}`,
    { details: { ...where, schemaVersion } },
  );
}
