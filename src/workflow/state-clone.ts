import type { SessionState } from './state.ts';

/**
 * A copy of a session's state that the reducer can change without touching the original (the
 * auto-versions follower gets one while the engine runs on the other). Frozen values are
 * shared, not copied: nothing can change them, and the largest part of a fresh session's state
 * is frozen — the compiled workflow's definition recorded in `workflow.started` (a 10,000-node
 * definition made `structuredClone` of the state cost about 30 ms before the first node ran).
 * Everything else (plain objects and arrays, the only shapes the reducer builds) is copied at
 * every depth; any other object is handed to `structuredClone`.
 */
export function cloneState(state: SessionState): SessionState {
  return cloneUnfrozen(state) as SessionState;
}

function cloneUnfrozen(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneUnfrozen(value[i]);
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = proto === null ? Object.create(null) : {};
  for (const key of Object.keys(source)) {
    // A key named `__proto__` (a node id, a memory key) must stay a key, not set the prototype.
    if (key === '__proto__') {
      Object.defineProperty(out, key, {
        value: cloneUnfrozen(source[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = cloneUnfrozen(source[key]);
  }
  return out;
}
