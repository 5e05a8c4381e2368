--[[
  Starts a claim's order in its gift's slot: checks the claim rules in the contract's order, then
  reserves one unit and creates the order's state (transition none -> queued | delivering), or
  records the refusal (none -> refused). Idempotent by orderId: when the order already has a state,
  nothing changes and that state is returned.

  KEYS[1] gift hash  KEYS[2] today's count  KEYS[3] user-for-gift counts  KEYS[4] ledger
  KEYS[5] order state  KEYS[6] order history  KEYS[7] gift's open orders
  KEYS[8] gift's orders by creation time (the operators' listing)  KEYS[9] the gift's sold-out latch
  ARGV[1] orderId  ARGV[2] userId  ARGV[3] giftId  ARGV[4] nowMs (the window is checked against it)
  ARGV[5] day (UTC, of nowMs)  ARGV[6] uncertainLimit  ARGV[7] paused '1'|'0'  ARGV[8] forceAsync '1'|'0'
  ARGV[9] createdAtMs  ARGV[10] leaseMs  ARGV[11] watchMs  ARGV[12] events channel
  ARGV[13] refusal retention in seconds  ARGV[14] record a sync claim's send now: '1' yes, 'n' only
  when the gift's provider has order numbers, else no (see take-attempt.lua: the caller sends at once)

  Returns {kind, status, epoch, refusal, providerUrl, orderNumbers '1'|'0', latchSeq, sentMarked '1'|'0'} where kind is
    'existing' (the order had a state; status as stored), 'refused' (refused now; status 'refused',
    refusal the code, or 'NOT_FOUND' for an unknown gift or 'REBALANCING' for an empty bucket of a
    split gift whose other buckets may still hold stock, neither of which is stored), or 'started'
    (reserved now: 'delivering' at epoch 1 for a sync claim, 'queued' at epoch 0 for an async one),
    and latchSeq is '0', or the sequence number of a sold-out latch the caller must build (this
    claim took the last unit, or was refused SOLD_OUT while no latch exists: see mark_sold_out).
]]
local state, history, open = KEYS[5], KEYS[6], KEYS[7]
local g = redis.call('HMGET', KEYS[1], 'activityId', 'inventory', 'reserved', 'dailyLimit', 'perUserLimit',
  'startsAtMs', 'endsAtMs', 'delivery', 'providerUrl', 'orderNumbers', 'retiredAtMs', 'bucketOf', 'giftSoldOut')
local prior = redis.call('HMGET', state, 'status', 'epoch', 'refusal')
if prior[1] then
  return {'existing', prior[1], prior[2] or '0', prior[3] or '', g[9] or '', g[10] or '0', '0', '0'}
end
local function refuse(code)
  if code ~= 'NOT_FOUND' and code ~= 'REBALANCING' then
    redis.call('HSET', state, 'orderId', ARGV[1], 'userId', ARGV[2], 'giftId', ARGV[3], 'status', 'refused',
      'refusal', code, 'epoch', 0, 'version', 1, 'createdAtMs', ARGV[9], 'updatedAtMs', ARGV[4])
    redis.call('EXPIRE', state, tonumber(ARGV[13]))
  end
  local seq = 0
  if code == 'SOLD_OUT' then seq = mark_sold_out(KEYS[1], KEYS[9]) end
  return {'refused', 'refused', '0', code, '', '0', tostring(seq), '0'}
end
if not g[1] then return refuse('NOT_FOUND') end
local now = tonumber(ARGV[4])
-- A gift retention retired (its orders and per-user counts are in the archive) is never claimable
-- again: NOT_ACTIVE to the client, told apart as RETIRED so the claim asks the archive for the number.
if g[11] then return refuse('RETIRED') end
if ARGV[7] == '1' or now < tonumber(g[6]) or now >= tonumber(g[7]) then return refuse('NOT_ACTIVE') end
local user = redis.call('HMGET', KEYS[3], 'claimed', 'uncertain')
if tonumber(user[1] or '0') >= tonumber(g[5]) then return refuse('USER_LIMIT_REACHED') end
if tonumber(user[2] or '0') >= tonumber(ARGV[6]) then return refuse('TOO_MANY_UNCERTAIN') end
if tonumber(g[3] or '0') >= tonumber(g[2]) then
  -- An empty bucket: SOLD_OUT only once the rebalancer found the whole gift empty.
  -- The mark tells the rebalancer where the demand is (it clears it when it refills the bucket).
  if g[12] and g[13] ~= '1' then
    redis.call('HSET', KEYS[1], 'wanted', '1')
    return refuse('REBALANCING')
  end
  return refuse('SOLD_OUT')
end
local daily = tonumber(g[4] or '0')
if daily > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= daily then return refuse('DAILY_LIMIT_REACHED') end

local reserved = redis.call('HINCRBY', KEYS[1], 'reserved', 1)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 259200)
redis.call('HINCRBY', KEYS[3], 'claimed', 1)
redis.call('HSET', KEYS[4], ARGV[1], 'r|' .. ARGV[5] .. '|' .. ARGV[2])

local async = g[8] == 'async' or ARGV[8] == '1'
local status = 'delivering'
local epoch = 1
local holdMs = tonumber(ARGV[10])
if async then
  status = 'queued'
  epoch = 0
  holdMs = tonumber(ARGV[11])
end
local sentEpoch = 0
if not async and (ARGV[14] == '1' or (ARGV[14] == 'n' and g[10] == '1')) then sentEpoch = epoch end
local at = server_ms()
redis.call('HSET', state, 'orderId', ARGV[1], 'userId', ARGV[2], 'giftId', ARGV[3], 'activityId', g[1],
  'epoch', epoch, 'sentEpoch', sentEpoch, 'attempts', epoch, 'createdAtMs', ARGV[9], 'reservedDay', ARGV[5])
record_status(state, history, status, 'claim', '', at, ARGV[12])
redis.call('ZADD', open, at + holdMs, ARGV[1])
redis.call('ZADD', KEYS[8], 'NX', tonumber(ARGV[9]), ARGV[1])
local seq = 0
if reserved >= tonumber(g[2]) then seq = mark_sold_out(KEYS[1], KEYS[9]) end
return {'started', status, tostring(epoch), '', g[9] or '', g[10] or '0', tostring(seq), sentEpoch > 0 and '1' or '0'}
