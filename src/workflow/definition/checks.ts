/**
 * Cross-field checks of a workflow: names that must exist, the graph, templates and
 * conditions. They run on the raw value even when the schema found problems, reading only
 * fields of the right type, so one pass reports every problem in the file.
 */
import { type CompiledCondition, parseCondition } from './condition.ts';
import { findCycles, formatCycle, type GraphNode, upstreamOf } from './graph.ts';
import { NAME_PATTERN } from './names.ts';
import { describeValue, didYouMean, type PathSegment, type RawProblem } from './problems.ts';
import { checkReference, type OutputShape, type ReferenceScope } from './references.ts';
import { WORKFLOW_DEFAULTS } from './schema.ts';
import { type CompiledTemplate, parseTemplate } from './template.ts';

/** Parsed templates and condition of one node, by node index. */
export interface NodeArtifacts {
  task?: CompiledTemplate;
  prompt?: CompiledTemplate;
  compensation?: CompiledTemplate;
  condition?: CompiledCondition;
}

/** What the checks need to know beyond the file. */
export interface CheckContext {
  /** Agent type names defined outside the file (a registry). */
  readonly externalAgents: ReadonlySet<string>;
  /** Every node kind known: built-in and added by plugins. */
  readonly nodeKinds: readonly string[];
}

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Rec) : undefined;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const name = (value: unknown): string | undefined =>
  typeof value === 'string' && NAME_PATTERN.test(value) ? value : undefined;

/** True when `value` has the declared input type. */
export function matchesInputType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return rec(value) !== undefined;
    default:
      return false;
  }
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

/** Runs every cross-field check; returns the problems and the parsed templates and conditions. */
export function checkWorkflow(
  raw: unknown,
  context: CheckContext,
): { problems: RawProblem[]; artifacts: NodeArtifacts[] } {
  const problems: RawProblem[] = [];
  const push = (path: PathSegment[], message: string, offset?: number) =>
    problems.push(offset === undefined ? { path, message } : { path, message, offset });
  const root = rec(raw) ?? {};

  const inputs = new Map<string, string>();
  for (const [key, def] of Object.entries(rec(root.inputs) ?? {})) {
    const type = str(rec(def)?.type);
    if (type === undefined) continue;
    inputs.set(key, type);
    const value = rec(def)?.default;
    if (value === undefined) continue;
    const notJson = jsonDataProblem(value);
    if (notJson) push(['inputs', key, 'default'], notJson);
    else if (!matchesInputType(value, type)) {
      push(['inputs', key, 'default'], `expected ${type} (the input's type), received ${describeValue(value)}`);
    }
  }

  const inlineAgents = Object.entries(rec(root.agents) ?? {});
  for (const [key, def] of inlineAgents) {
    const inner = name(rec(def)?.name);
    if (inner !== undefined && inner !== key)
      push(['agents', key, 'name'], `the name '${inner}' differs from its key '${key}'`);
  }
  const agentNames = new Set([...inlineAgents.map(([key]) => key), ...context.externalAgents]);
  const isolatedAgent = (agent: string | undefined) =>
    agent !== undefined && rec(rec(root.agents)?.[agent])?.workingDirectory === 'isolated';
  const groupNames = Object.keys(rec(root.groups) ?? {});
  const hasWorkflowCache = rec(root.cache) !== undefined;
  const rawNodes = Array.isArray(root.nodes) ? root.nodes : [];
  const limit = rec(root.limits)?.maxNodes;
  const maxNodes = typeof limit === 'number' ? limit : WORKFLOW_DEFAULTS.maxNodes;
  if (rawNodes.length > maxNodes) {
    push(['nodes'], `the workflow has ${rawNodes.length} nodes, more than limits.maxNodes (${maxNodes})`);
  }

  // Ids first: every later check resolves names against them.
  const firstIndex = new Map<string, number>();
  rawNodes.forEach((node, i) => {
    const id = name(rec(node)?.id);
    if (id === undefined) return;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, i);
    else push(['nodes', i, 'id'], `duplicate node id '${id}' (first used by nodes[${first}])`);
  });
  const graph: GraphNode[] = [];
  const dependencies = new Map<string, string[]>();
  rawNodes.forEach((node, i) => {
    const id = name(rec(node)?.id);
    const deps = Array.isArray(rec(node)?.dependsOn) ? (rec(node)?.dependsOn as unknown[]) : [];
    const kept: string[] = [];
    deps.forEach((dep, j) => {
      const depId = name(dep);
      if (depId === undefined) return;
      if (depId === id) push(['nodes', i, 'dependsOn', j], `node '${id}' cannot depend on itself`);
      else if (!firstIndex.has(depId))
        push(['nodes', i, 'dependsOn', j], `unknown node '${depId}'${didYouMean(depId, firstIndex.keys())}`);
      else if (kept.includes(depId)) push(['nodes', i, 'dependsOn', j], `'${depId}' is listed twice`);
      else kept.push(depId);
    });
    if (id !== undefined && firstIndex.get(id) === i) {
      graph.push({ id, dependsOn: kept });
      dependencies.set(id, kept);
    }
  });
  for (const cycle of findCycles(graph)) {
    const first = cycle[0] as string;
    const last = cycle[cycle.length - 1] as string;
    const index = firstIndex.get(first) ?? 0;
    const deps = rec(rawNodes[index])?.dependsOn;
    const j = Array.isArray(deps) ? deps.indexOf(last) : -1;
    push(
      j >= 0 ? ['nodes', index, 'dependsOn', j] : ['nodes', index, 'dependsOn'],
      `dependency cycle: ${formatCycle(cycle)}`,
    );
  }

  const outputShape = (id: string): OutputShape => {
    const node = rec(rawNodes[firstIndex.get(id) ?? -1]);
    const kind = str(node?.kind) ?? WORKFLOW_DEFAULTS.kind;
    if (kind === 'approval') return { kind: 'fields', fields: ['approved', 'comment'] };
    if (kind !== 'agent' && kind !== 'human') return { kind: 'any' };
    const schema = rec(rec(node?.output)?.schema);
    if (!schema) return { kind: 'text' };
    const properties = rec(schema.properties);
    const extra = schema.additionalProperties;
    return properties && extra !== true && rec(extra) === undefined
      ? { kind: 'fields', fields: Object.keys(properties) }
      : { kind: 'any' };
  };
  const allNodes: ReadonlySet<string> = new Set(firstIndex.keys());
  // The upstream set is computed only for a template or condition that has references, and
  // not kept: kept for every node of a long chain, these sets grow as V^2 (400 MB at 5,000).
  const scopeOf = (id: string, withSelf: boolean, session: boolean): ReferenceScope => {
    let visible: ReadonlySet<string> | undefined;
    return {
      nodeId: id,
      inputs,
      allNodes,
      get visible() {
        if (!visible) {
          const upstream = upstreamOf(id, dependencies);
          if (withSelf) upstream.add(id);
          visible = upstream;
        }
        return visible;
      },
      outputShape,
      session,
    };
  };
  const template = (source: unknown, path: PathSegment[], scope: ReferenceScope): CompiledTemplate | undefined => {
    if (typeof source !== 'string') return undefined;
    const parsed = parseTemplate(source);
    for (const error of parsed.errors) push(path, error.message, error.offset);
    for (const ref of parsed.template.references) {
      const message = checkReference(ref.path, scope);
      if (message) push(path, `{{ ${ref.path.join('.')} }}: ${message}`, ref.offset);
    }
    return parsed.errors.length === 0 ? parsed.template : undefined;
  };

  checkSessionSharing(rawNodes, push);

  const artifacts: NodeArtifacts[] = rawNodes.map((raw, i) => {
    const node = rec(raw);
    const id = name(node?.id);
    const out: NodeArtifacts = {};
    if (!node || id === undefined) return out;
    const at = (...rest: PathSegment[]): PathSegment[] => ['nodes', i, ...rest];
    const kind = str(node.kind) ?? WORKFLOW_DEFAULTS.kind;
    const builtIn = kind === 'agent' || kind === 'human' || kind === 'approval';
    if (!context.nodeKinds.includes(kind)) {
      push(
        at('kind'),
        `unknown node kind '${kind}' (known: ${context.nodeKinds.join(', ')})${didYouMean(kind, context.nodeKinds)}`,
      );
    }
    const has = (field: string) => node[field] !== undefined;
    const forbid = (field: string, why: string) =>
      has(field) && push(at(field), `a${kind === 'agent' || kind === 'approval' ? 'n' : ''} ${kind} node ${why}`);
    if (kind === 'agent') {
      if (!has('agent'))
        push(at('agent'), 'required field is missing (an agent node names the agent type that runs it)');
      if (!has('task')) push(at('task'), 'required field is missing (an agent node needs a task)');
      forbid('prompt', "takes 'task', not 'prompt'");
    } else if (kind === 'human' || kind === 'approval') {
      if (!has('prompt'))
        push(at('prompt'), `required field is missing (a${kind === 'approval' ? 'n' : ''} ${kind} node asks a person)`);
      forbid('task', "asks a person: use 'prompt', not 'task'");
      forbid('agent', 'is answered by a person and runs no agent');
      forbid('onConflict', 'works in no worktree, so it has no merge conflict');
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
    if (node.cache === true && !hasWorkflowCache) {
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

    checkSession(node, id, at, push, {
      kind,
      firstIndex,
      rawNodes,
      dependencies,
      isolated: (n) => n?.workspace === 'isolated' || isolatedAgent(name(n?.agent)),
    });

    out.task = template(node.task, at('task'), scopeOf(id, false, true));
    out.prompt = template(node.prompt, at('prompt'), scopeOf(id, false, true));
    const compensationTask = typeof compensation === 'string' ? compensation : rec(compensation)?.task;
    out.compensation = template(
      compensationTask,
      typeof compensation === 'string' ? at('compensation') : at('compensation', 'task'),
      scopeOf(id, true, true),
    );
    if (typeof node.condition === 'string') {
      const parsed = parseCondition(node.condition);
      for (const error of parsed.errors) push(at('condition'), error.message, error.offset);
      for (const ref of parsed.condition?.references ?? []) {
        const message = checkReference(ref.path, scopeOf(id, false, false));
        if (message) push(at('condition'), message, ref.offset);
      }
      out.condition = parsed.condition;
    }
    return out;
  });
  return { problems, artifacts };
}

/**
 * `session.from` must name an upstream agent node, and both nodes must work in the shared
 * workspace: the SDK keys a conversation by its working directory, so a worktree cannot carry
 * on a conversation held elsewhere.
 */
function checkSession(
  node: Rec,
  id: string,
  at: (...rest: PathSegment[]) => PathSegment[],
  push: (path: PathSegment[], message: string) => void,
  context: {
    kind: string;
    firstIndex: ReadonlyMap<string, number>;
    rawNodes: readonly unknown[];
    dependencies: ReadonlyMap<string, string[]>;
    isolated: (node: Rec | undefined) => boolean;
  },
): void {
  const session = rec(node.session);
  if (!session) return;
  if (context.kind !== 'agent') {
    push(at('session'), `a ${context.kind} node runs no agent, so it has no conversation to carry on`);
    return;
  }
  const from = name(session.from);
  if (from === undefined) return;
  const index = context.firstIndex.get(from);
  if (index === undefined) {
    push(at('session', 'from'), `unknown node '${from}'${didYouMean(from, context.firstIndex.keys())}`);
    return;
  }
  const source = rec(context.rawNodes[index]);
  if ((str(source?.kind) ?? WORKFLOW_DEFAULTS.kind) !== 'agent') {
    push(at('session', 'from'), `'${from}' is not an agent node, so it has no conversation`);
  } else if (from === id || !upstreamOf(id, context.dependencies).has(from)) {
    push(
      at('session', 'from'),
      `'${from}' must finish before '${id}' starts: list it (or a node after it) in dependsOn`,
    );
  } else if (context.isolated(node) || context.isolated(source)) {
    push(
      at('session', 'from'),
      `'${id}' and '${from}' must both work in the shared workspace (a conversation belongs to its working directory)`,
    );
  }
}

/**
 * A conversation continued in place (`fork: false`) grows with the continuing node's turns, so
 * it can be taken up by that one node only: a second taker would interleave with it or see it
 * at an unpredictable point. Forks of a conversation nobody continues in place always see it
 * exactly as its node left it.
 */
function checkSessionSharing(rawNodes: readonly unknown[], push: (path: PathSegment[], message: string) => void): void {
  const takers = new Map<string, Array<{ index: number; id: string; fork: boolean }>>();
  rawNodes.forEach((raw, index) => {
    const node = rec(raw);
    const session = rec(node?.session);
    const from = name(session?.from);
    const id = name(node?.id);
    if (from === undefined || id === undefined || (str(node?.kind) ?? WORKFLOW_DEFAULTS.kind) !== 'agent') return;
    const list = takers.get(from) ?? [];
    list.push({ index, id, fork: session?.fork === true });
    takers.set(from, list);
  });
  for (const [from, list] of takers) {
    const inPlace = list.find((t) => !t.fork);
    if (!inPlace || list.length < 2) continue;
    for (const other of list) {
      if (other === inPlace) continue;
      push(
        ['nodes', other.index, 'session', 'from'],
        `the conversation of '${from}' is continued in place by '${inPlace.id}', so no other node can take it up: fork it from '${inPlace.id}', or give both session.fork: true`,
      );
    }
  }
}
