import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The import rules of eslint.config.js bite: each "never" arrow of the architecture, written as a real
 * import at a virtual path of the repo, is an error of the named rule; the allowed arrows are not.
 * The snippets go through the repo's own config by ESLint's Node API (`lintText`), run in a child Node
 * (see tools/lint/lint-texts.mjs for why). Imports name real files, so the path rules can resolve them.
 */

interface LintCase {
  name: string;
  filePath: string;
  code: string;
  /** Expected rule id and the tag its message names; absent for a case that must lint clean. */
  expect?: { ruleId: string; tag: string };
}
interface LintResult {
  filePath: string;
  messages: Array<{ ruleId: string | null; message: string; severity: number }>;
}

const paths = 'import-x/no-restricted-paths';
const restricted = 'no-restricted-imports';
const moduleOf = { gateway: 'gateway.module', query: 'query.module', delivery: 'delivery.module' } as const;
const services = Object.keys(moduleOf) as Array<keyof typeof moduleOf>;

/** A real file in each folder of apps/delivery/src, for the layer cases. */
const fileIn = {
  claims: 'claims/claim.service',
  queue: 'queue/delivery.queue',
  deliveries: 'deliveries/order-deliverer',
  orders: 'orders/order-admin.service',
  activities: 'activities/activity.store',
} as const;
const layerCase = (dir: string, to: keyof typeof fileIn): LintCase => ({
  name: `delivery ${dir}/ imports ${to}/`,
  filePath: `apps/delivery/src/${dir}/bad.ts`,
  code: `import { X } from '../${fileIn[to]}.js';`,
  expect: { ruleId: paths, tag: '[delivery-layers]' },
});

const bad: LintCase[] = [
  {
    name: 'a lib imports an app',
    filePath: 'libs/routing/src/bad.ts',
    code: "import { DeliveryModule } from '../../../apps/delivery/src/delivery.module.js';",
    expect: { ruleId: paths, tag: '[libs-never-import-apps]' },
  },
  {
    name: 'a lib imports an app, type only, from a nested folder',
    filePath: 'libs/platform/src/redis/bad.ts',
    code: "import type { QueryModule } from '../../../../apps/query/src/query.module.js';",
    expect: { ruleId: paths, tag: '[libs-never-import-apps]' },
  },
  {
    name: 'a lib imports a tool',
    filePath: 'libs/contracts/src/bad.ts',
    code: "export { x } from '../../../tools/provider-stub/src/provider-stub.js';",
    expect: { ruleId: paths, tag: '[libs-never-import-apps]' },
  },
  // Every ordered pair of services, at two depths.
  ...services.flatMap((from) =>
    services
      .filter((to) => to !== from)
      .flatMap((to): LintCase[] => [
        {
          name: `${from} imports ${to}`,
          filePath: `apps/${from}/src/bad.ts`,
          code: `import { X } from '../../${to}/src/${moduleOf[to]}.js';`,
          expect: { ruleId: paths, tag: '[services-are-isolated]' },
        },
        {
          name: `${from} (nested folder) imports ${to} through apps/`,
          filePath: `apps/${from}/src/config/bad.ts`,
          code: `import { X } from '../../../../apps/${to}/src/${moduleOf[to]}.js';`,
          expect: { ruleId: paths, tag: '[services-are-isolated]' },
        },
      ]),
  ),
  {
    name: 'the gateway reaches the delivery service by a dynamic import',
    filePath: 'apps/gateway/src/upstream/bad.ts',
    code: "export const load = () => import('../../../delivery/src/claims/claim.service.js');",
    expect: { ruleId: paths, tag: '[services-are-isolated]' },
  },
  {
    name: 'the routing core imports @nestjs/common',
    filePath: 'libs/routing/src/bad.ts',
    code: "import { Injectable } from '@nestjs/common';",
    expect: { ruleId: restricted, tag: '[cores-without-nest]' },
  },
  {
    name: 'the resilience core imports @nestjs/microservices',
    filePath: 'libs/resilience/src/loader/bad.ts',
    code: "import { RpcException } from '@nestjs/microservices';",
    expect: { ruleId: restricted, tag: '[cores-without-nest]' },
  },
  {
    name: 'an app deep-imports a lib through its alias',
    filePath: 'apps/gateway/src/bad.ts',
    code: "import { Patterns } from '@app/contracts/src/patterns.js';",
    expect: { ruleId: restricted, tag: '[lib-barrels-only]' },
  },
  {
    name: 'an app imports a lib by a relative path',
    filePath: 'apps/query/src/bad.ts',
    code: "import { Router } from '../../../libs/routing/src/router.js';",
    expect: { ruleId: restricted, tag: '[lib-barrels-only]' },
  },
  {
    name: 'an app imports a lib barrel by a relative path',
    filePath: 'apps/delivery/src/queue/bad.ts',
    code: "import { ErrorCode } from '../../../../libs/contracts/src/index.js';",
    expect: { ruleId: restricted, tag: '[lib-barrels-only]' },
  },
  // Every forbidden arrow between the folders of apps/delivery/src.
  ...(['lifecycle', 'provider', 'config'] as const).flatMap((dir) =>
    (['claims', 'queue', 'deliveries', 'orders', 'activities'] as const).map((to) => layerCase(dir, to)),
  ),
  ...(['claims', 'queue', 'orders'] as const).map((to) => layerCase('deliveries', to)),
  {
    // The path rules only see imports that resolve; this guard keeps a typo or a broken resolver
    // from turning them off silently.
    name: 'an import that does not resolve',
    filePath: 'apps/delivery/src/deliveries/bad.ts',
    code: "import { X } from '../orders/no-such-file.js';",
    expect: { ruleId: 'import-x/no-unresolved', tag: 'Unable to resolve' },
  },
];

const good: LintCase[] = [
  { name: 'an app imports lib barrels', filePath: 'apps/gateway/src/good.ts', code: "import { ErrorCode } from '@app/contracts';\nimport { SuccessRateRouter } from '@app/routing';\nimport { Injectable } from '@nestjs/common';" },
  { name: 'a lib imports another lib barrel', filePath: 'libs/platform/src/good.ts', code: "import { ErrorCode } from '@app/contracts';" },
  { name: 'the routing core imports its own files', filePath: 'libs/routing/src/good.ts', code: "import { Router } from './router.js';" },
  { name: 'delivery deliveries/ imports lifecycle/ and provider/', filePath: 'apps/delivery/src/deliveries/good.ts', code: "import { X } from '../lifecycle/order.store.js';\nimport { Y } from '../provider/provider.client.js';" },
  { name: 'delivery queue/ imports deliveries/ and claims/', filePath: 'apps/delivery/src/queue/good.ts', code: "import { X } from '../deliveries/order-deliverer.js';\nimport { Y } from '../claims/claim.service.js';" },
  { name: 'delivery lifecycle/ imports config/', filePath: 'apps/delivery/src/lifecycle/good.ts', code: "import { X } from '../config/delivery.config.js';" },
  { name: 'a test imports an app and a lib file', filePath: 'test/e2e/good.e2e-spec.ts', code: "import { X } from '../../apps/query/src/query.module.js';\nimport { Y } from '../../libs/routing/src/router.js';" },
];

const all = [...bad, ...good];

describe('eslint.config.js import rules', () => {
  let results: LintResult[];

  beforeAll(() => {
    const root = path.resolve(__dirname, '../..');
    const stdout = execFileSync(process.execPath, [path.join(root, 'tools/lint/lint-texts.mjs')], {
      cwd: root,
      input: JSON.stringify(all.map(({ filePath, code }) => ({ filePath, code: `${code}\n` }))),
      encoding: 'utf8',
      timeout: 60_000,
    });
    results = JSON.parse(stdout) as LintResult[];
    expect(results).toHaveLength(all.length);
  }, 70_000);

  const messagesOf = (c: LintCase) => results[all.indexOf(c)]!.messages;

  it.each(bad.map((c) => [c.name, c] as const))('%s is an error of its rule', (_name, c) => {
    const errors = messagesOf(c).filter((m) => m.severity === 2);
    // A deep alias import is also unresolved (tsconfig maps only the barrels): extra errors may come along.
    expect(errors).toContainEqual(
      expect.objectContaining({ ruleId: c.expect!.ruleId, message: expect.stringContaining(c.expect!.tag) }),
    );
  });

  it.each(good.map((c) => [c.name, c] as const))('%s lints clean', (_name, c) => {
    expect(messagesOf(c)).toEqual([]);
  });
});
