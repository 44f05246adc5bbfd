/**
 * Coherence under Redis faults, short form (the long one is `pnpm soak`): 3 reader processes and a
 * writer share a cache Redis that is killed, stopped (SIGSTOP) and paused (CLIENT PAUSE) in turn. No call
 * fails, nothing rejects unhandled, and no read that starts in steady state, or 1 s or more after a fault
 * ended, returns a version superseded by an invalidation that resolved more than 500 ms before it.
 */
import { runCoherence } from '../coherence/coherenceRun';
import type { CoherenceReport } from '../coherence/coherenceRun';

jest.setTimeout(90_000);

let report: CoherenceReport;

beforeAll(async () => {
  report = await runCoherence({
    readers: 3,
    phases: [
      { kind: 'steady', ms: 2_000 },
      { kind: 'kill', ms: 2_000 },
      { kind: 'steady', ms: 3_000 },
      { kind: 'sigstop', ms: 2_000 },
      { kind: 'steady', ms: 3_000 },
      { kind: 'pause', ms: 2_000 },
      { kind: 'steady', ms: 3_000 },
    ],
  });
});

describe('coherence across processes while the cache Redis fails (short run)', () => {
  it('ran the traffic and the three faults', () => {
    expect(report.faults).toBe(3);
    expect(report.writes).toBeGreaterThan(50);
    expect(report.reads).toBeGreaterThan(1_000);
  });

  it('no call failed and no promise rejected unhandled', () => {
    expect(report.failures).toEqual([]);
    expect(report.unhandled).toEqual([]);
  });

  it('no checked read was staler than 500 ms after the invalidation that superseded it', () => {
    expect({ violations: report.violations.slice(0, 10), count: report.violations.length }).toEqual({ violations: [], count: 0 });
  });
});
