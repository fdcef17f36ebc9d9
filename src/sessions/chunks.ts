import { canonicalJson, sha256Hex, stringifyRecord } from '../events/index.ts';
import { isPendingNode, type NodeState, type SessionState } from '../workflow/index.ts';
import { pack } from './blob-pack.ts';
import type { DirtyChunks } from './changed-chunks.ts';
import { ABSENT, chunkValue, eachChunk } from './chunk-paths.ts';
import { bucketText, NODES, NodeOrder, OWN_CHUNK_FROM_CHARS, WORKFLOWS, workflowIn } from './node-buckets.ts';

/**
 * A session state cut into chunks: one per bucket of a workflow's nodes, per memory key, per
 * agent, per workflow header and definition, and one for the rest. Consecutive versions share
 * every chunk that did not change, so a version costs storage in proportion to its change.
 *
 * Chunk paths are stable names (`session`, `workflows/ID`, `workflows/ID/definition`,
 * `workflows/ID/added`, `workflows/ID/nodes@BB`, `memory/KEY`, `agents/ID`); a chunk's
 * content is its canonical JSON (sorted keys), its name the SHA-256 of that text, and it is
 * stored deflated when long. A definition's chunk is its plain JSON instead: the compiled
 * definition's keys come in the schema's order, so definitions equal but written in another
 * order give the same text, and the plain form took a quarter of the time of the canonical one
 * (3 against 12 ms for 10,000 nodes, the largest chunk of a run's first version). A node still
 * exactly as it started (pending, never tried) is in no chunk: the definition names it, and
 * `assembleChunks` makes it again. Most nodes of a large run are in that state when its first
 * version is taken.
 *
 * Nodes share chunks ("buckets"), `NODES_PER_CHUNK` (node-buckets.ts) consecutive nodes each
 * (`{nodeId: node, ...}`, `BB` the bucket's number): with one chunk per node, a 10,000-node run
 * stored 10,000 blobs and a page tree over them, and their rows and pages were most of a
 * version's cost. A node's canonical text is kept between cuts, so a bucket is recut by joining
 * texts, and a changed node is serialized once. Format 2 stored a chunk per node
 * (`workflows/ID/nodes/NODE`); `assembleChunks` (assemble.ts) still reads those.
 */

/** `[path, hash]` of one chunk. */
export type ChunkEntry = readonly [path: string, hash: string];

/** What cutting a state gave: every chunk's entry (sorted by path) and the blobs not stored yet. */
export interface CutState {
  readonly entries: ChunkEntry[];
  /** Chunks whose hash this chunker has not handed out before, by hash. */
  readonly newBlobs: Map<string, Uint8Array>;
}

/**
 * The chunk of each workflow definition cut so far, by the definition's object: a definition is
 * never changed in place (see {@link StateChunker}), and a compiled workflow started again
 * records the same object, so its chunk (JSON, hash, deflated bytes: several ms for 10,000
 * nodes) is made once, not at the first version of every run. Kept while the definition is.
 */
const definitionChunks = new WeakMap<object, { readonly hash: string; readonly bytes: Uint8Array }>();

/**
 * Cuts states into chunks, remembering what it cut last time. Told which chunks changed (see
 * {@link DirtyChunks}), it looks at those only: a version then costs in proportion to its
 * change, not to the size of the state. Cutting everything, a chunk other than a node bucket
 * whose plain JSON did not change since the previous cut (a definition: whose object did not)
 * keeps its hash without being canonicalized, hashed or compressed again; every node is
 * serialized again. One chunker serves one session's successive versions.
 *
 * Blobs it hands out stay pending until {@link markStored}: a version that could not store
 * them leaves them to the next one, which would otherwise believe them stored.
 */
export class StateChunker {
  readonly #last = new Map<string, { json: string; hash: string; source?: unknown }>();
  /** Hashes known to be stored. */
  readonly #stored = new Set<string>();
  /** Blobs handed out and not yet known to be stored. */
  readonly #pending = new Map<string, Uint8Array>();
  /** The blobs each pending page names, stored with it (see {@link linksOf}). */
  readonly #links = new Map<string, readonly string[]>();
  /**
   * The sorted entries as of the last version's cut, and where each path is among them. Paths
   * added or removed since (nodes leave the pending state all through a run) wait in
   * {@link #added} and {@link #removed} and are merged in once, when a version needs the entries.
   */
  #entries: Array<readonly [string, string]> = [];
  #index = new Map<string, number>();
  readonly #added = new Map<string, string>();
  readonly #removed = new Set<string>();
  /** The canonical text of every node in a chunk, by bucket path and node id (see {@link bucketText}). */
  readonly #buckets = new Map<string, Map<string, string>>();
  /** Buckets whose nodes changed since the last version (a cut ahead of a version leaves them). */
  readonly #changedBuckets = new Set<string>();
  /** Which bucket each node is in. */
  readonly #order = new NodeOrder();
  /**
   * The nodes in a chunk of their own (see `OWN_CHUNK_FROM_CHARS`), by workflow id: a changed
   * node leaves its own chunk only when it has one, so the path of that chunk is made and looked
   * up for those nodes only, not for every changed node of a run.
   */
  readonly #ownChunks = new Map<string, Set<string>>();
  /** Counts {@link reset}s, so what is kept beside the chunker (its page tree) knows to start over. */
  generation = 0;

  /**
   * Cuts `state`; the blobs returned must be stored before a version names them. With `dirty`,
   * only those chunks are looked at: it must name every chunk changed since the previous cut.
   */
  cut(state: SessionState, dirty?: DirtyChunks): CutState {
    const newBlobs = this.#cutChanged(state, dirty);
    this.#cutBuckets(newBlobs);
    this.#mergeMoved();
    return { entries: [...this.#entries], newBlobs: this.#withPending(newBlobs) };
  }

  /**
   * Cuts what `dirty` names ahead of the next version, which then finds it cut. Returns the
   * blobs not stored yet (those of earlier cuts too) when `pending` is set; the chunker keeps
   * them either way. The sorted entries are left for the version to bring up to date.
   */
  prepare(state: SessionState, dirty: DirtyChunks, pending: boolean): Map<string, Uint8Array> {
    const newBlobs = this.#cutChanged(state, dirty);
    // Buckets are joined and hashed by the version only: one cut ahead of it would make blobs
    // the next change of any of its nodes replaces. Their nodes' texts are ready.
    if (pending) {
      this.#cutBuckets(newBlobs);
      return this.#withPending(newBlobs);
    }
    for (const [hash, bytes] of newBlobs) this.#pending.set(hash, bytes);
    return newBlobs;
  }

  /** Whether the next cut is of the whole state, whatever changed: nothing was cut yet (or since a reset). */
  get cutsWhole(): boolean {
    return this.#entries.length === 0;
  }

  #cutChanged(state: SessionState, dirty: DirtyChunks | undefined): Map<string, Uint8Array> {
    const newBlobs = new Map<string, Uint8Array>();
    if (dirty && !dirty.all && !this.cutsWhole) this.#cutDirty(state, dirty, newBlobs);
    else this.#cutAll(state, newBlobs);
    return newBlobs;
  }

  /** `newBlobs` with every blob still pending, all now pending. */
  #withPending(newBlobs: Map<string, Uint8Array>): Map<string, Uint8Array> {
    for (const [hash, bytes] of this.#pending) newBlobs.set(hash, bytes);
    for (const [hash, bytes] of newBlobs) this.#pending.set(hash, bytes);
    return newBlobs;
  }

  /** Hands out blobs made elsewhere (pages, with the blobs each names) under the same pending rule. */
  addPending(blobs: Map<string, Uint8Array>, links?: ReadonlyMap<string, readonly string[]>): void {
    for (const [hash, bytes] of blobs) {
      if (this.#stored.has(hash)) continue;
      this.#pending.set(hash, bytes);
      const named = links?.get(hash);
      if (named) this.#links.set(hash, named);
    }
  }

  /** The blobs a pending page names (undefined for a chunk, which names none). */
  linksOf(hash: string): readonly string[] | undefined {
    return this.#links.get(hash);
  }

  /** Whether a blob is known to be stored. */
  isStored(hash: string): boolean {
    return this.#stored.has(hash);
  }

  #hashOf(path: string, value: unknown, json: string, newBlobs: Map<string, Uint8Array>): string {
    const hash = this.#hashText(path, canonicalJson(value), newBlobs);
    (this.#last.get(path) as { json: string }).json = json;
    return hash;
  }

  #cutAll(state: SessionState, newBlobs: Map<string, Uint8Array>): void {
    const entries: Array<readonly [string, string]> = [];
    const seen = new Set<string>();
    this.#buckets.clear();
    this.#changedBuckets.clear();
    this.#ownChunks.clear();
    eachChunk(
      state,
      (path, value, source) => {
        seen.add(path);
        const last = this.#last.get(path);
        // A workflow's definition is never changed in place: the same object has the same hash
        // (its plain JSON, long for a large workflow, is not made to compare).
        if (source !== undefined) {
          if (last?.source === source) entries.push([path, last.hash]);
          else {
            entries.push([path, this.#definitionHash(path, value, source, newBlobs)]);
            (this.#last.get(path) as { source?: unknown }).source = source;
          }
          return;
        }
        const json = JSON.stringify(value) ?? 'null';
        entries.push([path, last && last.json === json ? last.hash : this.#hashOf(path, value, json, newBlobs)]);
      },
      (workflowId, node) => {
        const text = canonicalJson(node);
        if (text.length < OWN_CHUNK_FROM_CHARS)
          this.#bucket(this.#order.bucketOf(state, workflowId, node.id)).set(node.id, flat(text));
        else {
          const path = `${WORKFLOWS}${workflowId}/${NODES}${node.id}`;
          seen.add(path);
          entries.push([path, this.#hashText(path, text, newBlobs)]);
          this.#ownChunksOf(workflowId).add(node.id);
        }
      },
    );
    for (const [path, members] of this.#buckets) {
      seen.add(path);
      entries.push([path, this.#hashText(path, bucketText(members), newBlobs)]);
    }
    for (const path of this.#last.keys()) if (!seen.has(path)) this.#last.delete(path);
    entries.sort(byPath);
    this.#remember(entries);
  }

  #cutDirty(state: SessionState, dirty: DirtyChunks, newBlobs: Map<string, Uint8Array>): void {
    for (const [workflowId, nodeIds] of dirty.nodes) {
      const wf = workflowIn(state, workflowId);
      for (const nodeId of nodeIds) {
        const node = wf && Object.hasOwn(wf.nodes, nodeId) ? wf.nodes[nodeId] : undefined;
        this.#cutNode(
          state,
          workflowId,
          nodeId,
          node === undefined || isPendingNode(node) ? undefined : node,
          newBlobs,
        );
      }
    }
    for (const path of dirty.paths) {
      const value = chunkValue(state, path);
      // A chunk named here most likely changed: it is hashed straight away, without the plain
      // JSON a full cut compares first (a later full cut rehashes it once).
      this.#setEntry(path, value === ABSENT ? undefined : this.#hashText(path, canonicalJson(value), newBlobs));
    }
  }

  /**
   * Brings a changed node's text up to date (`node` undefined: it has none, pending or gone);
   * its bucket is joined by the version. It leaves its bucket or its own chunk when it moves
   * to the other.
   */
  #cutNode(
    state: SessionState,
    workflowId: string,
    nodeId: string,
    node: NodeState | undefined,
    newBlobs: Map<string, Uint8Array>,
  ): void {
    const bucket = this.#order.bucketOf(state, workflowId, nodeId);
    const text = node === undefined ? undefined : canonicalJson(node);
    const owners = this.#ownChunksOf(workflowId);
    if (text !== undefined && text.length < OWN_CHUNK_FROM_CHARS) {
      this.#bucket(bucket).set(nodeId, flat(text));
      if (owners.delete(nodeId)) this.#setEntry(`${WORKFLOWS}${workflowId}/${NODES}${nodeId}`, undefined);
    } else {
      this.#buckets.get(bucket)?.delete(nodeId);
      const own = `${WORKFLOWS}${workflowId}/${NODES}${nodeId}`;
      if (text === undefined) {
        if (owners.delete(nodeId)) this.#setEntry(own, undefined);
      } else {
        owners.add(nodeId);
        this.#setEntry(own, this.#hashText(own, text, newBlobs));
      }
    }
    this.#changedBuckets.add(bucket);
  }

  /** Joins and hashes the buckets whose nodes changed. */
  #cutBuckets(newBlobs: Map<string, Uint8Array>): void {
    for (const path of this.#changedBuckets) {
      const members = this.#buckets.get(path);
      if (members === undefined || members.size === 0) {
        this.#buckets.delete(path);
        this.#setEntry(path, undefined);
      } else this.#setEntry(path, this.#hashText(path, bucketText(members), newBlobs));
    }
    this.#changedBuckets.clear();
  }

  /** The nodes of a workflow in a chunk of their own, made empty the first time. */
  #ownChunksOf(workflowId: string): Set<string> {
    let owners = this.#ownChunks.get(workflowId);
    if (owners === undefined) {
      owners = new Set();
      this.#ownChunks.set(workflowId, owners);
    }
    return owners;
  }

  /** The members of a bucket, made empty the first time. */
  #bucket(path: string): Map<string, string> {
    let members = this.#buckets.get(path);
    if (members === undefined) {
      members = new Map();
      this.#buckets.set(path, members);
    }
    return members;
  }

  /** The hash of a definition's chunk (see {@link definitionChunks}), handing out its blob when new. */
  #definitionHash(path: string, value: unknown, source: object, newBlobs: Map<string, Uint8Array>): string {
    const known = definitionChunks.get(source);
    if (known === undefined) {
      const hash = this.#hashText(path, stringifyRecord(value as Record<string, unknown>), newBlobs);
      const bytes = newBlobs.get(hash) ?? this.#pending.get(hash);
      if (bytes !== undefined) definitionChunks.set(source, { hash, bytes });
      return hash;
    }
    this.#last.set(path, { json: '', hash: known.hash });
    if (!this.#stored.has(known.hash) && !this.#pending.has(known.hash)) newBlobs.set(known.hash, known.bytes);
    return known.hash;
  }

  /** The hash of a chunk's canonical text, handing out its blob when new. */
  #hashText(path: string, text: string, newBlobs: Map<string, Uint8Array>): string {
    const hash = sha256Hex(text);
    this.#last.set(path, { json: '', hash });
    if (!this.#stored.has(hash) && !this.#pending.has(hash)) newBlobs.set(hash, pack(text));
    return hash;
  }

  /** Records a chunk's new hash among the entries, or its removal (`undefined`). */
  #setEntry(path: string, hash: string | undefined): void {
    const at = this.#index.get(path);
    if (hash === undefined) {
      this.#last.delete(path);
      if (!this.#added.delete(path) && at !== undefined) this.#removed.add(path);
      return;
    }
    if (at === undefined) this.#added.set(path, hash);
    else {
      this.#removed.delete(path);
      if ((this.#entries[at] as readonly [string, string])[1] !== hash) this.#entries[at] = [path, hash];
    }
  }

  /** Brings the sorted entries up to date with the paths added and removed since the last version. */
  #mergeMoved(): void {
    if (this.#added.size === 0 && this.#removed.size === 0) return;
    const removed = this.#removed;
    const kept = removed.size > 0 ? this.#entries.filter(([path]) => !removed.has(path)) : this.#entries;
    const added = [...this.#added].sort(byPath);
    this.#remember(mergeSorted(kept, added));
  }

  #remember(entries: Array<readonly [string, string]>): void {
    this.#entries = entries;
    this.#index = new Map(entries.map(([path], i) => [path, i]));
    this.#added.clear();
    this.#removed.clear();
  }

  /** Forgets everything: the next cut cuts the whole state and hands out every blob. */
  reset(): void {
    this.generation++;
    this.#last.clear();
    this.#buckets.clear();
    this.#changedBuckets.clear();
    this.#order.clear();
    this.#ownChunks.clear();
    this.#stored.clear();
    this.#pending.clear();
    this.#links.clear();
    this.#remember([]);
  }

  /** Records that blobs were stored, so later cuts do not hand them out again. */
  markStored(hashes: Iterable<string>): void {
    for (const hash of hashes) {
      this.#stored.add(hash);
      this.#pending.delete(hash);
      this.#links.delete(hash);
    }
  }
}

/**
 * The same text, made one flat string. A string built by appending (as canonical JSON is) is a
 * tree of its pieces, 32 bytes a piece, until something reads it whole; a node's text is kept
 * from one version to the next, so its tree would be kept too (several MB for a 10,000-node
 * run, all of it copied by the scavenges it survives). Converting a string to a number makes
 * V8 flatten it in place, the way the `flatstr` package does.
 */
function flat(text: string): string {
  Number(text);
  return text;
}

/** Two lists sorted by path as one. */
function mergeSorted<T extends readonly [string, ...unknown[]]>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = byPath(a[i] as T, b[j] as T) <= 0 ? (a[i++] as T) : (b[j++] as T);
  while (i < a.length) out[k++] = a[i++] as T;
  while (j < b.length) out[k++] = b[j++] as T;
  return out;
}

/** Orders entries by path (plain code-unit order, the same on every machine). */
export function byPath(a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
