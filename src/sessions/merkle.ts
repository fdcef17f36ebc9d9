import { sha256Hex } from '../events/index.ts';
import { openBlob, pack } from './blob-pack.ts';
import type { ChunkEntry } from './chunks.ts';

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
  /**
   * The blobs each new page names (its entries' hashes): the store keeps them while the page is
   * kept, so a version names only its root.
   */
  readonly links: Map<string, string[]>;
}

/**
 * Builds the page tree over sorted entries. `known(hash)` says whether a page is already
 * stored (its bytes are then not produced again).
 */
export function buildTree(entries: readonly ChunkEntry[], known: (hash: string) => boolean): BuiltTree {
  const newPages = new Map<string, Uint8Array>();
  const links = new Map<string, string[]>();
  const pages: string[] = [];
  let level: ChunkEntry[] = [...entries];
  for (let depth = 1; depth <= MAX_LEVELS; depth++) {
    const next: ChunkEntry[] = [];
    let page: ChunkEntry[] = [];
    const close = () => {
      const text = JSON.stringify(page);
      const hash = sha256Hex(text);
      if (!known(hash) && !newPages.has(hash)) {
        newPages.set(hash, pack(text));
        links.set(
          hash,
          page.map(([, child]) => child),
        );
      }
      pages.push(hash);
      next.push([page[0]?.[0] ?? '', hash]);
      page = [];
    };
    for (const entry of level) {
      page.push(entry);
      if (isBoundary(entry[0], depth)) close();
    }
    if (page.length > 0 || next.length === 0) close();
    if (next.length === 1) return { root: (next[0] as ChunkEntry)[1], depth, pages, newPages, links };
    level = next;
  }
  throw new Error(`the version tree did not converge in ${MAX_LEVELS} levels`);
}

/** One level of a {@link PageTree}: its entries, where each page starts among them, and each page's hash. */
interface Level {
  readonly entries: ChunkEntry[];
  readonly starts: number[];
  readonly hashes: string[];
}

/**
 * A page tree kept between versions. When only chunk hashes changed (the same paths, so the
 * same page boundaries), it rehashes the pages holding them and their parents up to the root,
 * a few pages per change (finding them is a comparison of hashes, no hashing); otherwise it
 * builds anew. Either way it gives the tree {@link buildTree} gives for the same entries.
 */
export class PageTree {
  #levels: Level[] = [];

  /** The tree over `entries` (sorted by path). */
  update(entries: readonly ChunkEntry[], known: (hash: string) => boolean): BuiltTree {
    if (this.#levels.length === 0 || this.#levels[0]?.entries.length !== entries.length) {
      return this.#build(entries, known);
    }
    const newPages = new Map<string, Uint8Array>();
    const links = new Map<string, string[]>();
    let dirty = new Set<number>();
    const level0 = this.#levels[0] as Level;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as ChunkEntry;
      const old = level0.entries[i] as ChunkEntry;
      if (old[0] !== entry[0]) return this.#build(entries, known);
      if (old[1] !== entry[1]) {
        level0.entries[i] = entry;
        dirty.add(pageOf(level0.starts, i));
      }
    }
    for (let depth = 0; depth < this.#levels.length; depth++) {
      const level = this.#levels[depth] as Level;
      const parent = this.#levels[depth + 1];
      const next = new Set<number>();
      for (const page of dirty) {
        const end = level.starts[page + 1] ?? level.entries.length;
        const hash = pageHash(level.entries.slice(level.starts[page], end), known, newPages, links);
        level.hashes[page] = hash;
        if (parent) {
          parent.entries[page] = [(parent.entries[page] as ChunkEntry)[0], hash];
          next.add(pageOf(parent.starts, page));
        }
      }
      dirty = next;
    }
    return this.#result(newPages, links);
  }

  #build(entries: readonly ChunkEntry[], known: (hash: string) => boolean): BuiltTree {
    const newPages = new Map<string, Uint8Array>();
    const links = new Map<string, string[]>();
    this.#levels = [];
    let current: ChunkEntry[] = [...entries];
    for (let depth = 1; depth <= MAX_LEVELS; depth++) {
      const starts: number[] = [];
      const hashes: string[] = [];
      const next: ChunkEntry[] = [];
      let start = 0;
      for (let i = 0; i < current.length; i++) {
        if (!isBoundary((current[i] as ChunkEntry)[0], depth)) continue;
        starts.push(start);
        hashes.push(pageHash(current.slice(start, i + 1), known, newPages, links));
        next.push([(current[start] as ChunkEntry)[0], hashes.at(-1) as string]);
        start = i + 1;
      }
      if (start < current.length || starts.length === 0) {
        starts.push(start);
        hashes.push(pageHash(current.slice(start), known, newPages, links));
        next.push([current[start]?.[0] ?? '', hashes.at(-1) as string]);
      }
      this.#levels.push({ entries: current, starts, hashes });
      if (next.length === 1) return this.#result(newPages, links);
      current = next;
    }
    throw new Error(`the version tree did not converge in ${MAX_LEVELS} levels`);
  }

  #result(newPages: Map<string, Uint8Array>, links: Map<string, string[]>): BuiltTree {
    const top = this.#levels.at(-1) as Level;
    return {
      root: top.hashes[0] as string,
      depth: this.#levels.length,
      pages: this.#levels.flatMap((level) => level.hashes),
      newPages,
      links,
    };
  }
}

/** The page (index into `starts`) that holds entry `i`. */
function pageOf(starts: readonly number[], i: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] as number) <= i) low = mid;
    else high = mid - 1;
  }
  return low;
}

function pageHash(
  page: readonly ChunkEntry[],
  known: (hash: string) => boolean,
  newPages: Map<string, Uint8Array>,
  links: Map<string, string[]>,
) {
  const text = JSON.stringify(page);
  const hash = sha256Hex(text);
  if (!known(hash) && !newPages.has(hash)) {
    newPages.set(hash, pack(text));
    links.set(
      hash,
      page.map(([, child]) => child),
    );
  }
  return hash;
}

/**
 * Reads the chunk entries of a tree, level by level, verifying every page against the hash
 * its parent names. `fetch` returns the stored bytes of the hashes asked (absent = missing).
 * `pages`, when given, receives every page read (its hash and entries), root first, level by level.
 * @throws Error naming the page that is missing or does not match (reported as corrupt)
 */
export async function readTree(
  root: string,
  depth: number,
  fetch: (hashes: string[]) => Promise<Map<string, Uint8Array>>,
  pages?: Map<string, ChunkEntry[]>,
): Promise<ChunkEntry[]> {
  let hashes = [root];
  for (let level = depth; level >= 1; level--) {
    const stored = await fetch(hashes);
    const entries: ChunkEntry[] = [];
    for (const hash of hashes) {
      const page = JSON.parse(openBlob('page', hash, stored.get(hash))) as ChunkEntry[];
      if (!Array.isArray(page)) throw new Error(`page ${hash.slice(0, 12)} is not a list`);
      pages?.set(hash, page);
      entries.push(...page);
    }
    if (level === 1) return entries;
    hashes = entries.map(([, hash]) => hash);
  }
  return [];
}
