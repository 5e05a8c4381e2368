/**
 * Delay before retry number `attemptsMade` of a delivery job: exponential from `baseMs`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so retries of many orders spread out after
 * a provider outage instead of arriving in waves.
 */
export function retryBackoffMs(attemptsMade: number, opts: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const exponent = Math.max(0, attemptsMade - 1);
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(exponent, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Worst-case total wait over `attempts` tries: what "delivered within N minutes" rests on. */
export function maxTotalBackoffMs(attempts: number, opts: { baseMs: number; maxMs: number }): number {
  let total = 0;
  for (let made = 1; made < attempts; made++) total += retryBackoffMs(made, opts, () => 1);
  return total;
}
