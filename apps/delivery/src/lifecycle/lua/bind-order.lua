--[[
  Binds an order number to (user, gift): the idempotency record.

  KEYS[1] order binding ({o:orderId})
  ARGV[1] orderId  ARGV[2] userId  ARGV[3] giftId  ARGV[4] nowMs

  Returns {'new', createdAtMs} when bound now; {'reused'} when bound to another user or gift;
  {'existing', createdAtMs} when bound to this user and gift before.
]]
local bound = redis.call('HMGET', KEYS[1], 'userId', 'giftId', 'createdAtMs')
if bound[1] then
  if bound[1] ~= ARGV[2] or bound[2] ~= ARGV[3] then return {'reused'} end
  return {'existing', bound[3]}
end
redis.call('HSET', KEYS[1], 'orderId', ARGV[1], 'userId', ARGV[2], 'giftId', ARGV[3], 'createdAtMs', ARGV[4])
return {'new', ARGV[4]}
