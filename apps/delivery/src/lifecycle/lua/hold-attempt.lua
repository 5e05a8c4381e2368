--[[
  Keeps a running attempt's claim on its order: renews the lease and, just before the provider call
  is sent, records that this epoch sent it. Fails once another attempt took the order or it moved on,
  so a worker that stalled past its lease can neither send nor keep the order.

  KEYS[1] order state  KEYS[2] gift's open orders
  ARGV[1] orderId  ARGV[2] epoch  ARGV[3] leaseMs  ARGV[4] '1' to record the send, 'u' to clear the
  record the take made (start-claim.lua or take-attempt.lua with a send record) for an attempt that
  could not send at once: it is this epoch's and no earlier attempt was sent

  Returns 1 while the attempt owns the order, else 0.
]]
local s = redis.call('HMGET', KEYS[1], 'status', 'epoch')
if s[1] ~= 'delivering' or s[2] ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], server_ms() + tonumber(ARGV[3]), ARGV[1])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'sentEpoch', ARGV[2])
elseif ARGV[4] == 'u' then redis.call('HSET', KEYS[1], 'sentEpoch', 0) end
return 1
