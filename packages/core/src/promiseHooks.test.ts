import { execFile } from 'node:child_process';
import path from 'node:path';

// With default options no kind of resilient() call may turn Node's promise hooks on: once on (an
// AsyncLocalStorage ever `run()`), they stay on for the whole process, and every `await` anywhere in it
// costs several times more. Jest turns them on itself, so each kind runs in a fresh child process
// (test/promiseHooksProbe.ts, against the sources through tsx), which reports a new promise's own
// symbols before and after: Node 20 tags every promise with `async_id_symbol`, `trigger_async_id_symbol`
// and `kResourceStore` while the hooks are on.

const root = path.resolve(__dirname, '../../..');
const probe = path.join(root, 'packages/core/test/promiseHooksProbe.ts');

interface Report {
  before: string[];
  after: string[];
  observed: unknown;
}

function runProbe(kind: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', probe, kind], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`probe "${kind}" failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Report);
    });
  });
}

/** Each kind, and what its exercise must observe (so a probe that silently did nothing fails). */
const kinds: Array<[kind: string, observed: unknown]> = [
  ['cache miss', [{ value: 2 }]],
  ['cache hit', [{ value: 7 }, 1]],
  ['retry', [{ value: 4 }, 3]],
  ['timeout', [{ value: 2 }, { error: 'TimeoutError' }]],
  ['per-call timeout', [{ value: 5 }]],
  ['circuit breaker', [{ error: 'Error' }, { error: 'Error' }, { error: 'CircuitOpenError' }, 'open']],
  ['fallback', [{ value: 'fallback for boom' }]],
  ['bulkhead', [{ value: 2 }, { value: 4 }, { error: 'BulkheadFullError' }]],
  ['rate limiter', [{ value: 2 }, { error: 'RateLimitedError' }]],
  ['attempt context', [{ value: { attempt: 2, aborted: false } }]],
  ['withContext', [{ value: { n: 3, attempt: 1, aborted: false } }]],
  ['caller signal', [{ error: 'AbortError' }]],
  ['full pipeline with listeners', [{ value: 2 }, { value: 2 }, ['CACHE_MISS', 'RETRY', 'SUCCESS', 'CACHE_HIT']]],
];

describe('no promise hooks', () => {
  // All children start at once (a few seconds in all, not one after the other); the timeouts are
  // generous because each child compiles the sources through tsx on a machine that may be busy.
  const reports = new Map<string, Promise<Report>>();
  beforeAll(() => {
    for (const [kind] of kinds) {
      const report = runProbe(kind);
      report.catch(() => undefined); // awaited by its test
      reports.set(kind, report);
    }
  });

  it.each(kinds)('a %s leaves a fresh promise without async-hook symbols', async (kind, observed) => {
    const report = await reports.get(kind);
    expect(report).toEqual({ before: [], after: [], observed });
  }, 120_000);
});
