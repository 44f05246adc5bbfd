import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The README's quick start is examples/http-cache.ts, word for word: `pnpm typecheck` compiles it and
// `pnpm examples` runs it, so the snippet cannot rot.
it('has the quick start of examples/http-cache.ts', () => {
  const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
  const snippet = /## Quick start[^\n]*\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(snippet).toBe(readFileSync(join(__dirname, '../../../examples/http-cache.ts'), 'utf8'));
});
