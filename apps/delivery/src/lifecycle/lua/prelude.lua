--[[
  Shared by every lifecycle script: the loader puts this before each script's own text.

  An order's state hash (`{g:<giftId>}:order:<orderId>`) holds: orderId, userId, giftId, activityId,
  status, version (one more per status change), epoch (attempt number: advanced when an attempt is
  taken), sentEpoch (the last epoch whose provider call was about to be sent), maybeDelivered ('1'
  once an attempt was sent and not answered: it may have delivered), attempts, createdAtMs,
  updatedAtMs (Redis time), reservedDay, and error, providerRef, refusal, failure ('refused' | 'exhausted' on a failed
  order the provider refused or whose tries ran out), resolvedBy where they apply.
  The gift's ledger maps orderId -> '<r|x>|<YYYY-MM-DD>|<userId>' (r reserved, x released).
]]
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Records a status change: status, version and time, a history entry, and the announcement
-- '<version>|<status>' on the order's events channel ('' announces nothing). Returns the version.
local function record_status(state, history, status, actor, reason, at, channel)
  local version = redis.call('HINCRBY', state, 'version', 1)
  redis.call('HSET', state, 'status', status, 'updatedAtMs', at)
  redis.call('RPUSH', history, at .. '|' .. status .. '|' .. actor .. '|' .. reason)
  redis.call('LTRIM', history, -50, -1)
  if channel ~= '' then redis.call('PUBLISH', channel, version .. '|' .. status) end
  return version
end

--[[
  The sold-out latch's state in the gift hash: `soldOut` '1' while the gift is sold out, `latchSeq`
  one more per change of that (a latch built for an older sequence number is never stored), and
  `latchBuildUntil` (Redis time, ms) while one instance builds the latch. The latch itself is
  `{g:<giftId>}:sold-out`, written by store-latch.lua.
]]
local LATCH_BUILD_LEASE_MS = 10000

-- Marks the gift sold out. Returns the sequence number the caller must build the latch for, or 0
-- when nothing is to be built (already latched, or another builder holds the lease). A gift marked
-- sold out whose latch is missing after the lease (its builder died) is handed to the next caller.
-- A bucket of a split gift (`bucketOf` set) is never latched: its gift is sold out only when every
-- bucket is empty and nothing is left to move, which the rebalancer decides (`giftSoldOut`).
local function mark_sold_out(gift, latch)
  if redis.call('HEXISTS', gift, 'bucketOf') == 1 then return 0 end
  local g = redis.call('HMGET', gift, 'soldOut', 'latchBuildUntil')
  local now = server_ms()
  if g[1] == '1' and (redis.call('EXISTS', latch) == 1 or tonumber(g[2] or '0') > now) then return 0 end
  local seq = tonumber(redis.call('HGET', gift, 'latchSeq') or '0')
  if g[1] ~= '1' then seq = redis.call('HINCRBY', gift, 'latchSeq', 1) end
  redis.call('HSET', gift, 'soldOut', '1', 'latchBuildUntil', now + LATCH_BUILD_LEASE_MS)
  return seq
end

-- Re-arms the latch when the gift has inventory again: clears the mark, drops the latch, bumps the
-- sequence number and announces 'cleared|<giftId>' on `channel`. Returns 1 if it was set.
local function clear_sold_out(gift, latch, channel, giftId)
  local g = redis.call('HMGET', gift, 'soldOut', 'inventory', 'reserved')
  if g[1] ~= '1' or tonumber(g[3] or '0') >= tonumber(g[2] or '0') then return 0 end
  redis.call('HSET', gift, 'soldOut', '0')
  redis.call('HINCRBY', gift, 'latchSeq', 1)
  redis.call('DEL', latch)
  if channel ~= '' then redis.call('PUBLISH', channel, 'cleared|' .. giftId) end
  return 1
end
