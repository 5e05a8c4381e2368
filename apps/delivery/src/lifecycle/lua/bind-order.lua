--[[
  Binds an order number to (user, gift): the idempotency record. A number bound now is looked up in
  the retired-number filter's shard of the same slot: was it ever an order that retention removed?

  KEYS[1] order binding ({o:orderId})  KEYS[2] the retired-number filter's shard of that slot
  ARGV[1] orderId  ARGV[2] userId  ARGV[3] giftId  ARGV[4] nowMs
  ARGV[5] a complete shard's length in bytes (0: not known; -1: no archive, nothing is ever retired)
  ARGV[6..] the number's bit offsets

  Returns {'new', createdAtMs, retired} when bound now, retired 'no' (a bit is clear: never retired),
  'maybe' (every bit set) or 'unknown' (no shard of that length: the filter is not built, or its size
  is not known here); {'reused'} when bound to
  another user or gift; {'existing', createdAtMs, ask} when bound to this user and gift before.
  A binding made while its number may be retired carries `ask` = '1' until the claim has the archive's
  answer (see OrderBindingStore.asked): a repeat that finds it asks the archive too.
]]
local bound = redis.call('HMGET', KEYS[1], 'userId', 'giftId', 'createdAtMs', 'ask')
if bound[1] then
  if bound[1] ~= ARGV[2] or bound[2] ~= ARGV[3] then return {'reused'} end
  return {'existing', bound[3], bound[4] or ''}
end
redis.call('HSET', KEYS[1], 'orderId', ARGV[1], 'userId', ARGV[2], 'giftId', ARGV[3], 'createdAtMs', ARGV[4])
local retired = 'unknown'
local size = tonumber(ARGV[5])
if size < 0 then
  retired = 'no'
elseif size > 0 and redis.call('STRLEN', KEYS[2]) == size then
  retired = 'maybe'
  for i = 6, #ARGV do
    if redis.call('GETBIT', KEYS[2], ARGV[i]) == 0 then
      retired = 'no'
      break
    end
  end
end
if retired ~= 'no' then redis.call('HSET', KEYS[1], 'ask', '1') end
return {'new', ARGV[4], retired}
