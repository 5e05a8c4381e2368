// ESLint flat config: the architecture's import rules (README, "Import rules"), plus a few cheap
// correctness rules that the code already passes. No type-aware rules: syntax only, so a whole-repo run
// stays a few seconds on 2 cores. `npm run lint`; `npm test` runs it after the type-check.
//
// Two mechanisms, each where it is exact:
// - eslint-plugin-import-x `no-restricted-paths` for the "never" arrows between folders. It resolves
//   each import to a file first (the `.js` suffixes of nodenext imports to `.ts`, `@app/*` through
//   tsconfig `paths`), so `../../delivery/src/x.js` and `../../../apps/delivery/src/x.js` are the
//   same arrow whatever the importing file's depth. A specifier pattern cannot say that.
// - core `no-restricted-imports` where the rule is about the specifier itself: a package name
//   (`@nestjs/*`) or the shape of a lib import (barrel alias or not).
import path from 'node:path';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const root = import.meta.dirname;
const services = ['gateway', 'query', 'delivery', 'analyzer'];
const barrels = ['contracts', 'platform', 'resilience', 'routing'];

/** import-x zones: the importing files (`target`) must not import the files under `from`. */
const zones = [
  {
    target: './libs',
    from: ['./apps', './tools'],
    message: '[libs-never-import-apps] a lib never imports an app or a tool; move the shared code into a lib.',
  },
  ...services.map((service) => ({
    target: `./apps/${service}`,
    from: services.filter((other) => other !== service).map((other) => `./apps/${other}`),
    message:
      `[services-are-isolated] apps/${service} never imports another service; services talk over Nest TCP ` +
      '(the gateway through its upstream clients), and what they share lives in libs/contracts.',
  })),
  {
    target: ['./apps/delivery/src/lifecycle', './apps/delivery/src/provider', './apps/delivery/src/config'],
    from: ['claims', 'queue', 'deliveries', 'orders', 'activities'].map((dir) => `./apps/delivery/src/${dir}`),
    message:
      '[delivery-layers] lifecycle/, provider/ and config/ are the bottom of apps/delivery; they import ' +
      'nothing from claims/, queue/, deliveries/, orders/ or activities/.',
  },
  {
    target: './apps/delivery/src/deliveries',
    from: ['claims', 'queue', 'orders'].map((dir) => `./apps/delivery/src/${dir}`),
    message: '[delivery-layers] deliveries/ imports nothing from claims/, queue/ or orders/ (they call it, not the reverse).',
  },
];

/** Cheap, syntax-only correctness rules; all pass on the tree as it is. */
const correctness = {
  'no-constant-binary-expression': 'error',
  'no-debugger': 'error',
  'no-dupe-keys': 'error',
  'no-duplicate-case': 'error',
  'no-self-assign': 'error',
  'no-self-compare': 'error',
  'no-unreachable': 'error',
  'no-unsafe-finally': 'error',
  'no-unsafe-negation': 'error',
  'no-unsafe-optional-chaining': 'error',
  'no-async-promise-executor': 'error',
  'no-compare-neg-zero': 'error',
  'no-cond-assign': 'error',
  'no-loss-of-precision': 'error',
  'no-sparse-arrays': 'error',
  'use-isnan': 'error',
  'valid-typeof': 'error',
  'no-var': 'error',
  'import-x/no-duplicates': 'error',
  'import-x/no-unresolved': 'error',
};

export default [
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.rampart/'] },
  {
    files: ['**/*.{ts,js,mjs,cjs}'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'] },
          tsconfig: { configFile: path.join(root, 'tsconfig.json') },
        }),
      ],
    },
    rules: {
      ...correctness,
      'import-x/no-restricted-paths': ['error', { basePath: root, zones }],
    },
  },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  {
    // The example client imports types generated from the OpenAPI document (`npm run docs:api`, not
    // committed); tools/api-docs/typed-client.spec.ts generates them and type-checks the example.
    files: ['docs/examples/**/*.ts'],
    rules: { 'import-x/no-unresolved': ['error', { ignore: ['^\\./rampart-api\\.js$'] }] },
  },
  {
    // Apps import a lib only through its barrel: what a lib exports is what its index.ts says.
    files: ['apps/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^@app/(${barrels.join('|')})/`,
              message: '[lib-barrels-only] import a lib through its barrel (`@app/<lib>`), never a file inside it; export what you need from its index.ts.',
            },
            {
              regex: '^(\\.\\./)+libs(/|$)',
              message: '[lib-barrels-only] import a lib through its barrel alias (`@app/<lib>`), never by a relative path into libs/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The policy and routing cores are plain TypeScript, usable without Nest (bench, tests, other
    // runtimes). Neither lib has a Nest wrapper file today; if one is added, list it in `ignores` here.
    files: ['libs/resilience/src/**/*.ts', 'libs/routing/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*'],
              message: '[cores-without-nest] libs/resilience and libs/routing import nothing from @nestjs; wire them into Nest in the app or in libs/platform.',
            },
          ],
        },
      ],
    },
  },
];
