--[[
  Takes a new delivery attempt of an order (queued -> delivering, or delivering -> delivering to take
  over an attempt whose lease ended): advances the attempt epoch and leases the order to the taker.
  Only the status and epoch the caller read are accepted. An attempt whose lease ended is taken over
  only if its provider call was never sent, or if the provider has order numbers (a re-send is the
  same delivery).

  Epoch read '' (a queue job's first look, without reading the order first): taken only if the order
  is queued, no attempt of it was ever sent, and its gift names a provider; the reply then also
  carries what the job needs of the order and gift. Anything else is 'moved', and the caller reads
  the order to decide.

  Recording the send at the take (ARGV[8]) saves the round trip of hold-attempt.lua before the
  provider call, for a caller that sends at once: it is the record hold-attempt.lua would write a
  moment later. The window in which a crash leaves an order looking sent although its call never went
  out (then uncertain, or looked up at a provider with order numbers: never sent twice) starts at the
  take instead of just before the call; the caller sends in the same turn it hears of the take. A
  caller that cannot send at once (no free slot for the provider) clears the record first
  (hold-attempt.lua 'u'), and a call that was not sent clears it as it requeues the order. '1' records
  it, 'n' only when the provider has order numbers (a provider without them waits for the durability
  fence's WAIT with hold-attempt.lua), anything else not; unsent takes only.

  KEYS[1] order state  KEYS[2] order history  KEYS[3] gift's open orders  KEYS[4] gift
  ARGV[1] orderId  ARGV[2] from status  ARGV[3] epoch read ('' : unsent queued order, any epoch)
  ARGV[4] actor  ARGV[5] leaseMs  ARGV[6] events channel  ARGV[7] '1' when a sent attempt may be
  taken over (order numbers)  ARGV[8] record the send now ('1', 'n' or '0', above)

  Returns {1, newEpoch} when taken ({1, newEpoch, createdAtMs, providerUrl, orderNumbers, sentMarked}
  for epoch read ''); {0, status, epoch, why} when not, why one of 'moved' (another status or epoch), 'leased'
  (the attempt's lease is still running), 'sent' (it may have delivered).
]]
local s = redis.call('HMGET', KEYS[1], 'status', 'epoch', 'sentEpoch', 'maybeDelivered', 'createdAtMs')
local unsent = ARGV[3] == ''
local target
if unsent then
  if s[1] ~= 'queued' or (s[3] or '0') ~= '0' or s[4] == '1' then return {0, s[1] or '', s[2] or '0', 'moved'} end
  target = redis.call('HMGET', KEYS[4], 'providerUrl', 'orderNumbers')
  if not target[1] then return {0, s[1], s[2] or '0', 'moved'} end
elseif s[1] ~= ARGV[2] or s[2] ~= ARGV[3] then
  return {0, s[1] or '', s[2] or '0', 'moved'}
end
local at = server_ms()
if s[1] == 'delivering' then
  local leaseEnd = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
  if leaseEnd > at then return {0, s[1], s[2], 'leased'} end
  if s[3] == s[2] and ARGV[7] ~= '1' then return {0, s[1], s[2], 'sent'} end
end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
record_status(KEYS[1], KEYS[2], 'delivering', ARGV[4], 'attempt ' .. epoch, at, ARGV[6])
redis.call('ZADD', KEYS[3], at + tonumber(ARGV[5]), ARGV[1])
if unsent then
  local marked = '0'
  if ARGV[8] == '1' or (ARGV[8] == 'n' and target[2] == '1') then
    redis.call('HSET', KEYS[1], 'sentEpoch', epoch)
    marked = '1'
  end
  return {1, tostring(epoch), s[5] or '0', target[1], target[2] or '0', marked}
end
return {1, tostring(epoch)}
