import { COHORT_PERIOD_MS, COHORTS, userCohort } from '@app/resilience';
import { TokenCohorts } from './token-cohorts.js';

const bearer = (sub: string, n = 0) => `Bearer e30.${Buffer.from(JSON.stringify({ sub, n })).toString('base64url')}.sig`;
const HOUR = 10 * COHORT_PERIOD_MS;

describe('TokenCohorts (fake clock)', () => {
  it('gives the cohort of the token\'s user, as the salted hash computes it, and the last cohort without a user', () => {
    const cohorts = TokenCohorts.salted('secret');
    for (const user of ['alice', 'bob', 'u-1', 'u-2']) expect(cohorts.of(bearer(user), HOUR)).toBe(userCohort(user, HOUR, 'secret'));
    expect(cohorts.of(undefined, HOUR)).toBe(COHORTS - 1);
    expect(cohorts.of('Bearer not-a-jwt', HOUR)).toBe(COHORTS - 1);
  });

  it('computes a token\'s cohort once an hour', () => {
    const compute = jest.fn((userId: string, nowMs: number) => userCohort(userId, nowMs, 's'));
    const cohorts = new TokenCohorts(compute);
    for (let i = 0; i < 5; i++) cohorts.of(bearer('alice'), HOUR + i * 1_000);
    expect(compute).toHaveBeenCalledTimes(1);
    // The next hour salts anew: computed again, with that hour's time.
    expect(cohorts.of(bearer('alice'), HOUR + COHORT_PERIOD_MS)).toBe(userCohort('alice', HOUR + COHORT_PERIOD_MS, 's'));
    expect(compute).toHaveBeenCalledTimes(2);
  });

  it('remembers at most its bound of tokens, and no oversized header', () => {
    const compute = jest.fn(() => 7);
    const cohorts = new TokenCohorts(compute, 3);
    for (let i = 0; i < 4; i++) cohorts.of(bearer('u', i), HOUR);
    // The fourth token started the memory over: the first is computed again.
    cohorts.of(bearer('u', 0), HOUR);
    expect(compute).toHaveBeenCalledTimes(5);
    const huge = bearer('v', 0) + 'x'.repeat(3_000);
    cohorts.of(huge, HOUR);
    cohorts.of(huge, HOUR);
    expect(compute).toHaveBeenCalledTimes(7);
  });
});
