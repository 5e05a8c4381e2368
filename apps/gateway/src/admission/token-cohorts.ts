import { COHORT_PERIOD_MS, COHORTS, userCohort } from '@app/resilience';
import { unverifiedSubject } from './unverified-subject.js';

/** Tokens remembered per hour; past it the memory starts over (a flood of made-up tokens cannot grow it). */
const MAX_TOKENS = 20_000;
/** Longer headers are not remembered (a user's token is a few hundred characters). */
const MAX_TOKEN_CHARS = 2_048;

/**
 * The admission cohort of each request's bearer token, remembered for the hour the cohorts hold: a
 * user's requests reuse one token, and reading its `sub` (base64 and JSON) and hashing it into a
 * cohort was about 7% of the gateway's CPU under a read load (profile of `bench:gateway`). A request
 * without a token, or with one that names no user, is in the last cohort (shed first).
 */
export class TokenCohorts {
  private readonly byToken = new Map<string, number>();
  private hour = -1;

  constructor(
    private readonly cohortOfUser: (userId: string, nowMs: number) => number,
    private readonly maxTokens = MAX_TOKENS,
  ) {}

  /** With the deployment's secret: the cohorts every gateway computes alike. */
  static salted(secret: string): TokenCohorts {
    return new TokenCohorts((userId, nowMs) => userCohort(userId, nowMs, secret));
  }

  of(authorization: string | undefined, nowMs: number): number {
    const hour = Math.floor(nowMs / COHORT_PERIOD_MS);
    if (hour !== this.hour) {
      this.byToken.clear();
      this.hour = hour;
    }
    if (authorization === undefined) return COHORTS - 1;
    const known = this.byToken.get(authorization);
    if (known !== undefined) return known;
    const userId = unverifiedSubject(authorization);
    const cohort = userId === undefined ? COHORTS - 1 : this.cohortOfUser(userId, nowMs);
    if (authorization.length <= MAX_TOKEN_CHARS) {
      if (this.byToken.size >= this.maxTokens) this.byToken.clear();
      this.byToken.set(authorization, cohort);
    }
    return cohort;
  }
}
