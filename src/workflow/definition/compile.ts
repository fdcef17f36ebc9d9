import { rememberJson } from '../../events/index.ts';
import { type AgentType, toAgentType } from './agent-type.ts';
import { checkAlerts, checkBudget, compileAlerts, compileBudget } from './alerts.ts';
import { type CheckedWorkflow, checkWorkflow, type NodeArtifacts } from './checks.ts';
import type { CompiledCompensation, CompiledGroup, CompiledInput, CompiledNode, CompiledWorkflow } from './compiled.ts';
import { durationToMs } from './duration.ts';
import { type DefinitionProblem, definitionError, formatPath, issuesToProblems, type RawProblem } from './problems.ts';
import { compileRetryPolicy, DEFAULT_RETRY_POLICY } from './retry.ts';
import {
  BUILT_IN_NODE_KINDS,
  NODE_PRIORITIES,
  type ParsedWorkflow,
  WORKFLOW_DEFAULTS,
  workflowSchema,
} from './schema.ts';
import type { ConflictPolicy, WorkflowDefinition } from './types.ts';
import type { Locator } from './yaml-source.ts';

/** Options of the workflow compiler and loaders. */
export interface CompileOptions {
  /** File name used in problems and kept on the compiled workflow. @default '<inline>' */
  readonly file?: string;
  /** Agent types defined outside the workflow that its nodes may name; the workflow's own `agents` win. @default {} */
  readonly agentTypes?: Readonly<Record<string, AgentType>>;
  /** Node kinds added by plugins, besides `agent`, `human` and `approval`. @default [] */
  readonly nodeKinds?: readonly string[];
}

/**
 * Validates and compiles a workflow given as plain data (parsed YAML or JSON, or a TypeScript
 * object). `locate` places problems in the source text when there is one.
 * @throws OrchestratorError `WORKFLOW_INVALID` whose `details.problems` lists every problem.
 */
export function compileWorkflow(value: unknown, options: CompileOptions = {}, locate?: Locator): CompiledWorkflow {
  const file = options.file ?? '<inline>';
  const parsed = workflowSchema.safeParse(value, { reportInput: true });
  const problems: RawProblem[] = parsed.success ? [] : issuesToProblems(parsed.error.issues, workflowSchema);
  const external = options.agentTypes ?? {};
  const checked = checkWorkflow(value, {
    externalAgents: new Set(Object.keys(external)),
    nodeKinds: [...BUILT_IN_NODE_KINDS, ...(options.nodeKinds ?? [])],
  });
  problems.push(...checked.problems);
  const root = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const inlineAgents = typeof root.agents === 'object' && root.agents !== null ? Object.keys(root.agents) : [];
  problems.push(
    ...checkAlerts(root.alerts, ['alerts']),
    ...checkBudget(root.budget, ['budget'], new Set([...inlineAgents, ...Object.keys(external)])),
  );
  if (problems.length > 0 || !parsed.success) {
    throw definitionError('WORKFLOW_INVALID', 'Workflow', file, locateAll(file, problems, locate));
  }
  const compiled = build(ownedCopy(parsed.data, value), checked, file, external);
  // Serialized once, while not frozen yet (twice as fast): every run records this text.
  rememberJson(compiled.definition, JSON.stringify(compiled.definition));
  return deepFreeze(compiled);
}

/**
 * The schema's output as a value of the compiled workflow's own. zod makes new objects and
 * arrays of what it checks, but hands over as they are the values it takes without a shape
 * (`z.unknown()`: an input's default, a JSON schema's members, a node's params), which are the
 * caller's; those alone are copied, so freezing the compiled workflow never freezes the
 * caller's objects and a later change of theirs never reaches it. A copy of the whole (it was
 * a `structuredClone`) took ~25 ms for 10,000 nodes and kept a second copy of every string.
 *
 * The schema transforms nothing, so a value it handed over sits at the same place in its
 * output as in the input: the two are walked side by side, and a child of the output that is
 * the very object at the same key of the input is the caller's. (A set of every object of the
 * input, looked up instead: 9.3 against 5.8 ms for 10,000 nodes.)
 */
function ownedCopy<T>(parsed: T, given: unknown): T {
  const made: Array<Record<string, unknown>> = [parsed as Record<string, unknown>];
  const theirs: unknown[] = [given];
  while (made.length > 0) {
    const item = made.pop() as Record<string, unknown>;
    const counterpart = theirs.pop();
    const source =
      typeof counterpart === 'object' && counterpart !== null ? (counterpart as Record<string, unknown>) : undefined;
    for (const key in item) {
      const child = item[key];
      if (typeof child !== 'object' || child === null) continue;
      const same = source === undefined || !Object.hasOwn(source, key) ? undefined : source[key];
      if (child === same) item[key] = structuredClone(child);
      else {
        made.push(child as Record<string, unknown>);
        theirs.push(same);
      }
    }
  }
  return parsed;
}

function locateAll(file: string, problems: readonly RawProblem[], locate: Locator | undefined): DefinitionProblem[] {
  const seen = new Set<string>();
  const out: DefinitionProblem[] = [];
  for (const problem of problems) {
    const at = problem.offset === undefined ? { key: problem.at === 'key' } : { key: false, offset: problem.offset };
    const position = locate ? locate(problem.path, at) : { line: 0, column: 0 };
    const located = { file, ...position, path: formatPath(problem.path), message: problem.message };
    // The schema and the cross-field checks can notice the same thing; say it once.
    const key = `${located.path}\n${located.message}`;
    if (!seen.has(key)) out.push(located);
    seen.add(key);
  }
  return out;
}

type ParsedNode = ParsedWorkflow['nodes'][number];

function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function build(
  d: ParsedWorkflow,
  { artifacts, order, positions: position }: CheckedWorkflow,
  file: string,
  external: Readonly<Record<string, AgentType>>,
): CompiledWorkflow {
  const agents = record<AgentType>();
  for (const [key, def] of Object.entries(d.agents ?? {})) agents[key] = toAgentType(def, key);
  const agentNamed = (agentName: string): AgentType => {
    const found = agents[agentName] ?? external[agentName];
    if (!found) throw new Error(`agent '${agentName}' vanished after validation`);
    agents[agentName] = found;
    return found;
  };

  const inputs = record<CompiledInput>();
  for (const [key, def] of Object.entries(d.inputs ?? {})) {
    inputs[key] = {
      name: key,
      type: def.type,
      default: def.default,
      required: def.required ?? def.default === undefined,
      description: def.description,
    };
  }
  const groups = record<CompiledGroup>();
  for (const [key, def] of Object.entries(d.groups ?? {})) {
    groups[key] = { name: key, concurrency: def.concurrency, description: def.description };
  }
  const cache = d.cache ? { ttlMs: durationToMs(d.cache.ttl) } : undefined;

  // Each list made at its size (counted first): grown by `push`, a list of one to three ids
  // took room for seventeen, 1.8 MB for 10,000 nodes. Counted by position, not in records keyed
  // by id (two more dictionaries of every id, for a 10,000-node workflow); the positions are
  // the checks' (no problem found, so every id is listed once).
  const count = d.nodes.length;
  const sizes = new Int32Array(count);
  for (const node of d.nodes) {
    for (const dep of node.dependsOn ?? []) {
      const at = position.get(dep);
      if (at !== undefined) sizes[at] = (sizes[at] as number) + 1;
    }
  }
  const lists: string[][] = new Array(count);
  for (let i = 0; i < count; i++) lists[i] = new Array(sizes[i]);
  sizes.fill(0);
  for (const node of d.nodes) {
    for (const dep of node.dependsOn ?? []) {
      const at = position.get(dep);
      if (at === undefined) continue;
      const filled = sizes[at] as number;
      (lists[at] as string[])[filled] = node.id;
      sizes[at] = filled + 1;
    }
  }
  const dependents = record<string[]>();
  for (let i = 0; i < count; i++) dependents[(d.nodes[i] as ParsedNode).id] = lists[i] as string[];

  const nodes = record<CompiledNode>();
  const dependencies = record<readonly string[]>();
  d.nodes.forEach((n, index) => {
    const node = compileNode(n, index, artifacts[index] ?? {}, {
      agentNamed,
      cache,
      onConflict: d.onConflict ?? WORKFLOW_DEFAULTS.onConflict,
      dependents: dependents[n.id] ?? [],
    });
    dependencies[n.id] = node.dependsOn;
    nodes[n.id] = node;
  });

  // `d` is already a private copy, so the compiled form and the kept definition may share it.
  const definition: WorkflowDefinition = d;
  return {
    file,
    name: d.name,
    description: d.description,
    version: d.version === undefined ? undefined : String(d.version),
    inputs,
    agents,
    groups,
    concurrency: d.concurrency,
    onFailure: d.onFailure ?? WORKFLOW_DEFAULTS.onFailure,
    rollback: d.rollback ?? WORKFLOW_DEFAULTS.rollback,
    onConflict: d.onConflict ?? WORKFLOW_DEFAULTS.onConflict,
    cache,
    limits: {
      maxNodes: d.limits?.maxNodes ?? WORKFLOW_DEFAULTS.maxNodes,
      maxAddedNodes: d.limits?.maxAddedNodes ?? WORKFLOW_DEFAULTS.maxAddedNodes,
      maxMemoryValueBytes: d.limits?.maxMemoryValueBytes ?? WORKFLOW_DEFAULTS.maxMemoryValueBytes,
      maxPromptChars: d.limits?.maxPromptChars ?? WORKFLOW_DEFAULTS.maxPromptChars,
    },
    alerts: d.alerts ? compileAlerts(d.alerts) : undefined,
    budget: d.budget ? compileBudget(d.budget) : undefined,
    nodes,
    nodeIds: d.nodes.map((n) => n.id),
    dependencies,
    dependents,
    // The checks ordered the same graph: nothing they found, so the file's dependencies as parsed.
    topologicalOrder: order,
    roots: d.nodes.filter((n) => (n.dependsOn ?? []).length === 0).map((n) => n.id),
    definition,
  };
}

/** What compiling one node needs from its workflow. */
export interface NodeCompileContext {
  /** The agent type of a name the checks accepted. */
  agentNamed(name: string): AgentType;
  /** The workflow's default cache (for `cache: true`). */
  readonly cache: { readonly ttlMs: number } | undefined;
  /** The workflow's merge conflict policy, for nodes that do not say. */
  readonly onConflict: ConflictPolicy;
  readonly dependents: readonly string[];
}

/** Compiles one node that passed the schema and the checks (`artifacts`: its parsed templates). */
export function compileNode(
  n: ParsedWorkflow['nodes'][number],
  index: number,
  art: NodeArtifacts,
  context: NodeCompileContext,
): CompiledNode {
  const agent = n.agent === undefined ? undefined : context.agentNamed(n.agent);
  let compensation: CompiledCompensation | undefined;
  if (n.compensation !== undefined && art.compensation) {
    const by = typeof n.compensation === 'object' ? (n.compensation.agent ?? n.agent) : n.agent;
    compensation = { task: art.compensation, agent: context.agentNamed(by as string) };
  }
  return {
    id: n.id,
    index,
    kind: n.kind ?? WORKFLOW_DEFAULTS.kind,
    description: n.description,
    agent,
    task: art.task,
    prompt: art.prompt,
    dependsOn: n.dependsOn ?? [],
    dependents: context.dependents,
    group: n.group,
    condition: art.condition,
    trigger: n.trigger ?? WORKFLOW_DEFAULTS.trigger,
    retry: n.retry ? compileRetryPolicy(n.retry) : (agent?.retry ?? DEFAULT_RETRY_POLICY),
    timeoutMs: n.timeout === undefined ? agent?.timeoutMs : durationToMs(n.timeout),
    outputSchema: n.output?.schema,
    cache:
      n.cache === true ? context.cache : typeof n.cache === 'object' ? { ttlMs: durationToMs(n.cache.ttl) } : undefined,
    compensation,
    workspace: n.workspace ?? (agent?.workingDirectory === 'isolated' ? 'isolated' : WORKFLOW_DEFAULTS.workspace),
    onConflict: n.onConflict ?? context.onConflict,
    session: n.session ? { from: n.session.from, fork: n.session.fork ?? false } : undefined,
    params: n.params,
    budget:
      n.budget && (n.budget.usd !== undefined || n.budget.tokens !== undefined)
        ? { usd: n.budget.usd, tokens: n.budget.tokens }
        : undefined,
    priority: typeof n.priority === 'string' ? NODE_PRIORITIES[n.priority] : (n.priority ?? NODE_PRIORITIES.normal),
  };
}

/**
 * Freezes plain objects and arrays all the way down (compiled values hold nothing else). An
 * object already frozen is taken as done: compiled parts are frozen once, and shared ones (the
 * definition is reachable from several places) are not walked again. A stack, not recursion, so
 * a deep value cannot overflow it.
 */
export function deepFreeze<T>(value: T): T {
  const stack: object[] = [];
  // Only objects not frozen yet go on the stack: the ids, texts and numbers of a 10,000-node
  // workflow (some 100,000 of them) were pushed and popped for nothing.
  const visit = (item: unknown): void => {
    if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) stack.push(item);
  };
  visit(value);
  while (stack.length > 0) {
    const item = stack.pop() as object;
    if (Object.isFrozen(item)) continue;
    Object.freeze(item);
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) visit(item[i]);
    } else {
      for (const key in item) visit((item as Record<string, unknown>)[key]);
    }
  }
  return value;
}
