import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { CacheChannel } from '@toolkit/cache';
import { PipelineChannel, ResilienceRegistry } from '@toolkit/core';
import { instrument as instrumentOtel } from '@toolkit/otel';
import { instrument as instrumentPrometheus } from '@toolkit/prometheus';
import { Registry } from 'prom-client';
import { interleave, rowOf, throughputRounds } from '../harness/interleave';
import type { Sampled, Summary, ThroughputOptions } from '../harness/interleave';
import { atLeast } from '../harness/targets';
import type { Metric, Row, Scenario } from '../harness/types';

const KEYS = 1_000;
const metric: Metric = { unit: 'ops/s', higherIsBetter: true }; // per second of CPU time (see cpuThroughput)
const user = (id: number) => ({ id, name: `user${id}`, email: `user${id}@example.com` });

/** A pull reader, as a Prometheus exporter is: nothing is exported while the benchmark runs. */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Takes the batches of the BatchSpanProcessor and drops them: the cost measured is making spans, not shipping them. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Like the harness' throughput(), but per second of the process' CPU time (user + system) instead of wall
 * time: on a shared machine another process' load stretches wall time at random, while the ratios wanted
 * here are of work done. Calls are awaited one by one, so the CPU time is this loop's (and GC's).
 */
async function cpuThroughput(
  operations: ReadonlyArray<{ name: string; op: (i: number) => Promise<unknown> }>,
  options: ThroughputOptions,
): Promise<Summary[]> {
  const contenders = operations.map(({ name, op }): Sampled => {
    let next = 0;
    let batch = 0;
    const run = async (n: number): Promise<number> => {
      const end = next + n;
      const before = process.cpuUsage();
      for (; next < end; next++) await op(next);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000; // ms of CPU
    };
    return {
      name,
      ours: true,
      async sample() {
        if (batch === 0) {
          let n = 256;
          while ((await run(n)) < options.sampleMs / 8 && n < 1 << 24) n *= 4;
          batch = Math.max(1, Math.round((n * options.sampleMs) / Math.max(await run(n), 1e-3)));
        }
        return (batch / (await run(batch))) * 1000;
      },
    };
  });
  return interleave(contenders, options);
}

type Setup = 'none' | 'otel' | 'prometheus' | 'channels';
const NAMES: Record<Setup, string> = {
  none: 'not instrumented',
  otel: '@toolkit/otel (SDK metrics + spans)',
  prometheus: '@toolkit/prometheus',
  channels: 'a subscriber on every diagnostics_channel',
};

/**
 * Subscribes a do-nothing handler to every channel of @toolkit/cache and @toolkit/core, as an APM agent
 * would: the cost measured is publishing (contexts, events), not what a subscriber does with them.
 * Channels are process-wide: it is on only for the `channels` contender's own phase, after the others ran
 * (subscribing and unsubscribing at every sample would flip the channels' prototypes, Node's way of
 * making `hasSubscribers` cheap, thousands of times, which no application does).
 */
function channelSubscriber(): { on(): void; off(): void } {
  const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  const traces = [CacheChannel.LOAD, CacheChannel.L2, PipelineChannel.CALL, PipelineChannel.ATTEMPT].map((name) => tracingChannel(name));
  const plain = [CacheChannel.EVENT, PipelineChannel.POLICY_EVENT];
  const onMessage = () => undefined;
  return {
    on() {
      for (const trace of traces) trace.subscribe(handlers);
      for (const name of plain) subscribe(name, onMessage);
    },
    off() {
      for (const trace of traces) trace.unsubscribe(handlers);
      for (const name of plain) unsubscribe(name, onMessage);
    },
  };
}
const channels = channelSubscriber();


/** One resilient({ cache, retry, timeout }) wrapper in its own registry, instrumented as `setup` says. */
function contender(setup: Setup) {
  const registry = new ResilienceRegistry();
  let stop = () => undefined as void;
  let shutdown = async () => undefined as void;
  if (setup === 'otel') {
    const meterProvider = new MeterProvider({ readers: [new PullReader()] });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] });
    stop = instrumentOtel({ registry, meterProvider, tracerProvider }).stop;
    shutdown = async () => {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    };
  } else if (setup === 'prometheus') {
    stop = instrumentPrometheus({ registry, register: new Registry() }).stop;
  }
  const get = registry.resilient({ cache: { maxSize: 10_000, ttl: '1h' }, retry: { maxAttempts: 3 }, timeout: '1s' })(
    async function getUser(id: number) {
      return user(id);
    },
  );
  return { name: NAMES[setup], get, close: async () => (stop(), await shutdown()) };
}

/**
 * 10. Telemetry: what `@toolkit/otel` and `@toolkit/prometheus` cost, on the same wrapper in one run.
 * Hot hits over 1,000 warm keys, and misses (a new key every call, so one load, one pipeline call and,
 * with OpenTelemetry, two spans per call).
 */
export const telemetry: Scenario = {
  id: 'telemetry',
  async run({ quick }) {
    const phase = async (setups: readonly Setup[]) => {
      const hitters = setups.map(contender);
      for (const c of hitters) for (let id = 0; id < KEYS; id++) await c.get(id);
      const hits = await cpuThroughput(
        hitters.map((c) => ({ name: `hit, ${c.name}`, op: (i: number) => c.get(i % KEYS) })),
        throughputRounds(quick),
      );
      const missers = setups.map(contender);
      const misses = await cpuThroughput(
        missers.map((c) => ({ name: `miss, ${c.name}`, op: (i: number) => c.get(KEYS + i) })),
        throughputRounds(quick),
      );
      for (const c of [...hitters, ...missers]) await c.close();
      return { hits, misses };
    };
    const unsubscribed = await phase(['none', 'otel', 'prometheus']);
    channels.on();
    const subscribed = await phase(['channels']).finally(() => channels.off());
    const rows: Row[] = [...unsubscribed.hits, ...subscribed.hits, ...unsubscribed.misses, ...subscribed.misses].map(rowOf);
    const hit = (s: Setup) => `hit, ${NAMES[s]}`;
    const miss = (s: Setup) => `miss, ${NAMES[s]}`;
    return {
      id: 'telemetry',
      title: '11. Telemetry overhead',
      workload: `The same \`resilient({ cache, retry, timeout })\` wrapper, each call awaited: hot hits over ${KEYS.toLocaleString('en')} warm keys, then misses (a new key every call, \`maxSize\` 10,000), not instrumented, with \`@toolkit/otel\` on the real SDK, with \`@toolkit/prometheus\` on a prom-client registry, and with a do-nothing subscriber on every \`node:diagnostics_channel\` channel of the cache and the pipeline.`,
      metric,
      rows,
      targets: [
        atLeast(rows, metric, hit('otel'), hit('none'), 0.9, 'an instrumented hit (OpenTelemetry) ≥ 0.9× an uninstrumented one (issue 13: the hit path must not slow down)'),
        atLeast(rows, metric, hit('prometheus'), hit('none'), 0.9, 'an instrumented hit (Prometheus) ≥ 0.9× an uninstrumented one'),
        atLeast(rows, metric, miss('otel'), miss('none'), 0.25, 'an instrumented miss (OpenTelemetry, two spans) ≥ 0.25× an uninstrumented one'),
        atLeast(rows, metric, miss('prometheus'), miss('none'), 0.5, 'an instrumented miss (Prometheus) ≥ 0.5× an uninstrumented one'),
        atLeast(rows, metric, miss('channels'), miss('none'), 0.25, 'a miss with a subscriber on every diagnostics_channel ≥ 0.25× one with none (a load, a call and an attempt traced, five events published)'),
      ],
      notes: [
        'Measured per second of the process\' CPU time, not wall time (unlike the other scenarios): the ratios between contenders are what this scenario is for, and on a shared machine wall time moves with other processes\' load.',
        'OpenTelemetry: MeterProvider with a pull MetricReader (nothing exported during the run), BasicTracerProvider with a BatchSpanProcessor whose exporter drops the batches: the cost is recording and making spans, not shipping them.',
        'Hits and misses are read from cache.stats() when metrics are collected, and the cache and the pipeline build an event only for a type someone listens to (EventBus.wants): neither exporter listens to CACHE_HIT, so an instrumented hit runs the same code as an uninstrumented one.',
        'The diagnostics_channel rows run in a phase of their own, after the others, with the do-nothing subscriber on for the whole phase (channels are process-wide): every other row is the unsubscribed path, which checks one hasSubscribers flag per channel and allocates nothing for it. A subscribed hit has no target: a subscriber on toolkit:cache:event asks for an event per hit (built and published, as a CACHE_HIT listener makes it), which is its cost; a subscribed miss traces a load, a call and an attempt and publishes five events.',
        'A miss with OpenTelemetry makes two spans (`resilient getUser`, `load getUser`) and records two counters and two histograms.',
      ],
    };
  },
};
