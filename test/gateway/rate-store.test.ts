import { MemoryRateLimitStore } from '../../src/gateway/index.ts';
import { describeRateLimitStoreConformance } from './rate-store.conformance.ts';

describeRateLimitStoreConformance('memory', { open: (limits) => new MemoryRateLimitStore({ limits, burstMs: 1000 }) });
