// One rollup setup for every package: ESM + CommonJS from esbuild, one bundled .d.ts per format.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import esbuild from 'rollup-plugin-esbuild';
import { dts } from 'rollup-plugin-dts';

/** @param {string} packageDir absolute path of the package being built */
export function packageConfig(packageDir) {
  const pkg = JSON.parse(readFileSync(`${packageDir}/package.json`, 'utf8'));
  const deps = [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...builtinModules,
  ];
  // Every dependency (and its subpaths) stays external: users install them, we never bundle them.
  const external = (id) => id.startsWith('node:') || deps.some((d) => id === d || id.startsWith(`${d}/`));
  const input = `${packageDir}/src/index.ts`;
  return [
    {
      input,
      external,
      plugins: [esbuild({ target: 'node20', tsconfig: `${packageDir}/tsconfig.json` })],
      output: [
        { file: `${packageDir}/dist/index.mjs`, format: 'es', sourcemap: true },
        { file: `${packageDir}/dist/index.cjs`, format: 'cjs', sourcemap: true, exports: 'named', interop: 'auto' },
      ],
    },
    {
      input,
      external,
      plugins: [dts({ tsconfig: `${packageDir}/tsconfig.json` })],
      output: [
        { file: `${packageDir}/dist/index.d.mts`, format: 'es' },
        { file: `${packageDir}/dist/index.d.cts`, format: 'es' },
      ],
    },
  ];
}
