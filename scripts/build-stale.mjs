// `node scripts/build-stale.mjs`: builds the packages whose `dist/` is missing or older than what it is
// built from (`src/` but its tests, `package.json`, `rollup.config.mjs`, `tsconfig.json`, the shared rollup and
// TypeScript configs), and only those. `pnpm bench` runs it first, so a second benchmark run does not
// pay for a build it does not need. Each package's build leaves the other packages out (they stay
// external imports), so a package is stale by its own files alone.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = ['scripts/rollup.package.mjs', 'tsconfig.base.json'].map((f) => path.join(root, f)).filter((f) => existsSync(f));

/** The newest modification time of `file`, or of every file under it (a directory), in ms. */
function newest(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(file)) {
    if (/\.test(-d)?\.ts$/.test(entry)) continue; // tests are not built
    latest = Math.max(latest, newest(path.join(file, entry)));
  }
  return latest;
}

/** The oldest modification time of the files directly in `dir`, or -1 when it has none. */
function oldest(dir) {
  if (!existsSync(dir)) return -1;
  const files = readdirSync(dir).map((entry) => statSync(path.join(dir, entry)).mtimeMs);
  return files.length === 0 ? -1 : Math.min(...files);
}

const stale = [];
for (const name of readdirSync(path.join(root, 'packages'))) {
  const dir = path.join(root, 'packages', name);
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).scripts?.build === undefined) continue;
  const inputs = ['src', 'package.json', 'rollup.config.mjs', 'tsconfig.json'].map((f) => path.join(dir, f)).filter((f) => existsSync(f));
  const built = oldest(path.join(dir, 'dist'));
  if (built < 0 || [...inputs, ...shared].some((f) => newest(f) > built)) stale.push(name);
}

if (stale.length === 0) {
  console.log('build: every package is up to date (dist newer than its sources)');
} else {
  console.log(`build: ${stale.join(', ')}`);
  const filters = stale.flatMap((name) => ['--filter', `./packages/${name}`]);
  execFileSync('pnpm', [...filters, 'run', 'build'], { cwd: root, stdio: 'inherit' });
}
