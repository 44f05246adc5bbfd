import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Every TypeScript snippet of the README is a file that `pnpm typecheck` compiles, word for word: the quick
// start is examples/nestjs.ts (`pnpm examples` runs it), the others are in test/readme/.
const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

it('has the quick start of examples/nestjs.ts', () => {
  const snippet = /## Quick start[^\n]*\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(snippet).toBe(readFileSync(join(__dirname, '../../../examples/nestjs.ts'), 'utf8'));
});

it('has no other TypeScript snippet than those of test/readme/', () => {
  const files = readdirSync(join(__dirname, 'readme')).map((file) => readFileSync(join(__dirname, 'readme', file), 'utf8'));
  expect(snippets.slice(1)).toEqual(files);
});
