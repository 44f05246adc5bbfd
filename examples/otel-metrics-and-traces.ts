/**
 * @toolkit/otel — one instrument() call gives a resilient() registry and its cache OpenTelemetry metrics
 * and spans. The SDK is the application's: here an in-memory metric reader and span exporter, and the
 * AsyncLocalStorage context manager so that spans are children of the caller's span.
 *
 * Run: pnpm build && pnpm exec tsx examples/otel-metrics-and-traces.ts
 */
import assert from 'node:assert/strict';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ResilienceRegistry } from '@toolkit/core';
import { MetricName, instrument } from '@toolkit/otel';

// The application's SDK setup (usually the OTLP exporters of @opentelemetry/sdk-node).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });

// One call: the registry's pipelines and its cache. Without the two providers, the global ones are used.
const registry = new ResilienceRegistry();
const telemetry = instrument({ registry, meterProvider, tracerProvider });

let attempts = 0;
const getUser = registry.resilient({ cache: { ttl: '1m' }, retry: { maxAttempts: 3, delay: 5 } })(async function getUser(id: number) {
  if (++attempts === 1) throw new Error('cold start'); // the first attempt fails, the retry succeeds
  return { id, name: `user ${id}` };
});

await tracerProvider.getTracer('app').startActiveSpan('GET /users/:id', async (request) => {
  await getUser(1); // miss: the pipeline runs (2 attempts), one load span and one call span
  await getUser(1); // hit: no span
  request.end();
});

await reader.forceFlush();
const metrics = metricExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
const points = (name: string) => metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
for (const name of [MetricName.CACHE_REQUESTS, MetricName.RETRIES, MetricName.CALLS]) {
  for (const p of points(name)) console.log(`${name} ${JSON.stringify(p.attributes)} = ${String(p.value)}`);
}
const [call, load, request] = spans.getFinishedSpans();
console.log(spans.getFinishedSpans().map((s) => `span ${s.name} (parent: ${s.parentSpanContext?.spanId ?? 'none'})`).join('\n'));

assert.deepEqual(
  points(MetricName.CACHE_REQUESTS).map((p) => [p.attributes['toolkit.cache.result'], p.value]),
  [['hit', 1], ['miss', 1]],
);
assert.equal(points(MetricName.RETRIES)[0]?.value, 1);
assert.equal(call?.name, 'resilient getUser');
assert.equal(call?.attributes['toolkit.resilience.attempts'], 2);
assert.equal(load?.name, 'load getUser');
assert.equal(call?.parentSpanContext?.spanId, request?.spanContext().spanId);
assert.equal(load?.parentSpanContext?.spanId, request?.spanContext().spanId);

telemetry.stop();
await meterProvider.shutdown();
await tracerProvider.shutdown();
