export { PrometheusMetricName, instrument } from './instrument';
/** The `error_type` label of an error (the same function as `@toolkit/core`'s). */
export { errorType } from '@toolkit/core';
export type {
  InstrumentedBreaker,
  InstrumentedCache,
  InstrumentedRegistry,
  PrometheusInstrumentation,
  PrometheusOptions,
} from './instrument';
