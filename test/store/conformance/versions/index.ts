import { afterAll, afterEach, describe } from 'vitest';
import { blobsSpec } from './blobs.spec.ts';
import { concurrencySpec } from './concurrency.spec.ts';
import { deleteSpec } from './delete.spec.ts';
import { linksSpec } from './links.spec.ts';
import { listSpec } from './list.spec.ts';
import { numberingSpec } from './numbering.spec.ts';
import { payloadsSpec } from './payloads.spec.ts';
import { reopenSpec } from './reopen.spec.ts';
import type { ClosableVersionStore, VersionConformanceContext, VersionStoreConformanceOptions } from './types.ts';

export type { ClosableVersionStore, VersionStoreConformanceOptions } from './types.ts';

/**
 * The one behavioural suite of the `VersionStore` contract; every backend runs it with a few
 * lines. Specs share one database (each uses its own sessions and blobs) and run in order;
 * stores a spec opens are closed after it. Compaction is database-wide, so the specs assert
 * what happened to their own blobs, never the exact total unless they made every candidate.
 */
export function describeVersionStoreConformance(name: string, options: VersionStoreConformanceOptions): void {
  describe(`VersionStore conformance: ${name}`, () => {
    const opened: ClosableVersionStore[] = [];
    const track = async (open: () => Promise<ClosableVersionStore>) => {
      const store = await open();
      opened.push(store);
      return store;
    };
    const ctx: VersionConformanceContext = {
      options,
      open: () => track(() => options.open()),
      reopen: () => track(() => (options.reopen ?? options.open)()),
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((store) => store.close()));
    });
    afterAll(() => options.cleanup?.());

    numberingSpec(ctx);
    blobsSpec(ctx);
    concurrencySpec(ctx);
    deleteSpec(ctx);
    linksSpec(ctx);
    listSpec(ctx);
    reopenSpec(ctx);
    // Last: it leaves payload blobs for compaction, which specs above count exactly.
    payloadsSpec(ctx);
  });
}
