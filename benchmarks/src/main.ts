// `pnpm bench [--quick] [--only id,id]`: every scenario against its peers, in one process run each
// (interleaved), then results/latest.md and one SVG chart per scenario. See benchmarks/README.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resultsMarkdown } from './harness/markdown';
import { barChart } from './harness/svg';
import type { Scenario, ScenarioResult } from './harness/types';
import { scenarios } from './scenarios';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',').filter(Boolean) : undefined;
const unknown = args.filter((a, i) => !['--quick', '--only'].includes(a) && !(onlyIndex >= 0 && i === onlyIndex + 1));
if (unknown.length > 0) {
  console.error(`unknown argument ${unknown[0]}: use --quick (the 45-second run) and/or --only <id,id> (ids: ${scenarios.map((s) => s.id).join(', ')})`);
  process.exit(2);
}
if (only !== undefined) {
  const missing = only.filter((id) => !scenarios.some((s) => s.id === id));
  if (missing.length > 0 || only.length === 0) {
    console.error(`--only takes scenario ids separated by commas; unknown: ${missing.join(', ') || '(none given)'}; ids: ${scenarios.map((s) => s.id).join(', ')}`);
    process.exit(2);
  }
}
if ((globalThis as { gc?: unknown }).gc === undefined) console.warn('note: run with --expose-gc (pnpm bench does) to collect garbage between samples');

const here = path.dirname(fileURLToPath(import.meta.url));
// Child processes (memory, Redis workers) run through tsx too: they must resolve @toolkit/* to the built
// packages as this process does, whatever their working directory (see benchmarks/tsconfig.json).
process.env.TSX_TSCONFIG_PATH ??= path.join(here, '..', 'tsconfig.json');
const chosen: Scenario[] = only === undefined ? scenarios : scenarios.filter((s) => only.includes(s.id));
// A partial or quick run never overwrites the committed full results.
const outDir = path.join(here, '..', 'results', only === undefined && !quick ? '' : 'partial');
mkdirSync(outDir, { recursive: true });

/** How long `--quick` may take, all scenarios, from the process's start. */
const QUICK_BUDGET_S = 45;
const started = performance.now();
const results: ScenarioResult[] = [];
for (const scenario of chosen) {
  const t0 = performance.now();
  console.log(`\n▶ ${scenario.id}`);
  const result = await scenario.run({ quick, log: (line) => console.log(`  ${line}`) });
  results.push(result);
  writeFileSync(path.join(outDir, `${result.id}.svg`), barChart(result));
  for (const t of result.targets) console.log(`  ${t.met ? '✓' : '✗'} ${t.target}: ${t.measured}`);
  console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const require = createRequire(import.meta.url);
const versionOf = (name: string): string => {
  const dir = path.dirname(require.resolve(`${name}/package.json`, { paths: [path.join(here, '..')] }));
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
};
const peers = JSON.parse(readFileSync(path.join(here, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const versions: Record<string, string> = { node: process.version };
for (const name of Object.keys(peers.dependencies)) {
  try {
    versions[name] = versionOf(name);
  } catch {
    versions[name] = peers.dependencies[name]!;
  }
}
const cpus = os.cpus();
const markdown = resultsMarkdown(
  {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    mode: quick ? 'quick' : 'full',
    durationS: performance.now() / 1000, // since the process started, loading included
    machine: [
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}`,
      `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()} (${os.arch()})`,
      `Node.js ${process.version}; load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}`,
    ],
    versions,
  },
  results,
);
writeFileSync(path.join(outDir, 'latest.md'), markdown);
const missed = results.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.id}: ${t.target}`));
// performance.now() counts from the process's start: the total includes loading (tsx compiling) this
// CLI, the scenarios and every peer, before the first scenario started.
const elapsed = performance.now() / 1000;
console.log(`\nwrote ${path.relative(process.cwd(), path.join(outDir, 'latest.md'))}`);
console.log(
  `${quick ? 'quick' : only === undefined ? 'full' : 'partial'} run: ${elapsed.toFixed(1)} s since this process started ` +
    `(${((performance.now() - started) / 1000).toFixed(1)} s of scenarios, ${(started / 1000).toFixed(1)} s loading)` +
    (quick && only === undefined ? (elapsed <= QUICK_BUDGET_S ? `, within the ${QUICK_BUDGET_S} s a quick run may take` : `: OVER the ${QUICK_BUDGET_S} s a quick run may take`) : ''),
);
console.log(missed.length === 0 ? 'every target met' : `targets missed:\n  ${missed.join('\n  ')}`);
