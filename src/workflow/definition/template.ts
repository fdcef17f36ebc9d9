import { OrchestratorError } from '../../errors/index.ts';

/** One `{{ path }}` placeholder of a template. */
export interface TemplateReference {
  /** The dotted path split into segments: `['nodes', 'draft', 'output', 'files', '0']`. */
  readonly path: readonly string[];
  /** Offset of the opening `{{` in the template source. */
  readonly offset: number;
}

/** A piece of a compiled template: literal text or a reference to fill in. */
export type TemplatePart = { readonly text: string } | { readonly ref: TemplateReference };

/**
 * A template parsed at compile time. Plain data (it survives JSON), rendered by
 * {@link renderTemplate}. Placeholders are plain paths: no filters, calls or expressions.
 */
export interface CompiledTemplate {
  /** The template as written. */
  readonly source: string;
  /** Literal text and references in order. */
  readonly parts: readonly TemplatePart[];
  /** Every reference, in order (the same objects as in `parts`). */
  readonly references: readonly TemplateReference[];
}

/** A syntax problem in a template, at a character offset of its source. */
export interface TemplateSyntaxError {
  readonly message: string;
  readonly offset: number;
}

const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;

/**
 * Parses `{{ inputs.NAME }}`, `{{ nodes.ID.output.field }}`, `{{ nodes.ID.status }}` and
 * `{{ session.workspace }}` placeholders; `\{{` writes a literal `{{`. Only syntax is checked
 * here; whether the names exist is the workflow compiler's job.
 */
export function parseTemplate(source: string): { template: CompiledTemplate; errors: readonly TemplateSyntaxError[] } {
  // Most tasks of a large workflow have no placeholder: their template is the text itself, in
  // lists made at their size (a list grown by `push` takes room for seventeen parts).
  if (!source.includes('{{')) {
    return { template: { source, parts: source ? [{ text: source }] : [], references: NO_REFERENCES }, errors: [] };
  }
  const parts: TemplatePart[] = [];
  const references: TemplateReference[] = [];
  const errors: TemplateSyntaxError[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    // Literal text goes over in one slice up to the next `{{` (it was appended a character at
    // a time: a string of one piece per character, 32 bytes each, kept with the template).
    const open = source.indexOf('{{', i);
    if (open < 0) {
      text += source.slice(i);
      break;
    }
    if (open > i && source[open - 1] === '\\') {
      text += `${source.slice(i, open - 1)}{{`;
      i = open + 2;
      continue;
    }
    text += source.slice(i, open);
    i = open;
    const close = source.indexOf('}}', i + 2);
    if (close < 0) {
      errors.push({ offset: i, message: "unclosed '{{': expected '}}' (write '\\{{' for a literal '{{')" });
      text += source.slice(i);
      break;
    }
    const inner = source.slice(i + 2, close).trim();
    if (PATH.test(inner)) {
      if (text) parts.push({ text });
      text = '';
      const ref: TemplateReference = { path: inner.split('.'), offset: i };
      parts.push({ ref });
      references.push(ref);
    } else {
      errors.push({
        offset: i,
        message: `expected a path such as '{{ inputs.topic }}' or '{{ nodes.draft.output }}', received '{{${source.slice(i + 2, close)}}}'`,
      });
    }
    i = close + 2;
  }
  if (text) parts.push({ text });
  return { template: { source, parts, references: references.length > 0 ? references : NO_REFERENCES }, errors };
}

/** The references of every template without any (most of a large workflow's): one frozen list. */
const NO_REFERENCES: readonly TemplateReference[] = Object.freeze([]);

/** The data a template is rendered with. */
export interface TemplateContext {
  /** The workflow's resolved inputs. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Finished nodes by id: their output (text, or the structured object) and status. */
  readonly nodes: Readonly<Record<string, { readonly output?: unknown; readonly status?: string }>>;
  /** The session: `id` and `workspace` (its working folder). */
  readonly session: { readonly id?: string; readonly workspace?: string };
}

/** Options of {@link renderTemplate}. */
export interface RenderOptions {
  /** What a reference without a value becomes: `'error'` throws, `'empty'` writes nothing. @default 'error' */
  readonly onMissing?: 'error' | 'empty';
}

/**
 * Fills a compiled template from a context. Lookup is a plain walk of own properties (no
 * prototype, getters of class instances or code); strings are inserted as they are, numbers
 * and booleans as text, objects and arrays as indented JSON.
 * @throws OrchestratorError `TEMPLATE_FAILED` when a reference has no value and
 * `onMissing` is `'error'`.
 */
export function renderTemplate(
  template: CompiledTemplate,
  context: TemplateContext,
  options: RenderOptions = {},
): string {
  let out = '';
  for (const part of template.parts) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const value = lookupPath(context, part.ref.path);
    if (value === undefined) {
      if (options.onMissing === 'empty') continue;
      throw new OrchestratorError(
        'TEMPLATE_FAILED',
        `template placeholder {{ ${part.ref.path.join('.')} }} has no value`,
        { details: { path: part.ref.path.join('.'), template: template.source } },
      );
    }
    out += stringify(value);
  }
  return out;
}

/** Reads a dotted path from plain data: own properties of plain objects, numeric indexes of arrays. */
export function lookupPath(root: unknown, path: readonly string[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else if (isPlainObject(current) && Object.hasOwn(current, segment)) {
      current = current[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value, null, 2);
  return String(value);
}
