import { createRequire } from 'node:module';
import type { Document, Node, Pair, Scalar } from 'yaml';
import type { PathSegment } from './problems.ts';

// yaml (about 14 MB resident) is loaded by the first text parsed, not by importing the library
// (issue 15). Its Node build is CommonJS, so `require` gives the instance an `import` would.
const yamlModule = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

/** A 1-based position in a text file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Finds where a path of the parsed value is written; falls back to the nearest written ancestor. */
export type Locator = (path: readonly PathSegment[], at?: { key?: boolean; offset?: number }) => SourcePosition;

/** A YAML (or JSON) text parsed into plain data, with a locator into the text. */
export interface ParsedSource {
  /** The plain value (`undefined` when the text has syntax errors). */
  readonly value: unknown;
  /** YAML syntax errors with their positions. */
  readonly errors: readonly { readonly message: string; readonly position: SourcePosition }[];
  readonly locate: Locator;
}

/**
 * Parses YAML 1.2 (so `on:` and `no` stay strings) keeping positions. Duplicate keys are
 * errors; aliases are expanded with the library's limit on expansion (no billion laughs).
 */
export function parseYamlSource(text: string): ParsedSource {
  const { LineCounter, parseDocument } = yamlModule();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const errors = doc.errors.map((error) => ({
    message: error.message.split('\n')[0] ?? error.message,
    position: position(error.pos[0]),
  }));
  let value: unknown;
  if (errors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      errors.push({ message: (error as Error).message, position: { line: 1, column: 1 } });
    }
  }
  return { value, errors, locate: (path, at = {}) => locateIn(doc, text, path, at, position) };
}

function locateIn(
  doc: Document,
  text: string,
  path: readonly PathSegment[],
  at: { key?: boolean; offset?: number },
  position: (offset: number) => SourcePosition,
): SourcePosition {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yamlModule();
  let node: Node | null | undefined = doc.contents as Node | null;
  let best = 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as PathSegment;
    const last = i === path.length - 1;
    if (isAlias(node)) node = node.resolve(doc) as Node | undefined;
    if (node?.range) best = node.range[0];
    if (isMap(node)) {
      const pair: Pair | undefined = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return position(best);
      const key = pair.key as Node;
      if (last && at.key && key.range) return position(key.range[0]);
      node = (pair.value as Node | null) ?? key;
      if (!pair.value && key.range) best = key.range[0];
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as Node | undefined;
    } else {
      return position(best);
    }
  }
  if (!node?.range) return position(best);
  if (at.offset !== undefined && isScalar(node))
    return position(offsetInScalar(node, text, at.offset) ?? node.range[0]);
  return position(node.range[0]);
}

/**
 * Maps a character offset of a string value back to the file, for single-line plain or
 * quoted scalars without escapes and for literal blocks (`|`). Other styles (escapes, folding)
 * change the text between file and value; they return undefined and the caller uses the
 * start of the scalar.
 */
function offsetInScalar(node: Scalar, text: string, offset: number): number | undefined {
  const { Scalar } = yamlModule();
  const range = node.range;
  if (!range || typeof node.value !== 'string') return undefined;
  const raw = text.slice(range[0], range[1]);
  const value = node.value;
  if (node.type === Scalar.PLAIN || node.type === Scalar.QUOTE_SINGLE || node.type === Scalar.QUOTE_DOUBLE) {
    const quote = node.type === Scalar.PLAIN ? 0 : 1;
    const inner = raw.slice(quote, raw.length - quote);
    return !inner.includes('\n') && inner === value ? range[0] + quote + offset : undefined;
  }
  if (node.type === Scalar.BLOCK_LITERAL) {
    const lines = raw.split('\n');
    const header = lines.shift() ?? '';
    const lineIndex = value.slice(0, offset).split('\n').length - 1;
    const column = offset - (value.lastIndexOf('\n', offset - 1) + 1);
    const valueLine = value.split('\n')[lineIndex] ?? '';
    const sourceLine = lines[lineIndex];
    if (sourceLine === undefined) return undefined;
    const indent = sourceLine.length - valueLine.length;
    if (indent < 0 || !sourceLine.endsWith(valueLine) || sourceLine.slice(0, indent).trim() !== '') return undefined;
    let start = range[0] + header.length + 1;
    for (let i = 0; i < lineIndex; i++) start += (lines[i]?.length ?? 0) + 1;
    return start + indent + column;
  }
  return undefined;
}
