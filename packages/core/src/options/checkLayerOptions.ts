import { describeValue as describe } from '@toolkit/cache';
import type { ResilientOptions } from './ResilientOptions';

/** The layers whose option must be an object (of settings, or a scope), with an example for the message. */
const OBJECT_LAYERS = {
  cache: "cache options such as { ttl: '5m' }, or a CacheScope",
  retry: 'an options object such as { maxAttempts: 3 }',
  circuitBreaker: 'an options object such as { failureThreshold: 5 }',
  bulkhead: 'an options object such as { maxConcurrent: 10 }',
  rateLimiter: "an options object such as { maxCalls: 100, period: '1s' }",
} as const;

/**
 * Refuses a layer given as something other than an object (`cache: true`, `retry: 3`), which TypeScript
 * catches but plain JavaScript would take as "on, with defaults". (`fallback` may be any value, and
 * `timeout` a bare duration: their own parsers check them.) @internal
 */
export function checkLayerOptions(options: ResilientOptions<never, unknown>): void {
  for (const [layer, expected] of Object.entries(OBJECT_LAYERS)) {
    const value: unknown = options[layer as keyof typeof OBJECT_LAYERS];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new TypeError(`\`${layer}\` must be ${expected}, got ${describe(value)}`);
    }
  }
}
