--[[
  Moves an order from the exact status (and attempt epoch, when given) its caller read to another,
  with the side effects the transition table names for that move (see order-transitions.ts).

  KEYS[1] order state  KEYS[2] order history  KEYS[3] gift's open orders  KEYS[4] gift hash
  KEYS[5] user-for-gift counts  KEYS[6] ledger  KEYS[7] gift's uncertain orders (the operators' work
  list: an order joins it when counted as uncertain and leaves it when uncounted, scored by createdAtMs)
  KEYS[8] the gift's sold-out latch
  KEYS[9] gift's settlements stream (a move to delivered or failed adds {o: orderId, v: version}: the
  archiver's input, written in the same step as the move so no settlement can be missed)
  ARGV[1] orderId  ARGV[2] from  ARGV[3] to  ARGV[4] epoch ('' for any)  ARGV[5] effects, comma-separated
  ARGV[6] actor  ARGV[7] reason  ARGV[8] watchMs  ARGV[9] events channel  ARGV[10] the gift's key prefix
  (per-day count keys are '<prefix>:day:<YYYY-MM-DD>')  ARGV[11] '1' when the move needs the order's
  lease to have ended (the reconciler recovering an attempt whose process died)
  ARGV[12] sold-out channel  ARGV[13] giftId  ARGV[14..] field/value pairs to set as well

  Returns {1, version, latchSeq} when moved (latchSeq: '0', or the sequence number of a sold-out
  latch the caller must build, when a re-reservation took the last unit; a release that brings
  inventory back clears the latch and announces it); {0, status, epoch} when the order is in another status or epoch;
  {-1, code} when a re-reservation is refused (nothing changed): USER_LIMIT_REACHED, SOLD_OUT or
  DAILY_LIMIT_REACHED (the reservation's day is full).
]]
local s = redis.call('HMGET', KEYS[1], 'status', 'epoch')
if s[1] ~= ARGV[2] or (ARGV[4] ~= '' and s[2] ~= ARGV[4]) then return {0, s[1] or '', s[2] or '0'} end
if ARGV[11] == '1' and tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0') > server_ms() then
  return {0, s[1], s[2]}
end
local effects = {}
for e in string.gmatch(ARGV[5], '[^,]+') do effects[e] = true end
local orderId = ARGV[1]
local entry = redis.call('HGET', KEYS[6], orderId)
local latchSeq = 0
local function day_key() return ARGV[10] .. ':day:' .. string.sub(entry, 3, 12) end

if effects.rereserve and entry and string.sub(entry, 1, 1) == 'x' then
  -- The unit is taken back under the claim rules (in the contract's order), not around them.
  local g = redis.call('HMGET', KEYS[4], 'inventory', 'reserved', 'perUserLimit', 'dailyLimit')
  if tonumber(redis.call('HGET', KEYS[5], 'claimed') or '0') >= tonumber(g[3] or '1') then return {-1, 'USER_LIMIT_REACHED'} end
  if tonumber(g[2] or '0') >= tonumber(g[1] or '0') then
    -- An empty bucket of a split gift whose other buckets may hold stock: marked for the rebalancer.
    if redis.call('HEXISTS', KEYS[4], 'bucketOf') == 1 and redis.call('HGET', KEYS[4], 'giftSoldOut') ~= '1' then
      redis.call('HSET', KEYS[4], 'wanted', '1')
      return {-1, 'REBALANCING'}
    end
    return {-1, 'SOLD_OUT'}
  end
  local daily = tonumber(g[4] or '0')
  if daily > 0 and tonumber(redis.call('GET', day_key()) or '0') >= daily then return {-1, 'DAILY_LIMIT_REACHED'} end
  if redis.call('HINCRBY', KEYS[4], 'reserved', 1) >= tonumber(g[1] or '0') then latchSeq = mark_sold_out(KEYS[4], KEYS[8]) end
  if redis.call('EXISTS', day_key()) == 1 then redis.call('INCR', day_key()) end
  redis.call('HINCRBY', KEYS[5], 'claimed', 1)
  redis.call('HSET', KEYS[6], orderId, 'r' .. string.sub(entry, 2))
end
if effects.release and entry and string.sub(entry, 1, 1) == 'r' then
  redis.call('HINCRBY', KEYS[4], 'reserved', -1)
  if redis.call('EXISTS', day_key()) == 1 then redis.call('DECR', day_key()) end
  redis.call('HINCRBY', KEYS[5], 'claimed', -1)
  redis.call('HSET', KEYS[6], orderId, 'x' .. string.sub(entry, 2))
  clear_sold_out(KEYS[4], KEYS[8], ARGV[12], ARGV[13])
end
if effects.countUncertain then
  redis.call('HINCRBY', KEYS[5], 'uncertain', 1)
  redis.call('ZADD', KEYS[7], tonumber(redis.call('HGET', KEYS[1], 'createdAtMs') or '0'), orderId)
end
if effects.uncountUncertain then
  redis.call('HINCRBY', KEYS[5], 'uncertain', -1)
  redis.call('ZREM', KEYS[7], orderId)
end
-- The gift's delivered count (what its consumption shows operators); delivered is terminal.
if ARGV[3] == 'delivered' then redis.call('HINCRBY', KEYS[4], 'delivered', 1) end
for i = 14, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end

local at = server_ms()
local version = record_status(KEYS[1], KEYS[2], ARGV[3], ARGV[6], ARGV[7], at, ARGV[9])
if effects.watch then redis.call('ZADD', KEYS[3], at + tonumber(ARGV[8]), orderId) end
if effects.close then redis.call('ZREM', KEYS[3], orderId) end
if ARGV[3] == 'delivered' or ARGV[3] == 'failed' then redis.call('XADD', KEYS[9], '*', 'o', orderId, 'v', version) end
return {1, version, tostring(latchSeq)}
