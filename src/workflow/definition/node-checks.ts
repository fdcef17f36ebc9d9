/**
 * The cross-field checks of one node, over a view of the rest of the graph. The compiler runs
 * them for every node of a file (the view is the file's nodes); a run-time addition runs them
 * for the added nodes only (the view is the running plan plus the additions), so adding k
 * nodes costs in proportion to k and to what they read, not to the size of the graph.
 */
import { type CompiledCondition, parseCondition } from './condition.ts';
import { upstreamOf } from './graph.ts';
import { NAME_PATTERN } from './names.ts';
import { describeValue, didYouMean, type PathSegment } from './problems.ts';
import { checkReference, type NameSet, type OutputShape, type ReferenceScope } from './references.ts';
import { WORKFLOW_DEFAULTS } from './schema.ts';
import type { CompiledTemplate, parseTemplate } from './template.ts';

/** Parsed templates and condition of one node. */
export interface NodeArtifacts {
  task?: CompiledTemplate;
  prompt?: CompiledTemplate;
  compensation?: CompiledTemplate;
  condition?: CompiledCondition;
}

/** What the checks of a node read about the other nodes. */
export interface GraphLookup {
  /** Every node id, those checked included. */
  readonly ids: NameSet;
  /** Direct dependencies of a node (valid, known ones). */
  dependsOn(id: string): readonly string[] | undefined;
  /** The node's kind, or undefined for an unknown id. */
  kind(id: string): string | undefined;
  outputShape(id: string): OutputShape;
  /** Whether the node works in a worktree of its own. */
  isolated(id: string): boolean;
}

/** Everything one node's checks need besides the node. */
export interface NodeScope {
  /** Every node kind known: built-in and added by plugins. */
  readonly nodeKinds: readonly string[];
  readonly agentNames: ReadonlySet<string>;
  readonly groupNames: readonly string[];
  readonly hasWorkflowCache: boolean;
  /** Declared inputs and their types. */
  readonly inputs: ReadonlyMap<string, string>;
  /** Whether an agent type works in its own worktree (`workingDirectory: isolated`). */
  isolatedAgent(name: string | undefined): boolean;
  readonly graph: GraphLookup;
  /** `parseTemplate`, or a memo of it: a compiled template is frozen, so nodes may share one. */
  parseTemplate(source: string): ReturnType<typeof parseTemplate>;
}

type Rec = Record<string, unknown>;
export type Push = (path: PathSegment[], message: string, offset?: number) => void;

const rec = (value: unknown): Rec | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Rec) : undefined;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const name = (value: unknown): string | undefined =>
  typeof value === 'string' && NAME_PATTERN.test(value) ? value : undefined;

/** The output shape of a raw node, for checking `nodes.ID.output.field`. */
export function rawOutputShape(node: unknown): OutputShape {
  const kind = str(rec(node)?.kind) ?? WORKFLOW_DEFAULTS.kind;
  if (kind === 'approval') return { kind: 'fields', fields: ['approved', 'comment'] };
  if (kind !== 'agent' && kind !== 'human') return { kind: 'any' };
  return schemaShape(rec(rec(rec(node)?.output)?.schema));
}

/** The output shape given by an output JSON Schema (none: text). */
export function schemaShape(schema: Rec | undefined): OutputShape {
  if (!schema) return { kind: 'text' };
  const properties = rec(schema.properties);
  const extra = schema.additionalProperties;
  return properties && extra !== true && rec(extra) === undefined
    ? { kind: 'fields', fields: Object.keys(properties) }
    : { kind: 'any' };
}

/** Says why a value is not plain JSON data (functions, class instances, NaN, cycles), or undefined. */
export function jsonDataProblem(value: unknown, seen = new Set<unknown>()): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${value} is not a JSON number`;
  if (typeof value !== 'object') return `a ${typeof value} is not JSON data`;
  if (seen.has(value)) return 'the value refers to itself';
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return 'a class instance is not JSON data';
  seen.add(value);
  for (const item of Object.values(value)) {
    const problem = jsonDataProblem(item, seen);
    if (problem) return problem;
  }
  seen.delete(value);
  return undefined;
}

/**
 * Checks one node whose id is valid (dependencies are checked by the caller, who knows the
 * whole list); returns its parsed templates and condition.
 */
export function checkNode(
  node: Rec,
  id: string,
  at: (...rest: PathSegment[]) => PathSegment[],
  push: Push,
  scope: NodeScope,
): NodeArtifacts {
  const out: NodeArtifacts = {};
  const kind = str(node.kind) ?? WORKFLOW_DEFAULTS.kind;
  const builtIn = kind === 'agent' || kind === 'human' || kind === 'approval';
  const { agentNames, groupNames, nodeKinds } = scope;
  if (!nodeKinds.includes(kind)) {
    push(at('kind'), `unknown node kind '${kind}' (known: ${nodeKinds.join(', ')})${didYouMean(kind, nodeKinds)}`);
  }
  const has = (field: string) => node[field] !== undefined;
  const forbid = (field: string, why: string) =>
    has(field) && push(at(field), `a${kind === 'agent' || kind === 'approval' ? 'n' : ''} ${kind} node ${why}`);
  if (kind === 'agent') {
    if (!has('agent')) push(at('agent'), 'required field is missing (an agent node names the agent type that runs it)');
    if (!has('task')) push(at('task'), 'required field is missing (an agent node needs a task)');
    forbid('prompt', "takes 'task', not 'prompt'");
  } else if (kind === 'human' || kind === 'approval') {
    if (!has('prompt'))
      push(at('prompt'), `required field is missing (a${kind === 'approval' ? 'n' : ''} ${kind} node asks a person)`);
    forbid('task', "asks a person: use 'prompt', not 'task'");
    forbid('agent', 'is answered by a person and runs no agent');
    forbid('onConflict', 'works in no worktree, so it has no merge conflict');
    forbid('budget', 'runs no agent, so it spends nothing on a model');
    forbid('priority', 'runs no agent, so it sends no model requests');
    if (kind === 'approval') forbid('output', 'has a fixed output: { approved, comment }');
  }
  if (builtIn) forbid('params', "takes no 'params' (only plugin node kinds do)");

  const agent = name(node.agent);
  if (agent !== undefined && !agentNames.has(agent)) {
    push(
      at('agent'),
      `unknown agent '${agent}'${didYouMean(agent, agentNames) || ` (defined: ${[...agentNames].join(', ') || 'none'})`}`,
    );
  }
  const group = name(node.group);
  if (group !== undefined && !groupNames.includes(group)) {
    push(
      at('group'),
      `unknown group '${group}'${didYouMean(group, groupNames) || ` (defined: ${groupNames.join(', ') || 'none'})`}`,
    );
  }
  if (node.cache === true && !scope.hasWorkflowCache) {
    push(at('cache'), "cache: true needs a workflow-level cache.ttl; or write cache: { ttl: '1h' }");
  }
  const schema = rec(node.output)?.schema;
  if (rec(schema) !== undefined) {
    const notJson = jsonDataProblem(schema);
    if (notJson) push(at('output', 'schema'), notJson);
    else if (rec(schema)?.type !== 'object') {
      push(
        at('output', 'schema', 'type'),
        `expected the output schema's root to have type: object, received ${describeValue(rec(schema)?.type)}`,
      );
    }
  }
  if (rec(node.params) !== undefined) {
    const notJson = jsonDataProblem(node.params);
    if (notJson) push(at('params'), notJson);
  }

  const compensation = node.compensation;
  const compensationAgent = name(rec(compensation)?.agent);
  if (compensationAgent !== undefined && !agentNames.has(compensationAgent)) {
    push(
      at('compensation', 'agent'),
      `unknown agent '${compensationAgent}'${didYouMean(compensationAgent, agentNames)}`,
    );
  }
  if (compensation !== undefined && compensationAgent === undefined && agent === undefined) {
    push(at('compensation'), 'this node has no agent, so its compensation needs one: { task: ..., agent: NAME }');
  }

  checkSession(node, id, kind, at, push, scope);

  // The upstream set is computed only for a template or condition that has references, and
  // not kept: kept for every node of a long chain, these sets grow as V^2 (400 MB at 5,000).
  const scopeOf = (withSelf: boolean, session: boolean): ReferenceScope => {
    let visible: ReadonlySet<string> | undefined;
    return {
      nodeId: id,
      inputs: scope.inputs,
      allNodes: scope.graph.ids,
      get visible() {
        if (!visible) {
          const upstream = upstreamOf(id, { get: (dep) => scope.graph.dependsOn(dep) });
          if (withSelf) upstream.add(id);
          visible = upstream;
        }
        return visible;
      },
      outputShape: (dep) => scope.graph.outputShape(dep),
      session,
    };
  };
  // The scope is made only for a template with references (most have none).
  const template = (
    source: unknown,
    path: PathSegment[],
    scopeFor: () => ReferenceScope,
  ): CompiledTemplate | undefined => {
    if (typeof source !== 'string') return undefined;
    const parsed = scope.parseTemplate(source);
    for (const error of parsed.errors) push(path, error.message, error.offset);
    const refScope = parsed.template.references.length > 0 ? scopeFor() : undefined;
    for (const ref of parsed.template.references) {
      const message = checkReference(ref.path, refScope as ReferenceScope);
      if (message) push(path, `{{ ${ref.path.join('.')} }}: ${message}`, ref.offset);
    }
    return parsed.errors.length === 0 ? parsed.template : undefined;
  };
  out.task = template(node.task, at('task'), () => scopeOf(false, true));
  out.prompt = template(node.prompt, at('prompt'), () => scopeOf(false, true));
  const compensationTask = typeof compensation === 'string' ? compensation : rec(compensation)?.task;
  out.compensation = template(
    compensationTask,
    typeof compensation === 'string' ? at('compensation') : at('compensation', 'task'),
    () => scopeOf(true, true),
  );
  if (typeof node.condition === 'string') {
    const parsed = parseCondition(node.condition);
    for (const error of parsed.errors) push(at('condition'), error.message, error.offset);
    const references = parsed.condition?.references ?? [];
    const conditionScope = references.length > 0 ? scopeOf(false, false) : undefined;
    for (const ref of references) {
      const message = checkReference(ref.path, conditionScope as ReferenceScope);
      if (message) push(at('condition'), message, ref.offset);
    }
    out.condition = parsed.condition;
  }
  return out;
}

/**
 * `session.from` must name an upstream agent node, and both nodes must work in the shared
 * workspace: the SDK keys a conversation by its working directory, so a worktree cannot carry
 * on a conversation held elsewhere.
 */
function checkSession(
  node: Rec,
  id: string,
  kind: string,
  at: (...rest: PathSegment[]) => PathSegment[],
  push: Push,
  scope: NodeScope,
): void {
  const session = rec(node.session);
  if (!session) return;
  if (kind !== 'agent') {
    push(at('session'), `a ${kind} node runs no agent, so it has no conversation to carry on`);
    return;
  }
  const from = name(session.from);
  if (from === undefined) return;
  const { graph } = scope;
  const sourceKind = graph.kind(from);
  if (sourceKind === undefined) {
    push(at('session', 'from'), `unknown node '${from}'${didYouMean(from, graph.ids)}`);
    return;
  }
  if (sourceKind !== 'agent') {
    push(at('session', 'from'), `'${from}' is not an agent node, so it has no conversation`);
  } else if (from === id || !upstreamOf(id, { get: (dep) => graph.dependsOn(dep) }).has(from)) {
    push(
      at('session', 'from'),
      `'${from}' must finish before '${id}' starts: list it (or a node after it) in dependsOn`,
    );
  } else if (node.workspace === 'isolated' || scope.isolatedAgent(name(node.agent)) || graph.isolated(from)) {
    push(
      at('session', 'from'),
      `'${id}' and '${from}' must both work in the shared workspace (a conversation belongs to its working directory)`,
    );
  }
}

/** One node that takes up another's conversation. */
export interface ConversationTaker {
  readonly index: number;
  readonly id: string;
  readonly fork: boolean;
}

/** The node whose conversation a raw node takes up, if it is an agent node that does. */
export function takerOf(raw: unknown, index: number): (ConversationTaker & { from: string }) | undefined {
  const node = rec(raw);
  const from = name(rec(node?.session)?.from);
  const id = name(node?.id);
  if (from === undefined || id === undefined || (str(node?.kind) ?? WORKFLOW_DEFAULTS.kind) !== 'agent')
    return undefined;
  return { index, id, from, fork: rec(node?.session)?.fork === true };
}

/**
 * A conversation continued in place (`fork: false`) grows with the continuing node's turns, so
 * it can be taken up by that one node only: a second taker would interleave with it or see it
 * at an unpredictable point. Forks of a conversation nobody continues in place always see it
 * exactly as its node left it. Reports the takers of `checked` that conflict (index >= 0;
 * takers with a negative index are nodes already accepted, never reported).
 */
export function checkTakers(
  takers: ReadonlyMap<string, readonly ConversationTaker[]>,
  push: Push,
  pathOf: (index: number) => PathSegment[],
): void {
  for (const [from, list] of takers) {
    const inPlace = list.find((t) => !t.fork);
    if (!inPlace || list.length < 2) continue;
    // A new node continuing in place a conversation that accepted nodes take up already is the one refused.
    const refused = inPlace.index >= 0 && list.some((t) => t.index < 0) ? [inPlace] : [];
    for (const other of [...refused, ...list]) {
      if ((other === inPlace && refused.length === 0) || other.index < 0) continue;
      push(
        pathOf(other.index),
        other === inPlace
          ? `the conversation of '${from}' is taken up by other nodes already, so it cannot be continued in place: use session.fork: true`
          : `the conversation of '${from}' is continued in place by '${inPlace.id}', so no other node can take it up: fork it from '${inPlace.id}', or give both session.fork: true`,
      );
    }
  }
}
