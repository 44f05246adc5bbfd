// Runs every file in examples/ (a smoke run, so examples never rot). Each must exit 0 within 60 s.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const dir = new URL('../examples/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
let failed = 0;
for (const file of files) {
  const started = Date.now();
  // An example with a tsconfig of its own beside it (`nestjs.tsconfig.json`: Nest's legacy decorators) runs with it.
  const tsconfig = `${dir}${file.replace(/\.ts$/, '.tsconfig.json')}`;
  const run = spawnSync('pnpm', ['exec', 'tsx', ...(existsSync(tsconfig) ? ['--tsconfig', tsconfig] : []), `${dir}${file}`], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, encoding: 'utf8' });
  const ok = run.status === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} examples/${file} (${Date.now() - started} ms)`);
  if (!ok) console.log(run.stdout, run.stderr, run.error ?? '');
}
console.log(`${files.length - failed}/${files.length} examples ran`);
if (failed > 0 || files.length === 0) process.exit(1);
