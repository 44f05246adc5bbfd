import type { ScenarioResult } from './types';
import { formatValue } from './format';

export interface RunInfo {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly durationS: number;
  readonly machine: readonly string[];
  readonly versions: Readonly<Record<string, string>>;
}

/** `results/latest.md`: the run, a summary of every target, then each scenario's chart, table and notes. */
export function resultsMarkdown(run: RunInfo, results: readonly ScenarioResult[]): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Written by \`pnpm bench${run.mode === 'quick' ? ' --quick' : ''}\` on ${run.date} in ${run.durationS.toFixed(0)} s from the process's start (${run.mode} run).`,
    '',
    '## Machine',
    '',
    ...run.machine.map((line) => `- ${line}`),
    '',
    '## Method',
    '',
    '- Every library runs in the same process run as ours, interleaved: round-robin, the starting library rotating each round.',
    '- Warm-up rounds are discarded. Each cell is the median of the measured rounds, with the min–max range.',
    '- With `--expose-gc`, garbage is collected before every sample, so that one library\'s garbage is not charged to the next.',
    '- Ratios are taken between medians of the same run. Absolute numbers vary from machine to machine; the ratios are the claim.',
    '',
    '## Targets',
    '',
    '| Scenario | Target | Measured | Met |',
    '| --- | --- | --- | --- |',
  ];
  for (const r of results) {
    for (const t of r.targets) out.push(`| ${r.title} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  }
  out.push('', '## Versions', '', '| Package | Version |', '| --- | --- |');
  for (const [name, version] of Object.entries(run.versions)) out.push(`| ${name} | ${version} |`);
  // A note of three scenarios or more (how a library is set up) is said once, here; a note that two
  // scenarios share (4a and 4b) stays with them.
  const seen = new Map<string, number>();
  for (const r of results) for (const n of new Set(r.notes)) seen.set(n, (seen.get(n) ?? 0) + 1);
  const shared = new Set([...seen].filter(([, count]) => count > 2).map(([note]) => note));
  if (shared.size > 0) {
    out.push('', '## How each library is set up', '', 'Options away from a library\'s defaults, and why (they hold in every scenario below):', '');
    for (const n of shared) out.push(`- ${n}`);
  }
  for (const r of results) {
    out.push('', `## ${r.title}`, '', r.workload, '', `![${r.title}](${r.id}.svg)`, '');
    const columns = r.columns ?? [];
    out.push(
      `| Library | Median (${r.metric.unit}) | Min – max | ${columns.join(' | ')}${columns.length > 0 ? ' |' : ''}`,
      `| --- | --- | --- |${columns.map(() => ' --- |').join('')}`,
    );
    const sorted = [...r.rows].sort((a, b) => (r.metric.higherIsBetter ? b.median - a.median : a.median - b.median));
    for (const row of sorted) {
      const name = row.ours ? `**${row.name}**` : row.name;
      const extras = columns.map((c) => ` ${row.extra?.[c] ?? ''} |`).join('');
      out.push(`| ${name} | ${formatValue(row.median, r.metric.unit)} | ${formatValue(row.min, '')}– ${formatValue(row.max, '')} |${extras}`);
    }
    if (r.targets.length > 0) {
      out.push('', 'Targets:', '');
      for (const t of r.targets) out.push(`- ${t.met ? 'met' : '**missed**'}: ${t.target}: ${t.measured}`);
    }
    const own = r.notes.filter((n) => !shared.has(n));
    if (own.length > 0) {
      out.push('', 'Notes:', '');
      for (const n of own) out.push(`- ${n}`);
    }
  }
  out.push('');
  return out.join('\n');
}
