export { PrometheusMetricName, errorType, instrument } from './instrument';
export type {
  InstrumentedBreaker,
  InstrumentedCache,
  InstrumentedRegistry,
  PrometheusInstrumentation,
  PrometheusOptions,
} from './instrument';
