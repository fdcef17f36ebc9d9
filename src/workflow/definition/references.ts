import { didYouMean } from './problems.ts';

/** What is known at compile time about a node's output, for checking `nodes.ID.output.field`. */
export type OutputShape =
  | { readonly kind: 'text' }
  | { readonly kind: 'fields'; readonly fields: readonly string[] }
  | { readonly kind: 'any' };

/** A set of names: what checks need of one (membership, and the names for suggestions). */
export interface NameSet extends Iterable<string> {
  has(name: string): boolean;
}

/** What a template or condition of one node may read. */
export interface ReferenceScope {
  /** The node whose task, prompt, compensation or condition is checked. */
  readonly nodeId: string;
  /** Declared inputs and their types. */
  readonly inputs: ReadonlyMap<string, string>;
  /** Every node id of the workflow. */
  readonly allNodes: NameSet;
  /** Nodes this one may read: its transitive upstream nodes (and itself for compensation). */
  readonly visible: ReadonlySet<string>;
  /** The output shape of a node. */
  readonly outputShape: (nodeId: string) => OutputShape;
  /** Whether `session.*` exists here (templates yes, conditions no). */
  readonly session: boolean;
}

const SESSION_FIELDS = ['id', 'workspace'];
const NODE_FIELDS = ['output', 'status'];

/**
 * Checks one reference path against the workflow; returns a message saying what is wrong, or
 * undefined when the path is fine. Pure: the compiler and graph changes share it.
 */
export function checkReference(path: readonly string[], scope: ReferenceScope): string | undefined {
  const [root, name, field, ...rest] = path;
  const roots = scope.session ? ['inputs', 'nodes', 'session'] : ['inputs', 'nodes'];
  const shown = path.join('.');
  if (root === undefined || !roots.includes(root)) {
    return `unknown name '${root}' in '${shown}': expected ${scope.session ? 'inputs.NAME, nodes.ID.output, nodes.ID.status or session.workspace' : 'inputs.NAME, nodes.ID.output or nodes.ID.status'}${didYouMean(root ?? '', roots)}`;
  }
  if (root === 'session') {
    if (name === undefined || !SESSION_FIELDS.includes(name) || field !== undefined) {
      return `unknown session field in '${shown}': expected session.workspace or session.id`;
    }
    return undefined;
  }
  if (name === undefined) return `'${root}' needs a name: ${root === 'inputs' ? 'inputs.NAME' : 'nodes.ID.output'}`;
  if (root === 'inputs') {
    const type = scope.inputs.get(name);
    if (type === undefined) {
      const declared = [...scope.inputs.keys()];
      const hint =
        didYouMean(name, declared) ||
        (declared.length ? ` (declared: ${declared.join(', ')})` : ' (no inputs are declared)');
      return `unknown input '${name}'${hint}`;
    }
    if (field !== undefined && type !== 'object' && type !== 'array') {
      return `input '${name}' is of type ${type}, so '${shown}' reads a field of a non-object`;
    }
    return undefined;
  }
  if (!scope.allNodes.has(name)) return `unknown node '${name}'${didYouMean(name, scope.allNodes)}`;
  if (!scope.visible.has(name)) {
    return name === scope.nodeId
      ? `node '${name}' cannot read its own ${field ?? 'output'} before it has run`
      : `node '${name}' is not upstream of '${scope.nodeId}': add it to dependsOn (directly or through another node) to read it`;
  }
  if (field === undefined || !NODE_FIELDS.includes(field)) {
    return `expected nodes.${name}.output or nodes.${name}.status, received '${shown}'${field ? didYouMean(field, NODE_FIELDS) : ''}`;
  }
  if (field === 'status') {
    return rest.length > 0 ? `'nodes.${name}.status' is a string and has no fields` : undefined;
  }
  const first = rest[0];
  if (first === undefined) return undefined;
  const shape = scope.outputShape(name);
  if (shape.kind === 'text') {
    return `node '${name}' has no output schema, so its output is text: use nodes.${name}.output, or give it output.schema`;
  }
  if (shape.kind === 'fields' && !shape.fields.includes(first)) {
    const hint =
      didYouMean(first, shape.fields) || ` (its output schema declares: ${shape.fields.join(', ') || 'no fields'})`;
    return `node '${name}' output has no field '${first}'${hint}`;
  }
  return undefined;
}
