/** A workflow definition registered for the API, one version of a name. */
export interface StoredWorkflow {
  /** The workflow's name (its `name` field). */
  readonly name: string;
  /** 1, 2, 3, ... per name, assigned by the store. */
  readonly version: number;
  /** The definition as JSON text (the compiled workflow's `definition`). Opaque to the store. */
  readonly definition: string;
  /** SHA-256 (hex) of `definition`, to tell whether a registration changes anything. */
  readonly digest: string;
  /** ISO time it was registered. */
  readonly registeredAt: string;
  /** Who registered it (`cli`, `api:<key id>`). */
  readonly registeredBy: string;
}

/** A workflow to register: everything but the version the store assigns. */
export type NewWorkflow = Omit<StoredWorkflow, 'version'>;

/**
 * Workflow definitions registered by name, versioned. Guarantees: `putWorkflow` assigns the
 * next version of the name atomically (also with several writers), except that a definition
 * whose digest equals the latest version's returns that version and writes nothing; versions
 * are never rewritten or reused. Left out: deleting definitions (sessions name the version
 * they ran; the definition itself is recorded in their log anyway), and validating them (the
 * workflow area's job, before they get here).
 */
export interface WorkflowStore {
  /** @throws OrchestratorError `INVALID_ARGUMENT`, `STORE_CLOSED`, `STORE_UNAVAILABLE` */
  putWorkflow(workflow: NewWorkflow): Promise<StoredWorkflow>;
  /** One version of a name, or its latest without `version`; undefined when there is none. */
  getWorkflow(name: string, version?: number): Promise<StoredWorkflow | undefined>;
  /** The latest version of every name, by name. */
  listWorkflows(): Promise<StoredWorkflow[]>;
}
