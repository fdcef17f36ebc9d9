import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ApiKeyRecord, KeyStore, NewApiKey } from './key-store.ts';
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
import { sqliteRead, sqliteWrite } from './sqlite-errors.ts';
import { prepareStatements } from './sqlite-statements.ts';
import type { NewWorkflow, StoredWorkflow, WorkflowStore } from './workflow-store.ts';

const STATEMENTS = {
  getKey: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_id = ?`,
  listKeys: `SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id`,
  insertKey: `INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL)`,
  revokeKey: 'UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL',
  latest: `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE name = ? ORDER BY version DESC LIMIT 1`,
  version: `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE name = ? AND version = ?`,
  insertWorkflow: `INSERT INTO workflows (${WORKFLOW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
  listLatest: `SELECT ${WORKFLOW_COLUMNS} FROM workflows w
    WHERE version = (SELECT max(version) FROM workflows WHERE name = w.name) ORDER BY name`,
} as const;

/**
 * The {@link KeyStore} and {@link WorkflowStore} of the SQLite store, on its connection. Writes
 * run in `BEGIN IMMEDIATE`, so a version number is read and used under the file's write lock
 * (no other process's registration comes between).
 */
export class SqliteRegistry implements KeyStore, WorkflowStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#sql = prepareStatements(db, STATEMENTS);
  }

  async createKey(key: NewApiKey): Promise<ApiKeyRecord> {
    const k = checkNewKey(key);
    return sqliteWrite(this.#db, this.#path, 'createKey', () => {
      if (this.#sql.getKey.get(k.keyId) !== undefined) throw keyExists(k.keyId);
      this.#sql.insertKey.run(k.keyId, k.name, JSON.stringify(k.scopes), k.hash, k.createdAt);
      return { ...k, revokedAt: null };
    });
  }

  async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    checkKeyId(keyId);
    const row = sqliteRead(this.#path, 'getKey', () => this.#sql.getKey.get(keyId) as KeyRow | undefined);
    return row === undefined ? undefined : keyOfRow(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return sqliteRead(this.#path, 'listKeys', () => this.#sql.listKeys.all() as unknown as KeyRow[]).map(keyOfRow);
  }

  async revokeKey(keyId: string, at: string): Promise<ApiKeyRecord | undefined> {
    checkKeyId(keyId);
    checkIsoTime(at, 'at');
    return sqliteWrite(this.#db, this.#path, 'revokeKey', () => {
      this.#sql.revokeKey.run(at, keyId);
      const row = this.#sql.getKey.get(keyId) as KeyRow | undefined;
      return row === undefined ? undefined : keyOfRow(row);
    });
  }

  async putWorkflow(workflow: NewWorkflow): Promise<StoredWorkflow> {
    const w = checkNewWorkflow(workflow);
    return sqliteWrite(this.#db, this.#path, 'putWorkflow', () => {
      const latest = this.#sql.latest.get(w.name) as WorkflowRow | undefined;
      if (latest !== undefined && latest.digest === w.digest) return workflowOfRow(latest);
      const version = (latest?.version ?? 0) + 1;
      this.#sql.insertWorkflow.run(w.name, version, w.definition, w.digest, w.registeredAt, w.registeredBy);
      return { ...w, version };
    });
  }

  async getWorkflow(name: string, version?: number): Promise<StoredWorkflow | undefined> {
    checkWorkflowName(name);
    const wanted = checkOptionalVersion(version);
    const row = sqliteRead(this.#path, 'getWorkflow', () =>
      wanted === undefined ? this.#sql.latest.get(name) : this.#sql.version.get(name, wanted),
    ) as WorkflowRow | undefined;
    return row === undefined ? undefined : workflowOfRow(row);
  }

  async listWorkflows(): Promise<StoredWorkflow[]> {
    const rows = sqliteRead(this.#path, 'listWorkflows', () => this.#sql.listLatest.all() as unknown as WorkflowRow[]);
    return rows.map(workflowOfRow);
  }
}
