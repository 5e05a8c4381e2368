// Jest runs our TypeScript through @swc/jest in CommonJS mode (see ../shared/TOOLCHAIN.md §3):
// decorator metadata on, `.js` suffixes of nodenext imports stripped, ESM-only deps compiled to CJS.
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
};
const shared = {
  testEnvironment: 'node',
  moduleNameMapper: {
    '^@app/(contracts|resilience|routing|platform)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swc], '^.+\\.lua$': '<rootDir>/test/support/lua-transform.cjs' },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@sparticuz|cookie|jose|cockatiel)/)'],
};
export default {
  projects: [
    { ...shared, displayName: 'unit', testRegex: '(apps|libs|tools|deploy)/.*\\.spec\\.ts$' },
    { ...shared, displayName: 'e2e', testRegex: 'test/e2e/.*\\.e2e-spec\\.ts$' },
  ],
};
