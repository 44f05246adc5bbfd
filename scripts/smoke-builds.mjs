// Loads every package's built ESM and CommonJS entry points, so a packaging mistake fails CI even though
// the unit tests run against sources.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = new URL('../packages/', import.meta.url).pathname;
let failed = false;
for (const dir of readdirSync(root)) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const exported = pkg.exports['.'];
  for (const [format, load] of [
    ['esm', () => import(join(root, dir, exported.import.default))],
    ['cjs', async () => require(join(root, dir, exported.require.default))],
  ]) {
    try {
      const mod = await load();
      const names = Object.keys(mod).filter((n) => n !== 'default' && n !== '__esModule');
      if (names.length === 0) throw new Error('no exports');
      console.log(`ok   ${pkg.name} (${format}): ${names.length} exports`);
    } catch (error) {
      failed = true;
      console.error(`FAIL ${pkg.name} (${format}): ${error.stack ?? error}`);
    }
  }
}
if (failed) process.exit(1);
