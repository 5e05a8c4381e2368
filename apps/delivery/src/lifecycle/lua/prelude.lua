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
