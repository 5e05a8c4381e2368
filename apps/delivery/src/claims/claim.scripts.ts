/**
 * Lua scripts of the claim. Each touches keys of ONE hash slot (see RedisKeys), so the same code
 * runs on Redis Cluster. Each is idempotent by orderId: running it again after a crash, or for a
 * concurrent repeat of the request, has no further effect.
 */

/**
 * Binds an order number to (user, gift): the idempotency record.
 * KEYS[1] order hash ({o:orderId})
 * ARGV orderId, userId, giftId, nowMs
 * Returns {'new'} when created now; {'reused'} when bound to another user or gift;
 * {'existing', status, refusal, createdAtMs} otherwise.
 */
export const BIND_ORDER = `
local bound = redis.call('HMGET', KEYS[1], 'userId', 'giftId', 'status', 'refusal', 'createdAtMs')
if bound[1] then
  if bound[1] ~= ARGV[2] or bound[2] ~= ARGV[3] then return {'reused'} end
  return {'existing', bound[3], bound[4] or '', bound[5]}
end
redis.call('HSET', KEYS[1], 'orderId', ARGV[1], 'userId', ARGV[2], 'giftId', ARGV[3], 'status', 'new',
  'attempts', 0, 'createdAtMs', ARGV[4], 'updatedAtMs', ARGV[4])
return {'new'}
`;

/**
 * Checks the claim rules and reserves one unit of a gift for an order.
 * KEYS[1] gift hash, KEYS[2] today's count, KEYS[3] user-for-gift hash, KEYS[4] ledger (all {g:giftId})
 * ARGV orderId, userId, nowMs, day, uncertainLimit, paused ('1' or '0')
 * Returns {'ok', activityId, delivery, providerUrl, orderNumbers, day} when reserved now or before
 * (the ledger holds the orderId: a repeat is not counted twice); {'released'} when this order's
 * reservation was already released; {'refused', code} with the first refusal in the contract's order.
 */
export const RESERVE = `
local function reserved_reply(day)
  local g = redis.call('HMGET', KEYS[1], 'activityId', 'delivery', 'providerUrl', 'orderNumbers')
  return {'ok', g[1], g[2], g[3], g[4], day}
end
local prior = redis.call('HGET', KEYS[4], ARGV[1])
if prior then
  if string.sub(prior, 1, 1) == 'x' then return {'released'} end
  return reserved_reply(string.sub(prior, 3, 12))
end
local g = redis.call('HMGET', KEYS[1], 'activityId', 'inventory', 'reserved', 'dailyLimit', 'perUserLimit', 'startsAtMs', 'endsAtMs')
if not g[1] then return {'refused', 'NOT_FOUND'} end
local now = tonumber(ARGV[3])
if ARGV[6] == '1' or now < tonumber(g[6]) or now >= tonumber(g[7]) then return {'refused', 'NOT_ACTIVE'} end
local user = redis.call('HMGET', KEYS[3], 'claimed', 'uncertain')
if tonumber(user[1] or '0') >= tonumber(g[5]) then return {'refused', 'USER_LIMIT_REACHED'} end
if tonumber(user[2] or '0') >= tonumber(ARGV[5]) then return {'refused', 'TOO_MANY_UNCERTAIN'} end
if tonumber(g[3] or '0') >= tonumber(g[2]) then return {'refused', 'SOLD_OUT'} end
local daily = tonumber(g[4] or '0')
if daily > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= daily then return {'refused', 'DAILY_LIMIT_REACHED'} end
redis.call('HINCRBY', KEYS[1], 'reserved', 1)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 259200)
redis.call('HINCRBY', KEYS[3], 'claimed', 1)
redis.call('HSET', KEYS[4], ARGV[1], 'r|' .. ARGV[4] .. '|' .. ARGV[2])
return reserved_reply(ARGV[4])
`;

/**
 * Releases an order's reservation (the order failed): inventory, day count and user count go back.
 * KEYS[1] gift hash, KEYS[2] count of the reservation's day, KEYS[3] user-for-gift hash, KEYS[4] ledger
 * ARGV orderId
 * Returns 1 when released now, 0 when there was nothing to release (never reserved, or already released).
 */
export const RELEASE = `
local prior = redis.call('HGET', KEYS[4], ARGV[1])
if not prior or string.sub(prior, 1, 1) ~= 'r' then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', -1)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECR', KEYS[2]) end
redis.call('HINCRBY', KEYS[3], 'claimed', -1)
redis.call('HSET', KEYS[4], ARGV[1], 'x' .. string.sub(prior, 2))
return 1
`;

/**
 * Moves an order from one of the expected statuses to a new one (compare-and-set), and announces
 * the change on the order's events channel.
 * KEYS[1] order hash
 * ARGV fromStatuses (comma-separated), toStatus, nowMs, attemptsDelta, error ('' for none),
 *      channel ('' to announce nothing), then field/value pairs to set as well
 * Returns {1, toStatus} when moved; {0, currentStatus} when the order was not in an expected status.
 */
export const TRANSITION = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == current then allowed = true end end
if not allowed then return {0, current} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAtMs', ARGV[3])
if tonumber(ARGV[4]) ~= 0 then redis.call('HINCRBY', KEYS[1], 'attempts', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[5]) end
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[2]) end
return {1, ARGV[2]}
`;

/**
 * Takes a released reservation back for an order an operator re-queues (dead letter retry).
 * KEYS[1] gift hash, KEYS[2] count of the reservation's day, KEYS[3] user-for-gift hash, KEYS[4] ledger
 * ARGV orderId
 * Returns 'ok' (held again, or still held), 'SOLD_OUT' when no unit is left, 'NOT_FOUND' when the
 * order never had a reservation.
 */
export const RERESERVE = `
local prior = redis.call('HGET', KEYS[4], ARGV[1])
if not prior then return 'NOT_FOUND' end
if string.sub(prior, 1, 1) == 'r' then return 'ok' end
local g = redis.call('HMGET', KEYS[1], 'inventory', 'reserved')
if tonumber(g[2] or '0') >= tonumber(g[1] or '0') then return 'SOLD_OUT' end
redis.call('HINCRBY', KEYS[1], 'reserved', 1)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCR', KEYS[2]) end
redis.call('HINCRBY', KEYS[3], 'claimed', 1)
redis.call('HSET', KEYS[4], ARGV[1], 'r' .. string.sub(prior, 2))
return 'ok'
`;
