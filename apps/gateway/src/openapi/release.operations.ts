import { z } from 'zod';
import { ErrorCode } from '@app/contracts';
import { promoteBody, releaseBody } from '../admin/admin-releases.controller.js';
import type { ApiOperation } from './api-operation.js';
import { actorHeader } from './admin.operations.js';

const time = z.string().meta({ format: 'date-time', description: 'ISO-8601 time in UTC' });
const side = z.object({ requests: z.number().int(), successRate: z.number(), p99Ms: z.number() });
const comparisonSchema = z
  .object({
    kind: z.enum(['activity', 'provider']),
    id: z.string().meta({ description: 'The activity id, or the provider\'s origin (`http://host:port`).' }),
    canary: side,
    stable: side,
    verdict: z.enum(['ok', 'too-few', 'worse-success', 'worse-latency']).meta({ description: '`too-few`: under the volume gate (5 calls a side; 100 for latency).' }),
    pValue: z.number().optional().meta({ description: 'One-sided p-value of the test behind the verdict (Fisher exact on failures; binomial on calls slower than stable\'s p99).' }),
  })
  .meta({ id: 'ReleaseComparison' });
const releaseViewSchema = z
  .object({
    service: z.enum(['query', 'delivery']),
    state: z.enum(['stable', 'progressing', 'rolled-back', 'promoted']),
    stable: z.string(),
    canary: z.string().optional(),
    weightPct: z.number().meta({ description: 'Share of users (0-100) on the canary; 0 unless progressing.' }),
    updatedAt: time,
    actor: z.string().optional(),
    reason: z.string().optional(),
    releases: z.array(z.object({ release: z.string(), instances: z.number().int(), requests: z.number().int(), successRate: z.number(), p99Ms: z.number() })),
    comparisons: z.array(comparisonSchema),
    fallbacks: z.record(z.string(), z.number().int()).meta({ description: 'Calls meant for a release with no healthy instance, served by stable instead, per release (this gateway).' }),
    rollback: z.object({ at: time, judgedBy: z.string(), comparison: comparisonSchema }).optional(),
    steps: z.array(z.object({ weightPct: z.number(), afterS: z.number().int() })).optional().meta({ description: 'The schedule\'s remaining steps.' }),
    stepAt: time.optional().meta({ description: 'When the next step is due (taken only if the last judgement was clean with enough calls).' }),
  })
  .meta({ id: 'ReleaseView' });
export const releasesSchema = z.object({ services: z.array(releaseViewSchema) });

const progressing = {
  service: 'delivery', state: 'progressing', stable: 'stable', canary: 'canary-1', weightPct: 20, updatedAt: '2026-05-01T10:00:00.000Z', actor: 'admin:alice', reason: 'new provider client',
  releases: [
    { release: 'stable', instances: 2, requests: 4120, successRate: 0.998, p99Ms: 50 },
    { release: 'canary-1', instances: 1, requests: 1010, successRate: 0.997, p99Ms: 50 },
  ],
  comparisons: [{ kind: 'activity', id: 'spring', canary: { requests: 1010, successRate: 0.997, p99Ms: 50 }, stable: { requests: 4120, successRate: 0.998, p99Ms: 50 }, verdict: 'ok', pValue: 0.41 }],
  fallbacks: {},
};
const rolledBack = {
  ...progressing, state: 'rolled-back', weightPct: 0, actor: 'release-judge', reason: 'activity summer: worse-success',
  rollback: { at: '2026-05-01T10:00:40.000Z', judgedBy: 'gw-1:3000', comparison: { kind: 'activity', id: 'summer', canary: { requests: 12, successRate: 0, p99Ms: 20 }, stable: { requests: 50, successRate: 1, p99Ms: 20 }, verdict: 'worse-success', pValue: 1.6e-12 } },
};
const service = { description: 'The service: `query` or `delivery` (another is 404).', schema: z.enum(['query', 'delivery']), example: 'delivery' };

/** Gray release routes (contract section 3). */
export const RELEASE_OPERATIONS: readonly ApiOperation[] = [
  {
    id: 'listReleases',
    method: 'get',
    path: '/admin/releases',
    tag: 'Operator',
    summary: 'Every service\'s gray release: state, weight, releases seen, per-activity comparison, rollback reason',
    description: 'The rollout is shared by every gateway; the figures (requests, success rates, p99, comparisons) are this gateway\'s own window of the last 60 s, as the judge sees them.',
    auth: 'admin',
    successes: [{ status: 200, description: 'Per service.', schema: releasesSchema, example: { services: [progressing, rolledBack] } }],
    callsServices: false,
  },
  {
    id: 'setRelease',
    method: 'put',
    path: '/admin/releases/{service}',
    tag: 'Operator',
    summary: 'Send a share of users to a canary release (audited; applied by every gateway within 1 s)',
    description:
      'Users, not requests: a user\'s bucket is a stable hash of their id and the rollout\'s salt, and they are on the canary iff it is under `weightPct` x 100, so raising the weight only adds users. ' +
      'The same canary while progressing keeps its users; another canary, or one after a rollback or promotion, is a new rollout with new users. ' +
      'Every 10 s each gateway compares canary and stable per activity and per provider; a significant regression sets the weight to 0 (`rolled-back`), audited with the evidence. ' +
      'With `steps`, the weight rises by itself: each step once the canary spent `afterS` at the weight before and the last judgement was clean with enough calls (audited as `release.step`). 409 when the canary is the stable release.',
    auth: 'admin',
    pathParams: { service },
    headers: [actorHeader],
    body: { schema: releaseBody, example: { canary: 'canary-1', weightPct: 5, reason: 'new provider client', steps: [{ weightPct: 20, afterS: 300 }, { weightPct: 50, afterS: 600 }] }, isRequired: true },
    successes: [{ status: 200, description: 'The service\'s rollout as now stored.', schema: releaseViewSchema, example: progressing }],
    errors: [ErrorCode.NotFound, ErrorCode.Conflict],
    callsServices: false,
  },
  {
    id: 'promoteRelease',
    method: 'post',
    path: '/admin/releases/{service}/promote',
    tag: 'Operator',
    summary: 'Make the progressing canary the stable release (audited)',
    description: 'Afterwards every user goes to the promoted release; instances of the old stable release get no calls unless the new one has no healthy instance. 409 when no canary is progressing.',
    auth: 'admin',
    pathParams: { service },
    headers: [actorHeader],
    body: { schema: promoteBody, example: { reason: 'canary clean for an hour' }, isRequired: false },
    successes: [{ status: 200, description: 'The service\'s rollout as now stored.', schema: releaseViewSchema, example: { ...progressing, state: 'promoted', stable: 'canary-1', canary: undefined, weightPct: 0 } }],
    errors: [ErrorCode.NotFound, ErrorCode.Conflict],
    callsServices: false,
  },
];
