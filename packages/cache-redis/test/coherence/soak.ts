/**
 * `pnpm soak`: the coherence run (coherenceRun.ts) for minutes, with many faults of each kind, and the
 * figures docs/reliability.md reports: calls, faults, staleness p50/p99/max, latency p99. Run by hand;
 * CI runs the short form (integration/coherence.test.ts).
 *
 *   pnpm soak                 # about 3 minutes: 4 readers, 6 rounds of kill / SIGSTOP / CLIENT PAUSE
 *   pnpm soak -- --rounds 2   # shorter
 *   pnpm soak -- --cluster    # on a Cluster (3 masters + 3 replicas): rounds of killing the entry's master
 */
import { runCoherence } from './coherenceRun';
import type { Phase } from './coherenceRun';

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg === -1 ? 6 : Number(process.argv[roundsArg + 1]);
if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('`--rounds` must be a positive integer');

const cluster = process.argv.includes('--cluster');
const phases: Phase[] = [{ kind: 'steady', ms: 3_000 }];
for (let i = 0; i < rounds; i++) {
  if (cluster) phases.push({ kind: 'failover', ms: 1_000 }, { kind: 'steady', ms: 6_000 });
  else for (const kind of ['kill', 'sigstop', 'pause'] as const) phases.push({ kind, ms: 2_000 + (i % 3) * 1_000 }, { kind: 'steady', ms: 6_000 });
}

async function main(): Promise<void> {
const started = Date.now();
const report = await runCoherence({ readers: 4, phases, cluster, log: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`) });
const calls = report.reads + report.writes;
console.log(`
calls: ${calls.toLocaleString('en')} (${report.reads.toLocaleString('en')} reads by 4 processes, ${report.writes} writes), over ${(report.durationMs / 1000).toFixed(0)} s
faults: ${report.faults} (${cluster ? `${rounds} failovers: the entry's master killed, restarted 1 s after its replica took over` : `${rounds} each of kill, SIGSTOP and CLIENT PAUSE, 2-4 s each`})
failed calls: ${report.failures.length}; unhandled rejections: ${report.unhandled.length}
staleness of reads checked (steady state, and from 1 s after each ${cluster ? 'replica took over' : 'fault'}): p50 ${report.staleness.p50} ms, p99 ${report.staleness.p99} ms, max ${report.staleness.max} ms
reads staler than 500 ms: ${report.violations.length}
staleness during faults (not bounded): p99 ${report.stalenessDuringFaults.p99} ms, max ${report.stalenessDuringFaults.max} ms
latency: p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms, max ${report.latency.max} ms`);
for (const v of report.violations.slice(0, 10)) console.log(`  stale: ${v.reader} at ${v.startedAt} ms read version ${v.version}, ${v.staleMs} ms after it was superseded`);
for (const f of report.failures.slice(0, 10)) console.log(`  failed: ${f}`);
process.exitCode = report.failures.length + report.unhandled.length + report.violations.length === 0 ? 0 : 1;
}

void main();
