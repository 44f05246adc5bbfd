import { summarize } from './stats';

/** One contender of an interleaved comparison: `sample()` measures once and returns the number. */
export interface Sampled {
  readonly name: string;
  readonly ours?: boolean;
  sample(): Promise<number> | number;
}

export interface InterleaveOptions {
  /** Measured rounds: each runs every contender once. */
  readonly rounds: number;
  /** Rounds run first and discarded (JIT warm-up, caches filled). */
  readonly warmupRounds: number;
  /**
   * The garbage collection before every sample (with `--expose-gc`): a full one, or a minor one (the
   * young generation only, a few ms instead of 100 ms or more with every peer's heap), which is what
   * `--quick` uses to stay quick.
   * @default 'full'
   */
  readonly gc?: 'full' | 'minor';
}

export interface Summary {
  readonly name: string;
  readonly ours: boolean;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

const collectGarbage = (globalThis as { gc?: (options?: { type: 'major' | 'minor' }) => void }).gc;
const MINOR = { type: 'minor' } as const;

/**
 * Runs the contenders round-robin in one process: in round r the order starts at contender r (mod n),
 * so no library always runs first (cold) or last (after everyone's garbage). Warm-up rounds are
 * discarded; each contender's measured samples are reduced to median, min and max. With `--expose-gc`,
 * garbage is collected before every sample so that one library's garbage is not charged to the next
 * (with `gc: 'minor'`, only the young generation's).
 */
export async function interleave(contenders: readonly Sampled[], options: InterleaveOptions): Promise<Summary[]> {
  const samples = contenders.map((): number[] => []);
  const total = options.warmupRounds + options.rounds;
  const minor = options.gc === 'minor';
  for (let round = 0; round < total; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (round + k) % contenders.length;
      if (minor) collectGarbage?.(MINOR);
      else collectGarbage?.();
      const value = await contenders[index]!.sample();
      if (round >= options.warmupRounds) samples[index]!.push(value);
    }
  }
  return contenders.map((c, i) => ({ name: c.name, ours: c.ours === true, ...summarize(samples[i]!), samples: samples[i]! }));
}

/** A contender of a throughput comparison: one operation, called with a running iteration number. */
export interface Operation {
  readonly name: string;
  readonly ours?: boolean;
  /** `async`: each call's promise is awaited before the next call (one caller, back to back). */
  readonly async: boolean;
  readonly op: (i: number) => unknown;
}

export interface ThroughputOptions extends InterleaveOptions {
  /** How long one sample runs: its batch size is calibrated to this. */
  readonly sampleMs: number;
}

/**
 * Operations per second of each contender, interleaved: every sample runs a calibrated batch of calls
 * and reports calls / second. The iteration number keeps growing across batches (a miss workload can
 * use it as a fresh key).
 */
export async function throughput(operations: readonly Operation[], options: ThroughputOptions): Promise<Summary[]> {
  const contenders = operations.map((operation): Sampled => {
    let next = 0;
    let batch = 0;
    const runBatch = async (n: number): Promise<number> => {
      const { op } = operation;
      const start = next;
      next += n;
      const end = start + n;
      const began = process.hrtime.bigint();
      if (operation.async) for (let i = start; i < end; i++) await op(i);
      else for (let i = start; i < end; i++) op(i);
      return Number(process.hrtime.bigint() - began) / 1e6;
    };
    return {
      name: operation.name,
      ours: operation.ours,
      async sample() {
        if (batch === 0) batch = await calibrate(runBatch, options.sampleMs);
        const ms = await runBatch(batch);
        return (batch / ms) * 1000;
      },
    };
  });
  return interleave(contenders, options);
}

/** A batch size that runs for about `sampleMs`. */
async function calibrate(runBatch: (n: number) => Promise<number>, sampleMs: number): Promise<number> {
  let n = 32;
  for (;;) {
    const ms = await runBatch(n);
    if (ms >= sampleMs / 8 || n >= 1 << 26) return Math.max(1, Math.round((n * sampleMs) / Math.max(ms, 1e-3)));
    n *= 4;
  }
}

/** The rounds of a throughput comparison: the full run, or the `--quick` one (3 rounds, minor GCs). */
export function throughputRounds(quick: boolean): ThroughputOptions {
  return quick ? { rounds: 3, warmupRounds: 1, sampleMs: 12, gc: 'minor' } : { rounds: 15, warmupRounds: 3, sampleMs: 50 };
}

/** A contender's summary as a table row (name, ours, median, min, max), without the raw samples. */
export function rowOf(s: Summary): { name: string; ours: boolean; median: number; min: number; max: number } {
  return { name: s.name, ours: s.ours, median: s.median, min: s.min, max: s.max };
}
