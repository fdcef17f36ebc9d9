import { type ChunkEntry, openBlob, pack, sha256 } from './chunks.ts';

/**
 * The table of contents of a version as a Merkle tree of pages, so that storing a version
 * costs in proportion to its change, not to the size of the state.
 *
 * Level 0 is the sorted list of chunk entries `[path, chunkHash]`. It is cut into pages at
 * content-defined boundaries: after an entry whose path hashes (FNV-1a, salted by level) to a
 * multiple of {@link FANOUT}. A boundary depends only on its own path, so a changed chunk
 * changes one page, and an added or removed path changes one or two: every other page keeps
 * its bytes and its hash, and is already stored. Each page is a blob (the JSON array of its
 * entries, deflated, named by the SHA-256 of the text); the next level lists `[firstPath,
 * pageHash]` per page, and so on until one page remains: the root. The root hash is a SHA-256
 * over everything the version holds.
 */

/** Average entries per page. */
export const FANOUT = 32;

/** Levels are bounded: a page boundary is found with probability 1/FANOUT per entry. */
const MAX_LEVELS = 16;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function isBoundary(path: string, level: number): boolean {
  return fnv1a(`${level}\u0000${path}`) % FANOUT === 0;
}

/** A built tree: its root hash, its depth, every page hash, and the page blobs not known yet. */
export interface BuiltTree {
  readonly root: string;
  readonly depth: number;
  readonly pages: string[];
  readonly newPages: Map<string, Uint8Array>;
}

/**
 * Builds the page tree over sorted entries. `known(hash)` says whether a page is already
 * stored (its bytes are then not produced again).
 */
export function buildTree(entries: readonly ChunkEntry[], known: (hash: string) => boolean): BuiltTree {
  const newPages = new Map<string, Uint8Array>();
  const pages: string[] = [];
  let level: ChunkEntry[] = [...entries];
  for (let depth = 1; depth <= MAX_LEVELS; depth++) {
    const next: ChunkEntry[] = [];
    let page: ChunkEntry[] = [];
    const close = () => {
      const text = JSON.stringify(page);
      const hash = sha256(text);
      if (!known(hash) && !newPages.has(hash)) newPages.set(hash, pack(text));
      pages.push(hash);
      next.push([page[0]?.[0] ?? '', hash]);
      page = [];
    };
    for (const entry of level) {
      page.push(entry);
      if (isBoundary(entry[0], depth)) close();
    }
    if (page.length > 0 || next.length === 0) close();
    if (next.length === 1) return { root: (next[0] as ChunkEntry)[1], depth, pages, newPages };
    level = next;
  }
  throw new Error(`the version tree did not converge in ${MAX_LEVELS} levels`);
}

/**
 * Reads the chunk entries of a tree, level by level, verifying every page against the hash
 * its parent names. `fetch` returns the stored bytes of the hashes asked (absent = missing).
 * `pageHashes`, when given, receives the hash of every page read.
 * @throws Error naming the page that is missing or does not match (reported as corrupt)
 */
export async function readTree(
  root: string,
  depth: number,
  fetch: (hashes: string[]) => Promise<Map<string, Uint8Array>>,
  pageHashes?: string[],
): Promise<ChunkEntry[]> {
  let hashes = [root];
  for (let level = depth; level >= 1; level--) {
    pageHashes?.push(...hashes);
    const pages = await fetch(hashes);
    const entries: ChunkEntry[] = [];
    for (const hash of hashes) {
      const page = JSON.parse(openBlob('page', hash, pages.get(hash))) as ChunkEntry[];
      if (!Array.isArray(page)) throw new Error(`page ${hash.slice(0, 12)} is not a list`);
      entries.push(...page);
    }
    if (level === 1) return entries;
    hashes = entries.map(([, hash]) => hash);
  }
  return [];
}
