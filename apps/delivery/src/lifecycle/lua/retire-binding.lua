--[[
  Retention's last step for an archived order: its number goes into the retired-number filter (the
  slot's shard, and the shard under rebuild when there is one), then its binding is deleted. Bits
  first, in the same atomic step: a bind that finds no binding always finds the bits. With no shard
  of the expected size (Redis lost the filter, or it was rebuilt at another size since this instance
  read it) the binding stays: deleted without its bits, its number could later be taken for new.

  KEYS[1] order binding  KEYS[2] the filter's shard of that slot  KEYS[3] the shard under rebuild
  ARGV[1] a complete shard's length in bytes  ARGV[2..] the number's bit offsets

  Returns the number of bindings deleted (0 or 1), or -1 when the binding stays (no shard to hold its bits).
]]
local size = tonumber(ARGV[1])
local held = false
for k = 2, 3 do
  if size > 0 and redis.call('STRLEN', KEYS[k]) == size then
    for i = 2, #ARGV do redis.call('SETBIT', KEYS[k], ARGV[i], 1) end
    held = true
  end
end
if not held then return -1 end
return redis.call('DEL', KEYS[1])
