export { instrument } from './instrument';
export type { InstrumentOptions, Instrumentation, InstrumentedBreaker, InstrumentedCache, InstrumentedRegistry } from './instrument';
export { AttributeName, MetricName } from './semantics';
/** The `error.type` of an error (the same function as `@toolkit/core`'s). */
export { errorType } from '@toolkit/core';
