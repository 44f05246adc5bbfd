/** What one scenario reports: a table, a chart and its targets. */
export interface ScenarioResult {
  /** Short id, also the chart's file name: `hot-hit` → `results/hot-hit.svg`. */
  readonly id: string;
  readonly title: string;
  /** The workload in one or two sentences (what every contender does). */
  readonly workload: string;
  /** The measured quantity of `rows` (the table's first columns and the chart). */
  readonly metric: Metric;
  readonly rows: readonly Row[];
  /** Extra columns shown after the metric: header → a row's `extra[header]`. */
  readonly columns?: readonly string[];
  readonly targets: readonly TargetResult[];
  /** How each library was used, non-default options and why, caveats. */
  readonly notes: readonly string[];
}

export interface Metric {
  /** e.g. `ops/s`, `µs/call`, `ms`, `bytes/entry` */
  readonly unit: string;
  readonly higherIsBetter: boolean;
}

/** One contender's result: the median over measured rounds, with the range. */
export interface Row {
  readonly name: string;
  /** Ours (drawn in the accent colour). */
  readonly ours?: boolean;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly extra?: Readonly<Record<string, string | number>>;
}

/** A target of the issue and whether this run met it. */
export interface TargetResult {
  /** The target as the issue states it, e.g. `≥ 2× p-memoize`. */
  readonly target: string;
  readonly met: boolean;
  /** What was measured, e.g. `3.1× (ours 6.2 M ops/s, p-memoize 2.0 M ops/s)`. */
  readonly measured: string;
}

export interface RunOptions {
  /** The 30-second version: fewer, shorter rounds. */
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

export interface Scenario {
  readonly id: string;
  run(options: RunOptions): Promise<ScenarioResult>;
}
