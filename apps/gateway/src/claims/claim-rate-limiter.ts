import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode, type RedisKeys } from '@app/contracts';

/**
 * KEYS[1] the user's counter ({u:userId}), a hash: `_s` the current second of the Redis server
 * clock (shared by every gateway), and one field `k:<key>` per idempotency key let through in that second.
 * ARGV[1] the limit per second, ARGV[2] the idempotency key. A key already let through this second
 * is not counted again, so concurrent repeats of one claim (before its order exists) are one claim.
 * Returns `{ allowed 1|0, ms until the next second }`. Touches only KEYS[1]: Cluster-safe.
 */
const SCRIPT = `
local t = redis.call('TIME')
if redis.call('HGET', KEYS[1], '_s') ~= t[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], '_s', t[1])
end
redis.call('PEXPIRE', KEYS[1], 2000)
if redis.call('HEXISTS', KEYS[1], 'k:' .. ARGV[2]) == 1 then return {1, 0} end
if redis.call('HLEN', KEYS[1]) - 1 >= tonumber(ARGV[1]) then return {0, 1000 - math.floor(tonumber(t[2]) / 1000)} end
redis.call('HSET', KEYS[1], 'k:' .. ARGV[2], 1)
return {1, 0}
`;

type RateLimitRedis = Redis & { claimRateLimit(counterKey: string, limit: number, idempotencyKey: string): Promise<[number, number]> };

/**
 * Per-user limit of new claims (anti click-storm): at most `limitPerS` new Idempotency-Keys per
 * user per second, counted in Redis so every gateway shares the count (a fixed one-second window
 * on Redis server time). Over the limit: 429 RATE_LIMITED with Retry-After (seconds to the next
 * window, at least 1). Repeats of a key already seen (its order exists) are not counted. If Redis
 * cannot answer, the claim is let through (the claim itself needs Redis and will fail there).
 */
export class ClaimRateLimiter {
  private readonly logger = new Logger(ClaimRateLimiter.name);
  private readonly redis: RateLimitRedis;
  /** Claims refused with 429 since start (for `rampart_rate_limited_total`). */
  refused = 0;

  /**
   * Defines the script on the connection at once, before any request: with auto-pipelining, a
   * script defined while a batch made earlier is still waiting would be added to that batch, which
   * does not know it (ioredis then throws in a callback and the process dies).
   */
  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    readonly limitPerS: number,
  ) {
    if (limitPerS > 0) redis.defineCommand('claimRateLimit', { numberOfKeys: 1, lua: SCRIPT });
    this.redis = redis as RateLimitRedis;
  }

  /** Throws 429 RATE_LIMITED when `userId` is over the limit with a new key. */
  async check(userId: string, orderId: string): Promise<void> {
    if (this.limitPerS <= 0) return;
    let result: [number, number];
    try {
      // A repeat of a key already seen is answered from its order: not counted. (Its own step: the
      // order's key lives in another hash slot than the user's counter.)
      if ((await this.redis.exists(this.keys.orderBinding(orderId))) === 1) return;
      result = await this.redis.claimRateLimit(`${this.keys.prefix}:{u:${userId}}:claim-rate`, this.limitPerS, orderId);
    } catch (err) {
      this.logger.warn({ event: 'rate-limit.unavailable', error: (err as Error).message });
      return;
    }
    if (result[0] === 1) return;
    this.refused++;
    throw new AppError(ErrorCode.RateLimited, `more than ${this.limitPerS} new claims per second; try again later`, {
      retryAfterS: Math.max(1, Math.ceil(result[1] / 1000)),
    });
  }
}
