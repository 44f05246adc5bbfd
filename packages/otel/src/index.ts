export { instrument } from './instrument';
export type { InstrumentOptions, Instrumentation, InstrumentedBreaker, InstrumentedCache, InstrumentedRegistry } from './instrument';
export { AttributeName, MetricName, errorType } from './semantics';
