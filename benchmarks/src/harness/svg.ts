import type { ScenarioResult } from './types';
import { formatValue } from './format';

const PLOT = 440;
const VALUE = 130;
/** About the width of one character of the labels' 13 px sans-serif. */
const CHAR = 6.9;
const BAR = 20;
const GAP = 8;
const TOP = 44;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart of one scenario: one bar per row at its median, a whisker from min to max,
 * ours in the accent colour. Rows are drawn best first.
 */
export function barChart(result: ScenarioResult): string {
  const { rows, metric } = result;
  const sorted = [...rows].sort((a, b) => (metric.higherIsBetter ? b.median - a.median : a.median - b.median));
  const top = Math.max(...sorted.map((r) => r.max), 0) || 1;
  const LABEL = Math.ceil(Math.max(...sorted.map((r) => r.name.length)) * CHAR) + 20;
  const WIDTH = LABEL + PLOT + VALUE;
  const plot = PLOT;
  const x = (v: number) => LABEL + (v / top) * plot;
  const height = TOP + sorted.length * (BAR + GAP) + 28;
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600" fill="#1f2328">${escape(result.title)}</text>`,
    `<text x="12" y="38" fill="#57606a">${escape(`${metric.unit}, median of interleaved rounds (whisker: min–max); ${metric.higherIsBetter ? 'higher' : 'lower'} is better`)}</text>`,
  ];
  sorted.forEach((row, i) => {
    const y = TOP + i * (BAR + GAP);
    const fill = row.ours ? '#0969da' : '#8c959f';
    const weight = row.ours ? ' font-weight="600"' : '';
    lines.push(
      `<text x="${LABEL - 8}" y="${y + BAR / 2 + 4}" text-anchor="end" fill="#1f2328"${weight}>${escape(row.name)}</text>`,
      `<rect x="${LABEL}" y="${y}" width="${Math.max(1, x(row.median) - LABEL).toFixed(1)}" height="${BAR}" rx="3" fill="${fill}"/>`,
      `<line x1="${x(row.min).toFixed(1)}" x2="${x(row.max).toFixed(1)}" y1="${y + BAR / 2}" y2="${y + BAR / 2}" stroke="#1f2328" stroke-width="1.2"/>`,
      `<line x1="${x(row.min).toFixed(1)}" x2="${x(row.min).toFixed(1)}" y1="${y + 5}" y2="${y + BAR - 5}" stroke="#1f2328" stroke-width="1.2"/>`,
      `<line x1="${x(row.max).toFixed(1)}" x2="${x(row.max).toFixed(1)}" y1="${y + 5}" y2="${y + BAR - 5}" stroke="#1f2328" stroke-width="1.2"/>`,
      `<text x="${(x(row.max) + 6).toFixed(1)}" y="${y + BAR / 2 + 4}" fill="#1f2328"${weight}>${escape(formatValue(row.median, metric.unit))}</text>`,
    );
  });
  lines.push('</svg>', '');
  return lines.join('\n');
}
