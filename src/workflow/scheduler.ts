import type { NodeStatus } from './state.ts';
import { TERMINAL_NODE_STATUSES } from './state.ts';

/** What the scheduler needs to know of a node. */
export interface SchedulableNode {
  readonly id: string;
  readonly dependsOn: readonly string[];
  readonly group: string | undefined;
  /** When the node may run, given how its dependencies ended. @default `all_success` */
  readonly trigger: TriggerRule;
}

/** Trigger rules: what skipping or failing upstream means for a node. */
export type TriggerRule = 'all_success' | 'all_done' | 'none_failed';

/** The verdict for a node whose dependencies have all settled. */
export type TriggerVerdict = { readonly run: true } | { readonly run: false; readonly reason: string };

/**
 * Applies a trigger rule to the final statuses of a node's dependencies.
 * - `all_success`: every dependency completed.
 * - `none_failed`: no dependency failed or was cancelled (skipped ones are fine).
 * - `all_done`: always run once every dependency has settled.
 */
export function evaluateTrigger(
  rule: TriggerRule,
  dependencies: ReadonlyArray<{ id: string; status: NodeStatus }>,
): TriggerVerdict {
  if (rule === 'all_done') return { run: true };
  for (const dep of dependencies) {
    if (rule === 'all_success' && dep.status !== 'completed') {
      return { run: false, reason: `dependency "${dep.id}" ${dep.status} (trigger all_success)` };
    }
    if (rule === 'none_failed' && (dep.status === 'failed' || dep.status === 'cancelled')) {
      return { run: false, reason: `dependency "${dep.id}" ${dep.status} (trigger none_failed)` };
    }
  }
  return { run: true };
}

/**
 * Dependency counting: each node keeps the number of dependencies that have not settled;
 * when a node settles, only its dependents are touched. Building is O(V+E) and the whole run
 * is O(V+E): nothing rescans the graph per step. Nodes are numbered once and the counts,
 * flags and dependent lists are arrays by number, so settling a node costs one lookup of its
 * id however many dependents it has (a 10,000-node graph settles some 30,000 edges).
 */
export class DependencyTracker {
  readonly #numbers = new Map<string, number>();
  readonly #ids: string[] = [];
  readonly #remaining: number[] = [];
  /**
   * The dependents of the nodes numbered when the tracker was built, as one compressed list:
   * those of node n are `#targets[#offsets[n]]` up to `#targets[#offsets[n + 1]]`. An array
   * per node (most hold one to three numbers, in room for seventeen) was 1.8 MB of a
   * 10,000-node run's heap, all of it copied by the scavenges it survived; these are 160 KB.
   */
  readonly #offsets: Int32Array;
  readonly #targets: Int32Array;
  /** Dependents known later: of nodes added at run time, and dependencies inserted before a node. */
  readonly #later = new Map<number, number[]>();
  readonly #settled: boolean[] = [];
  /** Whether the number belongs to a node of the plan (not only to a name a node depends on). */
  readonly #registered: boolean[] = [];

  /**
   * @param nodes every node of the plan
   * @param statusOf the current status of a node (from the projected state)
   */
  constructor(nodes: Iterable<SchedulableNode>, statusOf: (id: string) => NodeStatus | undefined) {
    const all = [...nodes];
    const numbers: number[] = new Array(all.length);
    for (let i = 0; i < all.length; i++) {
      const node = all[i] as SchedulableNode;
      const n = this.#number(node.id);
      numbers[i] = n;
      if (TERMINAL_NODE_STATUSES.has(statusOf(node.id) ?? 'pending')) this.#settled[n] = true;
    }
    // Counted first (numbering the names depended on that are not nodes), then filled in the
    // order nodes are listed, the order in which they become ready.
    const counts: number[] = [];
    for (let i = 0; i < all.length; i++) {
      const n = numbers[i] as number;
      let remaining = 0;
      for (const id of (all[i] as SchedulableNode).dependsOn) {
        const dep = this.#number(id);
        counts[dep] = (counts[dep] ?? 0) + 1;
        if (!this.#settled[dep]) remaining++;
      }
      this.#remaining[n] = remaining;
      this.#registered[n] = true;
    }
    const known = this.#ids.length;
    this.#offsets = new Int32Array(known + 1);
    for (let n = 0; n < known; n++) this.#offsets[n + 1] = (this.#offsets[n] as number) + (counts[n] ?? 0);
    this.#targets = new Int32Array(this.#offsets[known] as number);
    const next = this.#offsets.slice(0, known);
    for (let i = 0; i < all.length; i++) {
      const n = numbers[i] as number;
      for (const id of (all[i] as SchedulableNode).dependsOn) {
        const dep = this.#numbers.get(id) as number;
        this.#targets[(next[dep] as number)++] = n;
      }
    }
  }

  /** Nodes that are not settled and have no unsettled dependency. */
  readyNodes(): string[] {
    const ready: string[] = [];
    for (let n = 0; n < this.#ids.length; n++) {
      if (this.#registered[n] && this.#remaining[n] === 0 && !this.#settled[n]) ready.push(this.#ids[n] as string);
    }
    return ready;
  }

  /** Whether the node has settled (completed, failed, skipped or cancelled). */
  isSettled(id: string): boolean {
    const n = this.#numbers.get(id);
    return n !== undefined && this.#settled[n] === true;
  }

  /** Whether every dependency of the node has settled (so it may start). */
  dependenciesSettled(id: string): boolean {
    const n = this.#numbers.get(id);
    return n === undefined || this.#remaining[n] === 0;
  }

  /** Adds a node at run time; returns true when it is ready at once. */
  add(node: SchedulableNode): boolean {
    const n = this.#number(node.id);
    let remaining = 0;
    for (const id of node.dependsOn) {
      const dep = this.#number(id);
      this.#addDependent(dep, n);
      if (!this.#settled[dep]) remaining++;
    }
    this.#remaining[n] = remaining;
    this.#registered[n] = true;
    return remaining === 0;
  }

  /** Makes a not yet started node also wait for `dependency` (a node inserted before it). */
  addDependency(id: string, dependency: string): void {
    const n = this.#number(id);
    const dep = this.#number(dependency);
    this.#addDependent(dep, n);
    if (!this.#settled[dep]) this.#remaining[n] = (this.#remaining[n] as number) + 1;
  }

  /** Marks a node settled; returns its dependents that just became ready. */
  settle(id: string): string[] {
    const n = this.#number(id);
    if (this.#settled[n]) return [];
    this.#settled[n] = true;
    const ready: string[] = [];
    if (n < this.#offsets.length - 1) {
      const end = this.#offsets[n + 1] as number;
      for (let k = this.#offsets[n] as number; k < end; k++) this.#release(this.#targets[k] as number, ready);
    }
    const later = this.#later.get(n);
    if (later !== undefined) for (const dependent of later) this.#release(dependent, ready);
    return ready;
  }

  /** One dependency of `dependent` settled: it is ready when that was its last. */
  #release(dependent: number, ready: string[]): void {
    const left = (this.#remaining[dependent] as number) - 1;
    this.#remaining[dependent] = left;
    if (left === 0 && !this.#settled[dependent]) ready.push(this.#ids[dependent] as string);
  }

  #addDependent(dep: number, dependent: number): void {
    const later = this.#later.get(dep);
    if (later === undefined) this.#later.set(dep, [dependent]);
    else later.push(dependent);
  }

  /** The number of a node id, given on first sight. */
  #number(id: string): number {
    let n = this.#numbers.get(id);
    if (n === undefined) {
      n = this.#ids.length;
      this.#numbers.set(id, n);
      this.#ids.push(id);
      this.#remaining.push(0);
      this.#settled.push(false);
      this.#registered.push(false);
    }
    return n;
  }
}

/**
 * Which cap a node counts against besides the workflow's and its group's: `agent` nodes are
 * held to the agent process cap, every other kind (function, human, approval, plugin kinds) to
 * the cap of the run's other nodes. Two caps, so that a cheap node never waits behind the few
 * process slots that agents need.
 */
export type NodeClass = 'agent' | 'other';

/** Caps per {@link NodeClass}: nodes of each class holding a slot at once. */
export interface ClassLimits {
  readonly agent: number;
  readonly other: number;
}

/** Ready nodes of one group and class, first in first out; `head` is the next one. */
interface AdmissionFifo {
  readonly group: string;
  readonly cls: NodeClass;
  ids: string[];
  head: number;
}

const UNLIMITED: ClassLimits = { agent: Number.POSITIVE_INFINITY, other: Number.POSITIVE_INFINITY };

/**
 * Ready nodes waiting for a slot, one FIFO per parallel group and node class, bounded by the
 * workflow's limit, each group's own, and each class's (see {@link NodeClass}). A FIFO per
 * class, so that a node whose class is at its cap never holds back one of the other class
 * behind it. Taking the next startable node costs O(number of groups).
 */
export class AdmissionQueue {
  readonly #queues = new Map<string, AdmissionFifo>();
  /** The same FIFOs in creation order: `next` walks them by index (a Map iterator allocated per call). */
  readonly #order: AdmissionFifo[] = [];
  readonly #running = new Map<string, number>();
  readonly #classRunning = { agent: 0, other: 0 };
  readonly #groupLimits: ReadonlyMap<string, number>;
  readonly #classLimits: ClassLimits;
  readonly #limit: number;
  #total = 0;
  #queued = 0;

  constructor(limit: number, groupLimits: ReadonlyMap<string, number>, classLimits: ClassLimits = UNLIMITED) {
    this.#limit = limit;
    this.#groupLimits = groupLimits;
    this.#classLimits = classLimits;
  }

  /** Nodes waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /** Nodes holding a slot. */
  get running(): number {
    return this.#total;
  }

  /** True when the class runs as many nodes as its cap allows: a node of it waits. */
  classFull(cls: NodeClass): boolean {
    return this.#classRunning[cls] >= this.#classLimits[cls];
  }

  enqueue(id: string, group: string | undefined, cls: NodeClass = 'other'): void {
    const name = group ?? '';
    const key = cls === 'agent' ? `agent\u0000${name}` : name;
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = { group: name, cls, ids: [], head: 0 };
      this.#queues.set(key, queue);
      this.#order.push(queue);
    }
    queue.ids.push(id);
    this.#queued++;
  }

  /** The next node that may start now, taking its slot; undefined when none may. */
  next(): string | undefined {
    if (this.#total >= this.#limit || this.#queued === 0) return undefined;
    const order = this.#order;
    for (let q = 0; q < order.length; q++) {
      const queue = order[q] as AdmissionFifo;
      const { head, ids, group, cls } = queue;
      if (head >= ids.length) continue;
      if (this.#classRunning[cls] >= this.#classLimits[cls]) continue;
      const running = this.#running.get(group) ?? 0;
      if (running >= (this.#groupLimits.get(group) ?? Number.POSITIVE_INFINITY)) continue;
      const id = ids[head] as string;
      // Drop consumed entries now and then so queues do not grow without bound.
      if (head + 1 > 1024 && head + 1 > ids.length / 2) {
        ids.splice(0, head + 1);
        queue.head = 0;
      } else queue.head = head + 1;
      this.#running.set(group, running + 1);
      this.#classRunning[cls]++;
      this.#total++;
      this.#queued--;
      return id;
    }
    return undefined;
  }

  /** Gives back the slot a node held (the group and class it was queued with). */
  release(group: string | undefined, cls: NodeClass = 'other'): void {
    const key = group ?? '';
    this.#running.set(key, (this.#running.get(key) ?? 1) - 1);
    this.#classRunning[cls]--;
    this.#total--;
  }

  /** Removes every queued node (cancel, fail-fast); returns them. */
  drain(): string[] {
    const drained: string[] = [];
    for (const queue of this.#order) {
      for (let i = queue.head; i < queue.ids.length; i++) drained.push(queue.ids[i] as string);
      queue.ids = [];
      queue.head = 0;
    }
    this.#queued = 0;
    return drained;
  }
}
