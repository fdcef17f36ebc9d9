import { OrchestratorError } from '../errors/index.ts';
import type { SessionState } from '../workflow/index.ts';
import { assembleChunks } from './assemble.ts';
import { openBlob } from './blob-pack.ts';
import type { DirtyChunks } from './changed-chunks.ts';
import type { ChunkEntry, StateChunker } from './chunks.ts';
import { PageTree, readTree } from './merkle.ts';

/**
 * Snapshots of a session state: chunks plus a Merkle tree of pages over them (see chunks.ts and
 * merkle.ts). A version stores only a small manifest naming the tree's root; its checksum is
 * the root hash, a SHA-256 over every byte of the state, verified on every load.
 */

/**
 * Format of snapshots written by this build; see {@link SNAPSHOT_MIGRATIONS} for older ones.
 * Format 2 leaves out the chunks of nodes still pending (see chunks.ts): a build that reads
 * only format 1 would lose them, so it must refuse the snapshot, and does. Format 3 keeps
 * nodes in shared chunks (`workflows/ID/nodes@BB`), which a format 2 reader does not know.
 */
export const SNAPSHOT_SCHEMA_VERSION = 3;

/**
 * Upgrades of an assembled state from format N to N + 1, by N. A snapshot of an older format is
 * read, then brought forward one step at a time; a format with no path to the current one (a
 * newer build wrote it, or a step is missing) is refused, never read by guesswork.
 */
export type SnapshotMigrations = Readonly<Record<number, (state: Record<string, unknown>) => Record<string, unknown>>>;

/** The migrations of this build. */
export const SNAPSHOT_MIGRATIONS: SnapshotMigrations = {
  // Format 1 stored every node; assembling it makes nothing again, so it reads as format 2.
  1: (state) => state,
  // Format 2 stored a chunk per node; the assembled state is the same.
  2: (state) => state,
};

/** The formats a reader understands: the current one and the steps up to it. */
export interface SnapshotFormats {
  /** @default SNAPSHOT_SCHEMA_VERSION */
  readonly current: number;
  /** @default SNAPSHOT_MIGRATIONS */
  readonly migrations: SnapshotMigrations;
}

const THIS_BUILD: SnapshotFormats = { current: SNAPSHOT_SCHEMA_VERSION, migrations: SNAPSHOT_MIGRATIONS };

/** A snapshot ready to store: its manifest, its checksum, and the blobs not stored yet. */
export interface WrittenSnapshot {
  readonly manifest: Uint8Array;
  readonly checksum: string;
  readonly newBlobs: Map<string, Uint8Array>;
  /** Chunks in the snapshot (for figures). */
  readonly chunks: number;
  /**
   * Every blob the snapshot needs, its pages and chunks (computed when read: a version names
   * only {@link roots}; an import, whose blobs carry no links, names them all).
   */
  readonly blobHashes: string[];
  /** The blobs a version names: the root page, which names the rest through its links. */
  readonly roots: string[];
  /** The blobs each new page names, to store with it (see `Blob.links`). */
  readonly links: ReadonlyMap<string, readonly string[]>;
}

interface Manifest {
  readonly root: string;
  readonly depth: number;
}

/** The page tree kept beside each chunker, so a chunker's successive snapshots update it in place. */
const trees = new WeakMap<StateChunker, { tree: PageTree; generation: number }>();

/**
 * Cuts a state into a snapshot. `known(hash)` tells which page blobs are already stored; the
 * chunker remembers the chunks. With `dirty` (see {@link DirtyChunks}), only the chunks it names
 * are looked at. Store every blob of `newBlobs` before the version that names them.
 */
export function writeSnapshot(
  state: SessionState,
  chunker: StateChunker,
  known: (hash: string) => boolean,
  dirty?: DirtyChunks,
) {
  const cut = chunker.cut(state, dirty);
  let kept = trees.get(chunker);
  if (kept?.generation !== chunker.generation) {
    kept = { tree: new PageTree(), generation: chunker.generation };
    trees.set(chunker, kept);
  }
  const built = kept.tree.update(cut.entries, (hash) => known(hash) || chunker.isStored(hash));
  chunker.addPending(built.newPages, built.links);
  const newBlobs = new Map([...cut.newBlobs, ...built.newPages]);
  const manifest: Manifest = { root: built.root, depth: built.depth };
  // Pending pages of an earlier cut that failed to store come back in `newBlobs` (the
  // chunker keeps them): their links come from the chunker.
  const links = new Map<string, readonly string[]>();
  for (const hash of newBlobs.keys()) {
    const named = built.links.get(hash) ?? chunker.linksOf(hash);
    if (named) links.set(hash, named);
  }
  return {
    manifest: new TextEncoder().encode(JSON.stringify(manifest)),
    checksum: built.root,
    newBlobs,
    chunks: cut.entries.length,
    get blobHashes() {
      const all = new Set(built.pages);
      for (const [, hash] of cut.entries) all.add(hash);
      return [...all];
    },
    roots: [built.root],
    links,
  } satisfies WrittenSnapshot;
}

/** Where a snapshot comes from, for error messages. */
export interface SnapshotOrigin {
  readonly sessionId: string;
  readonly version: number;
}

/** Decodes a version's manifest. @throws OrchestratorError `SNAPSHOT_CORRUPT` */
export function decodeManifest(where: SnapshotOrigin, bytes: Uint8Array, checksum: string): Manifest {
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Manifest>;
  } catch {
    throw corrupt(where, 'its manifest cannot be decoded');
  }
  if (typeof manifest.root !== 'string' || !Number.isInteger(manifest.depth) || (manifest.depth as number) < 1) {
    throw corrupt(where, 'its manifest has no root');
  }
  if (manifest.root !== checksum) throw corrupt(where, 'its manifest does not match its checksum');
  return manifest as Manifest;
}

/**
 * Reads and verifies a snapshot: every page and chunk against the hash that names it, up to the
 * root, which must equal the recorded checksum. Fails closed.
 * @throws OrchestratorError `SNAPSHOT_CORRUPT` naming the version, `SNAPSHOT_UNSUPPORTED`
 */
export async function readSnapshot(
  where: SnapshotOrigin,
  record: { manifest: Uint8Array; checksum: string; schemaVersion: number },
  fetch: (hashes: string[]) => Promise<Map<string, Uint8Array>>,
  formats: SnapshotFormats = THIS_BUILD,
): Promise<SessionState> {
  checkReadable(where, record.schemaVersion, formats);
  const manifest = decodeManifest(where, record.manifest, record.checksum);
  let state: SessionState;
  try {
    const entries = await readTree(manifest.root, manifest.depth, fetch);
    const blobs = await fetchInBatches([...new Set(entries.map(([, hash]) => hash))], fetch);
    state = assembleChunks(entries, (hash) => JSON.parse(openBlob('chunk', hash, blobs.get(hash))));
  } catch (error) {
    if (error instanceof OrchestratorError) throw error;
    throw corrupt(where, error instanceof Error ? error.message : String(error));
  }
  return migrateState(where, state, record.schemaVersion, formats);
}

/**
 * Every blob a stored snapshot needs, its pages and chunks, read from its tree (pages are
 * verified on the way; chunks are named, not read).
 * @throws OrchestratorError `SNAPSHOT_CORRUPT` naming the version
 */
export async function snapshotBlobHashes(
  where: SnapshotOrigin,
  record: { manifest: Uint8Array; checksum: string },
  fetch: (hashes: string[]) => Promise<Map<string, Uint8Array>>,
): Promise<string[]> {
  return (await snapshotBlobsLinked(where, record, fetch)).map((blob) => blob.hash);
}

/** A blob of a stored snapshot as a store takes it: a page comes with the blobs it names. */
export interface SnapshotBlobRef {
  readonly hash: string;
  readonly links?: readonly string[];
}

/**
 * Every blob of a stored snapshot, in an order a store can take with links: the chunks, then
 * the pages from the lowest level up to the root, each page with the blobs it names (what its
 * entries point at). Storing them so, a version names only its root, as versions taken here do.
 * @throws OrchestratorError `SNAPSHOT_CORRUPT` naming the version
 */
export async function snapshotBlobsLinked(
  where: SnapshotOrigin,
  record: { manifest: Uint8Array; checksum: string },
  fetch: (hashes: string[]) => Promise<Map<string, Uint8Array>>,
): Promise<SnapshotBlobRef[]> {
  const manifest = decodeManifest(where, record.manifest, record.checksum);
  const pages = new Map<string, ChunkEntry[]>();
  try {
    const entries = await readTree(manifest.root, manifest.depth, fetch, pages);
    const out: SnapshotBlobRef[] = [...new Set(entries.map(([, hash]) => hash))].map((hash) => ({ hash }));
    // Pages were read root first, level by level: reversed, every page follows what it names.
    for (const [hash, page] of [...pages].reverse()) out.push({ hash, links: page.map(([, child]) => child) });
    return out;
  } catch (error) {
    if (error instanceof OrchestratorError) throw error;
    throw corrupt(where, error instanceof Error ? error.message : String(error));
  }
}

/** Blob reads are batched so one read never carries an unbounded list of keys. */
async function fetchInBatches(
  hashes: string[],
  fetch: (hashes: string[]) => Promise<Map<string, Uint8Array>>,
): Promise<Map<string, Uint8Array>> {
  const all = new Map<string, Uint8Array>();
  for (let i = 0; i < hashes.length; i += 2000) {
    for (const [hash, bytes] of await fetch(hashes.slice(i, i + 2000))) all.set(hash, bytes);
  }
  return all;
}

function checkReadable(where: SnapshotOrigin, schemaVersion: number, formats: SnapshotFormats): void {
  if (schemaVersion > formats.current || schemaVersion < 1 || !Number.isInteger(schemaVersion)) {
    throw new OrchestratorError(
      'SNAPSHOT_UNSUPPORTED',
      `version ${where.version} of session ${where.sessionId} has snapshot format ${schemaVersion}; this build reads formats up to ${formats.current}`,
      { details: { ...where, schemaVersion } },
    );
  }
  for (let v = schemaVersion; v < formats.current; v++) {
    if (!formats.migrations[v]) {
      throw new OrchestratorError(
        'SNAPSHOT_UNSUPPORTED',
        `version ${where.version} of session ${where.sessionId} has snapshot format ${schemaVersion}, and this build cannot bring format ${v} forward`,
        { details: { ...where, schemaVersion } },
      );
    }
  }
}

/**
 * Brings an assembled state of format `from` forward to the current format.
 * @throws OrchestratorError `SNAPSHOT_UNSUPPORTED` when a step is missing
 */
export function migrateState(
  where: SnapshotOrigin,
  state: SessionState,
  from: number,
  formats: SnapshotFormats = THIS_BUILD,
): SessionState {
  checkReadable(where, from, formats);
  let current = state as unknown as Record<string, unknown>;
  for (let v = from; v < formats.current; v++) {
    const step = formats.migrations[v] as NonNullable<SnapshotMigrations[number]>;
    current = step(current);
  }
  return current as unknown as SessionState;
}

function corrupt(where: SnapshotOrigin, why: string): OrchestratorError {
  return new OrchestratorError(
    'SNAPSHOT_CORRUPT',
    `version ${where.version} of session ${where.sessionId} is unreadable: ${why}; the session can be rebuilt from its log`,
    { details: { ...where } },
  );
}
