// Keeps what every published package carries besides its code in step with the repository root:
// `repository` (with the package's `directory`), `homepage`, `bugs` and `license` from the root
// package.json (the repository URL is written there and nowhere else), `files` listing LICENSE,
// CHANGELOG.md and README.md next to dist, the root LICENSE copied beside each package.json, a
// CHANGELOG.md present (changesets appends to it), and every published dependency on a sibling written
// `workspace:^`: pnpm publishes it as `^version`, where `workspace:*` would pin the exact version and make
// npm refuse (peers) or duplicate (dependencies) a sibling one patch apart.
//   node scripts/package-metadata.mjs          writes them
//   node scripts/package-metadata.mjs --check  changes nothing; exits 1 naming every package that drifted
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishablePackages, repoRoot } from './publishablePackages.mjs';

const check = process.argv.includes('--check');
const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const repositoryUrl = root.repository?.url;
if (typeof repositoryUrl !== 'string' || !/^git\+https:\/\/.+\.git$/.test(repositoryUrl)) {
  throw new TypeError('the root package.json needs `repository.url` as "git+https://host/owner/name.git"');
}
/** The repository's web address: git+https://github.com/o/n.git → https://github.com/o/n */
const web = repositoryUrl.replace(/^git\+/, '').replace(/\.git$/, '');
const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
const requiredFiles = ['dist', 'LICENSE', 'CHANGELOG.md', 'README.md'];

/** The fields a package must have, derived from the root and its directory. */
function expectedFields(directory) {
  return {
    license: root.license,
    repository: { type: 'git', url: repositoryUrl, directory },
    homepage: `${web}/tree/main/${directory}#readme`,
    bugs: { url: `${web}/issues` },
  };
}

/** `ranges` with every `workspace:` range written `workspace:^` (devDependencies are not published). */
function caretSiblings(ranges) {
  if (ranges === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(ranges).map(([name, range]) => [name, range.startsWith('workspace:') ? 'workspace:^' : range]),
  );
}

/** `pkg` with `fields` set: existing keys keep their place, new ones follow `license`. */
function withFields(pkg, fields) {
  const missing = Object.keys(fields).filter((key) => !(key in pkg));
  const out = {};
  for (const [key, value] of Object.entries(pkg)) {
    out[key] = key in fields ? fields[key] : value;
    if (key === 'license') for (const key of missing) out[key] = fields[key];
  }
  for (const key of missing) if (!(key in out)) out[key] = fields[key];
  return out;
}

const drifts = [];
for (const { name, dir, directory } of publishablePackages()) {
  const manifestPath = join(dir, 'package.json');
  const manifestText = readFileSync(manifestPath, 'utf8');
  const pkg = JSON.parse(manifestText);
  const files = [...(pkg.files ?? []), ...requiredFiles.filter((file) => !(pkg.files ?? []).includes(file))];
  const siblings = {};
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    if (pkg[field] !== undefined) siblings[field] = caretSiblings(pkg[field]);
  }
  const next = withFields(pkg, { ...expectedFields(directory), files, ...siblings });
  const nextText = `${JSON.stringify(next, null, 2)}\n`;
  const licensePath = join(dir, 'LICENSE');
  const licenseOk = existsSync(licensePath) && readFileSync(licensePath, 'utf8') === license;
  const changelogPath = join(dir, 'CHANGELOG.md');
  const changelogOk = existsSync(changelogPath);

  if (check) {
    const differing = Object.keys(next).filter((key) => JSON.stringify(next[key]) !== JSON.stringify(pkg[key]));
    if (differing.length > 0) drifts.push(`${name}: package.json ${differing.map((key) => `\`${key}\``).join(', ')} out of step`);
    if (!licenseOk) drifts.push(`${name}: ${directory}/LICENSE is missing or differs from the root LICENSE`);
    if (!changelogOk) drifts.push(`${name}: ${directory}/CHANGELOG.md is missing`);
    continue;
  }
  if (nextText !== manifestText) writeFileSync(manifestPath, nextText);
  if (!licenseOk) writeFileSync(licensePath, license);
  if (!changelogOk) writeFileSync(changelogPath, `# ${name}\n`);
}

if (drifts.length > 0) {
  console.error(`${drifts.join('\n')}\nRun \`node scripts/package-metadata.mjs\` to write them, and commit the result.`);
  process.exit(1);
}
if (check) console.log('package metadata, LICENSE and CHANGELOG.md: in step in every published package');
