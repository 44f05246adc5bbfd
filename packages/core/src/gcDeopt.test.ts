import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// A full garbage collection must not throw away the pipeline's optimized code. V8 holds hidden classes
// weakly: a GC that finds no call alive dropped CallState's (and a timed attempt's) class and every
// function optimized for it, so the calls after each GC ran unoptimized (CallState.latest,
// TimedAttempt.latest and LazySignalContext.latest keep one of each alive). The probe (test/gcDeoptProbe.ts) runs calls through the
// pipelines of a kind with a full GC between rounds under --trace-deopt, in a child process of its own.

const root = path.resolve(__dirname, '../../..');
const probe = path.join(root, 'packages/core/test/gcDeoptProbe.ts');

/** The sources of this package, to tell its functions from Node's (tsx's loader runs in the same process). */
const sources = (readdirSync(__dirname, { recursive: true, encoding: 'utf8' }) as string[])
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
  .map((file) => readFileSync(path.join(__dirname, file), 'utf8'))
  .join('\n');

/**
 * Names Node's own JavaScript defines too (EventEmitter's `on`, `emit`, …): a deopt of one of those is
 * not attributed to us, since --trace-deopt prints the name only (seen once in CI: Node's `on`).
 */
const nodeNames = new Set(Object.getOwnPropertyNames(EventEmitter.prototype));

/** Whether `name` (as --trace-deopt prints a function) is defined in this package's sources. */
function ours(name: string): boolean {
  if (name.startsWith('<')) return true; // class field initializers, anonymous functions: counted as ours
  if (nodeNames.has(name)) return false;
  const bare = name.replace(/^#/, '').replace(/[$^*+?.()|[\]{}\\]/g, '\\$&');
  return new RegExp(`^\\s*(?:static\\s+|readonly\\s+|async\\s+|get\\s+)*#?${bare}\\s*[(<=]|function ${bare}\\b|class ${bare}\\b`, 'm').test(sources);
}

function runProbe(kind: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--trace-deopt', '--import', 'tsx', probe, kind],
      { cwd: root, timeout: 120_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`the probe failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

it.each(['untimed', 'timed', 'timeoutPolicy'])('%s pipelines: no code is deoptimized for "weak objects" by the full GCs between rounds of calls', async (kind) => {
  const output = await runProbe(kind);
  const start = output.indexOf('--- measuring ---');
  const end = output.indexOf('--- done ---');
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  const dropped = output
    .slice(start, end)
    .split('\n')
    .filter((line) => line.includes('reason: weak objects'))
    .map((line) => /<SharedFunctionInfo ([^>]*)>/.exec(line)?.[1] ?? '<anonymous>');
  expect(dropped.filter(ours)).toEqual([]);
}, 120_000);
