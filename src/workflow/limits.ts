import { OrchestratorError } from '../errors/index.ts';

/**
 * Refuses a shared-memory value whose JSON is larger than the run's limit.
 * @throws OrchestratorError `LIMIT_EXCEEDED` naming the key, the size and `limits.maxMemoryValueBytes`
 */
export function checkMemoryValue(key: string, value: unknown, maxBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes <= maxBytes) return;
  throw new OrchestratorError(
    'LIMIT_EXCEEDED',
    `memory value "${key}" is ${bytes} bytes of JSON, over the workflow's limit of ${maxBytes} (limits.maxMemoryValueBytes); store less, or a summary`,
    { details: { limit: 'limits.maxMemoryValueBytes', value: maxBytes, actual: bytes } },
  );
}
