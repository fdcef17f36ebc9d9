import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../../../src/errors/index.ts';
import type { KeyStore, NewApiKey, NewWorkflow, WebhookStore, WorkflowStore } from '../../../../src/store/index.ts';
import { webhookSpecs } from './webhooks.ts';

/** What the suite exercises: the key and workflow tables of a store, and its close. */
export interface RegistryStore {
  readonly keys: KeyStore;
  readonly workflows: WorkflowStore;
  readonly webhooks: WebhookStore;
  close(): Promise<void>;
}

/** How a backend plugs into {@link describeRegistryConformance}. */
export interface RegistryConformanceOptions {
  /** Opens a new store instance on the suite's database (the same database on every call). */
  open(): Promise<RegistryStore>;
  cleanup?(): Promise<void>;
}

const unique = () => randomBytes(6).toString('hex');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as OrchestratorError,
  );

function newKey(overrides: Partial<NewApiKey> = {}): NewApiKey {
  const keyId = `k${unique()}`;
  return {
    keyId,
    name: 'ci-bot',
    scopes: ['read', 'run'],
    hash: sha(keyId),
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

function newWorkflow(name: string, definition: string): NewWorkflow {
  return { name, definition, digest: sha(definition), registeredAt: new Date().toISOString(), registeredBy: 'test' };
}

/**
 * The one behavioural suite of the `KeyStore`, `WorkflowStore` and `WebhookStore` contracts (the
 * HTTP API's tables); every backend runs it with a few lines. Specs share one database and use their own
 * key ids and workflow names.
 */
export function describeRegistryConformance(name: string, options: RegistryConformanceOptions): void {
  describe(`KeyStore, WorkflowStore and WebhookStore conformance: ${name}`, () => {
    const opened: RegistryStore[] = [];
    const open = async () => {
      const store = await options.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((store) => store.close()));
    });
    afterAll(() => options.cleanup?.());

    it('stores a key once, finds it by id from another connection, and lists it', async () => {
      const a = await open();
      const b = await open();
      const key = newKey();
      expect(await a.keys.createKey(key)).toEqual({ ...key, revokedAt: null });
      expect(await b.keys.getKey(key.keyId)).toEqual({ ...key, revokedAt: null });
      expect((await b.keys.listKeys()).map((k) => k.keyId)).toContain(key.keyId);
      expect(await b.keys.getKey('nobody')).toBeUndefined();
      const again = await failure(b.keys.createKey({ ...key, hash: sha('other') }));
      expect(again?.code).toBe('INVALID_ARGUMENT');
      expect((await a.keys.getKey(key.keyId))?.hash).toBe(key.hash);
    });

    it('revokes for good: the first revocation time stays, unknown ids answer undefined', async () => {
      const a = await open();
      const b = await open();
      const key = newKey();
      await a.keys.createKey(key);
      const first = '2030-01-01T00:00:00.000Z';
      expect((await a.keys.revokeKey(key.keyId, first))?.revokedAt).toBe(first);
      expect((await b.keys.revokeKey(key.keyId, '2031-01-01T00:00:00.000Z'))?.revokedAt).toBe(first);
      expect((await b.keys.getKey(key.keyId))?.revokedAt).toBe(first);
      expect(await a.keys.revokeKey('nobody', first)).toBeUndefined();
    });

    it('refuses malformed keys with the field named', async () => {
      const store = await open();
      const cases: Array<[Partial<NewApiKey>, string]> = [
        [{ keyId: 'has space' }, 'key.keyId'],
        [{ name: '../x' }, 'key.name'],
        [{ scopes: [] }, 'key.scopes'],
        [{ hash: 'not-a-hash' }, 'key.hash'],
        [{ createdAt: 'yesterday' }, 'key.createdAt'],
      ];
      for (const [change, field] of cases) {
        const error = await failure(store.keys.createKey(newKey(change)));
        expect(error?.code, field).toBe('INVALID_ARGUMENT');
        expect(error?.details.field).toBe(field);
      }
    });

    it('numbers workflow versions per name, and a repeated definition is the same version', async () => {
      const store = await open();
      const name = `wf-${unique()}`;
      const one = await store.workflows.putWorkflow(newWorkflow(name, '{"v":1}'));
      const same = await store.workflows.putWorkflow(newWorkflow(name, '{"v":1}'));
      const two = await store.workflows.putWorkflow(newWorkflow(name, '{"v":2}'));
      expect([one.version, same.version, two.version]).toEqual([1, 1, 2]);
      expect(same.registeredAt).toBe(one.registeredAt);
      expect((await store.workflows.getWorkflow(name))?.definition).toBe('{"v":2}');
      expect((await store.workflows.getWorkflow(name, 1))?.definition).toBe('{"v":1}');
      expect(await store.workflows.getWorkflow(name, 3)).toBeUndefined();
      expect(await store.workflows.getWorkflow(`none-${unique()}`)).toBeUndefined();
      const listed = (await store.workflows.listWorkflows()).filter((w) => w.name === name);
      expect(listed.map((w) => w.version)).toEqual([2]);
    });

    it('gives concurrent registrations from several connections consecutive versions', async () => {
      const stores = await Promise.all([open(), open(), open()]);
      const name = `wf-${unique()}`;
      const put = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (stores[i % stores.length] as RegistryStore).workflows.putWorkflow(newWorkflow(name, `{"n":${i}}`)),
        ),
      );
      expect(put.map((w) => w.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    });

    it('refuses bad workflow names and versions, and calls after close', async () => {
      const store = await open();
      const traversal = await failure(store.workflows.putWorkflow(newWorkflow('../etc', '{}')));
      expect(traversal?.details.field).toBe('workflow.name');
      expect((await failure(store.workflows.getWorkflow('ok', 0)))?.code).toBe('INVALID_ARGUMENT');
      await store.close();
      expect((await failure(store.keys.listKeys()))?.code).toBe('STORE_CLOSED');
      expect((await failure(store.workflows.listWorkflows()))?.code).toBe('STORE_CLOSED');
    });

    webhookSpecs(open);
  });
}
