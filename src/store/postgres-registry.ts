import type { ApiKeyRecord, KeyStore, NewApiKey } from './key-store.ts';
import { inTransaction, type PostgresAccess, queryRows } from './postgres-pool.ts';
import {
  checkIsoTime,
  checkKeyId,
  checkNewKey,
  checkNewWorkflow,
  checkOptionalVersion,
  checkWorkflowName,
  KEY_COLUMNS,
  type KeyRow,
  keyExists,
  keyOfRow,
  WORKFLOW_COLUMNS,
  type WorkflowRow,
  workflowOfRow,
} from './registry-rows.ts';
import type { NewWorkflow, StoredWorkflow, WorkflowStore } from './workflow-store.ts';

function statements(schema: string) {
  const keys = `${schema}.api_keys`;
  const workflows = `${schema}.workflows`;
  return {
    getKey: `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE key_id = $1`,
    listKeys: `SELECT ${KEY_COLUMNS} FROM ${keys} ORDER BY created_at, key_id`,
    insertKey: `INSERT INTO ${keys} (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, NULL)
      ON CONFLICT (key_id) DO NOTHING RETURNING key_id`,
    revokeKey: `UPDATE ${keys} SET revoked_at = coalesce(revoked_at, $2) WHERE key_id = $1 RETURNING ${KEY_COLUMNS}`,
    // Registrations of one name queue on this lock (held to the end of the transaction), so
    // each reads the latest version committed before it.
    lockName: 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
    latest: `SELECT ${WORKFLOW_COLUMNS} FROM ${workflows} WHERE name = $1 ORDER BY version DESC LIMIT 1`,
    version: `SELECT ${WORKFLOW_COLUMNS} FROM ${workflows} WHERE name = $1 AND version = $2`,
    insertWorkflow: `INSERT INTO ${workflows} (${WORKFLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
    listLatest: `SELECT DISTINCT ON (name) ${WORKFLOW_COLUMNS} FROM ${workflows} ORDER BY name, version DESC`,
  };
}

/**
 * The {@link KeyStore} and {@link WorkflowStore} of the PostgreSQL store, on its shared pool.
 * A registration takes a transaction-scoped advisory lock on its name, so concurrent ones
 * (processes, machines) get consecutive versions.
 */
export class PostgresRegistry implements KeyStore, WorkflowStore {
  readonly #access: PostgresAccess;
  readonly #sql: ReturnType<typeof statements>;

  constructor(access: PostgresAccess) {
    this.#access = access;
    this.#sql = statements(access.schema);
  }

  async createKey(key: NewApiKey): Promise<ApiKeyRecord> {
    const k = checkNewKey(key);
    const inserted = await queryRows(this.#access, 'createKey', {
      text: this.#sql.insertKey,
      values: [k.keyId, k.name, JSON.stringify(k.scopes), k.hash, k.createdAt],
    });
    if (inserted.length === 0) throw keyExists(k.keyId);
    return { ...k, revokedAt: null };
  }

  async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    checkKeyId(keyId);
    const [row] = await queryRows<KeyRow>(this.#access, 'getKey', {
      name: 'orch_key_get',
      text: this.#sql.getKey,
      values: [keyId],
    });
    return row === undefined ? undefined : keyOfRow(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await queryRows<KeyRow>(this.#access, 'listKeys', { text: this.#sql.listKeys })).map(keyOfRow);
  }

  async revokeKey(keyId: string, at: string): Promise<ApiKeyRecord | undefined> {
    checkKeyId(keyId);
    checkIsoTime(at, 'at');
    const [row] = await queryRows<KeyRow>(this.#access, 'revokeKey', {
      text: this.#sql.revokeKey,
      values: [keyId, at],
    });
    return row === undefined ? undefined : keyOfRow(row);
  }

  async putWorkflow(workflow: NewWorkflow): Promise<StoredWorkflow> {
    const w = checkNewWorkflow(workflow);
    return inTransaction(this.#access, 'putWorkflow', async (client) => {
      await client.query({ text: this.#sql.lockName, values: [`orch-workflow:${this.#access.schema}:${w.name}`] });
      const latest = (await client.query<WorkflowRow>({ text: this.#sql.latest, values: [w.name] })).rows[0];
      if (latest !== undefined && latest.digest === w.digest) return workflowOfRow(latest);
      const version = Number(latest?.version ?? 0) + 1;
      await client.query({
        text: this.#sql.insertWorkflow,
        values: [w.name, version, w.definition, w.digest, w.registeredAt, w.registeredBy],
      });
      return { ...w, version };
    });
  }

  async getWorkflow(name: string, version?: number): Promise<StoredWorkflow | undefined> {
    checkWorkflowName(name);
    const wanted = checkOptionalVersion(version);
    const [row] = await queryRows<WorkflowRow>(
      this.#access,
      'getWorkflow',
      wanted === undefined
        ? { name: 'orch_workflow_latest', text: this.#sql.latest, values: [name] }
        : { name: 'orch_workflow_version', text: this.#sql.version, values: [name, wanted] },
    );
    return row === undefined ? undefined : workflowOfRow(row);
  }

  async listWorkflows(): Promise<StoredWorkflow[]> {
    return (await queryRows<WorkflowRow>(this.#access, 'listWorkflows', { text: this.#sql.listLatest })).map(
      workflowOfRow,
    );
  }
}
