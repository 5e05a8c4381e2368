--[[
  Reads several orders of one gift in one step (the archiver's batch): for each order, the state
  fields named in ARGV (HMGET, in ARGV's order; nil where absent) and the whole history list.

  KEYS[2i-1] order i's state  KEYS[2i] order i's history (all in the gift's slot)
  ARGV the state fields to read

  Returns {fields of order 1, history of order 1, fields of order 2, ...}.
]]
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('HMGET', KEYS[i], unpack(ARGV))
  out[#out + 1] = redis.call('LRANGE', KEYS[i + 1], 0, -1)
end
return out
