--[[
  Removes a settled, archived order from its gift's slot (retention): its state and history, its
  ledger entry and its place in the gift's order listing. Only a `delivered` or `failed` order whose
  version the archive holds (or newer) goes: anything that moved since the archive was checked stays.

  KEYS[1] order state  KEYS[2] order history  KEYS[3] ledger  KEYS[4] gift's orders by creation time
  KEYS[5] gift's open orders  KEYS[6] gift's uncertain orders
  ARGV[1] orderId  ARGV[2] the version the archive holds

  Returns {1, userId} when removed; {0, status} when it stays (status '' when it had no state: then
  only its leftover index entries are removed).
]]
local s = redis.call('HMGET', KEYS[1], 'status', 'version', 'userId')
if not s[1] then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  return {0, ''}
end
if (s[1] ~= 'delivered' and s[1] ~= 'failed') or tonumber(s[2]) > tonumber(ARGV[2]) then return {0, s[1]} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
return {1, s[3] or ''}
