import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import { parseTemplate, renderTemplate, type TemplateContext } from '../../../src/workflow/index.ts';

const context: TemplateContext = {
  inputs: { topic: 'a CSV parser', count: 3, strict: false, options: { lint: true, depth: 2 } },
  nodes: {
    plan: { status: 'completed', output: { api: 'GET /rows', files: ['a.ts', 'b.ts'], nothing: null } },
    draft: { status: 'completed', output: 'I wrote src/csv.ts' },
  },
  session: { id: 'ses_1', workspace: '/tmp/ws' },
};

function render(source: string, ctx: TemplateContext = context): string {
  const { template, errors } = parseTemplate(source);
  expect(errors).toEqual([]);
  return renderTemplate(template, ctx);
}

describe('templates', () => {
  it('fills inputs, outputs, output fields, statuses and the session', () => {
    expect(render('Write {{ inputs.topic }} x{{inputs.count}} {{ inputs.strict }}')).toBe(
      'Write a CSV parser x3 false',
    );
    expect(render('{{ nodes.draft.output }} / {{ nodes.plan.output.api }} / {{ nodes.plan.output.files.1 }}')).toBe(
      'I wrote src/csv.ts / GET /rows / b.ts',
    );
    expect(render('{{ nodes.plan.status }} in {{ session.workspace }} ({{ session.id }})')).toBe(
      'completed in /tmp/ws (ses_1)',
    );
    expect(render('{{ nodes.plan.output.nothing }}')).toBe('null');
  });

  it('renders objects and arrays as indented JSON', () => {
    expect(render('{{ inputs.options }}')).toBe('{\n  "lint": true,\n  "depth": 2\n}');
    expect(render('{{ nodes.plan.output.files }}')).toBe('[\n  "a.ts",\n  "b.ts"\n]');
  });

  it('keeps literal text, escaped braces and lone closing braces', () => {
    expect(render('a \\{{ b }} c }} d')).toBe('a {{ b }} c }} d');
    const { template } = parseTemplate('x {{ inputs.topic }} y');
    expect(template.parts).toEqual([{ text: 'x ' }, { ref: { path: ['inputs', 'topic'], offset: 2 } }, { text: ' y' }]);
    expect(template.references).toEqual([{ path: ['inputs', 'topic'], offset: 2 }]);
  });

  it('reports syntax errors with their offsets', () => {
    expect(parseTemplate('ok {{ inputs.a | upper }} then {{ nodes.x').errors).toEqual([
      {
        offset: 3,
        message:
          "expected a path such as '{{ inputs.topic }}' or '{{ nodes.draft.output }}', received '{{ inputs.a | upper }}'",
      },
      { offset: 31, message: "unclosed '{{': expected '}}' (write '\\{{' for a literal '{{')" },
    ]);
  });

  it('throws TEMPLATE_FAILED for a missing value, or writes nothing when asked', () => {
    const { template } = parseTemplate('[{{ nodes.plan.output.missing }}]');
    const error = (() => {
      try {
        renderTemplate(template, context);
      } catch (e) {
        return e;
      }
    })();
    expect(isOrchestratorError(error, 'TEMPLATE_FAILED')).toBe(true);
    expect((error as Error).message).toContain('nodes.plan.output.missing');
    expect(renderTemplate(template, context, { onMissing: 'empty' })).toBe('[]');
  });

  it('reads own data only: no prototype properties, no class instances', () => {
    const { template } = parseTemplate(
      '{{ inputs.topic.constructor }}{{ inputs.options.__proto__ }}{{ inputs.date.getTime }}',
    );
    const ctx: TemplateContext = { ...context, inputs: { ...context.inputs, date: new Date(0) } };
    expect(renderTemplate(template, ctx, { onMissing: 'empty' })).toBe('');
  });
});

/**
 * The parser as it first was, a character at a time: the reference the one that slices
 * literal text must agree with on every input (escapes, unclosed and bad placeholders).
 */
function parseOneCharAtATime(source: string) {
  const parts: unknown[] = [];
  const references: unknown[] = [];
  const errors: unknown[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('\\{{', i)) {
      text += '{{';
      i += 3;
      continue;
    }
    if (!source.startsWith('{{', i)) {
      text += source[i];
      i += 1;
      continue;
    }
    const close = source.indexOf('}}', i + 2);
    if (close < 0) {
      errors.push({ offset: i, message: "unclosed '{{': expected '}}' (write '\\{{' for a literal '{{')" });
      text += source.slice(i);
      break;
    }
    const inner = source.slice(i + 2, close).trim();
    if (/^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/.test(inner)) {
      if (text) parts.push({ text });
      text = '';
      const ref = { path: inner.split('.'), offset: i };
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
  return { template: { source, parts, references }, errors };
}

describe('parseTemplate against the parser that went a character at a time', () => {
  it('agrees on any text of braces, backslashes, paths and spaces', () => {
    const pieces = fc.constantFrom('{', '{{', '}', '}}', '\\', 'a', 'b.c', ' ', 'x-1', '.', '\n', '{{ a.b }}');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 24 }), (chosen) => {
        const source = chosen.join('');
        expect(parseTemplate(source)).toEqual(parseOneCharAtATime(source));
      }),
      { numRuns: 3000 },
    );
  });
});
