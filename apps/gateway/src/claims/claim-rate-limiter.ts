import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode, type RedisKeys } from '@app/contracts';

/**
 * KEYS[1] the user's counter ({u:userId}); ARGV[1] the limit per second. The counter holds
 * `<second>|<count>` of the current second (Redis server time, so every gateway shares one clock);
 * a new second starts again at 1. Returns `{ allowed 1|0, ms until the next second }`. The script
 * touches only KEYS[1], so it is Cluster-safe (one slot, every key declared).
 */
const SCRIPT = `
local t = redis.call('TIME')
local current = redis.call('GET', KEYS[1])
local n = 1
if current then
  local second, count = string.match(current, '^(%d+)|(%d+)$')
  if second == t[1] then n = tonumber(count) + 1 end
end
redis.call('SET', KEYS[1], t[1] .. '|' .. n, 'PX', 2000)
if n > tonumber(ARGV[1]) then return {0, 1000 - math.floor(tonumber(t[2]) / 1000)} end
return {1, 0}
`;

type RateLimitRedis = Redis & { claimRateLimit(counterKey: string, limit: number): Promise<[number, number]> };

/**
 * Per-user limit of new claims (anti click-storm): at most `limitPerS` new Idempotency-Keys per
 * user per second, counted in Redis so every gateway shares the count (a fixed one-second window
 * on Redis server time). Over the limit: 429 RATE_LIMITED with Retry-After (seconds to the next
 * window, at least 1). Repeats of a key already seen (its order exists) are not counted. If Redis
 * cannot answer, the claim is let through (the claim itself needs Redis and will fail there).
 */
export class ClaimRateLimiter {
  private readonly logger = new Logger(ClaimRateLimiter.name);
  private isDefined = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly limitPerS: number,
  ) {}

  /** Throws 429 RATE_LIMITED when `userId` is over the limit with a new key. */
  async check(userId: string, orderId: string): Promise<void> {
    if (this.limitPerS <= 0) return;
    let result: [number, number];
    try {
      // A repeat of a key already seen is answered from its order: not counted. (Its own step: the
      // order's key lives in another hash slot than the user's counter.)
      if ((await this.redis.exists(this.keys.order(orderId))) === 1) return;
      result = await this.define().claimRateLimit(`${this.keys.prefix}:{u:${userId}}:claim-rate`, this.limitPerS);
    } catch (err) {
      this.logger.warn({ event: 'rate-limit.unavailable', error: (err as Error).message });
      return;
    }
    if (result[0] === 1) return;
    throw new AppError(ErrorCode.RateLimited, `more than ${this.limitPerS} new claims per second; try again later`, {
      retryAfterS: Math.max(1, Math.ceil(result[1] / 1000)),
    });
  }

  private define(): RateLimitRedis {
    if (!this.isDefined) {
      this.redis.defineCommand('claimRateLimit', { numberOfKeys: 1, lua: SCRIPT });
      this.isDefined = true;
    }
    return this.redis as RateLimitRedis;
  }
}
