// The packages this repository publishes: every workspace package that is not private, as pnpm itself
// lists them (pnpm-workspace.yaml is the one list; a new package is picked up without editing scripts).
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';

export const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** @returns {{ name: string, dir: string, directory: string }[]} `dir` absolute, `directory` relative to the root */
export function publishablePackages() {
  const listed = JSON.parse(
    execFileSync('pnpm', ['-r', 'ls', '--depth', '-1', '--json'], { cwd: repoRoot, encoding: 'utf8' }),
  );
  return listed
    .filter((pkg) => !pkg.private)
    .map((pkg) => ({ name: pkg.name, dir: pkg.path, directory: relative(repoRoot, pkg.path) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
