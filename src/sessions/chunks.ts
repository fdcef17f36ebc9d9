import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { canonicalJson, type SessionState } from '../workflow/index.ts';

/**
 * A session state cut into chunks: one per node, per memory key, per agent, per workflow
 * header and definition, and one for the rest. Consecutive versions share every chunk that did
 * not change, so a version costs storage in proportion to its change.
 *
 * Chunk paths are stable names (`session`, `workflows/ID`, `workflows/ID/definition`,
 * `workflows/ID/added`, `workflows/ID/nodes/NODE`, `memory/KEY`, `agents/ID`); a chunk's
 * content is its canonical JSON (sorted keys), its name the SHA-256 of that text, and it is
 * stored deflated.
 */

/** `[path, hash]` of one chunk. */
export type ChunkEntry = readonly [path: string, hash: string];

/** SHA-256 (hex) of a text. */
export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Texts shorter than this are stored as they are: a zlib call costs about 20 us whatever the
 * size, which for the thousands of small node chunks of a large state was most of the time of
 * a version, for a few bytes saved each.
 */
const COMPRESS_FROM_BYTES = 512;
const RAW = 0;
const DEFLATE = 1;

/** The bytes stored for a chunk or page text: a format byte, then the text, deflated when long. */
export function pack(text: string): Uint8Array {
  const utf8 = Buffer.from(text, 'utf8');
  if (utf8.length < COMPRESS_FROM_BYTES) return Buffer.concat([Buffer.of(RAW), utf8]);
  return Buffer.concat([Buffer.of(DEFLATE), deflateRawSync(utf8)]);
}

/** The text of stored bytes. @throws when the format byte is unknown or the data does not inflate */
export function unpack(bytes: Uint8Array): string {
  const format = bytes[0];
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1);
  if (format === RAW) return body.toString('utf8');
  if (format === DEFLATE) return inflateRawSync(body).toString('utf8');
  throw new Error(`unknown blob format ${format}`);
}

/**
 * The verified text of a stored blob (`what` names it in errors: `chunk`, `page`).
 * @throws Error when the blob is missing, does not decompress, or does not match its hash
 */
export function openBlob(what: string, hash: string, bytes: Uint8Array | undefined): string {
  const name = `${what} ${hash.slice(0, 12)}`;
  if (!bytes) throw new Error(`${name} is missing`);
  let text: string;
  try {
    text = unpack(bytes);
  } catch {
    throw new Error(`${name} cannot be decompressed`);
  }
  if (sha256(text) !== hash) throw new Error(`${name} does not match its hash`);
  return text;
}

/** Calls `visit` with every chunk of the state, in a stable order. */
function eachChunk(state: SessionState, visit: (path: string, value: unknown) => void): void {
  const { workflows, memory, agents, ...session } = state;
  visit('session', session);
  for (const id of Object.keys(workflows)) {
    const { nodes, definition, addedNodes, ...header } = workflows[id] as SessionState['workflows'][string];
    visit(`workflows/${id}`, header);
    visit(`workflows/${id}/definition`, { definition });
    visit(`workflows/${id}/added`, addedNodes);
    for (const nodeId of Object.keys(nodes)) visit(`workflows/${id}/nodes/${nodeId}`, nodes[nodeId]);
  }
  for (const key of Object.keys(memory)) visit(`memory/${key}`, { value: memory[key] });
  for (const id of Object.keys(agents)) visit(`agents/${id}`, agents[id]);
}

/** What cutting a state gave: every chunk's entry (sorted by path) and the blobs not stored yet. */
export interface CutState {
  readonly entries: ChunkEntry[];
  /** Chunks whose hash this chunker has not handed out before, by hash. */
  readonly newBlobs: Map<string, Uint8Array>;
}

/**
 * Cuts states into chunks, remembering what it cut last time: a chunk whose plain JSON did not
 * change since the previous cut keeps its hash without being canonicalized, hashed or
 * compressed again. Serializing every chunk is cheap (a few ms for 10,000 nodes); compressing
 * every chunk is not (about 20 us each), so a version of a large state costs little CPU beyond
 * what changed. One chunker serves one session's successive versions.
 */
export class StateChunker {
  readonly #last = new Map<string, { json: string; hash: string }>();
  /** Hashes already handed out as new blobs (and so stored, once the caller commits them). */
  readonly #stored = new Set<string>();

  /** Cuts `state`; the blobs returned must be stored before a version names them. */
  cut(state: SessionState): CutState {
    const entries: Array<readonly [string, string]> = [];
    const newBlobs = new Map<string, Uint8Array>();
    const seen = new Set<string>();
    eachChunk(state, (path, value) => {
      seen.add(path);
      const json = JSON.stringify(value) ?? 'null';
      const last = this.#last.get(path);
      let hash: string;
      if (last && last.json === json) {
        hash = last.hash;
      } else {
        const text = canonicalJson(value);
        hash = sha256(text);
        this.#last.set(path, { json, hash });
        if (!this.#stored.has(hash)) newBlobs.set(hash, pack(text));
      }
      entries.push([path, hash]);
    });
    for (const path of this.#last.keys()) if (!seen.has(path)) this.#last.delete(path);
    entries.sort(byPath);
    return { entries, newBlobs };
  }

  /** Records that blobs were stored, so later cuts do not hand them out again. */
  markStored(hashes: Iterable<string>): void {
    for (const hash of hashes) this.#stored.add(hash);
  }
}

/** Orders entries by path (plain code-unit order, the same on every machine). */
export function byPath(a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * Rebuilds a state from its chunks. `chunk(hash)` returns a chunk's parsed, verified value.
 * @throws Error naming the first chunk that does not fit (the caller reports it as corrupt)
 */
export function assembleChunks(entries: readonly ChunkEntry[], chunk: (hash: string) => unknown): SessionState {
  const state = { workflows: {}, memory: {}, agents: {} } as unknown as SessionState & Record<string, unknown>;
  const workflows = state.workflows as unknown as Record<string, Record<string, unknown>>;
  const workflow = (id: string, path: string) => {
    const wf = workflows[id];
    if (!wf) throw new Error(`chunk ${path} comes before its workflow`);
    return wf;
  };
  for (const [path, hash] of entries) {
    const parts = path.split('/');
    const [area, id] = parts;
    if (path === 'session') Object.assign(state, chunk(hash));
    else if (area === 'workflows' && id !== undefined && parts.length === 2) {
      workflows[id] = { ...(chunk(hash) as object), nodes: {}, addedNodes: [] };
    } else if (area === 'workflows' && id !== undefined && parts[2] === 'definition' && parts.length === 3) {
      workflow(id, path).definition = (chunk(hash) as { definition: unknown }).definition;
    } else if (area === 'workflows' && id !== undefined && parts[2] === 'added' && parts.length === 3) {
      workflow(id, path).addedNodes = chunk(hash);
    } else if (area === 'workflows' && id !== undefined && parts[2] === 'nodes' && parts.length > 3) {
      (workflow(id, path).nodes as Record<string, unknown>)[parts.slice(3).join('/')] = chunk(hash);
    } else if (area === 'memory' && parts.length > 1) {
      state.memory[parts.slice(1).join('/')] = (chunk(hash) as { value: unknown }).value;
    } else if (area === 'agents' && parts.length > 1) {
      (state.agents as Record<string, unknown>)[parts.slice(1).join('/')] = chunk(hash);
    } else throw new Error(`unknown chunk ${path}`);
  }
  return state;
}
