import { formatRatio, formatValue, ratio } from './format';
import type { Metric, Row, TargetResult } from './types';

/** The row named `name`; a scenario naming a row that it did not measure is a bug in the scenario. */
export function row(rows: readonly Row[], name: string): Row {
  const found = rows.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no row named "${name}" (rows: ${rows.map((r) => r.name).join(', ')})`);
  return found;
}

/**
 * "ours is at least `factor`× better than `peer`" on the medians: met or not, and the measured ratio
 * with both medians.
 */
export function atLeast(rows: readonly Row[], metric: Metric, ours: string, peer: string, factor: number, target: string): TargetResult {
  const a = row(rows, ours);
  const b = row(rows, peer);
  const r = ratio(a.median, b.median, metric.higherIsBetter);
  const met = r >= factor;
  const short = met ? '' : `; short by ${((1 - r / factor) * 100).toFixed(0)}%`;
  return {
    target,
    met,
    measured: `${formatRatio(r)} (${formatValue(a.median, metric.unit)} vs ${formatValue(b.median, metric.unit)}${short})`,
  };
}

/** "a measured number is at most / at least a bound". */
export function bound(target: string, value: number, limit: number, kind: 'max' | 'min', shown: string): TargetResult {
  const met = kind === 'max' ? value <= limit : value >= limit;
  return { target, met, measured: met ? shown : `${shown} (off by ${formatRatio(kind === 'max' ? value / limit : limit / value)})` };
}
