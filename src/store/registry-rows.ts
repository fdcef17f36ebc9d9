import { OrchestratorError } from '../errors/index.ts';
import { checkHash, checkKeys, integer, invalid } from './arguments.ts';
import type { ApiKeyRecord, NewApiKey } from './key-store.ts';
import type { NewWorkflow } from './workflow-store.ts';

/**
 * Argument checks and row shapes of the key and workflow stores, shared by both backends so
 * they refuse the same inputs with the same messages.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** Largest definition text a workflow store takes (a workflow with thousands of nodes fits). */
export const MAX_DEFINITION_BYTES = 4 * 1024 * 1024;

function text(value: unknown, field: string, max: number, pattern?: RegExp, expected?: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || (pattern && !pattern.test(value))) {
    throw invalid(field, expected ?? `a string of 1 to ${max} characters`, value);
  }
  return value;
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is an ISO time in UTC. */
export function checkIsoTime(value: unknown, field: string): string {
  return text(value, field, 40, ISO_TIME, 'an ISO time in UTC (2025-01-31T12:00:00.000Z)');
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a key id. */
export function checkKeyId(value: unknown, field = 'keyId'): string {
  return text(value, field, 64, /^[A-Za-z0-9_-]+$/, 'a key id (1 to 64 letters, digits, _ or -)');
}

/** Checks a key to store. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkNewKey(key: NewApiKey): NewApiKey {
  if (key === null || typeof key !== 'object') throw invalid('key', 'an object', key);
  checkKeys(key, 'key', ['keyId', 'name', 'scopes', 'hash', 'createdAt']);
  const scopes = key.scopes as unknown;
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((s) => typeof s !== 'string' || !NAME.test(s))) {
    throw invalid('key.scopes', 'a non-empty array of scope names', scopes);
  }
  return {
    keyId: checkKeyId(key.keyId, 'key.keyId'),
    name: text(key.name, 'key.name', 128, NAME, 'a name: a letter or digit, then letters, digits, ., _ or -'),
    scopes: [...new Set(scopes as string[])],
    hash: checkHash(key.hash, 'key.hash'),
    createdAt: checkIsoTime(key.createdAt, 'key.createdAt'),
  };
}

/** The error for a second key with the same id. */
export function keyExists(keyId: string): OrchestratorError {
  return new OrchestratorError('INVALID_ARGUMENT', `a key with id "${keyId}" is already stored`, {
    details: { field: 'key.keyId', keyId },
  });
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a workflow name. */
export function checkWorkflowName(value: unknown, field = 'name'): string {
  const name = text(value, field, 128, NAME, 'a workflow name: a letter or digit, then letters, digits, ., _ or -');
  if (name.includes('..')) throw invalid(field, "a workflow name without '..'", value);
  return name;
}

/** Checks a workflow to register. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkNewWorkflow(workflow: NewWorkflow): NewWorkflow {
  if (workflow === null || typeof workflow !== 'object') throw invalid('workflow', 'an object', workflow);
  checkKeys(workflow, 'workflow', ['name', 'definition', 'digest', 'registeredAt', 'registeredBy']);
  return {
    name: checkWorkflowName(workflow.name, 'workflow.name'),
    definition: text(workflow.definition, 'workflow.definition', MAX_DEFINITION_BYTES),
    digest: checkHash(workflow.digest, 'workflow.digest'),
    registeredAt: checkIsoTime(workflow.registeredAt, 'workflow.registeredAt'),
    registeredBy: text(workflow.registeredBy, 'workflow.registeredBy', 200),
  };
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is undefined or a version number. */
export function checkOptionalVersion(value: unknown, field = 'version'): number | undefined {
  return value === undefined ? undefined : integer(value, field, 1);
}

/** A key row as both backends read it (scopes as JSON text, times as ISO text). */
export interface KeyRow {
  key_id: string;
  name: string;
  scopes: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

/** The record of a key row. */
export function keyOfRow(row: KeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** The columns of a key row, in the order of {@link KeyRow}. */
export const KEY_COLUMNS = 'key_id, name, scopes, hash, created_at, revoked_at';
/** The columns of a workflow row. */
export const WORKFLOW_COLUMNS = 'name, version, definition, digest, registered_at, registered_by';

/** A workflow row as both backends read it. */
export interface WorkflowRow {
  name: string;
  version: number;
  definition: string;
  digest: string;
  registered_at: string;
  registered_by: string;
}

/** The stored workflow of a row. */
export function workflowOfRow(row: WorkflowRow) {
  return {
    name: row.name,
    version: Number(row.version),
    definition: row.definition,
    digest: row.digest,
    registeredAt: row.registered_at,
    registeredBy: row.registered_by,
  };
}
