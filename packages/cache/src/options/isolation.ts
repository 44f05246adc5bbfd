import { describe } from './duration';

/**
 * What callers of a scope share when they read a value:
 * - `'none'`: the stored object itself. Fastest; a caller that mutates it changes what every later hit
 *   returns (and, with a `MemoryStore`, what other `Cache` instances on that store read).
 * - `'freeze'`: the stored object, deep-frozen when written, so a mutation throws a `TypeError` (in
 *   strict-mode code, as every ES module and class is) instead of reaching other callers. Hits cost
 *   nothing more. Plain objects and arrays are frozen through and through; the internal state of a
 *   `Map`, `Set`, `Date` or typed array cannot be frozen (use `'clone'` for those).
 * - `'clone'`: a copy made with `structuredClone` when written and at every read, so each caller owns what
 *   it gets. Every read then allocates a copy; class instances come back as plain objects, and a value
 *   `structuredClone` refuses (a function, for instance) fails the write with its `DataCloneError`.
 */
export type Isolation = 'none' | 'freeze' | 'clone';

const ISOLATIONS: readonly Isolation[] = ['none', 'freeze', 'clone'];

/** Validates an `isolation` option. @internal */
export function resolveIsolation(value: unknown, inherited: Isolation): Isolation {
  if (value === undefined) return inherited;
  if (!ISOLATIONS.includes(value as Isolation)) {
    throw new TypeError(`\`isolation\` must be 'none', 'freeze' or 'clone', got ${describe(value)}`);
  }
  return value as Isolation;
}

/** Freezes `value` and every object reachable from its properties (cycles included); returns it. @internal */
export function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const pending: object[] = [];
  const visit = (v: unknown) => {
    // Typed arrays and DataViews with elements cannot be frozen (Object.freeze throws): left as they are.
    if (typeof v === 'object' && v !== null && !seen.has(v) && !ArrayBuffer.isView(v)) {
      seen.add(v);
      pending.push(v);
    }
  };
  visit(value);
  while (pending.length > 0) {
    const object = pending.pop() as object;
    Object.freeze(object);
    for (const key of Reflect.ownKeys(object)) {
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (descriptor !== undefined && 'value' in descriptor) visit(descriptor.value);
    }
  }
  return value;
}
