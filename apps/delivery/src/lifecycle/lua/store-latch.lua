--[[
  Stores a sold-out gift's latch, built outside Redis from the gift's ledger, if the gift is still
  sold out at the sequence number it was built for (inventory may have come back meanwhile), and
  announces it.

  KEYS[1] gift hash  KEYS[2] the gift's latch
  ARGV[1] latch sequence number  ARGV[2] the latch (JSON)  ARGV[3] channel  ARGV[4] giftId

  Returns 1 when stored and announced ('armed|<giftId>'), 0 when out of date (nothing changed).
]]
local g = redis.call('HMGET', KEYS[1], 'soldOut', 'latchSeq')
if g[1] ~= '1' or g[2] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[1], 'latchBuildUntil')
redis.call('PUBLISH', ARGV[3], 'armed|' .. ARGV[4])
return 1
