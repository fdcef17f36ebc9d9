import type { AgentRuntime, AgentSpec, ToolHostShape, WarmStartWant } from '../agents/index.ts';
import type { EventLog } from '../log/index.ts';
import { rulesOf } from '../security/index.ts';
import {
  type CompiledPlan,
  type PlanNode,
  type SessionState,
  type UpcomingCandidate,
  upcomingNodes,
  type WorkflowRun,
} from '../workflow/index.ts';

/**
 * Which optional orchestrator tools an agent of this type gets: what the launcher's tool host
 * offers, and so part of the configuration a spare must be started with to be usable.
 */
export function toolShapeOf(plan: CompiledPlan, agentType: string | undefined): ToolHostShape {
  const type = agentType === undefined ? undefined : plan.agentType(agentType);
  const policy = type?.canModifyWorkflow === true ? type.graph : undefined;
  return { askHuman: true, addNodes: !!policy?.addNodes, skipNodes: !!policy?.skipNodes };
}

/** What {@link followUpcoming} needs of one run. */
export interface UpcomingFollowerOptions {
  readonly log: EventLog;
  readonly agents: AgentRuntime;
  readonly run: WorkflowRun<CompiledPlan>;
  /** The session's state the tool hosts read (rules granted and revoked). */
  readonly state: SessionState;
  readonly workflowId: string;
  /** The session workspace, where shared nodes' agents work. */
  readonly workspace: string;
}

/**
 * The graph-aware warm start of one run: each time a node starts or queues for a process slot,
 * an agent reports `init` (its start-up is over), or the graph grows, the agent nodes about to
 * become ready (`upcomingNodes`) get spare processes of their configurations, within the
 * runtime's bounds; nothing else is started.
 * Returns the stop: it ends the following and closes the spares of this run nobody took.
 *
 * Cost: events of one tick are coalesced into one decision, which reads the agent nodes that
 * have dependencies and their dependencies' statuses (collected once, again when the graph
 * grows): O(agent nodes + their edges) per decision, nothing for a run without agents.
 */
export function followUpcoming(options: UpcomingFollowerOptions): () => Promise<void> {
  const { log, agents, run, state, workflowId, workspace } = options;
  const sessionId = state.sessionId;
  const owner = `${sessionId}/${workflowId}`;
  let candidates = agentCandidates(run.plan);
  // Nodes whose current agent has not reported `init` yet, and the node of each agent.
  const startingUp = new Set<string>();
  const nodeOfAgent = new Map<string, string>();
  let scheduled = false;
  let stopped = false;
  const decide = () => {
    scheduled = false;
    if (stopped || run.phase === 'done' || candidates.length === 0) return;
    const nodes = run.state.nodes;
    // A node that ended without its agent's `init` (a cached result, a crash at start-up, a
    // cancel) no longer starts up.
    for (const id of startingUp) if (nodes[id]?.status !== 'running') startingUp.delete(id);
    // No spare starts while an agent of the run starts up: on 2 cores, the team bench's four
    // coders of a wave reported `init` 0.5-1.2 s after their start with the next wave's four
    // spares (niced) starting beside them, 0.26-0.43 s without. Their `init` decides again.
    if (startingUp.size > 0) return;
    const plan = run.plan;
    const upcoming = upcomingNodes(
      candidates,
      // A node the run's agent cap holds back (`held`) has not been admitted: to the warm start
      // it is pending, as before it was recorded queued (its turn waits for a running agent to end).
      (id) => {
        const node = nodes[id];
        return node?.status === 'queued' && node.held ? 'pending' : node?.status;
      },
      (id) => startingUp.has(id),
      heldBy(plan, nodes),
    );
    if (upcoming.length === 0) return;
    const wants: WarmStartWant[] = [];
    for (const { id, agent } of upcoming) {
      const node = plan.node(id);
      const spec: AgentSpec | undefined = plan.agentType(agent);
      if (!node || !spec) continue;
      wants.push({
        sessionId,
        workflowId,
        nodeId: id,
        spec,
        outputSchema: node.outputSchema,
        tools: toolShapeOf(plan, agent),
        revoked: rulesOf(state.security, agent).revoked,
        // A worktree does not exist before its node starts; a claim spare takes any folder.
        ...(node.workspace === 'shared' && { cwd: workspace }),
      });
    }
    agents.warmStart(owner, wants);
  };
  const unsubscribe = log.subscribe(
    { sessionId, types: ['node.started', 'node.queued', 'workflow.modified', 'agent.spawned', 'agent.progress'] },
    (event) => {
      if (event.type === 'workflow.modified') candidates = agentCandidates(run.plan);
      // Starting up from its start, not from its agent's `agent.spawned`: a decision made in
      // between (this event's own) started its dependents' spares while its agent started,
      // which on 2 cores delayed that agent's first answer by half a second.
      if (event.type === 'node.started') {
        const { nodeId } = event.data as { nodeId: string };
        if (run.plan.node(nodeId)?.kind === 'agent') startingUp.add(nodeId);
      }
      if (event.type === 'agent.spawned') {
        const { agentId, nodeId } = event.data as { agentId: string; nodeId?: string };
        if (nodeId === undefined) return;
        nodeOfAgent.set(agentId, nodeId);
        startingUp.add(nodeId);
        return;
      }
      if (event.type === 'agent.progress') {
        const { agentId, kind } = event.data as { agentId: string; kind: string };
        const nodeId = nodeOfAgent.get(agentId);
        if (kind !== 'init' || nodeId === undefined) return;
        nodeOfAgent.delete(agentId);
        startingUp.delete(nodeId);
      }
      if (scheduled || stopped) return;
      scheduled = true;
      setImmediate(decide);
    },
    { name: `warm-start:${sessionId}` },
  );
  return async () => {
    stopped = true;
    unsubscribe();
    await agents.releaseWarm(owner);
  };
}

/**
 * Whether the workflow's or a group's concurrency limit holds a node back now: as many nodes
 * run (or wait for a slot, or for a human) as the limit allows. Counted once per decision.
 */
function heldBy(
  plan: CompiledPlan,
  nodes: Readonly<Record<string, { readonly status: string; readonly held?: boolean | undefined }>>,
) {
  let active = 0;
  const byGroup = new Map<string, number>();
  for (const [id, node] of Object.entries(nodes)) {
    if (node.status !== 'running' && node.status !== 'queued' && node.status !== 'awaiting_input') continue;
    // Held back by the agent cap: not admitted, it takes no place under the concurrency limits.
    if (node.held) continue;
    active++;
    const group = plan.node(id)?.group;
    if (group !== undefined) byGroup.set(group, (byGroup.get(group) ?? 0) + 1);
  }
  return (candidate: UpcomingCandidate): boolean => {
    if (active >= plan.concurrency) return true;
    const group = candidate.group;
    if (group === undefined) return false;
    const limit = plan.groupLimits.get(group);
    return limit !== undefined && (byGroup.get(group) ?? 0) >= limit;
  };
}

/** The agent nodes of a plan: only those can be upcoming. */
function agentCandidates(plan: CompiledPlan): UpcomingCandidate[] {
  const out: UpcomingCandidate[] = [];
  for (const node of plan.nodes() as Iterable<PlanNode>) {
    if (node.kind !== 'agent') continue;
    out.push({
      id: node.id,
      kind: node.kind,
      agent: node.agent,
      dependsOn: node.dependsOn,
      group: node.group,
      resumes: node.session !== undefined,
    });
  }
  return out;
}
