import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode, type RedisKeys } from '@app/contracts';

/** The window the limit counts in, in ms: at most `limitPerS` new keys in any 1,000 ms. */
export const CLAIM_RATE_WINDOW_MS = 1_000;

/**
 * A sliding-window log, so the limit holds over *every* window of one second, not per calendar
 * second: a fixed window let `2 x limit` claims through in a few ms across its boundary.
 *
 * KEYS[1] the user's log ({u:userId}), a sorted set: member an idempotency key let through, score
 * the Redis server time (ms) it was let through. ARGV[1] the limit per window, ARGV[2] the
 * idempotency key, ARGV[3] the window in ms. Entries older than the window are dropped; a key
 * still in the log is not counted again, so concurrent repeats of one claim (before its order
 * exists) are one claim. Returns `{ allowed 1|0, ms until the oldest entry leaves the window,
 * added 1|0 (this call put the key in the log) }`.
 * Touches only KEYS[1]: Cluster-safe. `now` comes from the clock prelude (Redis TIME in production).
 */
const LIMITER_BODY = `
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return {1, 0, 0} end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now, 0}
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], window + 1000)
return {1, 0, 1}
`;

/** The script as the gateway runs it: `now` is the Redis server clock, shared by every gateway. */
const SERVER_CLOCK = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * The limiter's Lua. `clock: 'server'` (production) reads Redis TIME; `clock: 'argv'` takes `now`
 * (ms) from ARGV[4], so a spec can drive the same algorithm on a real Redis with a fake clock.
 */
export function claimRateScript(clock: 'server' | 'argv' = 'server'): string {
  return `${clock === 'server' ? SERVER_CLOCK : 'local now = tonumber(ARGV[4])'}\n${LIMITER_BODY}`;
}

type RateLimitRedis = Redis & { claimRateLimit(logKey: string, limit: number, idempotencyKey: string, windowMs: number): Promise<[number, number, number]> };

/**
 * Per-user limit of new claims (anti click-storm): at most `limitPerS` new Idempotency-Keys per
 * user in any one-second window (sliding, on the Redis server clock), counted in Redis so every
 * gateway shares the count. Over the limit: 429 RATE_LIMITED with Retry-After (seconds until the
 * oldest counted claim leaves the window, rounded up, at least 1). Repeats of a key already seen
 * (its order exists) are not counted. If Redis cannot answer, the claim is let through (the claim
 * itself needs Redis and will fail there).
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
    if (limitPerS > 0) redis.defineCommand('claimRateLimit', { numberOfKeys: 1, lua: claimRateScript('server') });
    this.redis = redis as RateLimitRedis;
  }

  /** Throws 429 RATE_LIMITED when `userId` is over the limit with a new key. */
  async check(userId: string, orderId: string): Promise<void> {
    if (this.limitPerS <= 0) return;
    let result: [number, number, number];
    try {
      // Whether the key is a repeat (its order exists) and the window's verdict, asked together: one
      // round trip (the order's binding and the user's log are in different hash slots, so not one
      // script). A repeat is answered from its order and not counted: an entry the script added for
      // it is taken out again (an entry already there is the key's first claim and stays).
      const windowKey = `${this.keys.prefix}:{u:${userId}}:claim-window`;
      const [repeat, verdict] = await Promise.all([
        this.redis.exists(this.keys.orderBinding(orderId)),
        this.redis.claimRateLimit(windowKey, this.limitPerS, orderId, CLAIM_RATE_WINDOW_MS),
      ]);
      if (repeat === 1) {
        if (verdict[2] === 1) await this.redis.zrem(windowKey, orderId);
        return;
      }
      result = verdict;
    } catch (err) {
      this.logger.warn({ event: 'rate-limit.unavailable', error: (err as Error).message });
      return;
    }
    if (result[0] === 1) return;
    this.refused++;
    throw new AppError(ErrorCode.RateLimited, `more than ${this.limitPerS} new claims per second; try again later`, {
      retryAfterS: retryAfterSeconds(result[1]),
    });
  }
}

/** Retry-After for a refusal: the ms until a slot frees, in whole seconds rounded up, at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
