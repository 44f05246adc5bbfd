/**
 * The real OpenTelemetry SDK, kept in memory: a MeterProvider read by a pull reader (the SDK's own
 * `MetricReader`, as the Prometheus exporter uses it), a BasicTracerProvider exporting to an
 * InMemorySpanExporter, and the AsyncLocalStorage context manager so that spans find the caller's span.
 */
import { context } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A pull reader: metrics are collected when the test asks, as a scrape would. */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point, as collected: its attributes and its value (a number, or a histogram's count and sum). */
export interface Point {
  attributes: Attributes;
  value: number | { count: number; sum: number };
}

export interface Telemetry {
  meterProvider: MeterProvider;
  tracerProvider: BasicTracerProvider;
  /** Every data point of metric `name` (none when it was not recorded). */
  points(name: string): Promise<Point[]>;
  /** The value of metric `name` with exactly these attributes, or `undefined`. */
  value(name: string, attributes: Attributes): Promise<Point['value'] | undefined>;
  /** Finished spans, in the order they ended. */
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
}

export function telemetry(): Telemetry {
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const points = async (name: string): Promise<Point[]> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw errors[0];
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    if (metric === undefined) return [];
    return metric.dataPoints.map((p) => ({
      attributes: p.attributes,
      value:
        metric.dataPointType === DataPointType.HISTOGRAM
          ? { count: (p.value as Histogram).count, sum: (p.value as Histogram).sum ?? 0 }
          : (p.value as number),
    }));
  };
  return {
    meterProvider,
    tracerProvider,
    points,
    async value(name, attributes) {
      const wanted = JSON.stringify(sorted(attributes));
      return (await points(name)).find((p) => JSON.stringify(sorted(p.attributes)) === wanted)?.value;
    },
    spans: () => exporter.getFinishedSpans(),
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

function sorted(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));
}

/** Installs the AsyncLocalStorage context manager for the test file (call at its top level). */
export function useAsyncContext(): void {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    context.disable();
  });
}

/** A span's duration in milliseconds. */
export function durationMs(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}
