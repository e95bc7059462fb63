/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/tests/helpers/node-environment.js',
  // Type checking is `npm run build` / tsc's job; tests are transpiled file by file (fast).
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  globalSetup: '<rootDir>/tests/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/tests/helpers/global-teardown.ts',
  testTimeout: 120000,
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  // an ES-module-only dependency jest cannot require (see the stand-in's comment)
  moduleNameMapper: {
    '^content-disposition$': '<rootDir>/tests/helpers/content-disposition-stand-in.js',
  },
  reporters: ['default', '<rootDir>/tests/helpers/summary-reporter.js'],
};
