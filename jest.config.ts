/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

// TypeScript is stripped by swc (fast); typechecking is `pnpm typecheck`, a separate tsc step.
const transform: Config['transform'] = {
  // @toolkit/nestjs and its tests use Nest's decorators: TypeScript's legacy ones, with the parameter types
  // as metadata (Nest injects by constructor parameter type). First: jest takes the first pattern that matches.
  '^.+/packages/nestjs/.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
      },
      module: { type: 'commonjs' },
    },
  ],
  '^.+\\.(t|j|mj)sx?$': [
    '@swc/jest',
    {
      jsc: {
        target: 'es2022',
        // TC39 (TypeScript 5) decorators, as in @resilientMethod; not the legacy experimentalDecorators.
        parser: { syntax: 'typescript', decorators: true },
        transform: { decoratorVersion: '2022-03' },
      },
      module: { type: 'commonjs' },
    },
  ],
};

// quick-lru, cockatiel and cookie (of light-my-request, Fastify's inject()) ship ESM only: let swc turn them into
// CommonJS for jest's module registry.
const esmOnly = ['quick-lru', 'cockatiel', 'cookie'].join('|');
const transformIgnorePatterns = [
  `/node_modules/\\.pnpm/(?!(${esmOnly})@)`,
  `/node_modules/(?!\\.pnpm|${esmOnly})`,
];

const moduleNameMapper = {
  // Tests import packages by name and run against their sources, so no build is needed to test.
  '^@toolkit/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
};

const config: Config = {
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/packages/*/test/*.test.ts'],
      transform,
      transformIgnorePatterns,
      moduleNameMapper,
    },
    {
      // Tests against real Redis servers: REDIS_URL if it answers, else one started for the run
      // (see packages/cache-redis/test/globalSetup.ts). Tests that kill, pause or cluster Redis start
      // their own servers on loopback.
      displayName: 'integration',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/packages/*/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/packages/cache-redis/test/globalSetup.ts',
      globalTeardown: '<rootDir>/packages/cache-redis/test/globalTeardown.ts',
      setupFilesAfterEnv: ['<rootDir>/packages/cache-redis/test/setupIntegration.ts'],
      transform,
      transformIgnorePatterns,
      moduleNameMapper,
    },
  ],
};

export default config;
