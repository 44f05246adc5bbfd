// Checks the READMEs (issue 15):
// 1. every ```ts block of README.md and packages/*/README.md type-checks on its own: each block is written
//    to a file of its own (an ES module) and all are compiled with the root TypeScript and the root
//    tsconfig.json, whose `paths` resolve `@toolkit/*` to the packages' sources; an error is reported at the
//    README's file:line. A block opened with ```ts nocheck is skipped (for a fragment that cannot stand alone).
// 2. no package README has a relative link: they are what the registry shows, where `../../README.md` is dead.
// Exits 1 on any failure. Run with `pnpm check:snippets`.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside examples/ so that the snippets resolve what the examples depend on (fastify, express, prom-client,
// the OpenTelemetry SDK) from examples/node_modules; node_modules/.cache is git-ignored and never linted.
const outDir = join(root, 'examples', 'node_modules', '.cache', 'readme-snippets');

const packageReadmes = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join('packages', entry.name, 'README.md'))
  .filter((file) => existsSync(join(root, file)))
  .sort();
const readmes = ['README.md', ...packageReadmes];

/** The ```ts blocks of a markdown text: the line (1-based) of each opening fence and the code. */
function tsBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (open[1] === 'ts' || open[1] === 'typescript') {
      blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n'), nocheck: open[2].split(/\s+/).includes('nocheck') });
    }
    i = end;
  }
  return blocks;
}

/** Links and images (markdown `[x](t)`, `[x]: t`, HTML `href`/`src`) whose target is relative: not a URL, not an anchor. */
function relativeLinks(text) {
  const found = [];
  const targets = [/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g, /^\s*\[[^\]]+\]:\s*<?([^\s>]+)/g, /\b(?:href|src)\s*=\s*["']([^"']+)["']/g];
  let inFence = false;
  text.split('\n').forEach((line, index) => {
    if (/^```/.test(line)) inFence = !inFence;
    if (inFence) return;
    for (const pattern of targets) {
      for (const match of line.matchAll(pattern)) {
        const target = match[1];
        if (!/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(target)) found.push({ line: index + 1, target });
      }
    }
  });
  return found;
}

const problems = [];

for (const readme of packageReadmes) {
  for (const { line, target } of relativeLinks(readFileSync(join(root, readme), 'utf8'))) {
    problems.push(
      `${readme}:${line}: relative link \`${target}\`: a package README is shown on the registry, where it does not resolve; ` +
        'link to https://github.com/toolkit-js/toolkit/blob/main/… instead',
    );
  }
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const snippets = new Map(); // snippet file → { readme, line }
let skipped = 0;
for (const readme of readmes) {
  for (const block of tsBlocks(readFileSync(join(root, readme), 'utf8'))) {
    if (block.nocheck) {
      skipped++;
      continue;
    }
    const file = join(outDir, `${readme.replaceAll('/', '__').replace(/\.md$/, '')}__L${block.line}.mts`);
    // `export {}` on the last line makes every block a module (its own scope, top-level await) without
    // moving the block's lines.
    writeFileSync(file, `${block.code}\nexport {};\n`);
    snippets.set(file, { readme, line: block.line, legacyDecorators: usesLegacyDecorators(readme) });
  }
}

const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
const config = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
// Every package resolves to its sources, @toolkit/nestjs too (the root tsconfig leaves it out, see below).
const options = {
  ...config.options,
  noEmit: true,
  paths: { ...config.options.paths, '@toolkit/nestjs': ['packages/nestjs/src/index.ts'] },
};
const host = ts.createCompilerHost(options);
// A snippet is code in a project that depends on our packages, so what a package depends on (cockatiel for
// @toolkit/core) resolves as it would there: first from examples/, else from each package's folder.
const packageEntries = packageReadmes.map((readme) => join(root, dirname(readme), 'src', 'index.ts'));
const resolutionCache = ts.createModuleResolutionCache(root, (name) => name, options);
host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions) =>
  literals.map((literal) => {
    const from = (file) => ts.resolveModuleName(literal.text, file, compilerOptions, host, resolutionCache, redirected);
    const resolved = from(containingFile);
    if (resolved.resolvedModule || !snippets.has(containingFile)) return resolved;
    for (const entry of packageEntries) {
      const fromPackage = from(entry);
      if (fromPackage.resolvedModule) return fromPackage;
    }
    return resolved;
  });
// A package built with TypeScript's legacy decorators (NestJS) documents code written with them: its
// blocks are checked in a program of their own, with its decorator options.
const files = [...snippets.keys()];
const diagnostics = [
  ...ts.getPreEmitDiagnostics(ts.createProgram({ rootNames: files.filter((f) => !snippets.get(f).legacyDecorators), options, host })),
  ...ts.getPreEmitDiagnostics(
    ts.createProgram({
      rootNames: files.filter((f) => snippets.get(f).legacyDecorators),
      options: { ...options, experimentalDecorators: true, emitDecoratorMetadata: true },
      host,
    }),
  ),
];

for (const diagnostic of diagnostics) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!diagnostic.file || diagnostic.start === undefined) {
    problems.push(`TS${diagnostic.code}: ${message}`);
    continue;
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const snippet = snippets.get(diagnostic.file.fileName);
  const where = snippet
    ? `${snippet.readme}:${snippet.line + 1 + line}:${character + 1}`
    : `${relative(root, diagnostic.file.fileName)}:${line + 1}:${character + 1}`;
  problems.push(`${where}: TS${diagnostic.code}: ${message}`);
}

for (const problem of problems) console.error(problem);
console.log(
  `${snippets.size} TypeScript blocks in ${readmes.length} READMEs type-checked` +
    (skipped > 0 ? ` (${skipped} marked nocheck)` : '') +
    `, ${packageReadmes.length} package READMEs checked for relative links: ${problems.length} problem(s)`,
);
if (problems.length > 0) process.exit(1);

/** Whether the README's package compiles with `experimentalDecorators` (its own tsconfig.json says so). */
function usesLegacyDecorators(readme) {
  const tsconfig = join(root, dirname(readme), 'tsconfig.json');
  if (readme === 'README.md' || !existsSync(tsconfig)) return false;
  return ts.readConfigFile(tsconfig, ts.sys.readFile).config?.compilerOptions?.experimentalDecorators === true;
}
