import { afterAll, afterEach, describe } from 'vitest';
import { appendSpec } from './append.spec.ts';
import { closeSpec } from './close.spec.ts';
import { concurrencySpec } from './concurrency.spec.ts';
import { corruptionSpec } from './corruption.spec.ts';
import { deleteSessionSpec } from './delete-session.spec.ts';
import { expectedLastSeqSpec } from './expected-last-seq.spec.ts';
import { fencingSpec } from './fencing.spec.ts';
import { leasesSpec } from './leases.spec.ts';
import { listSessionsSpec } from './list-sessions.spec.ts';
import { migrationsSpec } from './migrations.spec.ts';
import { readSpec } from './read.spec.ts';
import { reopenSpec } from './reopen.spec.ts';
import type { ConformanceContext, ConformanceStore, EventStoreConformanceOptions } from './types.ts';

export type { ConformanceContext, ConformanceStore, EventStoreConformanceOptions } from './types.ts';

/**
 * The one behavioural suite of the `EventStore` contract, with the `LeaseStore` whose fencing
 * tokens its appends check; every backend runs it with a few lines. Specs share one database per suite (each uses its own sessions) and run in order;
 * stores a spec opens are closed after it, and `cleanup` runs after the last one.
 */
export function describeEventStoreConformance(name: string, options: EventStoreConformanceOptions): void {
  describe(`EventStore conformance: ${name}`, () => {
    const opened: ConformanceStore[] = [];
    const track = async (open: () => Promise<ConformanceStore>): Promise<ConformanceStore> => {
      const store = await open();
      opened.push(store);
      return store;
    };
    const ctx: ConformanceContext = {
      options,
      open: () => track(() => options.open()),
      reopen: () => track(() => (options.reopen ?? options.open)()),
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((store) => store.close()));
    });
    afterAll(() => options.cleanup());

    appendSpec(ctx);
    readSpec(ctx);
    concurrencySpec(ctx);
    expectedLastSeqSpec(ctx);
    corruptionSpec(ctx);
    reopenSpec(ctx);
    migrationsSpec(ctx);
    listSessionsSpec(ctx);
    deleteSessionSpec(ctx);
    leasesSpec(ctx);
    fencingSpec(ctx);
    closeSpec(ctx);
  });
}
