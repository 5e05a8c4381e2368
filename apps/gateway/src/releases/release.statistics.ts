/**
 * Exact tail probabilities for the canary judge. Exact (not the normal approximation) because a
 * canary is judged per activity, where a window holds tens of calls, not thousands: with 8 calls
 * a z-test's p-value is off by orders of magnitude, an exact one is what it says.
 */

const LOG_FACTORIAL: number[] = [0];

/** ln(n!): a table up to 4096, Stirling's series beyond (error below 1e-10 there). */
export function logFactorial(n: number): number {
  if (n < 4_096) {
    for (let i = LOG_FACTORIAL.length; i <= n; i++) LOG_FACTORIAL[i] = LOG_FACTORIAL[i - 1] + Math.log(i);
    return LOG_FACTORIAL[n];
  }
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/**
 * One-sided Fisher exact test: the probability that the canary shows at least `canaryFailed`
 * failures out of `canaryTotal` if both releases failed alike (the failures of both releases
 * dealt at random over all calls: the hypergeometric tail).
 */
export function fisherWorseTail(canaryFailed: number, canaryTotal: number, stableFailed: number, stableTotal: number): number {
  const failures = canaryFailed + stableFailed;
  const total = canaryTotal + stableTotal;
  if (canaryFailed === 0 || total === 0) return 1;
  const denominator = logChoose(total, canaryTotal);
  let p = 0;
  for (let x = canaryFailed; x <= Math.min(failures, canaryTotal); x++) {
    p += Math.exp(logChoose(failures, x) + logChoose(total - failures, canaryTotal - x) - denominator);
  }
  return Math.min(1, p);
}

/** P(X ≥ k) for X ~ Binomial(n, p): how surprising `k` slow calls of `n` are when each is slow with probability `p`. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let tail = 0;
  for (let x = k; x <= n; x++) tail += Math.exp(logChoose(n, x) + x * lp + (n - x) * lq);
  return Math.min(1, tail);
}
