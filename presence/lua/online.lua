-- online.lua lists the online users of an organization and drops offline
-- marks older than the cutoff (they only guard against late writes).
-- KEYS[1] the organization's index; ARGV[1] cutoff gen (microseconds)
local out = {}
local cutoff = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local g = tonumber(all[i + 1])
  if g > 0 then
    out[#out + 1] = all[i]
  elseif -g < cutoff then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return out
