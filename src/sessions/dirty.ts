import type { SessionState } from '../workflow/index.ts';

/**
 * Which chunks of a state (see chunks.ts for their paths) events changed since the last
 * version, so a version cuts, hashes and writes only those instead of the whole state.
 */
export interface DirtyChunks {
  /** Something changed the state's shape (a workflow started, a container replaced): cut everything. */
  readonly all: boolean;
  readonly paths: ReadonlySet<string>;
}

type Obj = Record<PropertyKey, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null;

/**
 * Records the chunks that code writing through {@link DirtyTracker.view} changes. It knows
 * nothing of events: `applyEvent` runs on the view as on the state, and every write lands in
 * the state itself; the view notes the chunk each write falls in. An object read out of a
 * chunk below its top level (a node's error, a workflow's answers, the security rules) is
 * handed out as it is, and its chunk counted as changed then, since the caller may change it
 * in place: a version may recut a chunk that did not change, never miss one that did.
 */
export class DirtyTracker {
  readonly #state: SessionState;
  #all = false;
  #paths = new Set<string>();
  readonly view: SessionState;
  /**
   * The view of each object already handed out: the follower applies every event of a run
   * through the view, and a proxy per access (with its handler closures) was most of its cost.
   * An object keeps its chunk for life (a node's object is that node's), so its view does too.
   */
  readonly #views = new WeakMap<Obj, Obj>();

  constructor(state: SessionState) {
    this.#state = state;
    this.view = this.#root();
  }

  /** What changed since the last call, and starts over. */
  take(): DirtyChunks {
    const taken = { all: this.#all, paths: this.#paths };
    this.#all = false;
    this.#paths = new Set();
    return taken;
  }

  #mark = (path: string): void => {
    this.#paths.add(path);
  };

  #markAll = (): void => {
    this.#all = true;
  };

  /** `Object.defineProperty` on the view: not what `applyEvent` does, so simply everything changed. */
  #define = (target: Obj, key: PropertyKey, descriptor: PropertyDescriptor): boolean => {
    this.#all = true;
    return Reflect.defineProperty(target, key, descriptor);
  };

  #root(): SessionState {
    const containers: Record<string, (target: Obj) => Obj> = {
      workflows: (target) => this.#workflows(target),
      memory: (target) => this.#keyed(target, 'memory/', false),
      agents: (target) => this.#keyed(target, 'agents/', true),
    };
    return new Proxy(this.#state as unknown as Obj, {
      get: (target, key) => {
        const value = target[key];
        if (typeof key === 'string' && isObject(value)) {
          const container = containers[key];
          if (container) return container(value);
          this.#mark('session');
        }
        return value;
      },
      set: (target, key, value) => {
        if (typeof key === 'string' && key in containers) this.#markAll();
        else this.#mark('session');
        target[key] = value;
        return true;
      },
      deleteProperty: (target, key) => {
        if (typeof key === 'string' && key in containers) this.#markAll();
        else this.#mark('session');
        return delete target[key];
      },
      defineProperty: this.#define,
    }) as unknown as SessionState;
  }

  /** The view of `target` made by `make`, made once. */
  #viewOf(target: Obj, make: () => Obj): Obj {
    let view = this.#views.get(target);
    if (view === undefined) {
      view = make();
      this.#views.set(target, view);
    }
    return view;
  }

  #workflows(workflows: Obj): Obj {
    return this.#viewOf(workflows, () => this.#workflowsView(workflows));
  }

  #workflowsView(workflows: Obj): Obj {
    return new Proxy(workflows, {
      get: (target, key) => {
        const value = target[key];
        return typeof key === 'string' && isObject(value) ? this.#workflow(key, value) : value;
      },
      set: (target, key, value) => {
        this.#markAll();
        target[key] = value;
        return true;
      },
      deleteProperty: (target, key) => {
        this.#markAll();
        return delete target[key];
      },
      defineProperty: this.#define,
    });
  }

  #workflow(id: string, workflow: Obj): Obj {
    return this.#viewOf(workflow, () => this.#workflowView(id, workflow));
  }

  #workflowView(id: string, workflow: Obj): Obj {
    const base = `workflows/${id}`;
    const pathOf = (key: PropertyKey) =>
      key === 'definition' ? `${base}/definition` : key === 'addedNodes' ? `${base}/added` : base;
    return new Proxy(workflow, {
      get: (target, key) => {
        const value = target[key];
        if (!isObject(value)) return value;
        if (key === 'nodes') return this.#keyed(value, `${base}/nodes/`, true);
        this.#mark(pathOf(key));
        return value;
      },
      set: (target, key, value) => {
        if (key === 'nodes') this.#markAll();
        else this.#mark(pathOf(key));
        target[key] = value;
        return true;
      },
      deleteProperty: (target, key) => {
        if (key === 'nodes') this.#markAll();
        else this.#mark(pathOf(key));
        return delete target[key];
      },
      defineProperty: this.#define,
    });
  }

  /**
   * A map whose every key is a chunk (`prefix + key`). With `deep`, its values are objects
   * changed in place field by field (nodes, agents) and are handed out as views; else a value
   * read is counted as changed.
   */
  #keyed(map: Obj, prefix: string, deep: boolean): Obj {
    return this.#viewOf(map, () => this.#keyedView(map, prefix, deep));
  }

  #keyedView(map: Obj, prefix: string, deep: boolean): Obj {
    return new Proxy(map, {
      get: (target, key) => {
        const value = target[key];
        if (typeof key !== 'string' || !isObject(value)) return value;
        // The path is built only for an object seen the first time (its view then keeps it).
        if (deep) return this.#viewOf(value, () => this.#chunkView(`${prefix}${key}`, value));
        this.#mark(`${prefix}${key}`);
        return value;
      },
      set: (target, key, value) => {
        if (typeof key === 'string') this.#mark(`${prefix}${key}`);
        target[key] = value;
        return true;
      },
      deleteProperty: (target, key) => {
        if (typeof key === 'string') this.#mark(`${prefix}${key}`);
        return delete target[key];
      },
      defineProperty: this.#define,
    });
  }

  /** One chunk's object: any write, or any object read out of it, counts the chunk as changed. */
  #chunkView(path: string, value: Obj): Obj {
    return new Proxy(value, {
      get: (target, key) => {
        const inner = target[key];
        if (isObject(inner)) this.#mark(path);
        return inner;
      },
      set: (target, key, inner) => {
        this.#mark(path);
        target[key] = inner;
        return true;
      },
      deleteProperty: (target, key) => {
        this.#mark(path);
        return delete target[key];
      },
      defineProperty: this.#define,
    });
  }
}
