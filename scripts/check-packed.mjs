// Packs every published package with `pnpm pack` (what the registry would get) and checks the tarball:
// LICENSE, CHANGELOG.md, README.md and package.json are there, every file the manifest's main, module,
// types and exports point to is there, and no `workspace:` range is left in the packed package.json.
// Exits 1 naming each package and what its tarball lacks. Run after `pnpm build`.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { publishablePackages } from './publishablePackages.mjs';

const run = promisify(execFile);
const always = ['package.json', 'LICENSE', 'CHANGELOG.md', 'README.md'];

/** Every relative path a manifest's entry fields name (exports nested to any depth). */
function entryFiles(pkg) {
  const found = new Set();
  const visit = (value) => {
    if (typeof value === 'string') found.add(value.replace(/^\.\//, ''));
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(visit);
  };
  [pkg.main, pkg.module, pkg.types, pkg.exports].forEach(visit);
  return [...found];
}

async function problemsOf({ name, dir }, destination) {
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', destination, '--json'], { cwd: dir });
  const tarball = JSON.parse(stdout).filename;
  const listing = (await run('tar', ['-tzf', tarball])).stdout;
  const files = new Set(listing.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, '')));
  const packed = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout);
  const problems = [...always, ...entryFiles(packed)].filter((file) => !files.has(file)).map((file) => `lacks ${file}`);
  if (![...files].some((file) => file.startsWith('dist/'))) problems.push('has no dist/');
  const ranges = ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((field) =>
    Object.entries(packed[field] ?? {}).filter(([, range]) => String(range).startsWith('workspace:')),
  );
  for (const [dependency, range] of ranges) problems.push(`keeps ${dependency}@${range}`);
  return problems.map((problem) => `${name}: the packed tarball ${problem}`);
}

const destination = mkdtempSync(join(tmpdir(), 'toolkit-pack-'));
try {
  const packages = publishablePackages();
  const problems = (await Promise.all(packages.map((pkg) => problemsOf(pkg, destination)))).flat();
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`packed contents: ${packages.length} packages carry LICENSE, CHANGELOG.md, README.md and their entry files`);
} finally {
  rmSync(destination, { recursive: true, force: true });
}
