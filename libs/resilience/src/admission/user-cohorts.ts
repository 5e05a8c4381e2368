import { createHash } from 'node:crypto';

/** Cohorts users are hashed into. */
export const COHORTS = 128;

/** How long one salt (and so one assignment of users to cohorts) holds, in ms: an hour. */
export const COHORT_PERIOD_MS = 3_600_000;

/**
 * The user's cohort (0..127) in the hour of `nowMs`: a hash of the user id salted with the hour
 * and a deployment secret, so every gateway computes the same cohort, a user keeps it for the hour,
 * and the users shed first differ from hour to hour (DAGOR's user priority).
 */
export function userCohort(userId: string, nowMs: number, secret = ''): number {
  const hour = Math.floor(nowMs / COHORT_PERIOD_MS);
  const digest = createHash('sha1').update(secret).update('|').update(String(hour)).update('|').update(userId).digest();
  return digest[0]! % COHORTS;
}
